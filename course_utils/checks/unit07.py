"""Checks for exercise sheet 07: masked language modelling.

References are computed here: the shares of Task 1 from their formulas, the word ids of Task 2 from WordPiece's rule
(a token that starts with ``##`` continues the word before it), the add-one unigram model of Task 3 on sequences the
check draws, and the predictions of Task 4 with the course's pretrained model on blanks of the check's own.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import torch

from course_utils.checks import expect_callable, expect_number, fail, isolated_rng, passed
from course_utils.data import IGNORE_INDEX, pad_examples
from course_utils.model import BertForMaskedLM
from course_utils.pretrain import load_pretrained_for

__all__ = [
    "check_what_the_model_sees",
    "check_word_ids_from_pieces",
    "check_unigram_loss",
    "check_predict_with_context",
]

# ----------------------------------------------------------------------------------------------------
# Task 1: what the model sees at a position
# ----------------------------------------------------------------------------------------------------

_SEES_KEYS = ("mask", "wrong", "target_given_real", "wrong_given_real")


def _sees(p: float, mask_p: float, random_p: float) -> dict[str, float]:
    real = 1 - p * mask_p  # the positions that show a real token: all but the [MASK]s
    return {
        "mask": p * mask_p,
        "wrong": p * random_p,
        "target_given_real": p * (1 - mask_p) / real,
        "wrong_given_real": p * random_p / real,
    }


def _as_shares(task: str, answer: Any, name: str) -> dict[str, float]:
    if not isinstance(answer, dict):
        kind = type(answer).__name__
        fail(task, f"{name} should be a dict with the keys {list(_SEES_KEYS)}, got {kind}")
    missing = [k for k in _SEES_KEYS if k not in answer]
    if missing:
        fail(task, f"{name} lacks the key(s) {missing}; return a dict with the keys {list(_SEES_KEYS)}")
    return {k: expect_number(task, answer[k], f"{name}[{k!r}]") for k in _SEES_KEYS}


def _sees_mistakes(p: float, mask_p: float, random_p: float) -> dict[str, list[tuple[float, str]]]:
    """For each share, what a plausible mistake gives, and the hint that goes with it."""
    real = 1 - p * mask_p
    unconditional = "a conditional probability: divide by the share of positions that show a real token"
    not_chosen = (
        "the positions that show a real token are all but the [MASK]s: 1 - p * mask_p of them, not 1 - p"
    )
    return {
        "mask": [(mask_p, "a share of ALL ordinary positions: a position is chosen (p) AND then masked")],
        "wrong": [
            (random_p, "a share of ALL ordinary positions: a position is chosen (p) AND then replaced")
        ],
        "target_given_real": [
            (p * (1 - mask_p), unconditional),
            (p * (1 - mask_p - random_p) / real, "a position replaced by a random token is a target too"),
            (p * (1 - mask_p) / (1 - p) if p < 1 else math.nan, not_chosen),
        ],
        "wrong_given_real": [
            (p * random_p, unconditional),
            (p * random_p / (1 - p) if p < 1 else math.nan, not_chosen),
        ],
    }


def check_what_the_model_sees(what_the_model_sees: Callable) -> bool:
    """Task 1: ``what_the_model_sees(p, mask_p, random_p)`` gives the four shares of the sheet."""
    task = "Task 1 (what the model sees)"
    expect_callable(task, what_the_model_sees, "what_the_model_sees")
    for p, mask_p, random_p in (
        (0.15, 0.8, 0.1),
        (0.15, 1.0, 0.0),
        (0.4, 0.8, 0.1),
        (0.3, 0.5, 0.25),
        (1.0, 0.0, 0.5),
    ):
        name = f"what_the_model_sees({p}, {mask_p}, {random_p})"
        got = _as_shares(task, what_the_model_sees(p, mask_p, random_p), name)
        expected = _sees(p, mask_p, random_p)
        if all(
            math.isclose(got[k], 100 * expected[k], rel_tol=1e-6, abs_tol=1e-9) for k in _SEES_KEYS
        ) and any(expected[k] for k in _SEES_KEYS):
            fail(task, f"{name}: give shares between 0 and 1, not percentages")
        for key in _SEES_KEYS:
            if math.isclose(got[key], expected[key], rel_tol=1e-6, abs_tol=1e-9):
                continue
            for wrong, hint in _sees_mistakes(p, mask_p, random_p)[key]:
                if math.isclose(got[key], wrong, rel_tol=1e-6, abs_tol=1e-9):
                    fail(task, f"{name}[{key!r}] is {got[key]:.4g}: {hint}")
            fail(task, f"{name}[{key!r}] is {got[key]:.4g}, but should be {expected[key]:.4g}")
    return passed(task, "the four shares, for BERT's recipe and four others")


# ----------------------------------------------------------------------------------------------------
# Task 2: word ids from WordPiece tokens
# ----------------------------------------------------------------------------------------------------

_BERT_SPECIAL = ("[CLS]", "[SEP]", "[PAD]", "[MASK]", "[UNK]")
_PIECE_CASES: list[tuple[list[str], tuple[str, ...]]] = [
    (
        [
            "[CLS]",
            "the",
            "man",
            "put",
            "his",
            "basket",
            "on",
            "phil",
            "##am",
            "##mon",
            "'",
            "s",
            "head",
            "[SEP]",
        ],
        _BERT_SPECIAL,
    ),
    (
        [
            "[CLS]",
            "ruby",
            "lived",
            "here",
            "[SEP]",
            "she",
            "hurr",
            "##ied",
            "home",
            ".",
            "[SEP]",
            "[PAD]",
            "[PAD]",
        ],
        _BERT_SPECIAL,
    ),
    (["[CLS]", "un", "##bel", "##iev", "##able", "[SEP]"], _BERT_SPECIAL),
    (["<s>", "zy", "##x", "##w", "kite", "</s>", "<pad>"], ("<s>", "</s>", "<pad>")),
]


def _word_ids(tokens: Sequence[str], special: Sequence[str]) -> list[int]:
    ids, word = [], -1
    for token in tokens:
        if token in special:
            ids.append(-1)
            continue
        if not token.startswith("##") or word < 0:
            word += 1
        ids.append(word)
    return ids


def _as_int_list(task: str, answer: Any, name: str) -> list[int]:
    if isinstance(answer, torch.Tensor) and answer.dim() == 1 and not answer.dtype.is_floating_point:
        answer = answer.tolist()
    if not isinstance(answer, (list, tuple)) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in answer
    ):
        hint = " (did you forget the return statement?)" if answer is None else ""
        fail(task, f"{name} should be a list of ints, one per token, got {type(answer).__name__}{hint}")
    return list(answer)


def check_word_ids_from_pieces(word_ids_from_pieces: Callable) -> bool:
    """Task 2: ``word_ids_from_pieces(tokens, special_tokens)`` numbers the words, -1 for special tokens."""
    task = "Task 2 (word ids from WordPiece tokens)"
    expect_callable(task, word_ids_from_pieces, "word_ids_from_pieces")
    for tokens, special in _PIECE_CASES:
        name = f"word_ids_from_pieces({tokens}, ...)"
        got = _as_int_list(task, word_ids_from_pieces(list(tokens), set(special)), name)
        expected = _word_ids(tokens, special)
        if len(got) != len(tokens):
            fail(task, f"{name} has {len(got)} ids for {len(tokens)} tokens: give one id per token")
        if got == expected:
            continue
        every_token_a_word = _word_ids([t.lstrip("#") for t in tokens], special)
        if got == every_token_a_word:
            fail(task, f"{name} gives {got}: a token that starts with ## continues the word before it")
        if [g if e >= 0 else -1 for g, e in zip(got, expected)] == expected:
            fail(
                task,
                f"{name} gives {got}: special tokens ({sorted(special)}) belong to no word: give them -1",
            )
        if [g - 1 if g > 0 else g for g in got] == expected:
            fail(task, f"{name} gives {got}: number the words from 0")
        fail(
            task,
            f"{name} gives {got}, expected {expected} (words numbered 0, 1, 2, ... across the whole sequence, "
            "-1 for special tokens)",
        )
    return passed(task, "pieces joined into words, special tokens apart, any set of special tokens")


# ----------------------------------------------------------------------------------------------------
# Task 3: the unigram floor of the MLM loss
# ----------------------------------------------------------------------------------------------------


def _unigram(
    train: list[list[int]],
    evaluate: list[list[int]],
    vocab_size: int,
    special: set[int],
    *,
    smoothing: str = "ordinary",
    count_special: bool = False,
    base: float = math.e,
    per_sequence: bool = False,
) -> float:
    keep = (lambda t: True) if count_special else (lambda t: t not in special)  # noqa: E731
    counts = Counter(t for seq in train for t in seq if keep(t))
    total = sum(counts.values())
    k = vocab_size - len(special) if smoothing == "ordinary" else vocab_size
    if smoothing == "none":
        k = 0

    def cost(t: int) -> float:
        q = (counts[t] + (0 if smoothing == "none" else 1)) / (total + k)
        return -math.log(q, base) if q > 0 else math.inf

    if per_sequence:
        means = [sum(map(cost, s)) / len(s) for s in ([t for t in seq if keep(t)] for seq in evaluate) if s]
        return sum(means) / len(means)
    costs = [cost(t) for seq in evaluate for t in seq if keep(t)]
    return sum(costs) / len(costs)


def _zipf_sequences(gen: random.Random, n: int, vocab_size: int, cut: int) -> list[list[int]]:
    """[CLS] ... [SEP] [PAD]... rows of Zipf-like ordinary ids 5 .. cut-1 (ids >= cut never occur)."""
    ordinary = list(range(5, cut))
    weights = [1 / (r + 1) for r in range(len(ordinary))]
    rows = []
    for _ in range(n):
        length = gen.randint(3, 14)
        rows.append([2, *gen.choices(ordinary, weights, k=length), 3] + [0] * gen.randint(0, 3))
    return rows


def check_unigram_loss(unigram_loss: Callable) -> bool:
    """Task 3: ``unigram_loss(train, evaluate, vocab_size, special_ids)``: add-one unigram cross-entropy in nats."""
    task = "Task 3 (the unigram floor)"
    expect_callable(task, unigram_loss, "unigram_loss")
    gen = random.Random(7)
    special = {0, 1, 2, 3, 4}
    for vocab_size, cut in ((40, 36), (300, 200)):
        train = _zipf_sequences(gen, 150, vocab_size, cut)
        evaluate = _zipf_sequences(gen, 60, vocab_size, cut)
        evaluate[0][1] = cut  # an ordinary token the training sequences never contain: it needs the smoothing
        name = f"unigram_loss(...) (vocabulary of {vocab_size}, the check's own sequences)"
        value = unigram_loss([list(s) for s in train], [list(s) for s in evaluate], vocab_size, set(special))
        got = expect_number(task, value, name)
        expected = _unigram(train, evaluate, vocab_size, special)
        if math.isclose(got, expected, rel_tol=1e-6):
            continue
        if not math.isfinite(got):
            fail(
                task,
                f"{name} is {got}: a token of the evaluation text never occurs in training; add one to every "
                "count (add-one smoothing) so that no probability is 0",
            )
        hints = [
            (
                dict(smoothing="all"),
                "smooth over the ordinary tokens only: vocab_size - len(special_ids) of them",
            ),
            (
                dict(count_special=True),
                "leave the special ids out, in the counts and in the evaluated tokens",
            ),
            (dict(base=2.0), "use the natural logarithm (nats), as cross-entropy losses do"),
            (dict(per_sequence=True), "average over all evaluated tokens, not over sequences"),
        ]
        for settings, hint in hints:
            if math.isclose(got, _unigram(train, evaluate, vocab_size, special, **settings), rel_tol=1e-6):
                fail(task, f"{name} is {got:.4f}: {hint}")
        if math.isclose(got, _unigram(evaluate, evaluate, vocab_size, special), rel_tol=1e-6):
            fail(
                task,
                f"{name} is {got:.4f}: count the tokens of the TRAINING sequences, then score the others",
            )
        fail(task, f"{name} is {got:.4f}, but should be {expected:.4f}")
    return passed(task, "add-one unigram cross-entropy on the check's own sequences")


# ----------------------------------------------------------------------------------------------------
# Task 4: which side of the blank does the model read?
# ----------------------------------------------------------------------------------------------------

_NAMES = ("Ruby", "Sam", "Ella", "Liam", "Maya", "Leo", "Anna", "Ben", "Ivy", "Max")
_PLACES = ("park", "museum", "market", "zoo", "bakery", "river", "library", "castle")
_DAYS = ("Monday", "Friday", "Sunday")
_TEMPLATES = (
    "{a} met {b} at the {place}, and {a} gave {b} a {color} kite.",
    "On {day}, {a} went to the {place}. {b} was already there, so they stayed until the evening.",
    "{a} and {b} bought {color} apples at the {place}. Then {a} went home.",
    "{a} lived near the {place}. One morning, {b} visited the {place} with {a}.",
)
SIDES = ("both", "left", "right")


def _check_batches(tokenizer: Any) -> list[dict[str, torch.Tensor]]:
    """Two batches of the check's own sentences, each row with exactly one [MASK] (not at either end)."""
    gen = random.Random(70)
    batches = []
    for _ in range(2):
        items = []
        for _ in range(24):
            a, b = gen.sample(_NAMES, 2)
            place, color, day = gen.choice(_PLACES), gen.choice(("red", "blue", "green")), gen.choice(_DAYS)
            ids = tokenizer(gen.choice(_TEMPLATES).format(a=a, b=b, place=place, color=color, day=day))[
                "input_ids"
            ]
            t = gen.randrange(2, len(ids) - 2)  # a blank with a word or more on each side
            labels = [IGNORE_INDEX] * len(ids)
            labels[t], ids[t] = ids[t], tokenizer.mask_token_id
            items.append({"input_ids": ids, "labels": labels})
        batches.append(pad_examples(items, tokenizer.pad_token_id))
    return batches


