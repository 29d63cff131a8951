"""course_utils.checks.unit02: each check passes a right answer and rejects the wrong ones it must catch."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from course_utils.checks import CheckError, unit02
from course_utils.classic import LSTMClassifier, train_classifier
from course_utils.text import Vocab, simple_tokenize
from course_utils.world import sentiment_reviews

pytestmark = pytest.mark.usefixtures("one_thread", "global_random_state_untouched")


def gru_step(x, h, w_ih, w_hh, b_ih, b_hh, order="rzn"):
    gi, gh = x @ w_ih.T + b_ih, h @ w_hh.T + b_hh
    parts_i, parts_h = dict(zip(order, gi.chunk(3, -1))), dict(zip(order, gh.chunk(3, -1)))
    r = torch.sigmoid(parts_i["r"] + parts_h["r"])
    z = torch.sigmoid(parts_i["z"] + parts_h["z"])
    n = torch.tanh(parts_i["n"] + r * parts_h["n"])
    return (1 - z) * n + z * h


def test_gru_step_right_answer():
    assert unit02.check_gru_step(gru_step)


def _reset_inside(x, h, w_ih, w_hh, b_ih, b_hh):
    cell = type("Cell", (), {"weight_ih": w_ih, "weight_hh": w_hh, "bias_ih": b_ih, "bias_hh": b_hh})()
    return unit02._gru_with_reset_inside(x, h, cell)


@pytest.mark.parametrize(
    "answer, message",
    [
        (lambda *a: torch.gru_cell(*a), "forbids"),  # the library's GRU
        (lambda x, h, *w: nn.GRUCell.forward(_cell_with(*w), x, h), "forbids"),
        (_reset_inside, "AFTER"),  # the textbook variant
        (lambda *a: gru_step(*a, order="zrn"), "differs"),  # wrong gate order
        (lambda x, h, *w: 1 - gru_step(x, h, *w), "differs"),  # z and 1 - z swapped ... roughly
    ],
)
def test_gru_step_wrong_answers(answer, message):
    with pytest.raises(CheckError, match=message):
        unit02.check_gru_step(answer)


def _cell_with(w_ih, w_hh, b_ih, b_hh):
    cell = nn.GRUCell.__new__(nn.GRUCell)
    nn.Module.__init__(cell)
    cell.input_size, cell.hidden_size, cell.bias = w_ih.shape[1], w_hh.shape[1], True
    cell.weight_ih, cell.weight_hh = nn.Parameter(w_ih), nn.Parameter(w_hh)
    cell.bias_ih, cell.bias_hh = nn.Parameter(b_ih), nn.Parameter(b_hh)
    return cell


def test_masked_mean():
    def masked_mean(out, lengths):
        mask = (torch.arange(out.shape[1])[None] < lengths[:, None]).float()
        return (out * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)

    assert unit02.check_masked_mean(masked_mean)
    with pytest.raises(CheckError, match="hand example"):
        unit02.check_masked_mean(lambda out, lengths: out.mean(1))


def test_gradient_to_first_input():
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


def _train(train_data, vocab_size):
    model = LSTMClassifier(vocab_size, 32, 32, 2)
    train_classifier(model, train_data, epochs=6, lr=1e-2, batch_size=64, device="cpu")
    return model


@pytest.mark.slow
def test_train_sentiment_right_answer():
    assert unit02.check_train_sentiment(_train)


@pytest.mark.slow
def test_train_sentiment_trained_on_its_own_data_fails():
    texts, labels = sentiment_reviews("validation")
    vocab = Vocab.build([simple_tokenize(t) for t in sentiment_reviews("train")[0]])
    own = ([vocab.encode(simple_tokenize(t)) for t in texts], labels)
    with pytest.raises(CheckError, match="passed to\\s+train_sentiment|train_data passed"):
        unit02.check_train_sentiment(lambda train_data, V: _train(own, V))


def test_train_sentiment_refuses_models_and_scores():
    class Constant(nn.Module):
        def forward(self, ids, lengths=None):
            return F.one_hot(torch.zeros(ids.shape[0], dtype=torch.long), 2).float()

    with pytest.raises(CheckError, match="training function"):
        unit02.check_train_sentiment(Constant())
    with pytest.raises(CheckError, match="training function"):
        unit02.check_train_sentiment({"LSTM": 0.99})


def test_train_sentiment_untrained_model_fails():
    def untrained(train_data, vocab_size):
        return LSTMClassifier(vocab_size, 8, 8, 2)

    with pytest.raises(CheckError, match="below|passed to"):
        unit02.check_train_sentiment(untrained)
