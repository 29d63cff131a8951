"""Tests of course_utils.classic: n-gram LM, bag-of-words, LSTM classifier and language model."""

import math
import random

import pytest
import torch

from course_utils.classic import (
    BagOfWordsClassifier,
    LSTMClassifier,
    LSTMLanguageModel,
    NGramLM,
    evaluate_classifier,
    init_forget_bias,
    train_classifier,
)
from course_utils.text import Vocab, pad_batch, simple_tokenize

pytestmark = pytest.mark.usefixtures("one_thread")


CORPUS = [
    simple_tokenize(s)
    for s in [
        "the cat sat on the mat",
        "the dog sat on the log",
        "the cat saw the dog",
        "a dog saw a cat on the mat",
        "the bird sat on a tree",
    ]
]


@pytest.mark.parametrize("smoothing", ["none", "add-k", "interpolation"])
@pytest.mark.parametrize("n", [1, 2, 3])
def test_ngram_probabilities_sum_to_one(n, smoothing):
    lm = NGramLM(n, smoothing=smoothing, k=0.5).fit(CORPUS)
    for context in (["the"], ["sat", "on"], ["never", "seen"], []):
        total = sum(lm.prob(w, context) for w in lm.vocab)
        assert total == pytest.approx(1.0, abs=1e-9), (context, total)


def test_ngram_counts_by_hand():
    lm = NGramLM(2, smoothing="none").fit(CORPUS)
    # "the" is followed by cat x3, dog x2, mat x2, log x1 out of 8 occurrences... count them directly
    followers = [s[i + 1] for s in CORPUS for i in range(len(s) - 1) if s[i] == "the"]
    assert lm.prob("cat", ["the"]) == pytest.approx(followers.count("cat") / len(followers))
    assert lm.prob("sat", ["the"]) == 0.0  # never seen after "the"


def test_interpolation_by_hand():
    lm = NGramLM(2, smoothing="interpolation", k=1.0, lam=0.8).fit(CORPUS)
    uni = NGramLM(1, smoothing="add-k", k=1.0).fit(CORPUS)
    mle = NGramLM(2, smoothing="none").fit(CORPUS)
    expected = 0.8 * mle.prob("cat", ["the"]) + 0.2 * uni.prob("cat")
    assert lm.prob("cat", ["the"]) == pytest.approx(expected)
    # an unseen context falls back on the unigram estimate
    assert lm.prob("cat", ["zebra"]) == pytest.approx(uni.prob("cat"))


def test_add_k_smoothing_handles_unseen():
    lm = NGramLM(2, smoothing="add-k", k=1.0).fit(CORPUS)
    assert lm.prob("sat", ["the"]) > 0.0
    assert lm.prob("zebra", ["the"]) > 0.0  # unknown word -> <unk>
    mle = NGramLM(2, smoothing="none").fit(CORPUS)
    assert mle.perplexity([["the", "mat", "sat"]]) == math.inf
    assert math.isfinite(lm.perplexity([["the", "mat", "sat"]]))


def test_perplexity_training_text_lower_than_shuffled():
    lm = NGramLM(3, smoothing="add-k", k=0.1).fit(CORPUS)
    rng = random.Random(0)
    shuffled = [rng.sample(s, len(s)) for s in CORPUS]
    assert lm.perplexity(CORPUS) < lm.perplexity(shuffled)
    # a uniform model has perplexity V
    uni = NGramLM(1, smoothing="add-k", k=1e9).fit(CORPUS)
    assert uni.perplexity(CORPUS) == pytest.approx(len(uni.vocab), rel=1e-3)


def test_ngram_sample_is_seeded_and_uses_known_words():
    lm = NGramLM(2).fit(CORPUS)
    a, b = lm.sample("the", max_len=8, seed=3), lm.sample("the", max_len=8, seed=3)
    assert a == b and a[0] == "the" and len(a) <= 9
    assert set(a) <= set(lm.vocab)
    mle = NGramLM(3, smoothing="none").fit(CORPUS)
    # with MLE and a 3-gram the model can only replay seen transitions
    text = mle.sample([], max_len=30, seed=1)
    seen = {tuple(s[i : i + 3]) for s in CORPUS for i in range(len(s) - 2)}
    assert all(tuple(text[i : i + 3]) in seen for i in range(len(text) - 2))


