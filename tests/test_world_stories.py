"""Tests of the stories (``world/stories.py``): length, vocabulary, coherence, and the signal NSP needs."""

from __future__ import annotations

import re
from collections import Counter

from course_utils import world
from course_utils.world import story_corpus

NAMES = set(world.FEMALE_NAMES + world.MALE_NAMES)


def test_stories_have_4_to_10_sentences_and_a_small_vocabulary():
    docs = story_corpus("train")
    assert all(4 <= len(doc) <= 10 for doc in docs)
    assert all(s[0].isupper() and s.endswith(".") for doc in docs for s in doc)
    assert not any(re.search(r"\b[aA] [aeiou]", s) for doc in docs for s in doc), "'an' before a vowel"
    words = Counter(w.lower() for doc in docs for s in doc for w in re.findall(r"[A-Za-z]+", s))
    assert 600 <= len(words) <= 2000, len(words)
    assert sum(len(doc) for doc in docs) > 20_000


def _time_of(sentence: str) -> int | None:
    marks = [
        ("At night", 4), ("That night", 4), ("In the evening", 3), ("When the sun set", 3),
        ("In the afternoon", 2), ("After lunch", 2), ("At noon", 1), ("morning", 0),
    ]  # fmt: skip
    return next((t for mark, t in marks if mark in sentence), None)


def test_stories_are_coherent_two_characters_and_time_moves_forward():
    for doc in story_corpus("train")[:1000]:
        names = [w for s in doc for w in re.findall(r"[A-Z][a-z]+", s) if w in NAMES]
        assert names and names[0] in doc[0], "the first sentence introduces the hero"
        assert len(set(names)) <= 2, f"a story has its hero and one companion: {doc}"
        times = [t for t in map(_time_of, doc) if t is not None]
        assert times == sorted(times), f"time goes backwards in {doc}"


def test_next_sentence_usually_shares_the_story_but_a_random_one_does_not():
    """The signal that makes NSP learnable: names of a story stay in that story."""
    docs = story_corpus("validation")
    story_names = [{w for s in doc for w in re.findall(r"[A-Z][a-z]+", s) if w in NAMES} for doc in docs]
    foreign = total = 0
    for d in range(len(docs)):
        other = docs[(d + 1) % len(docs)]
        for sentence in other:
            mentioned = {w for w in re.findall(r"[A-Z][a-z]+", sentence) if w in NAMES}
            if mentioned:
                total += 1
                foreign += not mentioned <= story_names[d]
    assert foreign / total > 0.9
