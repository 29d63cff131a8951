"""Tests of ``load_csv`` (``world/csv_files.py``): bring your own labelled texts."""

from __future__ import annotations

import pytest

from course_utils.world import SENTIMENT_LABELS, load_csv


def _write(tmp_path, text: str, name: str = "data.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_load_csv_reads_names_and_ids(tmp_path):
    path = _write(tmp_path, 'text,label\n"Great, really.",positive\nAwful.,negative\nFine.,positive\n')
    texts, ids, names = load_csv(path)
    assert texts == ["Great, really.", "Awful.", "Fine."]
    assert names == ["negative", "positive"] and ids == [1, 0, 1]
    texts, ids, names = load_csv(path, labels=SENTIMENT_LABELS)
    assert ids == [1, 0, 1] and names == list(SENTIMENT_LABELS)
    numeric = _write(tmp_path, "review,stars\nok,10\nbad,2\ngood,10\n", "n.csv")
    texts, ids, names = load_csv(numeric, text_column="review", label_column="stars")
    assert names == ["2", "10"] and ids == [1, 0, 1]  # numeric order, not "10" < "2"
    assert load_csv(_write(tmp_path, "text,label\na,1\nb,0\n", "i.csv"), labels=["neg", "pos"])[1] == [1, 0]


def test_load_csv_errors_are_clear(tmp_path):
    with pytest.raises(FileNotFoundError, match="no CSV file"):
        load_csv(tmp_path / "missing.csv")
    with pytest.raises(ValueError, match="empty"):
        load_csv(_write(tmp_path, "", "e.csv"))
    with pytest.raises(ValueError, match="no data rows"):
        load_csv(_write(tmp_path, "text,label\n", "h.csv"))
    with pytest.raises(ValueError, match=r"no column 'text'.*\['review', 'label'\]"):
        load_csv(_write(tmp_path, "review,label\nok,1\n", "c.csv"))
    with pytest.raises(ValueError, match="line 3.*empty"):
        load_csv(_write(tmp_path, "text,label\nok,1\n  ,0\n", "t.csv"))
    with pytest.raises(ValueError, match=r"\['neutral'\] are not in labels"):
        load_csv(_write(tmp_path, "text,label\nok,positive\nmeh,neutral\n", "l.csv"), labels=SENTIMENT_LABELS)
