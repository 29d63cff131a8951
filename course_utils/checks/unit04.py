"""Checks for exercise sheet 04: the transformer encoder.

References are PyTorch (``F.layer_norm``, ``F.gelu``) and the course's model (``BertLayer``, ``BertModel``).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

from course_utils.checks import (
    expect_callable,
    expect_close,
    expect_shape,
    expect_type,
    fail,
    is_close,
    isolated_rng,
    passed,
)
from course_utils.model import BertConfig, BertLayer, BertModel, extended_attention_mask
from course_utils.utils import count_parameters

__all__ = [
    "check_sinusoidal_positions",
    "check_layer_norm",
    "check_feed_forward",
    "check_encoder_layer",
    "check_bert_parameter_count",
]


def _sinusoidal(T: int, d: int) -> torch.Tensor:
    position = torch.arange(T, dtype=torch.float64)[:, None]  # (T, 1)
    frequency = 10000.0 ** (-torch.arange(0, d, 2, dtype=torch.float64) / d)  # (d/2,)
    table = torch.zeros(T, d, dtype=torch.float64)
    table[:, 0::2] = torch.sin(position * frequency)
    table[:, 1::2] = torch.cos(position * frequency)
    return table


def check_sinusoidal_positions(sinusoidal_positions: Callable) -> bool:
    """Task 1: ``sinusoidal_positions(T, d)`` is the (T, d) table of the Transformer paper."""
    task = "Task 1 (sinusoidal positions)"
    expect_callable(task, sinusoidal_positions, "sinusoidal_positions")
    table = sinusoidal_positions(3, 4)
    expect_shape(task, table, (3, 4), "sinusoidal_positions(3, 4)")
    expect_close(task, table[0], [0.0, 1.0, 0.0, 1.0], "row 0 (position 0: sin 0 = 0, cos 0 = 1)")
    if is_close(table[1], torch.tensor([math.cos(1), math.sin(1), math.cos(0.01), math.sin(0.01)])):
        fail(task, "sin and cos are swapped: even columns 0, 2, ... hold sin, odd columns hold cos")
    expect_close(
        task,
        table[1],
        [math.sin(1), math.cos(1), math.sin(0.01), math.cos(0.01)],
        "row 1 (frequencies 1 and 1/100 for d = 4)",
    )
    table = sinusoidal_positions(50, 16)
    expect_shape(task, table, (50, 16), "sinusoidal_positions(50, 16)")
    expect_close(task, table, _sinusoidal(50, 16), "sinusoidal_positions(50, 16)", atol=1e-5)
    return passed(task)


def check_layer_norm(layer_norm: Callable) -> bool:
    """Task 2: ``layer_norm(x, weight, bias, eps)`` equals ``F.layer_norm`` over the last dimension."""
    task = "Task 2 (LayerNorm by hand)"
    expect_callable(task, layer_norm, "layer_norm")
    x = torch.tensor([[1.0, 2.0, 3.0, 4.0]])
    out = layer_norm(x, torch.ones(4), torch.zeros(4), 1e-12)
    expect_shape(task, out, (1, 4), "layer_norm of [[1, 2, 3, 4]]")
    unbiased = (x - 2.5) / x.std(unbiased=True)
    if is_close(out, unbiased, atol=1e-4):
        fail(
            task,
            "you divided by the unbiased standard deviation (n - 1); LayerNorm uses the biased one: "
            "x.var(dim=-1, unbiased=False, keepdim=True)",
        )
    expect_close(
        task,
        out,
        [[-1.3416408, -0.4472136, 0.4472136, 1.3416408]],
        "layer_norm([1, 2, 3, 4]) (mean 2.5, variance 1.25)",
    )
    # a constant row has variance 0: only eps keeps the division finite (the normalised row is 0)
    constant = torch.full((1, 4), 2.0)
    out = layer_norm(constant, torch.ones(4), torch.zeros(4), 1e-5)
    expect_shape(task, out, (1, 4), "layer_norm of the constant row [[2, 2, 2, 2]]")
    if not torch.isfinite(out).all():
        fail(
            task,
            "layer_norm of the constant row [[2, 2, 2, 2]] gives NaN: its variance is 0, so divide by "
            "sqrt(variance + eps), with the eps argument inside the square root",
        )
    expect_close(task, out, torch.zeros(1, 4), "layer_norm of the constant row [[2, 2, 2, 2]]")
    gen = torch.Generator().manual_seed(4)
    x = torch.randn(2, 3, 6, generator=gen) * 3 + 1
    weight = torch.randn(6, generator=gen)
    bias = torch.randn(6, generator=gen)
    out = layer_norm(x, weight, bias, 1e-5)
    expect_shape(task, out, (2, 3, 6), "layer_norm of a (2, 3, 6) tensor")
    expect_close(task, out, F.layer_norm(x, (6,), weight, bias, 1e-5), "layer_norm with weight and bias")
    return passed(task, "equals F.layer_norm")


def check_feed_forward(feed_forward: Callable) -> bool:
    """Task 3: ``feed_forward(x, W1, b1, W2, b2)`` = ``gelu(x @ W1.T + b1) @ W2.T + b2`` (exact GELU)."""
    task = "Task 3 (feed-forward block)"
    expect_callable(task, feed_forward, "feed_forward")
    gen = torch.Generator().manual_seed(5)
    x = torch.randn(2, 3, 4, generator=gen)
    W1, b1 = torch.randn(16, 4, generator=gen), torch.randn(16, generator=gen)
    W2, b2 = torch.randn(4, 16, generator=gen), torch.randn(4, generator=gen)
    out = feed_forward(x, W1, b1, W2, b2)
    expect_shape(task, out, (2, 3, 4), "the output for x (2, 3, 4), H = 4, intermediate size 16")
    expected = F.linear(F.gelu(F.linear(x, W1, b1)), W2, b2)
    if is_close(out, F.linear(F.relu(F.linear(x, W1, b1)), W2, b2), atol=1e-4):
        fail(task, "that is a ReLU; BERT uses GELU: x * Phi(x) = 0.5 * x * (1 + erf(x / sqrt(2)))")
    tanh_version = F.linear(F.gelu(F.linear(x, W1, b1), approximate="tanh"), W2, b2)
    if is_close(out, tanh_version, atol=1e-6) and not is_close(out, expected, atol=1e-6):
        fail(task, "that is the tanh approximation of GELU; BERT uses the exact one with erf")
    expect_close(task, out, expected, "the output (compared with F.gelu between the two linear maps)")
    return passed(task)


def _layer(seed: int) -> BertLayer:
    config = BertConfig(hidden_size=16, num_attention_heads=4, intermediate_size=32)
    with isolated_rng(seed), torch.no_grad():  # module init draws from the global generator
        layer = BertLayer(config).eval()  # eval: dropout off, so the output is deterministic
        for p in layer.parameters():  # move LayerNorm away from its (1, 0) start so that its weights matter
            p.add_(0.1 * torch.randn(p.shape))
    return layer


def check_encoder_layer(encoder_layer: Callable) -> bool:
    """Task 4: ``encoder_layer(x, layer, mask)`` equals ``layer(x, mask)[0]`` for a BertLayer ``layer``."""
    task = "Task 4 (the post-LN encoder layer)"
    expect_callable(task, encoder_layer, "encoder_layer")
    layer = _layer(6)
    gen = torch.Generator().manual_seed(7)
    x = torch.randn(2, 5, 16, generator=gen)
    attention_mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])
    mask = extended_attention_mask(attention_mask, x.dtype)
    with torch.no_grad():
        out = encoder_layer(x, layer, mask)
        expected, _ = layer(x, mask)
    expect_shape(task, out, (2, 5, 16), "the output for x (2, 5, 16)")
    with torch.no_grad():
        # the pre-LN arrangement, to recognise it
        a = layer.attention
        h = x + a.output.dense(a.self(a.output.LayerNorm(x), mask)[0])
        pre_ln = h + layer.output.dense(layer.intermediate(layer.output.LayerNorm(h)))
    if is_close(out, pre_ln, atol=1e-5):
        fail(
            task,
            "that is pre-LN (normalise, then the sub-layer, then add); BERT is post-LN: "
            "LayerNorm(x + sublayer(x)) after each sub-layer",
        )
    expect_close(task, out, expected, "the output (compared with BertLayer)")
    return passed(task, "equals course_utils.model.BertLayer")


def check_bert_parameter_count(bert_parameter_count: Callable) -> bool:
    """Task 5: ``bert_parameter_count(config)`` equals the parameters of ``BertModel(config)``."""
    task = "Task 5 (counting BERT's parameters)"
    expect_callable(task, bert_parameter_count, "bert_parameter_count")
    tiny = dict(
        vocab_size=50, hidden_size=8, num_hidden_layers=1, num_attention_heads=2, intermediate_size=12
    )
    wider = dict(
        vocab_size=100, hidden_size=12, num_hidden_layers=3, num_attention_heads=3, intermediate_size=20
    )
    configs = {
        "a tiny config": BertConfig(**tiny, max_position_embeddings=16, type_vocab_size=2),
        "a config with 3 segment types": BertConfig(**wider, max_position_embeddings=40, type_vocab_size=3),
        "BERT-base": BertConfig.base(),
        "BERT-large": BertConfig.large(),
    }
    counts = {}
    for name, config in configs.items():
        with torch.device("meta"):  # shapes only: no memory is allocated
            expected = count_parameters(BertModel(config))
        answer = bert_parameter_count(config)
        if isinstance(answer, torch.Tensor) and answer.numel() == 1:
            answer = answer.item()
        if isinstance(answer, float) and answer.is_integer():
            answer = int(answer)
        expect_type(task, answer, int, f"bert_parameter_count({name})")
        if answer != expected:
            hint = ""
            if answer == expected - (config.hidden_size**2 + config.hidden_size):
                hint = " (the pooler, a dense H x H layer with bias, is missing)"
            elif answer < expected:
                hint = " (missing pieces: biases? the two LayerNorms per layer and the one after the embeddings?)"
            fail(task, f"for {name} you counted {answer:,}; BertModel has {expected:,}{hint}")
        counts[name] = answer
    return passed(task, f"BERT-base {counts['BERT-base']:,} and BERT-large {counts['BERT-large']:,}")
