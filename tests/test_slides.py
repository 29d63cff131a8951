"""tools/build_slides.py: every lecture becomes a reveal.js deck that works from disk, in a real browser,
with the network cut.

The browser is Debian's ``chromium`` (``apt-get install chromium``; ``.ci/run`` installs it when it can),
run headless. Each deck is opened from a copy with a small probe added: it records script errors and
failed loads from the first line of the page on, and once reveal.js and MathJax are ready it writes a
JSON report into the page, which ``--dump-dom`` prints. A screenshot of one slide with maths is kept as
``build/slides/screenshot.png``.

reveal.js and MathJax come from two pinned PyPI wheels that the tool downloads once into ``build/vendor``
(``python tools/build_slides.py --fetch-only``; ``.ci/run`` does it): tests fetch nothing themselves.
"""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest
from helpers import CHROMIUM, CHROMIUM_FLAGS, load_tool

build_slides = load_tool("build_slides")

ROOT = Path(__file__).resolve().parents[1]
LECTURES = sorted((ROOT / "lectures").glob("[0-9][0-9]_*.ipynb"))
SCREENSHOT = ROOT / "build" / "slides" / "screenshot.png"

PROBE_HEAD = """<script>
window.__errors = [];
window.addEventListener("error", function (e) {
  var t = e.target;
  if (t && t !== window && (t.src || t.href)) { window.__errors.push("failed to load " + (t.src || t.href)); }
  else { window.__errors.push(String(e.message) + " at " + e.filename + ":" + e.lineno); }
}, true);
window.addEventListener("unhandledrejection", function (e) { window.__errors.push("rejected: " + e.reason); });
var __consoleError = console.error;
console.error = function () {
  window.__errors.push("console.error: " + Array.prototype.join.call(arguments, " "));
  __consoleError.apply(console, arguments);
};
</script>"""

PROBE_TAIL = """<script>
function __report() {
  var ok = window.Reveal && Reveal.isReady && Reveal.isReady();
  var asides = Array.from(document.querySelectorAll(".reveal .slides aside.notes"));
  var slides = ok ? Reveal.getSlides() : [];
  var withMath = slides.filter(function (s) { return s.querySelector("mjx-container"); });
  var r = {
    ready: !!ok,
    slides: ok ? Reveal.getTotalSlides() : 0,
    notes: asides.length,
    notesShown: asides.filter(function (a) { return getComputedStyle(a).display !== "none"; }).length,
    slidesWithNotes: slides.filter(function (s) { return (Reveal.getSlideNotes(s) || "").trim(); }).length,
    notesPlugin: !!(ok && Reveal.hasPlugin("notes")),
    math: document.querySelectorAll("mjx-container").length,
    mathErrors: document.querySelectorAll("mjx-merror, [data-mjx-error]").length,
    firstMathSlide: withMath.length ? Reveal.getIndices(withMath[0]) : null,
    remote: performance.getEntriesByType("resource").map(function (e) { return e.name; })
      .filter(function (n) { return !/^(file|data):/.test(n); }),
    errors: window.__errors
  };
  var pre = document.createElement("pre");
  pre.id = "deck-test-report";
  pre.textContent = JSON.stringify(r);
  document.body.appendChild(pre);
}
function __wait(tries) {
  var math = window.MathJax && MathJax.startup && MathJax.startup.promise;
  if (window.Reveal && Reveal.isReady && Reveal.isReady() && math) {
    MathJax.startup.promise.then(__report, function (e) { window.__errors.push("MathJax: " + e); __report(); });
  } else if (tries > 0) {
    setTimeout(function () { __wait(tries - 1); }, 100);
  } else {
    __report();
  }
}
window.addEventListener("load", function () { __wait(100); });
</script>"""

needs_chromium = pytest.mark.skipif(
    CHROMIUM is None,
    reason="Chromium is not installed, so the decks cannot be opened in a browser: install Debian's "
    "`chromium` (apt-get install chromium; .ci/run does it when it has root or sudo)",
)


def expected_slides(nb: nbformat.NotebookNode) -> int:
    """Slides in the deck as nbconvert makes them: the first visible cell opens one, then each cell of type
    ``slide`` or ``subslide`` opens another (``fragment`` and ``-`` stay on the slide)."""
    kinds = [c.metadata.get("slideshow", {}).get("slide_type", "-") for c in nb.cells]
    first = next(i for i, kind in enumerate(kinds) if kind not in {"notes", "skip"})
    return 1 + sum(kind in {"slide", "subslide"} for kind in kinds[first + 1 :])


def has_math(nb: nbformat.NotebookNode) -> bool:
    return any(
        c.cell_type == "markdown"
        and c.metadata.get("slideshow", {}).get("slide_type") != "skip"
        and re.search(r"\$[^$\s][^$]*\$", c.source)
        for c in nb.cells
    )


def probe(deck: Path, workdir: Path) -> dict:
    """Open a copy of ``deck`` (beside it, so that ``_static/`` resolves) in headless Chromium; return
    the probe's report."""
    html = deck.read_text(encoding="utf-8")
    copy = deck.with_name(f".probe-{deck.name}")
    copy.write_text(
        html.replace("<head>", "<head>" + PROBE_HEAD, 1).replace("</body>", PROBE_TAIL + "</body>", 1),
        encoding="utf-8",
    )
    command = [
        CHROMIUM,
        *CHROMIUM_FLAGS,
        f"--user-data-dir={workdir / deck.stem}",
        "--virtual-time-budget=20000",
        "--dump-dom",
        copy.as_uri(),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    copy.unlink()
    found = re.search(r'<pre id="deck-test-report">(.*?)</pre>', result.stdout, re.S)
    assert found, f"{deck.name}: the probe wrote no report (chromium exit {result.returncode})"
    return json.loads(found.group(1).replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">"))


