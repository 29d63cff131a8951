"""Save and load training checkpoints with safetensors and JSON only: loading never unpickles anything.

A checkpoint is a folder:

* the model: for a course model, exactly the model folder ``model.save_pretrained`` writes
  (``config.json`` + ``model.safetensors``), so ``BertForPreTraining.from_pretrained(folder)`` also works;
  for any other ``nn.Module`` (a notebook's own model, an LSTM), only its weights in ``model.safetensors``
  (``safetensors.torch.save_model``): build the model yourself and pass it to :func:`load_checkpoint`;
* the training state, which this module writes: ``optimizer.safetensors`` (the optimizer's state tensors,
  e.g. Adam's moments, flattened to ``state.<param index>.<name>``) and ``trainer_state.json`` (the step,
  the model's class, the optimizer's hyper-parameters, the scheduler's state, the random states of
  Python, NumPy, torch CPU and CUDA, the training history and any extra JSON).

``torch.save`` would be shorter, but ``torch.load`` of a pickle can run arbitrary code; a course that asks
learners to load files they download should not teach that habit.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, load_model, save_file, save_model
from torch import nn

from course_utils.history import History
from course_utils.model import TASK_MODELS, BertPreTrainedModel
from course_utils.model_folder import read_model_folder

__all__ = [
    "Checkpoint",
    "get_rng_state",
    "has_checkpoint",
    "load_checkpoint",
    "save_checkpoint",
    "set_rng_state",
]

MODEL_FILE = "model.safetensors"  # the name save_pretrained gives the weights, for every model here
OPTIMIZER_FILE = "optimizer.safetensors"
STATE_FILE = "trainer_state.json"

# Config fields that change how a model trains or runs, not which weights it has: a checkpoint may be
# loaded into a model that differs in these (e.g. dropout switched off for evaluation).
_RUNTIME_FIELDS = {
    "hidden_dropout_prob",
    "attention_probs_dropout_prob",
    "classifier_dropout",
    "attn_implementation",
    "initializer_range",
}


# Random state as JSON -------------------------------------------------------------------------------


def _b64(t: torch.Tensor) -> str:
    return base64.b64encode(t.cpu().numpy().tobytes()).decode("ascii")


def _unb64(s: str) -> torch.Tensor:
    return torch.frombuffer(bytearray(base64.b64decode(s)), dtype=torch.uint8).clone()


def get_rng_state() -> dict[str, Any]:
    """Every random state a training run uses (Python, NumPy, torch CPU, every CUDA device), as JSON data."""
    version, internal, gauss = random.getstate()
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state = {
        "python": [version, list(internal), gauss],
        "numpy": [kind, keys.tolist(), int(pos), int(has_gauss), float(cached)],
        "torch": _b64(torch.get_rng_state()),
        "cuda": [_b64(s) for s in torch.cuda.get_rng_state_all()] if torch.cuda.is_available() else [],
    }
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`get_rng_state` returned."""
    try:
        version, internal, gauss = state["python"]
        python = (version, tuple(internal), gauss)
        kind, keys, pos, has_gauss, cached = state["numpy"]
        numpy = (kind, np.array(keys, dtype=np.uint32), pos, has_gauss, cached)
        torch_state = _unb64(state["torch"])
    except (KeyError, TypeError, ValueError) as err:
        raise ValueError(
            f"not a random state written by get_rng_state() ({type(err).__name__}: {err}); pass "
            "checkpoint.rng_state from load_checkpoint"
        ) from None
    random.setstate(python)
    np.random.set_state(numpy)
    torch.set_rng_state(torch_state)
    cuda = state.get("cuda") or []
    if cuda and torch.cuda.is_available():
        if len(cuda) != torch.cuda.device_count():
            raise ValueError(
                f"the checkpoint saved the random state of {len(cuda)} CUDA devices, this machine has "
                f"{torch.cuda.device_count()}; the run cannot resume exactly"
            )
        torch.cuda.set_rng_state_all([_unb64(s) for s in cuda])


# Writing --------------------------------------------------------------------------------------------


def _write_atomic(path: Path, write) -> None:
    """Write via a temporary file and rename it, so a crash never leaves half a file behind."""
    tmp = path.with_name(path.name + ".tmp")
    write(tmp)
    os.replace(tmp, path)


