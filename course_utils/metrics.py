"""Scores for the course's tasks: classification (scikit-learn underneath) and SQuAD-style answer spans.

Every function takes lists, NumPy arrays or tensors, checks that predictions and references line up,
and returns plain Python numbers (fractions in [0, 1], not percentages).
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "accuracy",
    "classification_report_dict",
    "confusion",
    "exact_match",
    "f1",
    "normalize_answer",
    "qa_scores",
    "span_f1",
]


def _as_array(values: Any, name: str) -> np.ndarray:
    if hasattr(values, "detach"):  # a torch tensor, possibly on the GPU
        values = values.detach().cpu().numpy()
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(
            f"{name} must be a flat sequence of labels, got shape {arr.shape}; for logits take "
            "logits.argmax(-1) first, for token tags flatten and drop ignored positions"
        )
    return arr


def _pair(y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    t, p = _as_array(y_true, "y_true"), _as_array(y_pred, "y_pred")
    if len(t) != len(p):
        raise ValueError(f"y_true has {len(t)} labels but y_pred has {len(p)}; they must match one to one")
    if len(t) == 0:
        raise ValueError("y_true and y_pred are empty: there is nothing to score")
    for name, arr in (("y_true", t), ("y_pred", p)):
        if arr.dtype.kind == "f" and not np.all(np.isfinite(arr) & (arr == np.round(arr))):
            raise ValueError(
                f"{name} holds non-integer numbers ({arr[:3].tolist()}...): probabilities or scores, not "
                "class labels; take logits.argmax(-1) (or threshold the probabilities) first"
            )
    return t, p


def _check_labels(labels: Sequence | None, t: np.ndarray, p: np.ndarray) -> None:
    """Every value of y_true and y_pred must be one of ``labels``, when they are given."""
    if labels is None:
        return
    known = set(labels)
    for name, arr in (("y_true", t), ("y_pred", p)):
        unknown = sorted(set(arr.tolist()) - known, key=str)
        if unknown:
            raise ValueError(
                f"{name} holds labels {unknown[:10]} that are not in labels={list(labels)}; they would "
                "be dropped from the count. Pass labels that match the data (names or ids, not a mix)"
            )


def accuracy(y_true: Any, y_pred: Any) -> float:
    """Fraction of predictions equal to the reference labels.

    >>> accuracy([0, 1, 1, 0], [0, 1, 0, 0])
    0.75
    """
    from sklearn.metrics import accuracy_score

    t, p = _pair(y_true, y_pred)
    return float(accuracy_score(t, p))


def f1(y_true: Any, y_pred: Any, average: str = "macro", labels: Sequence | None = None) -> float:
    """F1 score over classes.

    Args:
        y_true, y_pred: class labels, one per example.
        average: ``"micro"`` (pool every decision: equals accuracy for single-label data), ``"macro"``
            (mean of the per-class F1: every class counts the same, rare ones included), or
            ``"weighted"`` (per-class F1 weighted by class frequency).
        labels: the classes to include (default: those that occur in either list).

    Returns:
        The F1 score in [0, 1]. A class that is never predicted and never present contributes nothing;
        one with no correct prediction scores 0.
    """
    from sklearn.metrics import f1_score

    if average not in ("micro", "macro", "weighted"):
        raise ValueError(f"average={average!r} must be 'micro', 'macro' or 'weighted'")
    t, p = _pair(y_true, y_pred)
    if labels is not None and not set(labels) & (set(t.tolist()) | set(p.tolist())):
        raise ValueError(
            f"none of labels={list(labels)} occurs in y_true or y_pred (which hold "
            f"{sorted(set(t.tolist()), key=str)[:10]}); pass labels of the same kind as the data"
        )
    return float(f1_score(t, p, average=average, labels=labels, zero_division=0))


def confusion(y_true: Any, y_pred: Any, labels: Sequence | None = None) -> np.ndarray:
    """Confusion matrix: entry [i, j] counts examples of true class ``labels[i]`` predicted as ``labels[j]``.

    Args:
        labels: the classes in the order of the rows and columns (default: sorted classes that occur).

    Returns:
        An integer array of shape (C, C).
    """
    from sklearn.metrics import confusion_matrix

    t, p = _pair(y_true, y_pred)
    _check_labels(labels, t, p)
    return confusion_matrix(t, p, labels=labels)


def classification_report_dict(
    y_true: Any, y_pred: Any, labels: Sequence | None = None, target_names: Sequence[str] | None = None
) -> dict[str, Any]:
    """Per-class precision, recall, F1 and support, plus the averages, as a dict.

    ``report["macro avg"]["f1-score"]`` is the macro F1; ``report[name]["recall"]`` a class's recall.
    """
    from sklearn.metrics import classification_report

    t, p = _pair(y_true, y_pred)
    if target_names is not None and labels is not None and len(target_names) != len(labels):
        raise ValueError(f"{len(target_names)} target_names for {len(labels)} labels")
    return classification_report(
        t, p, labels=labels, target_names=target_names, output_dict=True, zero_division=0
    )


# ----------------------------------------------------------------------------------------------------
# Answer spans (SQuAD style)
# ----------------------------------------------------------------------------------------------------

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = str.maketrans("", "", string.punctuation)


def normalize_answer(text: str) -> str:
    """Lowercase, drop punctuation and the articles a/an/the, and squeeze whitespace (as SQuAD scores).

    >>> normalize_answer("The  Old Mill!")
    'old mill'
    """
    if not isinstance(text, str):
        raise TypeError(f"an answer must be a string, got {type(text).__name__} {text!r}")
    text = text.lower().translate(_PUNCTUATION)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def exact_match(pred: str, gold: str) -> float:
    """1.0 if the answers are equal after :func:`normalize_answer`, else 0.0."""
    return float(normalize_answer(pred) == normalize_answer(gold))


def span_f1(pred: str, gold: str) -> float:
    """Token-overlap F1 between two answers, after :func:`normalize_answer`.

    Precision = shared tokens / predicted tokens, recall = shared tokens / gold tokens (a token counts as
    often as it occurs in both). If either answer is empty, the score is 1.0 only when both are.

    >>> span_f1("the red ball", "a big red ball")  # shared {red, ball}: P = 2/2, R = 2/3
    0.8
    """
    p, g = normalize_answer(pred).split(), normalize_answer(gold).split()
    if not p or not g:
        return float(p == g)
    shared = sum((Counter(p) & Counter(g)).values())
    if shared == 0:
        return 0.0
    precision, recall = shared / len(p), shared / len(g)
    return 2 * precision * recall / (precision + recall)


def qa_scores(preds: Sequence[str], golds: Sequence[str | Sequence[str]]) -> dict[str, float]:
    """Mean exact match and F1 over a set of questions.

    Args:
        preds: one predicted answer string per question.
        golds: per question, the gold answer string, or a list of acceptable answers (the best-matching
            one counts, as in SQuAD).

    Returns:
        ``{"exact_match": ..., "f1": ..., "count": n}``, scores in [0, 1].
    """
    if isinstance(preds, str) or isinstance(golds, str):
        raise TypeError("preds and golds must be lists of answers (one per question), not single strings")
    if len(preds) != len(golds):
        raise ValueError(
            f"{len(preds)} predictions but {len(golds)} gold answers; they must match one to one"
        )
    if len(preds) == 0:
        raise ValueError("preds and golds are empty: there is nothing to score")
    em_total = f1_total = 0.0
    for i, (pred, gold) in enumerate(zip(preds, golds)):
        answers = [gold] if isinstance(gold, str) else list(gold)
        if not answers:
            raise ValueError(f"question {i} has an empty list of gold answers")
        em_total += max(exact_match(pred, a) for a in answers)
        f1_total += max(span_f1(pred, a) for a in answers)
    n = len(preds)
    return {"exact_match": em_total / n, "f1": f1_total / n, "count": n}
