"""course_utils.checks.unit07: every check passes a right answer and rejects the wrong ones it is meant to catch.

The right answers are written independently of the solution sheet (plain loops where the sheet uses tensors). Every
test also verifies that the check left the learner's global random state as it found it.
"""

from __future__ import annotations

import math
from collections import Counter

import pytest
import torch

from course_utils.checks import CheckError, unit07

pytestmark = pytest.mark.usefixtures("one_thread", "global_random_state_untouched")


# --------------------------------------------------------------------------- Task 1


def _sees(
    p, mask_p, random_p, *, unconditional=False, only_unchanged=False, wrong_denominator=False, scale=1.0
):
    shown_real = (1 - p) if wrong_denominator else (1 - p * mask_p)
    if unconditional:
        shown_real = 1.0
    targets = p * ((1 - mask_p - random_p) if only_unchanged else (1 - mask_p))
    return {
        "mask": scale * p * mask_p,
        "wrong": scale * p * random_p,
        "target_given_real": scale * targets / shown_real,
        "wrong_given_real": scale * p * random_p / shown_real,
    }


@pytest.mark.parametrize(
    "answer, message",
    [
        (lambda p, m, r: _sees(p, m, r, unconditional=True), "a conditional probability"),
        (lambda p, m, r: _sees(p, m, r, only_unchanged=True), "random token is a target too"),
        (lambda p, m, r: _sees(p, m, r, wrong_denominator=True), "not 1 - p"),
        (lambda p, m, r: _sees(p, m, r, scale=100.0), "not percentages"),
        (lambda p, m, r: {**_sees(p, m, r), "mask": m}, "chosen \\(p\\) AND then masked"),
        (lambda p, m, r: {**_sees(p, m, r), "wrong": r}, "chosen \\(p\\) AND then replaced"),
        (lambda p, m, r: {k: v for k, v in _sees(p, m, r).items() if k != "wrong"}, "lacks the key"),
        (lambda p, m, r: list(_sees(p, m, r).values()), "should be a dict"),
        (lambda p, m, r: {**_sees(p, m, r), "mask": "0.12"}, "should be one number"),
        (lambda p, m, r: {**_sees(p, m, r), "wrong_given_real": 0.5}, "should be"),
    ],
)
def test_unit07_what_the_model_sees(answer, message):
    assert unit07.check_what_the_model_sees(_sees)
    assert unit07.check_what_the_model_sees(  # tensors of one number are numbers too
        lambda p, m, r: {k: torch.tensor(v) for k, v in _sees(p, m, r).items()}
    )
    with pytest.raises(CheckError, match=message):
        unit07.check_what_the_model_sees(answer)


# --------------------------------------------------------------------------- Task 2


def _word_ids(tokens, special, *, pieces_are_words=False, special_id=-1, start=0, restart_after=None):
    ids, word = [], start - 1
    for token in tokens:
        if token in special:
            ids.append(special_id)
            if token == restart_after:
                word = start - 1
            continue
        if pieces_are_words or not token.startswith("##"):
            word += 1
        ids.append(word)
    return ids


def _hard_coded(tokens, special):
    return _word_ids(tokens, {"[CLS]", "[SEP]", "[PAD]"})


@pytest.mark.parametrize(
    "answer, message",
    [
        (lambda t, s: _word_ids(t, s, pieces_are_words=True), "continues the word before it"),
        (lambda t, s: _word_ids(t, s, special_id=99), "belong to no word: give them -1"),
        (lambda t, s: _word_ids(t, s, start=1), "number the words from 0"),
        (lambda t, s: _word_ids(t, s, restart_after="[SEP]"), "across the whole sequence"),
        (_hard_coded, "expected"),
        (lambda t, s: _word_ids(t, s)[:-1], "one id per token"),
        (lambda t, s: " ".join(map(str, _word_ids(t, s))), "should be a list of ints"),
        (lambda t, s: None, "forget the return"),
    ],
)
def test_unit07_word_ids_from_pieces(answer, message):
    assert unit07.check_word_ids_from_pieces(_word_ids)
    assert unit07.check_word_ids_from_pieces(
        lambda t, s: torch.tensor(_word_ids(t, s))
    )  # a 1-D tensor is fine
    with pytest.raises(CheckError, match=message):
        unit07.check_word_ids_from_pieces(answer)


# --------------------------------------------------------------------------- Task 3


def _unigram(train, evaluate, vocab_size, special_ids, *, k=None, keep_special=False, log=math.log, fit_on=None,
             per_sequence=False, smooth=1):  # fmt: skip
    ordinary = (lambda t: True) if keep_special else (lambda t: t not in special_ids)
    counts = Counter(t for seq in (fit_on or train) for t in seq if ordinary(t))
    k = vocab_size - len(special_ids) if k is None else k
    total = sum(counts.values()) + smooth * k
    scored = [[t for t in seq if ordinary(t)] for seq in evaluate]
    costs = [[-log((counts[t] + smooth) / total) for t in seq] for seq in scored]
    if per_sequence:
        return sum(sum(c) / len(c) for c in costs if c) / sum(1 for c in costs if c)
    flat = [c for seq in costs for c in seq]
    return sum(flat) / len(flat)