def _json_default(value: Any) -> Any:
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return value.item()
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    if isinstance(value, (set, tuple)):
        return list(value)
    raise TypeError(f"cannot store {type(value).__name__} {value!r} in a JSON checkpoint")


def _fingerprint(path: Path) -> str:
    """The SHA-256 of a file: the state file records its companions', so a half-done save is detected."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _dump_json(path: Path, data: Any) -> None:
    _write_atomic(path, lambda p: p.write_text(json.dumps(data, indent=1, default=_json_default) + "\n"))


def _save_model(directory: Path, model: nn.Module) -> None:
    if isinstance(model, BertPreTrainedModel):
        model.save_pretrained(directory)  # the model folder: the one format of a course model
    else:  # any other module: its weights only (save_model stores shared tensors once)
        _write_atomic(directory / MODEL_FILE, lambda p: save_model(model, str(p), metadata={"format": "pt"}))


def _flatten_optimizer(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Split ``optimizer.state_dict()`` into tensors (for safetensors) and the rest (for JSON)."""
    sd = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    other_state: dict[str, dict[str, Any]] = {}
    for idx, param_state in sd["state"].items():
        for name, value in param_state.items():
            if isinstance(value, torch.Tensor):
                tensors[f"state.{idx}.{name}"] = value.detach().cpu().contiguous()
            else:
                other_state.setdefault(str(idx), {})[name] = value
    groups = []
    for i, group in enumerate(sd["param_groups"]):
        g = {}
        for name, value in group.items():
            if isinstance(value, torch.Tensor):  # e.g. a tensor learning rate
                tensors[f"param_groups.{i}.{name}"] = value.detach().cpu().contiguous()
                g[name] = {"__tensor__": f"param_groups.{i}.{name}"}
            else:
                g[name] = value
        groups.append(g)
    return tensors, {"type": type(optimizer).__name__, "param_groups": groups, "state": other_state}


