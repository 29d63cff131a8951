"""Checks for exercise sheet 00: a linear layer and cross-entropy by hand, learning rates, batch noise."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from course_utils.checks import (
    expect_callable,
    expect_close,
    expect_number,
    expect_shape,
    expect_type,
    fail,
    isolated_rng,
    passed,
)

__all__ = [
    "check_linear_forward",
    "check_cross_entropy",
    "check_diagnose_learning_rate",
    "check_gradient_noise",
    "check_best_degree",
]


def check_linear_forward(linear_forward: Callable) -> bool:
    """Task 1: ``linear_forward(x, weight, bias)`` must equal ``x @ weight.T + bias``.

    Args:
        linear_forward: takes x (B, n_in), weight (n_out, n_in), bias (n_out,); returns (B, n_out).
    """
    task = "Task 1 (linear layer by hand)"
    expect_callable(task, linear_forward, "linear_forward")
    # A case small enough to check by hand: two inputs, one output
    x = torch.tensor([[1.0, 2.0]])
    weight = torch.tensor([[3.0, -1.0]])
    bias = torch.tensor([0.5])
    out = linear_forward(x, weight, bias)
    expect_shape(task, out, (1, 1), "linear_forward([[1, 2]], [[3, -1]], [0.5])")
    expect_close(task, out, [[1.5]], "linear_forward([[1, 2]], [[3, -1]], [0.5]) (1*3 + 2*(-1) + 0.5)")
    # n_in != n_out catches a missing transpose
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(4, 3, generator=gen)
    weight = torch.randn(5, 3, generator=gen)
    bias = torch.randn(5, generator=gen)
    out = linear_forward(x, weight, bias)
    expect_shape(task, out, (4, 5), "the output for x (4, 3) and weight (5, 3)")
    expect_close(task, out, F.linear(x, weight, bias), "the output for random x (4, 3), weight (5, 3)")
    return passed(task, "equals torch.nn.functional.linear")


def check_cross_entropy(cross_entropy: Callable) -> bool:
    """Task 2: ``cross_entropy(logits, targets)`` must equal ``F.cross_entropy`` (mean over the batch).

    Args:
        cross_entropy: takes logits (B, C) and integer targets (B,); returns a scalar tensor.
    """
    task = "Task 2 (cross-entropy by hand)"
    expect_callable(task, cross_entropy, "cross_entropy")
    # Two equal logits: probability 1/2 for the target, so the loss is log 2
    value = cross_entropy(torch.tensor([[0.0, 0.0]]), torch.tensor([1]))
    expect_type(task, value, torch.Tensor, "cross_entropy(...)")
    if value.dim() != 0:
        fail(
            task,
            f"the loss should be one number (a 0-d tensor, the batch mean); got shape {tuple(value.shape)}",
        )
    expect_close(task, value, math.log(2), "the loss of logits [0, 0] with target 1 (should be log 2)")
    gen = torch.Generator().manual_seed(1)
    logits = torch.randn(6, 4, generator=gen)
    targets = torch.tensor([0, 3, 1, 1, 2, 0])
    value = cross_entropy(logits, targets)
    expect_type(task, value, torch.Tensor, "cross_entropy(...) on a random batch")
    expect_close(task, value, F.cross_entropy(logits, targets), "the loss on a random batch")
    big = logits * 500  # exp(500) overflows float32: a stable version subtracts the max (log-sum-exp)
    value = cross_entropy(big, targets)
    expect_type(task, value, torch.Tensor, "cross_entropy(...) for large logits")
    if not torch.isfinite(value).all():
        fail(
            task,
            f"for large logits (about ±1000) your loss is {value.flatten()[0].item()}: exp overflows. Subtract the row "
            "maximum before exp, or use torch.logsumexp / torch.log_softmax",
        )
    expect_close(
        task, value, F.cross_entropy(big, targets), "the loss for large logits", rtol=1e-4, atol=1e-3
    )
    return passed(task, "matches F.cross_entropy, also for large logits")


def check_diagnose_learning_rate(diagnose: Callable) -> bool:
    """Task 3: ``diagnose(losses)`` returns "too high", "too low" or "good" for a loss curve."""
    task = "Task 3 (diagnose a learning rate)"
    expect_callable(task, diagnose, "diagnose")
    cases = [
        ([2.0, 1.2, 0.8, 0.5, 0.4], "good"),
        ([2.0, 1.99, 1.98, 1.97, 1.96], "too low"),
        ([2.0, 2.01, 2.0, 1.99, 1.95], "too low"),  # falls, but by less than 10 %
        ([2.0, 5.0, 40.0, 900.0, float("inf")], "too high"),
        ([2.0, 1.0, float("nan"), float("nan"), float("nan")], "too high"),
        ([2.0, 0.5, 3.0, 0.4, 2.5], "too high"),  # oscillates and ends above the start
        ([1.0, 0.5, 0.3, 0.2, 0.91], "too low"),  # ends at 91 % of the start: not enough progress
    ]
    for losses, expected in cases:
        answer = diagnose(list(losses))
        if answer not in ("too high", "too low", "good"):
            fail(task, f"answer with one of 'too high', 'too low', 'good'; got {answer!r} for {losses}")
        if answer != expected:
            fail(task, f"for the loss curve {losses} you answered {answer!r}; read the three rules again")
    return passed(task, f"{len(cases)} loss curves diagnosed")


def _toy_problem() -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(3)
    X = torch.randn(64, 2, generator=gen)
    y = (X[:, 0] * X[:, 1] > 0).long()
    with isolated_rng(3):  # nn.Linear initialises from the global generator
        model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 2))
    return model, X, y


def _exact_gradient_noise(model: nn.Module, X: torch.Tensor, y: torch.Tensor, batch_size: int) -> float:
    """E ||g_B - g||^2 for batches drawn without replacement, from the per-example gradients."""
    grads = []
    for i in range(len(X)):
        model.zero_grad()
        F.cross_entropy(model(X[i : i + 1]), y[i : i + 1]).backward()
        grads.append(torch.cat([p.grad.flatten() for p in model.parameters()]))
    G = torch.stack(grads).double()  # (N, P)
    N = len(X)
    spread = ((G - G.mean(0)) ** 2).sum(1).mean().item()  # sigma^2 = mean ||g_i - g||^2
    # sampling without replacement shrinks the variance by (N - B) / (N - 1)
    return spread / batch_size * (N - batch_size) / (N - 1)


def check_gradient_noise(gradient_noise: Callable) -> bool:
    """Task 4: ``gradient_noise(model, X, y, batch_size, n_batches)`` estimates E||g_batch - g_full||^2.

    The answer is compared with the exact expectation, computed here from per-example gradients.
    """
    task = "Task 4 (gradient noise vs batch size)"
    expect_callable(task, gradient_noise, "gradient_noise")
    model, X, y = _toy_problem()
    measured = {}
    for batch_size in (1, 8, 64):
        with isolated_rng(0):  # the learner's batches (torch.randperm) repeat, and their RNG is untouched
            value = gradient_noise(model, X, y, batch_size, 300)
        if isinstance(value, torch.Tensor) and value.numel() != 1:
            fail(task, f"return one number, not a tensor of shape {tuple(value.shape)}")
        measured[batch_size] = expect_number(task, value, "gradient_noise(...)")
    if measured[64] > 1e-4 * measured[1]:  # rounding leaves ~1e-15, sampling noise is far larger
        fail(
            task,
            f"with batch_size = len(X) = 64 every batch is the whole data set, so the noise must be 0; you got "
            f"{measured[64]:.3g}. Draw each batch without replacement (torch.randperm), and compare with the "
            "full-batch gradient at the same weights",
        )
    for batch_size in (1, 8):
        exact = _exact_gradient_noise(model, X, y, batch_size)
        if not 0.7 * exact <= measured[batch_size] <= 1.3 * exact:
            fail(
                task,
                f"for batch_size={batch_size} you measured {measured[batch_size]:.4g}, but the expected squared "
                f"distance is {exact:.4g}. Sum the squared differences over ALL parameters, average over batches "
                "(do not take a square root), and zero the gradients before each backward pass",
            )
    return passed(task, "noise matches the exact value and vanishes for the full batch")


def _poly_mse(x: np.ndarray, y: np.ndarray, coef: np.ndarray) -> float:
    return float(np.mean((np.polyval(coef, x) - y) ** 2))


def check_best_degree(best_degree: Callable) -> bool:
    """Task 5: ``best_degree(x_train, y_train, x_val, y_val, degrees)`` -> (best, train_mse, val_mse)."""
    task = "Task 5 (the sweet spot of model size)"
    expect_callable(task, best_degree, "best_degree")
    rng = np.random.default_rng(7)
    x_train = np.sort(rng.uniform(-1, 1, 14))
    x_val = np.sort(rng.uniform(-1, 1, 200))
    f = lambda x: np.sin(3 * x)
    y_train = f(x_train) + rng.normal(0, 0.2, x_train.shape)
    y_val = f(x_val) + rng.normal(0, 0.2, x_val.shape)
    degrees = list(range(0, 10))
    answer = best_degree(x_train, y_train, x_val, y_val, degrees)
    expect_type(task, answer, tuple, "best_degree(...)")
    if len(answer) != 3:
        fail(task, f"return a tuple (best, train_mse, val_mse); got a tuple of length {len(answer)}")
    best, train_mse, val_mse = answer
    train_ref, val_ref = [], []
    for d in degrees:
        coef = np.polyfit(x_train, y_train, d)
        train_ref.append(_poly_mse(x_train, y_train, coef))
        val_ref.append(_poly_mse(x_val, y_val, coef))
    for name, mine, ref in (("train_mse", train_mse, train_ref), ("val_mse", val_mse, val_ref)):
        if isinstance(mine, torch.Tensor):
            mine = mine.tolist()
        expect_type(task, mine, (list, tuple, np.ndarray), name)
        if len(mine) != len(degrees):
            fail(task, f"{name} should have one value per degree ({len(degrees)}), got {len(mine)}")
        expect_close(task, list(mine), ref, f"{name} (mean squared error per degree)", rtol=1e-3, atol=1e-6)
    expected_best = degrees[int(np.argmin(val_ref))]
    if expect_number(task, best, "best") != expected_best:
        fail(task, f"best degree {best!r} is not the degree with the smallest validation error")
    return passed(task, f"best degree {expected_best}")
