"""Checks for exercise sheet 01: ids, bags of words, n-grams, perplexity and an add-k bigram model."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable

from course_utils.checks import expect_callable, expect_number, expect_type, fail, passed

__all__ = [
    "check_ids_by_first_appearance",
    "check_bag_of_words",
    "check_ngrams",
    "check_perplexity",
    "check_bigram_prob",
    "check_bigram_classifier",
]


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


def check_bag_of_words(bag_of_words: Callable) -> bool:
    """Task 2: ``bag_of_words(tokens)`` is a Counter of the tokens; word order is lost."""
    task = "Task 2 (bag of words)"
    expect_callable(task, bag_of_words, "bag_of_words")
    got = bag_of_words(["dogs", "love", "dogs"])
    expect_type(task, got, Counter, "bag_of_words(['dogs', 'love', 'dogs'])")
    if got != Counter({"dogs": 2, "love": 1}):
        fail(task, f"bag_of_words(['dogs', 'love', 'dogs']) returned {dict(got)}, expected dogs: 2, love: 1")
    a = bag_of_words("mary asked john to leave".split())
    b = bag_of_words("mary asked to leave john".split())
    if a != b:
        fail(task, "the two Mary sentences contain the same words, so their bags must be equal")
    if bag_of_words([]) != Counter():
        fail(task, "an empty token list should give an empty Counter")
    return passed(task, "'Mary asked John to leave' and 'Mary asked to leave John' have the same bag")


def check_ngrams(my_ngrams: Callable) -> bool:
    """Task 3: ``my_ngrams(tokens, n)`` lists every run of n consecutive tokens as a tuple."""
    task = "Task 3 (n-grams)"
    expect_callable(task, my_ngrams, "my_ngrams")
    toks = ["the", "cat", "sat", "down"]
    got = my_ngrams(toks, 2)
    expect_type(task, got, list, "my_ngrams(tokens, 2)")
    if got and not isinstance(got[0], tuple):
        fail(
            task,
            f"each n-gram should be a tuple (hashable, so it can be counted), got {type(got[0]).__name__}",
        )
    if got != [("the", "cat"), ("cat", "sat"), ("sat", "down")]:
        fail(task, f"my_ngrams({toks}, 2) returned {got}")
    for n, expected in ((1, [(t,) for t in toks]), (4, [tuple(toks)]), (5, [])):
        got = my_ngrams(toks, n)
        if got != expected:
            fail(task, f"my_ngrams({toks}, {n}) returned {got!r}, expected {expected}")
    return passed(task, "a list of length T has T - n + 1 n-grams")


def check_perplexity(perplexity: Callable) -> bool:
    """Task 4: perplexity = exp(mean of -log p) over the probabilities of the predicted tokens."""
    task = "Task 4 (perplexity)"
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
    """Task 5: ``bigram_prob(sentences, k)`` returns ``prob(prev, word)``, the add-k bigram probability."""
    task = "Task 5 (add-k bigram model)"
    expect_callable(task, bigram_prob, "bigram_prob")
    sentences = [s.split() for s in ("the cat sat", "the dog sat", "a cat ran", "the cat ran away")]
    for k in (1.0, 0.5):
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


def check_bigram_classifier(classifier, unigram_accuracy: float, val_texts, val_labels) -> bool:
    """Task 6: a fitted classifier with a ``score`` method that beats unigrams by at least 15 points."""
    task = "Task 6 (a little word order for bag-of-words)"
    if not callable(getattr(classifier, "score", None)):
        fail(
            task,
            f"pass a fitted BagOfWordsClassifier (it needs a .score(texts, labels) method), got a "
            f"{type(classifier).__name__}",
        )
    unigram_accuracy = expect_number(task, unigram_accuracy, "unigram_accuracy")
    accuracy = expect_number(task, classifier.score(val_texts, val_labels), "classifier.score(...)")
    if accuracy < unigram_accuracy + 0.15:
        fail(
            task,
            f"validation accuracy {accuracy:.3f} is not 15 points above the unigram model's "
            f"{unigram_accuracy:.3f}; which n-grams would see 'not bad' as one feature?",
        )
    return passed(task, f"validation accuracy {accuracy:.3f} vs {unigram_accuracy:.3f} with words only")
