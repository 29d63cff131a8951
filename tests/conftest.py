"""Shared fixtures. Plain helper functions live in ``helpers.py`` (``from helpers import ...``)."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(scope="module")
def one_thread():
    """Tiny models run nearly as fast on one CPU thread, and far faster when other jobs share the CPU.

    Use in a module with ``pytestmark = pytest.mark.usefixtures("one_thread")``.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
