"""course_utils.checks.unit03: every check passes a right answer and rejects the wrong ones it is meant to catch.

The right answers are written independently of the solution sheet. Every test also verifies that the check left
the learner's global random state as it found it.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from course_utils import count_parameters
from course_utils.checks import CheckError, forbidden, unit03
from course_utils.model import BertModel, attention

pytestmark = pytest.mark.usefixtures("one_thread", "global_random_state_untouched")


# --------------------------------------------------------------------------- the forbidden() helper


def test_forbidden_catches_every_route_to_a_function_and_restores_it():
    with torch.random.fork_rng():  # nn.Linear's init draws from the global generator
        _forbidden_cases()


def _forbidden_cases():
    x = torch.randn(1, 1, 3, 2, generator=torch.Generator().manual_seed(0))
    table = {torch.Tensor.softmax: "Tensor.softmax", attention: "attention", count_parameters: "count"}
    with pytest.raises(CheckError, match="Tensor.softmax"), forbidden("T", table):
        x.softmax(-1)
    with pytest.raises(CheckError, match="attention"), forbidden("T", table):
        attention(x, x, x)  # a Python function, imported by name before the block
    with pytest.raises(CheckError, match="count"), forbidden("T", table):
        count_parameters(torch.nn.Linear(2, 2))
    assert attention(x, x, x)[0].shape == x.shape and count_parameters(torch.nn.Linear(2, 2)) == 6  # restored
    with forbidden("T", table):
        (x.exp() / x.exp().sum(-1, keepdim=True)).sum()  # what is not listed runs


# --------------------------------------------------------------------------- task 1: cross-attention


def _cross(x, memory, w, mask=None, scale=True, softmax=None, mask_dim="keys", keys_from="memory"):
    q = x @ w["query.weight"].T + w["query.bias"]
    src = memory if keys_from == "memory" else x
    k = src @ w["key.weight"].T + w["key.bias"]
    v = src @ w["value.weight"].T + w["value.bias"]
    scores = q @ k.transpose(1, 2) / (math.sqrt(q.size(-1)) if scale else 1.0)
    if mask is not None and keys_from == "memory":
        if mask_dim == "keys":
            scores = scores.masked_fill(~mask[:, None, :], float("-inf"))
        else:
            scores = scores.masked_fill(~mask[:, : scores.size(1), None], float("-inf"))
    if softmax == "library":
        probs = F.softmax(scores, dim=-1)
    else:
        dim = -2 if softmax == "over queries" else -1
        e = (scores - scores.amax(dim=dim, keepdim=True)).exp()
        probs = e / e.sum(dim=dim, keepdim=True)
    return probs @ v, probs


def _library_attention(x, memory, w, mask=None):
    q = (x @ w["query.weight"].T + w["query.bias"])[:, None]
    k = (memory @ w["key.weight"].T + w["key.bias"])[:, None]
    v = (memory @ w["value.weight"].T + w["value.bias"])[:, None]
    out, p = attention(q, k, v, None if mask is None else mask[:, None, None, :])
    return out[:, 0], p[:, 0]


def _sdpa(x, memory, w, mask=None):
    q = (x @ w["query.weight"].T + w["query.bias"])[:, None]
    k = (memory @ w["key.weight"].T + w["key.bias"])[:, None]
    v = (memory @ w["value.weight"].T + w["value.bias"])[:, None]
    out = F.scaled_dot_product_attention(q, k, v, None if mask is None else mask[:, None, None, :])
    return out[:, 0], torch.ones(1)


@pytest.mark.parametrize(
    "answer, message",
    [
        (lambda x, m, w, mask=None: _cross(x, m, w, mask, softmax="library"), "F.softmax"),
        (_library_attention, "course_utils.model.attention"),
        (_sdpa, "scaled_dot_product_attention"),
        (lambda x, m, w, mask=None: _cross(x, m, w, mask, scale=False), "not scaled"),
        (lambda x, m, w, mask=None: _cross(x, m, w, mask, softmax="over queries"), "sum to 1"),
        (lambda x, m, w, mask=None: _cross(x, m, w, None), "padded memory"),
        (lambda x, m, w, mask=None: _cross(x, m, w, mask, keys_from="x"), "from memory"),
        (lambda x, m, w, mask=None: _cross(x, m, w, mask)[1], "pair"),
    ],
)
def test_unit03_cross_attention(answer, message):
    assert unit03.check_cross_attention(_cross)
    with pytest.raises(CheckError, match=message):
        unit03.check_cross_attention(answer)


# --------------------------------------------------------------------------- task 2: memory by formula


def _memory(config, B, T, nbytes=4):
    return config.num_hidden_layers * B * config.num_attention_heads * T * T * nbytes


def _by_building(config, B, T, nbytes=4):
    count_parameters(BertModel(config))
    return _memory(config, B, T, nbytes)


@pytest.mark.parametrize(
    "answer, message",
    [
        (lambda c, B, T, n=4: _memory(c, B, T, n) // c.num_hidden_layers, "every layer"),
        (lambda c, B, T, n=4: _memory(c, B, T, n) // c.num_attention_heads, "every head"),
        (lambda c, B, T, n=4: _memory(c, B, T, n) // T, "T²"),
        (lambda c, B, T, n=4: _memory(c, B, T, n) // B, "batch"),
        (lambda c, B, T, n=4: _memory(c, B, T, n) // n, "bytes_per_value"),
        (
            lambda c, B, T, n=4: _memory(c, B, T, n) // c.num_attention_heads * c.hidden_size,
            "not \\(H, T, T\\)",
        ),
        (_by_building, "building a model"),
        (lambda c, B, T, n=4: str(_memory(c, B, T, n)), "one number"),
    ],
)
def test_unit03_attention_memory(answer, message):
    assert unit03.check_attention_memory(_memory)
    with pytest.raises(CheckError, match=message):
        unit03.check_attention_memory(answer)


# --------------------------------------------------------------------------- task 3: dropout row sums


def _measured(p, T):
    sums = F.dropout(torch.full((100_000, T), 1 / T), p=p, training=True).sum(-1)
    return sums.mean().item(), sums.std().item()


@pytest.mark.parametrize(
    "answer, message",
    [
        (lambda p, T: (1 - p, math.sqrt(p / (T * (1 - p)))), "divides the survivors"),
        (lambda p, T: (1.0, math.sqrt(p * (1 - p) / T)), "leaves out the division"),
        (lambda p, T: (1.0, p / (T * (1 - p))), "measured std"),
        (lambda p, T: (1.0, math.sqrt(p / (1 - p))), "measured std"),
        (_measured, "F.dropout"),
        (lambda p, T: 1.0, "pair"),
    ],
)
def test_unit03_dropout_row_sums(answer, message):
    assert unit03.check_dropout_row_sums(lambda p, T: (1.0, math.sqrt(p / (T * (1 - p)))))
    with pytest.raises(CheckError, match=message):
        unit03.check_dropout_row_sums(answer)


# --------------------------------------------------------------------------- task 4: FLOPs of a layer


def _flops(c, T, half=False, scores_only=False, no_ffn=False):
    H, d_ff = c.hidden_size, c.intermediate_size
    quadratic = (2 if scores_only else 4) * T * T * H
    linear = 8 * T * H * H + (0 if no_ffn else 4 * T * H * d_ff)
    return (quadratic // 2, linear // 2) if half else (quadratic, linear)


@pytest.mark.parametrize(
    "answer, message",
    [
        (lambda c, T: _flops(c, T, half=True), "half the FLOPs"),
        (lambda c, T: _flops(c, T, scores_only=True), "two T x T products"),
        (lambda c, T: _flops(c, T, no_ffn=True), "feed-forward"),
        (lambda c, T: (_flops(c, T)[0] + 1, _flops(c, T)[1]), "grow like T²"),
        (lambda c, T: (_flops(c, T)[0], _flops(c, T)[1] + 1), "FlopCounterMode measures"),
        (lambda c, T: (count_parameters(BertModel(c)), 0), "building a model"),
        (lambda c, T: {"quadratic": 1, "linear": 2}, "pair"),
    ],
)
def test_unit03_layer_flops(answer, message):
    assert unit03.check_layer_flops(_flops)
    with pytest.raises(CheckError, match=message):
        unit03.check_layer_flops(answer)
