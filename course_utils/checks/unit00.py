"""Checks for exercise sheet 00: a linear layer and cross-entropy by hand, learning rates, batch size.

The by-hand tasks run with the library's own functions forbidden (calling them raises while the check
runs), and the training tasks are run by the check on data the check holds.
"""

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
    forbidden,
    isolated_rng,
    passed,
)

__all__ = [
    "check_linear_forward",
    "check_cross_entropy",
    "check_diagnose_learning_rate",
    "check_train_sgd",
    "check_best_lr_per_batch",
    "check_best_degree",
]

_NO_LINEAR = {
    F.linear: "torch.nn.functional.linear",
    nn.Linear.forward: "nn.Linear",
    torch.addmm: "torch.addmm",
}
_NO_CROSS_ENTROPY = {
    F.cross_entropy: "F.cross_entropy",
    F.nll_loss: "F.nll_loss",
    F.log_softmax: "F.log_softmax",
    F.softmax: "F.softmax",
    torch.log_softmax: "torch.log_softmax",
    torch.softmax: "torch.softmax",
    torch.Tensor.log_softmax: "Tensor.log_softmax",
    torch.Tensor.softmax: "Tensor.softmax",
    torch.logsumexp: "torch.logsumexp",
    torch.Tensor.logsumexp: "Tensor.logsumexp",
    nn.CrossEntropyLoss.forward: "nn.CrossEntropyLoss",
}


def check_linear_forward(linear_forward: Callable) -> bool:
    """Task 1: ``linear_forward(x, weight, bias)`` must equal ``x @ weight.T + bias``, without the library.

    Args:
        linear_forward: takes x (B, n_in), weight (n_out, n_in), bias (n_out,); returns (B, n_out).
    """
    task = "Task 1 (linear layer by hand)"
    expect_callable(task, linear_forward, "linear_forward")
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(4, 3, generator=gen)
    weight = torch.randn(5, 3, generator=gen)
    bias = torch.randn(5, generator=gen)
    expected = F.linear(x, weight, bias)  # the reference, computed before the library is forbidden
    with forbidden(task, _NO_LINEAR, "; write it with one matrix product and an addition"):
        # A case small enough to check by hand: two inputs, one output
        out = linear_forward(torch.tensor([[1.0, 2.0]]), torch.tensor([[3.0, -1.0]]), torch.tensor([0.5]))
        expect_shape(task, out, (1, 1), "linear_forward([[1, 2]], [[3, -1]], [0.5])")
        expect_close(task, out, [[1.5]], "linear_forward([[1, 2]], [[3, -1]], [0.5]) (1*3 + 2*(-1) + 0.5)")
        out = linear_forward(x, weight, bias)  # n_in != n_out catches a missing transpose
    expect_shape(task, out, (4, 5), "the output for x (4, 3) and weight (5, 3)")
    expect_close(task, out, expected, "the output for random x (4, 3), weight (5, 3)")
    return passed(task, "equals torch.nn.functional.linear")


def check_cross_entropy(cross_entropy: Callable) -> bool:
    """Task 2: ``cross_entropy(logits, targets)`` must equal ``F.cross_entropy`` (mean over the batch), built
    from exp, log, max and sums: the library's softmax, log-softmax, logsumexp and cross-entropy are forbidden.

    Args:
        cross_entropy: takes logits (B, C) and integer targets (B,); returns a scalar tensor.
    """
    task = "Task 2 (cross-entropy by hand)"
    expect_callable(task, cross_entropy, "cross_entropy")
    gen = torch.Generator().manual_seed(1)
    logits = torch.randn(6, 4, generator=gen)
    targets = torch.tensor([0, 3, 1, 1, 2, 0])
    big = logits * 500  # exp(500) overflows float32: a stable version subtracts the max
    expected, expected_big = F.cross_entropy(logits, targets), F.cross_entropy(big, targets)
    hint = "; build it from torch.exp, torch.log, max and sum"
    with forbidden(task, _NO_CROSS_ENTROPY, hint):
        # Two equal logits: probability 1/2 for the target, so the loss is log 2
        value = cross_entropy(torch.tensor([[0.0, 0.0]]), torch.tensor([1]))
        expect_type(task, value, torch.Tensor, "cross_entropy(...)")
        if value.dim() != 0:
            fail(
                task,
                f"the loss should be one number (a 0-d tensor, the batch mean); got shape {tuple(value.shape)}",
            )
        expect_close(task, value, math.log(2), "the loss of logits [0, 0] with target 1 (should be log 2)")
        value = cross_entropy(logits, targets)
        expect_type(task, value, torch.Tensor, "cross_entropy(...) on a random batch")
        expect_close(task, value, expected, "the loss on a random batch")
        value = cross_entropy(big, targets)
    expect_type(task, value, torch.Tensor, "cross_entropy(...) for large logits")
    if not torch.isfinite(value).all():
        fail(
            task,
            f"for large logits (about ±1000) your loss is {value.flatten()[0].item()}: exp overflows. Subtract "
            "each row's maximum before exp (log sum exp(z) = m + log sum exp(z - m))",
        )
    expect_close(task, value, expected_big, "the loss for large logits", rtol=1e-4, atol=1e-3)
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


