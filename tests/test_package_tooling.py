"""course_utils against the tools: no notebook tooling imported, nothing written into the package itself.

Installed from PyPI or on Colab, ``course_utils`` lives in site-packages: a module that writes next to its
own files (as the course map once wrote ``README.md``) would write there. Maintainers' tools live in
``tools/``.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "course_utils"
MODULES = sorted(PACKAGE.rglob("*.py"))
TOOLING = {"nbformat", "nbclient", "nbconvert", "nbval", "jupyterlab", "jupyter_server", "pytest", "tools"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_imports_notebook_tooling_even_lazily(path):
    imported = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            imported.add(node.module.split(".")[0])
    assert not imported & TOOLING, f"{path.name} imports {sorted(imported & TOOLING)}"


def test_importing_every_module_loads_no_notebook_tooling():
    """Also what the package's dependencies import on its behalf."""
    names = [_module_name(p) for p in MODULES]
    code = (
        "import importlib, sys\n"
        f"for name in {names!r}:\n"
        "    importlib.import_module(name)\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {sorted(TOOLING)!r}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]", f"importing course_utils loaded {result.stdout.strip()}"


# --------------------------------------------------------------------------- nothing writes into the package

# Calls that write to (or delete) the path they are called on, or the path in a given argument
_WRITES_RECEIVER = {"write_text", "write_bytes", "mkdir", "touch", "unlink", "rmdir", "rename", "symlink_to"}
_WRITES_FIRST_ARG = {"save_pretrained", "savefig", "to_csv", "to_json", "rmtree", "makedirs", "mkdir"}
_OS_PATH = {"join", "dirname", "abspath", "realpath", "normpath", "expanduser", "fspath"}
_WRITES_SECOND_ARG = {"copy", "copy2", "copyfile", "copytree", "move", "save", "save_file", "save_model"}


def _points_into(expr: ast.AST | None, names: set[str], attrs: set[str]) -> bool:
    """Whether ``expr`` is a path inside the package: built from ``__file__`` or a name that is."""
    if expr is None:
        return False
    if isinstance(expr, ast.Name):
        return expr.id == "__file__" or expr.id in names
    if isinstance(expr, ast.Attribute):  # args.output where --output defaults into the package; X.parent
        return (expr.attr in attrs and isinstance(expr.value, ast.Name)) or _points_into(
            expr.value, names, attrs
        )
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Div):
        return _points_into(
            expr.left, names, attrs
        )  # `out / file.name` lies in out, wherever the name came from
    if isinstance(expr, ast.Subscript):  # Path(__file__).parents[1]
        return _points_into(expr.value, names, attrs)
    if isinstance(expr, ast.IfExp):
        return _points_into(expr.body, names, attrs) or _points_into(expr.orelse, names, attrs)
    if isinstance(expr, ast.Call):
        if isinstance(expr.func, ast.Attribute) and expr.func.attr not in _OS_PATH:
            return _points_into(expr.func.value, names, attrs)  # DIR.resolve(), DIR.iterdir(), ...
        return bool(expr.args) and _points_into(
            expr.args[0], names, attrs
        )  # Path(x), str(x), os.path.join(x)
    return False


def _bound_names(target: ast.AST) -> list[str]:
    return [n.id for n in ast.walk(target) if isinstance(n, ast.Name)]


def _taint(nodes: list[ast.AST], names: set[str], attrs: set[str]) -> None:
    """Add to ``names`` every name assigned (or looped over) a path inside the package, until nothing changes."""
    while True:
        before = len(names) + len(attrs)
        for node in nodes:
            if isinstance(node, (ast.Assign, ast.AnnAssign)) and _points_into(node.value, names, attrs):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names.update(n for t in targets for n in _bound_names(t))
            elif isinstance(node, ast.For) and _points_into(node.iter, names, attrs):
                names.update(_bound_names(node.target))
            elif isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "add_argument":
                default = next((k.value for k in node.keywords if k.arg == "default"), None)
                dest = next((k.value.value for k in node.keywords if k.arg == "dest"), None)
                option = next((a.value for a in node.args if isinstance(a, ast.Constant)), "")
                if _points_into(default, names, attrs):
                    attrs.add(dest or option.lstrip("-").replace("-", "_"))
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                params = (
                    node.args.args[len(node.args.args) - len(node.args.defaults) :] + node.args.kwonlyargs
                )
                defaults = node.args.defaults + node.args.kw_defaults
                names.update(p.arg for p, d in zip(params, defaults) if _points_into(d, names, attrs))
        if len(names) + len(attrs) == before:
            return


def _outside_functions(tree: ast.Module) -> list[ast.AST]:
    """Every node of a module except those inside a function (a function is its own scope)."""
    nodes, todo = [], list(tree.body)
    while todo:
        node = todo.pop(0)
        nodes.append(node)
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            todo += list(ast.iter_child_nodes(node))
    return nodes


