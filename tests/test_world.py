"""Tests of the ``course_utils.world`` package as a whole: its public names and fingerprints of its data."""

from __future__ import annotations

import hashlib
import json

import pytest

from course_utils import dna, world

# sha256 of `json.dumps(world.<name>("test", 0))`. The world is generated, not stored: these catch any
# change of what it contains (a word list edited or reordered, a generator or the split hash changed).
# When the world is changed on purpose, recompute them and update DATA_CARD.md's numbers.
FINGERPRINTS = {
    "story_corpus": "f3917ad3b5fccea586050a8e9bc72f8675e9129414cbe7488377efb7bf174cce",
    "sentiment_reviews": "14adab44681e48f0c2fd3e18e0195e1d3024ece6d3a326d9eda1fe63f5c1615d",
    "sentiment_constructions": "5313235a4d39e68d0124dbaa61bf05262ec617ebafe4b7474e5087ae877bb8a9",
    "ner_sentences": "0510c268327207eb97d4f818d4de8b1786b9defd4bcb24846df68963b04f32b0",
    "qa_examples": "d1d93532e256b2e6e64f055cb43aa7cc55355bc47b9a995562744edb910ab77d",
    "translation_pairs": "7a539758720d34d26ee5485949cf6011df016b49b516b3e165caa276b2d484b0",
    "aptamer_sequences": "94a76d4776a9b60f3aa283da402cdd3e49de59edadd049372518cd08dc42f320",
    "english_texts": "ac9d1eb08620a82d3275ee37b50b29a44bfd3c1f2e0b5578fa407dcc1aa4f404",
    "pair_examples": "73d0eb553aa9fb68bbfdf563e1702978f0e55c51d3596583e26d1ddff01fa572",
    "pretraining_corpus": "36c51ab6686f010e6c3d6451c8a33e025f511b02f8bd1e6279b247562779a3e4",
}


@pytest.mark.parametrize("name", list(FINGERPRINTS))
def test_the_generated_data_is_unchanged(name):
    data = getattr(world, name)("test", 0)
    assert hashlib.sha256(json.dumps(data).encode()).hexdigest() == FINGERPRINTS[name], (
        f"world.{name}('test', 0) changed; if on purpose, update FINGERPRINTS and the data card"
    )


def test_the_public_names_are_all_exported():
    for name in world.__all__:
        assert hasattr(world, name), name
    assert world.find_hairpin is dna.find_hairpin and world.reverse_complement is dna.reverse_complement
    # the word lists stay tuples (immutable, in order), as they were when they were code
    for name in ("FEMALE_NAMES", "TOWNS", "NER_TEMPLATES", "TR_NOUNS", "POSITIVE_WORDS", "RELATIONS"):
        assert isinstance(getattr(world, name), tuple), name
    assert isinstance(world.PLACES["park"]["activities"], tuple)
