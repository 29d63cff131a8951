"""course_utils.checks.unit04: every check passes a right answer and rejects the wrong ones it is meant to catch.

The right answers are written independently of the solution sheet, without the library shortcuts the checks
forbid (F.layer_norm, layer(x), layer.attention(x), layer.output(...)). Every test also verifies that the check
left the learner's global random state as it found it.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from course_utils.checks import CheckError, unit04

pytestmark = pytest.mark.usefixtures("one_thread", "global_random_state_untouched")


def _ln(x, w, b, eps, unbiased=False, eps_outside=False, no_eps=False):
    mean = x.mean(-1, keepdim=True)
    var = x.var(-1, unbiased=unbiased, keepdim=True)
    if no_eps:
        return w * (x - mean) / var.sqrt() + b
    return w * (x - mean) / ((var.sqrt() + eps) if eps_outside else torch.sqrt(var + eps)) + b


@pytest.mark.parametrize(
    "answer, message",
    [
        (lambda x, w, b, eps: _ln(x, w, b, eps, unbiased=True), "unbiased"),
        (lambda x, w, b, eps: _ln(x, torch.ones_like(w), torch.zeros_like(b), eps), "weight and bias"),
        (lambda x, w, b, eps: _ln(x, w, b, eps, no_eps=True), "constant row .* gives NaN"),
        (lambda x, w, b, eps: _ln(x, w, b, eps, eps_outside=True), "INSIDE the square root"),
        (lambda x, w, b, eps: F.layer_norm(x, x.shape[-1:], w, b, eps), "F.layer_norm"),
        (lambda x, w, b, eps: torch.nn.functional.layer_norm(x, x.shape[-1:], w, b, eps), "F.layer_norm"),
        (lambda x, w, b, eps: torch.layer_norm(x, x.shape[-1:], w, b, eps), "torch.layer_norm"),
    ],
)
def test_unit04_layer_norm(answer, message):
    assert unit04.check_layer_norm(_ln)
    with pytest.raises(CheckError, match=message):
        unit04.check_layer_norm(answer)


def _pre(x, layer, mask=None, post=False, shared_norm=False, use_mask=True, final_norm=False):
    a = layer.attention
    ln1, ln2 = a.output.LayerNorm, (a.output.LayerNorm if shared_norm else layer.output.LayerNorm)
    mask = mask if use_mask else None
    if post:
        h = _ln(x + a.output.dense(a.self(x, mask)[0]), ln1.weight, ln1.bias, ln1.eps)
        return _ln(h + layer.output.dense(layer.intermediate(h)), ln2.weight, ln2.bias, ln2.eps)
    h = x + a.output.dense(a.self(_ln(x, ln1.weight, ln1.bias, ln1.eps), mask)[0])
    out = h + layer.output.dense(layer.intermediate(_ln(h, ln2.weight, ln2.bias, ln2.eps)))
    return _ln(out, ln2.weight, ln2.bias, ln2.eps) if final_norm else out


@pytest.mark.parametrize(
    "answer, message",
    [
        (lambda x, layer, mask=None: _pre(x, layer, mask, post=True), "post-LN"),
        (lambda x, layer, mask=None: _pre(x, layer, mask, final_norm=True), "no LayerNorm after the sum"),
        (lambda x, layer, mask=None: _pre(x, layer, mask, shared_norm=True), "its own LayerNorm"),
        (lambda x, layer, mask=None: _pre(x, layer, mask, use_mask=False), "pass the mask"),
        (lambda x, layer, mask=None: layer(x, mask)[0], "layer\\(x\\)"),
        (
            lambda x, layer, mask=None: x + layer.attention(layer.attention.output.LayerNorm(x), mask)[0],
            "layer.attention",
        ),
        (lambda x, layer, mask=None: x, "differs"),
    ],
)
def test_unit04_pre_ln_layer(answer, message):
    assert unit04.check_pre_ln_layer(_pre)
    with pytest.raises(CheckError, match=message):
        unit04.check_pre_ln_layer(answer)


def _gradient_norms(layers, x, target, pre_ln, everything=False, final_norm=True, reverse=False, keep=False):
    """Written with backward() and .grad, unlike the check's torch.autograd.grad."""
    for p in (p for layer in layers for p in layer.parameters()):
        p.grad = None
    h = x
    for layer in layers:
        h = _pre(h, layer) if pre_ln else layer(h)[0]
    if pre_ln and final_norm:
        h = _ln(h, torch.ones(h.shape[-1]), torch.zeros(h.shape[-1]), 1e-5)
    ((h - target) ** 2).mean().backward()
    norms = []
    for layer in layers:
        params = (
            layer.parameters()
            if everything
            else (m.weight for m in layer.modules() if isinstance(m, nn.Linear))
        )
        norms.append(torch.stack([p.grad.pow(2).sum() for p in params]).sum().sqrt().item())
    if not keep:
        for p in (p for layer in layers for p in layer.parameters()):
            p.grad = None
    return norms[::-1] if reverse else norms


