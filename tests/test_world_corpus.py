"""The pretraining corpus: every labelled task's words, none of its held-out texts."""

from __future__ import annotations

import time
from collections import Counter

import pytest

from course_utils import world
from course_utils.tokenizer import load_tokenizer


@pytest.fixture(scope="module")
def corpus() -> list[list[str]]:
    return world.pretraining_corpus("train")


def words_of(texts: list[str]) -> Counter:
    """Words as BERT's tokenizer splits them before WordPiece: lower case, punctuation on its own."""
    backend = load_tokenizer().backend_tokenizer
    counts: Counter = Counter()
    for text in texts:
        normalized = backend.normalizer.normalize_str(text)
        counts.update(word for word, _ in backend.pre_tokenizer.pre_tokenize_str(normalized))
    return counts


def labelled_texts(split: str, seed: int = 0) -> list[str]:
    """The English texts of every labelled task of the course (translation and DNA aside)."""
    texts = list(world.sentiment_reviews(split, seed)[0])
    texts += [" ".join(words) for words, _ in world.ner_sentences(split, seed)]
    for ex in world.qa_examples(split, seed):
        texts += [ex["context"], ex["question"]]
    for ex in world.pair_examples(split, seed):
        texts += [ex["premise"], ex["hypothesis"]]
    return texts


def test_sizes_and_kinds(corpus):
    kinds = sum(size["train"] for size in world.CORPUS_SIZES.values())
    assert len(corpus) == world.STORY_SIZES["train"] + kinds
    assert all(len(doc) >= 2 for doc in corpus), "NSP needs at least two sentences per document"
    assert corpus[: world.STORY_SIZES["train"]] == world.story_corpus("train")


def test_generates_in_seconds_and_repeats():
    world.corpus._documents.cache_clear()
    start = time.perf_counter()
    first = world.pretraining_corpus("validation", seed=3)
    assert time.perf_counter() - start < 30
    assert world.pretraining_corpus("validation", seed=3) == first


def test_every_word_of_every_labelled_task_occurs_at_least_20_times(corpus):
    counts = words_of([s for doc in corpus for s in doc])
    needed = words_of(labelled_texts("train") + labelled_texts("test"))
    least = sorted(needed, key=lambda w: counts[w])[:15]
    print("least covered:", ", ".join(f"{w} {counts[w]}" for w in least))
    rare = {w: counts[w] for w in needed if counts[w] < 20}
    assert not rare, f"{len(rare)} words of the labelled tasks occur fewer than 20 times: {rare}"


@pytest.mark.parametrize("seed", [0, 1])
def test_no_held_out_labelled_text_is_in_the_corpus(seed):
    sentences = {s for split in world.SPLITS for doc in world.pretraining_corpus(split) for s in doc}
    passages = {
        " ".join(s for s in doc if "?" not in s)
        for split in world.SPLITS
        for doc in world.pretraining_corpus(split)
    }
    for split in ("validation", "test"):
        reviews = world.sentiment_reviews(split, seed)[0]
        for review in reviews:  # with or without a neutral opener: near-duplicates count too
            core = next((review[len(o) + 1 :] for o in world.OPENERS if review.startswith(o + " ")), review)
            assert core not in sentences and not any(f"{o} {core}" in sentences for o in world.OPENERS)
        assert not {" ".join(w) for w, _ in world.ner_sentences(split, seed)} & sentences
        contexts = {ex["context"] for ex in world.qa_examples(split, seed)}
        assert not contexts & passages  # a quiz document is a passage, then question-answer lines
        assert not {ex["premise"] for ex in world.pair_examples(split, seed)} & sentences
        stories = {" ".join(doc) for doc in world.story_corpus(split, seed)}
        train_docs = {" ".join(doc) for doc in world.pretraining_corpus("train")}
        assert not stories & train_docs


def test_labelled_train_texts_may_appear_and_the_membership_check_finds_them(corpus):
    sentences = {s for doc in corpus for s in doc}
    assert any(review in sentences for review in world.sentiment_reviews("train")[0])
