"""Tests of what every data set shares (``world/splits.py``): sizes, determinism, disjoint splits, arguments."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from course_utils import world
from course_utils.world import (
    SPLITS,
    aptamer_sequences,
    ner_sentences,
    qa_examples,
    sentiment_reviews,
    story_corpus,
    translation_pairs,
)
from course_utils.world.splits import check_split_and_seed, collect, split_bucket


def _keys(name: str, split: str, seed: int = 0) -> list[str]:
    """The text that identifies each example of a data set (what must not cross splits)."""
    if name == "stories":
        return [" ".join(doc) for doc in story_corpus(split, seed)]
    if name == "sentiment":
        return sentiment_reviews(split, seed)[0]
    if name == "ner":
        return [" ".join(words) for words, _ in ner_sentences(split, seed)]
    if name == "qa":
        return [ex["context"] for ex in qa_examples(split, seed)]
    if name == "translation":
        return [en for en, _ in translation_pairs(split, seed)]
    if name == "aptamers":
        return aptamer_sequences(split, seed)[0]
    raise AssertionError(name)


DATASETS = {
    "stories": world.STORY_SIZES,
    "sentiment": world.SENTIMENT_SIZES,
    "ner": world.NER_SIZES,
    "qa": world.QA_SIZES,
    "translation": world.TRANSLATION_SIZES,
    "aptamers": world.APTAMER_SIZES,
}


@pytest.mark.parametrize("name", list(DATASETS))
def test_sizes_match_the_constants(name):
    for split in SPLITS:
        assert len(_keys(name, split)) == DATASETS[name][split]


@pytest.mark.parametrize("name", list(DATASETS))
def test_splits_are_disjoint_and_examples_distinct(name):
    train = set(_keys(name, "train"))
    for split in ("validation", "test"):
        keys = _keys(name, split)
        assert not train & set(keys), f"{name}: {split} examples also appear in train"
    assert not set(_keys(name, "validation")) & set(_keys(name, "test"))
    if name != "qa":  # a QA passage carries 1-2 questions
        for split in SPLITS:
            keys = _keys(name, split)
            assert len(set(keys)) == len(keys), f"{name}/{split} repeats an example"


@pytest.mark.parametrize("name", list(DATASETS))
def test_same_seed_same_data_other_seed_other_data(name):
    assert _keys(name, "train", 0) == _keys(name, "train", 0)
    assert _keys(name, "train", 1) != _keys(name, "train", 0)
    # a test example of seed 1 is never a train example of seed 0 either
    assert not set(_keys(name, "test", 1)) & set(_keys(name, "train", 0))


def test_results_are_copies_so_callers_cannot_corrupt_the_cache():
    docs = story_corpus("validation")
    docs[0].append("Garbage.")
    docs.clear()
    texts, labels = sentiment_reviews("validation")
    texts[0] = "changed"
    qa = qa_examples("validation")
    qa[0]["answer_text"] = "changed"
    assert story_corpus("validation")[0][-1] != "Garbage."
    assert sentiment_reviews("validation")[0][0] != "changed"
    assert qa_examples("validation")[0]["answer_text"] != "changed"


def test_bad_split_and_seed_are_rejected():
    with pytest.raises(ValueError, match="'train', 'validation', 'test'"):
        story_corpus("dev")
    with pytest.raises(ValueError, match="seed"):
        sentiment_reviews("train", seed=-1)
    with pytest.raises(ValueError, match="seed"):
        translation_pairs("train", seed=True)  # a bool is not a seed (as in `set_seed`)
    # a NumPy integer is a seed like any other (as in `set_seed`) and gives the same data
    assert (
        check_split_and_seed("test", np.int64(1)) == 1
        and type(check_split_and_seed("test", np.int64(1))) is int
    )
    assert aptamer_sequences("test", np.int64(1)) == aptamer_sequences("test", 1)


def test_collect_keeps_distinct_examples_of_its_split_and_balances_labels():
    draws = iter(range(10**6))

    def make(rng):
        n = next(draws) // 3  # every key is drawn three times
        return str(n), (str(n), n % 2)

    kept = collect("toy", "validation", 0, 40, make, label_of=lambda ex: ex[1])
    keys = [k for k, _ in kept]
    assert len(set(keys)) == 40
    assert all(split_bucket("toy", k) in range(80, 90) for k in keys)
    assert sum(label for _, label in kept) == 20


def test_same_data_in_a_fresh_process_with_another_hash_seed():
    """Nothing may depend on Python's per-process string hashing (set or dict order of strings)."""
    code = (
        "import hashlib, json\n"
        "from course_utils import world as w\n"
        "parts = [w.story_corpus('test'), w.sentiment_reviews('test'), w.ner_sentences('test'),\n"
        "         w.qa_examples('test'), w.translation_pairs('test'), w.aptamer_sequences('test')]\n"
        "print(hashlib.sha256(json.dumps(parts).encode()).hexdigest())\n"
    )
    env = dict(os.environ, PYTHONHASHSEED="12345")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    parts = [
        story_corpus("test"),
        sentiment_reviews("test"),
        ner_sentences("test"),
        qa_examples("test"),
        translation_pairs("test"),
        aptamer_sequences("test"),
    ]
    here = hashlib.sha256(json.dumps(parts).encode()).hexdigest()
    assert out.stdout.strip() == here
