"""The install files agree with each other and with what is installed."""

from __future__ import annotations

import tomllib
from importlib.metadata import version
from pathlib import Path

import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]


def _pins(lines: list[str]) -> dict[str, str]:
    pins = {}
    for line in lines:
        line = line.split("#")[0].strip()
        if not line or line.startswith("-e"):
            continue
        req = Requirement(line)
        (spec,) = req.specifier
        assert spec.operator == "==", f"{line}: requirements must be pinned with =="
        pins[req.name.lower()] = spec.version
    return pins


def requirements() -> dict[str, str]:
    return _pins((ROOT / "requirements.txt").read_text().splitlines())


def test_environment_yml_parses_and_lists_the_same_packages():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert env["name"] and "pip" in env["dependencies"]
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    assert _pins(pip_section) == requirements()
    assert "-e ." in pip_section
    assert (ROOT / "requirements.txt").read_text().splitlines()[-1] == "-e ."


def test_torch_is_pinned_for_cpu_wheels_and_loose_in_pyproject():
    assert requirements()["torch"] == "2.13.0"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    deps = {Requirement(d).name.lower(): Requirement(d) for d in project["dependencies"]}
    assert str(deps["torch"].specifier).startswith(">="), "pyproject must leave torch loose for Colab"
    # every runtime dependency of the package is pinned in requirements.txt
    assert set(deps) <= set(requirements())
    # the pinned versions satisfy the package's own bounds
    for name, req in deps.items():
        assert req.specifier.contains(requirements()[name]), name


def test_installed_versions_are_the_pinned_ones():
    for name, pinned in requirements().items():
        installed = version(name).split("+")[0]
        assert installed == pinned, f"{name} {installed} is installed but requirements.txt pins {pinned}"


def test_package_data_ships_with_the_package():
    setuptools_cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    shipped = setuptools_cfg["package-data"]["course_utils"]
    assert "assets/*" in shipped and "assets/**/*" in shipped and "DATA_CARD.md" in shipped
    assert (ROOT / "course_utils" / "assets" / "pretrained" / "model.safetensors").is_file()
    assert (ROOT / "course_utils" / "assets" / "tokenizer" / "tokenizer.json").is_file()
