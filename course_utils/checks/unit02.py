"""Checks for exercise sheet 02: RNNs and LSTMs.

Each check calls the learner's function on inputs of its own and compares with PyTorch's own layers
(``nn.RNNCell``, ``nn.LSTMCell``, ``nn.RNN``) or with a reference computed here. A wrong answer raises
:class:`CheckError` that says what differs.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from course_utils.checks import (
    expect_callable,
    expect_close,
    expect_number,
    expect_shape,
    expect_type,
    fail,
    isolated_rng,
    passed,
)
from course_utils.classic import evaluate_classifier

__all__ = [
    "check_rnn_step",
    "check_lstm_step",
    "check_masked_mean",
    "check_gradient_to_first_input",
    "check_sentiment_lstm",
]


def _random_cell(cell_class: type[nn.Module], n_in: int, n_hidden: int, gen: torch.Generator) -> nn.Module:
    """An ``nn.RNNCell`` or ``nn.LSTMCell`` with N(0, 1) weights from ``gen`` (larger than its default init)."""
    with isolated_rng():  # the constructor's own init draws from the global generator; it is overwritten
        cell = cell_class(n_in, n_hidden)
    with torch.no_grad():
        for p in cell.parameters():
            p.copy_(torch.randn(p.shape, generator=gen))
    return cell


def check_rnn_step(rnn_step: Callable) -> bool:
    """Task 1: one step of a tanh RNN, equal to ``nn.RNNCell``."""
    task = "Task 1 (one RNN step)"
    expect_callable(task, rnn_step, "rnn_step")
    gen = torch.Generator().manual_seed(0)
    cell = _random_cell(nn.RNNCell, 3, 4, gen)
    x, h = torch.randn(2, 3, generator=gen), torch.randn(2, 4, generator=gen)
    with torch.no_grad():
        got = rnn_step(x, h, cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)
        expect_shape(task, got, (2, 4), "rnn_step(x (2, 3), h (2, 4), ...)")
        if got.abs().max() > 1:
            fail(task, "a tanh RNN's new state lies in [-1, 1]; did you forget the tanh?")
        expect_close(task, got, cell(x, h), "the new hidden state")
    return passed(task, "equals torch.nn.RNNCell")


def check_lstm_step(lstm_step: Callable) -> bool:
    """Task 2: one LSTM step (gates in PyTorch's order i, f, g, o), equal to ``nn.LSTMCell``."""
    task = "Task 2 (one LSTM step)"
    expect_callable(task, lstm_step, "lstm_step")
    gen = torch.Generator().manual_seed(1)
    cell = _random_cell(nn.LSTMCell, 3, 5, gen)
    x = torch.randn(2, 3, generator=gen)
    h, c = torch.randn(2, 5, generator=gen), torch.randn(2, 5, generator=gen)
    with torch.no_grad():
        got = lstm_step(x, h, c, cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)
        if not (isinstance(got, tuple) and len(got) == 2):
            fail(task, "lstm_step should return the pair (h_new, c_new)")
        h_new, c_new = got
        expect_shape(task, h_new, (2, 5), "h_new")
        expect_shape(task, c_new, (2, 5), "c_new")
        ref_h, ref_c = cell(x, (h, c))
        expect_close(task, c_new, ref_c, "c_new (the cell state: f * c + i * g)")
        expect_close(task, h_new, ref_h, "h_new (o * tanh(c_new))")
    return passed(task, "equals torch.nn.LSTMCell")


def check_masked_mean(masked_mean: Callable) -> bool:
    """Task 3: the mean over the first ``lengths[b]`` time steps of each row; padding ignored."""
    task = "Task 3 (masked mean)"
    expect_callable(task, masked_mean, "masked_mean")
    outputs = torch.tensor(
        [[[1.0, 2.0], [3.0, 4.0], [100.0, 100.0]], [[5.0, 6.0], [100.0, 100.0], [100.0, 100.0]]]
    )
    lengths = torch.tensor([2, 1])
    got = masked_mean(outputs, lengths)
    expect_shape(task, got, (2, 2), "masked_mean(outputs (2, 3, 2), lengths)")
    expect_close(
        task, got, [[2.0, 3.0], [5.0, 6.0]], "the masked mean of the hand example (padding holds 100s)"
    )
    gen = torch.Generator().manual_seed(2)
    outputs = torch.randn(4, 6, 3, generator=gen)
    lengths = torch.tensor([6, 1, 3, 4])
    expected = torch.stack([outputs[b, : lengths[b]].mean(0) for b in range(4)])
    got = masked_mean(outputs, lengths)
    expect_shape(task, got, (4, 3), "masked_mean(outputs (4, 6, 3), lengths)")
    expect_close(task, got, expected, "the masked mean of a random batch")
    return passed(task, "padding no longer changes the sentence vector")


def check_gradient_to_first_input(gradient_to_first_input: Callable) -> bool:
    """Task 4: the norm of d(final hidden state summed) / d(first input vector)."""
    task = "Task 4 (gradient to the first input)"
    expect_callable(task, gradient_to_first_input, "gradient_to_first_input")
    with isolated_rng(3):
        rnn = nn.RNN(4, 8, batch_first=True)
        x = torch.randn(1, 10, 4)

    def reference(model, inputs):
        inputs = inputs.clone().requires_grad_(True)
        out, _ = model(inputs)
        out[:, -1].sum().backward()
        return inputs.grad[0, 0].norm().item()

    expected = reference(rnn, x)
    got = gradient_to_first_input(rnn, x)
    if isinstance(got, torch.Tensor) and got.numel() == 1:
        fail(task, "return a Python float: .item() turns the one-element tensor into one")
    got = expect_number(task, got, "gradient_to_first_input(rnn, x)")
    expect_close(task, got, expected, "the gradient norm", rtol=1e-4, atol=1e-7)
    if x.grad is not None:
        fail(task, "work on a copy of x (x.clone().requires_grad_(True)) so the caller's tensor is untouched")
    return passed(task, f"{got:.3g} for a random RNN over 10 steps")


def check_sentiment_lstm(
    model: nn.Module, val_data, device: torch.device | str = "cpu", target: float = 0.9
) -> bool:
    """Task 5: a trained classifier, called as ``model(input_ids, lengths)``, whose validation accuracy
    on ``val_data = (id lists, labels)`` reaches ``target``."""
    task = "Task 5 (train an LSTM on the reviews)"
    expect_type(task, model, nn.Module, "your model")
    if not (isinstance(val_data, (tuple, list)) and len(val_data) == 2):
        fail(task, "val_data should be the pair (id lists, labels) that the sheet gives you")
    with isolated_rng():  # iterating a DataLoader draws a seed from the global generator
        accuracy = evaluate_classifier(model, val_data, device=device)
    if accuracy < target:
        fail(
            task,
            f"validation accuracy {accuracy:.3f} is below {target}; train longer or use a larger learning rate",
        )
    return passed(task, f"validation accuracy {accuracy:.3f}")
