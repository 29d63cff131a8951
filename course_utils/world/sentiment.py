"""Sentiment: short reviews whose label depends on word order (negation, "but", "although", "and").

A review is one or two clauses "the <aspect> was [not|modifier] <adjective>" joined by a construction
that decides which clause wins. :func:`sentiment_rule` reads every label back with the rules that
made it; a bag of words cannot, since "A, but B" and "B, but A" hold the same words.
"""

from __future__ import annotations

import functools
import itertools
import random

from course_utils.world.lexicon import cap, section
from course_utils.world.splits import check_split_and_seed, collect

SENTIMENT_SIZES = {"train": 3000, "validation": 500, "test": 500}
SENTIMENT_LABELS = ("negative", "positive")

_WORDS = section("sentiment")
# (aspect, verb) pairs; a plural aspect takes "were".
ASPECTS: tuple[tuple[str, str], ...] = _WORDS["ASPECTS"]
POSITIVE_WORDS: tuple[str, ...] = _WORDS["POSITIVE_WORDS"]
NEGATIVE_WORDS: tuple[str, ...] = _WORDS["NEGATIVE_WORDS"]
# Modifier -> strength of the clause. No modifier has strength 2.
INTENSIFIERS: tuple[str, ...] = _WORDS["INTENSIFIERS"]  # strength 3
DIMINISHERS: tuple[str, ...] = _WORDS["DIMINISHERS"]  # strength 1
# Neutral openers: they add words but say nothing about the label.
OPENERS: tuple[str, ...] = _WORDS["OPENERS"]
# Construction -> share of the data set. Tuned so that a unigram bag-of-words reaches about 70 %.
SENTIMENT_MIX = {"simple": 0.54, "negated": 0.11, "but": 0.13, "although": 0.09, "and": 0.13}


def _zipf_cumulative(n: int) -> tuple[float, ...]:
    """Running sums of the Zipf-like weights 1 / (rank + 2) of n words, the commonest first.

    ``random.choices`` takes them as ``cum_weights``: it draws the same word from the same random number
    as with the weights themselves, without adding them up again on every call (the corpus draws about a
    million words).
    """
    return tuple(itertools.accumulate(1 / (rank + 2) for rank in range(n)))


# The labelled reviews draw opinion words with these weights: a few are common, most are rare, so even the
# whole labelled set leaves some of them unseen or seen once (as real reviews do), while the unlabelled
# corpus, drawing every word alike, holds each of them many times.
_OPINION_CUMULATIVE = _zipf_cumulative(len(POSITIVE_WORDS))
_KINDS, _KIND_CUMULATIVE = tuple(SENTIMENT_MIX), tuple(itertools.accumulate(SENTIMENT_MIX.values()))


def opinion_word(rng: random.Random, polarity: int, *, zipf: bool = True) -> str:
    """One opinion word of ``polarity`` (+1 / -1): common words more often than rare ones (``zipf``),
    or every word alike (``zipf=False``, as the pretraining corpus's remarks draw them)."""
    words = POSITIVE_WORDS if polarity > 0 else NEGATIVE_WORDS
    return rng.choices(words, cum_weights=_OPINION_CUMULATIVE)[0] if zipf else rng.choice(words)


def _clause(rng: random.Random, polarity: int, *, negated: bool = False, strength: int | None = None):
    """One clause "the <aspect> was [not|modifier] <adjective>" and its signed score.

    ``polarity`` is the sign the CLAUSE must have (+1 / -1). With ``negated`` the adjective is the
    opposite of it ("not bad" is +1). Score = sign x strength, strength 1 (diminisher), 2 (none),
    3 (intensifier); a negated clause has strength 1.
    """
    aspect, verb = rng.choice(ASPECTS)
    if negated:
        adjective = opinion_word(rng, -polarity)
        return f"the {aspect} {verb} not {adjective}", polarity
    adjective = opinion_word(rng, polarity)
    if strength is None:
        strength = rng.choice((1, 2, 3))
    modifier = {1: rng.choice(DIMINISHERS) + " ", 2: "", 3: rng.choice(INTENSIFIERS) + " "}[strength]
    return f"the {aspect} {verb} {modifier}{adjective}", polarity * strength


