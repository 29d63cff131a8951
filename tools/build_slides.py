"""Build the lecture decks: every ``lectures/NN_*.ipynb`` becomes ``build/slides/NN_*.html``, a reveal.js deck
that opens from disk with no internet.

What a deck holds:

- the lecture's slides as its ``slideshow`` metadata says (``slide``, ``subslide``, ``fragment``, ``skip``),
  with the saved outputs (the lectures are committed executed);
- speaker notes: cells of type ``notes`` are hidden on the slides and shown in reveal.js's speaker view
  (press ``s`` in the deck);
- maths typeset by MathJax 3 (SVG output: no web fonts to load);
- figures embedded in the HTML (cell attachments, and ``../img/...`` links read from disk).

Nothing in a deck comes from the network. reveal.js (5.2.0, from the PyPI package ``sphinx-revealjs``) and
MathJax (3.2.2, from the PyPI package ``django-static-mathjax``) are taken from those packages' wheels,
downloaded once with pip (pinned versions and hashes below) into ``build/vendor/`` and unpacked next to the
decks in ``build/slides/_static/``; neither package is installed, and nothing is committed. After the
first build the wheels are reused, so later builds need no network either. The Colab badge (a remote
image) is left out of the decks. ``jupyter nbconvert --to slides`` would instead load reveal.js, require.js,
jQuery, MathJax and mermaid from CDNs and write next to the lecture.

A maintainer's and instructor's tool (it is not part of the installed ``course_utils``). From the repository
root::

    python tools/build_slides.py                 # every lecture -> build/slides/
    python tools/build_slides.py 03 05           # only units 03 and 05
    python tools/build_slides.py --output DIR    # somewhere else
    python tools/build_slides.py --fetch-only    # only download reveal.js and MathJax (before going offline)

Open ``build/slides/03_attention.html`` in a browser; ``s`` opens the speaker view, ``f`` full screen, ``?``
the keys. To print handouts, open the deck with ``?print-pdf`` after its name and print to PDF.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import mimetypes
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import NamedTuple

import nbformat
from jinja2 import DictLoader
from nbconvert import SlidesExporter

ROOT = Path(__file__).resolve().parents[1]
LECTURES = ROOT / "lectures"
OUTPUT = ROOT / "build" / "slides"
VENDOR = ROOT / "build" / "vendor"  # the downloaded wheels, kept for offline rebuilds
STATIC = "_static"  # beside the decks: build/slides/_static/{reveal,mathjax}/
BADGE_IMAGE = "https://colab.research.google.com/assets/colab-badge.svg"


class Wheel(NamedTuple):
    """A PyPI wheel that carries JavaScript the decks need, and which of its files to unpack where."""

    requirement: str  # name==version
    filename: str
    sha256: str
    members: dict[str, str]  # prefix inside the wheel -> folder under _static/

    def path(self, vendor: Path) -> Path:
        return vendor / self.filename


WHEELS = (
    Wheel(
        "sphinx-revealjs==3.2.1",
        "sphinx_revealjs-3.2.1-py3-none-any.whl",
        "805bed3ca459346e0f01967d5ed1c40d6b7b917de1541e1e4566c8341fe7017b",
        {
            "sphinx_revealjs/_static/revealjs/dist/": "reveal/dist/",
            "sphinx_revealjs/_static/revealjs/plugin/notes/": "reveal/plugin/notes/",
            "sphinx_revealjs/_static/revealjs/LICENSE": "reveal/LICENSE",
        },
    ),
    Wheel(
        "django-static-mathjax==3.2.2.1",
        "django_static_mathjax-3.2.2.1-py3-none-any.whl",
        "05ad109fd9e5d9d380c76389689b7f523e9ccb7f7a85c1eb962c7564eac7601d",
        {
            "mathjax/static/mathjax/es5/tex-svg.js": "mathjax/tex-svg.js",
            "mathjax/static/mathjax/LICENSE": "mathjax/LICENSE",
        },
    ),
)

# The deck template: nbconvert's reveal template with every script and style sheet served from _static/
TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{% block jupyter_widgets %}{% endblock jupyter_widgets %}
{%- block html_head_js_mathjax -%}
<script>
window.MathJax = {
  tex: {
    inlineMath: [["$", "$"], ["\\\\(", "\\\\)"]],
    displayMath: [["$$", "$$"], ["\\\\[", "\\\\]"]],
    processEscapes: true,
    processEnvironments: true
  },
  svg: {fontCache: "global"}
};
</script>
<script defer src="_static/mathjax/tex-svg.js"></script>
{%- endblock html_head_js_mathjax -%}
{% block footer_js %}
<script src="_static/reveal/dist/reveal.js"></script>
<script src="_static/reveal/plugin/notes/notes.js"></script>
<script>
Reveal.initialize({
  controls: true,
  progress: true,
  history: true,
  slideNumber: "c/t",
  transition: "{{ resources.reveal.transition | default('slide', true) }}",
  width: {{ resources.reveal.width | default('960', true) }},
  height: {{ resources.reveal.height | default('700', true) }},
  plugins: [RevealNotes]
});
</script>
{% endblock footer_js %}
"""

