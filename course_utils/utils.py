"""Small helpers every notebook uses: device choice, seeding, mixed precision, showing source."""

from __future__ import annotations

import contextlib
import inspect
import os
import platform
import random
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

_DEVICE_ENV = "COURSE_DEVICE"
_THREADS_ENV = "COURSE_THREADS"
DEFAULT_THREADS = 1  # never much slower, often far faster: benchmarks/threads.py (BENCHMARKS.md)
_KNOWN_DEVICES = ("cuda", "mps", "cpu")
_MAX_SEED = 2**32 - 1  # NumPy's legacy generator takes no larger seed


def as_device(device: Any, name: str = "device") -> torch.device:
    """``device`` as a ``torch.device``, or a clear error; whether the machine has it is not checked here.

    Args:
        device: a ``torch.device`` or a string: ``"cpu"``, ``"cuda"``, ``"cuda:1"`` or ``"mps"``.
        name: the argument's name, for the message.

    Returns:
        The ``torch.device``.
    """
    if isinstance(device, torch.device):
        return device
    if not isinstance(device, str):
        raise TypeError(
            f"{name}={device!r} must be a string such as 'cpu', 'cuda', 'cuda:1' or 'mps' (or a torch.device), "
            f"not a {type(device).__name__}"
        )
    kind, colon, index = device.partition(":")
    if kind not in _KNOWN_DEVICES or (colon and not index.isdigit()):
        raise ValueError(
            f"{name} {device!r} is not one of {_KNOWN_DEVICES} (optionally 'cuda:N', N = 0, 1, ...); "
            "get_device() picks the best one this machine has"
        )
    return torch.device(device)


def get_device(override: str | torch.device | None = None) -> torch.device:
    """Pick the device to train on: CUDA, then Apple MPS, then CPU.

    Args:
        override: ``"cuda"``, ``"cuda:1"``, ``"mps"`` or ``"cpu"`` (or a ``torch.device``) to force a
            choice; it must exist on this machine. When ``None``, the ``COURSE_DEVICE`` environment
            variable is used if it is set.

    Returns:
        The chosen ``torch.device``.
    """
    from_environment = override is None
    choice = os.environ.get(_DEVICE_ENV) if from_environment else override
    if from_environment and not choice:  # unset (or empty): pick the best device there is
        if torch.cuda.is_available():
            return torch.device("cuda")
        if hasattr(torch.backends, "mps") and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    where = f" (set by the {_DEVICE_ENV} environment variable)" if from_environment else ""
    try:
        device = as_device(choice)
    except (TypeError, ValueError) as err:
        raise type(err)(f"{err}{where}") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError(
                f"device {str(choice)!r} was asked for but CUDA is not available; use 'cpu'{where}"
            )
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise RuntimeError(
                f"device {str(choice)!r} was asked for but this machine has {torch.cuda.device_count()} "
                f"CUDA device(s), numbered from 0{where}"
            )
    if device.type == "mps" and not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
        raise RuntimeError(f"device {str(choice)!r} was asked for but MPS is not available; use 'cpu'{where}")
    return device


def set_threads(threads: int | None = None) -> int:
    """Set how many CPU threads torch uses in this process, and return the number.

    The course's models are small: on an idle 2-core CPU two threads train them 1.1-1.7x faster than
    one, but as soon as another program wants a core one thread is faster, by 1.5-2.6x on one machine and
    1.7-114x on another (a thread that waits for a busy core stalls every step). ``benchmarks/threads.py``
    measures it (BENCHMARKS.md), so the course uses ``DEFAULT_THREADS`` (1) unless told otherwise. Every
    notebook's setup cell calls this.

    Args:
        threads: the number of threads; ``None``: the ``COURSE_THREADS`` environment variable if it is
            set, else ``DEFAULT_THREADS``.

    Returns:
        The number of threads torch now uses.
    """
    from_environment = threads is None
    if from_environment:
        text = os.environ.get(_THREADS_ENV, "").strip()
        threads = DEFAULT_THREADS if not text else text
    if isinstance(threads, str):
        threads = int(threads) if threads.isdigit() else threads
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        where = f" (set by the {_THREADS_ENV} environment variable)" if from_environment else ""
        raise ValueError(f"threads={threads!r} must be a positive whole number{where}")
    torch.set_num_threads(threads)
    return torch.get_num_threads()


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
    if seed > _MAX_SEED:
        raise ValueError(f"seed={seed} is too large for NumPy's generator: use a seed below 2**32")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device


def autocast(device: torch.device | str) -> contextlib.AbstractContextManager:
    """Mixed precision where it is safe and fast: bf16 autocast on CUDA, nothing elsewhere.

    Use as ``with autocast(device): loss = model(**batch).loss``. On CPU and MPS this is a no-op
    context, so the same code runs everywhere.
    """
    device = as_device(device)
    if device.type == "cuda":
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _check_module(model: Any, what: str) -> None:
    if not isinstance(model, torch.nn.Module):
        raise TypeError(
            f"{what} needs a torch.nn.Module (a model), got a {type(model).__name__}: {model!r:.80}"
        )


def model_device(model: torch.nn.Module) -> torch.device:
    """The device of a model's parameters (the CPU for a model without parameters)."""
    _check_module(model, "model_device")
    for p in model.parameters():
        return p.device
    return torch.device("cpu")


@contextlib.contextmanager
def eval_mode(model: torch.nn.Module) -> Iterator[torch.nn.Module]:
    """Switch ``model`` to eval mode (dropout off) inside the block, then restore the mode it had.

    ``with eval_mode(model), torch.no_grad(): ...`` is how every evaluation in the course runs.
    """
    _check_module(model, "eval_mode")
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

    compiled = (types.BuiltinFunctionType, types.MethodDescriptorType, types.WrapperDescriptorType)
    if isinstance(obj, compiled) or (inspect.isclass(obj) and obj.__module__ == "builtins"):
        raise TypeError(
            f"cannot show the source of {obj!r}: it is built into Python or a compiled library (written in C), "
            "so there is no Python source to show; help() shows its documentation"
        )
    try:
        source = inspect.getsource(obj)
    except TypeError:
        raise TypeError(
            f"cannot show the source of {obj!r:.60} (a {type(obj).__name__} object): pass a function, class, method "
            "or module, e.g. show_source(BertSelfAttention)"
        ) from None
    except OSError as err:
        raise TypeError(
            f"cannot show the source of {obj!r:.60}: {err} (code typed into a notebook cell or an interpreter "
            "has no source file to read)"
        ) from None
    return Code(source, language="python")


def count_parameters(model: torch.nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters, counting tied (shared) tensors once, as ``transformers`` does."""
    _check_module(model, "count_parameters")
    # parameters() yields a shared tensor (e.g. tied embeddings) only once
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def peak_resident_mb(pid: int | None = None) -> float | None:
    """The peak resident memory of a process so far (Linux's VmHWM), in MB: this process by default, or the
    process ``pid``; None where it cannot be read (not Linux, or no such process)."""
    try:
        status = Path(f"/proc/{'self' if pid is None else int(pid)}/status").read_text()
    except (OSError, ValueError, TypeError):
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return None


def machine_description(device: torch.device | str | None = None) -> dict[str, Any]:
    """Where a run happens: enough to judge a timing (processor, cores, threads, versions, device)."""
    device = get_device() if device is None else as_device(device)
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
