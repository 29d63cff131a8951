"""Give every notebook of the course what it needs on Google Colab, from one setting.

Every lecture, lab, exercise sheet and solved sheet gets:

1. a first markdown cell (id ``colab-badge``) with an "Open in Colab" badge that opens that very file
   at the course's pinned ref;
2. one setup code cell (the notebook's first code cell, id ``colab-setup`` when the tool adds it) that on
   Colab installs ``course_utils`` from the course repository at the same ref, without touching Colab's
   own torch or numpy, and elsewhere installs nothing; everywhere it prints one line that names the device
   ``course_utils.get_device()`` picks;
3. its figures as cell attachments: ``![...](../img/NAME.png)`` becomes ``![...](attachment:NAME.png)``
   with the picture inside the notebook, so that a notebook opened alone (as Colab opens it) shows them.

The setting is ``[tool.course]`` in ``pyproject.toml``: ``repository`` (GitHub owner/name) and ``ref`` (a tag
or commit). Moving the repository or pinning a new release is that one edit and a re-run. Re-running
replaces the badge, the setup cell and the attachments; it never adds a second copy.

A maintainer's tool (it is not part of the installed ``course_utils``). Usage, from the repository root::

    python tools/colab.py            # rewrite the notebooks of lectures/, notebooks/, exercises/, solutions/
    python tools/colab.py --check    # write nothing; exit 1 and list the notebooks that are out of date
    python tools/colab.py --root DIR # work on a copy of the repository

The tool changes sources only: re-execute the changed notebooks afterwards
(``python tools/course_map.py --execute``), since they are committed with the outputs of a real run.
"""

from __future__ import annotations

import argparse
import base64
import re
import sys
import tomllib
from pathlib import Path
from typing import NamedTuple

import nbformat
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("lectures", "notebooks", "exercises", "solutions")
NOTEBOOK_PATTERN = "[0-9][0-9]_*.ipynb"
BADGE_ID = "colab-badge"
SETUP_ID = "colab-setup"
BADGE_IMAGE = "https://colab.research.google.com/assets/colab-badge.svg"
# What a Colab runtime already has among course_utils's dependencies: the setup cell leaves these alone
# (installing course_utils with its dependencies could replace Colab's CUDA torch or its numpy).
COLAB_PREINSTALLED = frozenset(
    {
        "torch",
        "transformers",
        "tokenizers",
        "safetensors",
        "numpy",
        "pandas",
        "scikit-learn",
        "matplotlib",
        "seaborn",
        "tqdm",
        "ipywidgets",
    }
)
# A markdown image that points into the repository's img/ folder: ![alt](../img/name.png "title")
_IMG_LINK = re.compile(
    r"(!\[(?:[^\[\]]|\[[^\]]*\])*\]\()\.\./img/([A-Za-z0-9_.-]+\.(?:png|jpg|jpeg|gif|svg))((?:\s+\"[^\"]*\")?\))"
)
_ATTACHMENT_REF = re.compile(r"attachment:([A-Za-z0-9_.-]+)")
_MIME = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
         ".svg": "image/svg+xml"}  # fmt: skip


class Setting(NamedTuple):
    """Where the course lives on GitHub and which ref (tag or commit) Colab opens and installs."""

    repository: str  # owner/name
    ref: str
    extra_requirements: tuple[str, ...]  # course_utils's dependencies that Colab lacks

    def colab_url(self, relative_path: str) -> str:
        """The Colab address that opens ``relative_path`` (e.g. ``notebooks/03_attention.ipynb``)."""
        return f"https://colab.research.google.com/github/{self.repository}/blob/{self.ref}/{relative_path}"

    def badge(self, relative_path: str) -> str:
        """The markdown of the "Open in Colab" badge for one notebook."""
        return f"[![Open In Colab]({BADGE_IMAGE})]({self.colab_url(relative_path)})"

    def pip_target(self) -> str:
        return f"course-utils @ git+https://github.com/{self.repository}@{self.ref}"


