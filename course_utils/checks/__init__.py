"""Automatic checks for the exercise sheets.

Each task of an exercise sheet ends with a call such as ``checks.unit01.check_bag_of_words(bag_of_words)``.
A check prints a short pass message, or raises :class:`CheckError` that says what is wrong (a shape, a
value, a failing example) without giving the solution away.
"""

from __future__ import annotations

from typing import Any

import torch


class CheckError(AssertionError):
    """Raised by a check when an answer is wrong; the message says what to look at."""


def passed(task: str, detail: str = "") -> bool:
    """Print the pass message for ``task`` and return True."""
    print(f"✅ {task}: passed" + (f" ({detail})" if detail else ""))
    return True


def fail(task: str, message: str) -> None:
    """Stop with a clear message for ``task``."""
    raise CheckError(f"❌ {task}: {message}")


def expect_type(task: str, value: Any, kind: type | tuple[type, ...], name: str = "your answer") -> None:
    if not isinstance(value, kind):
        fail(task, f"{name} should be a {kind}, got {type(value).__name__}")


def expect_shape(task: str, tensor: Any, shape: tuple[int, ...], name: str = "your tensor") -> None:
    expect_type(task, tensor, torch.Tensor, name)
    if tuple(tensor.shape) != tuple(shape):
        fail(task, f"{name} has shape {tuple(tensor.shape)}, expected {tuple(shape)}")


def expect_close(
    task: str, actual: Any, expected: Any, name: str = "your result", atol: float = 1e-5, rtol: float = 1e-4
) -> None:
    """Compare tensors (or numbers) and report the largest difference when they disagree."""
    a = torch.as_tensor(actual, dtype=torch.float64)
    e = torch.as_tensor(expected, dtype=torch.float64)
    if a.shape != e.shape:
        fail(task, f"{name} has shape {tuple(a.shape)}, expected {tuple(e.shape)}")
    if not torch.allclose(a, e, atol=atol, rtol=rtol):
        diff = (a - e).abs()
        where = tuple(int(i) for i in torch.nonzero(diff == diff.max())[0]) if diff.dim() else ()
        fail(
            task,
            f"{name} differs from the expected values: largest difference {diff.max().item():.3g}"
            + (f" at index {where}" if where else ""),
        )
