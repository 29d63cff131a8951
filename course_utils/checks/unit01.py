"""Checks for exercise sheet 01: ids, perplexity, an add-k bigram model, and what a bag of words cannot see.

The bigram model runs with the library's n-gram model forbidden; the classifier task is run by the check on
data it holds (with its labels flipped, so a classifier fitted on anything else fails).
"""

from __future__ import annotations

import contextlib
import math
import random
from collections import Counter
from collections.abc import Callable, Iterator

import numpy as np

from course_utils.checks import expect_callable, expect_number, expect_type, fail, forbidden, passed
from course_utils.classic import BagOfWordsClassifier, NGramLM
from course_utils.text import simple_tokenize
from course_utils.world import sentiment_constructions, sentiment_reviews, sentiment_rule

__all__ = [
    "check_ids_by_first_appearance",
    "check_perplexity",
    "check_bigram_prob",
    "check_same_bag_opposite_label",
    "check_ngram_classifier",
]

_NO_NGRAM_LM = {NGramLM.fit: "course_utils.classic.NGramLM", NGramLM.prob: "NGramLM.prob"}


@contextlib.contextmanager
def _numpy_and_python_rng_restored() -> Iterator[None]:
    """Restore NumPy's and Python's global generators after the block (training code may seed them)."""
    numpy_state, python_state = np.random.get_state(), random.getstate()
    try:
        yield
    finally:
        np.random.set_state(numpy_state)
        random.setstate(python_state)


def check_ids_by_first_appearance(ids_by_first_appearance: Callable) -> bool:
    """Task 1: number words 1, 2, 3, ... in the order they first appear; a repeated word keeps its id."""
    task = "Task 1 (ids by first appearance)"
    expect_callable(task, ids_by_first_appearance, "ids_by_first_appearance")
    tokens = "i love dogs and dogs love snacks".split()
    got = ids_by_first_appearance(tokens)
    expect_type(task, got, list, "ids_by_first_appearance(tokens)")
    if len(got) != len(tokens):
        fail(task, f"one id per token: got {len(got)} ids for {len(tokens)} tokens")
    if got != [1, 2, 3, 4, 3, 2, 5]:
        fail(
            task, f"for {tokens} you returned {got}; the first word gets 1 and a repeated word reuses its id"
        )
    if ids_by_first_appearance([]) != []:
        fail(task, "an empty token list should give an empty id list")
    other = ids_by_first_appearance(["b", "a", "b", "c", "a"])
    if other != [1, 2, 1, 3, 2]:
        fail(
            task,
            f"for ['b', 'a', 'b', 'c', 'a'] you returned {other} (ids must not depend on alphabetical order)",
        )
    return passed(task, "I love dogs and dogs love snacks -> [1, 2, 3, 4, 3, 2, 5]")


def check_perplexity(perplexity: Callable) -> bool:
    """Task 2: perplexity = exp(mean of -log p) over the probabilities of the predicted tokens."""
    task = "Task 2 (perplexity)"
    expect_callable(task, perplexity, "perplexity")
    value = expect_number(task, perplexity([0.25, 0.25, 0.25]), "perplexity([0.25, 0.25, 0.25])")
    if not math.isclose(value, 4.0, rel_tol=1e-9):
        fail(
            task,
            f"three tokens of probability 1/4 should give perplexity 4 (like a fair 4-sided die), got {value}",
        )
    probs = [0.5, 0.1, 0.9, 0.3]
    expected = math.exp(-sum(math.log(p) for p in probs) / len(probs))
    value = expect_number(task, perplexity(probs), f"perplexity({probs})")
    if not math.isclose(value, expected, rel_tol=1e-9):
        fail(
            task,
            f"perplexity({probs}) returned {value}; it should be the exp of the MEAN negative log-probability",
        )
    if not math.isclose(expect_number(task, perplexity([1.0, 1.0]), "perplexity([1.0, 1.0])"), 1.0):
        fail(task, "a model that is always sure and right has perplexity 1")
    return passed(task, "uniform over 4 words -> perplexity 4")


def _reference_bigram(sentences: list[list[str]], k: float) -> tuple[Counter, Counter, list[str]]:
    pairs: Counter = Counter()
    for sent in sentences:
        framed = ["<bos>", *sent, "<eos>"]
        pairs.update(zip(framed[:-1], framed[1:]))
    context: Counter = Counter()
    for (prev, _), c in pairs.items():
        context[prev] += c
    followers = sorted({w for s in sentences for w in s} | {"<eos>"})
    return pairs, context, followers


