"""course_utils.checks.unit08: every check passes a right answer and rejects the wrong ones it is meant to catch.

The right answers are written independently of the solution sheet, without the library losses the checks
forbid (F.cross_entropy, F.nll_loss). Every test also verifies that the check left the learner's global random
state as it found it.
"""

from __future__ import annotations

import random

import pytest
import torch
import torch.nn.functional as F

from course_utils.checks import CheckError, unit08

pytestmark = pytest.mark.usefixtures("one_thread", "global_random_state_untouched")

RIGHT_LABELS = [0, 1, 1, 1, 0, 1]


# --------------------------------------------------------------------------- Task 1


@pytest.mark.parametrize(
    "labels, message",
    [
        ([1, 0, 0, 0, 1, 0], "opposite"),
        ([0, 0, 1, 1, 0, 1], "pair 2 .* two sentences ahead"),
        ([0, 1, 0, 1, 0, 1], "pair 3 .* BEFORE A"),
        ([0, 1, 1, 0, 0, 1], "pair 4 .* another document"),
        ([0, 1, 1, 1, 0, 0], "pair 6 .* last sentence"),
        ([1, 1, 1, 1, 0, 1], "pair 1 .* right after A"),
        ([0, 1, 1, 1, 0], "5 entries for 6 pairs"),
        ({"pair 1": 0}, "list of 6 labels"),
        ([0, 1, 1, 1, 0, "1"], "the int 0"),
        ([True, 1, 1, 1, 0, 1], "the int 0"),
    ],
)
def test_unit08_pair_labels(labels, message):
    assert unit08.check_pair_labels(RIGHT_LABELS)
    assert unit08.check_pair_labels(torch.tensor(RIGHT_LABELS))
    assert len(unit08.QUIZ_PAIRS) == len(RIGHT_LABELS)
    with pytest.raises(CheckError, match=message):
        unit08.check_pair_labels(labels)


# --------------------------------------------------------------------------- Task 2


def _loss(logits, labels):
    log_p = logits - torch.logsumexp(logits, dim=-1, keepdim=True)
    return -log_p.gather(1, labels[:, None]).mean()


def _ignoring_zero(logits, labels):
    log_p = logits.log_softmax(-1)
    keep = labels != 0
    return -log_p[keep].gather(1, labels[keep][:, None]).mean()


@pytest.mark.parametrize(
    "answer, message",
    [
        (_ignoring_zero, "leaves out every pair with label 0"),
        (lambda x, y: _loss(x, 1 - y), "other column"),
        (lambda x, y: _loss(x, y) * len(y), "sum over the pairs"),
        (lambda x, y: -x.softmax(-1).gather(1, y[:, None]).mean(), "probabilities"),
        (lambda x, y: -torch.log(x.softmax(-1)).gather(1, y[:, None]).mean(), "inf or NaN"),
        (lambda x, y: -x.log_softmax(-1).gather(1, y[:, None])[:, 0], "one loss per pair"),
        (lambda x, y: torch.tensor(_loss(x, y).item()), "no gradient"),
        (lambda x, y: _loss(x, y).item(), "should be a Tensor"),
        (lambda x, y: F.cross_entropy(x, y), "F.cross_entropy"),
        (lambda x, y: torch.nn.CrossEntropyLoss()(x, y), "F.cross_entropy"),
        (lambda x, y: F.nll_loss(x.log_softmax(-1), y), "F.nll_loss"),
        ("nsp_loss", "pass the function"),
    ],
)
def test_unit08_nsp_loss(answer, message):
    assert unit08.check_nsp_loss(_loss)
    with pytest.raises(CheckError, match=message):
        unit08.check_nsp_loss(answer)


# --------------------------------------------------------------------------- Task 3


def _accuracy(model, tokenizer, pairs, batch_size=32, segments=True, mask=True, flip=False, eval_mode=True):
    if eval_mode:
        model.eval()
    right = 0
    with torch.no_grad():
        for i in range(0, len(pairs), batch_size):
            chunk = pairs[i : i + batch_size]
            enc = tokenizer(
                [a for a, _, _ in chunk], [b for _, b, _ in chunk], padding=True, return_tensors="pt"
            )
            logits = model(
                input_ids=enc["input_ids"],
                attention_mask=enc["attention_mask"] if mask else None,
                token_type_ids=enc["token_type_ids"] if segments else None,
            ).seq_relationship_logits
            predicted = logits.argmax(-1)
            if flip:
                predicted = 1 - predicted
            right += (predicted == torch.tensor([y for *_, y in chunk])).sum().item()
    return right / len(pairs)


@pytest.mark.parametrize(
    "answer, message",
    [
        (lambda m, t, p, b: _accuracy(m, t, p, b, flip=True), "1 - accuracy"),
        (lambda m, t, p, b: _accuracy(m, t, p, b, segments=False), "token_type_ids"),
        (lambda m, t, p, b: _accuracy(m, t, p, b, mask=False), "attention_mask"),
        (lambda m, t, p, b: _accuracy(m, t, p, b, eval_mode=False), "train mode"),
        (lambda m, t, p, b: 0.5, "without running the model"),
        (lambda m, t, p, b: {"accuracy": 0.9}, "one number"),
    ],
)
def test_unit08_nsp_accuracy(answer, message):
    assert unit08.check_nsp_accuracy(_accuracy)
    with pytest.raises(CheckError, match=message):
        unit08.check_nsp_accuracy(answer)