def _reference_train_sgd(
    model: nn.Module, X: torch.Tensor, y: torch.Tensor, lr: float, batch_size: int, steps: int, seed: int
) -> list[float]:
    """The sheet's spec: SGD, a new permutation from torch.Generator().manual_seed(seed) every epoch,
    consecutive batches of it (the last one may be shorter), exactly ``steps`` optimizer steps."""
    order = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    losses: list[float] = []
    while len(losses) < steps:
        for batch in torch.randperm(len(X), generator=order).split(batch_size):
            if len(losses) == steps:
                break
            loss = F.cross_entropy(model(X[batch]), y[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    return losses


def _check_data(seed: int, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """XOR-like points of the check's own: the label is the sign of x0 * x1."""
    gen = torch.Generator().manual_seed(seed)
    X = torch.randn(n, 2, generator=gen)
    return X, (X[:, 0] * X[:, 1] > 0).long()


def _check_model(seed: int) -> nn.Module:
    with isolated_rng(seed):  # nn.Linear initialises from the global generator
        return nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 2))


def check_train_sgd(train_sgd: Callable) -> bool:
    """Task 4: ``train_sgd(model, X, y, lr, batch_size, steps, seed)`` trains ``model`` in place with SGD for
    exactly ``steps`` optimizer steps and returns the list of batch losses.

    The check runs it on a model and data of its own and compares the trained weights with the sheet's
    spec, so training on other data, counting epochs instead of steps, another optimizer or a forgotten
    ``zero_grad`` all show.
    """
    task = "Task 4 (a budget of optimizer steps)"
    expect_callable(task, train_sgd, "train_sgd")
    X, y = _check_data(10, 50)  # 50 points, batches of 16: 4 steps per epoch, the last batch has 2 points
    for lr, batch_size, steps in ((0.3, 16, 10), (1.0, 50, 3)):
        model, reference = _check_model(11), _check_model(11)
        _reference_train_sgd(reference, X, y, lr, batch_size, steps, seed=5)
        with isolated_rng(0):
            losses = train_sgd(model, X.clone(), y.clone(), lr, batch_size, steps, 5)
        if isinstance(losses, torch.Tensor):
            losses = losses.tolist()
        expect_type(task, losses, (list, tuple), f"train_sgd(..., steps={steps})")
        if len(losses) != steps:
            fail(
                task,
                f"with steps={steps} and batch_size={batch_size} on {len(X)} points you returned {len(losses)} "
                "losses: make exactly `steps` optimizer steps (one loss per step), however many epochs that is",
            )
        for p, q in zip(model.parameters(), reference.parameters()):
            if not torch.allclose(p.detach(), q.detach(), atol=1e-5, rtol=1e-4):
                fail(
                    task,
                    f"after {steps} steps (lr={lr}, batch_size={batch_size}) the weights differ from the spec's. "
                    "Train on the X and y passed in, with torch.optim.SGD at the given lr, zero the gradients "
                    "before each backward, and draw a new torch.randperm(len(X), generator=...) every epoch from "
                    "torch.Generator().manual_seed(seed)",
                )
    return passed(task, "the check's model, trained on the check's data, ends with the spec's weights")


def _reference_best_lr(X, y, X_val, y_val, lrs, batch_sizes, steps, model_seed) -> dict[int, float]:
    best = {}
    for batch_size in batch_sizes:
        scores = []
        for lr in lrs:
            model = _check_model(model_seed)
            _reference_train_sgd(model, X, y, lr, batch_size, steps, seed=0)
            with torch.no_grad():
                loss = F.cross_entropy(model(X_val), y_val).item()
            scores.append(loss if math.isfinite(loss) else math.inf)
        best[batch_size] = lrs[int(np.argmin(scores))]
    return best


def check_best_lr_per_batch(best_lr_per_batch: Callable) -> bool:
    """Task 5: ``best_lr_per_batch(train_sgd, make_model, X, y, X_val, y_val, lrs, batch_sizes, steps)``
    returns ``{batch_size: best lr}``, the learning rate with the lowest validation loss after ``steps``.

    The check calls the function with its own training function, models and data (twice, the second time
    with the validation labels shuffled, so that choosing by the training loss shows). A dict of results
    typed in by hand is refused: pass the function.
    """
    task = "Task 5 (where the best learning rate moves)"
    if isinstance(best_lr_per_batch, dict):
        fail(task, "pass the function best_lr_per_batch itself, not a dict of results: the check runs it")
    expect_callable(task, best_lr_per_batch, "best_lr_per_batch")
    X, y = _check_data(20, 64)
    X_val, y_val = _check_data(21, 200)
    shuffled = y_val[torch.randperm(len(y_val), generator=torch.Generator().manual_seed(22))]
    lrs, batch_sizes, steps = [0.03, 0.3, 3.0, 30.0], [4, 64], 30
    calls = {"n": 0}

    def make_model() -> nn.Module:
        calls["n"] += 1
        return _check_model(23)

    found = []
    for labels, what in (
        (y_val, "the validation set"),
        (shuffled, "validation labels shuffled by the check"),
    ):
        expected = _reference_best_lr(X, y, X_val, labels, lrs, batch_sizes, steps, 23)
        found.append(expected)
        calls["n"] = 0
        with isolated_rng(0):
            answer = best_lr_per_batch(
                _reference_train_sgd, make_model, X, y, X_val, labels, list(lrs), list(batch_sizes), steps
            )
        expect_type(task, answer, dict, "best_lr_per_batch(...)")
        if calls["n"] < len(lrs) * len(batch_sizes):
            fail(
                task,
                f"make_model() was called {calls['n']} times for {len(lrs)} x {len(batch_sizes)} runs: start "
                "every run from a fresh model, or later runs continue from earlier ones",
            )
        if sorted(answer) != sorted(batch_sizes):
            fail(task, f"return one entry per batch size {batch_sizes}, got keys {sorted(answer)}")
        for batch_size in batch_sizes:
            if answer[batch_size] not in lrs:
                fail(
                    task,
                    f"for batch size {batch_size} you returned {answer[batch_size]!r}, which is not one of the "
                    f"learning rates {lrs}: return the best learning rate, not its loss",
                )
            if answer[batch_size] != expected[batch_size]:
                fail(
                    task,
                    f"on {what}, for batch size {batch_size} the learning rate with the lowest VALIDATION loss "
                    f"is not {answer[batch_size]}. Train with train_sgd(model, X, y, lr, batch_size, steps, "
                    "seed=0), then measure F.cross_entropy on X_val, y_val (a nan counts as the worst)",
                )
    return passed(task, f"best learning rates {found[0]} on the check's data")


def _poly_mse(x: np.ndarray, y: np.ndarray, coef: np.ndarray) -> float:
    return float(np.mean((np.polyval(coef, x) - y) ** 2))


def check_best_degree(best_degree: Callable) -> bool:
    """Task 6: ``best_degree(x_train, y_train, x_val, y_val, degrees)`` -> (best, train_mse, val_mse)."""
    task = "Task 6 (the sweet spot of model size)"
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
