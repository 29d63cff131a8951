"""Figures come out with the right panels, labels and data (Agg backend, nothing is shown)."""

from __future__ import annotations

import json
import re
import subprocess

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from helpers import CHROMIUM, CHROMIUM_FLAGS  # noqa: E402

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


def _tiny_bert_and_tokenizer():
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
    torch.manual_seed(0)
    return BertForPreTraining(cfg), tok


def test_bertviz_views_runs_the_model_and_returns_html():
    model, tok = _tiny_bert_and_tokenizer()
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


# ----------------------------------------------------------------------------------------------------
# bertviz offline: d3 and jQuery come from installed packages, inside the page; nothing is fetched
# ----------------------------------------------------------------------------------------------------

# Records script errors and failed loads from the first line of the page on
_PROBE_HEAD = """<script>
window.__errors = [];
window.addEventListener("error", function (e) {
  var t = e.target;
  if (t && t !== window && (t.src || t.href)) { window.__errors.push("failed to load " + (t.src || t.href)); }
  else { window.__errors.push(String(e.message)); }
}, true);
</script>"""
# Once the page has loaded, writes what it drew into the page, which --dump-dom prints
_PROBE_TAIL = """<script>
window.addEventListener("load", function () {
  setTimeout(function () {
    var view = document.querySelector("[id^=bertviz]");
    var r = {
      svg: view ? view.querySelectorAll("svg").length : -1,
      lines: view ? view.querySelectorAll("svg line").length : -1,
      tokens: view ? Array.from(view.querySelectorAll("svg text")).map(function (t) { return t.textContent; }) : [],
      layerOptions: view ? view.querySelectorAll("#layer option").length : -1,
      remote: performance.getEntriesByType("resource").map(function (e) { return e.name; }),
      globals: [typeof window.d3, typeof window.jQuery, typeof window.requirejs],
      errors: window.__errors
    };
    var pre = document.createElement("pre");
    pre.id = "view-test-report";
    pre.textContent = JSON.stringify(r);
    document.body.appendChild(pre);
  }, 500);
});
</script>"""


def _open_offline(html: str, workdir) -> dict:
    """Open ``html`` (a page fragment) in headless Chromium with the network cut; return the probe's report."""
    page = workdir / "page.html"
    page.write_text(f"<!doctype html><html><head>{_PROBE_HEAD}</head><body>{html}{_PROBE_TAIL}</body></html>")
    command = [
        CHROMIUM,
        *CHROMIUM_FLAGS,
        f"--user-data-dir={workdir / 'profile'}",
        "--virtual-time-budget=10000",
        "--dump-dom",
        page.as_uri(),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    found = re.search(r'<pre id="view-test-report">(.*?)</pre>', result.stdout, re.S)
    assert found, f"the probe wrote no report (chromium exit {result.returncode}): {result.stderr[-500:]}"
    return json.loads(found.group(1).replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">"))


@pytest.mark.parametrize("view", ["head", "model"])
def test_bertviz_views_carry_their_scripts_and_fetch_nothing(view):
    model, tok = _tiny_bert_and_tokenizer()
    html = bertviz_views(model, tok, "Anna went to the park.", "She saw a dog.", view=view).data
    # nothing a browser would fetch: no script or link to a URL, no require.js paths, no CDN
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html, re.I)
    assert "require.config" not in html and "cdnjs" not in html
    assert not re.search(r"""["']https?://[^"']*\.js["']""", html)
    # what is left of http(s) is XML namespaces in d3 and comments naming where code came from
    urls = set(re.findall(r"https?://[^\s\"'<>)]+", html))
    assert all(
        u.startswith(("http://www.w3.org/", "https://d3js.org", "https://github.com/")) for u in urls
    ), urls
    # the scripts themselves are in the page: d3 5.7.0 (mpld3) and jQuery 3.7.1 (XStatic-jQuery)
    assert "// https://d3js.org v5.7.0" in html
    assert "/*! jQuery v3.7.1" in html
    # one script element, not cut short ("<script" also occurs in a regular expression of jQuery's)
    assert len(re.findall(r"<script[\s>]", html)) == 1 and html.count("</script>") == 1
    assert '"dog"' in html  # and the view's data


def test_bertviz_offline_page_refuses_a_page_it_does_not_know():
    from course_utils.plots import _offline_bertviz_page

    with pytest.raises(RuntimeError, match="bertviz 1.4"):
        _offline_bertviz_page("<div id='vis'></div><script>draw()</script>")


def test_bertviz_views_names_a_missing_script_package(monkeypatch):
    from course_utils import plots

    monkeypatch.setitem(plots._BERTVIZ_SCRIPTS, "d3", ("d3-for-bertviz", "no_such_module_here", "d3.js"))
    plots._packaged_script.cache_clear()
    model, tok = _tiny_bert_and_tokenizer()
    try:
        with pytest.raises(ModuleNotFoundError, match="pip install d3-for-bertviz"):
            bertviz_views(model, tok, "Anna went to the park.")
    finally:
        plots._packaged_script.cache_clear()


@pytest.mark.skipif(
    CHROMIUM is None,
    reason="Chromium is not installed, so the view cannot be opened in a browser: install Debian's "
    "`chromium` (apt-get install chromium)",
)
def test_bertviz_views_draw_in_a_browser_without_network(tmp_path):
    from bertviz import head_view

    model, tok = _tiny_bert_and_tokenizer()
    head = _open_offline(bertviz_views(model, tok, "Anna went to the park.", "She saw a dog.").data, tmp_path)
    assert head["errors"] == [] and head["remote"] == []
    # one line per (head, query, key) of layer 0: 2 heads x 14 x 14 tokens; both token columns drawn
    assert head["svg"] == 1 and head["lines"] == 2 * 14 * 14
    assert head["tokens"].count("dog") == 2 and head["layerOptions"] == 2
    # the libraries stayed inside the view's script: the page's globals are untouched
    assert head["globals"] == ["undefined", "undefined", "undefined"]
    whole = _open_offline(bertviz_views(model, tok, "Anna went to the park.", view="model").data, tmp_path)
    assert whole["errors"] == [] and whole["remote"] == [] and whole["svg"] >= 1 and whole["lines"] > 0

    # the probe sees the failure it is there to catch: bertviz's own page, which loads its scripts from a
    # CDN, draws nothing without a network
    enc = tok("Anna went to the park.", return_tensors="pt")
    with torch.no_grad():
        attentions = model(**enc, output_attentions=True).attentions
    tokens = tok.convert_ids_to_tokens(enc["input_ids"][0])
    online = _open_offline(head_view(attentions, tokens, html_action="return").data, tmp_path)
    assert online["lines"] == 0 and any("failed to load" in e for e in online["errors"])
