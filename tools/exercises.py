"""Build the exercise sheets (``exercises/NN_*.ipynb``) from the solved sheets (``solutions/NN_*.ipynb``).

A solved sheet marks each task's answer cell with the cell tag ``solution``. Such a cell looks like::

    # Task 2: Build the bag of words of `tokens` as a Counter.
    # Hint: collections.Counter counts a list in one call.
    def bag_of_words(tokens):
        ### BEGIN SOLUTION
        return Counter(tokens)
        ### END SOLUTION

The exercise sheet keeps the comment lines at the top of the cell and replaces every
``### BEGIN SOLUTION`` ... ``### END SOLUTION`` block (markers included) by
``raise NotImplementedError("Task 2: ...")`` at the indentation of the ``BEGIN`` line. A tagged cell
without markers keeps its leading comments and loses everything after them. All outputs and execution
counts are cleared, cell ids are kept, and the file is written deterministically, so building twice gives
identical bytes.

A maintainer's tool (it is not part of the installed ``course_utils``). Usage, from the repository root::

    python tools/exercises.py            # (re)write every exercises/NN_*.ipynb
    python tools/exercises.py --check    # exit 1 and list the sheets that are out of date
"""

from __future__ import annotations

import argparse
import copy
import re
import sys
from pathlib import Path

import nbformat

SOLUTION_TAG = "solution"
BEGIN_MARKER = "### BEGIN SOLUTION"
END_MARKER = "### END SOLUTION"
SHEET_PATTERN = "[0-9][0-9]_*.ipynb"
LINE_LENGTH = 110  # the project's ruff line length: stubs are written so that `ruff format` keeps them
# Cell metadata that records a particular run (nbclient timings, JupyterLab's execute-time extension)
_VOLATILE_CELL_METADATA = ("execution", "ExecuteTime")
_TASK_LINE = re.compile(r"^\s*#\s*(Task\b.*?)\s*$")
# A Colab link into solutions/ at any ref: .../blob/<tag, branch or commit>/solutions/
_BADGE_PATH = re.compile(r"(colab\.research\.google\.com/github/[^/\s]+/[^/\s]+/blob/[^/\s]+/)solutions/")


class ExerciseBuildError(ValueError):
    """A solved sheet cannot be turned into an exercise sheet (the message names notebook and cell)."""


def _raise_lines(title: str, indent: str) -> list[str]:
    """``raise NotImplementedError("<title>")`` at ``indent``, laid out as ``ruff format`` would."""
    # Double quotes unless single quotes need fewer escapes: the choice ruff format makes
    quote = "'" if title.count('"') > title.count("'") else '"'
    literal = quote + title.replace("\\", "\\\\").replace(quote, "\\" + quote) + quote
    one_line = f"{indent}raise NotImplementedError({literal})"
    if len(one_line) <= LINE_LENGTH:
        return [one_line]
    return [f"{indent}raise NotImplementedError(", f"{indent}    {literal}", f"{indent})"]


def _task_title(lines: list[str], where: str) -> str:
    """The text of the first ``# Task ...`` comment line of a solution cell."""
    for line in lines:
        if not line.strip():
            continue
        if not line.lstrip().startswith("#"):
            break
        match = _TASK_LINE.match(line)
        if match:
            return match.group(1)
    raise ExerciseBuildError(
        f"{where}: a cell tagged {SOLUTION_TAG!r} must start with a comment such as "
        "'# Task 1: what to do', so that the exercise sheet can say which task is missing"
    )


def stub_source(source: str, where: str = "cell") -> str:
    """Turn the source of one solution cell into the source of its exercise stub.

    Args:
        source: the code of a cell tagged ``solution``.
        where: names the notebook and cell in error messages.

    Returns:
        The stub: leading comments kept, each solution block replaced by ``raise NotImplementedError``.

    Raises:
        ExerciseBuildError: if the cell has no ``# Task`` header or its BEGIN/END markers do not pair up.
    """
    lines = source.splitlines()
    title = _task_title(lines, where)
    begins = [i for i, line in enumerate(lines) if line.strip() == BEGIN_MARKER]
    ends = [i for i, line in enumerate(lines) if line.strip() == END_MARKER]
    if not begins and not ends:
        # No markers: keep the comment header, drop the whole body
        header_end = 0
        while header_end < len(lines) and (
            not lines[header_end].strip() or lines[header_end].lstrip().startswith("#")
        ):
            header_end += 1
        header = lines[:header_end]
        while header and not header[-1].strip():
            header.pop()
        return "\n".join([*header, *_raise_lines(title, "")])

    out: list[str] = []
    inside_from: int | None = None
    for i, line in enumerate(lines):
        stripped = line.strip()
        if stripped == BEGIN_MARKER:
            if inside_from is not None:
                raise ExerciseBuildError(
                    f"{where}: line {i + 1} opens {BEGIN_MARKER!r} but the block opened on line "
                    f"{inside_from + 1} was never closed; add {END_MARKER!r} before it"
                )
            inside_from = i
            indent = line[: len(line) - len(line.lstrip())]
            out.extend(_raise_lines(title, indent))
        elif stripped == END_MARKER:
            if inside_from is None:
                raise ExerciseBuildError(
                    f"{where}: line {i + 1} has {END_MARKER!r} without a matching {BEGIN_MARKER!r} above it"
                )
            inside_from = None
        elif inside_from is None:
            out.append(line)
    if inside_from is not None:
        raise ExerciseBuildError(
            f"{where}: {BEGIN_MARKER!r} on line {inside_from + 1} is never closed; add {END_MARKER!r}"
        )
    return "\n".join(out)


