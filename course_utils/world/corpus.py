"""The unlabelled pretraining corpus: one language for the whole course.

BERT was pretrained on books and Wikipedia, which cover the English of the tasks it was then tuned
on. The course's corpus does the same for the course world: besides the stories, it holds the other
kinds of documents people write there, in the words and constructions of every labelled task:

- **stories** (:func:`course_utils.world.story_corpus`);
- **reviews**: someone eats out and writes what they thought, sentence after sentence, all of one
  opinion: reviews in the grammar of the sentiment task (negation, "but", "although") and remarks that
  show the feeling (an adverb of that feeling right before the opinion word, a reaction, agreement),
  ending with whether they will come back. The adverbs matter: a small BERT learns from neighbouring
  words long before it learns from words further away, so "wonderfully" next to "fresh" is what
  teaches it that "fresh" is a good thing to say (see the data card). The remarks draw every opinion
  word alike, the rare ones of the labelled reviews as often as the common ones;
- **news**: notes about one person, their town and the organisations they deal with, in the sentences
  of the NER task;
- **quizzes**: a passage like the QA ones, then some of its questions, each followed by its answer;
- **diaries**: purchases and gifts, told as the premises of the sentence-pair task, then retold.

Every document keeps to one person, place or event, so a true next sentence continues it and next
sentence prediction stays learnable. No sentence of a labelled validation or test example appears:
each sentence that could be one is checked against the hash split of its task, so it is only kept if
that task would put it in train (whatever the task's seed, since the split depends on the text alone).
"""

from __future__ import annotations

import functools
import random
from collections.abc import Callable

from course_utils.world.lexicon import (
    DAYS,
    FEMALE_NAMES,
    FRUITS,
    ITEMS,
    MALE_NAMES,
    MEALS,
    NUMBERS,
    ORGANISATIONS,
    TOWNS,
    cap,
)
from course_utils.world.ner import NER_TEMPLATES, _ner_person, _ner_place
from course_utils.world.pairs import SHOPS, gift_sentence, shopping_sentence
from course_utils.world.qa import _make_qa
from course_utils.world.sentiment import ASPECTS, OPENERS, _make_review, opinion_word
from course_utils.world.splits import check_split_and_seed, collect, split_bucket
from course_utils.world.stories import story_corpus

# Documents of each new kind per split (the stories keep their own sizes).
CORPUS_SIZES = {
    "reviews": {"train": 8000, "validation": 200, "test": 200},
    "news": {"train": 1500, "validation": 100, "test": 100},
    "quizzes": {"train": 1500, "validation": 100, "test": 100},
    "diaries": {"train": 1500, "validation": 100, "test": 100},
}
_LIKED = ("smiled", "was happy", "was delighted", "loved it", "felt glad")
_DISLIKED = ("frowned", "was upset", "was annoyed", "hated it", "felt sorry")
_GLAD_ADVERBS = ("wonderfully", "delightfully", "pleasantly", "beautifully")
_SAD_ADVERBS = ("terribly", "horribly", "dreadfully", "painfully")
EATERIES = ("cafe", "bakery", "market", "harbor", "station", "fair")
_NAMES = FEMALE_NAMES + MALE_NAMES
_TRAIN = range(0, 80)  # the hash buckets every task keeps for train (see splits.py)


def _in_train_of(task: str, text: str) -> bool:
    """True if the labelled data set ``task`` could only ever put ``text`` in its train split."""
    return split_bucket(task, text) in _TRAIN


def _draw(
    rng: random.Random, make: Callable[[], str], task: str, variants: Callable[[str], list[str]]
) -> str:
    """Draw sentences from ``make`` until one whose every variant belongs to ``task``'s train split."""
    for _ in range(1000):
        text = make()
        if all(_in_train_of(task, v) for v in variants(text)):
            return text
    raise RuntimeError(f"could not draw a {task} sentence outside its validation and test splits")


def _review_variants(text: str) -> list[str]:
    """A review with and without each neutral opener: the near-duplicates of one review."""
    core = text
    for opener in OPENERS:
        if text.startswith(opener + " "):
            core = text[len(opener) + 1 :]
    return [core, *(f"{opener} {core}" for opener in OPENERS)]


