"""Checks for exercise sheet 03: attention.

The references are the course's own code (``course_utils.model``), PyTorch's ``FlopCounterMode``, and
measurements the check makes with its own random generator. Shortcuts a task forbids (a library softmax, the
library's attention, building a model to count something) raise while the learner's code runs.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from course_utils.checks import (
    expect_callable,
    expect_close,
    expect_number,
    expect_shape,
    expect_type,
    fail,
    forbidden,
    is_close,
    isolated_rng,
    passed,
)
from course_utils.model import BertConfig, BertLayer, attention
from course_utils.utils import count_parameters

__all__ = [
    "check_cross_attention",
    "check_attention_memory",
    "check_dropout_row_sums",
    "check_layer_flops",
]

# The softmax and every shortcut around it: the task is to build attention from exp, sum and matmul
_NO_SOFTMAX = {
    torch.softmax: "torch.softmax",
    torch.Tensor.softmax: "Tensor.softmax",
    F.softmax: "F.softmax",
    torch.special.softmax: "torch.special.softmax",
    torch.log_softmax: "torch.log_softmax",
    torch.Tensor.log_softmax: "Tensor.log_softmax",
    F.log_softmax: "F.log_softmax",
    F.scaled_dot_product_attention: "F.scaled_dot_product_attention",
    attention: "course_utils.model.attention",
}
# Nothing may be built or drawn: a formula from the config's numbers is asked for
_NO_MODEL = {torch.empty: "torch.empty (building a model)", count_parameters: "count_parameters"}
_NO_RANDOM = {
    torch.rand: "torch.rand",
    torch.randn: "torch.randn",
    torch.bernoulli: "torch.bernoulli",
    torch.Tensor.bernoulli_: "Tensor.bernoulli_",
    F.dropout: "F.dropout",
    torch.dropout: "torch.dropout",
}


def _pair(task: str, answer: object, names: tuple[str, str]) -> tuple:
    """Two values returned as a tuple (or list), else a clear message."""
    if not isinstance(answer, (tuple, list)) or len(answer) != 2:
        fail(task, f"return the pair ({names[0]}, {names[1]}), got {type(answer).__name__}")
    return tuple(answer)


def _cross_reference(x, memory, weights, memory_mask):
    """Single-head cross-attention with the library's ``attention``: output (B, Tq, H), weights (B, Tq, Tk)."""
    q = F.linear(x, weights["query.weight"], weights["query.bias"])[:, None]  # (B, 1, Tq, H)
    k = F.linear(memory, weights["key.weight"], weights["key.bias"])[:, None]  # (B, 1, Tk, H)
    v = F.linear(memory, weights["value.weight"], weights["value.bias"])[:, None]
    mask = None if memory_mask is None else memory_mask[:, None, None, :]  # (B, 1, 1, Tk)
    out, probs = attention(q, k, v, mask)
    return out[:, 0], probs[:, 0]