def make_exercise(solution: nbformat.NotebookNode, name: str = "notebook") -> nbformat.NotebookNode:
    """Return the exercise version of a solved sheet (the input is not modified).

    Args:
        solution: the solved notebook.
        name: the notebook's name, used in error messages.

    Returns:
        A new notebook: tagged cells stubbed, outputs and execution counts cleared, links that point at
        ``solutions/`` pointed at ``exercises/``.
    """
    nb = copy.deepcopy(solution)
    for index, cell in enumerate(nb.cells):
        for key in _VOLATILE_CELL_METADATA:
            cell.metadata.pop(key, None)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
            if SOLUTION_TAG in cell.metadata.get("tags", []):
                where = f"{name}, cell {index} (id {cell.get('id', '?')})"
                cell.source = stub_source(cell.source, where)
        elif cell.cell_type == "markdown":
            # The Colab badge of the solved sheet opens solutions/; the exercise sheet's opens itself
            cell.source = _BADGE_PATH.sub(r"\1exercises/", cell.source)
    return nb


def notebook_bytes(nb: nbformat.NotebookNode) -> bytes:
    """Serialise a notebook the way nbformat does (sorted keys, indent 1), ending with a newline."""
    text = nbformat.writes(nb, version=4)
    if not text.endswith("\n"):
        text += "\n"
    return text.encode("utf-8")


def build_exercises(root: str | Path = ".", check: bool = False) -> list[Path]:
    """Build every ``exercises/NN_*.ipynb`` from ``solutions/NN_*.ipynb``.

    Args:
        root: the repository root (the folder that holds ``solutions/`` and ``exercises/``).
        check: if True, write nothing and only report which exercise sheets are out of date.

    Returns:
        With ``check=False``, the exercise sheets that were (re)written because they changed; with
        ``check=True``, the sheets that are stale: missing, different from a fresh build, or left over
        without a solved sheet.
    """
    root = Path(root)
    solutions_dir = root / "solutions"
    exercises_dir = root / "exercises"
    if not solutions_dir.is_dir():
        raise FileNotFoundError(f"no solutions/ folder under {root.resolve()}; run from the repository root")
    changed: list[Path] = []
    expected_names = set()
    for solution_path in sorted(solutions_dir.glob(SHEET_PATTERN)):
        expected_names.add(solution_path.name)
        solution = nbformat.read(solution_path, as_version=4)
        data = notebook_bytes(make_exercise(solution, name=f"solutions/{solution_path.name}"))
        target = exercises_dir / solution_path.name
        if target.exists() and target.read_bytes() == data:
            continue
        changed.append(target)
        if not check:
            exercises_dir.mkdir(exist_ok=True)
            target.write_bytes(data)
    if check and exercises_dir.is_dir():
        # A sheet without a solved sheet would never be rebuilt: report it as stale too
        changed += [p for p in sorted(exercises_dir.glob(SHEET_PATTERN)) if p.name not in expected_names]
    return changed


def main(argv: list[str] | None = None) -> int:
    """Command line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python tools/exercises.py",
        description="Build exercises/NN_*.ipynb from solutions/NN_*.ipynb.",
    )
    parser.add_argument("--root", default=".", help="repository root (default: the current folder)")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if any sheet is stale")
    args = parser.parse_args(argv)
    try:
        paths = build_exercises(args.root, check=args.check)
    except (ExerciseBuildError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.check:
        if paths:
            print("Stale exercise sheets (run `python tools/exercises.py`):")
            for path in paths:
                print(f"  {path}")
            return 1
        print("All exercise sheets are up to date.")
        return 0
    for path in paths:
        print(f"wrote {path}")
    if not paths:
        print("All exercise sheets were already up to date.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
