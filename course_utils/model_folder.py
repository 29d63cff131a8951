"""The model folder: ``config.json`` + ``model.safetensors``, the one format a course model is saved in.

``BertPreTrainedModel.save_pretrained`` writes a folder and ``from_pretrained`` reads one (any course
class into any other, as ``transformers`` does); the training checkpoints (:mod:`course_utils.checkpoint`)
store their model the same way. ``transformers`` loads these folders too. Nothing is unpickled.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from course_utils.model_config import BertConfig

__all__ = [
    "CONFIG_FILE",
    "WEIGHTS_FILE",
    "checked_state_dict",
    "load_model_folder",
    "read_model_folder",
    "save_model_folder",
]

# "course_utils.model": the loading messages belong to the models that log them
logger = logging.getLogger("course_utils.model")

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"


def save_model_folder(model: nn.Module, directory: str | Path) -> Path:
    """``save_pretrained``: ``config.json`` and ``model.safetensors``, each file replaced whole."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tied = model._tied_weights_keys
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items() if k not in tied}
    config = {"architectures": [type(model).__name__], "model_type": "bert", **model.config.to_dict()}
    # write to a temporary name, then rename: an interrupted save never leaves half a file behind
    save_file(tensors, str(directory / (WEIGHTS_FILE + ".tmp")), metadata={"format": "pt"})
    (directory / (CONFIG_FILE + ".tmp")).write_text(json.dumps(config, indent=2) + "\n")
    for name in (WEIGHTS_FILE, CONFIG_FILE):
        os.replace(directory / (name + ".tmp"), directory / name)
    return directory


def read_model_folder(directory: str | Path) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """The config (a dict, as in ``config.json``) and the weights of a model folder, as they are stored.

    The one place that reads a model folder: :meth:`nn.Module.from_pretrained` and the
    training checkpoints (:mod:`course_utils.checkpoint`) both come here. Nothing is unpickled.
    """
    if not isinstance(directory, (str, os.PathLike)):
        raise TypeError(f"directory must be a folder path (str or Path), got {type(directory).__name__}")
    config_file, weights_file = Path(directory) / CONFIG_FILE, Path(directory) / WEIGHTS_FILE
    if not config_file.is_file() or not weights_file.is_file():
        raise FileNotFoundError(
            f"{directory} is not a model folder: it needs {CONFIG_FILE} and {WEIGHTS_FILE} "
            "(save one with model.save_pretrained(folder))"
        )
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{config_file} is not valid JSON ({e}); save the model again") from e
    if not isinstance(config, dict):
        raise ValueError(f"{config_file} must hold a JSON object of fields, got {type(config).__name__}")
    try:
        return config, load_file(str(weights_file))
    except SafetensorError as e:  # a copy cut short, or another format (a pickled .bin) under this name
        raise ValueError(
            f"{weights_file} is not a complete safetensors file ({e}); save the model again"
        ) from e


def load_model_folder(
    cls: type[nn.Module],
    directory: str | Path,
    output_loading_info: bool,
    config_overrides: Mapping[str, Any],
):
    """``from_pretrained``: build ``cls`` from the folder's config, then load the weights that fit it."""
    saved_config, weights = read_model_folder(directory)
    try:
        config = BertConfig.from_dict(saved_config)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{Path(directory) / CONFIG_FILE}: {e}") from e
    model = cls(replace(config, **config_overrides))  # a name that is not a field: TypeError naming it
    weights = _upgrade_state_dict(_match_prefix(weights, model), model._tied_weights_keys)
    own = model.state_dict()
    missing = [k for k in own if k not in weights and k not in model._tied_weights_keys]
    unexpected = [k for k in weights if k not in own]
    prefix = model.base_model_prefix + "."
    lacking = [k for k in missing if k.removeprefix(prefix).startswith(("embeddings.", "encoder."))]
    if lacking:
        raise ValueError(
            f"{directory} lacks encoder weights of {cls.__name__} ({len(lacking)}): {_short_list(lacking)}; "
            "is it a BERT model folder (saved by save_pretrained)?"
        )
    model.load_state_dict({k: v for k, v in weights.items() if k in own}, strict=False)
    if missing:
        logger.info("%s: newly initialised (not in %s): %s", cls.__name__, directory, _short_list(missing))
    if unexpected:
        logger.info("%s: not used from %s: %s", cls.__name__, directory, _short_list(unexpected))
    if output_loading_info:
        return model, {"missing_keys": missing, "unexpected_keys": unexpected}
    return model