def check_cross_attention(cross_attention: Callable) -> bool:
    """Task 1: ``cross_attention(x, memory, weights, memory_mask=None)`` -> (output, weights).

    ``x`` (B, Tq, H) gives the queries, ``memory`` (B, Tk, H) the keys and values, ``weights`` holds
    ``query.weight`` (H, H), ``query.bias`` (H,) and the same for ``key`` and ``value``; ``memory_mask`` (B, Tk)
    is True at real memory tokens. One head. No library softmax or attention while it runs.
    """
    task = "Task 1 (cross-attention)"
    expect_callable(task, cross_attention, "cross_attention")
    gen = torch.Generator().manual_seed(31)
    H = 6
    weights = {
        f"{name}.{kind}": torch.randn(*((H, H) if kind == "weight" else (H,)), generator=gen) / math.sqrt(H)
        for name in ("query", "key", "value")
        for kind in ("weight", "bias")
    }
    cases = [(2, 3, 5, torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]]).bool()), (1, 4, 2, None)]
    for B, Tq, Tk, memory_mask in cases:
        x = torch.randn(B, Tq, H, generator=gen) * 2
        memory = torch.randn(B, Tk, H, generator=gen) * 2
        ref_out, ref_weights = _cross_reference(x, memory, weights, memory_mask)
        where = f"{Tq} queries and {Tk} memory tokens"
        with forbidden(task, _NO_SOFTMAX, "; write the softmax with exp and sum"):
            answer = cross_attention(x.clone(), memory.clone(), dict(weights), memory_mask)
        out, probs = _pair(task, answer, ("output", "weights"))
        expect_type(task, probs, torch.Tensor, "weights (the second element of the pair)")
        if tuple(probs.shape) == (B, Tq, Tq) and Tq != Tk:
            fail(
                task, f"with {where} your weights are (B, Tq, Tq): the keys must come from memory, not from x"
            )
        expect_shape(task, probs, (B, Tq, Tk), f"the weights for {where}")
        expect_shape(task, out, (B, Tq, H), f"the output for {where}")
        probs = probs.detach().cpu()
        if not is_close(probs.sum(-1), torch.ones(B, Tq), atol=1e-4):
            fail(task, "each query's weights must sum to 1: take the softmax over the memory tokens (dim=-1)")
        if memory_mask is not None and probs[~memory_mask[:, None, :].expand(B, Tq, Tk)].abs().max() > 1e-6:
            fail(task, "padded memory tokens still get weight: the mask hides KEYS (memory), for every query")
        q = F.linear(x, weights["query.weight"], weights["query.bias"])
        k = F.linear(memory, weights["key.weight"], weights["key.bias"])
        unscaled = (q @ k.transpose(1, 2)).masked_fill(
            ~memory_mask[:, None, :] if memory_mask is not None else torch.zeros(1, dtype=torch.bool), -1e30
        )
        if is_close(probs, torch.softmax(unscaled, dim=-1), atol=1e-4):
            fail(task, "the scores are not scaled: divide q · k by sqrt(H) before the softmax")
        expect_close(task, probs, ref_weights, f"the weights for {where}", atol=1e-5)
        expect_close(task, out, ref_out, f"the output for {where}", atol=1e-5)
    return passed(task, "queries and keys of different lengths, padding hidden, no library softmax")


def _memory_reference(config: BertConfig, batch_size: int, seq_len: int, bytes_per_value: int) -> int:
    return config.num_hidden_layers * batch_size * config.num_attention_heads * seq_len**2 * bytes_per_value


def check_attention_memory(attention_memory_bytes: Callable) -> bool:
    """Task 2: bytes of the attention weights one forward pass of ``BertModel(config)`` keeps for backward.

    ``attention_memory_bytes(config, batch_size, seq_len, bytes_per_value=4)``, from the config's numbers
    alone: no model is built while it runs.
    """
    task = "Task 2 (memory of the attention weights)"
    expect_callable(task, attention_memory_bytes, "attention_memory_bytes")
    cases = [
        (
            BertConfig(hidden_size=12, num_attention_heads=3, num_hidden_layers=2, intermediate_size=8),
            5,
            7,
            4,
        ),
        (BertConfig.base(), 32, 512, 4),
        (BertConfig.large(), 8, 128, 2),
    ]
    for config, B, T, nbytes in cases:
        with forbidden(task, _NO_MODEL, "; compute it from the config's numbers, without building a model"):
            answer = attention_memory_bytes(config, B, T, nbytes)
        got = expect_number(task, answer, "attention_memory_bytes(...)")
        expected = _memory_reference(config, B, T, nbytes)
        if got == expected:
            continue
        L, nh, H = config.num_hidden_layers, config.num_attention_heads, config.hidden_size
        hints = {
            expected // L: "count every layer: each keeps its own weights",
            expected // nh: "count every head: each has its own (T, T) matrix",
            expected // nh * H: "the weights are (nh, T, T) per sequence, not (H, T, T)",
            expected // T: "a (T, T) matrix has T² numbers",
            expected // B: "count every sequence in the batch",
            expected // nbytes: "multiply by bytes_per_value",
        }
        hint = hints.get(round(got), "L x B x nh x T x T values, each bytes_per_value bytes")
        fail(
            task, f"for L={L}, nh={nh}, B={B}, T={T} you have {got:,.0f} bytes, expected {expected:,}: {hint}"
        )
    return passed(
        task,
        f"BERT-base, batch 32, T=512: {_memory_reference(BertConfig.base(), 32, 512, 4) / 2**30:.1f} GiB",
    )


