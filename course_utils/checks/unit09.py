"""Checks for exercise sheet 09: pretraining a mini-BERT.

References are the course's schedule (``course_utils.train.linear_warmup_decay``), PyTorch's gradient clipping
and bfloat16 rounding, and, for the training state, a small training loop run here twice: uninterrupted, and
interrupted, saved and resumed with the learner's functions. Every check uses its own data and generators and
leaves the learner's random state (torch, NumPy, Python) as it found it.
"""

from __future__ import annotations

import contextlib
import random
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn import utils as nn_utils
from torch.optim import lr_scheduler

from course_utils import checkpoint as course_checkpoint
from course_utils.checks import (
    expect_callable,
    expect_close,
    expect_number,
    expect_type,
    fail,
    forbidden,
    is_close,
    isolated_rng,
    passed,
)
from course_utils.train import linear_warmup_decay

__all__ = [
    "check_lr_at",
    "check_clip_grad_norm",
    "check_survives_bf16",
    "check_training_state",
]

# Task 1 ------------------------------------------------------------------------------------------------------

_NO_SCHEDULER = {
    linear_warmup_decay: "course_utils.train.linear_warmup_decay",
    lr_scheduler.LRScheduler.__init__: "a torch.optim.lr_scheduler scheduler",
}
_SCHEDULES = [(1e-3, 10, 100), (2e-3, 0, 40), (5e-4, 3, 12), (3e-4, 25, 25), (1.0, 1, 6)]


def _schedule(peak_lr: float, warmup_steps: int, total_steps: int) -> list[float]:
    """The learning rate each optimizer step 1 .. total_steps uses, from the course's scheduler."""
    optimizer = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=peak_lr)
    scheduler = linear_warmup_decay(optimizer, warmup_steps, total_steps)
    rates = []
    for _ in range(total_steps):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return rates


def check_lr_at(lr_at: Callable) -> bool:
    """Task 1: ``lr_at(step, peak_lr, warmup_steps, total_steps)`` is the rate optimizer step ``step`` uses."""
    task = "Task 1 (the learning rate of each step)"
    expect_callable(task, lr_at, "lr_at")
    for peak, warmup, total in _SCHEDULES:
        expected = _schedule(peak, warmup, total)  # before the scheduler is forbidden
        with forbidden(task, _NO_SCHEDULER, "; compute the rate from the formula"):
            answer = [
                expect_number(
                    task, lr_at(step, peak, warmup, total), f"lr_at({step}, {peak}, {warmup}, {total})"
                )
                for step in range(1, total + 1)
            ]
        name = f"lr_at(step, {peak}, {warmup}, {total}) for steps 1..{total}"
        shifted = expected[1:] + [0.0]  # the rate of the next step: scheduler.step() counted once too many
        if is_close(torch.tensor(answer), torch.tensor(shifted), atol=1e-12) and not is_close(
            torch.tensor(answer), torch.tensor(expected), atol=1e-12
        ):
            fail(
                task,
                f"{name} is one step ahead: step 1 uses the rate before any scheduler.step(), that is "
                "factor(0) (0 when there is warmup), and step s uses factor(s - 1)",
            )
        rest_right = is_close(torch.tensor(answer[1:]), torch.tensor(expected[1:]), atol=1e-12, rtol=1e-6)
        if warmup and answer[0] != 0.0 and rest_right:
            fail(task, f"{name}: with warmup, step 1 uses the rate 0 (the warmup starts from 0)")
        if 0 < warmup < total and abs(max(answer) - peak) > 1e-6 * peak:
            fail(
                task,
                f"{name} peaks at {max(answer):.3g}; the schedule reaches peak_lr={peak} after the warmup",
            )
        expect_close(task, torch.tensor(answer), torch.tensor(expected), name, atol=1e-12, rtol=1e-6)
    return passed(task, "every step of five schedules, warmup and decay")


# Task 2 ------------------------------------------------------------------------------------------------------

