"""Checks for exercise sheet 04: the transformer encoder.

References are PyTorch (``F.layer_norm``), the course's ``BertLayer`` and the sinusoidal table computed here in
float64. Task 3's check builds its own stacks of layers and its own data, and runs the learner's measurement on
them.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from course_utils.checks import (
    expect_callable,
    expect_close,
    expect_shape,
    fail,
    forbidden,
    is_close,
    isolated_rng,
    passed,
)
from course_utils.model import BertAttention, BertConfig, BertLayer, BertOutput, extended_attention_mask

_NO_LAYER_NORM = {F.layer_norm: "F.layer_norm (or nn.LayerNorm)", torch.layer_norm: "torch.layer_norm"}
_NO_LAYER_CALL = {
    BertLayer.forward: "layer(x) (the whole BertLayer)",
    BertAttention.forward: "layer.attention(x) (attention, residual and LayerNorm in one call)",
    BertOutput.forward: "layer.output(...) (dense, residual and LayerNorm in one call)",
}

__all__ = [
    "check_layer_norm",
    "check_pre_ln_layer",
    "check_gradient_norms",
    "check_position_rotation",
]


def check_layer_norm(layer_norm: Callable) -> bool:
    """Task 1: ``layer_norm(x, weight, bias, eps)`` equals ``F.layer_norm`` over the last dimension."""
    task = "Task 1 (LayerNorm by hand)"
    expect_callable(task, layer_norm, "layer_norm")
    x = torch.tensor([[1.0, 2.0, 3.0, 4.0]])
    with forbidden(task, _NO_LAYER_NORM, "; write it from mean, var and sqrt"):
        out = layer_norm(x, torch.ones(4), torch.zeros(4), 1e-12)
    expect_shape(task, out, (1, 4), "layer_norm of [[1, 2, 3, 4]]")
    unbiased = (x - 2.5) / x.std(unbiased=True)
    if is_close(out, unbiased, atol=1e-4):
        fail(
            task,
            "you divided by the unbiased standard deviation (n - 1); LayerNorm uses the biased one: "
            "x.var(dim=-1, unbiased=False, keepdim=True)",
        )
    expect_close(
        task,
        out,
        [[-1.3416408, -0.4472136, 0.4472136, 1.3416408]],
        "layer_norm([1, 2, 3, 4]) (mean 2.5, variance 1.25)",
    )
    # a constant row has variance 0: only eps keeps the division finite (the normalised row is 0)
    constant = torch.full((1, 4), 2.0)
    with forbidden(task, _NO_LAYER_NORM, "; write it from mean, var and sqrt"):
        out = layer_norm(constant, torch.ones(4), torch.zeros(4), 1e-5)
    expect_shape(task, out, (1, 4), "layer_norm of the constant row [[2, 2, 2, 2]]")
    if not torch.isfinite(out).all():
        fail(
            task,
            "layer_norm of the constant row [[2, 2, 2, 2]] gives NaN: its variance is 0, so divide by "
            "sqrt(variance + eps), with the eps argument inside the square root",
        )
    expect_close(task, out, torch.zeros(1, 4), "layer_norm of the constant row [[2, 2, 2, 2]]")
    gen = torch.Generator().manual_seed(4)
    x = torch.randn(2, 3, 6, generator=gen) * 3 + 1
    weight = torch.randn(6, generator=gen)
    bias = torch.randn(6, generator=gen)
    with forbidden(task, _NO_LAYER_NORM, "; write it from mean, var and sqrt"):
        out = layer_norm(x, weight, bias, 1e-5)
    expect_shape(task, out, (2, 3, 6), "layer_norm of a (2, 3, 6) tensor")
    expect_close(task, out, F.layer_norm(x, (6,), weight, bias, 1e-5), "layer_norm with weight and bias")
    # a row whose variance (1e-4) is comparable to eps (1e-4): where eps sits changes the result
    small = torch.tensor([[1.0, 1.01, 0.99, 1.0], [0.0, 0.02, -0.02, 0.0]])
    with forbidden(task, _NO_LAYER_NORM, "; write it from mean, var and sqrt"):
        out = layer_norm(small, torch.ones(4), torch.zeros(4), 1e-4)
    expect_shape(task, out, (2, 4), "layer_norm of rows with a tiny variance")
    mean, var = small.mean(-1, keepdim=True), small.var(-1, unbiased=False, keepdim=True)
    if is_close(out, (small - mean) / (var.sqrt() + 1e-4), atol=1e-5):
        fail(
            task, "eps belongs INSIDE the square root: (x - mean) / sqrt(var + eps), not / (sqrt(var) + eps)"
        )
    expect_close(
        task, out, F.layer_norm(small, (4,), eps=1e-4), "layer_norm of rows with a tiny variance (eps=1e-4)"
    )
    return passed(task, "equals F.layer_norm")


def _sinusoidal(T: int, d: int) -> torch.Tensor:
    position = torch.arange(T, dtype=torch.float64)[:, None]  # (T, 1)
    frequency = 10000.0 ** (-torch.arange(0, d, 2, dtype=torch.float64) / d)  # (d/2,)
    table = torch.zeros(T, d, dtype=torch.float64)
    table[:, 0::2] = torch.sin(position * frequency)
    table[:, 1::2] = torch.cos(position * frequency)
    return table


def _layer(seed: int, config: BertConfig | None = None) -> BertLayer:
    config = config or BertConfig(hidden_size=16, num_attention_heads=4, intermediate_size=32)
    with isolated_rng(seed), torch.no_grad():  # module init draws from the global generator
        layer = BertLayer(config).eval()  # eval: dropout off, so the output is deterministic
        for p in layer.parameters():  # move LayerNorm away from its (1, 0) start so that its weights matter
            p.add_(0.1 * torch.randn(p.shape))
    return layer


def _pre_ln(x: torch.Tensor, layer: BertLayer, mask: torch.Tensor | None = None) -> torch.Tensor:
    """The pre-LN arrangement of ``layer``'s parts: x + sublayer(LayerNorm(x)), twice, nothing after."""
    a = layer.attention
    h = x + a.output.dense(a.self(a.output.LayerNorm(x), mask)[0])
    return h + layer.output.dense(layer.intermediate(layer.output.LayerNorm(h)))


