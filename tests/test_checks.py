"""course_utils.checks: every check passes a right answer and rejects typical wrong ones.

The right answers here are written independently of the solution sheets (library calls where possible), so a
check that compares against the wrong reference fails these tests. Every test also verifies that the check
left the learner's global random state as it found it.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from course_utils import checks
from course_utils.checks import CheckError, unit00, unit01, unit02, unit03, unit04, unit05
from course_utils.model import BertModel

UNITS = (unit00, unit01, unit02, unit03, unit04, unit05)

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(autouse=True)
def global_random_state_untouched():
    """A check must not reseed or advance the learner's generators (torch, NumPy, Python)."""
    before = (torch.get_rng_state(), np.random.get_state()[1].copy(), random.getstate())
    yield
    assert torch.equal(torch.get_rng_state(), before[0]), "torch's global random state changed"
    assert np.array_equal(np.random.get_state()[1], before[1]), "NumPy's global random state changed"
    assert random.getstate() == before[2], "Python's global random state changed"


def test_every_check_is_tested_here():
    source = Path(__file__).read_text()
    for module in UNITS:
        unit = module.__name__.rsplit(".", 1)[1]
        for name in module.__all__:
            assert f"{unit}.{name}(" in source, f"{unit}.{name} has no test"


# --------------------------------------------------------------------------- shared helpers


def test_isolated_rng_seeds_inside_and_restores_outside():
    before = torch.get_rng_state()
    with checks.isolated_rng(3):
        inside = torch.rand(2)
    assert torch.equal(torch.get_rng_state(), before)
    assert torch.equal(inside, torch.rand(2, generator=torch.Generator().manual_seed(3)))
    with pytest.raises(ValueError), checks.isolated_rng(0):
        torch.rand(1)
        raise ValueError("a failing check")
    assert torch.equal(torch.get_rng_state(), before)  # restored after an error too


@pytest.mark.parametrize(
    "answer, message",
    [
        (lambda T: torch.ones(T, T, dtype=torch.bool).tril(), None),
        (lambda T: torch.ones(T, T).tril(), "booleans"),
        (lambda T: torch.ones(T, T + 1, dtype=torch.bool).tril(), "shape"),
        (lambda T: ~torch.ones(T, T, dtype=torch.bool).tril(), "inverted"),
        (lambda T: torch.ones(T, T, dtype=torch.bool).triu(), "transposed"),
        (
            lambda T: torch.ones(T, T, dtype=torch.bool).tril(1),
            r"mask\(3\)\[0, 1\] is True; .* only if 1 <= 0",
        ),
    ],
)
def test_expect_causal_mask(answer, message):
    if message is None:
        checks.expect_causal_mask("Task", answer, "mask")
    else:
        with pytest.raises(CheckError, match=message):
            checks.expect_causal_mask("Task", answer, "mask")


# --------------------------------------------------------------------------- unit 00


def test_unit00_linear_forward():
    assert unit00.check_linear_forward(lambda x, w, b: F.linear(x, w, b))
    with pytest.raises(CheckError, match="shape"):  # transposed output: (5, 4) instead of (4, 5)
        unit00.check_linear_forward(lambda x, w, b: (x @ w.T + b).T)
    with pytest.raises(CheckError, match="differs"):  # forgot the bias
        unit00.check_linear_forward(lambda x, w, b: x @ w.T)


def test_unit00_cross_entropy():
    assert unit00.check_cross_entropy(lambda logits, t: F.cross_entropy(logits, t))
    with pytest.raises(CheckError, match="one number"):  # no mean over the batch
        unit00.check_cross_entropy(lambda logits, t: F.cross_entropy(logits, t, reduction="none"))

    def naive(logits, t):  # exp overflows for large logits
        p = logits.exp() / logits.exp().sum(1, keepdim=True)
        return -p.gather(1, t[:, None]).log().mean()

    with pytest.raises(CheckError, match="overflows"):
        unit00.check_cross_entropy(naive)


def _diagnose(losses):
    if not math.isfinite(losses[-1]) or losses[-1] > losses[0]:
        return "too high"
    return "too low" if losses[-1] > 0.9 * losses[0] else "good"


def test_unit00_diagnose_learning_rate():
    assert unit00.check_diagnose_learning_rate(_diagnose)
    with pytest.raises(CheckError, match="one of"):
        unit00.check_diagnose_learning_rate(lambda losses: "fine")

    def ignores_nan(losses):  # nan > x is False, so a nan curve slips through as "good"
        return (
            "too high" if losses[-1] > losses[0] else ("too low" if losses[-1] > 0.9 * losses[0] else "good")
        )

    with pytest.raises(CheckError, match="nan|inf"):
        unit00.check_diagnose_learning_rate(ignores_nan)