# --------------------------------------------------------------------------- Task 4


def _same_document_pairs(documents, seed, shuffle=True, same=True, rng_global=False, skip_two=True):
    rng = random if rng_global else random.Random(seed)
    positions = [(d, i) for d, doc in enumerate(documents) for i in range(len(doc) - 1)]
    if skip_two:
        positions = [(d, i) for d, i in positions if len(documents[d]) >= 3]
    rng.shuffle(positions)
    half = len(positions) // 2
    pairs = []
    for k, (d, i) in enumerate(positions):
        doc = documents[d]
        if k < half:
            pairs.append((doc[i], doc[i + 1], 0))
        elif same:
            pairs.append((doc[i], doc[rng.choice([j for j in range(len(doc)) if j not in (i, i + 1)])], 1))
        else:
            other = documents[(d + 1) % len(documents)]
            pairs.append((doc[i], other[0], 1))
    if shuffle:
        rng.shuffle(pairs)
    return pairs


def _adjacent_not_next(documents, seed):
    pairs = _same_document_pairs(documents, seed)
    a, b, _ = next(p for p in pairs if p[2] == 1)
    doc = next(doc for doc in documents if a in doc)
    i = doc.index(a)
    return [(a, doc[i + 1] if i + 1 < len(doc) else doc[i], 1) if p[0] == a else p for p in pairs]


def _one_not_next_labelled_zero(documents, seed):
    pairs = _same_document_pairs(documents, seed)
    k = next(k for k, p in enumerate(pairs) if p[2] == 1)
    return [*pairs[:k], (pairs[k][0], pairs[k][1], 0), *pairs[k + 1 :]]


@pytest.mark.parametrize(
    "answer, message",
    [
        (lambda docs, seed: _same_document_pairs(docs, seed, same=False), "another document"),
        (_one_not_next_labelled_zero, "labelled 0 but B is not"),
        (lambda docs, seed: [list(p) for p in _same_document_pairs(docs, seed)], "list of .* tuples"),
        (lambda docs, seed: _same_document_pairs(docs, seed, shuffle=False), "shuffle"),
        (lambda docs, seed: _same_document_pairs(docs, 0), "seeds 7 and 8"),
        (_adjacent_not_next, "non-adjacent"),
        (lambda docs, seed: _same_document_pairs(docs, seed)[:-3], "cover"),
        (lambda docs, seed: [(a, b, 1 - y) for a, b, y in _same_document_pairs(docs, seed)], "opposite"),
        (lambda docs, seed: _same_document_pairs(docs, seed, rng_global=True), "global random"),
        ("pairs", "pass the function"),
    ],
)
def test_unit08_same_document_pairs(answer, message):
    assert unit08.check_same_document_pairs(_same_document_pairs)
    with pytest.raises(CheckError, match=message):
        unit08.check_same_document_pairs(answer)


def test_unit08_same_document_pairs_without_the_two_sentence_rule_crashes_or_is_caught():
    # a two-sentence document has no non-adjacent sentence: choosing from an empty list fails in the
    # learner's own code (its traceback is theirs); a function that pairs it anyway is caught
    def pairs_it_anyway(docs, seed):
        pairs = _same_document_pairs(docs, seed)
        a, b = docs[-1]
        return [*pairs, (a, b, 0)]

    with pytest.raises(CheckError, match="two-sentence document"):
        unit08.check_same_document_pairs(pairs_it_anyway)
    # (it crashes only when the draw makes the two-sentence document's pair a NotNext one)
    with pytest.raises((IndexError, CheckError)) as caught:
        unit08.check_same_document_pairs(lambda docs, seed: _same_document_pairs(docs, seed, skip_two=False))
    assert caught.type is IndexError or "two-sentence document" in str(caught.value)


# --------------------------------------------------------------------------- Task 5


def _order(model, tokenizer, pairs, reverse=False, direct=False, eval_mode=True):
    if eval_mode:
        model.eval()

    def p_is_next(firsts, seconds):
        enc = tokenizer(firsts, seconds, padding=True, return_tensors="pt")
        with torch.no_grad():
            return model(**enc).seq_relationship_logits.softmax(-1)[:, 0]

    forward = p_is_next([a for a, _, _ in pairs], [b for _, b, _ in pairs])
    backward = p_is_next([b for _, b, _ in pairs], [a for a, _, _ in pairs])
    if direct:
        return (forward < 0.5).long().tolist()
    predicted = (forward < backward).long()
    return (1 - predicted).tolist() if reverse else predicted.tolist()


@pytest.mark.parametrize(
    "answer, message",
    [
        (lambda m, t, p: _order(m, t, p, reverse=True), "flipped"),
        (lambda m, t, p: _order(m, t, p, direct=True), "alone"),
        (lambda m, t, p: _order(m, t, p, eval_mode=False), "train mode"),
        (lambda m, t, p: _order(m, t, p)[:-1], "one predicted label"),
        (lambda m, t, p: [0] * len(p), "differ"),
    ],
)
def test_unit08_order_by_comparison(answer, message):
    assert unit08.check_order_by_comparison(_order)
    assert unit08.check_order_by_comparison(lambda m, t, p: torch.tensor(_order(m, t, p)))
    with pytest.raises(CheckError, match=message):
        unit08.check_order_by_comparison(answer)
