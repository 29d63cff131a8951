"""course_utils.env (the learner's environment check) and the install files it reads."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

from course_utils import env

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


def test_package_data_ships_with_the_package():
    setuptools_cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    shipped = setuptools_cfg["package-data"]["course_utils"]
    assert "assets/*" in shipped and "assets/**/*" in shipped and "DATA_CARD.md" in shipped
    assert (ROOT / "course_utils" / "assets" / "pretrained" / "model.safetensors").is_file()
    assert (ROOT / "course_utils" / "assets" / "tokenizer" / "tokenizer.json").is_file()


# --------------------------------------------------------------------------- the environment check


def test_the_command_runs_offline_and_prints_every_section():
    result = subprocess.run(
        [sys.executable, "-m", "course_utils.env"], capture_output=True, text=True, cwd=ROOT, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    for section in ("Versions (tested: requirements.txt)", "Machine", "Shipped assets", "Network"):
        assert f"\n{section}" in "\n" + out, f"section {section!r} missing from:\n{out}"
    for line in ("torch ", "transformers ", "device ", "cpu cores ", "torch threads ", "tokenizer "):
        assert line in out
    assert "loaded and ran with the network blocked" in out
    assert "MISSING" not in out and "PROBLEM" not in out


def test_tested_pins_reads_name_equals_version_lines(tmp_path):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("# a comment\nTorch==2.13.0  # pinned\n\nscikit-learn==1.9.1\nrich>=13\n-e .\n")
    assert env.tested_pins(requirements) == {"torch": "2.13.0", "scikit-learn": "1.9.1"}
    assert env.tested_pins(tmp_path / "absent.txt") == {} and env.tested_pins(None) == {}


def test_a_different_version_is_a_warning_not_a_failure(tmp_path, capsys):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(f"torch==0.0.1\nnumpy=={version('numpy')}\n")
    assert env.main(["--requirements", str(requirements), "--skip-offline"]) == 0
    out = capsys.readouterr().out
    assert "the course was tested with 0.0.1" in out and "tested with 0.0.1" in out
    assert "as tested" in out  # numpy
    assert "Ready to run the course (1 warning(s) above)." in out


def test_no_requirements_file_means_no_comparison(tmp_path):
    report = env.environment_report(tmp_path / "absent.txt", offline=False)
    assert report["requirements"] is None and not report["warnings"]
    assert report["packages"]["torch"] == {"installed": version("torch"), "tested": None}


def test_a_missing_asset_is_a_problem(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(env, "ASSETS", {**env.ASSETS, "tokenizer": tmp_path / "tokenizer.json"})
    assert env.main(["--skip-offline"]) == 1
    out = capsys.readouterr().out
    assert "tokenizer           MISSING" in out
    assert "PROBLEM: the shipped tokenizer is missing" in out and "Not ready: 1 problem(s)" in out


def test_a_missing_package_is_a_problem(monkeypatch):
    monkeypatch.setattr(env, "_course_dependencies", lambda: ["torch", "no-such-course-package"])
    report = env.environment_report(offline=False)
    assert report["packages"]["no-such-course-package"]["installed"] is None
    assert any("no-such-course-package is not installed" in p for p in report["problems"])


def test_network_blocked_refuses_connections_then_restores_everything(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    connect = socket.socket.connect
    with env.network_blocked():
        assert os.environ["HF_HUB_OFFLINE"] == "1"
        with pytest.raises(OSError, match="offline check blocked a network connection"):
            socket.create_connection(("127.0.0.1", 9), timeout=1)
    assert socket.socket.connect is connect and "HF_HUB_OFFLINE" not in os.environ


def test_a_load_that_needs_the_network_is_a_problem(monkeypatch):
    def load_from_the_hub(device=None):
        socket.create_connection(("127.0.0.1", 443), timeout=1)

    monkeypatch.setattr(env, "load_pretrained", load_from_the_hub)
    report = env.environment_report(offline=True)
    assert report["offline"].startswith("FAILED") and "blocked" in report["offline"]
    assert any("did not load offline" in p for p in report["problems"])


def test_a_bad_course_device_is_a_problem_not_a_crash(monkeypatch):
    monkeypatch.setenv("COURSE_DEVICE", "tpu")
    report = env.environment_report(offline=False)
    assert report["machine"]["device"] == "cpu"
    assert any("COURSE_DEVICE" in p for p in report["problems"])
