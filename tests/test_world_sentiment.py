"""Tests of the sentiment reviews (``world/sentiment.py``): balance, the rule, and word order."""

from __future__ import annotations

import re
from collections import Counter

from course_utils import world
from course_utils.world import (
    SENTIMENT_LABELS,
    SPLITS,
    sentiment_constructions,
    sentiment_reviews,
    sentiment_rule,
)


def test_sentiment_is_balanced_short_and_read_exactly_by_the_rule():
    for split in SPLITS:
        texts, labels = sentiment_reviews(split)
        counts = Counter(labels)
        assert counts[0] == counts[1] == len(texts) // 2
        assert max(len(t.split()) for t in texts) <= 25
        assert all(sentiment_rule(t) == y for t, y in zip(texts, labels)), "labels follow the documented rule"
    assert SENTIMENT_LABELS == ("negative", "positive")


def test_sentiment_rule_on_hand_written_examples():
    assert sentiment_rule("The soup was good.") == 1
    assert sentiment_rule("The soup was not good.") == 0
    assert sentiment_rule("The soup was not bad.") == 1
    assert sentiment_rule("The soup was great, but the staff was slightly awful.") == 0
    assert sentiment_rule("Although the soup was awful, the staff was nice.") == 1
    assert sentiment_rule("The staff was nice, although the soup was awful.") == 1
    assert sentiment_rule("The food was slightly bad and the staff was extremely nice.") == 1
    assert sentiment_rule("The food was extremely bad and the staff was slightly nice.") == 0


def test_sentiment_word_order_matters_same_bag_other_label():
    texts, labels = sentiment_reviews("train")
    kinds = sentiment_constructions("train")
    swapped = 0
    for text, label, kind in zip(texts, labels, kinds):
        if kind != "but":
            continue
        opener, _, review = text.rpartition(". ")  # an optional neutral opening sentence
        first, second = review.rstrip(".").split(", but ")
        flipped = f"{second[0].upper()}{second[1:]}, but {first[0].lower()}{first[1:]}."
        flipped = f"{opener}. {flipped}" if opener else flipped
        assert Counter(re.findall(r"[a-z]+", flipped.lower())) == Counter(re.findall(r"[a-z]+", text.lower()))
        assert sentiment_rule(flipped) == 1 - label, (text, flipped)
        swapped += 1
    assert swapped > 200
    # Swap the modifiers of an "and" review: same words, opposite label.
    assert sentiment_rule("The food was slightly bad and the staff was very nice.") != sentiment_rule(
        "The food was very bad and the staff was slightly nice."
    )
    constructions = Counter(kinds)
    assert set(constructions) == set(world.SENTIMENT_MIX)
    for kind, share in world.SENTIMENT_MIX.items():
        assert abs(constructions[kind] / len(texts) - share) < 0.05, (kind, constructions[kind])


def test_rare_opinion_words_leave_even_the_whole_labelled_set_incomplete():
    """Opinion words follow a long tail (Zipf-like), as in real reviews: a few labelled reviews miss
    most of the words the test reviews use, and even all of them miss some (the pretraining corpus
    holds every one, see test_world_corpus.py)."""
    opinion = set(world.POSITIVE_WORDS + world.NEGATIVE_WORDS)
    assert len(world.POSITIVE_WORDS) == len(world.NEGATIVE_WORDS) == 200 and not set(
        world.POSITIVE_WORDS
    ) & set(world.NEGATIVE_WORDS)
    words = lambda texts: [w for t in texts for w in re.findall(r"[a-z]+", t.lower()) if w in opinion]
    train, _ = sentiment_reviews("train")
    test_words = words(sentiment_reviews("test")[0])
    unseen = {}
    for n in (200, 1000, len(train)):
        seen = set(words(train[:n]))
        unseen[n] = sum(w not in seen for w in test_words) / len(test_words)
    print("share of the test reviews' opinion words missing from the first n train reviews:", unseen)
    assert unseen[200] > 0.25 and 0.05 < unseen[1000] < 0.15 and 0.005 < unseen[len(train)] < 0.03
