"""tools/course_map.py: the measured notebook times, their budgets, and the README's course map."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from helpers import load_tool

ROOT = Path(__file__).resolve().parents[1]
course_map = load_tool("course_map")
EXECUTED = [
    p
    for folder in ("lectures", "notebooks", "solutions")
    for p in sorted((ROOT / folder).glob("[0-9][0-9]_*.ipynb"))
]


def test_every_executed_notebook_is_found_by_the_tool():
    assert course_map.notebooks() == EXECUTED
    assert course_map.notebooks("00") == [p for p in EXECUTED if p.name.startswith("00")]


def test_recorded_times_are_within_budget():
    times = course_map.load_times()["seconds"]
    for path in EXECUTED:
        key = f"{path.parent.name}/{path.name}"
        assert key in times, f"{key} has no measured time; run python tools/course_map.py --execute"
        budget = course_map.budget(path)
        assert times[key] <= budget, f"{key} took {times[key]} s, over its {budget} s budget"
    first_six = [s for k, s in times.items() if k.split("/")[1][:2] in {"00", "01", "02", "03", "04", "05"}]
    assert sum(first_six) <= 8 * 60, f"units 00-05 take {sum(first_six):.0f} s together, over 8 minutes"


def test_readme_course_map_is_current():
    expected = course_map.course_map_table(course_map.load_times())
    assert expected in (ROOT / "README.md").read_text(), "run python tools/course_map.py"


def test_benchmarks_notebook_table_is_current():
    times = course_map.load_times()
    assert set(times["peak_mb"]) == set(times["seconds"]), "every notebook has a peak memory"
    assert max(times["peak_mb"].values()) <= 3000, "a notebook above 3 GB"
    expected = course_map.notebook_table(times)
    assert expected in (ROOT / "BENCHMARKS.md").read_text(), "run python tools/course_map.py"


def test_longer_budgets_only_for_the_pretraining_and_fine_tuning_labs():
    assert course_map.budget(ROOT / "notebooks" / "09_pretraining.ipynb") == 150
    assert (
        course_map.budget(ROOT / "solutions" / "09_pretraining.ipynb")
        == course_map.BUDGET_SECONDS["solutions"]
    )
    assert course_map.budget(ROOT / "notebooks" / "08_x.ipynb") == course_map.BUDGET_SECONDS["notebooks"]


def test_write_readme_replaces_only_the_marked_block(tmp_path, monkeypatch):
    readme = tmp_path / "README.md"
    readme.write_text("# Title\n<!-- course-map -->\nold table\n<!-- /course-map -->\nthe rest\n")
    monkeypatch.setattr(course_map, "README", readme)
    times = {"machine": "a test machine", "seconds": {"notebooks/00_welcome.ipynb": 7.0}}
    course_map.write_readme(times)
    text = readme.read_text()
    assert text.startswith("# Title\n<!-- course-map -->\n| unit |") and text.endswith(
        "<!-- /course-map -->\nthe rest\n"
    )
    assert "old table" not in text and "on a test machine; all 1 notebooks together: 0.1 min." in text
    assert "| 00 | **Welcome & training basics**" in text and "| 7 s /" not in text  # lecture time unknown: —
    readme.write_text("no markers\n")
    with pytest.raises(SystemExit, match="needs the markers"):
        course_map.write_readme(times)


def test_machine_line_describes_this_machine(monkeypatch):
    monkeypatch.setenv("COURSE_DEVICE", "cpu")
    monkeypatch.delenv("COURSE_THREADS", raising=False)
    line = course_map.machine()
    assert "CPU cores" in line and line.endswith("no GPU")
    assert f"{course_map.DEFAULT_THREADS} torch thread(s) per notebook" in line
    monkeypatch.setenv("COURSE_THREADS", "2")
    assert "2 torch thread(s) per notebook" in course_map.machine()


def test_the_script_runs_from_the_repository_root():
    result = subprocess.run(
        [sys.executable, "tools/course_map.py", "--help"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0 and "python tools/course_map.py --execute" in result.stdout, result.stderr
