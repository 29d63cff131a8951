"""The slow (about a minute) check that the mini-BERT learns the aptamer rule (the DNA helpers: test_dna.py)."""

from __future__ import annotations

import pytest
import torch

from course_utils.bio import aptamer_bert_check


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
