"""`History`: what a training run records, and its JSON form."""

from __future__ import annotations

import json

import pytest

from course_utils.history import History


def test_history_json_round_trip_and_best():
    h = History(
        steps=[1, 2],
        train_loss=[2.0, 1.5],
        lr=[0.1, 0.05],
        grad_norm=[1.0, 0.5],
        parts={"mlm_loss": [1.5, 1.0]},
        eval=[(1, {"loss": 1.9, "accuracy": 0.6}), (2, {"loss": 2.1, "accuracy": 0.7})],
        seconds=3.0,
    )
    again = History.from_dict(json.loads(json.dumps(h.to_dict())))
    assert again == h
    assert h.best("loss") == (1, 1.9)
    assert h.best("accuracy") == (2, 0.7)
    assert h.best("loss", mode="max") == (2, 2.1)
    with pytest.raises(KeyError, match="accuracy"):
        h.best("f1")


def test_history_from_an_older_log_without_new_fields():
    old = {
        "steps": [1],
        "train_loss": [1.0],
        "lr": [0.1],
        "grad_norm": [0.5],
        "parts": {},
        "eval": [],
        "seconds": 2.0,
    }
    h = History.from_dict(old)
    assert len(h) == 1 and not h.stopped_early
