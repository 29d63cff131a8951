"""Tests of the translation pairs (``world/translation.py``): a fixed dictionary and another word order."""

from __future__ import annotations

import re

from course_utils import world
from course_utils.world import TRANSLATION_DICTIONARY, translation_pairs


def test_translation_uses_a_fixed_dictionary_and_another_word_order():
    pairs = translation_pairs("train")
    english_vocab = {w for en, _ in pairs for w in en.split()}
    assert 60 <= len(english_vocab) <= 120
    assert len(set(TRANSLATION_DICTIONARY.values())) == len(TRANSLATION_DICTIONARY)  # one to one
    reordered = 0
    for en, li in pairs:
        words = en.split()
        assert 3 <= len(words) <= 8
        assert not re.search(r"\ba [aeiou]", en), "'an' before a vowel"
        translated = [TRANSLATION_DICTIONARY[w] for w in words]
        assert sorted(translated) == sorted(li.split()), "same words, only the order changes"
        reordered += translated != li.split()
        (verb,) = [w for w in words if w in world.TR_TRANSITIVE + world.TR_INTRANSITIVE]
        assert li.split()[-1] == TRANSLATION_DICTIONARY[verb], "Lindish is verb-final"
    assert reordered == len(pairs), "word by word in English order is never right"