def _noise(model, X, y, batch_size, n_batches, with_replacement=False, root=False):
    def flat(index):
        model.zero_grad()
        F.cross_entropy(model(X[index]), y[index]).backward()
        return torch.cat([p.grad.flatten() for p in model.parameters()])

    full = flat(torch.arange(len(X)))
    values = []
    for _ in range(n_batches):
        index = (
            torch.randint(0, len(X), (batch_size,))
            if with_replacement
            else torch.randperm(len(X))[:batch_size]
        )
        distance = ((flat(index) - full) ** 2).sum()
        values.append(distance.sqrt().item() if root else distance.item())
    return float(np.mean(values))


def test_unit00_gradient_noise():
    assert unit00.check_gradient_noise(_noise)
    with pytest.raises(CheckError, match="without replacement"):
        unit00.check_gradient_noise(lambda *a: _noise(*a, with_replacement=True))
    with pytest.raises(CheckError, match="square root"):
        unit00.check_gradient_noise(lambda *a: _noise(*a, root=True))


def _best_degree(x_train, y_train, x_val, y_val, degrees, off_by_one=False):
    train, val = [], []
    for d in degrees:
        coef = np.polyfit(x_train, y_train, d)
        train.append(float(np.mean((np.polyval(coef, x_train) - y_train) ** 2)))
        val.append(float(np.mean((np.polyval(coef, x_val) - y_val) ** 2)))
    best = degrees[int(np.argmin(val))]
    return (best + 1 if off_by_one else best), train, val


def test_unit00_best_degree():
    assert unit00.check_best_degree(_best_degree)
    with pytest.raises(CheckError, match="best degree"):
        unit00.check_best_degree(lambda *a: _best_degree(*a, off_by_one=True))
    with pytest.raises(CheckError, match="val_mse"):  # validation error measured on the training points
        unit00.check_best_degree(lambda xt, yt, xv, yv, d: _best_degree(xt, yt, xt, yt, d))


# --------------------------------------------------------------------------- unit 01
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


# --------------------------------------------------------------------------- unit 02
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


# --------------------------------------------------------------------------- unit 03


def test_unit03_softmax():
    assert unit03.check_softmax(lambda x: torch.softmax(x, dim=-1))
    with pytest.raises(CheckError, match="overflows"):
        unit03.check_softmax(lambda x: x.exp() / x.exp().sum(-1, keepdim=True))
    with pytest.raises(CheckError, match="LAST dimension"):
        unit03.check_softmax(lambda x: torch.softmax(x, dim=0))

    def global_max(x):  # stable for one row, NaN for a row far below the tensor's maximum
        exps = (x - x.max()).exp()
        return exps / exps.sum(dim=-1, keepdim=True)

    with pytest.raises(CheckError, match="each row's own maximum"):
        unit03.check_softmax(global_max)
    assert unit03.check_softmax(lambda x: torch.softmax(x.double(), dim=-1))  # float64 is fine


def test_unit03_causal_mask():
    assert unit03.check_causal_mask(lambda T: torch.ones(T, T, dtype=torch.bool).tril())
    with pytest.raises(CheckError, match=r"only if"):  # upper instead of lower triangle
        unit03.check_causal_mask(lambda T: torch.ones(T, T, dtype=torch.bool).triu())
    with pytest.raises(CheckError, match="booleans"):
        unit03.check_causal_mask(lambda T: torch.ones(T, T).tril())


def test_unit03_padding_mask():
    assert unit03.check_padding_mask(lambda m: m.bool()[:, None, None, :])
    with pytest.raises(CheckError, match="shape"):
        unit03.check_padding_mask(lambda m: m.bool())
    with pytest.raises(CheckError, match="True must mark"):
        unit03.check_padding_mask(lambda m: ~m.bool()[:, None, None, :])


def _sdpa(q, k, v, mask=None, scale=True):
    scores = q @ k.transpose(-2, -1) / (math.sqrt(q.size(-1)) if scale else 1.0)
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = scores.softmax(-1)
    return weights @ v, weights


def test_unit03_attention():
    assert unit03.check_attention(_sdpa)
    with pytest.raises(CheckError, match="not scaled"):
        unit03.check_attention(lambda q, k, v, mask=None: _sdpa(q, k, v, mask, scale=False))
    with pytest.raises(CheckError, match="causal mask"):
        unit03.check_attention(lambda q, k, v, mask=None: _sdpa(q, k, v))  # ignores the mask


def _mhsa(x, weights, num_heads, mask=None):
    B, T, H = x.shape
    hs = H // num_heads

    def split(name):
        return (
            F.linear(x, weights[f"{name}.weight"], weights[f"{name}.bias"])
            .view(B, T, num_heads, hs)
            .transpose(1, 2)
        )

    q, k, v = split("query"), split("key"), split("value")
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    return out.transpose(1, 2).reshape(B, T, H)