@pytest.fixture(scope="module")
def decks(tmp_path_factory) -> dict[str, Path]:
    vendor = build_slides.VENDOR
    if not all(w.path(vendor).is_file() for w in build_slides.WHEELS):
        pytest.skip(
            "reveal.js and MathJax are not in build/vendor yet: run `python tools/build_slides.py --fetch-only` "
            "once (it downloads two pinned wheels from PyPI; .ci/run does it)"
        )
    before = sorted(p.name for p in (ROOT / "lectures").iterdir())
    out = tmp_path_factory.mktemp("slides")
    built = build_slides.build(output=out)
    assert sorted(p.name for p in (ROOT / "lectures").iterdir()) == before, "the build wrote into lectures/"
    return {p.stem: p for p in built}


@pytest.fixture(scope="module")
def reports(decks) -> dict[str, dict]:
    if CHROMIUM is None:
        pytest.skip(needs_chromium.kwargs["reason"])
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(max_workers=3) as pool:
        results = pool.map(lambda d: probe(d, Path(tmp)), decks.values())
        return dict(zip(decks, results))


def test_every_lecture_becomes_a_deck_that_loads_nothing_from_the_network(decks):
    assert sorted(decks) == [p.stem for p in LECTURES]
    for name, deck in decks.items():
        html = deck.read_text(encoding="utf-8")
        assert "colab-badge.svg" not in html, f"{name}: the Colab badge is a remote image"
        assert not re.search(
            r"""(src|href)=["']?(https?:)?//(?!colab\.research)""", html.replace("<a href", "")
        ), name
        assert '<script src="_static/reveal/dist/reveal.js">' in html
    static = next(iter(decks.values())).parent / "_static"
    for needed in ("reveal/dist/reveal.js", "reveal/plugin/notes/notes.js", "mathjax/tex-svg.js"):
        assert (static / needed).is_file(), needed


def test_the_build_refuses_a_deck_that_would_fetch_from_the_network(decks, tmp_path):
    nb = nbformat.read(LECTURES[0], as_version=4)
    nb.cells[-1].source += '\n\n<img src="https://example.org/figure.png">'
    (tmp_path / "lectures").mkdir()
    (tmp_path / "img").symlink_to(ROOT / "img")
    lecture = tmp_path / "lectures" / LECTURES[0].name
    nbformat.write(nb, lecture)
    with pytest.raises(build_slides.SlideBuildError, match="from the network"):
        build_slides.build_deck(lecture, tmp_path)


@needs_chromium
@pytest.mark.parametrize("lecture", LECTURES, ids=lambda p: p.stem)
def test_deck_works_offline_in_chromium(reports, lecture):
    report = reports[lecture.stem]
    nb = nbformat.read(lecture, as_version=4)
    notes = sum(c.metadata.get("slideshow", {}).get("slide_type") == "notes" for c in nb.cells)
    assert report["errors"] == [], report["errors"]
    assert report["remote"] == [], f"requests left the disk: {report['remote']}"
    assert report["ready"] and report["notesPlugin"], "reveal.js (with its notes plugin) did not start"
    assert report["slides"] == expected_slides(nb)
    assert report["notes"] == notes > 0, "every notes cell becomes speaker notes"
    assert report["notesShown"] == 0, "speaker notes show on the slides"
    assert report["slidesWithNotes"] >= 1, "the speaker view would find no notes"
    if has_math(nb):
        assert report["math"] > 0 and report["mathErrors"] == 0, "maths not typeset"


@needs_chromium
def test_the_probe_sees_a_broken_deck(decks, tmp_path):
    """The check above can fail: a deck whose reveal.js is missing and which loads a CDN script."""
    deck = next(iter(decks.values()))
    broken = deck.with_name("broken.html")
    html = deck.read_text(encoding="utf-8").replace("_static/reveal/dist/reveal.js", "_static/missing.js")
    broken.write_text(html.replace("</head>", '<script src="https://unpkg.com/x.js"></script></head>', 1))
    report = probe(broken, tmp_path)
    assert not report["ready"] and report["slides"] == 0
    assert any("missing.js" in e for e in report["errors"]), report["errors"]
    assert any("unpkg.com" in e for e in report["errors"]), report["errors"]


@needs_chromium
def test_screenshot_of_a_slide_with_maths(decks, reports, tmp_path):
    name = next(n for n, r in reports.items() if r["firstMathSlide"])
    where = reports[name]["firstMathSlide"]
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    SCREENSHOT.unlink(missing_ok=True)
    command = [
        CHROMIUM,
        *CHROMIUM_FLAGS,
        f"--user-data-dir={tmp_path / 'shot'}",
        "--virtual-time-budget=10000",
        "--window-size=1280,800",
        "--hide-scrollbars",
        f"--screenshot={SCREENSHOT}",
        f"{decks[name].as_uri()}#/{where['h']}/{where['v']}",
    ]
    subprocess.run(command, capture_output=True, timeout=120)
    from PIL import Image

    pixels = Image.open(SCREENSHOT).convert("L")
    assert pixels.size == (1280, 800)
    low, high = pixels.getextrema()
    assert high - low > 100, "the screenshot is blank"