@torch.no_grad()
def _predict(model, batch, mask_token_id: int, side: str, *, hide_blank: bool = False) -> torch.Tensor:
    model.eval()
    blank = (batch["input_ids"] == mask_token_id).long().argmax(-1)  # (B,) the one [MASK] of each row
    positions = torch.arange(batch["input_ids"].size(1))[None, :]  # (1, T)
    keep = batch["attention_mask"].bool()
    if side == "left":
        keep = keep & (positions < blank[:, None] + (0 if hide_blank else 1))
    elif side == "right":
        keep = keep & (positions > blank[:, None] - (0 if hide_blank else 1))
    logits = model(
        input_ids=batch["input_ids"], attention_mask=keep.long(), token_type_ids=batch["token_type_ids"]
    ).logits  # (B, T, V)
    return logits[torch.arange(len(blank)), blank].argmax(-1)  # (B,)


def _as_ids(task: str, answer: Any, rows: int, name: str) -> torch.Tensor:
    if not isinstance(answer, torch.Tensor):
        hint = " (did you forget the return statement?)" if answer is None else ""
        fail(task, f"{name} should be a tensor of token ids, one per row, got {type(answer).__name__}{hint}")
    if tuple(answer.shape) != (rows,):
        fail(
            task,
            f"{name} has shape {tuple(answer.shape)}, expected ({rows},): one prediction per row, at its [MASK]",
        )
    if answer.dtype.is_floating_point or answer.dtype == torch.bool:
        fail(task, f"{name} should hold token ids (the argmax over the vocabulary), got dtype {answer.dtype}")
    return answer.detach().cpu()


