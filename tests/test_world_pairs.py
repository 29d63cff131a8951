"""The sentence-pair task: balanced, split by premise, and impossible from one sentence alone."""

from __future__ import annotations

from collections import Counter

import pytest

from course_utils import world


def test_labels_are_balanced_and_sizes_as_documented():
    for split, size in world.PAIR_SIZES.items():
        rows = world.pair_examples(split)
        assert len(rows) == size
        counts = Counter(r["label"] for r in rows)
        assert max(counts.values()) - min(counts.values()) <= 1, counts
        assert set(counts) == {0, 1, 2}


def test_same_call_same_pairs_and_seed_changes_them():
    assert world.pair_examples("train") == world.pair_examples("train")
    assert world.pair_examples("test", seed=1) != world.pair_examples("test")


def test_a_premise_never_crosses_splits():
    for seed in (0, 1):
        premises = {split: {r["premise"] for r in world.pair_examples(split, seed)} for split in world.SPLITS}
        assert not premises["train"] & premises["test"]
        assert not premises["train"] & premises["validation"]
        assert not premises["validation"] & premises["test"]


def test_examples_read_as_documented():
    rows = world.pair_examples("train")
    examples = {(r["premise"], r["hypothesis"]): world.PAIR_LABELS[r["label"]] for r in rows[:200]}
    gift_orders = [
        label
        for (premise, hypothesis), label in examples.items()
        if " gave " in premise and " got " in hypothesis
    ]
    assert {"entailment", "contradiction"} <= set(gift_orders)  # "B got X from A": either, by order


def bag_of_words_accuracy(text_of) -> float:
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression

    train, test = world.pair_examples("train"), world.pair_examples("test")
    vectorizer = CountVectorizer()
    x = vectorizer.fit_transform([text_of(r) for r in train])
    model = LogisticRegression(max_iter=3000).fit(x, [r["label"] for r in train])
    predicted = model.predict(vectorizer.transform([text_of(r) for r in test]))
    return float((predicted == [r["label"] for r in test]).mean())


@pytest.mark.parametrize(
    "text_of",
    [lambda r: r["hypothesis"], lambda r: r["premise"], lambda r: r["premise"] + " " + r["hypothesis"]],
    ids=["hypothesis alone", "premise alone", "both as one bag of words"],
)
def test_one_sentence_or_a_bag_of_words_is_near_chance(text_of):
    assert bag_of_words_accuracy(text_of) < 0.40  # chance is 1/3
