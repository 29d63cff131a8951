"""The checks of exercise sheets 01, 02 and 05 accept right answers and reject typical wrong ones."""

import math
from collections import Counter

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from course_utils.checks import CheckError, unit01, unit02, unit05

pytestmark = pytest.mark.usefixtures("one_thread")


# ----------------------------------------------------------------------------------------- unit 01
def ids_by_first_appearance(tokens):
    ids = {}
    return [ids.setdefault(t, len(ids) + 1) for t in tokens]


def test_unit01_ids(capsys):
    assert unit01.check_ids_by_first_appearance(ids_by_first_appearance)
    assert "✅" in capsys.readouterr().out
    with pytest.raises(CheckError, match="alphabetical|first word"):
        unit01.check_ids_by_first_appearance(lambda toks: [sorted(set(toks)).index(t) + 1 for t in toks])
    with pytest.raises(CheckError, match="first word gets 1"):
        unit01.check_ids_by_first_appearance(lambda toks: [i - 1 for i in ids_by_first_appearance(toks)])


def test_unit01_bag_of_words():
    assert unit01.check_bag_of_words(Counter)
    with pytest.raises(CheckError, match="should be a"):
        unit01.check_bag_of_words(lambda toks: dict(Counter(toks)))
    with pytest.raises(CheckError):
        unit01.check_bag_of_words(lambda toks: Counter(set(toks)))  # loses the counts


def test_unit01_ngrams():
    assert unit01.check_ngrams(lambda t, n: [tuple(t[i : i + n]) for i in range(len(t) - n + 1)])
    with pytest.raises(CheckError, match="tuple"):
        unit01.check_ngrams(lambda t, n: [t[i : i + n] for i in range(len(t) - n + 1)])
    with pytest.raises(CheckError):
        unit01.check_ngrams(lambda t, n: [tuple(t[i : i + n]) for i in range(len(t) - n)])  # off by one


def test_unit01_perplexity():
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


def test_unit01_bigram_prob():
    assert unit01.check_bigram_prob(bigram_prob)

    def wrong_v(sentences, k):  # counts <bos> in V: the probabilities no longer sum to 1
        base = bigram_prob(sentences, k)
        return lambda prev, word: base(prev, word) * 0.99

    with pytest.raises(CheckError, match="expected"):
        unit01.check_bigram_prob(wrong_v)


def test_unit01_bigram_classifier():
    class Fake:
        def __init__(self, acc):
            self.acc = acc

        def score(self, texts, labels):
            return self.acc

    assert unit01.check_bigram_classifier(Fake(0.85), 0.6, ["a"], [1])
    with pytest.raises(CheckError, match="15 points"):
        unit01.check_bigram_classifier(Fake(0.7), 0.6, ["a"], [1])


# ----------------------------------------------------------------------------------------- unit 02
def rnn_step(x, h, w_ih, w_hh, b_ih, b_hh):
    return torch.tanh(x @ w_ih.T + b_ih + h @ w_hh.T + b_hh)


def lstm_step(x, h, c, w_ih, w_hh, b_ih, b_hh):
    i, f, g, o = (x @ w_ih.T + b_ih + h @ w_hh.T + b_hh).chunk(4, dim=-1)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c), c


def test_unit02_rnn_step():
    assert unit02.check_rnn_step(rnn_step)
    with pytest.raises(CheckError, match="tanh"):
        unit02.check_rnn_step(lambda x, h, a, b, c, d: x @ a.T + c + h @ b.T + d)


