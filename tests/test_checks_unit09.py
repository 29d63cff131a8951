"""course_utils.checks.unit09: every check passes a right answer and rejects the wrong ones it is meant to catch.

The right answers are written independently of the solution sheet, without the shortcuts the checks forbid (the
course's scheduler, torch's clipping functions, the course's checkpoint module). Every test also verifies that the
check left the learner's global random state as it found it.
"""

from __future__ import annotations

import random

import pytest
import torch

from course_utils import checkpoint
from course_utils.checks import CheckError, unit09
from course_utils.train import linear_warmup_decay

pytestmark = pytest.mark.usefixtures("one_thread", "global_random_state_untouched")


# Task 1: the learning rate of each step ---------------------------------------------------------------------


def _lr(step, peak, warmup, total, shift=0, start=None):
    s = step - 1 + shift  # scheduler steps taken before optimizer step `step`
    if start is not None and step == 1:
        return start
    if s < warmup:
        return peak * s / warmup
    return peak * max(0.0, (total - s) / max(1, total - warmup))


def _with_scheduler(step, peak, warmup, total):
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=peak)
    scheduler = linear_warmup_decay(optimizer, warmup, total)
    for _ in range(step - 1):
        optimizer.step()
        scheduler.step()
    return optimizer.param_groups[0]["lr"]


def _lambda_lr(step, peak, warmup, total):
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=peak)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min(1.0, s / max(1, warmup)))
    return scheduler.get_last_lr()[0]


@pytest.mark.parametrize(
    "answer, message",
    [
        (lambda step, peak, warmup, total: _lr(step, peak, warmup, total, shift=1), "one step ahead"),
        (
            lambda step, peak, warmup, total: _lr(step, peak, warmup, total, start=peak / 100),
            "uses the rate 0",
        ),
        (lambda step, peak, warmup, total: 0.5 * _lr(step, peak, warmup, total), "peaks at"),
        (lambda step, peak, warmup, total: peak, "differs"),  # no schedule at all
        (lambda step, peak, warmup, total: peak * (1 - (step - 1) / total), "differs"),  # decay, no warmup
        (lambda step, peak, warmup, total: None, "one number"),
        (_with_scheduler, "linear_warmup_decay"),
        (_lambda_lr, "torch.optim.lr_scheduler"),
    ],
)
def test_unit09_lr_at(answer, message):
    assert unit09.check_lr_at(_lr)
    assert unit09.check_lr_at(lambda *args: torch.tensor(_lr(*args)))  # a one-number tensor is a number
    with pytest.raises(CheckError, match=message):
        unit09.check_lr_at(answer)


# Task 2: gradient clipping by hand -------------------------------------------------------------------------


def _clip(parameters, max_norm, per_tensor=False, after=False, in_place=True, by_value=False, always=False):
    grads = [p.grad for p in parameters if p.grad is not None]
    norm = sum((g**2).sum() for g in grads).sqrt().item()
    if by_value:
        for g in grads:
            g.clamp_(-max_norm, max_norm)
        return norm
    for g in grads:
        scale = max_norm / (g.norm().item() if per_tensor else norm)
        if always or scale < 1:
            if in_place:
                g.mul_(scale)
    return min(norm, max_norm) if after else norm


def _fill_missing(parameters, max_norm):
    for p in parameters:
        if p.grad is None:
            p.grad = torch.zeros_like(p)
    return _clip(parameters, max_norm)


def _torch_clip(parameters, max_norm):
    return torch.nn.utils.clip_grad_norm_(parameters, max_norm)


def _torch_total(parameters, max_norm):
    grads = [p.grad for p in parameters if p.grad is not None]
    return torch.nn.utils.get_total_norm(grads).item()


