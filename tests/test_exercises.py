"""tools/exercises.py, the exercise-sheet builder, and every exercise sheet of the course.

The sheet tests are generic: they cover every ``solutions/NN_*.ipynb`` / ``exercises/NN_*.ipynb`` present.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from helpers import load_tool
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

exercises = load_tool("exercises")

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = sorted((ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))
EXERCISES = sorted((ROOT / "exercises").glob("[0-9][0-9]_*.ipynb"))
CHECK_CALL = re.compile(r"\bcheck_\w+\s*\(")
TASK_LINE = re.compile(r"^\s*#\s*Task\s+(\w+)\s*:", re.MULTILINE)


def _ids(paths: list[Path]) -> list[str]:
    return [p.name for p in paths]


def _is_solution(cell) -> bool:
    return cell.cell_type == "code" and "solution" in cell.metadata.get("tags", [])


# --------------------------------------------------------------------------- the stubbing rules


def test_block_becomes_raise_at_its_indentation():
    source = (
        "# Task 2: Build the bag of words of `tokens` as a Counter.\n"
        "# Hint: collections.Counter counts a list in one call.\n"
        "def bag_of_words(tokens):\n"
        "    ### BEGIN SOLUTION\n"
        "    return Counter(tokens)\n"
        "    ### END SOLUTION"
    )
    assert exercises.stub_source(source) == (
        "# Task 2: Build the bag of words of `tokens` as a Counter.\n"
        "# Hint: collections.Counter counts a list in one call.\n"
        "def bag_of_words(tokens):\n"
        '    raise NotImplementedError("Task 2: Build the bag of words of `tokens` as a Counter.")'
    )


def test_two_blocks_and_code_between_them_kept():
    source = (
        "# Task 1: two parts\n"
        "x = 1\n"
        "### BEGIN SOLUTION\n"
        "y = 2\n"
        "### END SOLUTION\n"
        "def f():\n"
        "        ### BEGIN SOLUTION\n"
        "        return 3\n"
        "        ### END SOLUTION\n"
    )
    stub = exercises.stub_source(source)
    assert stub.splitlines() == [
        "# Task 1: two parts",
        "x = 1",
        'raise NotImplementedError("Task 1: two parts")',
        "def f():",
        '        raise NotImplementedError("Task 1: two parts")',
    ]
    compile(stub, "<stub>", "exec")  # the stub is valid Python


def test_cell_without_markers_keeps_only_its_comment_header():
    source = '# Task 3: Print "hello".\n# Hint: print.\n\nprint("hello")\nx = 2\n'
    stub = exercises.stub_source(source)
    # single quotes around a text with double quotes, as ruff format writes it
    assert (
        stub
        == '# Task 3: Print "hello".\n# Hint: print.\nraise NotImplementedError(\'Task 3: Print "hello".\')'
    )
    namespace: dict = {}
    with pytest.raises(NotImplementedError, match='Task 3: Print "hello".'):
        exec(compile(stub, "<stub>", "exec"), namespace)


@pytest.mark.parametrize(
    "title",
    [
        "Task 1: short.",
        "Task 2: a long task line " + "that goes on " * 8 + "until it no longer fits on one line.",
        'Task 3: it\'s "quoted" both ways, and \\ has a backslash.',
    ],
)
def test_stubs_are_valid_python_that_ruff_format_keeps(title):
    source = f"# {title}\ndef f(x):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION"
    stub = exercises.stub_source(source)
    with pytest.raises(NotImplementedError) as err:
        namespace: dict = {}
        exec(compile(stub, "<stub>", "exec"), namespace)
        namespace["f"](1)
    assert str(err.value) == title
    formatted = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--stdin-filename", "stub.py", "-"],
        input=stub + "\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    ).stdout
    assert formatted == stub + "\n"


@pytest.mark.parametrize(
    "source, problem",
    [
        ("# Task 1: a\n### BEGIN SOLUTION\nx = 1\n", "never closed"),
        ("# Task 1: a\nx = 1\n### END SOLUTION\n", "without a matching"),
        ("# Task 1: a\n### BEGIN SOLUTION\n### BEGIN SOLUTION\nx\n### END SOLUTION\n", "never closed"),
        ("x = 1\n### BEGIN SOLUTION\ny\n### END SOLUTION\n", "# Task"),
    ],
)
def test_bad_cells_raise_naming_the_place(source, problem):
    with pytest.raises(exercises.ExerciseBuildError, match=re.escape(problem)) as err:
        exercises.stub_source(source, where="solutions/99_x.ipynb, cell 4")
    assert "solutions/99_x.ipynb, cell 4" in str(err.value)


def _tiny_solution() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    badge = "https://colab.research.google.com/github/o/r/blob/main/solutions/99_tiny.ipynb"
    nb.cells = [
        nbformat.v4.new_markdown_cell(f"# Tiny\n[badge]({badge})"),
        nbformat.v4.new_code_cell("x = 1", execution_count=1, outputs=[]),
        nbformat.v4.new_code_cell(
            "# Task 1: Double x.\ny = 2 * x",
            metadata={"tags": ["solution"], "execution": {"iopub.status.busy": "2024"}},
            execution_count=2,
            outputs=[nbformat.v4.new_output("stream", name="stdout", text="hi\n")],
        ),
    ]
    for i, cell in enumerate(nb.cells):
        cell.id = f"cell-{i}"
    return nb


def test_make_exercise_clears_outputs_keeps_ids_and_repoints_badge():
    solution = _tiny_solution()
    exercise = exercises.make_exercise(solution)
    assert [c.id for c in exercise.cells] == [c.id for c in solution.cells]
    assert all(c.outputs == [] and c.execution_count is None for c in exercise.cells if c.cell_type == "code")
    assert "execution" not in exercise.cells[2].metadata
    assert "/blob/main/exercises/99_tiny.ipynb" in exercise.cells[0].source
    assert exercise.cells[2].source.endswith('raise NotImplementedError("Task 1: Double x.")')
    # the solved notebook itself is untouched
    assert solution.cells[2].outputs and solution.cells[2].source.endswith("y = 2 * x")


def test_build_and_check_on_a_scratch_repository(tmp_path, capsys):
    (tmp_path / "solutions").mkdir()
    nbformat.write(_tiny_solution(), tmp_path / "solutions" / "99_tiny.ipynb")
    assert exercises.main(["--root", str(tmp_path), "--check"]) == 1  # missing sheet is stale
    assert "99_tiny.ipynb" in capsys.readouterr().out
    assert exercises.build_exercises(tmp_path) == [tmp_path / "exercises" / "99_tiny.ipynb"]
    first = (tmp_path / "exercises" / "99_tiny.ipynb").read_bytes()
    assert first.endswith(b"\n")
    assert exercises.build_exercises(tmp_path) == []  # nothing changes on a rebuild
    assert (tmp_path / "exercises" / "99_tiny.ipynb").read_bytes() == first
    assert exercises.main(["--root", str(tmp_path), "--check"]) == 0
    # an exercise sheet edited by hand, or left without a solved sheet, is stale
    (tmp_path / "exercises" / "99_tiny.ipynb").write_bytes(first.replace(b"Double", b"Triple"))
    (tmp_path / "exercises" / "98_orphan.ipynb").write_bytes(first)
    assert {p.name for p in exercises.build_exercises(tmp_path, check=True)} == {
        "99_tiny.ipynb",
        "98_orphan.ipynb",
    }


# --------------------------------------------------------------------------- the course's sheets


def test_exercise_sheets_are_up_to_date():
    """As a maintainer runs it. Up to date also means: no outputs, and no sheet without a solved one."""
    result = subprocess.run(
        [sys.executable, "tools/exercises.py", "--check"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "All exercise sheets are up to date." in result.stdout


@pytest.mark.parametrize("path", SOLUTIONS, ids=_ids(SOLUTIONS))
def test_solution_sheet_has_tasks_each_followed_by_a_check(path):
    nb = nbformat.read(path, as_version=4)
    tasks = set()
    for index, cell in enumerate(nb.cells):
        if not _is_solution(cell):
            continue
        found = TASK_LINE.search(cell.source)
        assert found, f"{path.name} cell {index}: a solution cell must start with '# Task N: ...'"
        tasks.add(found.group(1))
        following = [c for c in nb.cells[index + 1 :] if c.cell_type == "code"]
        assert following and not _is_solution(following[0]) and CHECK_CALL.search(following[0].source), (
            f"{path.name} cell {index} ({found.group(0).strip()}): the next code cell must call a check, "
            "e.g. checks.unit01.check_perplexity(perplexity)"
        )
    assert len(tasks) >= 3, f"{path.name} has {len(tasks)} tasks; an exercise sheet needs 3 to 6"
    assert len(tasks) <= 6, f"{path.name} has {len(tasks)} tasks; an exercise sheet needs 3 to 6"


@pytest.mark.slow
@pytest.mark.parametrize("path", EXERCISES, ids=_ids(EXERCISES))
def test_exercise_sheet_stops_at_its_first_stub(path):
    """Run the sheet cell by cell: the first error must be the first task's NotImplementedError.

    A stub at the top level of a task cell raises in that cell; a stub inside a function raises when the
    check cell under it calls the function. Either way it is the first error, and it names the first task.
    """
    nb = nbformat.read(path, as_version=4)
    first_stub = next((i for i, c in enumerate(nb.cells) if _is_solution(c)), None)
    assert first_stub is not None, f"{path.name} has no cell tagged 'solution'"
    title = TASK_LINE.search(nb.cells[first_stub].source)
    assert title, f"{path.name} cell {first_stub}: a solution cell must start with '# Task N: ...'"
    check_cell = next(i for i in range(first_stub + 1, len(nb.cells)) if nb.cells[i].cell_type == "code")
    # Only the cells up to the first check are run: nothing after it can run without the learner's answer
    client = NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells[: check_cell + 1]):
            if cell.cell_type != "code":
                continue
            try:
                client.execute_cell(cell, index)
            except CellExecutionError as err:
                assert index in (first_stub, check_cell), (
                    f"{path.name} failed at cell {index}, before its first task:\n{err}"
                )
                assert err.ename == "NotImplementedError", f"{path.name} first task raised {err.ename}: {err}"
                assert err.evalue.startswith(f"Task {title.group(1)}:"), (
                    f"{path.name}: the first NotImplementedError is not the first task's: {err.evalue}"
                )
                return
    pytest.fail(
        f"{path.name}: the first task (cell {first_stub}) and its check ran without NotImplementedError"
    )


def test_notebook_bytes_round_trip():
    nb = _tiny_solution()
    data = exercises.notebook_bytes(nb)
    assert exercises.notebook_bytes(nbformat.reads(data.decode("utf-8"), as_version=4)) == data
