"""Bring your own data: labelled texts from a CSV file, in the same form as the world's data sets."""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from pathlib import Path


def load_csv(
    path: str | Path,
    text_column: str = "text",
    label_column: str = "label",
    labels: Sequence[str] | None = None,
) -> tuple[list[str], list[int], list[str]]:
    """Read a labelled text file (comma separated, with a header row).

    Args:
        path: the CSV file.
        text_column: the column holding the texts.
        label_column: the column holding the labels (names such as "positive", or integer ids).
        labels: the label names in id order. When given, every label must be one of them (or an
            integer id ``0 .. len(labels) - 1``). When ``None``, the names found are sorted
            (numerically if they are all integers) and numbered from 0.

    Returns:
        ``(texts, label_ids, label_names)``.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: the file is empty, a column is missing, a text is empty, or a label is unknown.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no CSV file at {str(path)!r}; check the path (relative to the notebook)")
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        columns = reader.fieldnames
        if not columns:
            raise ValueError(f"{path.name} is empty; it needs a header row and at least one data row")
        missing = [c for c in (text_column, label_column) if c not in columns]
        if missing:
            raise ValueError(
                f"{path.name} has no column {missing[0]!r}; the columns found are {list(columns)}. "
                f"Pass text_column=... and label_column=... to name the right ones."
            )
        rows = list(reader)
    if not rows:
        raise ValueError(f"{path.name} has a header but no data rows")
    texts, raw = [], []
    for line, row in enumerate(rows, start=2):  # line 1 is the header
        text = (row.get(text_column) or "").strip()
        if not text:
            raise ValueError(f"{path.name}, line {line}: the text in column {text_column!r} is empty")
        label = (row.get(label_column) or "").strip()
        if not label:
            raise ValueError(f"{path.name}, line {line}: the label in column {label_column!r} is empty")
        texts.append(text)
        raw.append(label)

    if labels is None:
        found = set(raw)
        numeric = all(re.fullmatch(r"-?\d+", x) for x in found)
        names = sorted(found, key=int) if numeric else sorted(found)
        index = {name: i for i, name in enumerate(names)}
        return texts, [index[x] for x in raw], names

    names = [str(x) for x in labels]
    if not names:
        raise ValueError("labels is empty; pass the label names in id order, or None to infer them")
    index = {name: i for i, name in enumerate(names)}
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
            f"{path.name}: labels {shown} are not in labels={names} (nor integer ids 0-{len(names) - 1})"
        )
    return texts, ids, names