def _no_smoothing(train, evaluate, vocab_size, special_ids):
    counts = Counter(t for seq in train for t in seq if t not in special_ids)
    total = sum(counts.values())
    flat = [t for seq in evaluate for t in seq if t not in special_ids]
    return sum(-math.log(counts[t] / total) if counts[t] else math.inf for t in flat) / len(flat)


@pytest.mark.parametrize(
    "answer, message",
    [
        (_no_smoothing, "add-one smoothing"),
        (lambda tr, ev, v, s: _unigram(tr, ev, v, s, k=v), "ordinary tokens only"),
        (lambda tr, ev, v, s: _unigram(tr, ev, v, s, keep_special=True), "leave the special ids out"),
        (lambda tr, ev, v, s: _unigram(tr, ev, v, s, log=math.log2), "natural logarithm"),
        (lambda tr, ev, v, s: _unigram(tr, ev, v, s, per_sequence=True), "not over sequences"),
        (lambda tr, ev, v, s: _unigram(tr, ev, v, s, fit_on=ev), "TRAINING sequences"),
        (lambda tr, ev, v, s: _unigram(tr, ev, v, s, smooth=0.5), "should be"),
        (lambda tr, ev, v, s: [_unigram(tr, ev, v, s)], "should be one number"),
    ],
)
def test_unit07_unigram_loss(answer, message):
    assert unit07.check_unigram_loss(_unigram)
    assert unit07.check_unigram_loss(lambda *a: torch.tensor(_unigram(*a)))
    with pytest.raises(CheckError, match=message):
        unit07.check_unigram_loss(answer)


# --------------------------------------------------------------------------- Task 4


@torch.no_grad()
def _predict(
    model, batch, mask_token_id, side, *, eval_mode=True, hide_blank=False, swap=False, in_place=False
):
    """Row by row, with an attention mask written out by hand."""
    if eval_mode:
        model.eval()
    if swap:
        side = {"left": "right", "right": "left"}.get(side, side)
    mask = batch["attention_mask"] if in_place else batch["attention_mask"].clone()
    blanks = []
    for b in range(batch["input_ids"].size(0)):
        t = batch["input_ids"][b].tolist().index(mask_token_id)
        blanks.append(t)
        if side == "left":
            mask[b, t + (0 if hide_blank else 1) :] = 0
        elif side == "right":
            mask[b, : t + (1 if hide_blank else 0)] = 0
    logits = model(
        input_ids=batch["input_ids"], attention_mask=mask, token_type_ids=batch["token_type_ids"]
    ).logits
    return torch.stack([logits[b, t].argmax() for b, t in enumerate(blanks)])


def _accuracy_instead(model, batch, mask_token_id, side):
    predictions = _predict(model, batch, mask_token_id, side)
    labels = batch["labels"][batch["labels"] != -100]
    return (predictions == labels).float().mean()


@pytest.mark.parametrize(
    "answer, message",
    [
        (lambda m, b, i, s: _predict(m, b, i, s, eval_mode=False), "eval mode"),
        (lambda m, b, i, s: _predict(m, b, i, s, hide_blank=True), "hides the \\[MASK\\] itself"),
        (lambda m, b, i, s: _predict(m, b, i, s, swap=True), "reads the (left|right) side"),
        (lambda m, b, i, s: _predict(m, b, i, "both"), "as if both sides were visible"),
        (lambda m, b, i, s: _predict(m, b, i, s, in_place=True), "changed the batch"),
        (_accuracy_instead, "shape \\(\\), expected \\(24,\\)"),
        (lambda m, b, i, s: _predict(m, b, i, s).tolist(), "should be a tensor of token ids"),
        (lambda m, b, i, s: _predict(m, b, i, s).float(), "should hold token ids"),
    ],
)
def test_unit07_predict_with_context(answer, message):
    assert unit07.check_predict_with_context(_predict)
    with pytest.raises(CheckError, match=message):
        unit07.check_predict_with_context(answer)


def test_unit07_task4_sides_disagree_on_the_checks_blanks():
    """The three sides give different predictions on the check's blanks, so a wrong side cannot pass."""
    from course_utils.model import BertForMaskedLM
    from course_utils.pretrain import load_pretrained_for

    with unit07.isolated_rng(0):
        model, tokenizer = load_pretrained_for(BertForMaskedLM, "cpu")
    for batch in unit07._check_batches(tokenizer):
        assert ((batch["input_ids"] == tokenizer.mask_token_id).sum(1) == 1).all()
        both, left, right = (_predict(model, batch, tokenizer.mask_token_id, s) for s in unit07.SIDES)
        assert (both != left).sum() >= 3 and (both != right).sum() >= 3 and (left != right).sum() >= 3
        hidden = _predict(model, batch, tokenizer.mask_token_id, "left", hide_blank=True)
        assert (hidden != left).any()
