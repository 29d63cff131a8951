"""Metrics on examples small enough to check by hand."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from course_utils.metrics import (
    accuracy,
    classification_report_dict,
    confusion,
    exact_match,
    f1,
    normalize_answer,
    qa_scores,
    span_f1,
)

# 3 classes. Per class (tp, fp, fn): 0 → (2, 1, 0), 1 → (1, 0, 1), 2 → (0, 1, 1)
Y_TRUE = [0, 0, 1, 1, 2]
Y_PRED = [0, 0, 1, 2, 0]


def test_accuracy_accepts_lists_arrays_and_tensors():
    assert accuracy(Y_TRUE, Y_PRED) == pytest.approx(3 / 5)
    assert accuracy(np.array(Y_TRUE), torch.tensor(Y_PRED)) == pytest.approx(3 / 5)
    assert accuracy(["a", "b"], ["a", "a"]) == 0.5


def test_f1_micro_and_macro_by_hand():
    # micro pools tp=3, fp=2, fn=2 → P = R = 3/5 → F1 = 0.6 (equals accuracy for single-label data)
    assert f1(Y_TRUE, Y_PRED, average="micro") == pytest.approx(0.6)
    # per class: F1_0 = 2*(2/3)*1/(2/3+1) = 0.8, F1_1 = 2*1*0.5/1.5 = 2/3, F1_2 = 0
    assert f1(Y_TRUE, Y_PRED, average="macro") == pytest.approx((0.8 + 2 / 3 + 0) / 3)
    # weighted by support 2, 2, 1
    assert f1(Y_TRUE, Y_PRED, average="weighted") == pytest.approx((2 * 0.8 + 2 * 2 / 3) / 5)
    with pytest.raises(ValueError, match="average"):
        f1(Y_TRUE, Y_PRED, average="binary-ish")


def test_confusion_rows_are_true_columns_are_predicted():
    cm = confusion(Y_TRUE, Y_PRED, labels=[0, 1, 2])
    assert cm.tolist() == [[2, 0, 0], [0, 1, 1], [1, 0, 0]]
    assert confusion(Y_TRUE, Y_PRED, labels=[2, 1, 0]).tolist() == [[0, 0, 1], [1, 1, 0], [0, 0, 2]]
    with pytest.raises(ValueError, match=r"\[2\]"):
        confusion(Y_TRUE, Y_PRED, labels=[0, 1])


def test_classification_report_dict():
    report = classification_report_dict(Y_TRUE, Y_PRED, labels=[0, 1, 2], target_names=["neg", "pos", "mix"])
    assert report["neg"]["precision"] == pytest.approx(2 / 3)
    assert report["pos"]["recall"] == pytest.approx(0.5)
    assert report["mix"]["f1-score"] == 0
    assert report["macro avg"]["f1-score"] == pytest.approx(f1(Y_TRUE, Y_PRED, average="macro"))
    assert report["neg"]["support"] == 2


@pytest.mark.parametrize("fn", [accuracy, f1, confusion, classification_report_dict])
def test_length_mismatch_and_empty_input_are_clear_errors(fn):
    with pytest.raises(ValueError, match="3 labels but y_pred has 2"):
        fn([0, 1, 1], [0, 1])
    with pytest.raises(ValueError, match="empty"):
        fn([], [])
    with pytest.raises(ValueError, match="argmax"):
        fn([0, 1], np.zeros((2, 3)))


def test_normalize_answer():
    assert normalize_answer("The  Old Mill!") == "old mill"
    assert normalize_answer("an apple, a pear") == "apple pear"
    assert normalize_answer("Theatre") == "theatre"  # "the" only as a whole word
    with pytest.raises(TypeError):
        normalize_answer(3)


def test_exact_match_and_span_f1_by_hand():
    assert exact_match("the Old mill.", "old mill") == 1.0
    assert exact_match("old mill", "mill") == 0.0
    # pred {red, ball}, gold {big, red, ball}: P = 1, R = 2/3 → F1 = 0.8
    assert span_f1("the red ball", "a big red ball") == pytest.approx(0.8)
    assert span_f1("red red", "red") == pytest.approx(2 * 0.5 * 1 / 1.5)  # a token counts as often as shared
    assert span_f1("green", "red") == 0.0
    assert span_f1("the", "") == 1.0  # both empty after normalisation
    assert span_f1("", "red") == 0.0


def test_qa_scores_means_and_max_over_gold_answers():
    preds = ["old mill", "Tuesday", "the red ball"]
    golds = ["the old mill", ["on Monday", "Tuesday"], ["big red ball", "blue ball"]]
    scores = qa_scores(preds, golds)
    assert scores["count"] == 3
    assert scores["exact_match"] == pytest.approx(2 / 3)
    assert scores["f1"] == pytest.approx((1 + 1 + 0.8) / 3)
    with pytest.raises(ValueError, match="2 predictions but 1"):
        qa_scores(["a", "b"], ["a"])
    with pytest.raises(ValueError, match="empty"):
        qa_scores([], [])
    with pytest.raises(ValueError, match="question 0"):
        qa_scores(["a"], [[]])
    with pytest.raises(TypeError):
        qa_scores("abc", "abc")
