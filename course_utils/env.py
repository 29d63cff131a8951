"""Can this machine run the course? ``python -m course_utils.env``, or ``check_environment()`` in a notebook.

The report has four parts:

- **versions**: Python and every package the course uses, compared with the tested pins of
  ``requirements.txt`` when the repository is at hand. A different version is a warning, not a failure:
  Colab brings its own torch, and a newer one usually works.
- **machine**: the device the course will use (CUDA, Apple MPS or CPU), the GPU's name, CPU cores and
  torch threads (:func:`course_utils.utils.machine_description`).
- **assets**: the files shipped inside ``course_utils``: the tokenizer, the pretrained checkpoint, the
  data card.
- **network**: the shipped tokenizer and pretrained model load, and run one sentence, with every internet
  connection blocked: the course never needs the network once it is installed.

A missing package or asset, or a load that fails, is a problem: the command then exits with status 1.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import re
import socket
import sys
from collections.abc import Iterator, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

import torch

from course_utils.pretrain import PRETRAINED_DIR, load_pretrained
from course_utils.tokenizer import TOKENIZER_DIR, load_tokenizer
from course_utils.utils import machine_description

__all__ = [
    "ASSETS",
    "REQUIREMENTS",
    "check_environment",
    "environment_report",
    "format_report",
    "main",
    "network_blocked",
    "tested_pins",
]

PACKAGE_DIR = Path(__file__).resolve().parent
# The repository's pins; absent when course_utils was installed without the repository (e.g. on Colab)
REQUIREMENTS = PACKAGE_DIR.parent / "requirements.txt"
ASSETS = {
    "tokenizer": TOKENIZER_DIR / "tokenizer.json",
    "pretrained model": PRETRAINED_DIR / "model.safetensors",
    "pretrained config": PRETRAINED_DIR / "config.json",
    "data card": PACKAGE_DIR / "DATA_CARD.md",
}
# Read by huggingface_hub and transformers: set during the offline check, in case a library looks at them
_OFFLINE_VARIABLES = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
_PIN = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([^\s;#]+)")


def tested_pins(requirements: str | Path | None = REQUIREMENTS) -> dict[str, str]:
    """The ``name==version`` pins of a requirements file, names lower-cased; empty if there is no file.

    No file is normal where course_utils was installed without the repository (as on Colab).
    """
    if requirements is None or not Path(requirements).is_file():
        return {}
    path = Path(requirements)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{path} is not a text file (not UTF-8); give a requirements.txt file") from None
    pins = {}
    for line in text.splitlines():
        match = _PIN.match(line)
        if match:
            pins[match.group(1).lower()] = match.group(2)
    return pins


def _course_dependencies() -> list[str]:
    """The runtime dependencies of the installed course_utils (not its ``dev`` extras), lower-cased."""
    try:
        requires = metadata.requires("course_utils") or []
    except metadata.PackageNotFoundError:  # running from a checkout that was never pip-installed
        return []
    names = []
    for requirement in requires:
        if "extra ==" in requirement:
            continue
        names.append(re.split(r"[\s<>=!~;\[(]", requirement, maxsplit=1)[0].lower())
    return names


def _installed_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


@contextlib.contextmanager
def network_blocked() -> Iterator[None]:
    """Inside the block any internet connection raises ``OSError``; on exit everything is restored.

    Loading something inside the block proves it needs no network, whatever the libraries' own offline
    settings say. Local (Unix-socket) connections, such as a notebook kernel's, are left alone.
    """
    original_connect, original_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def refuse(connect):
        def guarded(sock: socket.socket, address: Any) -> Any:
            if isinstance(address, tuple):  # (host, port): an internet address
                raise OSError(f"the offline check blocked a network connection to {address}")
            return connect(sock, address)

        return guarded

    saved = {name: os.environ.get(name) for name in _OFFLINE_VARIABLES}
    os.environ.update(dict.fromkeys(_OFFLINE_VARIABLES, "1"))
    socket.socket.connect = refuse(original_connect)
    socket.socket.connect_ex = refuse(original_connect_ex)
    try:
        yield
    finally:
        socket.socket.connect, socket.socket.connect_ex = original_connect, original_connect_ex
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _load_offline() -> str:
    """Load the shipped tokenizer and model with the network blocked and run one sentence; say what ran."""
    with network_blocked(), torch.no_grad():
        tokenizer = load_tokenizer()
        model, _ = load_pretrained(device="cpu")
        encoded = tokenizer("the fox found a red ball", return_tensors="pt")
        logits = model(encoded["input_ids"], attention_mask=encoded["attention_mask"]).prediction_logits
    T = encoded["input_ids"].shape[1]
    if tuple(logits.shape) != (1, T, model.config.vocab_size):  # (B, T, V)
        raise RuntimeError(f"the pretrained model returned logits of shape {tuple(logits.shape)}")
    return f"tokenizer ({len(tokenizer)} tokens) and pretrained model loaded and ran with the network blocked"


def environment_report(
    requirements: str | Path | None = REQUIREMENTS,
    assets: Mapping[str, Path] | None = None,
    offline: bool = True,
) -> dict[str, Any]:
    """Collect what matters when the course does not run on a machine; print it with :func:`format_report`.

    Args:
        requirements: the requirements file whose pins are the tested versions (skipped if it is absent).
        assets: the files that must ship with the package, by name (default :data:`ASSETS`).
        offline: also load the shipped tokenizer and model with the network blocked (about a second).

    Returns:
        A dict: ``python`` (its version), ``packages`` (name -> ``{"installed", "tested"}``, ``None`` where
        unknown), ``machine`` (:func:`~course_utils.utils.machine_description`), ``assets`` (name ->
        ``{"path", "present"}``), ``offline`` (what the offline load did, or ``None`` if skipped),
        ``requirements`` (the pins' file or ``None``), ``warnings`` and ``problems`` (lists of sentences).
    """
    pins = tested_pins(requirements)
    runtime = _course_dependencies()
    warnings: list[str] = []
    problems: list[str] = []

    packages: dict[str, dict[str, str | None]] = {}
    for name in [*runtime, *(n for n in pins if n not in runtime)]:
        installed, tested = _installed_version(name), pins.get(name)
        packages[name] = {"installed": installed, "tested": tested}
        if installed is None:
            message = f"{name} is not installed: pip install {name} (or pip install -r requirements.txt)"
            (problems if name in runtime else warnings).append(message)
        elif tested is not None and installed.split("+")[0] != tested:
            warnings.append(f"{name} {installed} is installed; the course was tested with {tested}")

    found = {}
    for label, path in (ASSETS if assets is None else assets).items():
        found[label] = {"path": str(path), "present": Path(path).is_file()}
        if not found[label]["present"]:
            problems.append(f"the shipped {label} is missing ({path}): reinstall course_utils")

    loaded = None
    if offline:
        try:
            loaded = _load_offline()
        except Exception as err:  # any failure is reported: this is the check that tells the learner
            loaded = f"FAILED: {type(err).__name__}: {err}"
            problems.append(f"the shipped tokenizer and model did not load offline: {err}")

    try:
        machine = machine_description()
    except (ValueError, RuntimeError) as err:  # COURSE_DEVICE names a device this machine lacks
        problems.append(str(err))  # the message names the variable
        machine = machine_description("cpu")

    return {
        "python": platform.python_version(),
        "packages": packages,
        "machine": machine,
        "assets": found,
        "offline": loaded,
        "requirements": str(requirements) if pins else None,
        "warnings": warnings,
        "problems": problems,
    }


def format_report(report: Mapping[str, Any]) -> str:
    """The report of :func:`environment_report` as text, one section per part."""
    lines = [
        "Versions" + (" (tested: requirements.txt)" if report["requirements"] else " (no pins to compare)")
    ]
    lines.append(f"  {'python':<16}{report['python']}")
    for name, v in report["packages"].items():
        installed, tested = v["installed"] or "not installed", v["tested"]
        if tested is None:
            verdict = ""
        elif installed.split("+")[0] == tested:
            verdict = "as tested"
        else:
            verdict = f"tested with {tested}"
        lines.append(f"  {name:<16}{installed:<18}{verdict}".rstrip())

    machine = report["machine"]
    lines += ["", "Machine"]
    lines.append(f"  {'device':<16}{machine['device']}")
    lines.append(f"  {'gpu':<16}{machine.get('gpu', 'none')}")
    lines.append(f"  {'cpu cores':<16}{machine['cpu_count']}")
    lines.append(f"  {'torch threads':<16}{machine['torch_threads']}")
    lines.append(f"  {'platform':<16}{machine['platform']} ({machine['processor']})")

    lines += ["", "Shipped assets"]
    for label, asset in report["assets"].items():
        lines.append(f"  {label:<20}{'present' if asset['present'] else 'MISSING'}")

    lines += ["", "Network"]
    lines.append(f"  {report['offline'] or 'not checked'}")

    lines += [""]
    lines += [f"warning: {w}" for w in report["warnings"]]
    lines += [f"PROBLEM: {p}" for p in report["problems"]]
    if report["problems"]:
        lines.append(f"Not ready: {len(report['problems'])} problem(s) above.")
    else:
        note = f" ({len(report['warnings'])} warning(s) above)" if report["warnings"] else ""
        lines.append(f"Ready to run the course{note}.")
    return "\n".join(lines)


def check_environment(requirements: str | Path | None = REQUIREMENTS, offline: bool = True) -> dict[str, Any]:
    """Print the environment report (versions, machine, shipped assets, network) and return its data.

    Args:
        requirements: the requirements file with the tested pins (skipped if it is absent).
        offline: also prove that the shipped tokenizer and model load without the network.

    Returns:
        The dict of :func:`environment_report`.
    """
    report = environment_report(requirements, offline=offline)
    print(format_report(report))
    return report


def main(argv: list[str] | None = None) -> int:
    """``python -m course_utils.env``: print the report; exit 1 if there is a problem (warnings are fine)."""
    parser = argparse.ArgumentParser(prog="python -m course_utils.env", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--requirements",
        default=REQUIREMENTS,
        help="requirements file with the tested pins (default: the repository's)",
    )
    parser.add_argument("--skip-offline", action="store_true", help="do not load the shipped model")
    args = parser.parse_args(argv)
    if Path(args.requirements) != REQUIREMENTS and not Path(args.requirements).is_file():
        parser.error(f"--requirements {args.requirements}: no such file")  # a typo, not a missing repository
    try:
        tested_pins(args.requirements)
    except ValueError as err:
        parser.error(f"--requirements: {err}")
    report = check_environment(args.requirements, offline=not args.skip_offline)
    return 1 if report["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
