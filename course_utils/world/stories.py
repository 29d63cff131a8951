"""Stories: documents of short coherent stories, the pretraining corpus (MLM + NSP).

A story has a hero, usually a friend or relative met on the way, one or two places of the story world
(``lexicon.PLACES``) and a day whose time only moves forward, so the true next sentence of a story
continues it while a sentence from another document usually does not.
"""

from __future__ import annotations

import functools
import random

from course_utils.world.lexicon import (
    BIRDS,
    CAKES,
    COLORS,
    DAYS,
    DRINKS,
    FARM_ANIMALS,
    FEELINGS,
    FEMALE_NAMES,
    FOREST_ANIMALS,
    FRUITS,
    GAMES,
    GO_VERBS,
    INSTRUMENTS,
    ITEMS,
    MALE_NAMES,
    MEALS,
    MOODS_OF_PLACE,
    NUMBERS,
    PASTRIES,
    PLACES,
    RELATIONS,
    TOPICS,
    TOWNS,
    VEGETABLES,
    WEATHER,
    ZOO_ANIMALS,
    cap,
    with_article,
)
from course_utils.world.splits import check_split_and_seed, collect

STORY_SIZES = {"train": 4000, "validation": 300, "test": 300}


class _Person:
    def __init__(self, name: str, female: bool):
        self.name = name
        self.subj = "she" if female else "he"
        self.obj = "her" if female else "him"
        self.poss = "her" if female else "his"