def check_dropout_row_sums(dropout_row_sum_stats: Callable) -> bool:
    """Task 3: predicted (mean, std) of a row's sum after dropout(p) on T equal weights 1/T, training mode.

    The check measures both on 200,000 rows with its own generator; the learner's function must predict them
    with a formula (no random numbers are drawn while it runs).
    """
    task = "Task 3 (dropout on attention: the row sums)"
    expect_callable(task, dropout_row_sum_stats, "dropout_row_sum_stats")
    gen = torch.Generator().manual_seed(33)
    for p, T in ((0.1, 8), (0.5, 4), (0.3, 64)):
        keep = torch.rand(200_000, T, generator=gen) >= p
        sums = (keep.double() / (T * (1 - p))).sum(-1)  # dropout: survivors divided by 1 - p
        measured_mean, measured_std = sums.mean().item(), sums.std().item()
        with forbidden(task, _NO_RANDOM, "; predict with a formula, the check measures"):
            answer = dropout_row_sum_stats(p, T)
        mean, std = _pair(task, answer, ("mean", "std"))
        mean = expect_number(task, mean, "the predicted mean")
        std = expect_number(task, std, "the predicted standard deviation")
        if abs(mean - (1 - p)) < 1e-6:
            fail(task, f"for p={p} you predict a mean of {mean:.3f}: dropout divides the survivors by 1 - p")
        if abs(mean - measured_mean) > 0.01:
            fail(task, f"for p={p}, T={T} the measured mean is {measured_mean:.3f}, you predict {mean:.3f}")
        if abs(std - math.sqrt(p * (1 - p) / T)) < 1e-9:
            fail(task, f"for p={p}, T={T} your std leaves out the division of the survivors by 1 - p")
        if abs(std - measured_std) > 0.03 * measured_std:
            fail(task, f"for p={p}, T={T} the measured std is {measured_std:.4f}, you predict {std:.4f}")
    return passed(task, "mean and spread predicted, as measured on 200,000 rows")


def _measured_flops(config: BertConfig, T: int) -> int:
    with isolated_rng(34), torch.no_grad():
        layer = BertLayer(config).eval()
        with FlopCounterMode(display=False) as counter:
            layer(torch.randn(1, T, config.hidden_size))
    return counter.get_total_flops()


def check_layer_flops(layer_flops: Callable) -> bool:
    """Task 4: ``layer_flops(config, T) -> (quadratic, linear)``, FLOPs of one BertLayer on one sequence.

    ``quadratic`` is the part that grows like T² (scores and weighted sum), ``linear`` the rest (the four
    H x H projections and the feed-forward block), counting a multiply-add as 2 FLOPs as PyTorch's
    ``FlopCounterMode`` does. The check measures a real layer with it.
    """
    task = "Task 4 (FLOPs of an encoder layer)"
    expect_callable(task, layer_flops, "layer_flops")
    for H, nh, d_ff, T in ((16, 4, 64, 8), (24, 3, 40, 50)):
        config = BertConfig(
            hidden_size=H, num_attention_heads=nh, intermediate_size=d_ff, attn_implementation="eager"
        )
        measured = _measured_flops(config, T)
        with forbidden(task, _NO_MODEL, "; compute it from the config's numbers, the check measures"):
            answer = layer_flops(config, T)
        quadratic, linear = _pair(task, answer, ("quadratic", "linear"))
        quadratic = expect_number(task, quadratic, "the quadratic part")
        linear = expect_number(task, linear, "the linear part")
        where = f"H={H}, d_ff={d_ff}, T={T}"
        if quadratic + linear == measured / 2:
            fail(task, f"for {where} you count half the FLOPs: a multiply-add is 2 FLOPs")
        if quadratic == 2 * T * T * H:
            fail(task, "the quadratic part has two T x T products: q kᵀ and weights @ v")
        if linear == 8 * T * H * H:
            fail(task, "the linear part leaves out the feed-forward block (H -> d_ff -> H)")
        if quadratic != 4 * T * T * H:
            fail(task, f"for {where} your quadratic part is {quadratic:,.0f}; it should grow like T² H")
        if quadratic + linear != measured:
            fail(
                task,
                f"for {where} you predict {quadratic + linear:,.0f} FLOPs in all; FlopCounterMode measures {measured:,}",
            )
    return passed(task, "equals FlopCounterMode on real layers")
