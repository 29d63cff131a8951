"""Question answering: SQuAD-style passages of the story world, questions and answer spans."""

from __future__ import annotations

import functools
import random
from typing import Any

from course_utils.world.lexicon import (
    COLORS,
    DAYS,
    FEMALE_NAMES,
    FRUITS,
    MALE_NAMES,
    NUMBERS,
    PASTRIES,
    PLACES,
    TOPICS,
    TOWNS,
    with_article,
)
from course_utils.world.splits import check_split_and_seed, collect

QA_SIZES = {"train": 2000, "validation": 300, "test": 300}


def _make_qa(rng: random.Random) -> tuple[str, tuple[dict[str, Any], ...]]:
    """A passage of 2-4 sentences and 1-2 questions whose answers are spans of it."""
    f1, f2 = rng.random() < 0.5, rng.random() < 0.5
    a = rng.choice(FEMALE_NAMES if f1 else MALE_NAMES)
    b = rng.choice([n for n in (FEMALE_NAMES if f2 else MALE_NAMES) if n != a])
    c = rng.choice([n for n in FEMALE_NAMES + MALE_NAMES if n not in (a, b)])
    place = rng.choice([p for p in PLACES if p not in ("toy shop",)])
    feature = rng.choice(PLACES[place]["features"])
    town, day = rng.choice(TOWNS), rng.choice(DAYS)
    fruit_a = f"{rng.choice(NUMBERS)} {rng.choice(COLORS)} {rng.choice(FRUITS)}"
    pastry_b = with_article(rng.choice(PASTRIES))
    topic = rng.choice(TOPICS)

    sentences: list[tuple[str, list[tuple[str, str]]]] = []  # (sentence, [(question, answer)])
    sentences.append(
        (
            f"On {day}, {a} and {b} went to the {place} in {town}.",
            [
                (f"Where did {a} and {b} go on {day}?", f"the {place}"),
                (f"When did {a} and {b} go to the {place}?", day),
                (f"In which town is the {place} that {a} visited?", town),
                (f"Who went to the {place} with {a}?", b),
            ],
        )
    )
    extra = [
        (
            f"{a} bought {fruit_a}, and {b} bought {pastry_b}.",
            [
                (f"What did {a} buy?", fruit_a),
                (f"What did {b} buy?", pastry_b),
                (f"Who bought {pastry_b}?", b),
                (f"How many {fruit_a.split()[2]} did {a} buy?", fruit_a.split()[0]),
            ],
        ),
        (
            f"Near the {feature}, they met {c}, who was reading a book about {topic}.",
            [
                (f"Who did {a} and {b} meet?", c),
                (f"What was {c}'s book about?", topic),
                (f"Where did they meet {c}?", f"the {feature}"),
            ],
        ),
        (
            f"In the evening, {b} went home, but {a} stayed to help {c}.",
            [
                ("Who went home in the evening?", b),
                (f"Who stayed to help {c}?", a),
            ],
        ),
    ]
    n_extra = rng.randint(1, 3)
    sentences.extend(rng.sample(extra, n_extra))
    # keep the story order (the evening sentence last)
    order = {id(s): i for i, s in enumerate([sentences[0], *extra])}
    sentences.sort(key=lambda s: order[id(s)])
    context = " ".join(s for s, _ in sentences)

    candidates: list[dict[str, Any]] = []
    offset = 0
    for sentence, qas in sentences:
        for question, answer in qas:
            # The answer is the mention inside THIS sentence (not an earlier one with the same text).
            start = offset + sentence.index(answer)
            candidates.append(
                {"context": context, "question": question, "answer_text": answer, "answer_start": start}
            )
        offset += len(sentence) + 1
    chosen = rng.sample(candidates, min(len(candidates), rng.randint(1, 2)))
    return context, tuple(chosen)


@functools.lru_cache(maxsize=16)
def _qa(split: str, seed: int) -> tuple[dict[str, Any], ...]:
    size = QA_SIZES[split]
    groups = collect("qa", split, seed, size, _make_qa)
    flat = [ex for group in groups for ex in group]
    return tuple(flat[:size])


def qa_examples(split: str = "train", seed: int = 0) -> list[dict]:
    """SQuAD-style questions about short passages from the story world.

    Each passage (2-4 sentences) has two or three characters, a place, a day and what they did;
    questions ask who, where, when, what and how many. Two characters always appear, so "who" needs
    the question's details, not just the first name in the passage. A passage gives 1-2 questions;
    passages never cross splits.

    Args:
        split: "train", "validation" or "test".
        seed: changes which examples are drawn.

    Returns:
        A list of dicts with keys ``context``, ``question``, ``answer_text`` and ``answer_start``
        (character offset, so ``context[answer_start:answer_start + len(answer_text)] == answer_text``).
    """
    seed = check_split_and_seed(split, seed)
    return [dict(ex) for ex in _qa(split, seed)]
