"""course_utils.checks: every check passes a right answer and rejects typical wrong ones.

The right answers here are written independently of the solution sheets (library calls where possible), so a
check that compares against the wrong reference fails these tests. Every test also verifies that the check
left the learner's global random state as it found it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from course_utils import checks
from course_utils.checks import (
    CheckError,
    unit00,
    unit01,
    unit02,
    unit03,
    unit04,
    unit05,
    unit06,
    unit07,
    unit08,
    unit09,
)

UNITS = (unit00, unit01, unit02, unit03, unit04, unit05, unit06, unit07, unit08, unit09)

pytestmark = pytest.mark.usefixtures("one_thread", "global_random_state_untouched")


def test_every_check_is_tested_here():
    # units 00-02 have their own files, tests/test_checks_unitNN.py
    source = "".join(path.read_text() for path in sorted(Path(__file__).parent.glob("test_checks*.py")))
    for module in UNITS:
        unit = module.__name__.rsplit(".", 1)[1]
        for name in module.__all__:
            assert f"{unit}.{name}(" in source, f"{unit}.{name} has no test"


# --------------------------------------------------------------------------- shared helpers


def test_isolated_rng_seeds_inside_and_restores_outside():
    before = torch.get_rng_state()
    with checks.isolated_rng(3):
        inside = torch.rand(2)
    assert torch.equal(torch.get_rng_state(), before)
    assert torch.equal(inside, torch.rand(2, generator=torch.Generator().manual_seed(3)))
    with pytest.raises(ValueError), checks.isolated_rng(0):
        torch.rand(1)
        raise ValueError("a failing check")
    assert torch.equal(torch.get_rng_state(), before)  # restored after an error too


@pytest.mark.parametrize(
    "answer, message",
    [
        (lambda T: torch.ones(T, T, dtype=torch.bool).tril(), None),
        (lambda T: torch.ones(T, T).tril(), "booleans"),
        (lambda T: torch.ones(T, T + 1, dtype=torch.bool).tril(), "shape"),
        (lambda T: ~torch.ones(T, T, dtype=torch.bool).tril(), "inverted"),
        (lambda T: torch.ones(T, T, dtype=torch.bool).triu(), "transposed"),
        (
            lambda T: torch.ones(T, T, dtype=torch.bool).tril(1),
            r"mask\(3\)\[0, 1\] is True; .* only if 1 <= 0",
        ),
    ],
)
def test_expect_causal_mask(answer, message):
    if message is None:
        checks.expect_causal_mask("Task", answer, "mask")
    else:
        with pytest.raises(CheckError, match=message):
            checks.expect_causal_mask("Task", answer, "mask")