def check_predict_with_context(predict_with_context: Callable) -> bool:
    """Task 4: ``predict_with_context(model, batch, mask_token_id, side)`` predicts each blank from one side.

    The check runs the function on the course's pretrained model (handed over in train mode, as a freshly loaded
    model is) with batches of its own, for the three sides.
    """
    task = "Task 4 (which side of the blank the model reads)"
    expect_callable(task, predict_with_context, "predict_with_context")
    with isolated_rng(0):
        model, tokenizer = load_pretrained_for(BertForMaskedLM, "cpu")
        mask_id = tokenizer.mask_token_id
        for n, batch in enumerate(_check_batches(tokenizer)):
            rows = batch["input_ids"].size(0)
            for side in SIDES:
                name = f"predict_with_context(model, batch {n}, {mask_id}, {side!r})"
                expected = _predict(model, batch, mask_id, side)
                given = {k: v.clone() for k, v in batch.items()}
                model.train()  # as a model fresh from load_pretrained_for
                got = _as_ids(task, predict_with_context(model, given, mask_id, side), rows, name)
                if any(not torch.equal(given[k], batch[k]) for k in batch):
                    fail(task, f"{name} changed the batch it was given: build a new attention mask instead")
                if torch.equal(got, expected):
                    continue
                other = {"left": "right", "right": "left"}.get(side)
                if other and torch.equal(got, _predict(model, batch, mask_id, other)):
                    fail(
                        task,
                        f"{name} reads the {other} side: {side!r} keeps the tokens on the {side} of the blank",
                    )
                if side != "both" and torch.equal(
                    got, _predict(model, batch, mask_id, side, hide_blank=True)
                ):
                    fail(
                        task,
                        f"{name} hides the [MASK] itself: keep the blank's own position visible, and hide only "
                        f"the tokens on the other side of it",
                    )
                if side != "both" and torch.equal(got, _predict(model, batch, mask_id, "both")):
                    fail(task, f"{name} predicts as if both sides were visible: hide the other side")
                wrong = int((got != expected).sum())
                fail(
                    task,
                    f"{name} differs from the expected predictions in {wrong} of {rows} rows: measure in eval "
                    "mode (dropout off: model.eval()) and take the argmax over the vocabulary at each [MASK]",
                )
    return passed(task, "the pretrained model on the check's own blanks, both sides, left only, right only")
