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
    "sentiment_reviews": "74f731a7610934af16441598f1108ae9700ba18ad36da14a04722905936149dc",
    "sentiment_constructions": "9b5b1754901b22677bf6f17457dd90fa874a9831b686a3938efa7dc7dfb496d8",
    "ner_sentences": "0510c268327207eb97d4f818d4de8b1786b9defd4bcb24846df68963b04f32b0",
    "qa_examples": "d1d93532e256b2e6e64f055cb43aa7cc55355bc47b9a995562744edb910ab77d",
    "translation_pairs": "7a539758720d34d26ee5485949cf6011df016b49b516b3e165caa276b2d484b0",
    "aptamer_sequences": "94a76d4776a9b60f3aa283da402cdd3e49de59edadd049372518cd08dc42f320",
    "english_texts": "a318e2734a1d864922c9d0a84b8e9c144e0a3ef1b73601ff1e637abc645bf302",
    "pair_examples": "73d0eb553aa9fb68bbfdf563e1702978f0e55c51d3596583e26d1ddff01fa572",
    "pretraining_corpus": "ab1d6ca2ee2338e6830316c22917ccf824c8d54ba609f896c578d15348457e3f",
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