def _review_doc(rng: random.Random) -> tuple[str, tuple[str, ...]]:
    name, town, place = rng.choice(_NAMES), rng.choice(TOWNS), rng.choice(EATERIES)
    liked = rng.random() < 0.5

    def review() -> str:
        while True:  # a review of the document's opinion
            text, (_, label, _) = _make_review(rng)
            if label == int(liked):
                return text

    sign = 1 if liked else -1
    reactions = _LIKED if liked else _DISLIKED
    adverbs = _GLAD_ADVERBS if liked else _SAD_ADVERBS

    def remark() -> str:  # a remark that shows the writer's feeling
        (aspect, verb), (other, other_verb) = rng.sample(ASPECTS, 2)
        kind = rng.random()
        if kind < 0.8:  # an adverb of the same feeling right before the opinion word
            return f"The {aspect} {verb} {rng.choice(adverbs)} {opinion_word(rng, sign, zipf=False)}."
        if kind < 0.9:
            word = opinion_word(rng, sign, zipf=False)
            return f"The {aspect} {verb} {word}, so {name} {rng.choice(reactions)}."
        return (
            f"The {aspect} {verb} {opinion_word(rng, sign, zipf=False)}, and the {other} {other_verb} "
            f"{opinion_word(rng, sign, zipf=False)} too."
        )

    doc = [f"On {rng.choice(DAYS)}, {name} had {rng.choice(MEALS)} at the {place} in {town}."]
    body = [_draw(rng, review, "sentiment", _review_variants) for _ in range(rng.randint(1, 3))]
    body += [remark() for _ in range(rng.randint(1, 3))]
    rng.shuffle(body)
    doc += body
    doc.append(f"{name} will come back to {town}." if liked else f"{name} will not come back to {town}.")
    return " ".join(doc), tuple(doc)


def _news_doc(rng: random.Random) -> tuple[str, tuple[str, ...]]:
    subject = {"PER": _ner_person(rng), "LOC": _ner_place(rng), "ORG": rng.choice(ORGANISATIONS)}
    others = {"PER": _ner_person, "LOC": _ner_place, "ORG": lambda r: r.choice(ORGANISATIONS)}

    def sentence() -> str:
        words, seen = [], set()
        for piece in rng.choice(NER_TEMPLATES).split():
            kind = piece[1:-1] if piece.startswith("{") else None
            if kind is None:
                words.append(piece)
            else:  # the first slot of each kind is the document's own person, town or organisation
                words.append(others[kind](rng) if kind in seen else subject[kind])
                seen.add(kind)
        return " ".join(words)

    doc = tuple(_draw(rng, sentence, "ner", lambda s: [s]) for _ in range(rng.randint(3, 5)))
    return " ".join(doc), doc


def _quiz_doc(rng: random.Random) -> tuple[str, tuple[str, ...]]:
    for _ in range(1000):
        context, examples = _make_qa(rng)
        if _in_train_of("qa", context):
            break
    else:
        raise RuntimeError("could not draw a QA passage outside its validation and test splits")
    doc = [s if s.endswith(".") else s + "." for s in context.split(". ")]
    doc += [f"{ex['question']} {cap(ex['answer_text'])}." for ex in examples]
    return " ".join(doc), tuple(doc)


def _diary_doc(rng: random.Random) -> tuple[str, tuple[str, ...]]:
    for _ in range(1000):
        me, friend = rng.sample(_NAMES, 2)
        thing, item, shop = rng.choice(FRUITS), rng.choice(ITEMS), rng.choice(SHOPS)
        kind = rng.choice(("town", "day"))
        value = rng.choice(TOWNS if kind == "town" else DAYS)
        bought = shopping_sentence(me, rng.choice(NUMBERS), thing, shop, kind, value)
        gave = gift_sentence(me, friend, item, kind, value)
        if _in_train_of("pairs", bought) and _in_train_of("pairs", gave):  # premises of train pairs only
            break
    else:
        raise RuntimeError(
            "could not draw diary sentences outside the pair task's validation and test splits"
        )
    doc = [bought, gave, f"So {friend} got the {item} from {me}, and {me} kept the {thing}."]
    if rng.random() < 0.5:
        doc.append(f"{friend} did not give {me} anything.")
    return " ".join(doc), tuple(doc)


_MAKERS = {"reviews": _review_doc, "news": _news_doc, "quizzes": _quiz_doc, "diaries": _diary_doc}


@functools.lru_cache(maxsize=64)  # 4 kinds x 3 splits x a few seeds
def _documents(kind: str, split: str, seed: int) -> tuple[tuple[str, ...], ...]:
    return tuple(collect(f"corpus-{kind}", split, seed, CORPUS_SIZES[kind][split], _MAKERS[kind]))


def pretraining_corpus(split: str = "train", seed: int = 0) -> list[list[str]]:
    """The documents BERT is pretrained on: stories, reviews, news, quizzes and diaries (see above).

    Args:
        split: "train", "validation" or "test" (documents never cross splits).
        seed: changes which documents are drawn.

    Returns:
        A list of documents, each a list of sentences: the stories first, then each kind in turn, in
        a fixed order.
    """
    seed = check_split_and_seed(split, seed)
    docs = story_corpus(split, seed)
    for kind in _MAKERS:
        docs += [list(doc) for doc in _documents(kind, split, seed)]
    return docs
