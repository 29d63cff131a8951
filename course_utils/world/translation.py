"""Translation: English phrases and their translation into Lindish, an invented language.

Lindish has a one-to-one word dictionary but another word order (verb last, adjectives and
determiners after the noun, postpositions), so the task is about ORDER, not about vocabulary.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Sequence

from course_utils.world.lexicon import section
from course_utils.world.splits import check_split_and_seed, collect

TRANSLATION_SIZES = {"train": 4000, "validation": 300, "test": 300}

_WORDS = section("translation")
TR_NOUNS: tuple[str, ...] = _WORDS["TR_NOUNS"]
TR_ANIMATE = TR_NOUNS[:12] + ("king", "queen", "baker")  # the nouns that can be a subject
TR_ADJECTIVES: tuple[str, ...] = _WORDS["TR_ADJECTIVES"]
TR_TRANSITIVE: tuple[str, ...] = _WORDS["TR_TRANSITIVE"]
TR_INTRANSITIVE: tuple[str, ...] = _WORDS["TR_INTRANSITIVE"]
TR_PREPOSITIONS: tuple[str, ...] = _WORDS["TR_PREPOSITIONS"]
TR_ADVERBS: tuple[str, ...] = _WORDS["TR_ADVERBS"]
TR_DETERMINERS: tuple[str, ...] = _WORDS["TR_DETERMINERS"]


def _invent_words(count: int, seed: int) -> list[str]:
    """Distinct pronounceable words (consonant-vowel syllables) from a fixed seed."""
    rng = random.Random(seed)
    consonants, vowels = "bdfgklmnprstvz", "aeiou"
    words: list[str] = []
    seen: set[str] = set()
    while len(words) < count:
        word = "".join(rng.choice(consonants) + rng.choice(vowels) for _ in range(rng.choice((2, 2, 3))))
        if word not in seen:
            seen.add(word)
            words.append(word)
    return words


def _make_dictionary() -> dict[str, str]:
    english = TR_NOUNS + TR_ADJECTIVES + TR_TRANSITIVE + TR_INTRANSITIVE
    english += TR_PREPOSITIONS + TR_ADVERBS + TR_DETERMINERS
    english = tuple(dict.fromkeys(english))  # TR_ANIMATE repeats nouns; keep each word once
    return dict(zip(english, _invent_words(len(english), seed=1234)))


# English word -> Lindish word (one to one, so the task is about ORDER, not about vocabulary).
TRANSLATION_DICTIONARY: dict[str, str] = _make_dictionary()


def _np(rng: random.Random, nouns: Sequence[str]) -> tuple[list[str], list[str]]:
    """An English noun phrase and its Lindish form: noun, then adjective, then determiner."""
    det = rng.choice(TR_DETERMINERS)
    noun = rng.choice(nouns)
    adjective = [rng.choice(TR_ADJECTIVES)] if rng.random() < 0.5 else []
    return [det, *adjective, noun], [noun, *adjective, det]


def translate_words(english: Sequence[str]) -> list[str]:
    """Word-by-word dictionary lookup (no reordering): the baseline a decoder must beat."""
    return [TRANSLATION_DICTIONARY[w] for w in english]


def _make_translation(rng: random.Random) -> tuple[str, tuple[str, str]]:
    """Grammar: English SUBJ VERB [OBJ] [PREP NP] [ADV]; Lindish SUBJ [NP PREP] [OBJ] [ADV] VERB.

    Noun phrases flip too: "the big dog" -> "dog big the". So Lindish is verb-final with
    postpositions and adjectives after the noun.
    """
    while True:
        subj_en, subj_li = _np(rng, TR_ANIMATE)
        en, li_tail = list(subj_en), []
        transitive = rng.random() < 0.6
        verb = rng.choice(TR_TRANSITIVE if transitive else TR_INTRANSITIVE)
        en.append(verb)
        obj_li: list[str] = []
        if transitive:
            obj_en, obj_li = _np(rng, TR_NOUNS)
            en += obj_en
        pp_li: list[str] = []
        if rng.random() < 0.4:
            prep = rng.choice(TR_PREPOSITIONS)
            pp_en, pp_np_li = _np(rng, TR_NOUNS)
            en += [prep, *pp_en]
            pp_li = [*pp_np_li, prep]
        adv = [rng.choice(TR_ADVERBS)] if rng.random() < 0.3 else []
        en += adv
        li_tail = [*pp_li, *obj_li, *adv, verb]
        if 3 <= len(en) <= 8:
            break
    english = " ".join(en)
    lindish = " ".join(TRANSLATION_DICTIONARY[w] for w in subj_li + li_tail)
    return english, (english, lindish)


@functools.lru_cache(maxsize=16)
def _translations(split: str, seed: int) -> tuple[tuple[str, str], ...]:
    return tuple(collect("translation", split, seed, TRANSLATION_SIZES[split], _make_translation))


def translation_pairs(split: str = "train", seed: int = 0) -> list[tuple[str, str]]:
    """English phrases (3-8 words) and their translation into Lindish, an invented language.

    Lindish has a one-to-one word dictionary (``TRANSLATION_DICTIONARY``) but another word order:
    adjectives and determiners come after the noun ("the big dog" -> "dog big the"), prepositions
    after their noun phrase, and the verb comes last. A model that copies position by position
    fails; a decoder has to attend to the right source word.

    Args:
        split: "train", "validation" or "test".
        seed: changes which pairs are drawn.

    Returns:
        A list of ``(english, lindish)`` strings, words separated by single spaces, lower case.
    """
    seed = check_split_and_seed(split, seed)
    return list(_translations(split, seed))
