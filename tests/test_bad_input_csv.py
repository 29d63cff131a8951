"""Bad CSV files and arguments for ``world.load_csv``: a table of cases.

Each row of ``CASES`` is ``(id, file bytes, keyword arguments, error type, phrase the message must
contain)``; the bytes are written to ``data.csv`` first (``None``: no file). Adding a case is one line.
``GOOD`` holds odd but valid files: ``(id, file bytes, keyword arguments, expected result)``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from course_utils.world import load_csv

OK = "text,label\ngood film,pos\nbad film,neg\n"
LATIN1 = "text,label\ncaf\u00e9 cr\u00e8me,pos\nbad,neg\n".encode("latin-1")

# fmt: off
CASES = [
    ("missing-file", None, {}, FileNotFoundError, "no CSV file"),
    ("path-is-a-folder", None, {"path": "."}, IsADirectoryError, "is a folder"),
    ("path-int", None, {"path": 3}, TypeError, "path must be"),
    ("empty-file", b"", {}, ValueError, "data.csv is empty"),
    ("only-blank-lines", b"\n\n", {}, ValueError, "data.csv is empty"),
    ("header-only", b"text,label\n", {}, ValueError, "no data rows"),
    ("missing-text-column", b"review,label\nok,pos\n", {}, ValueError, "no column 'text'"),
    ("missing-label-column", b"text,stars\nok,5\n", {}, ValueError, "no column 'label'"),
    ("semicolons", b"text;label\nok;pos\nbad;neg\n", {}, ValueError, "delimiter=';'"),
    ("tabs", b"text\tlabel\nok\tpos\nbad\tneg\n", {}, ValueError, "delimiter='\\t'"),
    ("same-column-twice", OK.encode(), {"label_column": "text"}, ValueError, "the same column"),
    ("duplicate-header", b"text,label,label\nok,pos,neg\n", {}, ValueError, "twice"),
    ("empty-text", b"text,label\nok,pos\n,neg\n", {}, ValueError, "line 3"),
    ("blank-text", b"text,label\nok,pos\n   ,neg\n", {}, ValueError, "line 3"),
    ("missing-field", b"text,label\nok,pos\nbad\n", {}, ValueError, "line 3"),
    ("empty-label", b"text,label\nok,pos\nbad,\n", {}, ValueError, "line 3"),
    ("nan-label", b"text,label\nok,pos\nbad,nan\nfine,neg\n", {}, ValueError, "missing value"),
    ("NaN-label", b"text,label\nok,1\nbad,NaN\n", {}, ValueError, "line 3"),
    ("NA-label", b"text,label\nok,pos\nbad,N/A\n", {}, ValueError, "missing value"),
    ("none-label", b"text,label\nok,pos\nbad,None\n", {}, ValueError, "missing value"),
    ("nan-text", b"text,label\nnan,pos\nbad,neg\n", {}, ValueError, "line 2"),
    ("float-scores", b"text,label\nok,0.73\nbad,0.12\nmeh,0.5\n", {}, ValueError, "scores"),
    ("one-class", b"text,label\nok,pos\nfine,pos\n", {}, ValueError, "only one label"),
    ("latin-1", LATIN1, {}, ValueError, "encoding='latin-1'"),
    ("latin-1-says-file", LATIN1, {}, ValueError, "data.csv"),
    ("utf-16", OK.encode("utf-16"), {}, ValueError, "encoding='utf-16'"),
    ("utf-16-no-bom", OK.encode("utf-16-le"), {}, ValueError, "data.csv"),
    ("binary-file", b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00\xb5U\x8a", {}, ValueError, "data.csv"),
    ("unknown-encoding", OK.encode(), {"encoding": "klingon"}, ValueError, "encoding='klingon'"),
    ("labels-a-string", OK.encode(), {"labels": "neg,pos"}, TypeError, "list of label names"),
    ("labels-empty", OK.encode(), {"labels": []}, ValueError, "labels is empty"),
    ("labels-duplicated", OK.encode(), {"labels": ["neg", "pos", "neg"]}, ValueError, "'neg' twice"),
    ("label-not-in-list", OK.encode(), {"labels": ["neg", "neutral"]}, ValueError, "['pos'] are not in labels"),
    ("id-out-of-range", b"text,label\nok,0\nbad,2\n", {"labels": ["neg", "pos"]}, ValueError, "['2'] are not in labels"),
    ("text-column-int", OK.encode(), {"text_column": 0}, TypeError, "text_column must be"),
]
# fmt: on


def _write(tmp_path: Path, content: bytes | None) -> Path:
    path = tmp_path / "data.csv"
    if content is not None:
        path.write_bytes(content)
    return path


@pytest.mark.parametrize(
    ("content", "kwargs", "error", "phrase"), [pytest.param(*c[1:], id=c[0]) for c in CASES]
)
def test_bad_csv_gets_a_clear_error(content, kwargs, error, phrase, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    kwargs = {"path": _write(tmp_path, content), **kwargs}
    with pytest.raises(error) as info:
        load_csv(**kwargs)
    assert phrase in str(info.value)


# fmt: off
GOOD = [
    ("latin-1-with-encoding", LATIN1, {"encoding": "latin-1"}, (["caf\u00e9 cr\u00e8me", "bad"], [1, 0], ["neg", "pos"])),
    ("utf-8-bom", b"\xef\xbb\xbf" + OK.encode(), {}, (["good film", "bad film"], [1, 0], ["neg", "pos"])),
    ("utf-16-with-encoding", OK.encode("utf-16"), {"encoding": "utf-16"}, (["good film", "bad film"], [1, 0], ["neg", "pos"])),
    ("semicolons-with-delimiter", b"text;label\nok;pos\nbad;neg\n", {"delimiter": ";"}, (["ok", "bad"], [1, 0], ["neg", "pos"])),
    ("spaces-in-header", b"text , label\nok,pos\nbad,neg\n", {}, (["ok", "bad"], [1, 0], ["neg", "pos"])),
    ("whole-floats-are-ids", b"text,label\nok,1.0\nbad,0.0\n", {}, (["ok", "bad"], [1, 0], ["0", "1"])),
    ("negative-int-ids", b"text,label\nok,1\nbad,-1\n", {}, (["ok", "bad"], [1, 0], ["-1", "1"])),
    ("none-is-a-named-class", b"text,label\nok,none\nbad,mild\n", {"labels": ["none", "mild"]}, (["ok", "bad"], [0, 1], ["none", "mild"])),
    ("one-class-with-labels", b"text,label\nok,pos\n", {"labels": ["neg", "pos"]}, (["ok"], [1], ["neg", "pos"])),
    ("crlf-and-quotes", b'text,label\r\n"good, really",pos\r\nbad,neg\r\n', {}, (["good, really", "bad"], [1, 0], ["neg", "pos"])),
]
# fmt: on


@pytest.mark.parametrize(("content", "kwargs", "expected"), [pytest.param(*c[1:], id=c[0]) for c in GOOD])
def test_odd_but_valid_csv_is_read(content, kwargs, expected, tmp_path):
    assert load_csv(_write(tmp_path, content), **kwargs) == expected
