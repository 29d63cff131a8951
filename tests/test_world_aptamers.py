"""Tests of the aptamer sequences (``world/aptamers.py``): the binder rule, balance, decoys, GC content."""

from __future__ import annotations

from collections import Counter

from course_utils import world
from course_utils.dna import reverse_complement
from course_utils.world import APTAMER_MOTIF, SPLITS, aptamer_rule, aptamer_sequences, find_hairpin


def test_aptamer_rule_needs_the_motif_and_a_closing_hairpin():
    stem, loop = "GACCT", "CACACACACACACA"  # the loop pairs with neither end
    hairpin = stem + loop[:4] + APTAMER_MOTIF + loop[10:] + reverse_complement(stem)
    assert len(hairpin) == world.APTAMER_LENGTH and find_hairpin(hairpin) == (0, 5, 14)
    assert aptamer_rule(hairpin) == 1
    assert aptamer_rule(stem + loop + reverse_complement(stem)) == 0  # no motif
    assert aptamer_rule("A" + hairpin[1:]) == 0  # "A" does not pair with the last base "C"
    assert world.APTAMER_LOOP == world.APTAMER_LENGTH - 2 * world.HAIRPIN_STEM == 14


def test_aptamers_follow_the_rule_balanced_and_gc_matched():
    for split in SPLITS:
        seqs, labels = aptamer_sequences(split)
        assert Counter(labels)[0] == Counter(labels)[1]
        assert all(set(s) <= set("ACGT") and len(s) == world.APTAMER_LENGTH for s in seqs)
        assert all(aptamer_rule(s) == y for s, y in zip(seqs, labels))
    seqs, labels = aptamer_sequences("train")
    negatives = [s for s, y in zip(seqs, labels) if y == 0]
    motif = sum(APTAMER_MOTIF in s for s in negatives) / len(negatives)
    hairpin = sum(find_hairpin(s) is not None for s in negatives) / len(negatives)
    assert 0.4 < motif < 0.6, "half the non-binders carry the motif: the motif alone is not enough"
    assert hairpin > 0.2, "nor a hairpin alone"
    near = sum(APTAMER_MOTIF in s and s[-1] == reverse_complement(s[0]) for s in negatives) / len(negatives)
    assert near > 0.2, "decoys with the motif and a stem broken in the middle"
    gc = {
        y: [(s.count("G") + s.count("C")) / len(s) for s, yy in zip(seqs, labels) if yy == y] for y in (0, 1)
    }
    assert abs(sum(gc[0]) / len(gc[0]) - sum(gc[1]) / len(gc[1])) < 0.03