def check_pre_ln_layer(pre_ln_layer: Callable) -> bool:
    """Task 2: ``pre_ln_layer(x, layer, mask)`` is the pre-LN arrangement of a BertLayer's parts."""
    task = "Task 2 (a pre-LN encoder layer)"
    expect_callable(task, pre_ln_layer, "pre_ln_layer")
    layer = _layer(6)
    gen = torch.Generator().manual_seed(7)
    x = 2 * torch.randn(2, 5, 16, generator=gen) + 0.5  # not normalised: LayerNorm must matter
    attention_mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])
    mask = extended_attention_mask(attention_mask, x.dtype)
    with torch.no_grad():
        expected = _pre_ln(x, layer, mask)
        post_ln, _ = layer(x, mask)
        with forbidden(task, _NO_LAYER_CALL, "; assemble the layer from its parts"):
            out = pre_ln_layer(x, layer, mask)
    expect_shape(task, out, (2, 5, 16), "the output for x (2, 5, 16)")
    if is_close(out, post_ln, atol=1e-5):
        fail(
            task,
            "that is post-LN, BERT's order; pre-LN normalises each sub-layer's INPUT: x + sublayer(LN(x))",
        )
    if is_close(out, layer.output.LayerNorm(expected), atol=1e-5):
        fail(task, "pre-LN puts no LayerNorm after the sum: the residual stream itself is never normalised")
    with torch.no_grad():
        a = layer.attention
        h = x + a.output.dense(a.self(a.output.LayerNorm(x), mask)[0])
        one_norm = h + layer.output.dense(layer.intermediate(a.output.LayerNorm(h)))
        no_mask = _pre_ln(x, layer, None)
    if is_close(out, one_norm, atol=1e-5):
        fail(task, "the feed-forward sub-layer has its own LayerNorm: layer.output.LayerNorm")
    if is_close(out, no_mask, atol=1e-5):
        fail(task, "pass the mask to the self-attention: padded tokens must stay invisible")
    expect_close(task, out, expected, "the output (compared with the pre-LN arrangement of the same layer)")
    return passed(task, "x + sublayer(LayerNorm(x)) for both sub-layers")


