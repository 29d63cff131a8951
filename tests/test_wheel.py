"""The package as Colab gets it: a wheel built from the repository, installed outside the checkout, carries
everything the notebooks read (tokenizer, checkpoint, word lists), and a lab runs against it.

The wheel is built without build isolation and installed without dependencies into a fresh virtual
environment that sees this environment's packages (torch and the rest) through a ``.pth`` file, so nothing
is downloaded. A copy of a lab then runs in a kernel of that environment, from a folder outside the
repository, so that only the installed package can be imported.
"""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "course_utils"
LAB = ROOT / "notebooks" / "03_attention.ipynb"

pytestmark = pytest.mark.slow


def _data_files() -> set[str]:
    """Every file of the package that is not Python source: what the notebooks read at run time."""
    return {
        p.relative_to(ROOT).as_posix()
        for p in PACKAGE.rglob("*")
        if p.is_file() and p.suffix not in {".py", ".pyc"} and "__pycache__" not in p.parts
    }


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """Build the wheel from a copy of the package sources (a build in the checkout would leave files)."""
    src = tmp_path_factory.mktemp("src")
    shutil.copytree(PACKAGE, src / "course_utils", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    out = tmp_path_factory.mktemp("dist")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
         "-w", str(out), str(src)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (built,) = out.glob("course_utils-*.whl")
    return built


@pytest.fixture(scope="module")
def environment(wheel, tmp_path_factory) -> Path:
    """A fresh venv outside the checkout with the wheel installed; returns its python."""
    home = tmp_path_factory.mktemp("venv")
    venv.create(home, with_pip=False)
    python = home / "bin" / "python"
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    # This environment's packages (torch, transformers, ipykernel ...) after the venv's own: no downloads.
    # The line only appends a folder: the editable install of the checkout there (a .pth) is not run.
    ours = {sysconfig.get_paths()["purelib"], *site.getsitepackages()}
    Path(purelib, "zz_course_test_deps.pth").write_text("\n".join(sorted(ours)) + "\n")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", str(wheel)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return python


def test_the_wheel_carries_every_data_file_of_the_package(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = sorted(_data_files() - names)
    assert not missing, f"not in the wheel (add them to [tool.setuptools.package-data]): {missing}"
    assert "course_utils/assets/pretrained/model.safetensors" in names
    assert not any(n.startswith(("tools/", "tests/", "notebooks/")) for n in names), "tooling in the wheel"


def test_the_installed_package_loads_its_assets_offline_outside_the_checkout(environment, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    code = (
        "import json\n"
        "import course_utils\n"
        "from course_utils import env\n"
        "from course_utils.pretrain import load_pretrained\n"
        "from course_utils.world.lexicon import LEXICON_PATH, section\n"
        "print('FROM', course_utils.__file__)\n"
        "model, tokenizer = load_pretrained('cpu')\n"
        "first = next(iter(json.loads(LEXICON_PATH.read_text())))\n"
        "print('LOADED', len(section(first)) > 0, tokenizer.vocab_size > 0)\n"
        "print('STATUS', env.main([]))  # the environment check: loads the assets with the network blocked\n"
    )
    result = subprocess.run(
        [environment, "-c", code], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300
    )
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    location = Path(out.split("FROM", 1)[1].split()[0])
    assert not location.is_relative_to(ROOT), "the checkout was imported, not the wheel"
    assert "LOADED True True" in out and "STATUS 0" in out and "MISSING" not in out, out


def test_a_lab_copied_out_of_the_repository_runs_against_the_wheel(environment, tmp_path, monkeypatch):
    kernels = tmp_path / "kernels" / "course-wheel"
    kernels.mkdir(parents=True)
    spec = {
        "argv": [str(environment), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "course_utils from the wheel",
        "language": "python",
        "env": {"MPLBACKEND": "Agg", "PYTHONPATH": ""},
    }
    (kernels / "kernel.json").write_text(json.dumps(spec))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))
    work = tmp_path / "learner"
    work.mkdir()
    lab = work / LAB.name
    shutil.copy(LAB, lab)
    nb = nbformat.read(lab, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("import course_utils\nprint('FROM', course_utils.__file__)"))
    NotebookClient(
        nb, timeout=300, kernel_name="course-wheel", resources={"metadata": {"path": work}}
    ).execute()
    printed = "".join(o.get("text", "") for o in nb.cells[-1].outputs)
    location = Path(printed.split("FROM", 1)[1].strip())
    assert location.is_relative_to(environment.parent.parent), f"the lab imported {location}"
