"""The word lists of the course world, read once from ``lexicon.json`` beside this file.

The JSON file is data, not code: names, towns, places with their features and activity templates,
sentiment words, NER templates and the translation vocabulary. Each section belongs to one data set
(``"sentiment"``, ``"ner"``, ``"translation"``); ``"story_world"`` is shared by the stories, NER and QA
and its lists are the constants of this module. JSON lists become tuples, so the lists cannot be
changed by accident and keep their order (the generators draw from them by position).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

LEXICON_PATH = Path(__file__).with_name("lexicon.json")


def _frozen(value: Any) -> Any:
    """JSON lists become tuples, recursively (dicts keep their key order)."""
    if isinstance(value, list):
        return tuple(_frozen(v) for v in value)
    if isinstance(value, dict):
        return {k: _frozen(v) for k, v in value.items()}
    return value


def _load() -> dict[str, dict[str, Any]]:
    if not LEXICON_PATH.is_file():
        raise FileNotFoundError(
            f"the word lists of the course world are missing ({LEXICON_PATH.name} next to "
            f"{Path(__file__).name}); reinstall course_utils with `pip install -e .`"
        )
    return _frozen(json.loads(LEXICON_PATH.read_text(encoding="utf-8")))


_LEXICON = _load()


def section(name: str) -> dict[str, Any]:
    """The word lists of one section of ``lexicon.json`` (``"sentiment"``, ``"ner"``, ...)."""
    return _LEXICON[name]


# --- the story world: people, places and things (shared by stories, NER and QA) ---
_STORY = section("story_world")
FEMALE_NAMES: tuple[str, ...] = _STORY["FEMALE_NAMES"]
MALE_NAMES: tuple[str, ...] = _STORY["MALE_NAMES"]
SURNAMES: tuple[str, ...] = _STORY["SURNAMES"]
TOWNS: tuple[str, ...] = _STORY["TOWNS"]  # several have two words (multi-word LOC entities)
# Words that are a first name AND a town in the NER data: only the context tells them apart.
AMBIGUOUS_NAMES: tuple[str, ...] = _STORY["AMBIGUOUS_NAMES"]
# Some organisations contain a town or a person-like word, so the tag depends on the whole span.
ORGANISATIONS: tuple[str, ...] = _STORY["ORGANISATIONS"]
COLORS: tuple[str, ...] = _STORY["COLORS"]
NUMBERS: tuple[str, ...] = _STORY["NUMBERS"]
DAYS: tuple[str, ...] = _STORY["DAYS"]
FRUITS: tuple[str, ...] = _STORY["FRUITS"]
VEGETABLES: tuple[str, ...] = _STORY["VEGETABLES"]
TOPICS: tuple[str, ...] = _STORY["TOPICS"]
FARM_ANIMALS: tuple[str, ...] = _STORY["FARM_ANIMALS"]
FOREST_ANIMALS: tuple[str, ...] = _STORY["FOREST_ANIMALS"]
ZOO_ANIMALS: tuple[str, ...] = _STORY["ZOO_ANIMALS"]
PASTRIES: tuple[str, ...] = _STORY["PASTRIES"]
CAKES: tuple[str, ...] = _STORY["CAKES"]  # the pastries one has "a slice of"
MEALS: tuple[str, ...] = _STORY["MEALS"]
DRINKS: tuple[str, ...] = _STORY["DRINKS"]
ITEMS: tuple[str, ...] = _STORY["ITEMS"]
GAMES: tuple[str, ...] = _STORY["GAMES"]
INSTRUMENTS: tuple[str, ...] = _STORY["INSTRUMENTS"]
FEELINGS: tuple[str, ...] = _STORY["FEELINGS"]
MOODS_OF_PLACE: tuple[str, ...] = _STORY["MOODS_OF_PLACE"]
WEATHER: tuple[str, ...] = _STORY["WEATHER"]
BIRDS: tuple[str, ...] = _STORY["BIRDS"]
# Relations: (word for a woman, word for a man)
RELATIONS: tuple[tuple[str, str], ...] = _STORY["RELATIONS"]
GO_VERBS: tuple[str, ...] = _STORY["GO_VERBS"]
# Story time line: a later sentence never goes back in time.
DAY_PARTS: tuple[str, ...] = _STORY["DAY_PARTS"]
# Each place: features (nouns found there) and activities. In templates {S} is the subject (a name or
# a pronoun), {O} an object pronoun, {P} a possessive, and {feature} one of the place's features; the
# other slots are filled from the lists above (see ``stories._Story.fill``).
PLACES: dict[str, dict[str, tuple[str, ...]]] = _STORY["PLACES"]


def cap(text: str) -> str:
    """``text`` with its first letter in upper case (the rest unchanged, unlike ``str.capitalize``)."""
    return text[:1].upper() + text[1:]


def with_article(word: str) -> str:
    """``word`` with its indefinite article: "an orange", "a red"."""
    return ("an " if word[0] in "aeiou" else "a ") + word
