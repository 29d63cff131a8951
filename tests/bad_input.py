"""The table format of the bad-input tests (``tests/test_bad_input_*.py``): one line per case.

A case is ``case(id, call, error, phrase)``: ``call(tmp)`` (``tmp`` is an empty folder) must raise ``error``
with ``phrase`` in its message. The message must be one line when ``one_line`` is set (a check's message
is what a learner sees instead of a traceback).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest


@dataclass
class Case:
    id: str
    call: Callable[[Path], Any]
    error: type[BaseException] | tuple[type[BaseException], ...]
    phrase: str


def case(id: str, call: Callable[[Path], Any], error, phrase: str) -> Any:
    """One row of a table, as a ``pytest.param`` whose id is ``id``."""
    return pytest.param(Case(id, call, error, phrase), id=id)


def expect_error(c: Case, tmp: Path, one_line: bool = False) -> BaseException:
    """Run the case and check its error type and message."""
    with pytest.raises(c.error) as info:
        c.call(tmp)
    message = str(info.value)
    assert c.phrase.lower() in message.lower(), f"{c.id}: {c.phrase!r} not in {message!r}"
    if one_line:
        assert "\n" not in message, f"{c.id}: the message is not one line: {message!r}"
    return info.value