def test_unit03_multi_head_self_attention():
    assert unit03.check_multi_head_self_attention(_mhsa)
    with pytest.raises(CheckError, match="ONE head"):
        unit03.check_multi_head_self_attention(lambda x, w, nh, mask=None: _mhsa(x, w, 1, mask))
    with pytest.raises(CheckError, match="padding mask"):
        unit03.check_multi_head_self_attention(lambda x, w, nh, mask=None: _mhsa(x, w, nh))
    with pytest.raises(CheckError, match="num_heads=2 .* use the num_heads argument"):  # heads written in
        unit03.check_multi_head_self_attention(lambda x, w, nh, mask=None: _mhsa(x, w, 3, mask))
    with pytest.raises(CheckError, match="num_heads=2"):  # a head size written in: hs = 4
        unit03.check_multi_head_self_attention(
            lambda x, w, nh, mask=None: _mhsa(x, w, x.shape[-1] // 4, mask)
        )


# --------------------------------------------------------------------------- unit 04


def _sinusoidal(T, d, swap=False):
    position = torch.arange(T).float()[:, None]
    frequency = 10000 ** (-torch.arange(0, d, 2).float() / d)
    table = torch.zeros(T, d)
    first, second = (torch.cos, torch.sin) if swap else (torch.sin, torch.cos)
    table[:, 0::2], table[:, 1::2] = first(position * frequency), second(position * frequency)
    return table


def test_unit04_sinusoidal_positions():
    assert unit04.check_sinusoidal_positions(_sinusoidal)
    with pytest.raises(CheckError, match="row 0"):
        unit04.check_sinusoidal_positions(lambda T, d: _sinusoidal(T, d, swap=True))
    with pytest.raises(CheckError, match="differs"):  # a different base than 10000
        unit04.check_sinusoidal_positions(
            lambda T, d: _sinusoidal(T, d) if T < 10 else _sinusoidal(T, d) * 0.9
        )


def test_unit04_layer_norm():
    assert unit04.check_layer_norm(lambda x, w, b, eps: F.layer_norm(x, x.shape[-1:], w, b, eps))

    def unbiased(x, w, b, eps):
        return w * (x - x.mean(-1, keepdim=True)) / torch.sqrt(x.var(-1, keepdim=True) + eps) + b

    with pytest.raises(CheckError, match="unbiased"):
        unit04.check_layer_norm(unbiased)
    with pytest.raises(CheckError, match="weight and bias"):  # ignores the scale and shift
        unit04.check_layer_norm(lambda x, w, b, eps: F.layer_norm(x, x.shape[-1:], None, None, eps))

    def no_eps(x, w, b, eps):  # right for every row with some spread, NaN for a constant row
        return w * (x - x.mean(-1, keepdim=True)) / x.var(-1, unbiased=False, keepdim=True).sqrt() + b

    with pytest.raises(CheckError, match="constant row .* gives NaN"):
        unit04.check_layer_norm(no_eps)


def test_unit04_feed_forward():
    assert unit04.check_feed_forward(lambda x, W1, b1, W2, b2: F.linear(F.gelu(F.linear(x, W1, b1)), W2, b2))
    with pytest.raises(CheckError, match="ReLU"):
        unit04.check_feed_forward(lambda x, W1, b1, W2, b2: F.linear(F.relu(F.linear(x, W1, b1)), W2, b2))
    with pytest.raises(CheckError, match="tanh approximation"):
        unit04.check_feed_forward(
            lambda x, W1, b1, W2, b2: F.linear(F.gelu(F.linear(x, W1, b1), approximate="tanh"), W2, b2)
        )


def test_unit04_encoder_layer():
    assert unit04.check_encoder_layer(lambda x, layer, mask=None: layer(x, mask)[0])

    def pre_ln(x, layer, mask=None):
        a = layer.attention
        h = x + a.output.dense(a.self(a.output.LayerNorm(x), mask)[0])
        return h + layer.output.dense(layer.intermediate(layer.output.LayerNorm(h)))

    with pytest.raises(CheckError, match="pre-LN"):
        unit04.check_encoder_layer(pre_ln)
    with pytest.raises(CheckError, match="differs"):  # forgets the mask
        unit04.check_encoder_layer(lambda x, layer, mask=None: layer(x)[0])


def _count(config, pooler=True):
    with torch.device("meta"):
        return sum(p.numel() for p in BertModel(config, add_pooling_layer=pooler).parameters())


def test_unit04_bert_parameter_count():
    assert unit04.check_bert_parameter_count(_count)
    with pytest.raises(CheckError, match="pooler"):
        unit04.check_bert_parameter_count(lambda c: _count(c, pooler=False))
    with pytest.raises(CheckError, match="BertModel has"):
        unit04.check_bert_parameter_count(lambda c: _count(c) + 1)


# --------------------------------------------------------------------------- unit 05
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
