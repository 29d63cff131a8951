"""The shape of the `course_utils` package: what a learner who opens it should find.

Each test reads the package's source as text (with `ast`), so it checks every module, whether or not a
notebook imports it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "course_utils"
MODULES = sorted(PACKAGE.rglob("*.py"))


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def internal_imports(path: Path, *, top_level_only: bool) -> set[str]:
    """The `course_utils` modules that a file imports (at module level only, or anywhere)."""
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found = set()
    for node in nodes:
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.startswith("course_utils"):
                # `from course_utils import world` imports the submodule world
                for alias in node.names:
                    candidate = f"{node.module}.{alias.name}"
                    found.add(candidate if candidate in NAMES else node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("course_utils"))
    return found


NAMES = {module_name(p) for p in MODULES}


def test_modules_fit_in_a_readers_head():
    sizes = {module_name(p): len(p.read_text().splitlines()) for p in MODULES}
    too_long = {name: n for name, n in sizes.items() if n > 1000}
    assert not too_long, f"modules over 1,000 lines: {too_long}"


def test_package_imports_sit_at_the_top_of_each_module():
    hidden = {}
    for path in MODULES:
        inside = internal_imports(path, top_level_only=False) - internal_imports(path, top_level_only=True)
        if inside:
            hidden[module_name(path)] = sorted(inside)
    assert not hidden, f"course_utils imports hidden inside functions: {hidden}"


def test_no_import_cycles():
    graph = {module_name(p): internal_imports(p, top_level_only=True) for p in MODULES}

    def cycle_from(start: str) -> list[str] | None:
        stack = [(start, [start])]
        while stack:
            node, path = stack.pop()
            for nxt in graph.get(node, ()):
                if nxt == start:
                    return path + [start]
                if nxt not in path:
                    stack.append((nxt, path + [nxt]))
        return None

    cycles = [" -> ".join(found) for name in graph if (found := cycle_from(name))]
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def backward_calls(source: str) -> list[int]:
    """Line numbers of the ``.backward()`` calls in a piece of Python source."""
    return [
        node.lineno
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "backward"
    ]


@pytest.mark.parametrize("path", MODULES, ids=module_name)
def test_only_the_training_loop_runs_a_backward_pass(path):
    """One training loop: a backward pass in the package is `course_utils/train.py`'s (checks aside)."""
    name = module_name(path)
    if name == "course_utils.train" or name.startswith("course_utils.checks"):
        return
    calls = backward_calls(path.read_text())
    assert not calls, f"{path.name} calls .backward() at lines {calls}: train with course_utils.train.train"


def test_backward_calls_are_found():
    assert backward_calls("def fit(loss):\n    loss.backward()\n") == [2]
    assert backward_calls((PACKAGE / "train.py").read_text()), "the training loop itself has one"
