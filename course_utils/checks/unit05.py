"""Checks for exercise sheet 05: the decoder and sequence-to-sequence models.

Each check calls the learner's function on inputs of its own and compares with PyTorch
(``F.scaled_dot_product_attention``) or with a reference computed here. A wrong answer raises
:class:`CheckError` that says what differs.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from course_utils import world
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
from course_utils.model import attention as _library_attention
from course_utils.seq2seq import evaluate_translation, reverse_pairs

__all__ = [
    "check_shift_for_teacher_forcing",
    "check_masked_self_attention",
    "check_beam_search",
    "check_greedy_decode",
    "check_reverse_translation",
]


def check_shift_for_teacher_forcing(shift_for_teacher_forcing: Callable) -> bool:
    """Task 1: from ``<bos> y1 .. yT <eos>`` make the decoder input and the targets."""
    task = "Task 1 (teacher forcing shift)"
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
    """Task 2: causal scaled dot-product attention, equal to ``F.scaled_dot_product_attention(is_causal=True)``."""
    task = "Task 2 (masked self-attention)"
    expect_callable(task, masked_self_attention, "masked_self_attention")
    gen = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(2, 3, 5, 4, generator=gen) for _ in range(3))  # (B, nh, T, hs)
    no_shortcut = {
        F.scaled_dot_product_attention: "F.scaled_dot_product_attention",
        _library_attention: "course_utils.model.attention",
    }
    with forbidden(task, no_shortcut, "; write the scores, the mask and the softmax yourself"):
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


def check_greedy_decode(greedy_decode: Callable) -> bool:
    """Task 3: greedy decoding with a scripted next-token function."""
    task = "Task 3 (greedy decoding)"
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


def _scripted(table: dict, V: int, default: int) -> Callable:
    """A next-token function from a table {prefix: {token: probability}}; other prefixes say ``default``."""

    def next_log_probs(prefix: list[int]) -> torch.Tensor:
        probs = torch.full((V,), 1e-9)
        for token, prob in table.get(tuple(prefix), {default: 1.0}).items():
            probs[token] = prob
        return (probs / probs.sum()).log()

    return next_log_probs


def check_beam_search(beam_search: Callable) -> bool:
    """Task 4: ``beam_search(next_log_probs, bos, eos, beam_size, max_len)`` returns the best sequence found.

    On a scripted model where the greedy first step leads to a poor sentence, beam size 2 must find the
    better one, beam size 1 must equal greedy decoding, and a model that never says ``eos`` stops at max_len.
    """
    task = "Task 4 (beam search)"
    expect_callable(task, beam_search, "beam_search")
    bos, eos, V = 0, 1, 6
    # greedy: 2 (0.6), then 4 (0.4): total 0.24. Better: 3 (0.4), then <eos> (0.9): total 0.36
    table = {
        (0,): {2: 0.6, 3: 0.4},
        (0, 2): {4: 0.4, 5: 0.3, 1: 0.3},
        (0, 3): {1: 0.9, 4: 0.1},
    }
    model = _scripted(table, V, default=eos)
    got = beam_search(model, bos, eos, 2, 10)
    expect_type(task, got, list, "beam_search(...)")
    if got and got[0] == bos:
        fail(task, "leave <bos> out of the returned list (it was given, not generated)")
    if got == [2, 4, 1]:
        fail(
            task,
            "with beam_size=2 you return greedy's sentence: keep the beam_size best prefixes at every step",
        )
    if got != [3, 1]:
        fail(task, f"with beam_size=2 the best sentence is [3, 1] (probability 0.36), got {got}")
    got = beam_search(model, bos, eos, 1, 10)
    expect_type(task, got, list, "beam_search(..., beam_size=1, ...)")
    if got != [2, 4, 1]:
        fail(task, f"beam_size=1 is greedy decoding: expected [2, 4, 1], got {got}")
    never_stops = _scripted({}, V, default=4)
    got = beam_search(never_stops, bos, eos, 3, 5)
    expect_type(task, got, list, "beam_search(...) for a model that never says <eos>")
    if got != [4] * 5:
        fail(task, f"a model that never says <eos> must stop after max_len=5 tokens; got {got}")
    return passed(task, "finds the better sentence that greedy misses; beam_size=1 is greedy")


def check_reverse_translation(train_back_translation: Callable, target: float = 0.9) -> tuple:
    """Task 5: the check trains the learner's Lindish -> English model on its own data and scores it.

    ``train_back_translation(train_pairs)`` gets the training pairs from the check and returns
    ``(model, source_vocab, target_vocab)``. While it runs, the course's translation data cannot be read, so the
    model is trained on what the check passed, never on the pairs it is scored on. The check scores the model
    on the validation pairs with greedy decoding and returns the trained ``(model, source_vocab, target_vocab)``.
    """
    task = "Task 5 (translate back: Lindish -> English)"
    if isinstance(train_back_translation, dict):
        fail(task, "pass your training function itself; the check trains it on its own data and scores it")
    expect_callable(task, train_back_translation, "train_back_translation")
    train = reverse_pairs(world.translation_pairs("train"))
    held_out = reverse_pairs(world.translation_pairs("validation"))
    no_data = {world.translation_pairs: "world.translation_pairs (train only on the pairs you are given)"}
    states = (random.getstate(), np.random.get_state())  # the learner's code may call set_seed
    try:
        with isolated_rng(6), forbidden(task, no_data):
            answer = train_back_translation(list(train))
    finally:
        random.setstate(states[0])
        np.random.set_state(states[1])
    if not isinstance(answer, (tuple, list)) or len(answer) != 3:
        fail(task, f"return (model, source_vocab, target_vocab), got {type(answer).__name__}")
    model, src_vocab, tgt_vocab = answer
    scores = evaluate_translation(model, held_out, src_vocab, tgt_vocab)
    exact_match = expect_number(task, scores["exact_match"], "exact match")
    if exact_match < target:
        fail(task, f"exact match {exact_match:.3f} on the held-out pairs is below {target}: train for longer")
    passed(task, f"trained by the check, exact match {exact_match:.3f} on held-out pairs")
    return tuple(answer)