# torch.nn.utils wraps each in a no-grad decorator: forbid the function inside, which the wrapper calls.
# (get_total_norm and clip_grads_with_norm_ exist from torch 2.6 on.)
_NO_CLIPPING = {
    getattr(function, "__wrapped__", function): f"torch.nn.utils.{name}"
    for name in ("clip_grad_norm_", "clip_grad_value_", "get_total_norm", "clip_grads_with_norm_")
    if (function := getattr(nn_utils, name, None)) is not None
}


def _parameters_with_gradients(seed: int, scale: float) -> list[nn.Parameter]:
    """Four parameters of different shapes, three with a gradient (one has none, as a frozen layer's)."""
    gen = torch.Generator().manual_seed(seed)
    params = [nn.Parameter(torch.zeros(shape)) for shape in ((3, 4), (4,), (2, 2, 2), (5,))]
    for p in params[:3]:
        p.grad = scale * torch.randn(p.shape, generator=gen)
    return params  # params[3].grad is None


def check_clip_grad_norm(clip_grad_norm: Callable) -> bool:
    """Task 2: ``clip_grad_norm(parameters, max_norm)`` scales all gradients together, returns the norm before."""
    task = "Task 2 (gradient clipping by hand)"
    expect_callable(task, clip_grad_norm, "clip_grad_norm")
    for seed, scale, max_norm in ((1, 2.0, 1.0), (2, 0.05, 1.0), (3, 1.0, 0.5)):
        params = _parameters_with_gradients(seed, scale)
        before = [p.grad.clone() for p in params[:3]]
        norm = torch.cat([g.flatten() for g in before]).norm().item()  # the whole gradient as one vector
        coefficient = min(1.0, max_norm / (norm + 1e-6))
        with forbidden(task, _NO_CLIPPING, "; compute the norm and scale the gradients yourself"):
            returned = clip_grad_norm(params, max_norm)
        returned = expect_number(task, returned, f"clip_grad_norm(..., max_norm={max_norm})")
        after = [p.grad for p in params[:3]]
        if params[3].grad is not None:
            fail(task, "a parameter without a gradient (.grad is None) must be skipped, not given one")
        if any(a is None for a in after):
            fail(task, "a parameter lost its gradient: scale each .grad in place")
        if abs(returned - norm) > 1e-4 * norm and abs(returned - min(norm, max_norm)) < 1e-4 * norm:
            fail(task, "return the norm BEFORE clipping (what train() records), not after")
        if abs(returned - norm) > 1e-4 * norm:
            fail(
                task,
                f"you returned {returned:.4g}; the norm of all gradients together is {norm:.4g}: the square "
                "root of the sum of every squared entry of every parameter's gradient",
            )
        flat = torch.cat([a.flatten() for a in after])
        if norm <= max_norm and not is_close(flat, torch.cat([b.flatten() for b in before])):
            fail(task, f"a gradient of norm {norm:.3g}, below max_norm={max_norm}, must stay as it is")
        if norm > max_norm:
            if all(is_close(a, b) for a, b in zip(after, before)):
                fail(task, "the gradients did not change: scale each p.grad in place (p.grad.mul_(...))")
            per_tensor = [b * min(1.0, max_norm / (b.norm().item() + 1e-6)) for b in before]
            if all(is_close(a, e, atol=1e-6) for a, e in zip(after, per_tensor)):
                fail(
                    task,
                    "you clipped each parameter's gradient on its own; clip the whole gradient as one vector "
                    "(one norm over all parameters, one factor for all)",
                )
            if all(is_close(a, b.clamp(-max_norm, max_norm)) for a, b in zip(after, before)):
                fail(task, "you clipped each value (clip by value); scale the whole gradient by one factor")
            cosine = F.cosine_similarity(flat, torch.cat([b.flatten() for b in before]), dim=0).item()
            if cosine < 1 - 1e-5:
                fail(
                    task, "clipping changed the gradient's direction; multiply every entry by the same factor"
                )
        expected = torch.cat([b.flatten() * coefficient for b in before])
        expect_close(task, flat, expected, f"the gradients after clip_grad_norm(..., max_norm={max_norm})",
                     atol=1e-6, rtol=1e-4)  # fmt: skip
    return passed(task, "one factor for the whole gradient, only above max_norm")