@pytest.mark.parametrize(
    "answer, message",
    [
        (lambda ps, m: _clip(ps, m, per_tensor=True), "each parameter's gradient on its own"),
        (lambda ps, m: _clip(ps, m, after=True), "BEFORE clipping"),
        (lambda ps, m: _clip(ps, m, in_place=False), "did not change"),
        (lambda ps, m: _clip(ps, m, by_value=True), "clip by value"),
        (lambda ps, m: _clip(ps, m, always=True), "must stay as it is"),
        (lambda ps, m: _clip(ps, m) ** 2, "you returned"),  # the squared norm
        (lambda ps, m: None, "one number"),
        (_fill_missing, "skipped"),
        (_torch_clip, "clip_grad_norm_"),
        (_torch_total, "get_total_norm"),
    ],
)
def test_unit09_clip_grad_norm(answer, message):
    assert unit09.check_clip_grad_norm(_clip)
    with pytest.raises(CheckError, match=message):
        unit09.check_clip_grad_norm(answer)


# Task 3: updates that bf16 rounds away -------------------------------------------------------------------------


def _survives(weights, updates):
    stored = weights.to(torch.bfloat16)
    return stored.float().add(updates).to(torch.bfloat16) != stored


def _survives_rounding_the_update_first(weights, updates):
    stored = weights.bfloat16()
    return stored + updates.bfloat16() != stored


@pytest.mark.parametrize(
    "answer, message",
    [
        (lambda w, u: (w + u) != w, "every update survives"),
        (lambda w, u: (w.half().float() + u).half() != w.half(), "float16"),
        (lambda w, u: (w + u).bfloat16() != w.bfloat16(), "added the update to the float32 weight"),
        (lambda w, u: u.abs() > 2 ** (torch.floor(torch.log2(w.abs())) - 7), "answers are wrong"),  # 1 gap
        (lambda w, u: _survives(w, u).float(), "booleans"),
        (lambda w, u: _survives(w, u)[:10], "one True/False per weight"),
        (lambda w, u: bool(_survives(w, u).all()), "should be a Tensor"),
    ],
)
def test_unit09_survives_bf16(answer, message):
    assert unit09.check_survives_bf16(_survives)
    assert unit09.check_survives_bf16(_survives_rounding_the_update_first)  # the same away from ties
    with pytest.raises(CheckError, match=message):
        unit09.check_survives_bf16(answer)


# Task 4: what a checkpoint must hold --------------------------------------------------------------------------


def _saver(model=True, optimizer=True, scheduler=True, rng=True):
    def save(path, m, o, s):
        state = {"python": random.getstate()}  # harmless extra: the check restores Python's state anyway
        if model:
            state["model"] = m.state_dict()
        if optimizer:
            state["optimizer"] = o.state_dict()
        if scheduler:
            state["scheduler"] = s.state_dict()
        if rng:
            state["rng"] = torch.get_rng_state()
        torch.save(state, path)

    return save


def _load(path, m, o, s):
    state = torch.load(path, weights_only=False)
    for key, target in (("model", m), ("optimizer", o), ("scheduler", s)):
        if key in state:
            target.load_state_dict(state[key])
    if "rng" in state:
        torch.set_rng_state(state["rng"])
    random.setstate(state["python"])


def _course_save(path, m, o, s):
    checkpoint.save_checkpoint(path.parent / "ckpt", m, o, s)


@pytest.mark.parametrize(
    "save, load, message",
    [
        (_saver(model=False), _load, "weights are not those saved"),
        (_saver(optimizer=False), _load, "running averages"),
        (_saver(scheduler=False), _load, "schedule is at step 0"),
        (_saver(rng=False), _load, "random state"),
        (_saver(), lambda path, m, o, s: None, "weights are not those saved"),  # loads nothing
        (_course_save, _load, "course_utils.checkpoint.save_checkpoint"),
    ],
)
def test_unit09_training_state(save, load, message):
    assert unit09.check_training_state(_saver(), _load)
    with pytest.raises(CheckError, match=message):
        unit09.check_training_state(save, load)
    with pytest.raises(CheckError, match="pass the function"):
        unit09.check_training_state(_saver(), "load")
