"""Shared test helpers."""

from __future__ import annotations

import pytest
import torch

from course_utils.model import BertConfig


@pytest.fixture(scope="module")
def one_thread():
    """Tiny models run nearly as fast on one CPU thread, and far faster when other jobs share the CPU.

    Use in a module with ``pytestmark = pytest.mark.usefixtures("one_thread")``.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def tiny_bert_config(vocab_size: int, max_position_embeddings: int, **overrides) -> BertConfig:
    """A one-layer BERT small enough to train for a few steps in a unit test."""
    base = dict(
        vocab_size=vocab_size,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=max_position_embeddings,
    )
    return BertConfig(**{**base, **overrides})