def test_unit02_lstm_step():
    assert unit02.check_lstm_step(lstm_step)

    def wrong_order(x, h, c, w_ih, w_hh, b_ih, b_hh):
        f, i, g, o = (x @ w_ih.T + b_ih + h @ w_hh.T + b_hh).chunk(4, dim=-1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(c), c

    with pytest.raises(CheckError, match="c_new"):
        unit02.check_lstm_step(wrong_order)


def test_unit02_masked_mean():
    def masked_mean(out, lengths):
        mask = (torch.arange(out.shape[1])[None] < lengths[:, None]).float()
        return (out * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)

    assert unit02.check_masked_mean(masked_mean)
    with pytest.raises(CheckError, match="hand example"):
        unit02.check_masked_mean(lambda out, lengths: out.mean(1))


def test_unit02_gradient_to_first_input():
    def grad(model, x):
        x = x.clone().requires_grad_(True)
        out, _ = model(x)
        out[:, -1].sum().backward()
        return x.grad[0, 0].norm().item()

    assert unit02.check_gradient_to_first_input(grad)

    def last_input(model, x):
        x = x.clone().requires_grad_(True)
        out, _ = model(x)
        out[:, -1].sum().backward()
        return x.grad[0, -1].norm().item()

    with pytest.raises(CheckError, match="gradient norm"):
        unit02.check_gradient_to_first_input(last_input)


def test_unit02_sentiment_lstm():
    class Constant(nn.Module):
        def __init__(self, label):
            super().__init__()
            self.label = label
            self.pad_id = 0

        def forward(self, ids, lengths=None):
            return F.one_hot(torch.full((ids.shape[0],), self.label), 2).float()

    data = ([[4, 5], [6]], [1, 1])
    assert unit02.check_sentiment_lstm(Constant(1), data)
    with pytest.raises(CheckError, match="below"):
        unit02.check_sentiment_lstm(Constant(0), data)


# ----------------------------------------------------------------------------------------- unit 05
def test_unit05_causal_mask():
    assert unit05.check_causal_mask(lambda T: torch.ones(T, T, dtype=torch.bool).tril())
    with pytest.raises(CheckError, match="inverted"):
        unit05.check_causal_mask(lambda T: ~torch.ones(T, T, dtype=torch.bool).tril())
    with pytest.raises(CheckError, match="transposed"):
        unit05.check_causal_mask(lambda T: torch.ones(T, T, dtype=torch.bool).triu())
    with pytest.raises(CheckError, match="bool"):
        unit05.check_causal_mask(lambda T: torch.ones(T, T).tril())


def test_unit05_shift():
    assert unit05.check_shift_for_teacher_forcing(lambda t: (t[:, :-1], t[:, 1:]))
    with pytest.raises(CheckError, match="decoder_input"):
        unit05.check_shift_for_teacher_forcing(lambda t: (t[:, 1:], t[:, :-1]))


def test_unit05_masked_self_attention():
    def right(q, k, v):
        T = q.shape[-2]
        s = (q @ k.transpose(-2, -1)) / math.sqrt(q.shape[-1])
        return s.masked_fill(~torch.ones(T, T, dtype=torch.bool).tril(), float("-inf")).softmax(-1) @ v

    assert unit05.check_masked_self_attention(right)
    with pytest.raises(CheckError, match="WITHOUT"):
        unit05.check_masked_self_attention(lambda q, k, v: F.scaled_dot_product_attention(q, k, v))
    with pytest.raises(CheckError, match="sqrt"):
        unit05.check_masked_self_attention(lambda q, k, v: right(q * math.sqrt(q.shape[-1]), k, v))


def test_unit05_cross_attention():
    def right(dec, memory, keep):
        s = dec @ memory.transpose(1, 2) / math.sqrt(dec.shape[-1])
        w = s.masked_fill(~keep[:, None, :], float("-inf")).softmax(-1)
        return w @ memory, w

    assert unit05.check_cross_attention(right)

    def no_mask(dec, memory, keep):
        w = (dec @ memory.transpose(1, 2) / math.sqrt(dec.shape[-1])).softmax(-1)
        return w @ memory, w

    with pytest.raises(CheckError, match="padding"):
        unit05.check_cross_attention(no_mask)


def greedy(next_logits, bos, eos, max_len):
    out = [bos]
    for _ in range(max_len):
        out.append(int(next_logits(out).argmax()))
        if out[-1] == eos:
            break
    return out[1:]


def test_unit05_greedy():
    assert unit05.check_greedy_decode(greedy)
    with pytest.raises(CheckError, match="leave <bos> out"):
        unit05.check_greedy_decode(lambda f, b, e, m: [b, *greedy(f, b, e, m)])

    def no_stop(next_logits, bos, eos, max_len):
        out = [bos]
        for _ in range(max_len):
            out.append(int(next_logits(out).argmax()))
        return out[1:]

    with pytest.raises(CheckError, match="stop right after"):
        unit05.check_greedy_decode(no_stop)


def test_unit05_reverse_translation():
    assert unit05.check_reverse_translation({"exact_match": 0.95, "token_accuracy": 0.99})
    with pytest.raises(CheckError, match="below"):
        unit05.check_reverse_translation({"exact_match": 0.5, "token_accuracy": 0.8})
    with pytest.raises(CheckError, match="evaluate_translation"):
        unit05.check_reverse_translation({"accuracy": 1.0})