def _stack(seed: int, depth: int = 4, H: int = 16) -> list[BertLayer]:
    config = BertConfig(hidden_size=H, num_attention_heads=2, intermediate_size=2 * H)
    with isolated_rng(seed):
        layers = [BertLayer(config).eval() for _ in range(depth)]
        for layer in layers:
            for module in layer.modules():
                if isinstance(module, nn.Linear):
                    nn.init.xavier_normal_(module.weight)  # sub-layers as large as their inputs
    return layers


def _weights(layer: BertLayer, everything: bool = False) -> list[torch.Tensor]:
    if everything:
        return list(layer.parameters())
    return [m.weight for m in layer.modules() if isinstance(m, nn.Linear)]


def _norms(layers, x, target, pre_ln: bool, everything: bool = False, final_norm: bool = True) -> list[float]:
    h = x
    for layer in layers:
        h = _pre_ln(h, layer) if pre_ln else layer(h)[0]
    if pre_ln and final_norm:
        h = F.layer_norm(h, h.shape[-1:])
    loss = F.mse_loss(h, target)
    per_layer = [_weights(layer, everything) for layer in layers]
    grads = torch.autograd.grad(loss, [w for ws in per_layer for w in ws])
    norms, i = [], 0
    for ws in per_layer:
        norms.append(math.sqrt(sum(g.pow(2).sum().item() for g in grads[i : i + len(ws)])))
        i += len(ws)
    return norms


def _as_floats(task: str, answer, depth: int, name: str) -> list[float]:
    if isinstance(answer, torch.Tensor) and answer.dim() == 1:
        answer = answer.tolist()
    if isinstance(answer, dict):
        fail(task, f"{name} should be a list of numbers, one per layer, not a dict")
    if not isinstance(answer, (list, tuple)) or not all(
        isinstance(v, numbers.Real) or (isinstance(v, torch.Tensor) and v.numel() == 1) for v in answer
    ):
        fail(task, f"{name} should be a list of numbers (one per layer), got {type(answer).__name__}")
    if len(answer) != depth:
        fail(task, f"{name} has {len(answer)} numbers for a stack of {depth} layers: one per layer, in order")
    return [float(v) for v in answer]


