"""Answers of the wrong kind given to the exercise checks: every one fails with a one-line CheckError
that says what is wrong, never an error from inside the check. One line per case (see ``bad_input.py``).

The wrong answers a check exists to catch (a missing transpose, an unstable softmax ...) are tested in
``test_checks.py``; here the answer is not even the right kind of thing.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from bad_input import case, expect_error
from torch import nn

from course_utils.checks import CheckError, unit00, unit01, unit02, unit03, unit04, unit05

pytestmark = pytest.mark.usefixtures("one_thread")


def linear(x, w, b):
    return F.linear(x, w, b)


class Scorer:
    def __init__(self, value):
        self.value = value

    def score(self, texts, labels):
        return self.value


def ngrams(t, n):
    return (tuple(t[i : i + n]) for i in range(len(t) - n + 1))


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
    case("linear-forward-numpy", lambda tmp: unit00.check_linear_forward(lambda x, w, b: linear(x, w, b).numpy()), CheckError, "should be a Tensor, got ndarray"),
    case("cross-entropy-float", lambda tmp: unit00.check_cross_entropy(lambda z, t: F.cross_entropy(z, t).item()), CheckError, "should be a Tensor, got float"),
    case("cross-entropy-none", lambda tmp: unit00.check_cross_entropy(lambda z, t: None), CheckError, "forget the return"),
    case("diagnose-none", lambda tmp: unit00.check_diagnose_learning_rate(lambda losses: None), CheckError, "one of 'too high'"),
    case("diagnose-bool", lambda tmp: unit00.check_diagnose_learning_rate(lambda losses: True), CheckError, "one of 'too high'"),
    case("diagnose-a-string", lambda tmp: unit00.check_diagnose_learning_rate("too high"), CheckError, "pass the function diagnose"),
    case("gradient-noise-none", lambda tmp: unit00.check_gradient_noise(lambda *a: None), CheckError, "one number"),
    case("gradient-noise-text", lambda tmp: unit00.check_gradient_noise(lambda *a: "0.1"), CheckError, "one number, got str"),
    case("gradient-noise-vector", lambda tmp: unit00.check_gradient_noise(lambda *a: torch.ones(3)), CheckError, "not a tensor of shape (3,)"),
    case("best-degree-list", lambda tmp: unit00.check_best_degree(lambda *a: [3, [], []]), CheckError, "should be a tuple, got list"),
    case("best-degree-no-lists", lambda tmp: unit00.check_best_degree(lambda *a: (3, None, None)), CheckError, "train_mse should be a list"),
    case("best-degree-text-best", lambda tmp: unit00.check_best_degree(lambda *a: _with_best("3", *a)), CheckError, "best should be one number"),
    # unit 01
    case("ids-none", lambda tmp: unit01.check_ids_by_first_appearance(lambda toks: None), CheckError, "should be a list"),
    case("ids-dict", lambda tmp: unit01.check_ids_by_first_appearance(lambda toks: {t: 1 for t in toks}), CheckError, "should be a list, got dict"),
    case("ids-a-list", lambda tmp: unit01.check_ids_by_first_appearance([1, 2, 3]), CheckError, "pass the function"),
    case("bag-dict", lambda tmp: unit01.check_bag_of_words(lambda toks: dict(Counter(toks))), CheckError, "should be a Counter, got dict"),
    case("ngrams-generator", lambda tmp: unit01.check_ngrams(ngrams), CheckError, "should be a list, got generator"),
    case("perplexity-none", lambda tmp: unit01.check_perplexity(lambda ps: None), CheckError, "forget the return"),
    case("perplexity-text", lambda tmp: unit01.check_perplexity(lambda ps: "4"), CheckError, "one number, got str"),
    case("perplexity-a-number", lambda tmp: unit01.check_perplexity(4.0), CheckError, "pass the function perplexity"),
    case("bigram-returns-number", lambda tmp: unit01.check_bigram_prob(lambda s, k: 0.5), CheckError, "return a function"),
    case("bigram-prob-none", lambda tmp: unit01.check_bigram_prob(lambda s, k: lambda prev, word: None), CheckError, "one number"),
    case("bigram-classifier-list", lambda tmp: unit01.check_bigram_classifier([0.9], 0.6, ["a"], [1]), CheckError, "pass a fitted"),
    case("bigram-classifier-score-none", lambda tmp: unit01.check_bigram_classifier(Scorer(None), 0.6, ["a"], [1]), CheckError, "one number"),
    case("bigram-classifier-unigram-text", lambda tmp: unit01.check_bigram_classifier(Scorer(0.9), "0.6", ["a"], [1]), CheckError, "unigram_accuracy"),
    # unit 02
    case("rnn-step-tuple", lambda tmp: unit02.check_rnn_step(lambda x, h, *w: (h, h)), CheckError, "should be a Tensor, got tuple"),
    case("rnn-step-a-module", lambda tmp: unit02.check_rnn_step(None), CheckError, "pass the function rnn_step"),
    case("lstm-step-one-tensor", lambda tmp: unit02.check_lstm_step(lambda x, h, c, *w: h), CheckError, "pair (h_new, c_new)"),
    case("lstm-step-no-cell", lambda tmp: unit02.check_lstm_step(lambda x, h, c, *w: (h, None)), CheckError, "c_new should be a Tensor"),
    case("masked-mean-list", lambda tmp: unit02.check_masked_mean(lambda out, lengths: out.tolist()), CheckError, "Tensor, got list"),
    case("gradient-tensor", lambda tmp: unit02.check_gradient_to_first_input(lambda m, x: torch.tensor(1.0)), CheckError, ".item()"),
    case("gradient-none", lambda tmp: unit02.check_gradient_to_first_input(lambda m, x: None), CheckError, "one number"),
    case("sentiment-a-function", lambda tmp: unit02.check_sentiment_lstm(lambda ids: ids, ([[1]], [0])), CheckError, "should be a Module"),
    case("sentiment-bad-data", lambda tmp: unit02.check_sentiment_lstm(nn.Linear(2, 2), [[1], [0], [1]]), CheckError, "val_data"),
    # unit 03
    case("softmax-a-tensor", lambda tmp: unit03.check_softmax(torch.ones(3)), CheckError, "pass the function softmax"),
    case("softmax-none", lambda tmp: unit03.check_softmax(lambda x: None), CheckError, "forget the return"),
    case("softmax-list", lambda tmp: unit03.check_softmax(lambda x: torch.softmax(x, -1).tolist()), CheckError, "Tensor, got list"),
    case("causal-mask-list", lambda tmp: unit03.check_causal_mask(lambda T: [[True]]), CheckError, "Tensor, got list"),
    case("padding-mask-none", lambda tmp: unit03.check_padding_mask(lambda m: None), CheckError, "forget the return"),
    case("attention-one-tensor", lambda tmp: unit03.check_attention(lambda q, k, v, mask=None: sdpa(q, k, v, mask)[0]), CheckError, "should be a tuple"),
    case("attention-no-weights", lambda tmp: unit03.check_attention(lambda q, k, v, mask=None: (sdpa(q, k, v, mask)[0], None)), CheckError, "weights (the second element"),
    case("attention-weights-list", lambda tmp: unit03.check_attention(lambda q, k, v, mask=None: (sdpa(q, k, v)[0], sdpa(q, k, v)[1].tolist())), CheckError, "got list"),
    case("mhsa-returns-pair", lambda tmp: unit03.check_multi_head_self_attention(lambda x, w, nh, mask=None: (x, x)), CheckError, "Tensor, got tuple"),
    case("mhsa-a-dict", lambda tmp: unit03.check_multi_head_self_attention({}), CheckError, "pass the function"),
    # unit 04
    case("sinusoidal-numpy", lambda tmp: unit04.check_sinusoidal_positions(lambda T, d: np.zeros((T, d))), CheckError, "got ndarray"),
    case("layer-norm-none", lambda tmp: unit04.check_layer_norm(lambda x, w, b, eps: None), CheckError, "forget the return"),
    case("feed-forward-tuple", lambda tmp: unit04.check_feed_forward(lambda x, *w: (x,)), CheckError, "Tensor, got tuple"),
    case("encoder-layer-tuple", lambda tmp: unit04.check_encoder_layer(lambda x, layer, mask=None: layer(x, mask)), CheckError, "Tensor, got tuple"),
    case("encoder-layer-a-layer", lambda tmp: unit04.check_encoder_layer("BertLayer"), CheckError, "pass the function"),
    case("parameter-count-text", lambda tmp: unit04.check_bert_parameter_count(lambda c: "110M"), CheckError, "should be a int, got str"),
    case("parameter-count-fraction", lambda tmp: unit04.check_bert_parameter_count(lambda c: 1.5), CheckError, "got float"),
    # unit 05
    case("causal-mask-a-tensor", lambda tmp: unit05.check_causal_mask(torch.ones(3, 3).bool()), CheckError, "pass the function"),
    case("shift-list", lambda tmp: unit05.check_shift_for_teacher_forcing(lambda t: [t[:, :-1], t[:, 1:]]), CheckError, "return the pair"),
    case("shift-nones", lambda tmp: unit05.check_shift_for_teacher_forcing(lambda t: (None, None)), CheckError, "decoder_input should be a Tensor"),
    case("shift-wrong-one-line", lambda tmp: unit05.check_shift_for_teacher_forcing(lambda t: (t[:, 1:], t[:, :-1])), CheckError, "got [[10, 11, 12, 3]"),
    case("masked-attention-tuple", lambda tmp: unit05.check_masked_self_attention(lambda q, k, v: (q, q)), CheckError, "Tensor, got tuple"),
    case("cross-attention-tensor", lambda tmp: unit05.check_cross_attention(lambda dec, mem, keep: dec), CheckError, "return the pair"),
    case("greedy-tensor", lambda tmp: unit05.check_greedy_decode(lambda f, b, e, m: torch.tensor([5, 6, 7, 3])), CheckError, "should be a list"),
    case("greedy-none-at-max-len", lambda tmp: unit05.check_greedy_decode(_greedy_none_when_long), CheckError, "should be a list"),
    case("reverse-translation-list", lambda tmp: unit05.check_reverse_translation([0.95]), CheckError, "should be a dict"),
    case("reverse-translation-text", lambda tmp: unit05.check_reverse_translation({"exact_match": "0.95"}), CheckError, "one number"),
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
