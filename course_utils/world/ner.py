"""Named entities: sentences of the story world with BIO tags for people, places and organisations.

Entities are drawn from the shared lexicon; some words are both a first name and a town
(``AMBIGUOUS_NAMES``) and some organisations contain a town, so a word's tag depends on its context.
"""

from __future__ import annotations

import functools
import random
import re
from collections.abc import Sequence

from course_utils.world.lexicon import (
    AMBIGUOUS_NAMES,
    FEMALE_NAMES,
    MALE_NAMES,
    ORGANISATIONS,
    SURNAMES,
    TOWNS,
    section,
)
from course_utils.world.splits import check_split_and_seed, collect

NER_SIZES = {"train": 2000, "validation": 300, "test": 300}
NER_TAGS = ("O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG")
# Templates: {PER}, {LOC}, {ORG} are entity slots; every other word is tagged O.
NER_TEMPLATES: tuple[str, ...] = section("ner")["NER_TEMPLATES"]


def _ner_person(rng: random.Random) -> str:
    first = rng.choice(FEMALE_NAMES + MALE_NAMES + AMBIGUOUS_NAMES)
    r = rng.random()
    if r < 0.35:
        return first
    if r < 0.45:
        return rng.choice(SURNAMES) if rng.random() < 0.5 else f"{first} {rng.choice(SURNAMES)}"
    return f"{first} {rng.choice(SURNAMES)}"


def _ner_place(rng: random.Random) -> str:
    return rng.choice(TOWNS + AMBIGUOUS_NAMES) if rng.random() < 0.85 else rng.choice(AMBIGUOUS_NAMES)


def _make_ner(rng: random.Random) -> tuple[str, tuple[tuple[str, ...], tuple[str, ...]]]:
    template = rng.choice(NER_TEMPLATES)
    words: list[str] = []
    tags: list[str] = []
    makers = {"PER": _ner_person, "LOC": _ner_place, "ORG": lambda r: r.choice(ORGANISATIONS)}
    for piece in template.split():
        slot = re.fullmatch(r"\{(PER|LOC|ORG)\}", piece)
        if slot is None:
            words.append(piece)
            tags.append("O")
            continue
        kind = slot.group(1)
        entity = makers[kind](rng).split()
        words.extend(entity)
        tags.extend([f"B-{kind}"] + [f"I-{kind}"] * (len(entity) - 1))
    return " ".join(words), (tuple(words), tuple(tags))


@functools.lru_cache(maxsize=16)
def _ner(split: str, seed: int) -> tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]:
    return tuple(collect("ner", split, seed, NER_SIZES[split], _make_ner))


def ner_sentences(split: str = "train", seed: int = 0) -> list[tuple[list[str], list[str]]]:
    """Sentences split into words, each word with a BIO tag from ``NER_TAGS``.

    Entities are people (``PER``: "Mia", "Leo Chen"), places (``LOC``: "Riverton", "New Harbor") and
    organisations (``ORG``: "Bank of Riverton"). Some words are both a first name and a town
    ("Florence", "Austin"), and some organisations contain a town name ("Green Valley Farms"), so
    the tag of a word depends on its context. Punctuation is a separate word tagged ``O``.

    Args:
        split: "train", "validation" or "test".
        seed: changes which sentences are drawn.

    Returns:
        A list of ``(words, tags)`` pairs of equal length.
    """
    seed = check_split_and_seed(split, seed)
    return [(list(w), list(t)) for w, t in _ner(split, seed)]


def bio_spans(tags: Sequence[str]) -> list[tuple[str, int, int]]:
    """Entity spans ``(kind, start, end)`` (end exclusive) of a BIO tag sequence.

    An ``I-X`` that does not continue an ``X`` entity starts a new one (the usual lenient reading).
    """
    spans: list[tuple[str, int, int]] = []
    kind, start = None, 0
    for i, tag in enumerate(list(tags) + ["O"]):
        inside = tag.startswith("I-") and kind == tag[2:]
        if kind is not None and not inside:
            spans.append((kind, start, i))
            kind = None
        if tag.startswith("B-") or (tag.startswith("I-") and not inside):
            kind, start = tag[2:], i
    return spans