def test_ngram_errors():
    with pytest.raises(ValueError, match="smoothing"):
        NGramLM(2, smoothing="kneser")
    with pytest.raises(ValueError, match="lam"):
        NGramLM(2, smoothing="interpolation", lam=1.0)
    with pytest.raises(RuntimeError, match="fit"):
        NGramLM(2).prob("a", [])
    with pytest.raises(TypeError, match="token lists"):
        NGramLM(2).fit(["the cat sat"])


def test_bag_of_words_ignores_order():
    bow = BagOfWordsClassifier().fit(["Mary asked John to leave", "John left"], [1, 0])
    a = bow.features(["Mary asked John to leave"]).toarray()
    b = bow.features(["Mary asked to leave John"]).toarray()
    assert (a == b).all() and a.sum() == 5
    bigrams = BagOfWordsClassifier(ngram_range=(1, 2)).fit(["Mary asked John to leave", "John left"], [1, 0])
    a2 = bigrams.features(["Mary asked John to leave"]).toarray()
    b2 = bigrams.features(["Mary asked to leave John"]).toarray()
    assert not (a2 == b2).all()  # bigrams see some order


def test_bag_of_words_learns_word_sentiment():
    texts = ["good film", "great fun", "lovely story", "bad film", "awful fun", "boring story"] * 3
    labels = [1, 1, 1, 0, 0, 0] * 3
    bow = BagOfWordsClassifier(C=10.0).fit(texts, labels)
    assert bow.score(texts, labels) == 1.0
    assert bow.predict(["good story", "awful story"]) == [1, 0]
    top = bow.top_terms(3)
    assert {w for w, _ in top["positive"]} == {"good", "great", "lovely"}
    with pytest.raises(TypeError, match="list of texts"):
        bow.predict("good")


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("pooling", ["last", "mean"])
@pytest.mark.parametrize("cell", ["lstm", "rnn"])
def test_lstm_classifier_shapes_and_padding_invariance(bidirectional, pooling, cell):
    torch.manual_seed(0)
    model = LSTMClassifier(20, 8, 6, 3, bidirectional=bidirectional, pooling=pooling, cell=cell).eval()
    seqs = [[5, 6, 7, 8], [9, 4]]
    x, lengths = pad_batch(seqs)
    logits = model(x)
    assert logits.shape == (2, 3)
    # the same short sentence alone (no padding) and with lots of extra padding gives the same logits
    alone = model(torch.tensor([[9, 4]]))
    extra = model(torch.tensor([[9, 4, 0, 0, 0, 0, 0]]))
    torch.testing.assert_close(logits[1:], alone)
    torch.testing.assert_close(extra, alone)
    sent = model.encode(x)
    assert sent.shape == (2, 6 * (2 if bidirectional else 1))


def test_lstm_classifier_bidirectional_sees_the_future():
    torch.manual_seed(0)
    uni = LSTMClassifier(20, 8, 6, 2, pooling="mean").eval()
    bi = LSTMClassifier(20, 8, 6, 2, pooling="mean", bidirectional=True).eval()
    a, b = torch.tensor([[5, 6, 7]]), torch.tensor([[5, 6, 9]])
    # the first output of a left-to-right LSTM cannot depend on a later token; a bidirectional one does
    out_uni = [uni.rnn(uni.embedding(t))[0][0, 0] for t in (a, b)]
    out_bi = [bi.rnn(bi.embedding(t))[0][0, 0] for t in (a, b)]
    torch.testing.assert_close(out_uni[0], out_uni[1])
    assert not torch.allclose(out_bi[0], out_bi[1])


def test_lstm_classifier_errors():
    with pytest.raises(ValueError, match="pooling"):
        LSTMClassifier(10, 4, 4, 2, pooling="max")
    with pytest.raises(ValueError, match="all padding"):
        LSTMClassifier(10, 4, 4, 2)(torch.tensor([[1, 2], [0, 0]]))


