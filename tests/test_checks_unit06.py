"""course_utils.checks.unit06: every check passes a right answer and rejects the wrong ones it is meant to catch.

The right answers are written independently of the solution sheet. Every test also verifies that the check left
the learner's global random state as it found it.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from tokenizers import models

from course_utils.checks import CheckError, unit06

pytestmark = pytest.mark.usefixtures("one_thread", "global_random_state_untouched")

# --------------------------------------------------------------------------------------- Task 1


def _split(word, vocab, longest=True, prefix="##", first="", whole=True, backtrack=False):
    """WordPiece's greedy longest match (the defaults), or one of the mistakes the check must catch."""
    if backtrack:

        def spell(start):
            if start == len(word):
                return []
            for end in range(len(word), start, -1):
                piece = ("" if start == 0 else "##") + word[start:end]
                if piece in vocab and (rest := spell(end)) is not None:
                    return [piece, *rest]
            return None

        return spell(0) or ["[UNK]"]
    pieces, start = [], 0
    while start < len(word):
        ends = range(len(word), start, -1) if longest else range(start + 1, len(word) + 1)
        piece = next(
            ((first if start == 0 else prefix) + word[start:end] for end in ends
             if (first if start == 0 else prefix) + word[start:end] in vocab),
            None,
        )  # fmt: skip
        if piece is None:
            if whole:
                return ["[UNK]"]
            pieces.append("[UNK]")
            start += 1
            continue
        pieces.append(piece)
        start += len(piece) - (len(first) if start == 0 else len(prefix))
    return pieces


def _with_library(word, vocab):
    return [t.value for t in models.WordPiece(vocab, unk_token="[UNK]").tokenize(word)]


@pytest.mark.parametrize(
    "answer, message",
    [
        (lambda w, v: _split(w, v, whole=False), "WHOLE word"),
        (lambda w, v: _split(w, v, backtrack=True), "greedy"),
        (lambda w, v: _split(w, v, longest=False), "LONGEST"),
        (lambda w, v: _split(w, v, prefix=""), "'##' in front"),
        (lambda w, v: _split(w, v, first="##"), "WITHOUT '##'"),
        (lambda w, v: " ".join(_split(w, v)), "return a list"),
        (lambda w, v: list(w), "expected"),
        (_with_library, "tokenizers library"),
    ],
)
def test_unit06_wordpiece_split(answer, message):
    assert unit06.check_wordpiece_split(_split)
    with pytest.raises(CheckError, match=message):
        unit06.check_wordpiece_split(answer)


def test_unit06_wordpiece_split_restores_the_library():
    with pytest.raises(CheckError):
        unit06.check_wordpiece_split(_with_library)
    assert _with_library("ab", {"[UNK]": 0, "a": 1, "##b": 2}) == ["a", "##b"]  # the library works again


# --------------------------------------------------------------------------------------- Task 2


def _same(tokenizer, words, key=None, singletons=False):
    key = key or (lambda w: tuple(tokenizer.encode(w, add_special_tokens=False)))
    groups = {}
    for w in words:
        groups.setdefault(key(w), []).append(w)
    return [g for g in groups.values() if singletons or len(g) > 1]


@pytest.mark.parametrize(
    "answer, message",
    [
        (lambda tok, words: _same(tok, words, key=str.lower), "lower-cased"),
        (
            lambda tok, words: _same(tok, words, key=lambda w: tok.encode(w, add_special_tokens=False)[0]),
            "ALL the ids",
        ),
        (lambda tok, words: _same(tok, words, singletons=True), "two or more"),
        (lambda tok, words: {i: g for i, g in enumerate(_same(tok, words))}, "list of groups"),
        (lambda tok, words: _same(tok, words)[1:], "missing"),
        (lambda tok, words: [*_same(tok, words), ["river", "riverton"]], "a word appears in two groups"),
        (lambda tok, words: [["Baker", "someone"]], "not one of the words"),
    ],
)
def test_unit06_same_input(answer, message):
    assert unit06.check_same_input(_same)
    assert unit06.check_same_input(
        lambda tok, words: [tuple(g) for g in _same(tok, words)]
    )  # tuples are fine
    with pytest.raises(CheckError, match=message):
        unit06.check_same_input(answer)


# --------------------------------------------------------------------------------------- Task 3


def _batches(lengths, batch_size, seed, pool_batches=50, pools=True, sort=True, shuffle_batches=True,
             shuffle_first=True, drop_last=False, rng=None):  # fmt: skip
    rng = rng or random.Random(seed)
    order = list(range(len(lengths)))
    if shuffle_first:
        rng.shuffle(order)
    size = pool_batches * batch_size if pools else len(order)
    batches = []
    for start in range(0, len(order), size):
        pool = order[start : start + size]
        if sort:
            pool = sorted(pool, key=lambda i: lengths[i])  # ascending is as good as descending
        batches += [pool[k : k + batch_size] for k in range(0, len(pool), batch_size)]
    if drop_last:
        batches = [b for b in batches if len(b) == batch_size]
    if shuffle_batches:
        rng.shuffle(batches)
    return batches


