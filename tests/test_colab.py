"""tools/colab.py and what it gives every notebook: the Colab badge, the setup cell, figures attached.

The first tests run the tool on small notebooks in a temporary folder; the last ones check the course's
own notebooks (``python tools/colab.py --check`` must find nothing to do).
"""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import nbformat
import pytest
from helpers import load_tool
from packaging.requirements import Requirement

from course_utils.utils import DEFAULT_THREADS

colab = load_tool("colab")
exercises = load_tool("exercises")

ROOT = Path(__file__).resolve().parents[1]
SETTING = colab.load_setting(ROOT)
NOTEBOOKS = colab.notebooks(ROOT)
PNG = (ROOT / "img").glob("*.png").__next__()


def _tiny_repo(tmp_path: Path, repository: str = "someone/course", ref: str = "v9") -> Path:
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "fig.png").write_bytes(PNG.read_bytes())
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    deps = ",".join(f'"{d}"' for d in pyproject["project"]["dependencies"])
    (tmp_path / "pyproject.toml").write_text(
        f'[project]\nname = "x"\ndependencies = [{deps}]\n[tool.course]\nrepository = "{repository}"\nref = "{ref}"\n'
    )
    lecture = nbformat.v4.new_notebook()
    lecture.cells = [
        nbformat.v4.new_markdown_cell(
            "# Title\n\n[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
            "(https://colab.research.google.com/github/old/place/blob/main/lectures/00_x.ipynb)\n\nText",
            metadata={"slideshow": {"slide_type": "slide"}},
        ),
        nbformat.v4.new_code_cell(
            'import sys\nif "google.colab" in sys.modules:\n    %pip install old',
            metadata={"slideshow": {"slide_type": "skip"}},
        ),
        nbformat.v4.new_markdown_cell(
            "![a figure](../img/fig.png)", metadata={"slideshow": {"slide_type": "slide"}}
        ),
        nbformat.v4.new_code_cell("x = 1", metadata={"slideshow": {"slide_type": "-"}}),
    ]
    solution = nbformat.v4.new_notebook()
    solution.cells = [
        nbformat.v4.new_markdown_cell("# Sheet"),
        nbformat.v4.new_markdown_cell("## Setup"),
        nbformat.v4.new_code_cell("import math"),
    ]
    for folder, nb in (("lectures", lecture), ("solutions", solution), ("notebooks", solution)):
        (tmp_path / folder).mkdir()
        nbformat.write(nb, tmp_path / folder / "00_x.ipynb")
    return tmp_path


def test_the_tool_adds_badge_setup_and_attachments_once(tmp_path):
    root = _tiny_repo(tmp_path)
    changed = colab.run(root)
    assert len(changed) == 3
    lecture = nbformat.read(root / "lectures" / "00_x.ipynb", as_version=4)
    badge, title, setup, figure, code = lecture.cells
    assert badge.id == colab.BADGE_ID and badge.metadata["slideshow"]["slide_type"] == "skip"
    assert badge.source == (
        "[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
        "(https://colab.research.google.com/github/someone/course/blob/v9/lectures/00_x.ipynb)"
    )
    assert title.source == "# Title\n\nText", "the old badge leaves the title cell"
    assert (
        "git+https://github.com/someone/course@v9" in setup.source and "%pip install old" not in setup.source
    )
    assert setup.metadata["slideshow"]["slide_type"] == "skip" and setup.outputs == []
    assert figure.source == "![a figure](attachment:fig.png)"
    assert base64.b64decode(figure.attachments["fig.png"]["image/png"]) == PNG.read_bytes()
    # A notebook without a setup cell gets one after its "## Setup" heading
    solution = nbformat.read(root / "solutions" / "00_x.ipynb", as_version=4)
    assert [c.source[:9] for c in solution.cells] == [
        "[![Open I",
        "# Sheet",
        "## Setup",
        "# Setup: ",
        "import ma",
    ]
    assert solution.cells[3].id == colab.SETUP_ID
    # Idempotent: a second run changes nothing; --check agrees
    before = {p: p.read_bytes() for p in colab.notebooks(root)}
    assert colab.run(root) == [] and colab.run(root, check=True) == []
    assert before == {p: p.read_bytes() for p in colab.notebooks(root)}