def _piling_up(layers, x, target, pre_ln):
    """Forgets to clear .grad: the second call on the same layers adds to the first."""
    h = x
    for layer in layers:
        h = _pre(h, layer) if pre_ln else layer(h)[0]
    if pre_ln:
        h = F.layer_norm(h, h.shape[-1:])
    F.mse_loss(h, target).backward()
    return [
        math.sqrt(sum(m.weight.grad.pow(2).sum().item() for m in layer.modules() if isinstance(m, nn.Linear)))
        for layer in layers
    ]


@pytest.mark.parametrize(
    "answer, message",
    [
        (lambda *a: _gradient_norms(*a, everything=True), "only the weight matrices"),
        (lambda layers, x, target, pre_ln: _gradient_norms(layers, x, target, False), "arrange the layers"),
        (lambda *a: _gradient_norms(*a, final_norm=False), "ends with a LayerNorm"),
        (lambda *a: _gradient_norms(*a, reverse=True), "last to first"),
        (lambda *a: _gradient_norms(*a, keep=True), "left gradients in .grad"),
        (_piling_up, "piled up"),
        (lambda *a: _gradient_norms(*a)[:-1], "one per layer"),
        (lambda *a: dict(enumerate(_gradient_norms(*a))), "not a dict"),
        (lambda *a: [v * 1.01 for v in _gradient_norms(*a)], "differs"),
    ],
)
def test_unit04_gradient_norms(answer, message):
    assert unit04.check_gradient_norms(_gradient_norms)
    assert unit04.check_gradient_norms(lambda *a: torch.tensor(_gradient_norms(*a)))  # a 1-D tensor is fine
    with pytest.raises(CheckError, match=message):
        unit04.check_gradient_norms(answer)


def _rotation(k, d, sign=1.0):
    blocks = []
    for i in range(d // 2):
        angle = k * 10000 ** (-2 * i / d)
        c, s = math.cos(angle), sign * math.sin(angle)
        blocks.append(torch.tensor([[c, s], [-s, c]]))
    return torch.block_diag(*blocks)


def _fitted(k, d):
    """A least-squares fit on the first 8 positions only: right for some rows, not a rotation."""
    position = torch.arange(8 + abs(k)).double()[:, None]
    frequency = 10000 ** (-torch.arange(0, d, 2).double() / d)
    table = torch.zeros(len(position), d, dtype=torch.float64)
    table[:, 0::2], table[:, 1::2] = torch.sin(position * frequency), torch.cos(position * frequency)
    src, dst = (table[:8], table[k : k + 8]) if k >= 0 else (table[-k : -k + 8], table[:8])
    return (torch.linalg.lstsq(src, dst).solution.T).float()


@pytest.mark.parametrize(
    "answer, message",
    [
        (lambda k, d: _rotation(k, d, sign=-1.0), "wrong way"),
        (lambda k, d: torch.eye(d), "identity"),
        (lambda k, d: _rotation(k, d)[: d - 1], "shape"),
        (lambda k, d: _rotation(1, d), "differs from PE"),
        (_fitted, "differs from PE|wrong way"),
    ],
)
def test_unit04_position_rotation(answer, message):
    assert unit04.check_position_rotation(_rotation)
    with pytest.raises(CheckError, match=message):
        unit04.check_position_rotation(answer)
