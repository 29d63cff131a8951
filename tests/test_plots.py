"""Figures come out with the right panels, labels and data (Agg backend, nothing is shown)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from course_utils.model import BertConfig, BertForPreTraining  # noqa: E402
from course_utils.plots import bertviz_views, plot_attention, plot_confusion, plot_history, smooth  # noqa: E402
from course_utils.train import History  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def pretraining_history() -> History:
    n = 20
    return History(
        steps=list(range(1, n + 1)),
        train_loss=[5 - 0.1 * i for i in range(n)],
        lr=[1e-3] * n,
        grad_norm=[1.0] * n,
        parts={"mlm_loss": [4 - 0.1 * i for i in range(n)], "nsp_loss": [1.0] * n},
        eval=[
            (10, {"loss": 4.2, "mlm_loss": 3.5, "nsp_loss": 0.7, "accuracy": 0.4}),
            (20, {"loss": 3.4, "mlm_loss": 2.8, "nsp_loss": 0.6, "accuracy": 0.5}),
        ],
    )


def test_smooth():
    assert smooth([1.0, 1.0, 1.0], 0.9) == pytest.approx([1.0, 1.0, 1.0])  # bias-corrected: no pull to 0
    assert smooth([0.0, 10.0], 0.0) == [0.0, 10.0]
    s = smooth([0.0, 10.0], 0.5)  # (0.5 * 0 + 0.5 * 10 * ...) corrected by 1 - 0.25
    assert s[1] == pytest.approx((0.5 * 0.0 * 0.5 + 0.5 * 10.0) / 0.75)
    with pytest.raises(ValueError):
        smooth([1.0], 1.0)


def test_plot_history_has_a_panel_per_loss_part_and_metric():
    h = pretraining_history()
    fig = plot_history(h)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["loss", "mlm loss", "nsp loss", "accuracy"]
    loss_ax = fig.axes[0]
    labels = [line.get_label() for line in loss_ax.get_lines()]
    assert labels == ["train (each step)", "train (smoothed)", "eval"]
    raw = loss_ax.get_lines()[0]
    assert list(raw.get_ydata()) == pytest.approx(h.train_loss)
    assert list(loss_ax.get_lines()[2].get_xdata()) == [10, 20]
    assert loss_ax.get_xlabel() == "step"
    # a training log (dict) works too, and metrics can be chosen
    fig2 = plot_history({"history": h.to_dict()}, metrics=[])
    assert len(fig2.axes) == 3
    with pytest.raises(KeyError, match="f1"):
        plot_history(h, metrics=["f1"])
    with pytest.raises(ValueError, match="empty"):
        plot_history(History())


def test_plot_history_without_parts_has_one_panel():
    h = History(steps=[1, 2, 3], train_loss=[1.0, 0.8, 0.7], lr=[1.0] * 3, grad_norm=[1.0] * 3)
    fig = plot_history(h)
    assert len(fig.axes) == 1 and len(fig.axes[0].get_lines()) == 2  # no eval line


def test_plot_confusion_from_matrix_and_from_labels():
    cm = np.array([[5, 1], [2, 7]])
    fig = plot_confusion(cm, labels=["neg", "pos"])
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["neg", "pos"]
    assert [t.get_text() for t in ax.texts] == ["5", "1", "2", "7"]
    assert ax.get_title() == "accuracy 0.800"
    assert ax.get_xlabel() == "predicted" and ax.get_ylabel() == "true"

    fig = plot_confusion(y_true=[0, 0, 1, 1], y_pred=[0, 1, 1, 1], labels=["neg", "pos"], normalize=True)
    assert [t.get_text() for t in fig.axes[0].texts] == ["0.50", "0.50", "0.00", "1.00"]
    fig = plot_confusion(y_true=["b", "a"], y_pred=["b", "b"], labels=["b", "a"])
    assert [t.get_text() for t in fig.axes[0].texts] == ["1", "0", "1", "0"]
    with pytest.raises(ValueError, match="either cm"):
        plot_confusion()
    with pytest.raises(ValueError, match="3 labels"):
        plot_confusion(cm, labels=["a", "b", "c"])


def test_plot_attention_layouts():
    tokens = ["[CLS]", "the", "dog", "[SEP]"]
    a = torch.softmax(torch.randn(2, 3, 4, 4), dim=-1)  # 2 layers? no: (B=2) -> must pick one
    with pytest.raises(ValueError, match="batch of 2"):
        plot_attention(a, tokens)
    heads = a[0]  # (nh=3, T, T)
    fig = plot_attention(heads, tokens)
    panels = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title() for ax in panels] == ["head 0", "head 1", "head 2"]
    assert [t.get_text() for t in panels[0].get_yticklabels()] == tokens
    np.testing.assert_allclose(panels[1].images[0].get_array(), heads[1].numpy(), rtol=1e-6)

    layers = (a[:1], a[1:])  # what a model returns: one (1, nh, T, T) per layer
    fig = plot_attention(layers, tokens, layer=1, head=2)
    ax = [ax for ax in fig.axes if ax.get_title()][0]
    assert ax.get_title() == "layer 1 head 2"
    np.testing.assert_allclose(ax.images[0].get_array(), a[1, 2].numpy(), rtol=1e-6)
    with pytest.raises(ValueError, match="choose one with layer"):
        plot_attention(layers, tokens)
    with pytest.raises(ValueError, match="3 query tokens"):
        plot_attention(heads[0], tokens[:3])
    with pytest.raises(IndexError, match="head=5"):
        plot_attention(heads, tokens, head=5)


def test_bertviz_views_runs_the_model_and_returns_html():
    from course_utils.tokenizer import load_tokenizer

    tok = load_tokenizer()
    cfg = BertConfig(
        vocab_size=len(tok),
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=32,
    )
    model = BertForPreTraining(cfg)
    html = bertviz_views(model, tok, "Anna went to the park.", "She saw a dog.")
    assert model.training  # the mode is restored
    assert '"dog"' in html.data  # the tokens are in the page's data
    # sentence A ends at the first [SEP]: bertviz offers the A -> B filter, whose keys are sentence B's
    assert "Sentence A -> Sentence B" in html.data
    assert '"right_text": ["she", "saw", "a", "dog", ".", "[SEP]"]' in html.data
    html = bertviz_views(model, tok, "Anna went to the park.", view="model")
    assert '"anna"' in html.data and "Sentence A -> Sentence B" not in html.data
    with pytest.raises(ValueError, match="view"):
        bertviz_views(model, tok, "x", view="neuron")
