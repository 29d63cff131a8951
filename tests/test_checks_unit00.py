"""course_utils.checks.unit00: each check passes a right answer and rejects the wrong ones it must catch.

Right answers are written here independently of the solution sheet. Every test also verifies that the check
left the learner's global random state as it found it.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course_utils.checks import CheckError, unit00

pytestmark = pytest.mark.usefixtures("one_thread", "global_random_state_untouched")


# --------------------------------------------------------------------------- Task 1: linear layer


def test_linear_forward_right_answer():
    assert unit00.check_linear_forward(lambda x, w, b: x @ w.T + b)


@pytest.mark.parametrize(
    "answer, message",
    [
        (lambda x, w, b: (x @ w.T + b).T, "shape"),  # transposed output
        (lambda x, w, b: x @ w.T, "differs"),  # forgot the bias
        (lambda x, w, b: F.linear(x, w, b), "forbids"),  # the library's layer
        (lambda x, w, b: torch.addmm(b, x, w.T), "forbids"),
        (lambda x, w, b: torch.nn.Linear.forward(type("L", (), {"weight": w, "bias": b})(), x), "forbids"),
    ],
)
def test_linear_forward_wrong_answers(answer, message):
    with pytest.raises(CheckError, match=message):
        unit00.check_linear_forward(answer)


# --------------------------------------------------------------------------- Task 2: cross-entropy


def _stable_cross_entropy(logits, targets):
    m = logits.max(dim=1, keepdim=True).values
    log_sum_exp = m.squeeze(1) + torch.log(torch.exp(logits - m).sum(dim=1))
    return (log_sum_exp - logits.gather(1, targets[:, None]).squeeze(1)).mean()


def _naive(logits, t):  # exp overflows for large logits
    p = logits.exp() / logits.exp().sum(1, keepdim=True)
    return -p.gather(1, t[:, None]).log().mean()


def test_cross_entropy_right_answer():
    assert unit00.check_cross_entropy(_stable_cross_entropy)


@pytest.mark.parametrize(
    "answer, message",
    [
        (lambda z, t: F.cross_entropy(z, t), "forbids"),
        (lambda z, t: F.nll_loss(torch.log(torch.exp(z) / torch.exp(z).sum(1, keepdim=True)), t), "forbids"),
        (lambda z, t: -torch.log_softmax(z, 1).gather(1, t[:, None]).mean(), "forbids"),
        (lambda z, t: -z.log_softmax(1).gather(1, t[:, None]).mean(), "forbids"),
        (lambda z, t: -F.log_softmax(z, dim=1).gather(1, t[:, None]).mean(), "forbids"),
        (lambda z, t: -torch.softmax(z, 1).gather(1, t[:, None]).log().mean(), "forbids"),
        (lambda z, t: -z.softmax(1).gather(1, t[:, None]).log().mean(), "forbids"),
        (lambda z, t: (torch.logsumexp(z, 1) - z.gather(1, t[:, None]).squeeze(1)).mean(), "forbids"),
        (lambda z, t: (z.logsumexp(1) - z.gather(1, t[:, None]).squeeze(1)).mean(), "forbids"),
        (lambda z, t: torch.nn.CrossEntropyLoss()(z, t), "forbids"),
        (_naive, "overflows"),
        (lambda z, t: _stable_cross_entropy(z, t) * len(t), "differs"),  # a sum, not the mean
        (
            lambda z, t: (
                z.max(1).values + torch.log(torch.exp(z - z.max(1, keepdim=True).values).sum(1)) - z[:, 0]
            ).mean(),
            "differs",
        ),  # always class 0's logit
    ],
)
def test_cross_entropy_wrong_answers(answer, message):
    with pytest.raises(CheckError, match=message):
        unit00.check_cross_entropy(answer)


def test_cross_entropy_not_a_batch_mean():
    def per_example(z, t):
        m = z.max(dim=1, keepdim=True).values
        return m.squeeze(1) + torch.log(torch.exp(z - m).sum(dim=1)) - z.gather(1, t[:, None]).squeeze(1)

    with pytest.raises(CheckError, match="one number"):
        unit00.check_cross_entropy(per_example)


def test_forbidden_functions_work_again_after_the_check():
    with pytest.raises(CheckError):
        unit00.check_cross_entropy(lambda z, t: F.cross_entropy(z, t))
    z, t = torch.randn(3, 4, generator=torch.Generator().manual_seed(0)), torch.tensor([0, 1, 2])
    torch.testing.assert_close(F.cross_entropy(z, t), _stable_cross_entropy(z, t))
    torch.testing.assert_close(z.softmax(1), torch.exp(z) / torch.exp(z).sum(1, keepdim=True))


# --------------------------------------------------------------------------- Task 3: diagnose


def _diagnose(losses):
    if not math.isfinite(losses[-1]) or losses[-1] > losses[0]:
        return "too high"
    return "too low" if losses[-1] > 0.9 * losses[0] else "good"


def test_diagnose_learning_rate():
    assert unit00.check_diagnose_learning_rate(_diagnose)
    with pytest.raises(CheckError, match="one of"):
        unit00.check_diagnose_learning_rate(lambda losses: "fine")

    def ignores_nan(losses):  # nan > x is False, so a nan curve slips through as "good"
        return (
            "too high" if losses[-1] > losses[0] else ("too low" if losses[-1] > 0.9 * losses[0] else "good")
        )

    with pytest.raises(CheckError, match="nan|inf"):
        unit00.check_diagnose_learning_rate(ignores_nan)


# --------------------------------------------------------------------------- Task 4: train_sgd


def _train_sgd(
    model, X, y, lr, batch_size, steps, seed, optimizer="sgd", epochs=None, zero_grad=True, data=None
):
    """A right answer written independently, with switches for the wrong ones."""
    if data is not None:
        X, y = data  # trains on data of its own (e.g. the validation set) instead of what it is given
    order = torch.Generator().manual_seed(seed)
    opt = (
        torch.optim.SGD(model.parameters(), lr=lr)
        if optimizer == "sgd"
        else torch.optim.Adam(model.parameters(), lr=lr)
    )
    losses = []
    n_epochs = 0
    while (len(losses) < steps) if epochs is None else (n_epochs < epochs):
        permutation = torch.randperm(len(X), generator=order)
        for start in range(0, len(X), batch_size):
            if epochs is None and len(losses) == steps:
                break
            batch = permutation[start : start + batch_size]
            loss = F.cross_entropy(model(X[batch]), y[batch])
            if zero_grad:
                opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        n_epochs += 1
    return losses


def test_train_sgd_right_answer():
    assert unit00.check_train_sgd(_train_sgd)


_OTHER_DATA = (torch.randn(40, 2, generator=torch.Generator().manual_seed(99)), torch.arange(40) % 2)


@pytest.mark.parametrize(
    "answer, message",
    [
        (lambda *a: _train_sgd(*a, epochs=2), "exactly `steps`"),  # counts epochs, not steps
        (lambda *a: _train_sgd(*a, optimizer="adam"), "weights differ"),
        (lambda *a: _train_sgd(*a, zero_grad=False), "weights differ"),
        (lambda *a: _train_sgd(*a, data=_OTHER_DATA), "weights differ"),  # trains on other data
        (lambda m, X, y, lr, B, steps, seed: _train_sgd(m, X, y, lr, B, steps, seed + 1), "weights differ"),
        (lambda *a: torch.tensor(_train_sgd(*a)).mean().item(), "should be a"),  # one number, not the losses
    ],
)
def test_train_sgd_wrong_answers(answer, message):
    with pytest.raises(CheckError, match=message):
        unit00.check_train_sgd(answer)


# --------------------------------------------------------------------------- Task 5: best lr per batch


def _best_lr(
    train_sgd, make_model, X, y, X_val, y_val, lrs, batch_sizes, steps, use_train=False, reuse=False
):
    best = {}
    model = make_model() if reuse else None
    for batch_size in batch_sizes:
        losses = []
        for lr in lrs:
            m = model if reuse else make_model()
            train_sgd(m, X, y, lr, batch_size, steps, 0)
            with torch.no_grad():
                Xe, ye = (X, y) if use_train else (X_val, y_val)
                loss = F.cross_entropy(m(Xe), ye).item()
            losses.append(loss if math.isfinite(loss) else math.inf)
        best[batch_size] = lrs[int(np.argmin(losses))]
    return best


def test_best_lr_per_batch_right_answer():
    assert unit00.check_best_lr_per_batch(_best_lr)


def test_best_lr_per_batch_refuses_a_dict_of_results():
    with pytest.raises(CheckError, match="not a dict"):
        unit00.check_best_lr_per_batch({4: 0.3, 64: 3.0})


@pytest.mark.parametrize(
    "answer, message",
    [
        (lambda *a: _best_lr(*a, use_train=True), "VALIDATION"),  # chooses by the training loss
        (lambda *a: _best_lr(*a, reuse=True), "fresh model"),  # one model for every run
        (lambda *a: {B: min(a[6]) for B in a[7]}, "fresh model"),  # a fixed answer: nothing was trained
        (lambda *a: {B: 0.123 for B in _best_lr(*a)}, "not one of"),  # a loss, not a learning rate
    ],
)
def test_best_lr_per_batch_wrong_answers(answer, message):
    with pytest.raises(CheckError, match=message):
        unit00.check_best_lr_per_batch(answer)


# --------------------------------------------------------------------------- Task 6: best degree


def _best_degree(x_train, y_train, x_val, y_val, degrees, off_by_one=False):
    train, val = [], []
    for d in degrees:
        coef = np.polyfit(x_train, y_train, d)
        train.append(float(np.mean((np.polyval(coef, x_train) - y_train) ** 2)))
        val.append(float(np.mean((np.polyval(coef, x_val) - y_val) ** 2)))
    best = degrees[int(np.argmin(val))]
    return (best + 1 if off_by_one else best), train, val


def test_best_degree():
    assert unit00.check_best_degree(_best_degree)
    with pytest.raises(CheckError, match="best degree"):
        unit00.check_best_degree(lambda *a: _best_degree(*a, off_by_one=True))
    with pytest.raises(CheckError, match="val_mse"):  # validation error measured on the training points
        unit00.check_best_degree(lambda xt, yt, xv, yv, d: _best_degree(xt, yt, xt, yt, d))
