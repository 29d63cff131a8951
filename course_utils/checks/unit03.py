"""Checks for exercise sheet 03: attention.

The reference for every check is the course's own code (``course_utils.model``) or PyTorch, so a passing
answer is one that agrees with the library the later units use.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from course_utils.checks import (
    expect_callable,
    expect_causal_mask,
    expect_close,
    expect_shape,
    expect_type,
    fail,
    is_close,
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
    expect_callable(task, softmax, "softmax")
    # ln 1, ln 2, ln 3 -> exp gives 1, 2, 3 -> weights 1/6, 2/6, 3/6
    x = torch.log(torch.tensor([1.0, 2.0, 3.0]))
    out = softmax(x)
    expect_shape(task, out, (3,), "softmax([ln 1, ln 2, ln 3])")
    expect_close(task, out, [1 / 6, 2 / 6, 3 / 6], "softmax([ln 1, ln 2, ln 3]) (should be [1/6, 2/6, 3/6])")
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, 5, generator=gen)
    out = softmax(x)
    expect_shape(task, out, (2, 3, 5), "softmax of a (2, 3, 5) tensor")
    if not is_close(out.sum(-1), torch.ones(2, 3), atol=1e-5):
        fail(task, "each row over the LAST dimension must sum to 1; check the dim you sum over")
    expect_close(task, out, torch.softmax(x, dim=-1), "softmax of a random (2, 3, 5) tensor")
    big = torch.tensor([1000.0, 1001.0, 1002.0])
    out = softmax(big)
    expect_shape(task, out, (3,), "softmax([1000, 1001, 1002])")
    if not torch.isfinite(out).all():
        fail(task, "softmax([1000, 1001, 1002]) is not finite: exp overflows; subtract the maximum first")
    expect_close(task, out, torch.softmax(big, dim=-1), "softmax([1000, 1001, 1002])")
    # rows of very different sizes: subtracting the GLOBAL maximum sends exp of the small row to 0 / 0
    rows = torch.tensor([[1000.0, 1001.0], [0.0, 1.0]])
    out = softmax(rows)
    expect_shape(task, out, (2, 2), "softmax([[1000, 1001], [0, 1]])")
    if not torch.isfinite(out).all():
        fail(
            task,
            "softmax([[1000, 1001], [0, 1]]) has NaN in row 1: subtract each row's own maximum "
            "(x.max(dim=-1, keepdim=True).values), not the maximum of the whole tensor",
        )
    expect_close(task, out, torch.softmax(rows, dim=-1), "softmax([[1000, 1001], [0, 1]])")
    return passed(task, "equals torch.softmax, also for large inputs")


def check_causal_mask(causal_mask: Callable) -> bool:
    """Task 2: ``causal_mask(T)`` is a (T, T) bool tensor, True where query i may look at key j <= i."""
    task = "Task 2 (causal mask)"
    expect_callable(task, causal_mask, "causal_mask")
    expect_causal_mask(task, causal_mask, "causal_mask")
    return passed(task)


def check_padding_mask(padding_mask: Callable) -> bool:
    """Task 3: ``padding_mask(attention_mask)`` turns (B, T) 1/0 into a (B, 1, 1, T) bool mask."""
    task = "Task 3 (padding mask)"
    expect_callable(task, padding_mask, "padding_mask")
    attention_mask = torch.tensor([[1, 1, 1, 0], [1, 1, 0, 0]])
    mask = padding_mask(attention_mask)
    expect_shape(task, mask, (2, 1, 1, 4), "padding_mask of a (2, 4) attention_mask")
    if mask.dtype != torch.bool:
        fail(task, f"the mask should hold booleans (True = real token), got dtype {mask.dtype}")
    if not torch.equal(mask.cpu()[:, 0, 0], attention_mask.bool()):  # shape and dtype checked above
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


def _output_and_weights(task: str, answer: object) -> tuple[torch.Tensor, torch.Tensor]:
    """The pair (output, weights) a learner's attention returns, checked to be two tensors."""
    expect_type(task, answer, tuple, "the result")
    if len(answer) != 2:
        fail(task, f"return (output, weights); got a tuple of length {len(answer)}")
    out, weights = answer
    expect_type(task, out, torch.Tensor, "output (the first element of the pair)")
    expect_type(task, weights, torch.Tensor, "weights (the second element of the pair)")
    return out, weights