def check_gradient_norms(gradient_norms: Callable) -> bool:
    """Task 3: ``gradient_norms(layers, x, target, pre_ln)`` is the per-layer gradient norm of the weights."""
    task = "Task 3 (gradient norms per layer)"
    expect_callable(task, gradient_norms, "gradient_norms")
    for seed in (11, 12):
        layers = _stack(seed)
        gen = torch.Generator().manual_seed(seed)
        x, target = torch.randn(3, 6, 16, generator=gen), torch.randn(3, 6, 16, generator=gen)
        for pre_ln in (False, True):
            name = f"gradient_norms(..., pre_ln={pre_ln})"
            expected = _norms(layers, x, target, pre_ln)
            first = _as_floats(task, gradient_norms(layers, x, target, pre_ln), len(layers), name)
            again = _as_floats(task, gradient_norms(layers, x, target, pre_ln), len(layers), name)
            if not is_close(torch.tensor(again), torch.tensor(first), atol=1e-7, rtol=1e-4):
                fail(
                    task,
                    f"two calls of {name} on the same layers gave different norms: gradients piled up in "
                    ".grad between calls (use torch.autograd.grad, or set .grad to None first)",
                )
            actual = torch.tensor(first)
            if is_close(actual, torch.tensor(expected[::-1]), atol=1e-7) and not is_close(
                actual, torch.tensor(expected), atol=1e-7
            ):
                fail(task, f"{name} lists the layers from last to first; list them from the input upwards")
            hints = [
                (
                    _norms(layers, x, target, pre_ln, everything=True),
                    "count only the weight matrices of the "
                    "linear layers (module.weight of each nn.Linear), not the biases or the LayerNorms",
                ),
                (
                    _norms(layers, x, target, not pre_ln),
                    "pre_ln=True and pre_ln=False must arrange the layers differently",
                ),
            ]
            if pre_ln:
                hints.append(
                    (
                        _norms(layers, x, target, True, final_norm=False),
                        "a pre-LN stack ends with a LayerNorm "
                        "without weights, F.layer_norm(h, h.shape[-1:]), before the loss",
                    )
                )
            for wrong, hint in hints:
                if is_close(actual, torch.tensor(wrong), atol=1e-7) and not is_close(
                    actual, torch.tensor(expected), atol=1e-7
                ):
                    fail(task, f"{name}: {hint}")
            expect_close(
                task, actual, torch.tensor(expected), f"{name} (on the check's own stack)", atol=1e-7
            )
        if any(p.grad is not None for layer in layers for p in layer.parameters()):
            fail(task, "your function left gradients in .grad: measure without changing the layers")
    return passed(task, "the check's own stacks, post-LN and pre-LN")


def _rotation(k: int, d: int) -> torch.Tensor:
    M = torch.zeros(d, d, dtype=torch.float64)
    for i in range(d // 2):
        angle = k * 10000.0 ** (-2 * i / d)
        c, s = math.cos(angle), math.sin(angle)
        # sin((p+k)w) = sin(pw) cos(kw) + cos(pw) sin(kw);  cos((p+k)w) = cos(pw) cos(kw) - sin(pw) sin(kw)
        M[2 * i, 2 * i], M[2 * i, 2 * i + 1] = c, s
        M[2 * i + 1, 2 * i], M[2 * i + 1, 2 * i + 1] = -s, c
    return M


def check_position_rotation(position_rotation: Callable) -> bool:
    """Task 4: ``position_rotation(k, d)`` is the (d, d) matrix M with PE[p + k] = M @ PE[p] for every p."""
    task = "Task 4 (relative positions as a rotation)"
    expect_callable(task, position_rotation, "position_rotation")
    for k, d in ((1, 4), (3, 16), (-2, 8), (25, 32)):
        M = position_rotation(k, d)
        name = f"position_rotation({k}, {d})"
        expect_shape(task, M, (d, d), name)
        M = M.double()
        if is_close(M, torch.eye(d, dtype=torch.float64), atol=1e-6) and k != 0:
            fail(task, f"{name} is the identity: it must move every position {k} steps")
        if is_close(M, _rotation(k, d).T, atol=1e-5):
            fail(
                task, f"{name} turns the wrong way (it is the matrix for {-k}): check the signs of the sines"
            )
        table = _sinusoidal(1200, d)  # positions far beyond anything fitted on a short table
        p = torch.tensor([0, 7, 100, 1000]) - min(k, 0)
        moved = table[p] @ M.T  # row p of the table, times M
        if not is_close(moved, table[p + k], atol=1e-4):
            worst = (moved - table[p + k]).abs().amax(-1)
            fail(
                task,
                f"{name} @ PE[p] differs from PE[p + {k}] at p = {p[worst.argmax()].item()} "
                f"(largest difference {worst.max().item():.2g}); M must depend on k only, not on p",
            )
    return passed(task, "one matrix per offset k, the same at every position")
