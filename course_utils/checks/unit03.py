"""Checks for exercise sheet 03: attention.

The reference for every check is the course's own code (``course_utils.model``) or PyTorch, so a passing
answer is one that agrees with the library the later units use.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from course_utils.checks import (
    expect_causal_mask,
    expect_close,
    expect_shape,
    expect_type,
    fail,
    isolated_rng,
    passed,
)
from course_utils.model import BertConfig, BertSelfAttention, attention, extended_attention_mask

__all__ = [
    "check_softmax",
    "check_causal_mask",
    "check_padding_mask",
    "check_attention",
    "check_multi_head_self_attention",
]


def check_softmax(softmax: Callable) -> bool:
    """Task 1: ``softmax(x)`` over the last dimension, stable for large inputs."""
    task = "Task 1 (softmax)"
    # ln 1, ln 2, ln 3 -> exp gives 1, 2, 3 -> weights 1/6, 2/6, 3/6
    x = torch.log(torch.tensor([1.0, 2.0, 3.0]))
    out = softmax(x)
    expect_shape(task, out, (3,), "softmax([ln 1, ln 2, ln 3])")
    expect_close(task, out, [1 / 6, 2 / 6, 3 / 6], "softmax([ln 1, ln 2, ln 3]) (should be [1/6, 2/6, 3/6])")
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, 5, generator=gen)
    out = softmax(x)
    expect_shape(task, out, (2, 3, 5), "softmax of a (2, 3, 5) tensor")
    if not torch.allclose(out.sum(-1), torch.ones(2, 3), atol=1e-5):
        fail(task, "each row over the LAST dimension must sum to 1; check the dim you sum over")
    expect_close(task, out, torch.softmax(x, dim=-1), "softmax of a random (2, 3, 5) tensor")
    big = torch.tensor([1000.0, 1001.0, 1002.0])
    out = softmax(big)
    if not torch.isfinite(out).all():
        fail(task, "softmax([1000, 1001, 1002]) is not finite: exp overflows; subtract the maximum first")
    expect_close(task, out, torch.softmax(big, dim=-1), "softmax([1000, 1001, 1002])")
    return passed(task, "equals torch.softmax, also for large inputs")


def check_causal_mask(causal_mask: Callable) -> bool:
    """Task 2: ``causal_mask(T)`` is a (T, T) bool tensor, True where query i may look at key j <= i."""
    task = "Task 2 (causal mask)"
    expect_causal_mask(task, causal_mask, "causal_mask")
    return passed(task)


def check_padding_mask(padding_mask: Callable) -> bool:
    """Task 3: ``padding_mask(attention_mask)`` turns (B, T) 1/0 into a (B, 1, 1, T) bool mask."""
    task = "Task 3 (padding mask)"
    attention_mask = torch.tensor([[1, 1, 1, 0], [1, 1, 0, 0]])
    mask = padding_mask(attention_mask)
    expect_shape(task, mask, (2, 1, 1, 4), "padding_mask of a (2, 4) attention_mask")
    if mask.dtype != torch.bool:
        fail(task, f"the mask should hold booleans (True = real token), got dtype {mask.dtype}")
    if not torch.equal(mask.cpu()[:, 0, 0], attention_mask.bool()):
        fail(task, "True must mark the real tokens (attention_mask == 1) and False the padding")
    # It must broadcast against scores (B, nh, T, T): every query ignores the padded keys
    scores = torch.zeros(2, 3, 4, 4)
    weights = scores.masked_fill(~mask, float("-inf")).softmax(-1)
    expect_close(
        task, weights[1, 2, 0], [0.5, 0.5, 0.0, 0.0], "attention weights of sequence 2 with the mask"
    )
    return passed(task)


def _reference_inputs() -> tuple[torch.Tensor, ...]:
    gen = torch.Generator().manual_seed(3)
    q = torch.randn(2, 3, 5, 4, generator=gen)
    k = torch.randn(2, 3, 5, 4, generator=gen)
    v = torch.randn(2, 3, 5, 4, generator=gen)
    return q, k, v


def check_attention(scaled_dot_product_attention: Callable) -> bool:
    """Task 4: ``scaled_dot_product_attention(q, k, v, mask=None)`` -> (output, weights)."""
    task = "Task 4 (scaled dot-product attention)"
    # By hand: one query equal to the first of two keys, values 10 and 20
    q = torch.tensor([[[[2.0, 0.0]]]])  # (1, 1, 1, 2)
    k = torch.tensor([[[[2.0, 0.0], [0.0, 0.0]]]])  # scores 4 and 0, scaled by sqrt(2)
    v = torch.tensor([[[[10.0], [20.0]]]])
    answer = scaled_dot_product_attention(q, k, v)
    expect_type(task, answer, tuple, "the result")
    if len(answer) != 2:
        fail(task, f"return (output, weights); got a tuple of length {len(answer)}")
    out, weights = answer
    w0 = 1 / (1 + math.exp(-4 / math.sqrt(2)))
    if torch.allclose(
        weights.flatten(), torch.tensor([1 / (1 + math.exp(-4)), 1 / (1 + math.exp(4))]), atol=1e-4
    ):
        fail(task, "the weights are not scaled: divide the scores by sqrt(hs) before the softmax")
    expect_close(task, weights.flatten(), [w0, 1 - w0], "the weights for scores [4, 0] with hs = 2")
    expect_close(task, out.flatten(), [10 * w0 + 20 * (1 - w0)], "the output for values [10, 20]")
    q, k, v = _reference_inputs()
    out, weights = scaled_dot_product_attention(q, k, v)
    ref_out, ref_weights = attention(q, k, v)
    expect_shape(task, weights, (2, 3, 5, 5), "weights for q, k, v of shape (2, 3, 5, 4)")
    expect_shape(task, out, (2, 3, 5, 4), "output for q, k, v of shape (2, 3, 5, 4)")
    expect_close(task, weights, ref_weights, "weights on random (2, 3, 5, 4) inputs")
    expect_close(task, out, ref_out, "output on random (2, 3, 5, 4) inputs")
    mask = torch.ones(5, 5).tril().bool()
    out, weights = scaled_dot_product_attention(q, k, v, mask)
    if weights[..., 0, 1:].abs().max() > 1e-6:
        fail(
            task,
            "with a causal mask the first query must give zero weight to keys 1..4; apply the mask "
            "before the softmax, with masked_fill(~mask, float('-inf'))",
        )
    ref_out, ref_weights = attention(q, k, v, mask)
    expect_close(task, out, ref_out, "output with a causal mask")
    sdpa = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    expect_close(task, out, sdpa, "output with a causal mask (vs F.scaled_dot_product_attention)")
    return passed(task, "equals course_utils.model.attention and F.scaled_dot_product_attention")


def check_multi_head_self_attention(multi_head_self_attention: Callable) -> bool:
    """Task 5: multi-head self-attention from weights equals ``BertSelfAttention``.

    ``multi_head_self_attention(x, weights, num_heads, mask=None)`` with ``weights`` a dict of
    ``query.weight``, ``query.bias``, ``key.weight``, ... (the state dict of a BertSelfAttention).
    """
    task = "Task 5 (multi-head self-attention)"
    config = BertConfig(hidden_size=12, num_attention_heads=3, attention_probs_dropout_prob=0.0)
    with isolated_rng(5):  # module init draws from the global generator
        layer = BertSelfAttention(config).eval()
        one_head = BertSelfAttention(BertConfig(hidden_size=12, num_attention_heads=1)).eval()
    weights = {k: v.detach().clone() for k, v in layer.state_dict().items()}
    gen = torch.Generator().manual_seed(6)
    x = torch.randn(2, 4, 12, generator=gen)
    out = multi_head_self_attention(x, weights, 3)
    expect_shape(task, out, (2, 4, 12), "the output for x (2, 4, 12) with 3 heads")
    with torch.no_grad():
        expected, _ = layer(x)
        one_head.load_state_dict(layer.state_dict())
        as_one_head, _ = one_head(x)
    if torch.allclose(out, as_one_head, atol=1e-5) and not torch.allclose(out, expected, atol=1e-5):
        fail(
            task,
            "your output equals ONE head of size 12: split the projections into num_heads heads of "
            "size H // num_heads before the scores, and merge them after",
        )
    expect_close(task, out, expected, "the output (compared with BertSelfAttention)")
    attention_mask = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0]])
    mask = attention_mask.bool()[:, None, None, :]  # (B, 1, 1, T), True = real token
    out = multi_head_self_attention(x, weights, 3, mask)
    with torch.no_grad():
        expected, _ = layer(x, extended_attention_mask(attention_mask, x.dtype))
    expect_close(task, out, expected, "the output with a padding mask")
    return passed(task, "equals course_utils.model.BertSelfAttention with the same weights")
