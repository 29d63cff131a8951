"""Checks for exercise sheet 02: RNNs and LSTMs.

Each check calls the learner's function on inputs of its own and compares with PyTorch's own layers
(``nn.GRUCell``, ``nn.RNN``) or with a reference computed here; the library's GRU is forbidden while the
GRU task runs, and the training task is run by the check on data it holds. A wrong answer raises
:class:`CheckError` that says what differs.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Callable, Iterator

import numpy as np
import torch
from torch import nn

from course_utils.checks import (
    expect_callable,
    expect_close,
    expect_number,
    expect_shape,
    expect_type,
    fail,
    forbidden,
    isolated_rng,
    passed,
)
from course_utils.classic import evaluate_classifier
from course_utils.text import Vocab, simple_tokenize
from course_utils.world import sentiment_reviews

__all__ = [
    "check_gru_step",
    "check_masked_mean",
    "check_gradient_to_first_input",
    "check_train_sentiment",
]

_NO_GRU = {torch.gru_cell: "torch.gru_cell", nn.GRUCell.forward: "nn.GRUCell", nn.GRU.forward: "nn.GRU"}


@contextlib.contextmanager
def _numpy_and_python_rng_restored() -> Iterator[None]:
    """Restore NumPy's and Python's global generators after the block (training code may seed them)."""
    numpy_state, python_state = np.random.get_state(), random.getstate()
    try:
        yield
    finally:
        np.random.set_state(numpy_state)
        random.setstate(python_state)


def _random_cell(cell_class: type[nn.Module], n_in: int, n_hidden: int, gen: torch.Generator) -> nn.Module:
    """An ``nn.RNNCell`` or ``nn.LSTMCell`` with N(0, 1) weights from ``gen`` (larger than its default init)."""
    with isolated_rng():  # the constructor's own init draws from the global generator; it is overwritten
        cell = cell_class(n_in, n_hidden)
    with torch.no_grad():
        for p in cell.parameters():
            p.copy_(torch.randn(p.shape, generator=gen))
    return cell


def check_gru_step(gru_step: Callable) -> bool:
    """Task 1: one GRU step (PyTorch's order r, z, n), equal to ``nn.GRUCell``, without the library's GRU."""
    task = "Task 1 (one GRU step)"
    expect_callable(task, gru_step, "gru_step")
    gen = torch.Generator().manual_seed(1)
    cell = _random_cell(nn.GRUCell, 3, 5, gen)
    x, h = torch.randn(2, 3, generator=gen), torch.randn(2, 5, generator=gen)
    with torch.no_grad():
        expected = cell(x, h)  # the reference, before the library's GRU is forbidden
        with forbidden(task, _NO_GRU, "; write the gates with sigmoid and tanh"):
            got = gru_step(x, h, cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)
        expect_shape(task, got, (2, 5), "gru_step(x (2, 3), h (2, 5), ...)")
        r_first = _gru_with_reset_inside(x, h, cell)
        if torch.allclose(got, r_first, atol=1e-5) and not torch.allclose(got, expected, atol=1e-5):
            fail(
                task,
                "PyTorch applies the reset gate AFTER the recurrent product: n = tanh(W_in x + b_in + "
                "r * (W_hn h + b_hn)), not tanh(W_in x + W_hn (r * h) + ...)",
            )
        expect_close(task, got, expected, "the new hidden state")
    return passed(task, "equals torch.nn.GRUCell")


def _gru_with_reset_inside(x: torch.Tensor, h: torch.Tensor, cell: nn.GRUCell) -> torch.Tensor:
    """The textbook variant (reset gate applied to h before the product): a common, different answer."""
    gi = x @ cell.weight_ih.T + cell.bias_ih
    w_hr, w_hz, w_hn = cell.weight_hh.chunk(3)
    b_hr, b_hz, b_hn = cell.bias_hh.chunk(3)
    i_r, i_z, i_n = gi.chunk(3, dim=-1)
    r = torch.sigmoid(i_r + h @ w_hr.T + b_hr)
    z = torch.sigmoid(i_z + h @ w_hz.T + b_hz)
    n = torch.tanh(i_n + (r * h) @ w_hn.T + b_hn)
    return (1 - z) * n + z * h


def check_masked_mean(masked_mean: Callable) -> bool:
    """Task 2: the mean over the first ``lengths[b]`` time steps of each row; padding ignored."""
    task = "Task 2 (masked mean)"
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
    """Task 3: the norm of d(final hidden state summed) / d(first input vector)."""
    task = "Task 3 (gradient to the first input)"
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


def check_train_sentiment(train_sentiment: Callable, target: float = 0.9) -> bool:
    """Task 4: ``train_sentiment(train_data, vocab_size)`` builds and trains a classifier, called as
    ``model(input_ids, lengths)``, on ``train_data = (id lists, labels)`` and returns it.

    The check calls it on data of its own: the course's training reviews with every label flipped, and
    scores the model on the test reviews with their labels flipped. A model trained on anything but the data
    it is given scores near 0 here; a number or a dict of scores is refused.
    """
    task = "Task 4 (train a sentiment classifier)"
    if isinstance(train_sentiment, (nn.Module, dict, int, float)):
        fail(
            task,
            "pass the training function train_sentiment itself (not a model or its scores): the check trains "
            "it on data of its own",
        )
    expect_callable(task, train_sentiment, "train_sentiment")
    train_texts, train_labels = sentiment_reviews("train")
    test_texts, test_labels = sentiment_reviews("test")
    vocab = Vocab.build([simple_tokenize(t) for t in train_texts])
    encode = lambda texts: [vocab.encode(simple_tokenize(t)) for t in texts]
    train_data = (encode(train_texts), [1 - y for y in train_labels])  # flipped: only the given data teach it
    test_data = (encode(test_texts), [1 - y for y in test_labels])
    # the learner's initialisation and shuffling; their random states are untouched
    with isolated_rng(0), _numpy_and_python_rng_restored():
        model = train_sentiment(train_data, len(vocab))
    expect_type(task, model, nn.Module, "train_sentiment(...)")
    device = next(model.parameters()).device
    with isolated_rng():  # iterating a DataLoader draws a seed from the global generator
        accuracy = evaluate_classifier(model, test_data, device=device)
    if accuracy < 0.5:
        fail(
            task,
            f"accuracy {accuracy:.3f} on the check's data (labels flipped): train on the train_data passed to "
            "train_sentiment, not on data of your own",
        )
    if accuracy < target:
        fail(
            task,
            f"test accuracy {accuracy:.3f} on the check's data is below {target}; train longer or use a "
            "larger learning rate",
        )
    return passed(task, f"test accuracy {accuracy:.3f} when the check trains it on its own data")