def save_checkpoint(
    path_dir: str | Path,
    model: nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: Any | None = None,
    step: int = 0,
    history: History | None = None,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Save everything needed to resume training into the folder ``path_dir`` (created if needed).

    Args:
        path_dir: the checkpoint folder; files already there are replaced one by one.
        model: the model; a course model is saved with ``save_pretrained``, any other module's weights
            with ``safetensors.torch.save_model``.
        optimizer, scheduler: their states, if given.
        step: the number of optimizer steps done so far.
        history: a :class:`course_utils.history.History` (or anything with ``to_dict()``).
        extra: any JSON-serialisable data to keep with the checkpoint.

    Returns:
        The folder's path.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got a {type(model).__name__}")
    if optimizer is not None and not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer, got a {type(optimizer).__name__}")
    if scheduler is not None and not callable(getattr(scheduler, "state_dict", None)):
        raise TypeError(f"scheduler must be a learning-rate scheduler, got a {type(scheduler).__name__}")
    if isinstance(step, bool) or not isinstance(step, (int, np.integer)) or step < 0:
        raise ValueError(f"step={step!r} must be a non-negative integer (the optimizer steps done)")
    if extra is not None and not isinstance(extra, dict):
        raise TypeError(f"extra must be a dict of JSON data, got a {type(extra).__name__}")
    directory = Path(path_dir)
    if directory.exists() and not directory.is_dir():
        raise FileExistsError(f"{directory} is a file; a checkpoint is a folder: choose another path")
    directory.mkdir(parents=True, exist_ok=True)
    state: dict[str, Any] = {
        "step": int(step),
        "model_class": type(model).__name__,
        "rng": get_rng_state(),
        "extra": extra or {},
    }
    if history is not None:
        state["history"] = history.to_dict() if hasattr(history, "to_dict") else history
    if scheduler is not None:
        state["scheduler"] = scheduler.state_dict()
        state["scheduler_class"] = type(scheduler).__name__
    # fail on data JSON cannot hold before any file is replaced, so a bad call leaves the old checkpoint whole
    json.dumps(state, default=_json_default)
    _save_model(directory, model)
    files = {MODEL_FILE: _fingerprint(directory / MODEL_FILE)}
    if optimizer is not None:
        tensors, rest = _flatten_optimizer(optimizer)
        _write_atomic(directory / OPTIMIZER_FILE, lambda p: save_file(tensors, str(p)))
        state["optimizer"] = rest
        files[OPTIMIZER_FILE] = _fingerprint(directory / OPTIMIZER_FILE)
    state["files"] = files
    _dump_json(directory / STATE_FILE, state)  # written last: its presence marks a complete checkpoint
    return directory


# Reading --------------------------------------------------------------------------------------------


@dataclass
class Checkpoint:
    """What :func:`load_checkpoint` returns."""

    model: nn.Module
    step: int
    history: History | None  # if one was saved
    extra: dict[str, Any] = field(default_factory=dict)
    rng_state: dict[str, Any] | None = None  # pass to set_rng_state to continue the same random streams


def has_checkpoint(path_dir: str | Path) -> bool:
    """True if ``path_dir`` holds a complete checkpoint written by :func:`save_checkpoint`."""
    directory = Path(path_dir)
    return (directory / STATE_FILE).is_file() and (directory / MODEL_FILE).is_file()


def _read_state(directory: Path) -> dict[str, Any]:
    """``trainer_state.json``, checked: a clear error that names the file when it is damaged."""
    path = directory / STATE_FILE
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(
            f"{path} is damaged (not valid JSON: {err}); the checkpoint cannot be resumed: use an earlier copy "
            "or start a new run in another folder"
        ) from None
    if not isinstance(state, dict) or not isinstance(state.get("step"), int) or "model_class" not in state:
        raise ValueError(
            f"{path} is not a training state written by save_checkpoint (it needs 'step' and 'model_class')"
        )
    return state


def _check_files(directory: Path, state: dict[str, Any]) -> None:
    """The model and optimizer files must be the ones the state file was written with."""
    for name, expected in (state.get("files") or {}).items():  # absent in checkpoints of older versions
        path = directory / name
        if path.is_file() and _fingerprint(path) != expected:
            raise ValueError(
                f"{path} is not the file {STATE_FILE} was saved with (step {state['step']}): a save was "
                "interrupted after rewriting it, or the file was damaged or cut short since; resume from "
                "another copy of the checkpoint, or delete the folder and start again"
            )


def _reading(path: Path, read: Callable[[], Any]) -> Any:
    """Run ``read()``; if ``path`` turns out not to be a complete safetensors file, say which file it is.

    For the files only this module reads (a plain module's weights, the optimizer state); a model
    folder's reader, :func:`course_utils.model_folder.read_model_folder`, names a damaged file itself.
    """
    try:
        return read()
    except SafetensorError as err:
        raise ValueError(
            f"{path} is not a complete safetensors file ({err}); it may be truncated (an interrupted "
            "copy or save) or another format: save the checkpoint again or use an earlier copy"
        ) from None


def _check_same_class(saved_class: str, model: nn.Module, directory: Path) -> None:
    if saved_class != type(model).__name__:
        raise ValueError(
            f"the checkpoint in {directory} holds a {saved_class}, but the model is a {type(model).__name__}; "
            f"build a {saved_class} to resume it (to start a new task from pretrained weights, load the "
            "encoder with from_pretrained instead)"
        )


def _check_same_config(saved: dict[str, Any], model: BertPreTrainedModel, directory: Path) -> None:
    """Name the config fields that differ, rather than the tensor shapes they change."""
    current = model.config.to_dict()
    differ = [
        f"{k}: checkpoint {saved[k]!r} vs model {current[k]!r}"
        for k in sorted(set(saved) & set(current))
        if k not in _RUNTIME_FIELDS and saved[k] != current[k]
    ]
    if differ:
        raise ValueError(
            f"the checkpoint in {directory} was made with a different config; these fields differ: "
            + "; ".join(differ)
            + ". Build the model from the checkpoint's config (load_checkpoint(path) with model=None does)."
        )


def _load_model(directory: Path, saved_class: str, model: nn.Module | None) -> nn.Module:
    """The checkpoint's model: a course model from its folder, or the weights loaded into ``model``."""
    if model is None:
        if saved_class not in TASK_MODELS:
            raise ValueError(
                f"the checkpoint in {directory} holds a {saved_class!r}, which load_checkpoint cannot build "
                "by itself; build the model and pass it as model="
            )
        return TASK_MODELS[saved_class].from_pretrained(directory)  # names a damaged file itself
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module (or None), got a {type(model).__name__}")
    _check_same_class(saved_class, model, directory)
    if isinstance(model, BertPreTrainedModel):
        config, weights = read_model_folder(directory)  # names a damaged file itself
        _check_same_config(config, model, directory)
        model.load_state_dict(weights)
    else:  # its weights alone were saved; load_model checks their names and shapes
        path = directory / MODEL_FILE
        _reading(path, lambda: load_model(model, str(path), strict=True))
    return model


def _load_optimizer(optimizer: torch.optim.Optimizer, directory: Path, saved: dict[str, Any]) -> None:
    if not (directory / OPTIMIZER_FILE).is_file():
        raise FileNotFoundError(f"{directory} has no {OPTIMIZER_FILE}: it was saved without an optimizer")
    if saved.get("type") != type(optimizer).__name__:
        raise ValueError(
            f"the checkpoint's optimizer is a {saved.get('type')}, this one is a {type(optimizer).__name__}"
        )
    path = directory / OPTIMIZER_FILE
    tensors = _reading(path, lambda: load_file(str(path)))
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        kind, idx, name = key.split(".", 2)
        if kind == "state":
            state.setdefault(int(idx), {})[name] = value
    for idx, rest in saved["state"].items():
        state.setdefault(int(idx), {}).update(rest)
    groups = []
    for group in saved["param_groups"]:
        g = {}
        for name, value in group.items():
            if isinstance(value, dict) and "__tensor__" in value:
                value = tensors[value["__tensor__"]]
            elif name == "betas":
                value = tuple(value)
            g[name] = value
        groups.append(g)
    if len(groups) != len(optimizer.param_groups) or any(
        len(a["params"]) != len(b["params"]) for a, b in zip(groups, optimizer.param_groups)
    ):
        raise ValueError(
            "the checkpoint's optimizer has parameter groups of sizes "
            f"{[len(g['params']) for g in groups]}, this optimizer has "
            f"{[len(g['params']) for g in optimizer.param_groups]}; build it the same way (same model, "
            "same frozen parameters)"
        )
    optimizer.load_state_dict({"state": state, "param_groups": groups})


def load_checkpoint(
    path_dir: str | Path,
    model: nn.Module | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: Any | None = None,
    device: torch.device | str | None = None,
) -> Checkpoint:
    """Load a checkpoint written by :func:`save_checkpoint` (safetensors and JSON only, no pickle).

    Args:
        path_dir: the checkpoint folder.
        model: load the weights into this model (same class; for a course model, the same config). With
            None, a course model of the saved class is built from the saved folder (``from_pretrained``);
            any other module must be given.
        optimizer, scheduler: restore their states too, if given.
        device: move a model built here to this device.

    Returns:
        A :class:`Checkpoint` with the model, step, history, extra data and the saved random state (not
        applied: call :func:`set_rng_state` when the run should continue the same random streams).
    """
    directory = Path(path_dir)
    if not has_checkpoint(directory):
        raise FileNotFoundError(
            f"{directory} is not a checkpoint folder (it needs {MODEL_FILE} and {STATE_FILE}); "
            "save one with save_checkpoint or train(..., checkpoint_dir=...)"
        )
    state = _read_state(directory)
    _check_files(directory, state)
    built_here = model is None
    model = _load_model(directory, state["model_class"], model)
    if built_here and device is not None:
        model.to(device)
    if optimizer is not None:
        if "optimizer" not in state:
            raise ValueError(f"the checkpoint in {directory} has no optimizer state")
        _load_optimizer(optimizer, directory, state["optimizer"])
    if scheduler is not None:
        if "scheduler" not in state:
            raise ValueError(f"the checkpoint in {directory} has no scheduler state")
        saved_class = state.get("scheduler_class", type(scheduler).__name__)  # absent in older checkpoints
        if saved_class != type(scheduler).__name__:
            raise ValueError(
                f"the checkpoint's scheduler is a {saved_class}, this one is a {type(scheduler).__name__}"
            )
        scheduler.load_state_dict(state["scheduler"])
    try:
        history = History.from_dict(state["history"]) if "history" in state else None
    except (TypeError, ValueError) as err:
        raise ValueError(f"the history in {directory / STATE_FILE} is damaged: {err}") from None
    return Checkpoint(
        model=model,
        step=int(state["step"]),
        history=history,
        extra=state.get("extra", {}),
        rng_state=state.get("rng"),
    )