def check_bigram_prob(bigram_prob: Callable) -> bool:
    """Task 3: ``bigram_prob(sentences, k)`` returns ``prob(prev, word)``, the add-k bigram probability."""
    task = "Task 3 (add-k bigram model)"
    expect_callable(task, bigram_prob, "bigram_prob")
    sentences = [s.split() for s in ("the cat sat", "the dog sat", "a cat ran", "the cat ran away")]
    for k in (1.0, 0.5):
        with forbidden(task, _NO_NGRAM_LM, "; count the pairs yourself"):
            prob = bigram_prob(sentences, k)
        if not callable(prob):
            fail(task, f"bigram_prob should return a function prob(prev, word), got {type(prob).__name__}")
        pairs, context, followers = _reference_bigram(sentences, k)
        V = len(followers)
        for prev, word in (
            ("the", "cat"),
            ("<bos>", "the"),
            ("cat", "sat"),
            ("sat", "<eos>"),
            ("dog", "ran"),
        ):
            expected = (pairs[(prev, word)] + k) / (context[prev] + k * V)
            with forbidden(task, _NO_NGRAM_LM, "; count the pairs yourself"):
                got = expect_number(task, prob(prev, word), f"prob({prev!r}, {word!r})")
            if not math.isclose(got, expected, rel_tol=1e-9):
                fail(
                    task,
                    f"with k={k}, prob({prev!r}, {word!r}) = {got}, expected {expected:.6f} "
                    f"(count of the pair {pairs[(prev, word)]}, count of {prev!r} as a context {context[prev]}, V={V})",
                )
        for prev in ("the", "cat", "<bos>", "away"):
            total = sum(expect_number(task, prob(prev, w), f"prob({prev!r}, {w!r})") for w in followers)
            if not math.isclose(total, 1.0, rel_tol=1e-9):
                fail(task, f"with k={k}, the probabilities after {prev!r} sum to {total}, not 1: check V")
    return passed(task, "matches the add-k formula and sums to 1 after every context")


def check_same_bag_opposite_label(swap_clauses: Callable) -> bool:
    """Task 4: ``swap_clauses(review)`` turns a "A, but B." review into "B, but A." (an opening sentence kept):
    the same bag of words, the opposite label.

    The check runs it on the "but" reviews of the test split.
    """
    task = "Task 4 (the same bag, the opposite label)"
    expect_callable(task, swap_clauses, "swap_clauses")
    texts, _ = sentiment_reviews("test")
    reviews = [t for t, kind in zip(texts, sentiment_constructions("test")) if kind == "but"]
    for review in reviews:
        swapped = swap_clauses(review)
        expect_type(task, swapped, str, f"swap_clauses({review!r})")
        if Counter(simple_tokenize(swapped)) != Counter(simple_tokenize(review)):
            fail(
                task,
                f"{swapped!r} does not hold the same words as {review!r}: keep every word (and the opening "
                "sentence), only swap the two clauses around ', but '",
            )
        try:
            label = sentiment_rule(swapped)
        except ValueError:
            fail(
                task, f"{swapped!r} is not a review of the course's form 'The X was ..., but the Y was ....'"
            )
        if label == sentiment_rule(review):
            fail(
                task,
                f"{swapped!r} has the same label as {review!r}; with 'but' the second clause decides, so "
                "swapping the clauses should flip it",
            )
    return passed(task, f"{len(reviews)} reviews: same bag of words, opposite label")


def check_ngram_classifier(fit_classifier: Callable, margin: float = 0.05) -> bool:
    """Task 5: ``fit_classifier(texts, labels)`` returns a fitted classifier (``.predict(texts)``) whose test
    accuracy beats a unigram bag of words fitted on the same data by ``margin``.

    The check calls it on its own data: the training reviews with every label flipped, scored on the test
    reviews with every label flipped. A classifier that was fitted on anything but the texts and labels it
    is given scores near 0 here. A number or a dict of scores is refused: pass the function.
    """
    task = "Task 5 (a little word order for bag-of-words)"
    if isinstance(fit_classifier, (dict, int, float)):
        fail(task, "pass the function fit_classifier itself, not its scores: the check trains and scores it")
    expect_callable(task, fit_classifier, "fit_classifier")
    train_texts, train_labels = sentiment_reviews("train")
    test_texts, test_labels = sentiment_reviews("test")
    flipped_train = [1 - y for y in train_labels]  # positive <-> negative: a rule only the given data teach
    flipped_test = [1 - y for y in test_labels]
    with _numpy_and_python_rng_restored():
        baseline = BagOfWordsClassifier().fit(train_texts, flipped_train).score(test_texts, flipped_test)
        classifier = fit_classifier(list(train_texts), list(flipped_train))
    if not callable(getattr(classifier, "predict", None)):
        fail(
            task,
            f"fit_classifier should return a fitted classifier with .predict(texts), got {type(classifier).__name__}",
        )
    with _numpy_and_python_rng_restored():
        predictions = list(classifier.predict(list(test_texts)))
    if len(predictions) != len(test_texts):
        fail(task, f"predict returned {len(predictions)} labels for {len(test_texts)} texts")
    accuracy = sum(int(p) == y for p, y in zip(predictions, flipped_test)) / len(flipped_test)
    if accuracy < 0.5:
        fail(
            task,
            f"accuracy {accuracy:.3f} on the check's data (labels flipped): fit the classifier on the texts and "
            "labels passed to fit_classifier, not on data of your own",
        )
    if accuracy < baseline + margin:
        fail(
            task,
            f"test accuracy {accuracy:.3f} is not {100 * margin:.0f} points above the unigram model's "
            f"{baseline:.3f} on the same data; which n-grams would see 'not bad' as one feature?",
        )
    return passed(
        task, f"test accuracy {accuracy:.3f} vs {baseline:.3f} with words only, on the check's data"
    )
