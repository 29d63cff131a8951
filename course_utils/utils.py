"""Small helpers every notebook uses: device choice, seeding, mixed precision, showing source."""

from __future__ import annotations

import contextlib
import inspect
import os
import platform
import random
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

_DEVICE_ENV = "COURSE_DEVICE"
_KNOWN_DEVICES = ("cuda", "mps", "cpu")


def get_device(override: str | None = None) -> torch.device:
    """Pick the device to train on: CUDA, then Apple MPS, then CPU.

    Args:
        override: ``"cuda"``, ``"cuda:1"``, ``"mps"`` or ``"cpu"`` to force a choice. When ``None``,
            the ``COURSE_DEVICE`` environment variable is used if it is set.

    Returns:
        The chosen ``torch.device``.
    """
    choice = override if override is not None else os.environ.get(_DEVICE_ENV)
    if choice:
        kind = choice.split(":")[0]
        if kind not in _KNOWN_DEVICES:
            raise ValueError(f"device {choice!r} is not one of {_KNOWN_DEVICES} (optionally 'cuda:N')")
        if kind == "cuda" and not torch.cuda.is_available():
            raise RuntimeError(f"device {choice!r} was asked for but CUDA is not available; use 'cpu'")
        if kind == "mps" and not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
            raise RuntimeError(f"device {choice!r} was asked for but MPS is not available; use 'cpu'")
        return torch.device(choice)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if hasattr(torch.backends, "mps") and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def check_seed(seed: Any, name: str = "seed") -> int:
    """Return ``seed`` if it is a usable seed (a non-negative int, not a bool), else raise a clear error.

    Every function of the course that takes a seed checks it here, so they all accept the same values.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"{name}={seed!r} must be a non-negative integer, e.g. {name}=0")
    return int(seed)


def set_seed(seed: int = 0) -> None:
    """Seed Python, NumPy and PyTorch (all devices) so that runs repeat."""
    seed = check_seed(seed)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device


def autocast(device: torch.device | str) -> contextlib.AbstractContextManager:
    """Mixed precision where it is safe and fast: bf16 autocast on CUDA, nothing elsewhere.

    Use as ``with autocast(device): loss = model(**batch).loss``. On CPU and MPS this is a no-op
    context, so the same code runs everywhere.
    """
    device = torch.device(device)
    if device.type == "cuda":
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def model_device(model: torch.nn.Module) -> torch.device:
    """The device of a model's parameters (the CPU for a model without parameters)."""
    for p in model.parameters():
        return p.device
    return torch.device("cpu")


@contextlib.contextmanager
def eval_mode(model: torch.nn.Module) -> Iterator[torch.nn.Module]:
    """Switch ``model`` to eval mode (dropout off) inside the block, then restore the mode it had.

    ``with eval_mode(model), torch.no_grad(): ...`` is how every evaluation in the course runs.
    """
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


def show_source(obj: Any):
    """Display the source code of a function, class or module in a notebook.

    Returns an ``IPython.display.Code`` object, so the code is saved in the notebook's output (unlike
    ``%psource``, which opens a pager).
    """
    from IPython.display import Code

    try:
        source = inspect.getsource(obj)
    except (TypeError, OSError) as err:
        raise TypeError(f"cannot show the source of {obj!r}: {err}") from None
    return Code(source, language="python")


def count_parameters(model: torch.nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters, counting tied (shared) tensors once, as ``transformers`` does."""
    # parameters() yields a shared tensor (e.g. tied embeddings) only once
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def machine_description(device: torch.device | str | None = None) -> dict[str, Any]:
    """Where a run happens: enough to judge a timing (processor, cores, threads, versions, device)."""
    device = get_device() if device is None else torch.device(device)
    info: dict[str, Any] = {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "device": str(device),
    }
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info
