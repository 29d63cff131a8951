"""The exercise checks of units 00, 03 and 04: each passes a correct answer and rejects wrong ones.

The correct answers here are written independently of the solution sheets (library calls where possible),
so a check that compares against the wrong reference fails these tests.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course_utils.checks import CheckError, unit00, unit03, unit04
from course_utils.model import BertModel

# --------------------------------------------------------------------------- unit 00


def test_linear_forward():
    assert unit00.check_linear_forward(lambda x, w, b: F.linear(x, w, b))
    with pytest.raises(CheckError, match="shape"):  # transposed output: (5, 4) instead of (4, 5)
        unit00.check_linear_forward(lambda x, w, b: (x @ w.T + b).T)
    with pytest.raises(CheckError, match="differs"):  # forgot the bias
        unit00.check_linear_forward(lambda x, w, b: x @ w.T)


def test_cross_entropy():
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


def test_diagnose_learning_rate():
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


def test_gradient_noise():
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


def test_best_degree():
    assert unit00.check_best_degree(_best_degree)
    with pytest.raises(CheckError, match="best degree"):
        unit00.check_best_degree(lambda *a: _best_degree(*a, off_by_one=True))
    with pytest.raises(CheckError, match="val_mse"):  # validation error measured on the training points
        unit00.check_best_degree(lambda xt, yt, xv, yv, d: _best_degree(xt, yt, xt, yt, d))


# --------------------------------------------------------------------------- unit 03


def test_softmax():
    assert unit03.check_softmax(lambda x: torch.softmax(x, dim=-1))
    with pytest.raises(CheckError, match="overflows"):
        unit03.check_softmax(lambda x: x.exp() / x.exp().sum(-1, keepdim=True))
    with pytest.raises(CheckError, match="LAST dimension"):
        unit03.check_softmax(lambda x: torch.softmax(x, dim=0))


def test_causal_mask():
    assert unit03.check_causal_mask(lambda T: torch.ones(T, T, dtype=torch.bool).tril())
    with pytest.raises(CheckError, match=r"only if"):  # upper instead of lower triangle
        unit03.check_causal_mask(lambda T: torch.ones(T, T, dtype=torch.bool).triu())
    with pytest.raises(CheckError, match="booleans"):
        unit03.check_causal_mask(lambda T: torch.ones(T, T).tril())


def test_padding_mask():
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


def test_attention():
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


def test_multi_head_self_attention():
    assert unit03.check_multi_head_self_attention(_mhsa)
    with pytest.raises(CheckError, match="ONE head"):
        unit03.check_multi_head_self_attention(lambda x, w, nh, mask=None: _mhsa(x, w, 1, mask))
    with pytest.raises(CheckError, match="padding mask"):
        unit03.check_multi_head_self_attention(lambda x, w, nh, mask=None: _mhsa(x, w, nh))


# --------------------------------------------------------------------------- unit 04


def _sinusoidal(T, d, swap=False):
    position = torch.arange(T).float()[:, None]
    frequency = 10000 ** (-torch.arange(0, d, 2).float() / d)
    table = torch.zeros(T, d)
    first, second = (torch.cos, torch.sin) if swap else (torch.sin, torch.cos)
    table[:, 0::2], table[:, 1::2] = first(position * frequency), second(position * frequency)
    return table


def test_sinusoidal_positions():
    assert unit04.check_sinusoidal_positions(_sinusoidal)
    with pytest.raises(CheckError, match="row 0"):
        unit04.check_sinusoidal_positions(lambda T, d: _sinusoidal(T, d, swap=True))
    with pytest.raises(CheckError, match="differs"):  # a different base than 10000
        unit04.check_sinusoidal_positions(
            lambda T, d: _sinusoidal(T, d) if T < 10 else _sinusoidal(T, d) * 0.9
        )


def test_layer_norm():
    assert unit04.check_layer_norm(lambda x, w, b, eps: F.layer_norm(x, x.shape[-1:], w, b, eps))

    def unbiased(x, w, b, eps):
        return w * (x - x.mean(-1, keepdim=True)) / torch.sqrt(x.var(-1, keepdim=True) + eps) + b

    with pytest.raises(CheckError, match="unbiased"):
        unit04.check_layer_norm(unbiased)
    with pytest.raises(CheckError, match="weight and bias"):  # ignores the scale and shift
        unit04.check_layer_norm(lambda x, w, b, eps: F.layer_norm(x, x.shape[-1:], None, None, eps))


def test_feed_forward():
    assert unit04.check_feed_forward(lambda x, W1, b1, W2, b2: F.linear(F.gelu(F.linear(x, W1, b1)), W2, b2))
    with pytest.raises(CheckError, match="ReLU"):
        unit04.check_feed_forward(lambda x, W1, b1, W2, b2: F.linear(F.relu(F.linear(x, W1, b1)), W2, b2))
    with pytest.raises(CheckError, match="tanh approximation"):
        unit04.check_feed_forward(
            lambda x, W1, b1, W2, b2: F.linear(F.gelu(F.linear(x, W1, b1), approximate="tanh"), W2, b2)
        )


def test_encoder_layer():
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


def test_bert_parameter_count():
    assert unit04.check_bert_parameter_count(_count)
    with pytest.raises(CheckError, match="pooler"):
        unit04.check_bert_parameter_count(lambda c: _count(c, pooler=False))
    with pytest.raises(CheckError, match="BertModel has"):
        unit04.check_bert_parameter_count(lambda c: _count(c) + 1)
