"""Bring your own data: labelled texts from a CSV file, in the same form as the world's data sets."""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

# How spreadsheets and pandas write a missing value; such a label is never a class of its own.
_MISSING = {"nan", "na", "n/a", "#n/a", "null", "none"}
_INT = re.compile(r"-?\d+")
_WHOLE_FLOAT = re.compile(r"(-?\d+)\.0*")  # "1.0": an integer id saved by a tool that made the column float
_FLOAT = re.compile(r"-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")
_DEFAULT_ENCODING = "utf-8-sig"  # UTF-8, with or without the byte-order mark Excel writes


def load_csv(
    path: str | Path,
    text_column: str = "text",
    label_column: str = "label",
    labels: Sequence[str] | None = None,
    *,
    encoding: str = _DEFAULT_ENCODING,
    delimiter: str = ",",
) -> tuple[list[str], list[int], list[str]]:
    """Read a labelled text file (comma separated, with a header row).

    Args:
        path: the CSV file.
        text_column: the column holding the texts.
        label_column: the column holding the labels (names such as "positive", or integer ids;
            whole numbers written as floats, "1.0", count as the integer ids).
        labels: the label names in id order. When given, every label must be one of them (or an
            integer id ``0 .. len(labels) - 1``). When ``None``, the names found are sorted
            (numerically if they are all integers) and numbered from 0.
        encoding: the file's text encoding (default UTF-8, with or without a byte-order mark); e.g.
            ``"latin-1"`` or ``"utf-16"`` for files saved that way.
        delimiter: the character between columns (``";"`` or ``"\\t"`` for some spreadsheet exports).

    Returns:
        ``(texts, label_ids, label_names)``.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: the file is not text in ``encoding``, is empty, lacks a column, has an empty text,
            a missing label (empty, "nan", "N/A", ...), numeric scores instead of classes, a single
            class (with ``labels=None``), or a label not in ``labels``.
    """
    path = _check_arguments(path, text_column, label_column, labels, encoding)
    rows, columns = _read_rows(path, encoding, delimiter)
    name = path.name
    missing = [c for c in (text_column, label_column) if c not in columns]
    if missing:
        hint = "Pass text_column=... and label_column=... to name the right ones."
        if len(columns) == 1:
            for sep in (";", "\t", "|"):
                if sep in columns[0] and sep != delimiter:
                    hint = f"The file seems to separate its columns with {sep!r}: pass delimiter={sep!r}."
        raise ValueError(f"{name} has no column {missing[0]!r}; the columns found are {columns}. {hint}")
    if not rows:
        raise ValueError(f"{name} has a header but no data rows")
    known = {str(x) for x in labels or ()}
    texts, raw = [], []
    for line, row in enumerate(rows, start=2):  # line 1 is the header
        text = (row.get(text_column) or "").strip()
        if not text:
            raise ValueError(f"{name}, line {line}: the text in column {text_column!r} is empty")
        if text.lower() == "nan":
            raise ValueError(
                f"{name}, line {line}: the text in column {text_column!r} is a missing value ({text!r}); "
                "drop that row or fill in its text"
            )
        label = (row.get(label_column) or "").strip()
        if not label:
            raise ValueError(f"{name}, line {line}: the label in column {label_column!r} is empty")
        if label.lower() in _MISSING and label not in known:
            raise ValueError(
                f"{name}, line {line}: the label in column {label_column!r} is a missing value ({label!r}), "
                "not a class; drop the rows without a label or fill in their labels (if it is a real class, "
                "name it in labels=[...])"
            )
        texts.append(text)
        raw.append(label)
    raw = _whole_numbers_as_ints(raw)
    return (texts, *_label_ids(raw, labels, name, label_column))


def _check_arguments(path, text_column, label_column, labels, encoding) -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be the file's path (a str or Path), got {type(path).__name__} {path!r}")
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{str(path)!r} is a folder; give the path of the CSV file inside it")
    if not path.is_file():
        raise FileNotFoundError(f"no CSV file at {str(path)!r}; check the path (relative to the notebook)")
    for arg, value in (("text_column", text_column), ("label_column", label_column)):
        if not isinstance(value, str):
            raise TypeError(f"{arg} must be a column name (a str), got {value!r}")
    if text_column == label_column:
        raise ValueError(
            f"text_column and label_column are the same column {text_column!r}; name two columns"
        )
    if labels is not None:
        if isinstance(labels, str) or not isinstance(labels, Sequence):
            raise TypeError(
                f"labels must be a list of label names in id order, e.g. ['negative', 'positive'], got {labels!r}"
            )
        if not labels:
            raise ValueError("labels is empty; pass the label names in id order, or None to infer them")
        twice = [str(x) for x, n in Counter(str(x) for x in labels).items() if n > 1]
        if twice:
            raise ValueError(f"labels lists {twice[0]!r} twice; each label name must appear once")
    try:
        codecs.lookup(encoding)
    except (LookupError, TypeError):
        raise ValueError(
            f"encoding={encoding!r} is not a known text encoding; try 'utf-8', 'latin-1' or 'utf-16'"
        ) from None
    return path


