"""Tests of the data card's baselines (``world/overview.py``) and of the text the tokenizer is trained on."""

from __future__ import annotations

import pytest

from course_utils import bio, world


@pytest.fixture(scope="module")
def scores():
    return world.baselines()


def test_bag_of_words_is_clearly_beaten_by_the_rule(scores):
    assert 0.62 <= scores["sentiment_bow_logreg"] <= 0.80
    assert scores["sentiment_rule"] == 1.0
    assert scores["sentiment_majority"] == 0.5


def test_other_baselines_leave_room_to_learn(scores):
    assert scores["aptamer_rule"] == 1.0
    assert 0.55 <= scores["aptamer_kmer3_logreg"] <= 0.75  # the motif, not the pairing of the ends
    assert 0.55 <= scores["aptamer_kmer6_logreg"] <= 0.75
    assert 0.85 <= scores["ner_most_frequent_tag_accuracy"] < 0.99
    assert scores["ner_most_frequent_tag_entity_f1"] < 0.9
    assert scores["qa_first_name_exact_match"] < 0.3
    assert scores["translation_word_by_word_exact_match"] == 0.0
    assert 0.5 < scores["nsp_shared_name_heuristic"] < 0.95


def test_one_kmer_bag_baseline(scores):
    assert bio.kmer_bag_accuracy is world.kmer_bag_accuracy
    assert world.kmer_bag_accuracy(6, seed=0) == scores["aptamer_kmer6_logreg"]


def test_english_texts_holds_every_data_set_in_a_fixed_order():
    texts = world.english_texts("test")
    stories = [s for doc in world.story_corpus("test") for s in doc]
    assert texts[: len(stories)] == stories
    assert texts[-len(world.translation_pairs("test")) :] == [en for en, _ in world.translation_pairs("test")]
    assert all(q["question"] in texts for q in world.qa_examples("test"))
