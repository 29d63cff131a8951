"""Aptamers: DNA-like sequences labelled binder / non-binder by a motif AND a closing hairpin.

The pairing of the two ends is checked with :func:`course_utils.dna.find_hairpin`; a bag of k-mers
sees the motif but not whether the ends pair.
"""

from __future__ import annotations

import functools
import random

from course_utils.dna import HAIRPIN_STEM, find_hairpin, reverse_complement
from course_utils.world.splits import check_split_and_seed, collect

APTAMER_SIZES = {"train": 6000, "validation": 500, "test": 500}
APTAMER_LABELS = ("non-binder", "binder")
APTAMER_MOTIF = "GGTACA"  # the "binding" motif (not its own reverse complement)
APTAMER_LENGTH = 24  # every sequence has exactly this many bases
APTAMER_LOOP = APTAMER_LENGTH - 2 * HAIRPIN_STEM  # the loop between the two stem halves (14 bases)
APTAMER_GC = 0.5  # GC content of the random background
# How often each kind is drawn (3 in 7 binders; label quotas then balance the classes exactly).
APTAMER_KINDS = {"binder": 3, "random": 1, "motif only": 1, "motif + broken stem": 1, "hairpin only": 1}


def aptamer_rule(seq: str) -> int:
    """1 (binder) if ``seq`` holds ``APTAMER_MOTIF`` AND its ends close a hairpin (see :func:`find_hairpin`)."""
    return int(APTAMER_MOTIF in seq and find_hairpin(seq) is not None)


def _background(rng: random.Random, n: int) -> list[str]:
    gc = APTAMER_GC / 2
    return rng.choices("ACGT", weights=(0.5 - gc, gc, gc, 0.5 - gc), k=n)


def _make_aptamer(rng: random.Random) -> tuple[str, tuple[str, int, str]]:
    kind = rng.choices(list(APTAMER_KINDS), weights=list(APTAMER_KINDS.values()))[0]
    stem = _background(rng, HAIRPIN_STEM)
    if kind in ("binder", "hairpin only"):
        partner = list(reverse_complement("".join(stem)))
    elif kind == "motif + broken stem":  # one mismatch in the middle of an otherwise perfect stem
        partner = list(reverse_complement("".join(stem)))
        k = HAIRPIN_STEM // 2
        partner[k] = rng.choice([b for b in "ACGT" if b != partner[k]])
    else:  # random ends (they pair by chance once in 4**5 = 1024)
        partner = _background(rng, HAIRPIN_STEM)
    loop = _background(rng, APTAMER_LOOP)
    if kind in ("binder", "motif only", "motif + broken stem"):  # the motif sits anywhere in the loop
        at = rng.randint(0, APTAMER_LOOP - len(APTAMER_MOTIF))
        loop[at : at + len(APTAMER_MOTIF)] = APTAMER_MOTIF
    text = "".join(stem + loop + partner)
    return text, (text, aptamer_rule(text), kind)


@functools.lru_cache(maxsize=16)
def _aptamers(split: str, seed: int) -> tuple[tuple[str, int, str], ...]:
    size = APTAMER_SIZES[split]
    return tuple(collect("aptamers", split, seed, size, _make_aptamer, label_of=lambda ex: ex[1]))


def aptamer_sequences(split: str = "train", seed: int = 0) -> tuple[list[str], list[int]]:
    """DNA-like sequences (A, C, G, T; exactly 24 bases) labelled binder (1) or non-binder (0).

    Rule (:func:`aptamer_rule`): a binder holds the motif ``APTAMER_MOTIF`` AND folds into a hairpin
    closed by its ends - its first 5 bases are the reverse complement of its last 5, around a loop of
    14. Non-binders are random sequences, the motif alone, the motif with a stem that has one mismatch,
    or a closed hairpin without the motif. A bag of k-mers sees the motif but not whether the two ends
    pair. Labels are balanced exactly and always equal ``aptamer_rule(sequence)``.

    Args:
        split: "train", "validation" or "test".
        seed: changes which sequences are drawn.

    Returns:
        ``(sequences, labels)``.
    """
    seed = check_split_and_seed(split, seed)
    rows = _aptamers(split, seed)
    return [r[0] for r in rows], [r[1] for r in rows]