# A figure that a markdown cell links from the repository: ![alt](../img/name.png)
_LOCAL_IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s:]+\.(?:png|jpg|jpeg|gif|svg))[)\s]")
# Where a deck may load files from: inside itself, or _static/ beside it
_LOADED = re.compile(r"""\b(?:src|href)\s*=\s*["']([^"'#][^"']*)["']""", re.IGNORECASE)
# A URL a browser would fetch: src=, <link href=>, CSS url(), ES import
_FETCHED = re.compile(
    r"""(?:\bsrc\s*=\s*["']?|<link\b[^>]*\bhref\s*=\s*["']?|url\(\s*["']?|\bimport\s[^;]*?from\s*["'])"""
    r"""\s*(https?:)?//""",
    re.IGNORECASE,
)


class SlideBuildError(RuntimeError):
    """A deck could not be built, or would load something from the network."""


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fetch_wheels(vendor: Path = VENDOR) -> list[Path]:
    """Make sure the pinned wheels are in ``vendor`` (downloading them with pip once); return their paths."""
    vendor.mkdir(parents=True, exist_ok=True)
    missing = [w for w in WHEELS if not (w.path(vendor).is_file() and _sha256(w.path(vendor)) == w.sha256)]
    if missing:
        with tempfile.TemporaryDirectory() as tmp:
            wanted = Path(tmp) / "slides-requirements.txt"
            wanted.write_text("".join(f"{w.requirement} --hash=sha256:{w.sha256}\n" for w in missing))
            command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                       "--require-hashes", "-r", str(wanted), "-d", str(vendor)]  # fmt: skip
            print(
                f"Downloading {', '.join(w.requirement for w in missing)} (once, into {vendor})", flush=True
            )
            result = subprocess.run(command, capture_output=True, text=True)
            if result.returncode != 0:
                raise SlideBuildError(
                    "could not download the slide libraries with pip (reveal.js and MathJax come from "
                    f"PyPI the first time; later builds reuse {vendor}):\n{result.stdout[-2000:]}"
                    f"{result.stderr[-2000:]}"
                )
    for wheel in WHEELS:
        if _sha256(wheel.path(vendor)) != wheel.sha256:
            raise SlideBuildError(
                f"{wheel.path(vendor)} does not have the pinned sha256; delete it and rebuild"
            )
    return [w.path(vendor) for w in WHEELS]


def unpack_static(output: Path, vendor: Path = VENDOR) -> Path:
    """Unpack reveal.js and MathJax from the wheels into ``output/_static`` (replacing what was there)."""
    fetch_wheels(vendor)
    static = output / STATIC
    if static.exists():
        shutil.rmtree(static)
    for wheel in WHEELS:
        with zipfile.ZipFile(wheel.path(vendor)) as archive:
            for name in archive.namelist():
                for prefix, target in wheel.members.items():
                    if name.startswith(prefix) and not name.endswith((".map", "/")):
                        destination = static / (target + name[len(prefix) :])
                        destination.parent.mkdir(parents=True, exist_ok=True)
                        destination.write_bytes(archive.read(name))
    return static


