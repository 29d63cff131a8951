"""Structural tests of the course: every notebook as a learner, an instructor or CI meets it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("lectures", "notebooks", "solutions", "exercises")


def all_notebooks(folder: str) -> list[Path]:
    return sorted((ROOT / folder).glob("[0-9][0-9]_*.ipynb"))


def load(path: Path) -> dict:
    return json.loads(path.read_text())


def source(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


EXECUTED = [p for f in ("lectures", "notebooks", "solutions") for p in all_notebooks(f)]
ids = [f"{p.parent.name}/{p.name}" for p in EXECUTED]


def test_there_are_notebooks():
    assert EXECUTED, "no notebooks found"


def test_units_have_all_four_parts():
    units = {p.name for f in FOLDERS for p in all_notebooks(f)}
    for name in units:
        missing = [f for f in FOLDERS if not (ROOT / f / name).exists()]
        assert not missing, f"{name} is missing from {missing}"


@pytest.mark.parametrize("path", EXECUTED, ids=ids)
def test_committed_with_outputs_of_a_clean_run(path):
    nb = load(path)
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert code, "a notebook without code"
    assert all(c.get("execution_count") for c in code if source(c).strip()), "some cells were never run"
    counts = [c["execution_count"] for c in code if c.get("execution_count")]
    assert counts == list(range(1, len(counts) + 1)), "cells were not run once, top to bottom"
    errors = [o for c in code for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, "a committed output is an error"


@pytest.mark.parametrize(
    "path", all_notebooks("notebooks") + all_notebooks("solutions"), ids=lambda p: p.name
)
def test_notebook_anatomy(path):
    nb = load(path)
    text = "\n".join(source(c) for c in nb["cells"] if c["cell_type"] == "markdown")
    # tools/colab.py's badge cell comes first
    cells = [c for c in nb["cells"] if c.get("id") != "colab-badge"]
    assert source(cells[0]).lstrip().startswith("# "), "the first cell is the H1 title"
    assert "colab.research.google.com" in text, "Colab badge missing"
    if path.parent.name == "notebooks":
        for heading in ("Learning objectives", "Setup", "Summary", "Further reading"):
            assert re.search(rf"^#+ .*{heading}", text, re.M | re.I), f"section '{heading}' missing"
    first_code = next(c for c in nb["cells"] if c["cell_type"] == "code")
    assert 'if "google.colab" in sys.modules' in source(first_code), "the first code cell is the Colab setup"


@pytest.mark.parametrize("path", all_notebooks("lectures"), ids=lambda p: p.name)
def test_lectures_are_slide_decks_with_notes(path):
    cells = load(path)["cells"]
    kinds = [c.get("metadata", {}).get("slideshow", {}).get("slide_type") for c in cells]
    assert all(kinds), "every cell of a lecture needs slideshow metadata"
    assert kinds.count("slide") >= 5, "a deck needs several slides"
    assert "notes" in kinds, "speaker notes missing"


@pytest.mark.parametrize("path", [p for f in FOLDERS for p in all_notebooks(f)], ids=lambda p: str(p.name))
def test_every_referenced_image_exists(path):
    for cell in load(path)["cells"]:
        for ref in re.findall(r"(?:\]\(|src=\")([^)\"\s]+\.(?:png|svg|jpg|gif))", source(cell)):
            if ref.startswith("http"):
                continue
            if ref.startswith("attachment:"):  # carried in the notebook (tools/colab.py)
                assert ref.split(":", 1)[1] in cell.get("attachments", {}), f"{ref} is not attached"
                continue
            assert (path.parent / ref).resolve().is_file(), f"{ref} does not exist"


def test_no_machine_paths_in_tracked_files():
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    pattern = re.compile(r"/(work|home|root|Users)/[A-Za-z0-9_.-]+/|[A-Z]:\\\\Users")
    offenders = []
    for name in files:
        path = ROOT / name
        if path.suffix in {".png", ".safetensors", ".jpg"} or not path.is_file():
            continue
        if pattern.search(path.read_text(errors="ignore")):
            offenders.append(name)
    assert not offenders, f"absolute machine paths in {offenders}"


def test_ruff_is_clean():
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "course_utils", "tests", "tools", "img"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