# Task 3 ------------------------------------------------------------------------------------------------------


def _bf16_cases() -> tuple[torch.Tensor, torch.Tensor]:
    """Weights of several sizes and updates from tiny to large, none close to a rounding tie."""
    gen = torch.Generator().manual_seed(9)
    weights = (
        torch.randn(4000, generator=gen) * torch.logspace(-3, 0, 4000)[torch.randperm(4000, generator=gen)]
    )
    updates = torch.randn(4000, generator=gen).sign() * torch.logspace(-7, -1, 4000)
    stored = weights.bfloat16().float()
    # half the distance to the next bf16 number: an update smaller than this is rounded away
    half_gap = 2.0 ** (torch.floor(torch.log2(stored.abs())) - 8)
    keep = ((updates.abs() / half_gap) - 1).abs() > 0.2  # away from ties, where rounding modes differ
    keep &= stored.abs() != 2 * half_gap * 2.0**7  # and not at a power of two, where the gap below is smaller
    return weights[keep], updates[keep]


def check_survives_bf16(survives_bf16: Callable) -> bool:
    """Task 3: ``survives_bf16(weights, updates)`` is True where a bf16-stored weight changes."""
    task = "Task 3 (updates that bf16 rounds away)"
    expect_callable(task, survives_bf16, "survives_bf16")
    weights, updates = _bf16_cases()
    stored = weights.bfloat16()
    expected = (stored.float() + updates).bfloat16() != stored
    answer = survives_bf16(weights.clone(), updates.clone())
    expect_type(task, answer, torch.Tensor, "survives_bf16(weights, updates)")
    if answer.shape != weights.shape:
        fail(
            task,
            f"the answer has shape {tuple(answer.shape)}; one True/False per weight: {tuple(weights.shape)}",
        )
    if answer.dtype != torch.bool:
        fail(task, f"return booleans (True = the stored weight changes), got dtype {answer.dtype}")
    answer = answer.cpu()
    if bool(answer.all()) and not bool(expected.all()):
        fail(
            task,
            "every update survives in your answer: in float32 it would, but the weights are stored in "
            "bfloat16 (w.bfloat16()): compare the stored weight before and after the update",
        )
    half = weights.half()
    if torch.equal(answer, (half.float() + updates).half() != half):
        fail(task, "that is float16 (10 mantissa bits); bfloat16 keeps only 7 (torch.bfloat16)")
    if torch.equal(answer, (weights + updates).bfloat16() != stored):
        fail(
            task,
            "you added the update to the float32 weight; the weight is stored in bfloat16, so the update is "
            "added to the stored value: w.bfloat16() + update, rounded to bfloat16 again",
        )
    wrong = (answer != expected).nonzero().flatten()
    if len(wrong):
        i = int(wrong[0])
        fail(
            task,
            f"{len(wrong)} of {len(weights)} answers are wrong, e.g. weight {weights[i].item():.6g} with update "
            f"{updates[i].item():.3g}: {'it changes' if expected[i] else 'it stays'} in bfloat16",
        )
    return passed(task, f"{len(weights):,} weights and updates, from 1e-7 to 0.1")


# Task 4 ------------------------------------------------------------------------------------------------------

_NO_COURSE_CHECKPOINT = {
    course_checkpoint.save_checkpoint: "course_utils.checkpoint.save_checkpoint",
    course_checkpoint.load_checkpoint: "course_utils.checkpoint.load_checkpoint",
    course_checkpoint.get_rng_state: "course_utils.checkpoint.get_rng_state",
    course_checkpoint.set_rng_state: "course_utils.checkpoint.set_rng_state",
}
_TOTAL, _CUT = 12, 5  # a run of 12 steps, interrupted after step 5


@contextlib.contextmanager
def _all_random_state_kept() -> Iterator[None]:
    """Restore Python's, NumPy's and torch's (CPU) random state after the block, whatever it did to them."""
    py, np_state = random.getstate(), np.random.get_state()
    try:
        with isolated_rng():
            yield
    finally:
        random.setstate(py)
        np.random.set_state(np_state)