def load_setting(root: str | Path = ROOT) -> Setting:
    """Read ``[tool.course]`` (``repository``, ``ref``) and the dependencies from ``pyproject.toml``."""
    pyproject = Path(root) / "pyproject.toml"
    data = tomllib.loads(pyproject.read_text())
    course = data.get("tool", {}).get("course", {})
    repository, ref = course.get("repository"), course.get("ref")
    if not isinstance(repository, str) or not re.fullmatch(r"[\w.-]+/[\w.-]+", repository):
        raise ValueError(f"{pyproject}: [tool.course] repository must be 'owner/name', got {repository!r}")
    if not isinstance(ref, str) or not re.fullmatch(r"[\w./-]+", ref) or ref.startswith(("/", "-")):
        raise ValueError(f"{pyproject}: [tool.course] ref must be a tag, branch or commit, got {ref!r}")
    missing = tuple(
        dep
        for dep in data["project"]["dependencies"]
        if Requirement(dep).name.lower() not in COLAB_PREINSTALLED
    )
    return Setting(repository, ref, missing)


def setup_source(setting: Setting) -> str:
    """The source of the setup cell: the same in every notebook."""
    lines = [
        "# Setup: on Colab, install the course package; elsewhere it is installed already.",
        "# Written by tools/colab.py from [tool.course] in pyproject.toml: change that, not this cell.",
        "import sys",
        "",
        'if "google.colab" in sys.modules:',
        "    # --no-deps: Colab's own torch, numpy, transformers ... stay as they are",
        f'    %pip install -q --no-deps "{setting.pip_target()}"',
    ]
    if setting.extra_requirements:
        wanted = " ".join(f'"{r}"' for r in setting.extra_requirements)
        lines.append(f"    %pip install -q {wanted}  # what Colab lacks")
    lines += [
        f'    installed = "installed from {setting.repository}@{setting.ref}"',
        "else:",
        '    installed = "already installed"',
        "from course_utils import get_device, set_threads",
        "",
        "threads = set_threads()  # CPU threads for torch: COURSE_THREADS, else the course's default",
        'print(f"course_utils {installed}; get_device() picks {get_device()}; {threads} CPU thread(s)")',
    ]
    return "\n".join(lines)


def _without_badge(text: str) -> str:
    """``text`` with every line that holds a Colab badge removed (and the blank lines it leaves)."""
    kept = [line for line in text.split("\n") if BADGE_IMAGE not in line]
    out = "\n".join(kept)
    out = re.sub(r"\n{3,}", "\n\n", out)
    return out.strip("\n")


def _embed_figures(cell: nbformat.NotebookNode, img_dir: Path, where: str) -> None:
    """Turn ``../img/NAME`` links into attachments and refresh attachments that come from ``img/``."""
    if cell.cell_type != "markdown":
        return
    cell.source = _IMG_LINK.sub(lambda m: f"{m.group(1)}attachment:{m.group(2)}{m.group(3)}", cell.source)
    names = sorted(set(_ATTACHMENT_REF.findall(cell.source)))
    attachments = dict(cell.get("attachments", {}))
    for name in names:
        picture = img_dir / name
        if picture.is_file():  # the figure lives in img/: (re)embed the current drawing
            data = base64.b64encode(picture.read_bytes()).decode("ascii")
            attachments[name] = {_MIME[picture.suffix.lower()]: data}
        elif name not in attachments:
            raise FileNotFoundError(f"{where}: attachment:{name} is neither attached nor in {img_dir}")
    if attachments:
        cell.attachments = {k: attachments[k] for k in sorted(attachments)}


def _new_markdown(cell_id: str, source: str) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_markdown_cell(source)
    cell.id = cell_id
    return cell


def _new_code(cell_id: str, source: str) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source)
    cell.id = cell_id
    return cell


