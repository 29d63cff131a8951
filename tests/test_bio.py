"""Tests of the DNA helpers, and the slow (about 50 s) check that the mini-BERT learns the aptamer rule."""

from __future__ import annotations

import pytest
import torch

from course_utils.bio import aptamer_bert_check, build_kmer_vocab, encode_kmers, kmer_tokens


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


@pytest.mark.slow
def test_mini_bert_beats_the_kmer_bag_on_aptamers():
    threads = torch.get_num_threads()
    # a generous budget: the test checks what the recipe learns, not this machine's speed (the data card
    # records the time, measured with `python -m course_utils.bio`)
    result = aptamer_bert_check(seconds_budget=600, seed=0)
    assert torch.get_num_threads() == threads, "the thread count is restored"
    assert result["kmer6_bag_test_accuracy"] <= 0.78, result
    assert result["bert_test_accuracy"] >= 0.85, result
    assert result["steps"] > 0 and not result["stopped_early"], result