def _open_mode(call: ast.Call) -> str:
    """The mode of ``open(path, mode)`` or ``path.open(mode)`` when it is a literal, else "r"."""
    position = 0 if isinstance(call.func, ast.Attribute) else 1
    mode = call.args[position] if len(call.args) > position else None
    mode = next((k.value for k in call.keywords if k.arg == "mode"), mode)
    return mode.value if isinstance(mode, ast.Constant) and isinstance(mode.value, str) else "r"


def _writes_into_package(source: str, imported: set[str] = frozenset()) -> list[str]:
    """The lines of ``source`` that write into the package's own folder (``imported``: such names it imports)."""
    tree = ast.parse(source)
    module_names = set(imported)
    _taint(list(tree.body), module_names, set())
    found = []
    scopes = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))] + [tree]
    for scope in scopes:
        names, attrs = set(module_names), set()
        nodes = list(ast.walk(scope)) if scope is not tree else _outside_functions(tree)
        _taint(nodes, names, attrs)
        for call in (n for n in nodes if isinstance(n, ast.Call)):
            func = call.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            targets = []
            if isinstance(func, ast.Attribute) and name in _WRITES_RECEIVER:
                targets.append(func.value)
            if name in _WRITES_FIRST_ARG and call.args:
                targets.append(call.args[0])
            if name in _WRITES_SECOND_ARG and len(call.args) > 1:
                targets.append(call.args[1])
            if not targets and name.lstrip("_").startswith(
                ("save_", "write_")
            ):  # e.g. save_tokenizer(tok, d)
                targets += call.args
            if name == "open" and set(_open_mode(call)) & set("wax+"):
                targets.append(func.value if isinstance(func, ast.Attribute) else call.args[0])
            if any(_points_into(t, names, attrs) for t in targets):
                found.append(f"line {call.lineno}: {ast.unparse(call)[:80]}")
    return sorted(set(found))


def _package_paths() -> dict[str, set[str]]:
    """Per module, the module-level names that are paths inside the package (own or imported)."""
    trees = {_module_name(p): ast.parse(p.read_text()) for p in MODULES}
    tainted: dict[str, set[str]] = {name: set() for name in trees}
    while True:
        before = sum(map(len, tainted.values()))
        for name, tree in trees.items():
            for node in tree.body:
                if isinstance(node, ast.ImportFrom) and node.module in tainted:
                    tainted[name] |= {
                        a.asname or a.name for a in node.names if a.name in tainted[node.module]
                    }
            _taint(list(tree.body), tainted[name], set())
        if sum(map(len, tainted.values())) == before:
            return tainted


@pytest.mark.parametrize(
    "source",
    [
        # the course map as it was: README.md beside the package, found from __file__
        'ROOT = Path(__file__).resolve().parents[1]\nREADME = ROOT / "README.md"\n'
        "def write_readme(table):\n    README.write_text(table)\n",
        # a command whose default output folder is the package's own assets
        'ASSETS = Path(__file__).parent / "assets"\ndef main():\n    parser = argparse.ArgumentParser()\n'
        '    parser.add_argument("--output", default=str(ASSETS))\n    args = parser.parse_args()\n'
        "    save_tokenizer(tokenizer, args.output)\n",
        # a default argument, an open for writing, a copy into the package
        'HERE = Path(__file__).parent\ndef save(x, folder=HERE / "runs"):\n    save_file(x, folder / "m.st")\n',
        'def log(text):\n    with open(os.path.join(os.path.dirname(__file__), "log.txt"), "a") as f:\n'
        "        f.write(text)\n",
        "DIR = Path(__file__).parent\ndef f(src):\n    shutil.copyfile(src, DIR / src.name)\n",
    ],
)
def test_the_write_detector_finds_writes_into_the_package(source):
    assert _writes_into_package(source), "the detector missed a write into the package"


def test_the_write_detector_allows_reading_the_package_and_writing_elsewhere():
    source = (
        'SHIPPED = Path(__file__).parent / "assets"\n'
        "def export(out, directory=None):\n"
        "    path = SHIPPED if directory is None else Path(directory)\n"
        "    for file in SHIPPED.iterdir():\n"
        "        shutil.copyfile(file, out / file.name)\n"
        '    (out / "config.json").write_text(path.read_text().replace("a", "b"))\n'
        '    with open(path / "config.json") as f:\n'
        "        return f.read()\n"
    )
    assert _writes_into_package(source) == []


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_writes_into_the_package(path):
    imported = _package_paths()[_module_name(path)]
    found = _writes_into_package(path.read_text(), imported)
    assert not found, (
        f"{path.name} writes into the package's own folder (site-packages once installed): {found}. "
        "Take the folder as an argument (a required command-line option), or move the tool to tools/"
    )
