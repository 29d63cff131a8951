"""Shared fixtures. Plain helper functions live in ``helpers.py`` (``from helpers import ...``)."""

from __future__ import annotations

import random

import numpy as np
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


@pytest.fixture
def global_random_state_untouched():
    """A check must not reseed or advance the learner's generators (torch, NumPy, Python).

    Use with ``pytestmark = pytest.mark.usefixtures("global_random_state_untouched")``.
    """
    before = (torch.get_rng_state(), np.random.get_state()[1].copy(), random.getstate())
    yield
    assert torch.equal(torch.get_rng_state(), before[0]), "torch's global random state changed"
    assert np.array_equal(np.random.get_state()[1], before[1]), "NumPy's global random state changed"
    assert random.getstate() == before[2], "Python's global random state changed"