def check_attention(scaled_dot_product_attention: Callable) -> bool:
    """Task 4: ``scaled_dot_product_attention(q, k, v, mask=None)`` -> (output, weights)."""
    task = "Task 4 (scaled dot-product attention)"
    expect_callable(task, scaled_dot_product_attention, "scaled_dot_product_attention")
    # By hand: one query equal to the first of two keys, values 10 and 20
    q = torch.tensor([[[[2.0, 0.0]]]])  # (1, 1, 1, 2)
    k = torch.tensor([[[[2.0, 0.0], [0.0, 0.0]]]])  # scores 4 and 0, scaled by sqrt(2)
    v = torch.tensor([[[[10.0], [20.0]]]])
    out, weights = _output_and_weights(task, scaled_dot_product_attention(q, k, v))
    w0 = 1 / (1 + math.exp(-4 / math.sqrt(2)))
    if is_close(weights.flatten(), torch.tensor([1 / (1 + math.exp(-4)), 1 / (1 + math.exp(4))]), atol=1e-4):
        fail(task, "the weights are not scaled: divide the scores by sqrt(hs) before the softmax")
    expect_close(task, weights.flatten(), [w0, 1 - w0], "the weights for scores [4, 0] with hs = 2")
    expect_close(task, out.flatten(), [10 * w0 + 20 * (1 - w0)], "the output for values [10, 20]")
    q, k, v = _reference_inputs()
    out, weights = _output_and_weights(task, scaled_dot_product_attention(q, k, v))
    ref_out, ref_weights = attention(q, k, v)
    expect_shape(task, weights, (2, 3, 5, 5), "weights for q, k, v of shape (2, 3, 5, 4)")
    expect_shape(task, out, (2, 3, 5, 4), "output for q, k, v of shape (2, 3, 5, 4)")
    expect_close(task, weights, ref_weights, "weights on random (2, 3, 5, 4) inputs")
    expect_close(task, out, ref_out, "output on random (2, 3, 5, 4) inputs")
    mask = torch.ones(5, 5).tril().bool()
    out, weights = _output_and_weights(task, scaled_dot_product_attention(q, k, v, mask))
    expect_shape(task, weights, (2, 3, 5, 5), "weights with a causal mask")
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
    expect_callable(task, multi_head_self_attention, "multi_head_self_attention")
    layers = {}
    with isolated_rng(5):  # module init draws from the global generator
        layers[3] = BertSelfAttention(_config(3)).eval()
        for heads in (1, 2, 4):  # the same weights cut into other numbers of heads
            layers[heads] = BertSelfAttention(_config(heads)).eval()
            layers[heads].load_state_dict(layers[3].state_dict())
    weights = {k: v.detach().clone() for k, v in layers[3].state_dict().items()}
    gen = torch.Generator().manual_seed(6)
    x = torch.randn(2, 4, 12, generator=gen)
    with torch.no_grad():
        expected = {heads: layer(x)[0] for heads, layer in layers.items()}  # (B, T, H) each
    out = multi_head_self_attention(x, weights, 3)
    expect_shape(task, out, (2, 4, 12), "the output for x (2, 4, 12) with 3 heads")
    if is_close(out, expected[1]) and not is_close(out, expected[3]):
        fail(
            task,
            "your output equals ONE head of size 12: split the projections into num_heads heads of "
            "size H // num_heads before the scores, and merge them after",
        )
    expect_close(task, out, expected[3], "the output (compared with BertSelfAttention)")
    for heads in (2, 4):  # a number of heads written into the function would pass with 3 alone
        out = multi_head_self_attention(x, weights, heads)
        expect_shape(task, out, (2, 4, 12), f"the output for x (2, 4, 12) with {heads} heads")
        if is_close(out, expected[3]):
            fail(
                task,
                f"with num_heads={heads} your output is the one for 3 heads: use the num_heads argument "
                "(and hs = H // num_heads), not a fixed number",
            )
        expect_close(task, out, expected[heads], f"the output with num_heads={heads}")
    attention_mask = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0]])
    mask = attention_mask.bool()[:, None, None, :]  # (B, 1, 1, T), True = real token
    out = multi_head_self_attention(x, weights, 3, mask)
    expect_shape(task, out, (2, 4, 12), "the output with a padding mask")
    with torch.no_grad():
        expected_masked, _ = layers[3](x, extended_attention_mask(attention_mask, x.dtype))
    expect_close(task, out, expected_masked, "the output with a padding mask")
    return passed(task, "equals course_utils.model.BertSelfAttention with the same weights")


def _config(heads: int) -> BertConfig:
    return BertConfig(hidden_size=12, num_attention_heads=heads, attention_probs_dropout_prob=0.0)