def _make_review(rng: random.Random) -> tuple[str, tuple[str, int, str]]:
    label = rng.randrange(2)
    sign = 1 if label == 1 else -1
    kind = rng.choices(_KINDS, cum_weights=_KIND_CUMULATIVE)[0]
    maybe_negated = lambda: rng.random() < 0.3
    if kind == "simple":
        text, _ = _clause(rng, sign)
        text = cap(text) + "."
    elif kind == "negated":
        text, _ = _clause(rng, sign, negated=True)
        text = cap(text) + "."
    elif kind == "but":  # the clause after "but" decides
        first, _ = _clause(rng, -sign, negated=maybe_negated())
        second, _ = _clause(rng, sign, negated=maybe_negated())
        text = f"{cap(first)}, but {second}."
    elif kind == "although":  # the main clause decides, wherever it stands
        main, _ = _clause(rng, sign, negated=maybe_negated())
        sub, _ = _clause(rng, -sign, negated=maybe_negated())
        text = f"Although {sub}, {main}." if rng.random() < 0.5 else f"{cap(main)}, although {sub}."
    else:  # "and": the stronger clause decides; strengths always differ
        strong, weak = rng.choice(((3, 1), (3, 2), (2, 1)))
        a, _ = _clause(rng, sign, strength=strong)
        b, _ = _clause(rng, -sign, strength=weak)
        first, second = (a, b) if rng.random() < 0.5 else (b, a)
        text = f"{cap(first)} and {second}."
    if rng.random() < 0.4:
        text = f"{rng.choice(OPENERS)} {text}"
    return text, (text, label, kind)


def sentiment_rule(text: str) -> int:
    """Read the label of a course review from its text with the rules that made it (100 % correct).

    Rules: a clause "the X was [not|modifier] ADJ" scores sign(ADJ) x strength (diminisher 1, none 2,
    intensifier 3); "not" flips the sign and has strength 1. "A, but B" -> B decides. "Although A, B"
    and "B, although A" -> the main clause B decides. "A and B" -> the sign of the sum. Opening
    sentences are neutral.

    Args:
        text: a review from :func:`sentiment_reviews`.

    Returns:
        0 (negative) or 1 (positive).
    """
    review = text.strip().rstrip(".").split(". ")[-1].lower()  # the last sentence holds the opinion
    if review.startswith("although "):
        return int(_clause_score(review.split(", ", 1)[1]) > 0)
    if ", although " in review:
        return int(_clause_score(review.split(", although ", 1)[0]) > 0)
    if ", but " in review:
        return int(_clause_score(review.split(", but ", 1)[1]) > 0)
    if " and the " in review:
        first, second = review.split(" and the ", 1)
        return int(_clause_score(first) + _clause_score("the " + second) > 0)
    return int(_clause_score(review) > 0)


def _clause_score(clause: str) -> int:
    words = clause.split()
    adjective = words[-1]
    if adjective in POSITIVE_WORDS:
        sign = 1
    elif adjective in NEGATIVE_WORDS:
        sign = -1
    else:
        raise ValueError(f"no opinion word at the end of the clause {clause!r}")
    if "not" in words:
        return -sign
    if any(w in words for w in INTENSIFIERS):
        return 3 * sign
    if any(d in clause for d in DIMINISHERS):
        return sign
    return 2 * sign


@functools.lru_cache(maxsize=16)
def _reviews(split: str, seed: int) -> tuple[tuple[str, int, str], ...]:
    size = SENTIMENT_SIZES[split]
    return tuple(collect("sentiment", split, seed, size, _make_review, label_of=lambda ex: ex[1]))


def sentiment_reviews(split: str = "train", seed: int = 0) -> tuple[list[str], list[int]]:
    """Short reviews (at most 25 words) whose label depends on word order.

    Five constructions: a plain clause ("The soup was very good."), negation ("The soup was not
    bad." is positive), contrast with "but" (the clause after "but" decides), "although" (the main
    clause decides, before or after), and "A and B" with different strengths ("The food was slightly
    bad and the staff was extremely nice." is positive). See :func:`sentiment_rule` for the exact rule.
    Labels are balanced exactly; ``SENTIMENT_LABELS[label]`` names a label.

    Args:
        split: "train", "validation" or "test".
        seed: changes which reviews are drawn.

    Returns:
        ``(texts, labels)`` with labels 0 = negative, 1 = positive.
    """
    seed = check_split_and_seed(split, seed)
    rows = _reviews(split, seed)
    return [r[0] for r in rows], [r[1] for r in rows]


def sentiment_constructions(split: str = "train", seed: int = 0) -> list[str]:
    """The construction of each review of :func:`sentiment_reviews` (same order), for error analysis.

    Returns:
        One of ``SENTIMENT_MIX``'s keys per review: "simple", "negated", "but", "although", "and".
    """
    seed = check_split_and_seed(split, seed)
    return [r[2] for r in _reviews(split, seed)]
