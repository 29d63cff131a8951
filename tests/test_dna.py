"""Tests of the DNA helpers (``course_utils/dna.py``): base pairing, hairpins, k-mer tokens and their ids."""

from __future__ import annotations

import pytest

from course_utils import bio
from course_utils.dna import (
    SPECIAL_TOKENS,
    build_kmer_vocab,
    encode_kmers,
    find_hairpin,
    kmer_tokens,
    reverse_complement,
)
from course_utils.tokenizer import SPECIAL_TOKENS as TOKENIZER_SPECIAL_TOKENS


def test_reverse_complement_and_hairpin_by_hand():
    assert reverse_complement("AACG") == "CGTT"
    stem, loop = "GACCT", "CACACACACACACA"  # the loop pairs with neither end
    assert find_hairpin(stem + loop + reverse_complement(stem)) == (0, 5, 14)
    longer = stem + "G" + loop[:-2] + "C" + reverse_complement(stem)  # the next bases pair too: a stem of 6
    assert find_hairpin(longer) == (0, 6, 12)
    assert find_hairpin(stem + loop + "AGCTC") is None  # revcomp is AGGTC: one mismatch in the middle
    assert find_hairpin(stem + "TT" + reverse_complement(stem)) is None  # a loop of 2 is too short
    assert find_hairpin(stem + "TTTT" + reverse_complement(stem)) == (0, 5, 4)  # never grows below 3
    assert find_hairpin("CC" + stem + loop + reverse_complement(stem)) is None  # the ends must pair
    assert find_hairpin("AC" + "TTTT" + "GT", min_stem=2) == (0, 2, 4)
    with pytest.raises(ValueError, match="min_stem=0"):
        find_hairpin(stem + loop + reverse_complement(stem), min_stem=0)


def test_kmer_tokens_overlapping_and_not():
    assert kmer_tokens("ACGTA", 3) == ["ACG", "CGT", "GTA"]
    assert kmer_tokens("ACGTA", 3, stride=3) == ["ACG"]  # the leftover "TA" is shorter than k
    assert kmer_tokens("ACGTAC", 2, stride=2) == ["AC", "GT", "AC"]
    assert kmer_tokens("ACGT", 1) == list("ACGT")
    with pytest.raises(ValueError, match="A, C, G, T"):
        kmer_tokens("ACGU", 2)
    with pytest.raises(ValueError, match="fewer than k=5"):
        kmer_tokens("ACG", 5)
    with pytest.raises(ValueError, match="stride"):
        kmer_tokens("ACGT", 2, stride=0)


def test_vocab_and_encoding():
    vocab = build_kmer_vocab(2)
    assert len(vocab) == 5 + 16
    assert [vocab[t] for t in ("[PAD]", "[CLS]", "[SEP]", "AA", "AC", "TT")] == [0, 2, 3, 5, 6, 20]
    ids, mask = encode_kmers(["ACGT", "AC"], vocab, k=2, stride=2)
    assert ids.tolist() == [[2, vocab["AC"], vocab["GT"], 3], [2, vocab["AC"], 3, 0]]
    assert mask.tolist() == [[1, 1, 1, 1], [1, 1, 1, 0]]
    with pytest.raises(ValueError, match="from 1 to 8"):
        build_kmer_vocab(0)
    with pytest.raises(ValueError, match="seqs is empty"):
        encode_kmers([], vocab)


def test_one_set_of_special_tokens_and_the_old_imports_still_work():
    assert SPECIAL_TOKENS is TOKENIZER_SPECIAL_TOKENS
    assert list(build_kmer_vocab(1))[:5] == list(TOKENIZER_SPECIAL_TOKENS)
    assert bio.kmer_tokens is kmer_tokens and bio.build_kmer_vocab is build_kmer_vocab
    assert bio.encode_kmers is encode_kmers and bio.BASES == "ACGT"