def test_one_setting_moves_every_badge_and_install(tmp_path):
    root = _tiny_repo(tmp_path)
    colab.run(root)
    text = (root / "pyproject.toml").read_text().replace('"someone/course"', '"elsewhere/course2"')
    (root / "pyproject.toml").write_text(text.replace('ref = "v9"', 'ref = "0123abc"'))
    assert len(colab.run(root, check=True)) == 3
    colab.run(root)
    for path in colab.notebooks(root):
        nb = nbformat.read(path, as_version=4)
        assert sum(colab.BADGE_IMAGE in c.source for c in nb.cells) == 1
        assert sum("google.colab" in c.source for c in nb.cells) == 1
        text = "".join(c.source for c in nb.cells)
        assert "someone/course" not in text and "elsewhere/course2@0123abc" in text
        assert f"blob/0123abc/{path.parent.name}/00_x.ipynb" in text


@pytest.mark.parametrize(
    "repository, ref", [("no-slash", "v1"), ("a/b", ""), ("a/b", "--upgrade"), ("a/b c", "v1")]
)
def test_a_bad_setting_is_refused(tmp_path, repository, ref):
    root = _tiny_repo(tmp_path, repository, ref)
    with pytest.raises(ValueError, match=r"\[tool.course\]"):
        colab.load_setting(root)


def test_the_setup_cell_installs_only_what_colab_lacks():
    source = colab.setup_source(SETTING)
    install = [line for line in source.splitlines() if "%pip install" in line]
    assert install[0].strip() == f'%pip install -q --no-deps "{SETTING.pip_target()}"'
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    for dep in deps:
        name = Requirement(dep).name.lower()
        assert (name in colab.COLAB_PREINSTALLED) != (f'"{dep}"' in install[-1]), dep
    assert not any(n in " ".join(install[1:]) for n in ("torch", "numpy")), (
        "would touch Colab's torch or numpy"
    )


def test_the_setup_cell_does_nothing_off_colab_and_prints_the_device_and_threads(tmp_path):
    code = colab.setup_source(SETTING).replace("%pip", "raise SystemExit  # %pip")
    code += "\nimport torch; print(torch.get_num_threads())"
    env = {k: v for k, v in os.environ.items() if k != "COURSE_THREADS"}
    for given, expected in ((None, DEFAULT_THREADS), ("2", 2)):
        if given is not None:
            env["COURSE_THREADS"] = given
        result = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, env=env
        )
        assert result.returncode == 0, result.stderr
        lines = result.stdout.splitlines()
        assert len(lines) == 2 and re.fullmatch(
            rf"course_utils already installed; get_device\(\) picks (cpu|cuda|mps); {expected} CPU thread\(s\)",
            lines[0],
        ), result.stdout
        assert lines[1] == str(expected)  # torch really uses that many


def test_an_exercise_sheet_keeps_badge_setup_and_figures_and_opens_itself(tmp_path):
    root = _tiny_repo(tmp_path)
    colab.run(root)
    solution = nbformat.read(root / "lectures" / "00_x.ipynb", as_version=4)  # has all three
    solution.cells[0].source = solution.cells[0].source.replace("/lectures/", "/solutions/")
    sheet = exercises.make_exercise(solution)
    assert sheet.cells[0].source == SETTING._replace(repository="someone/course", ref="v9").badge(
        "exercises/00_x.ipynb"
    )
    assert sheet.cells[2].source == solution.cells[2].source and sheet.cells[3].attachments


# --------------------------------------------------------------------------- the course's notebooks


def test_the_course_notebooks_are_up_to_date():
    stale = colab.run(ROOT, check=True)
    assert not stale, f"run python tools/colab.py (then re-execute them): {[str(p) for p in stale]}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_notebook_has_its_badge_setup_and_no_link_into_img(path):
    nb = nbformat.read(path, as_version=4)
    relative = path.relative_to(ROOT).as_posix()
    assert nb.cells[0].id == colab.BADGE_ID and nb.cells[0].source == SETTING.badge(relative)
    assert sum(colab.BADGE_IMAGE in c.source for c in nb.cells) == 1, "one badge per notebook"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code[0].source == colab.setup_source(SETTING), "the first code cell is the setup cell"
    assert sum("google.colab" in c.source for c in code) == 1
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            assert "../img/" not in cell.source, "a figure linked into the repository: Colab will not show it"
            for name in re.findall(r"attachment:([\w.-]+)", cell.source):
                assert name in cell.get("attachments", {}), f"attachment:{name} is not attached"


def test_a_figure_whose_caption_holds_brackets_is_attached_too(tmp_path):
    (tmp_path / "fig.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    cell = nbformat.v4.new_markdown_cell("![The head reads the pooled [CLS]](../img/fig.png)\n\ntext")
    colab._embed_figures(cell, tmp_path, "a lecture")
    assert cell.source.startswith("![The head reads the pooled [CLS]](attachment:fig.png)")
    assert set(cell.attachments) == {"fig.png"}
