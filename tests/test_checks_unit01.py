"""course_utils.checks.unit01: each check passes a right answer and rejects the wrong ones it must catch."""

from __future__ import annotations

import math
from collections import Counter

import pytest

from course_utils.checks import CheckError, unit01
from course_utils.classic import BagOfWordsClassifier, NGramLM
from course_utils.world import sentiment_reviews

pytestmark = pytest.mark.usefixtures("one_thread", "global_random_state_untouched")


def ids_by_first_appearance(tokens):
    ids = {}
    return [ids.setdefault(t, len(ids) + 1) for t in tokens]


def test_ids(capsys):
    assert unit01.check_ids_by_first_appearance(ids_by_first_appearance)
    assert "✅" in capsys.readouterr().out
    with pytest.raises(CheckError, match="alphabetical|first word"):
        unit01.check_ids_by_first_appearance(lambda toks: [sorted(set(toks)).index(t) + 1 for t in toks])
    with pytest.raises(CheckError, match="first word gets 1"):
        unit01.check_ids_by_first_appearance(lambda toks: [i - 1 for i in ids_by_first_appearance(toks)])


def test_perplexity():
    assert unit01.check_perplexity(lambda ps: math.exp(-sum(math.log(p) for p in ps) / len(ps)))
    with pytest.raises(CheckError, match="MEAN"):
        unit01.check_perplexity(lambda ps: math.exp(-sum(math.log(p) for p in ps)) if len(ps) != 3 else 4.0)
    with pytest.raises(CheckError, match="4"):
        unit01.check_perplexity(lambda ps: -sum(math.log(p) for p in ps) / len(ps))  # forgot exp


def bigram_prob(sentences, k):
    pairs, context = Counter(), Counter()
    vocab = {"<eos>"}
    for s in sentences:
        framed = ["<bos>", *s, "<eos>"]
        vocab.update(s)
        for a, b in zip(framed[:-1], framed[1:]):
            pairs[a, b] += 1
            context[a] += 1
    V = len(vocab)
    return lambda prev, word: (pairs[prev, word] + k) / (context[prev] + k * V)


def test_bigram_prob_right_answer():
    assert unit01.check_bigram_prob(bigram_prob)


def test_bigram_prob_wrong_v():
    def wrong_v(sentences, k):  # V counts <bos> too: every probability comes out a little too small
        pairs, context = Counter(), Counter()
        vocab = {"<eos>", "<bos>"}
        for s in sentences:
            framed = ["<bos>", *s, "<eos>"]
            vocab.update(s)
            for a, b in zip(framed[:-1], framed[1:]):
                pairs[a, b] += 1
                context[a] += 1
        return lambda prev, word: (pairs[prev, word] + k) / (context[prev] + k * len(vocab))

    with pytest.raises(CheckError, match="expected"):
        unit01.check_bigram_prob(wrong_v)


def test_bigram_prob_refuses_the_library_model():
    def library(sentences, k):
        lm = NGramLM(n=2, smoothing="add-k", k=k).fit(sentences)
        return lambda prev, word: lm.prob(word, [prev])

    with pytest.raises(CheckError, match="forbids"):
        unit01.check_bigram_prob(library)

    def library_fitted_earlier(sentences, k):  # fitted outside, only .prob called inside the check
        return lambda prev, word: _FITTED.prob(word, [prev])

    with pytest.raises(CheckError, match="forbids"):
        unit01.check_bigram_prob(library_fitted_earlier)


_FITTED = NGramLM(n=2, smoothing="add-k", k=1.0).fit([["the", "cat"]])


def _swap(review):
    opener, _, last = review.rpartition(". ") if ". " in review else ("", "", review)
    first, second = last.rstrip(".").split(", but ")
    swapped = f"{second[0].upper()}{second[1:]}, but {first[0].lower()}{first[1:]}."
    return f"{opener}. {swapped}" if opener else swapped


def test_same_bag_opposite_label_right_answer():
    assert unit01.check_same_bag_opposite_label(_swap)


@pytest.mark.parametrize(
    "answer, message",
    [
        (lambda r: r, "same label"),  # unchanged
        (lambda r: " ".join(reversed(r.split())), "not a review|same label"),  # every word reversed
        (lambda r: _swap(r).split(". ")[-1], "same words"),  # drops the opening sentence
        (lambda r: _swap(r).replace(", but", ", and"), "same words"),
    ],
)
def test_same_bag_opposite_label_wrong_answers(answer, message):
    with pytest.raises(CheckError, match=message):
        unit01.check_same_bag_opposite_label(answer)


def test_ngram_classifier_right_answer():
    assert unit01.check_ngram_classifier(lambda t, y: BagOfWordsClassifier(ngram_range=(1, 3)).fit(t, y))


def test_ngram_classifier_wrong_answers():
    with pytest.raises(CheckError, match="5 points"):  # unigrams only: no gain
        unit01.check_ngram_classifier(lambda t, y: BagOfWordsClassifier().fit(t, y))
    val_texts, val_labels = sentiment_reviews("validation")
    with pytest.raises(CheckError, match="passed to fit_classifier"):  # fitted on data of its own
        unit01.check_ngram_classifier(
            lambda t, y: BagOfWordsClassifier(ngram_range=(1, 3)).fit(val_texts, val_labels)
        )
    with pytest.raises(CheckError, match="not its scores"):  # a bare dict of scores
        unit01.check_ngram_classifier({"bigrams": 0.9, "unigrams": 0.72})
    with pytest.raises(CheckError, match="not its scores"):
        unit01.check_ngram_classifier(0.9)