def for_slides(nb: nbformat.NotebookNode, lecture_dir: Path) -> nbformat.NotebookNode:
    """A copy of a lecture ready for a deck: no Colab badge (a remote image, and no use on a slide), and
    figures linked as ``../img/NAME`` carried as cell attachments (the HTML then embeds them)."""
    nb = nbformat.from_dict(nb)
    nb.cells = [c for c in nb.cells if c.get("id") != "colab-badge"]
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        if BADGE_IMAGE in cell.source:
            cell.source = "\n".join(line for line in cell.source.split("\n") if BADGE_IMAGE not in line)
        for link in sorted(set(_LOCAL_IMAGE.findall(cell.source))):
            picture = (lecture_dir / link).resolve()
            if not picture.is_file():
                raise SlideBuildError(f"{link} does not exist (linked from {lecture_dir.name}/)")
            name = f"{picture.parent.name}-{picture.name}"
            mime = mimetypes.guess_type(picture.name)[0] or "application/octet-stream"
            cell.setdefault("attachments", {})[name] = {mime: base64.b64encode(picture.read_bytes()).decode()}
            cell.source = cell.source.replace(f"]({link}", f"](attachment:{name}")
    return nb


def exporter() -> SlidesExporter:
    slides = SlidesExporter(
        extra_loaders=[DictLoader({"course_deck.html.j2": TEMPLATE})],
        template_file="course_deck.html.j2",
        reveal_url_prefix=f"{STATIC}/reveal",
        reveal_theme="white",
    )
    return slides


def build_deck(lecture: Path, output: Path, slides: SlidesExporter | None = None) -> Path:
    """Build one deck into ``output`` (which must already hold ``_static/``); return its path."""
    slides = slides or exporter()
    nb = for_slides(nbformat.read(lecture, as_version=4), lecture.parent)
    html, _ = slides.from_notebook_node(
        nb, resources={"metadata": {"path": str(lecture.parent), "name": lecture.stem}}
    )
    fetched = sorted({html[m.start() : m.start() + 120].split()[0] for m in _FETCHED.finditer(html)})
    if fetched:
        raise SlideBuildError(f"{lecture.name}: the deck would load from the network: {fetched}")
    outside = sorted(
        {
            m.group(1)[:80]
            for m in _LOADED.finditer(html)
            if not m.group(1).startswith(("data:", f"{STATIC}/", "http://", "https://", "mailto:"))
            and (m.group(0).lower().startswith("src") or m.group(1).endswith(".css"))
        }
    )
    if outside:
        raise SlideBuildError(f"{lecture.name}: the deck would load files from outside it: {outside}")
    target = output / f"{lecture.stem}.html"
    target.write_text(html, encoding="utf-8")
    return target


def lectures(units: list[str] | None = None, folder: Path = LECTURES) -> list[Path]:
    found = sorted(folder.glob("[0-9][0-9]_*.ipynb"))
    if units:
        found = [p for p in found if p.name[:2] in units]
    return found


def build(units: list[str] | None = None, output: Path = OUTPUT, vendor: Path = VENDOR) -> list[Path]:
    """Build the decks of ``units`` (default: every lecture) into ``output``; return their paths."""
    paths = lectures(units)
    if not paths:
        raise SlideBuildError(f"no lecture found for units {units} in {LECTURES}")
    output.mkdir(parents=True, exist_ok=True)
    unpack_static(output, vendor)
    slides = exporter()
    return [build_deck(path, output, slides) for path in paths]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python tools/build_slides.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("units", nargs="*", help="two-digit unit numbers (default: every lecture)")
    parser.add_argument(
        "--output", type=Path, default=OUTPUT, help="folder for the decks (default: build/slides)"
    )
    parser.add_argument(
        "--fetch-only", action="store_true", help="only download the pinned wheels into build/vendor"
    )
    args = parser.parse_args(argv)
    try:
        if args.fetch_only:
            for wheel in fetch_wheels():
                print(f"have {wheel}")
            return 0
        decks = build(args.units or None, args.output)
    except SlideBuildError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    for deck in decks:
        print(f"wrote {deck}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