def test_train_classifier_learns_an_order_dependent_rule():
    # label = 1 when token 5 comes before token 6 -- invisible to a bag of words
    g = torch.Generator().manual_seed(0)
    ids, labels = [], []
    for _ in range(300):
        body = torch.randint(7, 12, (4,), generator=g).tolist()
        first = int(torch.randint(0, 2, (1,), generator=g))
        pair = [5, 6] if first else [6, 5]
        ids.append(body[:2] + pair + body[2:])
        labels.append(first)
    torch.manual_seed(0)
    model = LSTMClassifier(12, 16, 16, 2)
    hist = train_classifier(model, (ids[:200], labels[:200]), (ids[200:], labels[200:]), epochs=5, lr=1e-2)
    assert set(hist) == {"train_loss", "val_acc"} and len(hist["val_acc"]) == len(hist["train_loss"]) == 5
    assert hist["train_loss"][-1] < hist["train_loss"][0]
    assert evaluate_classifier(model, (ids[200:], labels[200:])) >= 0.95
    without_validation = train_classifier(LSTMClassifier(12, 4, 4, 2), (ids[:50], labels[:50]), epochs=2)
    assert without_validation["val_acc"] == [] and len(without_validation["train_loss"]) == 2


def test_lstm_language_model_overfits_and_generates():
    vocab = Vocab.build(CORPUS)
    seqs = [vocab.encode(s, add_bos=True, add_eos=True) for s in CORPUS]
    x, _ = pad_batch(seqs)
    torch.manual_seed(0)
    lm = LSTMLanguageModel(len(vocab), 16, 32)
    logits, (h, c) = lm(x)
    assert logits.shape == (*x.shape, len(vocab)) and h.shape == (1, len(seqs), 32)
    opt = torch.optim.Adam(lm.parameters(), lr=1e-2)
    first = lm.loss(x).item()
    for _ in range(150):
        opt.zero_grad()
        loss = lm.loss(x)
        loss.backward()
        opt.step()
    assert loss.item() < 0.35 * first
    out = lm.generate([vocab.bos_id, vocab["the"]], max_new_tokens=10, eos_id=vocab.eos_id, seed=0)
    assert out[:2] == [vocab.bos_id, vocab["the"]] and len(out) <= 12
    assert out == lm.generate([vocab.bos_id, vocab["the"]], max_new_tokens=10, eos_id=vocab.eos_id, seed=0)


def test_lstm_language_model_is_left_to_right():
    torch.manual_seed(0)
    lm = LSTMLanguageModel(20, 8, 8).eval()
    a, _ = lm(torch.tensor([[4, 5, 6, 7]]))
    b, _ = lm(torch.tensor([[4, 5, 6, 9]]))
    torch.testing.assert_close(a[:, :3], b[:, :3])


def test_init_forget_bias_sets_only_the_forget_gate():
    lstm = torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True)
    before = {n: p.clone() for n, p in lstm.named_parameters()}
    init_forget_bias(lstm, 2.0)
    for name, param in lstm.named_parameters():
        if name.startswith("bias_ih"):
            assert (param[4:8] == 2.0).all()
        elif name.startswith("bias_hh"):
            assert (param[4:8] == 0.0).all()
        if name.startswith("bias"):  # the other three gates are untouched
            torch.testing.assert_close(param[:4], before[name][:4])
            torch.testing.assert_close(param[8:], before[name][8:])
        else:
            torch.testing.assert_close(param, before[name])
    assert LSTMClassifier(10, 3, 4, 2).rnn.bias_ih_l0[4:8].eq(1.0).all()  # the course's default
    assert LSTMClassifier(10, 3, 4, 2, forget_bias=None).rnn.bias_ih_l0[4:8].ne(1.0).all()


def test_open_forget_gate_lets_the_gradient_reach_early_inputs():
    def first_over_last(model):
        torch.manual_seed(0)
        x = torch.randn(4, 40, 3, requires_grad=True)
        out, _ = model(x)
        out[:, -1].sum().backward()
        g = x.grad.norm(dim=(0, 2))
        return (g[0] / g[-1]).item()

    torch.manual_seed(0)
    rnn = torch.nn.RNN(3, 16, batch_first=True)
    lstm = torch.nn.LSTM(3, 16, batch_first=True)
    init_forget_bias(lstm, 2.0)
    assert first_over_last(lstm) > 1e4 * first_over_last(rnn)