class _Story:
    """Builds one coherent story: two characters, one or two places, a time line that moves forward."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        female = rng.random() < 0.5
        self.hero = _Person(rng.choice(FEMALE_NAMES if female else MALE_NAMES), female)
        f_female = rng.random() < 0.5
        names = [n for n in (FEMALE_NAMES if f_female else MALE_NAMES) if n != self.hero.name]
        self.friend = _Person(rng.choice(names), f_female)
        self.relation = rng.choice(RELATIONS)[0 if f_female else 1]
        self.town = rng.choice(TOWNS)
        self.day = rng.choice(DAYS)
        self.place = rng.choice(list(PLACES))
        self.together = False  # becomes True once the friend has joined
        self.time = 0  # index into DAY_PARTS
        self.sentences: list[str] = []
        self.used: set[str] = set()

    # --- how characters are referred to ---
    def subject(self) -> str:
        rng = self.rng
        if self.together:
            r = rng.random()
            if r < 0.45:
                return "they"
            if r < 0.55:
                return f"{self.hero.name} and {self.friend.name}"
            who = self.hero if r < 0.8 else self.friend
            return who.name
        # Alone: a pronoun is clear only after the name has been said.
        return self.hero.name if rng.random() < 0.5 else self.hero.subj

    def object(self) -> str:
        return "them" if self.together else self.hero.obj

    def fill(self, template: str, place: str) -> str:
        rng = self.rng
        slots = {
            "S": self.subject(),
            "O": self.object(),
            "P": "their" if self.together else self.hero.poss,
            "feature": rng.choice(PLACES[place]["features"]),
            "number": rng.choice(NUMBERS),
            "color": rng.choice(COLORS),
            "a_color": with_article(rng.choice(COLORS)),  # "an orange", "a red"
            "fruit": rng.choice(FRUITS),
            "vegetable": rng.choice(VEGETABLES),
            "topic": rng.choice(TOPICS),
            "farm_animal": rng.choice(FARM_ANIMALS),
            "a_forest_animal": with_article(rng.choice(FOREST_ANIMALS)),
            "zoo_animal": rng.choice(ZOO_ANIMALS),
            "pastry_a": with_article(rng.choice(PASTRIES)),
            "pastry_cake": rng.choice(CAKES),
            "bird": rng.choice(BIRDS),
            "drink": rng.choice(DRINKS),
            "town": self.town,
            "game": rng.choice(GAMES),
        }
        return cap(template.format(**slots))

    def add(self, sentence: str) -> None:
        self.sentences.append(sentence)

    # --- story parts ---
    def intro(self) -> None:
        rng, h = self.rng, self.hero
        go = rng.choice(GO_VERBS)
        form = rng.randrange(4)
        if form == 0:
            s = f"On {self.day} morning, {h.name} {go} to the {self.place}."
        elif form == 1:
            s = f"{h.name} {go} to the {self.place} in {self.town} early on {self.day}."
        elif form == 2:
            s = f"One {rng.choice(WEATHER)} {self.day} morning, {h.name} {go} to the {self.place}."
        else:
            s = f"{h.name} lived in {self.town}, and on {self.day} {h.subj} {go} to the {self.place}."
        self.add(s)

    def setting(self) -> None:
        rng = self.rng
        form = rng.randrange(3)
        if form == 0:
            self.add(f"The {self.place} was {rng.choice(MOODS_OF_PLACE)} that morning.")
        elif form == 1:
            self.add(f"The sky over {self.town} was {rng.choice(WEATHER)}.")
        else:
            self.add(f"{self.hero.name} wore {self.hero.poss} {rng.choice(COLORS)} coat.")

    def meet(self) -> None:
        rng, h, f = self.rng, self.hero, self.friend
        feature = rng.choice(PLACES[self.place]["features"])
        form = rng.randrange(3)
        if form == 0:
            s = f"There {h.subj} met {h.poss} {self.relation} {f.name}."
        elif form == 1:
            s = f"{h.poss} {self.relation} {f.name} was already waiting by the {feature}."
        else:
            s = f"Near the {feature}, {h.name} saw {h.poss} {self.relation} {f.name}."
        self.add(cap(s))
        self.together = True

    def activity(self, place: str, prefix: str = "") -> None:
        # never the same activity twice in one story
        options = [t for t in PLACES[place]["activities"] if t not in self.used]
        template = self.rng.choice(options)
        self.used.add(template)
        s = self.fill(template, place)
        if prefix:
            # keep the capital of a name ("In the afternoon, Mia ..."), drop it otherwise
            keep = s.startswith((self.hero.name, self.friend.name))
            s = prefix + (s if keep else s[0].lower() + s[1:])
        self.add(s)

    def event(self) -> None:
        """Something happens, told in two sentences where the second follows from the first."""
        rng, h, f = self.rng, self.hero, self.friend
        feature = rng.choice(PLACES[self.place]["features"])
        other = rng.choice([x for x in PLACES[self.place]["features"] if x != feature])
        color = rng.choice(COLORS)
        kind = rng.randrange(10)
        if kind == 0:
            self.add("Suddenly it started to rain.")
            self.add(f"{cap(self.subject())} hid under the {feature} until the rain stopped.")
        elif kind == 1 and self.together:
            item = rng.choice(ITEMS)
            self.add(f"{f.name} lost {f.poss} {color} {item} near the {feature}.")
            self.add(f"Later {h.name} found the {item} behind the {other}.")
        elif kind == 2:
            self.add(f"A small {color} dog ran up to {self.object()}.")
            self.add(f"The dog followed {self.object()} all the way to the {feature}.")
        elif kind == 3:
            self.add(f"A strong wind blew {h.name}'s hat away.")
            catcher = f.name if self.together else "A kind old man"
            self.add(f"{catcher} ran after it and caught it near the {feature}.")
        elif kind == 4:
            self.add(f"An old woman gave {self.object()} {with_article(color)} balloon.")
            self.add(f"{cap(self.subject())} tied the {color} balloon to the {feature}.")
        elif kind == 5:
            self.add(f"After a short shower, a rainbow appeared over {self.town}.")
            self.add(f"{cap(self.subject())} counted its colors from the {feature}.")
        elif kind == 6:
            bird = rng.choice(BIRDS)
            self.add(f"A few {bird} landed next to the {feature}.")
            self.add(f"One of the {bird} stole a crumb from {h.name}'s hand.")
        elif kind == 7:
            self.add(f"Near the {feature}, {h.name} met {h.poss} old teacher.")
            self.add(f"The teacher asked {h.obj} about {h.poss} plans for the summer.")
        elif kind == 8:
            instrument = rng.choice(INSTRUMENTS)
            self.add(f"Someone was playing the {instrument} near the {feature}.")
            self.add(f"{cap(self.subject())} stopped to listen to the {instrument}.")
        else:
            self.add(f"A little boy asked {self.object()} the way to the station.")
            self.add(f"{cap(self.subject())} showed him the road past the {other}.")

    def later(self, prefix_options: dict[int, str]) -> str:
        """Move the clock forward; returns the time phrase to start the next sentence with."""
        later = [t for t in prefix_options if t > self.time]
        t = self.rng.choice(later)
        self.time = t
        return prefix_options[t]

    def lunch(self) -> None:
        rng = self.rng
        self.time = max(self.time, 1)
        feature = rng.choice(PLACES[self.place]["features"])
        self.add(f"At noon, {self.subject()} ate {rng.choice(MEALS)} near the {feature}.")

    def move(self) -> None:
        rng = self.rng
        new = rng.choice([p for p in PLACES if p != self.place])
        options = (
            ("After lunch", "In the afternoon", "Later that day")
            if self.time < 2
            else ("After that", "Later")
        )
        self.time = max(self.time, 2)
        opener = rng.choice(options)
        self.add(f"{opener}, {self.subject()} {rng.choice(GO_VERBS)} to the {new}.")
        self.place = new

    def ending(self) -> None:
        rng, h = self.rng, self.hero
        form = rng.randrange(7)
        who = "they" if self.together else h.subj
        if form == 0:
            self.add(f"In the evening, {h.name} went home {rng.choice(FEELINGS)}.")
        elif form == 1:
            self.add(f"When the sun set, {who} walked home through {self.town}.")
        elif form == 2:
            self.add(f"At night, {h.name} told {h.poss} family about the {self.place}.")
        elif form == 3:
            self.add(f"That night, {h.name} dreamed about the {self.place}.")
        elif form == 4:
            self.add(f"It was dark when {who} finally got home.")
        elif form == 5:
            self.add(f"Before bed, {h.name} wrote about the day in {h.poss} diary.")
        else:
            self.add(f"On the way home, {who} promised to visit the {self.place} again soon.")


def _make_story(rng: random.Random) -> tuple[str, tuple[str, ...]]:
    story = _Story(rng)
    story.intro()
    if rng.random() < 0.3:
        story.setting()
    if rng.random() < 0.8:
        story.meet()
    story.activity(story.place)
    if rng.random() < 0.6:
        story.activity(story.place)
    if rng.random() < 0.6:
        story.event()
    if rng.random() < 0.5:
        story.lunch()
    elif rng.random() < 0.4:
        story.activity(story.place, prefix=story.later({2: "In the afternoon, ", 3: "In the evening, "}))
    if rng.random() < 0.35 and story.time < 3 and len(story.sentences) <= 7:
        story.move()
        story.activity(story.place)
    if len(story.sentences) < 3:  # at least 4 sentences with the ending
        story.activity(story.place)
    story.ending()
    doc = tuple(story.sentences)
    assert 4 <= len(doc) <= 10, doc
    return " ".join(doc), doc


@functools.lru_cache(maxsize=16)
def _stories(split: str, seed: int) -> tuple[tuple[str, ...], ...]:
    return tuple(collect("stories", split, seed, STORY_SIZES[split], _make_story))


def story_corpus(split: str = "train", seed: int = 0) -> list[list[str]]:
    """Documents of short coherent stories, for masked language modelling and next sentence prediction.

    Each document has 4-10 sentences about the same characters, place and day, told in time order
    (morning, noon, afternoon, evening), so the true next sentence of a story continues it while a
    sentence from another document usually does not.

    Args:
        split: "train", "validation" or "test".
        seed: changes which stories are drawn (the same seed always gives the same stories).

    Returns:
        A list of documents; each document is a list of sentence strings.
    """
    seed = check_split_and_seed(split, seed)
    return [list(doc) for doc in _stories(split, seed)]
