"""course_utils.checks.unit05: every check passes a right answer and rejects the wrong ones it is meant to catch.

The right answers are written independently of the solution sheet. Every test also verifies that the check left
the learner's global random state as it found it.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from course_utils import set_seed, world
from course_utils.checks import CheckError, unit05
from course_utils.model import attention
from course_utils.seq2seq import Seq2SeqTransformer, build_vocabs, train_seq2seq

pytestmark = pytest.mark.usefixtures("one_thread", "global_random_state_untouched")


def test_unit05_shift():
    assert unit05.check_shift_for_teacher_forcing(lambda t: (t[:, :-1], t[:, 1:]))
    with pytest.raises(CheckError, match="decoder_input"):
        unit05.check_shift_for_teacher_forcing(lambda t: (t[:, 1:], t[:, :-1]))


def _masked(q, k, v, scale=True):
    T = q.shape[-2]
    s = (q @ k.transpose(-2, -1)) / (math.sqrt(q.shape[-1]) if scale else 1.0)
    return s.masked_fill(~torch.ones(T, T, dtype=torch.bool).tril(), float("-inf")).softmax(-1) @ v


@pytest.mark.parametrize(
    "answer, message",
    [
        (lambda q, k, v: (q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])).softmax(-1) @ v, "WITHOUT"),
        (lambda q, k, v: _masked(q, k, v, scale=False), "sqrt"),
        (
            lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
            "scaled_dot_product_attention",
        ),
        (
            lambda q, k, v: attention(q, k, v, torch.ones(5, 5, dtype=torch.bool).tril())[0],
            "course_utils.model",
        ),
    ],
)
def test_unit05_masked_self_attention(answer, message):
    assert unit05.check_masked_self_attention(_masked)
    with pytest.raises(CheckError, match=message):
        unit05.check_masked_self_attention(answer)


def _beam(next_log_probs, bos, eos, beam_size, max_len, keep_bos=False):
    beams = [(0.0, [bos])]
    for _ in range(max_len):
        candidates = []
        for score, prefix in beams:
            if prefix[-1] == eos:
                candidates.append((score, prefix))
                continue
            lp = next_log_probs(prefix)
            for token in range(lp.numel()):
                candidates.append((score + lp[token].item(), prefix + [token]))
        beams = sorted(candidates, key=lambda c: -c[0])[:beam_size]
        if all(p[-1] == eos for _, p in beams):
            break
    return beams[0][1] if keep_bos else beams[0][1][1:]


def _greedy(next_logits, bos, eos, max_len, keep_bos=False, stop=True):
    out = [bos]
    for _ in range(max_len):
        out.append(int(next_logits(out).argmax()))
        if stop and out[-1] == eos:
            break
    return out if keep_bos else out[1:]


@pytest.mark.parametrize(
    "answer, message",
    [
        (lambda f, b, e, k, m: _greedy(f, b, e, m), "greedy's sentence"),
        (lambda f, b, e, k, m: _beam(f, b, e, k, m, keep_bos=True), "leave <bos> out"),
        (lambda f, b, e, k, m: _beam(f, b, e, k + 1, m), "beam_size=1 is greedy"),
        (lambda f, b, e, k, m: _beam(f, b, e, k, m + 1), "max_len=5"),
        (lambda f, b, e, k, m: tuple(_beam(f, b, e, k, m)), "list"),
    ],
)
def test_unit05_beam_search(answer, message):
    assert unit05.check_beam_search(_beam)
    with pytest.raises(CheckError, match=message):
        unit05.check_beam_search(answer)


def test_unit05_greedy():
    assert unit05.check_greedy_decode(_greedy)
    with pytest.raises(CheckError, match="leave <bos> out"):
        unit05.check_greedy_decode(lambda f, b, e, m: _greedy(f, b, e, m, keep_bos=True))
    with pytest.raises(CheckError, match="stop right after"):
        unit05.check_greedy_decode(lambda f, b, e, m: _greedy(f, b, e, m, stop=False))


def _train(pairs, epochs=4):
    set_seed(0)
    src_vocab, tgt_vocab = build_vocabs(pairs)
    model = Seq2SeqTransformer(
        len(src_vocab), len(tgt_vocab), d_model=64, nhead=4, dim_feedforward=128, max_len=16
    )
    train_seq2seq(model, pairs, src_vocab, tgt_vocab, epochs=epochs, lr=3e-3, batch_size=64)
    return model, src_vocab, tgt_vocab


def _train_on_held_out(pairs):
    from course_utils.seq2seq import reverse_pairs

    return _train(reverse_pairs(world.translation_pairs("validation")))


@pytest.mark.slow
def test_unit05_reverse_translation():
    model, src_vocab, tgt_vocab = unit05.check_reverse_translation(_train)
    assert isinstance(model, Seq2SeqTransformer) and len(src_vocab) > 10
    with pytest.raises(CheckError, match="training function itself"):
        unit05.check_reverse_translation({"exact_match": 0.99, "token_accuracy": 0.99})
    with pytest.raises(CheckError, match="world.translation_pairs"):
        unit05.check_reverse_translation(_train_on_held_out)
    with pytest.raises(CheckError, match="below"):
        unit05.check_reverse_translation(lambda pairs: _train(pairs[:64], epochs=1))
    with pytest.raises(CheckError, match="return \\(model"):
        unit05.check_reverse_translation(lambda pairs: _train(pairs[:64], epochs=1)[0])
