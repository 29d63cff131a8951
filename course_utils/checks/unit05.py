"""Checks for exercise sheet 05: the decoder and sequence-to-sequence models.

Each check calls the learner's function on inputs of its own and compares with PyTorch
(``F.scaled_dot_product_attention``) or with a reference computed here. A wrong answer raises
:class:`CheckError` that says what differs.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

from course_utils.checks import (
    expect_callable,
    expect_causal_mask,
    expect_close,
    expect_number,
    expect_shape,
    expect_type,
    fail,
    is_close,
    passed,
)

__all__ = [
    "check_causal_mask",
    "check_shift_for_teacher_forcing",
    "check_masked_self_attention",
    "check_cross_attention",
    "check_greedy_decode",
    "check_reverse_translation",
]


def check_causal_mask(my_causal_mask: Callable) -> bool:
    """Task 1: a (T, T) bool mask, True where query i may look at key j (j <= i)."""
    task = "Task 1 (causal mask)"
    expect_callable(task, my_causal_mask, "my_causal_mask")
    expect_causal_mask(task, my_causal_mask, "my_causal_mask")
    return passed(task, "row i sees columns 0..i")


def check_shift_for_teacher_forcing(shift_for_teacher_forcing: Callable) -> bool:
    """Task 2: from ``<bos> y1 .. yT <eos>`` make the decoder input and the targets."""
    task = "Task 2 (teacher forcing shift)"
    expect_callable(task, shift_for_teacher_forcing, "shift_for_teacher_forcing")
    tgt = torch.tensor([[2, 10, 11, 12, 3], [2, 20, 3, 0, 0]])
    got = shift_for_teacher_forcing(tgt)
    if not (isinstance(got, tuple) and len(got) == 2):
        fail(task, "return the pair (decoder_input, targets)")
    dec_in, targets = got
    expect_shape(task, dec_in, (2, 4), "decoder_input")
    expect_shape(task, targets, (2, 4), "targets")
    if not torch.equal(dec_in.cpu().long(), tgt[:, :-1]):
        fail(
            task,
            f"decoder_input should start with <bos> (id 2) and drop the last token; got {dec_in.tolist()}",
        )
    if not torch.equal(targets.cpu().long(), tgt[:, 1:]):
        fail(task, f"targets should be the sequence one step ahead (drop <bos>); got {targets.tolist()}")
    return passed(task, "input <bos> y1 .. yT, target y1 .. yT <eos>")


def check_masked_self_attention(masked_self_attention: Callable) -> bool:
    """Task 3: causal scaled dot-product attention, equal to ``F.scaled_dot_product_attention(is_causal=True)``."""
    task = "Task 3 (masked self-attention)"
    expect_callable(task, masked_self_attention, "masked_self_attention")
    gen = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(2, 3, 5, 4, generator=gen) for _ in range(3))  # (B, nh, T, hs)
    got = masked_self_attention(q, k, v)
    expect_shape(task, got, (2, 3, 5, 4), "masked_self_attention(q, k, v)")
    plain = F.scaled_dot_product_attention(q, k, v)
    if is_close(got, plain, atol=1e-5):
        fail(task, "this is attention WITHOUT the causal mask: every position still sees the future")
    unscaled = (q @ k.transpose(-2, -1)).masked_fill(~torch.ones(5, 5).tril().bool(), float("-inf"))
    if is_close(got, unscaled.softmax(-1) @ v, atol=1e-5):
        fail(task, "the mask is right, but the scores are not divided by sqrt(head size)")
    expect_close(task, got, F.scaled_dot_product_attention(q, k, v, is_causal=True), "the output")
    # the first position can only see itself: its output is its own value vector
    expect_close(task, got[..., 0, :], v[..., 0, :], "the output at position 0 (it only sees itself)")
    return passed(task, "equals F.scaled_dot_product_attention(..., is_causal=True)")


def check_cross_attention(cross_attention: Callable) -> bool:
    """Task 4: single-head cross-attention from decoder states to the encoder memory, padding masked."""
    task = "Task 4 (cross-attention)"
    expect_callable(task, cross_attention, "cross_attention")
    gen = torch.Generator().manual_seed(1)
    B, T, S, d = 2, 3, 4, 8
    dec = torch.randn(B, T, d, generator=gen)
    memory = torch.randn(B, S, d, generator=gen)
    src_keep = torch.tensor([[True, True, True, True], [True, True, False, False]])
    got = cross_attention(dec, memory, src_keep)
    if not (isinstance(got, tuple) and len(got) == 2):
        fail(task, "return the pair (output, weights)")
    out, weights = got
    expect_shape(task, out, (B, T, d), "output")
    expect_shape(task, weights, (B, T, S), "weights")
    expect_close(task, weights.sum(-1), torch.ones(B, T), "the sum of each row of weights")
    if weights[1, :, 2:].abs().max() > 1e-6:
        fail(task, "the second sentence's padding (source positions 2 and 3) still gets attention weight")
    scores = dec @ memory.transpose(1, 2) / math.sqrt(d)
    ref_w = scores.masked_fill(~src_keep[:, None, :], float("-inf")).softmax(-1)
    expect_close(task, weights, ref_w, "the attention weights")
    expect_close(task, out, ref_w @ memory, "the output")
    return passed(task, "queries from the decoder, keys and values from the encoder")


def check_greedy_decode(greedy_decode: Callable) -> bool:
    """Task 5: greedy decoding with a scripted next-token function."""
    task = "Task 5 (greedy decoding)"
    expect_callable(task, greedy_decode, "greedy_decode")
    bos, eos, V = 2, 3, 8
    script = {(2,): 5, (2, 5): 6, (2, 5, 6): 7, (2, 5, 6, 7): 3}
    calls = []

    def next_logits(prefix: list[int]) -> torch.Tensor:
        calls.append(list(prefix))
        logits = torch.zeros(V)
        logits[script.get(tuple(prefix), 4)] = 1.0
        return logits

    got = greedy_decode(next_logits, bos, eos, 10)
    expect_type(task, got, list, "greedy_decode(...)")
    if not calls or calls[0] != [bos]:
        fail(task, "the first call of next_logits should get the prefix [bos]")
    if got == [bos, 5, 6, 7, 3]:
        fail(task, "leave <bos> out of the returned list (it was given, not generated)")
    if got != [5, 6, 7, 3]:
        fail(task, f"expected [5, 6, 7, 3] (stop right after <eos>), got {got}")

    def never_stops(prefix: list[int]) -> torch.Tensor:
        return torch.eye(V)[4]  # always token 4, never <eos>

    got = greedy_decode(never_stops, bos, eos, 6)
    expect_type(task, got, list, "greedy_decode(...) for a model that never says <eos>")
    if got != [4] * 6:
        fail(task, f"a model that never says <eos> must stop after max_len=6 tokens; got {got}")
    return passed(task, "stops at <eos> or max_len")


def check_reverse_translation(scores: dict, target: float = 0.9) -> bool:
    """Task 6: the Lindish -> English model's validation scores from ``evaluate_translation``."""
    task = "Task 6 (translate back: Lindish -> English)"
    expect_type(task, scores, dict, "scores")
    if "exact_match" not in scores:
        fail(task, "pass the dict returned by evaluate_translation(...)")
    exact_match = expect_number(task, scores["exact_match"], "scores['exact_match']")
    if exact_match < target:
        fail(task, f"exact match {exact_match:.3f} is below {target}: train for more epochs")
    return passed(task, f"exact match {exact_match:.3f}")