def apply(nb: nbformat.NotebookNode, relative_path: str, setting: Setting, img_dir: Path) -> None:
    """Give one notebook (in place) its badge cell, its setup cell and its figures as attachments.

    Args:
        nb: the notebook, changed in place.
        relative_path: its path from the repository root, with forward slashes (the badge opens it).
        setting: the repository and ref.
        img_dir: the repository's ``img/`` folder, where ``../img/NAME`` figures are read.
    """
    is_lecture = relative_path.startswith("lectures/")
    cells = list(nb.cells)

    # 1) the badge: one cell of its own, first; badges elsewhere go
    old = [c for c in cells if c.get("id") == BADGE_ID]
    cells = [c for c in cells if c.get("id") != BADGE_ID]
    for cell in cells:
        if cell.cell_type == "markdown" and BADGE_IMAGE in cell.source:
            cell.source = _without_badge(cell.source)
    badge = old[0] if old else _new_markdown(BADGE_ID, "")
    badge.source = setting.badge(relative_path)
    if is_lecture:  # never on a slide: the deck is for the room, and the badge image is remote
        badge.metadata.setdefault("slideshow", {})["slide_type"] = "skip"
    cells.insert(0, badge)

    # 2) the setup cell: the notebook's first code cell
    found = [i for i, c in enumerate(cells) if c.cell_type == "code" and "google.colab" in c.source]
    source = setup_source(setting)
    if found:
        setup = cells.pop(found[0])
        if setup.source != source:
            setup.source = source
            setup.outputs = []  # they were the outputs of another source: re-execute the notebook
            setup.execution_count = None
    else:
        setup = _new_code(SETUP_ID, source)
        if is_lecture:
            setup.metadata["slideshow"] = {"slide_type": "skip"}
    first_code = next((i for i, c in enumerate(cells) if c.cell_type == "code"), len(cells))
    if found and found[0] <= first_code:  # already the first code cell: it stays where it is
        where = found[0]
    else:  # a new (or misplaced) setup cell: after the "## Setup" heading, else before the first code
        heading = [
            i
            for i, c in enumerate(cells[:first_code])
            if c.cell_type == "markdown" and re.match(r"#+\s*Setup\b", c.source)
        ]
        where = heading[0] + 1 if heading else first_code
    cells.insert(where, setup)

    # 3) figures travel with the notebook
    for index, cell in enumerate(cells):
        _embed_figures(cell, img_dir, f"{relative_path}, cell {index}")
    nb.cells = cells


def notebooks(root: Path) -> list[Path]:
    return [p for folder in FOLDERS for p in sorted((root / folder).glob(NOTEBOOK_PATTERN))]


def notebook_bytes(nb: nbformat.NotebookNode) -> bytes:
    """Serialise as nbformat does (sorted keys, indent 1), ending with a newline (as tools/exercises.py)."""
    text = nbformat.writes(nb, version=4)
    return (text if text.endswith("\n") else text + "\n").encode("utf-8")


def run(root: str | Path = ROOT, check: bool = False) -> list[Path]:
    """Apply the tool to every notebook under ``root``; return those that changed (or would change)."""
    root = Path(root)
    setting = load_setting(root)
    changed = []
    for path in notebooks(root):
        nb = nbformat.read(path, as_version=4)
        apply(nb, path.relative_to(root).as_posix(), setting, root / "img")
        data = notebook_bytes(nb)
        if path.read_bytes() != data:
            changed.append(path)
            if not check:
                path.write_bytes(data)
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python tools/colab.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--root", default=str(ROOT), help="repository root (default: this repository)")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a notebook is stale")
    args = parser.parse_args(argv)
    try:
        changed = run(args.root, check=args.check)
    except (ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    root = Path(args.root)
    for path in changed:
        print(f"{'stale' if args.check else 'wrote'} {path.relative_to(root)}")
    if args.check and changed:
        print("Run `python tools/colab.py`, then re-execute the changed notebooks.")
        return 1
    if not changed:
        print("Every notebook already has its Colab badge, setup cell and attached figures.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
