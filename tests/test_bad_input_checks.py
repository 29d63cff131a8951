"""Answers of the wrong kind given to the exercise checks: every one fails with a one-line CheckError
that says what is wrong, never an error from inside the check. One line per case (see ``bad_input.py``).

The wrong answers a check exists to catch (a missing transpose, an unstable softmax ...) are tested in
``test_checks.py``; here the answer is not even the right kind of thing.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from bad_input import case, expect_error
from torch import nn

from course_utils.checks import CheckError, unit00, unit01, unit02, unit03, unit04, unit05

pytestmark = pytest.mark.usefixtures("one_thread")


def sdpa(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = scores.softmax(-1)
    return weights @ v, weights


CASES = [
    # unit 00
    case("linear-forward-a-tensor", lambda tmp: unit00.check_linear_forward(torch.zeros(1, 1)), CheckError, "pass the function linear_forward itself"),
    case("linear-forward-none", lambda tmp: unit00.check_linear_forward(lambda x, w, b: None), CheckError, "forget the return"),
    case("linear-forward-numpy", lambda tmp: unit00.check_linear_forward(lambda x, w, b: (x @ w.T + b).numpy()), CheckError, "should be a Tensor, got ndarray"),
    case("cross-entropy-float", lambda tmp: unit00.check_cross_entropy(lambda z, t: 0.5), CheckError, "should be a Tensor, got float"),
    case("cross-entropy-none", lambda tmp: unit00.check_cross_entropy(lambda z, t: None), CheckError, "forget the return"),
    case("diagnose-none", lambda tmp: unit00.check_diagnose_learning_rate(lambda losses: None), CheckError, "one of 'too high'"),
    case("diagnose-bool", lambda tmp: unit00.check_diagnose_learning_rate(lambda losses: True), CheckError, "one of 'too high'"),
    case("diagnose-a-string", lambda tmp: unit00.check_diagnose_learning_rate("too high"), CheckError, "pass the function diagnose"),
    case("train-sgd-none", lambda tmp: unit00.check_train_sgd(lambda *a: None), CheckError, "forget the return"),
    case("train-sgd-a-number", lambda tmp: unit00.check_train_sgd(lambda *a: 0.5), CheckError, "should be a list or tuple, got float"),
    case("best-lr-a-dict", lambda tmp: unit00.check_best_lr_per_batch({4: 0.3, 64: 3.0}), CheckError, "not a dict of results"),
    case("best-lr-a-list", lambda tmp: unit00.check_best_lr_per_batch(lambda *a: [0.3, 3.0]), CheckError, "should be a dict, got list"),
    case("best-degree-list", lambda tmp: unit00.check_best_degree(lambda *a: [3, [], []]), CheckError, "should be a tuple, got list"),
    case("best-degree-no-lists", lambda tmp: unit00.check_best_degree(lambda *a: (3, None, None)), CheckError, "train_mse should be a list"),
    case("best-degree-text-best", lambda tmp: unit00.check_best_degree(lambda *a: _with_best("3", *a)), CheckError, "best should be one number"),
    # unit 01
    case("ids-none", lambda tmp: unit01.check_ids_by_first_appearance(lambda toks: None), CheckError, "should be a list"),
    case("ids-dict", lambda tmp: unit01.check_ids_by_first_appearance(lambda toks: {t: 1 for t in toks}), CheckError, "should be a list, got dict"),
    case("ids-a-list", lambda tmp: unit01.check_ids_by_first_appearance([1, 2, 3]), CheckError, "pass the function"),
    case("swap-none", lambda tmp: unit01.check_same_bag_opposite_label(lambda review: None), CheckError, "forget the return"),
    case("swap-a-string", lambda tmp: unit01.check_same_bag_opposite_label("The soup was bad."), CheckError, "pass the function swap_clauses"),
    case("perplexity-none", lambda tmp: unit01.check_perplexity(lambda ps: None), CheckError, "forget the return"),
    case("perplexity-text", lambda tmp: unit01.check_perplexity(lambda ps: "4"), CheckError, "one number, got str"),
    case("perplexity-a-number", lambda tmp: unit01.check_perplexity(4.0), CheckError, "pass the function perplexity"),
    case("bigram-returns-number", lambda tmp: unit01.check_bigram_prob(lambda s, k: 0.5), CheckError, "return a function"),
    case("bigram-prob-none", lambda tmp: unit01.check_bigram_prob(lambda s, k: lambda prev, word: None), CheckError, "one number"),
    case("ngram-classifier-a-dict", lambda tmp: unit01.check_ngram_classifier({"bigrams": 0.9}), CheckError, "not its scores"),
    case("ngram-classifier-returns-a-number", lambda tmp: unit01.check_ngram_classifier(lambda texts, labels: 0.9), CheckError, "fitted classifier with .predict"),
    # unit 02
    case("gru-step-tuple", lambda tmp: unit02.check_gru_step(lambda x, h, *w: (h, h)), CheckError, "should be a Tensor, got tuple"),
    case("gru-step-none", lambda tmp: unit02.check_gru_step(None), CheckError, "pass the function gru_step"),
    case("masked-mean-list", lambda tmp: unit02.check_masked_mean(lambda out, lengths: out.tolist()), CheckError, "Tensor, got list"),
    case("gradient-tensor", lambda tmp: unit02.check_gradient_to_first_input(lambda m, x: torch.tensor(1.0)), CheckError, ".item()"),
    case("gradient-none", lambda tmp: unit02.check_gradient_to_first_input(lambda m, x: None), CheckError, "one number"),
    case("train-sentiment-a-model", lambda tmp: unit02.check_train_sentiment(nn.Linear(2, 2)), CheckError, "pass the training function"),
    case("train-sentiment-returns-none", lambda tmp: unit02.check_train_sentiment(lambda data, V: None), CheckError, "forget the return"),
    # unit 03
    case("cross-attention-a-tensor", lambda tmp: unit03.check_cross_attention(torch.ones(2)), CheckError, "pass the function"),
    # unit 04
    case("layer-norm-none", lambda tmp: unit04.check_layer_norm(lambda x, w, b, eps: None), CheckError, "forget the return"),
    case("pre-ln-tuple", lambda tmp: unit04.check_pre_ln_layer(lambda x, layer, mask=None: (x, None)), CheckError, "Tensor, got tuple"),
    case("pre-ln-a-string", lambda tmp: unit04.check_pre_ln_layer("BertLayer"), CheckError, "pass the function"),
    case("gradient-norms-none", lambda tmp: unit04.check_gradient_norms(lambda *a: None), CheckError, "list of numbers"),
    case("gradient-norms-text", lambda tmp: unit04.check_gradient_norms(lambda *a: ["big"] * 4), CheckError, "list of numbers"),
    case("rotation-numpy", lambda tmp: unit04.check_position_rotation(lambda k, d: np.eye(d)), CheckError, "got ndarray"),
    # unit 05
    case("shift-list", lambda tmp: unit05.check_shift_for_teacher_forcing(lambda t: [t[:, :-1], t[:, 1:]]), CheckError, "return the pair"),
    case("shift-nones", lambda tmp: unit05.check_shift_for_teacher_forcing(lambda t: (None, None)), CheckError, "decoder_input should be a Tensor"),
    case("shift-wrong-one-line", lambda tmp: unit05.check_shift_for_teacher_forcing(lambda t: (t[:, 1:], t[:, :-1])), CheckError, "got [[10, 11, 12, 3]"),
    case("masked-attention-tuple", lambda tmp: unit05.check_masked_self_attention(lambda q, k, v: (q, q)), CheckError, "Tensor, got tuple"),
    case("greedy-tensor", lambda tmp: unit05.check_greedy_decode(lambda f, b, e, m: torch.tensor([5, 6, 7, 3])), CheckError, "should be a list"),
    case("greedy-none-at-max-len", lambda tmp: unit05.check_greedy_decode(_greedy_none_when_long), CheckError, "should be a list"),
    case("reverse-translation-list", lambda tmp: unit05.check_reverse_translation([0.95]), CheckError, "pass the function"),
    case("reverse-translation-text", lambda tmp: unit05.check_reverse_translation({"exact_match": "0.95"}), CheckError, "check trains it on its own data"),
]  # fmt: skip


def _with_best(best, x_train, y_train, x_val, y_val, degrees):
    train, val = [], []
    for d in degrees:
        coef = np.polyfit(x_train, y_train, d)
        train.append(float(np.mean((np.polyval(coef, x_train) - y_train) ** 2)))
        val.append(float(np.mean((np.polyval(coef, x_val) - y_val) ** 2)))
    return best, train, val


def _greedy_none_when_long(next_logits, bos, eos, max_len):
    out = [bos]
    for _ in range(max_len):
        out.append(int(next_logits(out).argmax()))
        if out[-1] == eos:
            return out[1:]
    return None  # forgot the case where <eos> never comes


@pytest.mark.parametrize("c", CASES)
def test_a_wrong_kind_of_answer_fails_in_one_line(c, tmp_path):
    expect_error(c, tmp_path, one_line=True)


def test_a_check_error_shows_as_its_message_alone_in_a_notebook():
    """IPython shows ``_render_traceback_()`` instead of a traceback: the message, one line."""
    with pytest.raises(CheckError) as info:
        unit00.check_linear_forward(lambda x, w, b: None)
    assert info.value._render_traceback_() == [str(info.value)]
    assert str(info.value).startswith("❌ Task 1 (linear layer by hand): ")