def _match_prefix(weights: dict[str, torch.Tensor], model: nn.Module) -> dict[str, torch.Tensor]:
    """Name the folder's weights as the model does: ``bert.*`` in a task model, no prefix in a BertModel."""
    prefix = model.base_model_prefix + "."
    model_has = any(k.startswith(prefix) for k in model.state_dict())
    folder_has = any(k.startswith(prefix) for k in weights)
    if folder_has and not model_has:  # a task model's folder into a BertModel: its heads go unused
        return {k.removeprefix(prefix): v for k, v in weights.items()}
    if model_has and not folder_has:  # a BertModel's folder into a task model
        return {prefix + k: v for k, v in weights.items()}
    return weights


def checked_state_dict(
    model: nn.Module, state_dict: Mapping[str, torch.Tensor], strict: bool
) -> dict[str, torch.Tensor]:
    """``load_state_dict``'s checks: old names upgraded, differing keys (if strict) and shapes listed."""
    if not isinstance(state_dict, Mapping):
        raise TypeError(
            f"state_dict must be a dict of tensors, got {type(state_dict).__name__}: pass .state_dict()"
        )
    state_dict = _upgrade_state_dict(dict(state_dict), model._tied_weights_keys)
    own = model.state_dict()
    if strict:
        missing = sorted(set(own) - set(state_dict))
        unexpected = sorted(set(state_dict) - set(own))
        if missing or unexpected:
            raise KeyError(
                f"state dict does not match {type(model).__name__}:\n"
                f"  missing keys ({len(missing)}): {_short_list(missing)}\n"
                f"  unexpected keys ({len(unexpected)}): {_short_list(unexpected)}\n"
                "Load a checkpoint of the same class (a BertModel's weights have no 'bert.' prefix and no "
                "heads), use from_pretrained(folder) to load another class's folder, or pass strict=False "
                "to load only the matching keys."
            )
    wrong = [
        f"{k}: checkpoint {tuple(v.shape)} vs model {tuple(own[k].shape)}"
        for k, v in state_dict.items()
        if k in own and v.shape != own[k].shape
    ]
    if wrong:
        raise ValueError(
            "the checkpoint was made with a different config; shapes differ for "
            f"{len(wrong)} tensors: {_short_list(wrong)}. Build the model from the checkpoint's config."
        )
    return state_dict


def _upgrade_state_dict(sd: dict[str, torch.Tensor], tied: Mapping[str, str]) -> dict[str, torch.Tensor]:
    """Today's names for older checkpoints' keys, without the buffers we rebuild, with the tied keys."""
    out = {}
    for key, value in sd.items():
        if key.endswith(("embeddings.position_ids", "embeddings.token_type_ids")):
            continue  # buffers that older checkpoints saved
        if key.endswith("LayerNorm.gamma"):
            key = key.removesuffix("gamma") + "weight"
        elif key.endswith("LayerNorm.beta"):
            key = key.removesuffix("beta") + "bias"
        out[key] = value
    for key, source in tied.items():
        if key not in out and source in out:
            out[key] = out[source]
    return out


def _short_list(items: list[str], limit: int = 8) -> str:
    shown = ", ".join(items[:limit])
    return (shown + f", ... (+{len(items) - limit} more)") if len(items) > limit else (shown or "none")