def _training_objects(seed: int):
    """A small classifier with dropout, AdamW with weight decay, and a warmup-then-decay schedule."""
    torch.random.default_generator.manual_seed(seed)  # the CPU generator only (inside isolated_rng)
    model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 3))
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.05, weight_decay=0.01)
    scheduler = linear_warmup_decay(optimizer, 3, _TOTAL)
    return model, optimizer, scheduler


def _data() -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(20)
    return torch.randn(_TOTAL, 8, 6, generator=gen), torch.randint(0, 3, (_TOTAL, 8), generator=gen)


def _steps(model, optimizer, scheduler, steps: range) -> list[float]:
    x, y = _data()
    model.train()
    losses = []
    for step in steps:  # dropout draws from torch's global generator
        loss = F.cross_entropy(model(x[step]), y[step])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
    return losses


def check_training_state(save_training_state: Callable, load_training_state: Callable) -> bool:
    """Task 4: a run saved after step 5 and loaded into fresh objects continues exactly as if never stopped."""
    task = "Task 4 (what a checkpoint must hold)"
    expect_callable(task, save_training_state, "save_training_state")
    expect_callable(task, load_training_state, "load_training_state")
    with _all_random_state_kept(), tempfile.TemporaryDirectory() as tmp:
        reference = _steps(*_training_objects(0), range(_TOTAL))
        model, optimizer, scheduler = _training_objects(0)
        _steps(model, optimizer, scheduler, range(_CUT))
        saved = {
            "weights": {k: v.clone() for k, v in model.state_dict().items()},
            "optimizer": optimizer.state_dict()["state"],
            "rng": torch.get_rng_state(),
        }
        saved["optimizer"] = {k: {n: t.clone() for n, t in s.items()} for k, s in saved["optimizer"].items()}
        path = Path(tmp) / "state.pt"
        with forbidden(
            task, _NO_COURSE_CHECKPOINT, "; design the checkpoint yourself (torch.save, torch.load)"
        ):
            save_training_state(path, model, optimizer, scheduler)
        # a new process: new objects with other initial weights, and the random state moved on
        model, optimizer, scheduler = _training_objects(1)
        torch.rand(100)
        with forbidden(
            task, _NO_COURSE_CHECKPOINT, "; design the checkpoint yourself (torch.save, torch.load)"
        ):
            load_training_state(path, model, optimizer, scheduler)
        weights = model.state_dict()
        if not all(torch.equal(weights[k], v) for k, v in saved["weights"].items()):
            fail(task, "after loading, the model's weights are not those saved: save model.state_dict()")
        state = optimizer.state_dict()["state"]
        same_moments = state.keys() == saved["optimizer"].keys() and all(
            torch.equal(state[k][n], t) for k, s in saved["optimizer"].items() for n, t in s.items()
        )
        if not same_moments:
            fail(
                task,
                "after loading, AdamW's running averages (and step counts) are not those saved: save "
                "optimizer.state_dict() too, or the resumed run restarts Adam from scratch",
            )
        if (
            scheduler.last_epoch != _CUT
            or optimizer.param_groups[0]["lr"] != _schedule(0.05, 3, _TOTAL)[_CUT]
        ):
            fail(
                task,
                f"after loading, the learning rate schedule is at step {scheduler.last_epoch}, not {_CUT}: "
                "save scheduler.state_dict() too",
            )
        if not torch.equal(torch.get_rng_state(), saved["rng"]):
            fail(
                task,
                "after loading, torch's random state is not the one at saving time, so dropout draws other "
                "masks: save torch.get_rng_state() and restore it with torch.set_rng_state()",
            )
        resumed = _steps(model, optimizer, scheduler, range(_CUT, _TOTAL))
    expect_close(task, torch.tensor(resumed), torch.tensor(reference[_CUT:]), "the losses of steps 6-12 after "
                 "resuming (against the uninterrupted run)", atol=0.0, rtol=0.0)  # fmt: skip
    return passed(
        task, "weights, AdamW's averages, the schedule and the random state: steps 6-12 repeat exactly"
    )
