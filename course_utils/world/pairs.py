"""Sentence pairs: does the hypothesis follow from the premise? (entailment / neutral / contradiction)

In the spirit of MNLI, the task of BERT's headline result: a premise states the facts of one event
(who bought what, where, when; who gave what to whom), a hypothesis states some facts about the same
event. The label compares the two:

- **entailment**: every fact the hypothesis states is stated by the premise, with the same value;
- **contradiction**: one fact has another value than the premise's (another town, another buyer, the
  gift going the other way);
- **neutral**: one fact is not in the premise at all (a day or a town the premise does not mention).

The hypothesis is drawn the same way whatever the label, so it says nothing on its own; the premise
alone says nothing either. Only reading the two together, in order ("Ben got a kite from Anna" follows
from "Anna gave Ben a kite"; "Anna got a kite from Ben" contradicts it), gives the label.
"""

from __future__ import annotations

import functools
import random
from typing import Any

from course_utils.world.lexicon import DAYS, FEMALE_NAMES, FRUITS, ITEMS, MALE_NAMES, NUMBERS, TOWNS, cap
from course_utils.world.splits import check_split_and_seed, collect

PAIR_SIZES = {"train": 3000, "validation": 500, "test": 500}
PAIR_LABELS = ("entailment", "neutral", "contradiction")
SHOPS = ("market", "bakery", "toy shop", "post office", "cafe", "fair")
_NAMES = FEMALE_NAMES + MALE_NAMES


def _other(rng: random.Random, choices: tuple[str, ...], *avoid: str) -> str:
    return rng.choice([c for c in choices if c not in avoid])


# Every premise says where OR when (a town or a day), never both; every hypothesis says one of the two.
# Same kind and same value: the fact is shared; the other kind: the premise is silent (neutral). So the
# premise alone and the hypothesis alone carry no sign of the label.
_WHERE_WHEN = {"town": (TOWNS, " in {}"), "day": (DAYS, " on {}")}


def shopping_sentence(buyer: str, count: str, thing: str, shop: str, kind: str, value: str) -> str:
    """A purchase: "Anna bought three apples at the market in Riverton." or "On Monday, Anna bought ..."."""
    text = f"{buyer} bought {count} {thing} at the {shop}"
    return f"{text} in {value}." if kind == "town" else f"On {value}, {text}."


def gift_sentence(giver: str, receiver: str, item: str, kind: str, value: str) -> str:
    """A gift: "Anna gave Ben a kite in Oakford." or "On Monday, Anna gave Ben a kite."."""
    text = f"{giver} gave {receiver} a {item}"
    return f"{text} in {value}." if kind == "town" else f"On {value}, {text}."


def _where_when(rng: random.Random, label: int, premise_kind: str, premise_value: str) -> tuple[str, str]:
    """The hypothesis' town or day: the premise's own (entailment, contradiction) or the other kind."""
    if label == 1:
        kind = "day" if premise_kind == "town" else "town"
        return kind, rng.choice(_WHERE_WHEN[kind][0])
    return premise_kind, premise_value


def _shopping_pair(rng: random.Random, label: int) -> tuple[str, str]:
    buyer, thing, shop = rng.choice(_NAMES), rng.choice(FRUITS), rng.choice(SHOPS)
    kind = rng.choice(tuple(_WHERE_WHEN))
    value = rng.choice(_WHERE_WHEN[kind][0])
    premise = shopping_sentence(buyer, rng.choice(NUMBERS), thing, shop, kind, value)
    h_kind, h_value = _where_when(rng, label, kind, value)
    h = {"buyer": buyer, "thing": thing, h_kind: h_value}
    if rng.random() < 0.5:
        h["shop"] = shop
    if label == 2:  # contradiction: one stated fact has another value
        pools = {"buyer": _NAMES, "thing": FRUITS, "shop": SHOPS, **{k: v[0] for k, v in _WHERE_WHEN.items()}}
        k = rng.choice(list(h))
        h[k] = _other(rng, pools[k], h[k])
    shop_part = f" at the {h['shop']}" if "shop" in h else ""
    return premise, f"{h['buyer']} bought {h['thing']}{shop_part}{_WHERE_WHEN[h_kind][1].format(h[h_kind])}."


def _gift_pair(rng: random.Random, label: int) -> tuple[str, str]:
    giver, receiver = rng.sample(_NAMES, 2)
    item = rng.choice(ITEMS)
    kind = rng.choice(tuple(_WHERE_WHEN))
    value = rng.choice(_WHERE_WHEN[kind][0])
    premise = gift_sentence(giver, receiver, item, kind, value)
    h_kind, h_value = _where_when(rng, label, kind, value)
    a, b = giver, receiver
    if label == 2:  # contradiction: mostly the gift going the other way, else another thing or place
        change = rng.choices(("order", "item", "where_when"), (3, 1, 1))[0]
        if change == "order":
            a, b = receiver, giver
        elif change == "item":
            item = _other(rng, ITEMS, item)
        else:
            h_value = _other(rng, _WHERE_WHEN[h_kind][0], h_value)
    # the same two names in both orders, said two ways: only the order tells who gave
    said = f"{b} got a {item} from {a}" if rng.random() < 0.5 else f"{a} gave {b} a {item}"
    return premise, cap(said) + _WHERE_WHEN[h_kind][1].format(h_value) + "."


def _make_pair(rng: random.Random) -> tuple[str, dict[str, Any]]:
    label = rng.randrange(3)
    premise, hypothesis = (_shopping_pair if rng.random() < 0.6 else _gift_pair)(rng, label)
    return f"{premise} || {hypothesis}", {"premise": premise, "hypothesis": hypothesis, "label": label}


@functools.lru_cache(maxsize=16)
def _pairs(split: str, seed: int) -> tuple[dict[str, Any], ...]:
    rows = collect(
        "pairs",
        split,
        seed,
        PAIR_SIZES[split],
        _make_pair,
        label_of=lambda ex: ex["label"],
        num_labels=len(PAIR_LABELS),
        group_of=lambda ex: ex["premise"],  # a premise and all its hypotheses stay in one split
    )
    return tuple(rows)


def pair_examples(split: str = "train", seed: int = 0) -> list[dict[str, Any]]:
    """Premise / hypothesis pairs labelled entailment (0), neutral (1) or contradiction (2).

    Two kinds of event: a purchase ("On Monday, Anna bought three apples at the market in Riverton."
    / "Anna bought apples in Oakford." is a contradiction) and a gift ("Anna gave Ben a kite." / "Ben got
    a kite from Anna." is an entailment, "Anna got a kite from Ben." a contradiction). Labels are
    balanced exactly; ``PAIR_LABELS[label]`` names a label. A premise never appears in two splits.

    Args:
        split: "train", "validation" or "test".
        seed: changes which pairs are drawn.

    Returns:
        A list of dicts with keys ``premise``, ``hypothesis`` and ``label``.
    """
    seed = check_split_and_seed(split, seed)
    return [dict(ex) for ex in _pairs(split, seed)]