def _global_shuffle(lengths, batch_size, seed, pool_batches=50):
    random.seed(seed)  # the global generator: the check must refuse it
    order = list(range(len(lengths)))
    random.shuffle(order)
    return [order[k : k + batch_size] for k in range(0, len(order), batch_size)]


@pytest.mark.parametrize(
    "answer, message",
    [
        (lambda *a: _batches(*a, pools=False), "mixes examples of different pools"),
        (lambda *a: _batches(*a, shuffle_first=False), "mixes examples of different pools"),
        (lambda *a: _batches(*a, sort=False), "neighbours in length"),
        (lambda *a: _batches(*a, shuffle_batches=False), "pool after pool"),
        (lambda *a: _batches(*a, drop_last=True), "leaves out 3"),
        (lambda *a: _batches(*a) + [[0]], "in two batches"),
        (lambda lengths, bs, seed, pb: _batches(lengths, bs, 0, pb), "mixes examples"),  # seed ignored
        (
            lambda lengths, bs, seed, pb: _batches(lengths, bs, seed, pb, rng=random.Random()),
            "different batches",
        ),
        (lambda lengths, bs, seed, pb: _batches(lengths, bs * 2, seed, pb), "should hold batch_size"),
        (_global_shuffle, "global random state"),
        (lambda *a: {i: b for i, b in enumerate(_batches(*a))}, "list of batches"),
        (lambda *a: [[str(i) for i in b] for b in _batches(*a)], "not an index"),
        (lambda *a: [set(b) for b in _batches(*a)], "each batch should be a list"),
    ],
)
def test_unit06_length_grouped_batches(answer, message):
    assert unit06.check_length_grouped_batches(_batches)
    assert unit06.check_length_grouped_batches(
        lambda *a: [np.array(b) for b in _batches(*a)]
    )  # arrays are fine
    assert unit06.check_length_grouped_batches(
        lambda *a: [torch.tensor(b) for b in _batches(*a)]
    )  # tensors too
    with pytest.raises(CheckError, match=message):
        unit06.check_length_grouped_batches(answer)


# --------------------------------------------------------------------------------------- Task 4


def _left(sequences, pad_id, right=False, positions="from_first", invert=False, as_float=False, drop=None):
    T = max(map(len, sequences))
    rows, masks, pos = [], [], []
    for seq in sequences:
        pads = T - len(seq)
        rows.append(seq + [pad_id] * pads if right else [pad_id] * pads + seq)
        mask = [1] * len(seq) + [0] * pads if right else [0] * pads + [1] * len(seq)
        masks.append([1 - m for m in mask] if invert else mask)
        if positions == "from_first":
            pos.append([0] * pads + list(range(len(seq))))
        elif positions == "off_by_one":
            pos.append([0] * pads + list(range(1, len(seq) + 1)))
        else:  # 0..T-1, the model's default
            pos.append(list(range(T)))
    out = {
        "input_ids": torch.tensor(rows),
        "attention_mask": torch.tensor(masks),
        "position_ids": torch.tensor(pos),
    }
    if as_float:
        out["attention_mask"] = out["attention_mask"].float()
    if drop:
        del out[drop]
    return out


@pytest.mark.parametrize(
    "answer, message",
    [
        (lambda s, p: _left(s, p, right=True), "pads go on the LEFT"),
        (lambda s, p: _left(s, p, positions="arange"), "0..T-1 in every row"),
        (lambda s, p: _left(s, p, positions="off_by_one"), r"position_ids should be 0\.\."),
        (lambda s, p: _left(s, p, invert=True), "0 on the pads and 1 on the real tokens"),
        (lambda s, p: _left(s, p, as_float=True), "integers"),
        (lambda s, p: _left(s, p, drop="position_ids"), "has no \\['position_ids'\\]"),
        (lambda s, p: [_left(s, p)["input_ids"]], "should be a dict"),
        (lambda s, p: {k: v[:, 1:] for k, v in _left(s, p).items()}, "has shape"),
        (lambda s, p: {**_left(s, p), "position_ids": _left(s, p)["position_ids"] - 1}, "should lie in"),
        (lambda s, p: {**_left(s, p), "input_ids": _left(s, 0)["input_ids"]}, "pad_id"),
    ],
)
def test_unit06_left_padding(answer, message):
    assert unit06.check_left_padding(_left)
    with pytest.raises(CheckError, match=message):
        unit06.check_left_padding(answer)