def _read_rows(path: Path, encoding: str, delimiter: str) -> tuple[list[dict[str, str]], list[str]]:
    """The data rows (dicts by column name) and the column names, with the file's problems named."""
    name, data = path.name, path.read_bytes()
    if data.startswith(b"PK\x03\x04"):
        raise ValueError(
            f"{name} is a zip archive (an Excel .xlsx file?), not CSV text; save it as 'CSV UTF-8' first"
        )
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as err:
        raise ValueError(_decode_error(name, data, encoding, err)) from None
    if "\x00" in text:
        raise ValueError(
            f"{name} holds NUL characters: it is probably UTF-16 text without a byte-order mark (pass "
            "encoding='utf-16-le') or not a text file at all; re-save it as 'CSV UTF-8'"
        )
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = reader.fieldnames
        if not header:
            raise ValueError(f"{name} is empty; it needs a header row and at least one data row")
        columns = [c.strip() for c in header]  # " label" in a hand-written header is "label"
        twice = [c for c, n in Counter(columns).items() if n > 1]
        if twice:
            raise ValueError(f"{name} has the column {twice[0]!r} twice; rename one of them")
        reader.fieldnames = columns
        return list(reader), columns
    except csv.Error as err:
        raise ValueError(f"{name}, line {reader.line_num}: not readable as CSV ({err})") from None


def _decode_error(name: str, data: bytes, encoding: str, err: UnicodeDecodeError) -> str:
    """What went wrong when the bytes are not text in ``encoding``, and what to do."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return f"{name} is UTF-16 text; pass encoding='utf-16' or re-save it as 'CSV UTF-8'"
    line = data[: err.start].count(b"\n") + 1
    where = f"byte 0x{data[err.start]:02x} on line {line}"
    if encoding == _DEFAULT_ENCODING:
        return (
            f"{name} is not UTF-8 text ({where}); it was probably saved as latin-1 / Windows-1252: pass "
            "encoding='latin-1' (or encoding='cp1252'), or re-save the file as 'CSV UTF-8'"
        )
    return f"{name} is not {encoding} text ({where}); pass the file's encoding, or re-save it as 'CSV UTF-8'"


def _whole_numbers_as_ints(raw: list[str]) -> list[str]:
    """ "1.0" -> "1" when every label is a whole number (ints that a tool wrote as floats)."""
    if all(_INT.fullmatch(x) or _WHOLE_FLOAT.fullmatch(x) for x in raw):
        return [str(int(float(x))) for x in raw]
    return raw


def _label_ids(
    raw: list[str], labels: Sequence[str] | None, name: str, label_column: str
) -> tuple[list[int], list[str]]:
    """Class ids for the raw labels, and the label names in id order."""
    if labels is None:
        found = set(raw)
        if all(_FLOAT.fullmatch(x) for x in found) and not all(_INT.fullmatch(x) for x in found):
            shown = sorted(found, key=float)[:5]
            raise ValueError(
                f"{name}: the labels in column {label_column!r} look like numeric scores ({shown}, ...), "
                "not classes; load_csv reads class labels (names or integer ids). Round or bin the scores "
                "into classes first (a regression target is not a classification label)"
            )
        if len(found) == 1:
            raise ValueError(
                f"{name}: only one label ({raw[0]!r}) in column {label_column!r}; a classifier needs two "
                "classes or more. If this file is one split of a data set, pass labels=[...] with every class"
            )
        numeric = all(_INT.fullmatch(x) for x in found)
        names = sorted(found, key=int) if numeric else sorted(found)
        index = {label: i for i, label in enumerate(names)}
        return [index[x] for x in raw], names

    names = [str(x) for x in labels]
    index = {label: i for i, label in enumerate(names)}
    ids = []
    unknown: list[str] = []
    for x in raw:
        if x in index:
            ids.append(index[x])
        elif re.fullmatch(r"\d+", x) and int(x) < len(names):
            ids.append(int(x))
        else:
            unknown.append(x)
    if unknown:
        shown = sorted(set(unknown))[:10]
        raise ValueError(
            f"{name}: labels {shown} are not in labels={names} (nor integer ids 0-{len(names) - 1})"
        )
    return ids, names
