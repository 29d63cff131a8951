"""Figures for the course: training curves, confusion matrices, attention maps.

Every function returns the matplotlib ``Figure`` and never calls ``plt.show()``: in a notebook the figure
is displayed when it is the cell's value, a script can ``fig.savefig(...)``, a test can count its axes.
The attention heatmap is static, so it renders anywhere (GitHub, exported HTML, offline);
:func:`bertviz_views` gives bertviz's interactive views of the same attentions.
"""

from __future__ import annotations

import functools
import importlib.util
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from course_utils.history import History
from course_utils.metrics import confusion
from course_utils.utils import eval_mode, model_device

__all__ = ["bertviz_views", "plot_attention", "plot_confusion", "plot_history", "smooth"]


def _plt():
    import matplotlib.pyplot as plt

    return plt


# ----------------------------------------------------------------------------------------------------
# Training curves
# ----------------------------------------------------------------------------------------------------


def smooth(values: Sequence[float], weight: float = 0.9) -> list[float]:
    """Exponential moving average with bias correction (the first values are not pulled towards 0).

    Args:
        values: a noisy curve, e.g. the loss at every step.
        weight: in [0, 1); higher is smoother (0 returns the values unchanged).

    Returns:
        The smoothed curve, as long as ``values``.
    """
    if not 0.0 <= weight < 1.0:
        raise ValueError(f"weight={weight} must be in [0, 1)")
    if isinstance(values, str):
        raise TypeError("smooth expects a list of numbers (e.g. history.train_loss), not a string")
    out, avg = [], 0.0
    for i, v in enumerate(values, start=1):
        try:
            v = float(v)
        except (TypeError, ValueError):
            raise TypeError(f"values[{i - 1}] is {v!r}; smooth expects numbers") from None
        avg = weight * avg + (1 - weight) * v
        out.append(avg / (1 - weight**i))
    return out


def _as_history(history: Any) -> History:
    if isinstance(history, History):
        return history
    if isinstance(history, Mapping):
        data = history.get("history", history)  # a History dict or a training log
        try:
            return History.from_dict(data)
        except (TypeError, ValueError) as err:
            raise TypeError(
                f"history is a dict but not a History's to_dict() (keys {sorted(data)[:6]}): {err}; pass "
                "the History that train() returned"
            ) from None
    raise TypeError(
        f"history must be a course_utils.train.History or its to_dict(), got {type(history).__name__}"
    )


def plot_history(
    history: Any, metrics: Sequence[str] | None = None, smoothing: float = 0.9, title: str | None = None
):
    """Loss curves of a training run, and evaluation metrics.

    Panels, left to right: the loss (every step, its smoothed curve, and the evaluation loss); one panel
    per loss part when the model returned them (e.g. MLM and NSP); one panel per evaluation metric.

    Args:
        history: a :class:`course_utils.train.History` (or its ``to_dict()``, or a training log holding one
            under ``"history"``).
        metrics: evaluation metrics to plot besides the losses (default: every non-loss metric recorded).
        smoothing: weight of the moving average drawn over the raw curves (see :func:`smooth`).
        title: a title above the panels.

    Returns:
        The Figure; ``fig.axes[0]`` is the loss panel.
    """
    h = _as_history(history)
    if not h.steps:
        raise ValueError("the history is empty: nothing was trained yet")
    recorded = list(dict.fromkeys(k for _, m in h.eval for k in m))
    if metrics is None:
        metrics = [k for k in recorded if "loss" not in k]
    missing = [m for m in metrics if m not in recorded]
    if missing:
        raise KeyError(f"no evaluation recorded {missing}; recorded metrics: {recorded or 'none'}")
    panels = ["loss", *h.parts, *metrics]
    plt = _plt()
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.4), squeeze=False)
    for ax, name in zip(axes[0], panels):
        if name in metrics:
            steps, values = h.eval_metric(name)
            ax.plot(steps, values, "o-", color="C2", label=f"eval {name}")
            ax.set_ylabel(name)
        else:
            train = h.train_loss if name == "loss" else h.parts[name]
            steps = h.steps[-len(train) :]
            ax.plot(steps, train, color="C0", alpha=0.25, linewidth=0.8, label="train (each step)")
            ax.plot(steps, smooth(train, smoothing), color="C0", label="train (smoothed)")
            eval_steps, eval_values = h.eval_metric(name)
            if eval_values:
                ax.plot(eval_steps, eval_values, "o-", color="C1", label="eval")
            ax.set_ylabel(name.replace("_", " "))
        ax.set_xlabel("step")
        ax.set_title(name.replace("_", " "))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------------------------------------------
# Confusion matrix
# ----------------------------------------------------------------------------------------------------


def plot_confusion(
    cm: Any = None,
    labels: Sequence[str] | None = None,
    *,
    y_true: Any = None,
    y_pred: Any = None,
    normalize: bool = False,
    ax: Any = None,
    title: str | None = None,
):
    """A confusion matrix as an annotated heatmap: rows are true classes, columns predicted ones.

    Args:
        cm: a (C, C) matrix of counts, e.g. from :func:`course_utils.metrics.confusion`; or give
            ``y_true`` and ``y_pred`` instead.
        labels: class names in the order of the rows. With ``y_true``/``y_pred``, the labels themselves
            if the data holds names, else the names of classes 0, 1, ..., C-1.
        normalize: show each row as fractions (recall per class) instead of counts.
        ax: draw into these axes instead of a new figure.
        title: default: the accuracy.

    Returns:
        The Figure.
    """
    import seaborn as sns

    if (cm is None) == (y_true is None or y_pred is None):
        raise ValueError("give either cm, or both y_true and y_pred")
    if cm is None:
        values = set(np.asarray(y_true).tolist()) | set(np.asarray(y_pred).tolist())
        if labels is not None and values <= set(labels):
            order = list(labels)
        elif labels is not None:
            order = list(range(len(labels)))
        else:
            order = None
        cm = confusion(y_true, y_pred, labels=order)
        if labels is None:
            labels = [str(v) for v in sorted(values)]
    cm = np.asarray(cm.detach().cpu() if hasattr(cm, "detach") else cm)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"cm must be a square (C, C) matrix, got shape {cm.shape}")
    if not normalize and cm.dtype.kind == "f":
        if not np.all(np.isfinite(cm) & (cm == np.round(cm))):
            raise ValueError(
                "cm holds fractions, not counts; pass the counts (metrics.confusion) with normalize=True "
                "to show each row as fractions"
            )
        cm = cm.astype(int)  # whole numbers stored as floats are counts
    C = cm.shape[0]
    labels = [str(i) for i in range(C)] if labels is None else [str(x) for x in labels]
    if len(labels) != C:
        raise ValueError(f"{len(labels)} labels for a {C}x{C} confusion matrix")
    acc = np.trace(cm) / max(cm.sum(), 1)
    shown = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1) if normalize else cm
    if ax is None:
        size = max(3.2, 0.6 * C + 2)
        fig, ax = _plt().subplots(figsize=(size + 0.8, size), layout="constrained")
    sns.heatmap(
        shown,
        annot=True,
        fmt=".2f" if normalize else "d",
        cmap="Blues",
        xticklabels=labels,
        yticklabels=labels,
        ax=ax,
        vmin=0,
        vmax=1 if normalize else None,
        square=True,
        cbar_kws={"shrink": 0.8},
    )
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title if title is not None else f"accuracy {acc:.3f}")
    return ax.figure


# ----------------------------------------------------------------------------------------------------
# Attention
# ----------------------------------------------------------------------------------------------------


def _select_attention(attn: Any, layer: int | None, head: int | None) -> np.ndarray:
    """Reduce any of the usual attention layouts to (T, T) or (nh, T, T), as a NumPy array."""
    if isinstance(attn, (tuple, list)):  # model output: one (B, nh, T, T) tensor per layer
        if layer is None:
            if len(attn) != 1:
                raise ValueError(f"attn holds {len(attn)} layers; choose one with layer=0..{len(attn) - 1}")
            layer = 0
        if not -len(attn) <= layer < len(attn):
            raise IndexError(f"layer={layer} but the model has {len(attn)} layers")
        attn = attn[layer]
    elif layer is not None:
        raise ValueError("layer= needs the tuple of every layer's attentions (model output .attentions)")
    a = attn.detach().float().cpu().numpy() if isinstance(attn, torch.Tensor) else np.asarray(attn, float)
    if a.ndim == 4:
        if a.shape[0] != 1:
            raise ValueError(f"attention for a batch of {a.shape[0]} sequences; pick one, e.g. attn[0]")
        a = a[0]
    if a.ndim == 3 and head is not None:
        if not -a.shape[0] <= head < a.shape[0]:
            raise IndexError(f"head={head} but there are {a.shape[0]} heads")
        a = a[head]
    elif a.ndim == 2 and head is not None:
        raise ValueError("head= was given but attn is a single (T, T) map")
    if a.ndim not in (2, 3):
        raise ValueError(
            f"attention must be (T, T), (nh, T, T), (1, nh, T, T) or a tuple of layers; got {a.shape}"
        )
    return a


def plot_attention(
    attn: Any,
    tokens: Sequence[str],
    head: int | None = None,
    layer: int | None = None,
    key_tokens: Sequence[str] | None = None,
    ax: Any = None,
    title: str | None = None,
):
    """Attention weights as a heatmap: row i shows how much token i (the query) looks at each token.

    Args:
        attn: (T, T), (nh, T, T), (1, nh, T, T), or the tuple of every layer's attentions that
            ``model(..., output_attentions=True).attentions`` returns (then pick ``layer``).
        tokens: the T tokens (queries, and keys unless ``key_tokens`` is given).
        head: draw only this head; by default every head gets its own panel.
        layer: which layer, when ``attn`` holds every layer.
        key_tokens: the tokens of the keys, when they differ from the queries (cross-attention).
        ax: draw a single map into these axes.
        title: a title (default: the layer and head).

    Returns:
        The Figure.
    """
    for name, toks in (("tokens", tokens), ("key_tokens", key_tokens)):
        if isinstance(toks, str):
            raise TypeError(
                f"{name} must be a list of tokens (e.g. tokenizer.convert_ids_to_tokens(ids)), not a string"
            )
    a = _select_attention(attn, layer, head)
    keys = list(tokens if key_tokens is None else key_tokens)
    tokens = list(tokens)
    if a.shape[-2] != len(tokens) or a.shape[-1] != len(keys):
        raise ValueError(
            f"attention is {a.shape[-2]}x{a.shape[-1]} but there are {len(tokens)} query tokens and "
            f"{len(keys)} key tokens; pass the tokens of the same input"
        )
    maps = a[None] if a.ndim == 2 else a
    names = (
        [f"head {head}" if head is not None else ""] if a.ndim == 2 else [f"head {i}" for i in range(len(a))]
    )
    prefix = f"layer {layer}" if layer is not None else ""
    plt = _plt()
    if ax is not None:
        if len(maps) != 1:
            raise ValueError("ax= draws one map; choose a head with head=")
        fig, axes = ax.figure, [ax]
    else:
        T = len(tokens)
        side = min(6.0, max(2.8, 0.32 * T + 1.2))
        fig, grid = plt.subplots(
            1, len(maps), figsize=(side * len(maps) + 0.8, side), squeeze=False, layout="constrained"
        )
        axes = list(grid[0])
    vmax = float(maps.max()) if maps.size else 1.0
    for m, name, axis in zip(maps, names, axes):
        image = axis.imshow(m, cmap="viridis", vmin=0.0, vmax=vmax)
        axis.set_xticks(range(len(keys)), keys, rotation=90, fontsize=8)
        axis.set_yticks(range(len(tokens)), tokens, fontsize=8)
        axis.set_xlabel("attends to (key)")
        axis.set_ylabel("token (query)")
        label = title if title is not None else " ".join(x for x in (prefix, name) if x)
        axis.set_title(label or "attention")
    fig.colorbar(image, ax=axes, shrink=0.8)
    return fig


def bertviz_views(
    model: torch.nn.Module,
    tokenizer: Any,
    sentence_a: str,
    sentence_b: str | None = None,
    view: str = "head",
    device: torch.device | str | None = None,
    **view_kwargs: Any,
):
    """bertviz's interactive attention views for the course model (or any BERT that returns attentions).

    Runs the model once with ``output_attentions=True`` and hands every layer's attentions (each
    (1, nh, T, T)) and the tokens to ``bertviz.head_view`` or ``bertviz.model_view``.

    Works offline: bertviz's page would load require.js, d3 5.7.0 and jQuery 2.0.0 from a CDN when a
    browser shows it (blank without a network). Here those scripts are put into the page itself, read
    from two packages on PyPI (d3 5.7.0 from ``mpld3``, jQuery from ``XStatic-jQuery``), and a few lines
    of JavaScript hand them to bertviz's code in place of require.js; the page fetches nothing. It still
    needs a front end that runs the scripts of an output (JupyterLab, Notebook, VS Code, Colab), so keep
    :func:`plot_attention` beside it for GitHub and other static views.

    Args:
        model: a course model (or a ``transformers`` BERT).
        tokenizer: the model's tokenizer.
        sentence_a, sentence_b: one sentence, or a pair (then bertviz can filter by sentence).
        view: ``"head"`` (one layer, heads as colours) or ``"model"`` (every layer and head at once).
        device: where to run the model (default: where it is).
        view_kwargs: passed on to bertviz (e.g. ``layer=1``, ``heads=[0]``, ``display_mode="light"``).

    Returns:
        An ``IPython.display.HTML`` object: the notebook shows it; ``.data`` is the HTML to save (a
        self-contained page fragment, about 0.4 MB, most of it d3 and jQuery).
    """
    from bertviz import head_view, model_view

    views = {"head": head_view, "model": model_view}
    if view not in views:
        raise ValueError(f"view={view!r} must be 'head' or 'model'")
    if device is None:
        device = model_device(model)
    enc = tokenizer(sentence_a, sentence_b, return_tensors="pt")
    inputs = {
        k: v.to(device) for k, v in enc.items() if k in ("input_ids", "token_type_ids", "attention_mask")
    }
    with eval_mode(model), torch.no_grad():
        out = model(**inputs, output_attentions=True)
    if not out.attentions:
        raise ValueError("the model returned no attentions; it must accept output_attentions=True")
    # 4 decimals are plenty for the lines' opacity, and keep the page's data a third of the size
    attention = tuple(a.detach().cpu().double().round(decimals=4) for a in out.attentions)
    ids = inputs["input_ids"][0].tolist()
    tokens = tokenizer.convert_ids_to_tokens(ids)
    b_start = None
    if sentence_b is not None:
        types = inputs.get("token_type_ids")
        if types is None or not bool((types[0] == 1).any()):
            raise ValueError("a sentence pair needs a tokenizer that returns token_type_ids")
        b_start = int((types[0] == 1).nonzero()[0])
    page = views[view](attention, tokens, sentence_b_start=b_start, html_action="return", **view_kwargs)
    return type(page)(_offline_bertviz_page(page.data))


# The scripts bertviz's page needs, from packages on PyPI (never from a CDN): {module name: (PyPI
# package, its import name, the file inside it)}. d3 must be v4 or v5: bertviz's event handlers take
# (d, i), which d3 v6 changed.
_BERTVIZ_SCRIPTS = {
    "d3": ("mpld3", "mpld3", "js/d3.v5.min.js"),  # d3 5.7.0, the version bertviz asks the CDN for
    # jQuery 3.7.1 without ajax and effects, which bertviz does not use (it asks the CDN for 2.0.0)
    "jquery": ("XStatic-jQuery", "xstatic.pkg.jquery", "data/jquery.slim.min.js"),
}
# What bertviz 1.4 puts in the page to fetch them: a <script src> for require.js, and require.config paths
_REQUIRE_TAG = re.compile(r'<script src="https?://[^"]*require[^"]*\.js"></script>')
_REQUIRE_CONFIG = re.compile(r"require\.config\(\s*\{\s*paths:\s*\{[^}]*\}\s*\}\s*\);")
_SCRIPT_OPEN = '<script type="text/javascript">'


@functools.cache
def _packaged_script(module: str) -> str:
    """The source of d3 or jQuery as a package installed from PyPI ships it (located without importing it)."""
    distribution, package, relative = _BERTVIZ_SCRIPTS[module]
    spec = importlib.util.find_spec(package)
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    found = [Path(folder) / relative for folder in folders if (Path(folder) / relative).is_file()]
    if not found:
        raise ModuleNotFoundError(
            f"bertviz_views puts {module} into the page from the {distribution} package, so that the view "
            f"works without a network, but {relative} of it is not installed: pip install {distribution} "
            "(the course's requirements.txt has it)"
        )
    source = found[0].read_text(encoding="utf-8")
    # inside <script>, "</script" would end the element and "<!--" changes how it is parsed
    return re.sub(r"</(script)", r"<\\/\1", source, flags=re.I).replace("<!--", "<\\!--")


def _offline_bertviz_page(html: str) -> str:
    """bertviz's page with d3 and jQuery inside it and no request to the network.

    bertviz's script asks require.js (loaded from a CDN) for the modules ``"jquery"`` and ``"d3"``, whose
    paths are CDN URLs. Instead, its script runs inside a function that first evaluates the two libraries
    as CommonJS modules (so they set no global of the page and cannot clash with the front end's own
    require.js or jQuery), and whose local ``requirejs(names, callback)`` hands them to bertviz's code.
    """
    tags, configs = _REQUIRE_TAG.findall(html), _REQUIRE_CONFIG.findall(html)
    if len(tags) != 1 or len(configs) != 1 or html.count(_SCRIPT_OPEN) != 1:
        raise RuntimeError(
            "this version of bertviz builds its page differently from bertviz 1.4 (the require.js tag or "
            "its require.config was not found once), so its scripts cannot be put into the page; install "
            "the version in requirements.txt, or use plot_attention"
        )
    html = _REQUIRE_TAG.sub("", html).replace(configs[0], "")
    modules = "".join(
        f"load({name!r}, function (module, exports, define) {{\n{_packaged_script(name)}\n}});\n"
        for name in _BERTVIZ_SCRIPTS
    )
    loader = (
        "(function () {\n"
        "var modules = {};\n"
        "function load(name, body) {\n"
        "  var module = {exports: {}};\n"
        "  body.call(window, module, module.exports, undefined);\n"
        "  modules[name] = module.exports;\n"
        "}\n"
        f"{modules}"
        "function requirejs(names, callback) {\n"
        "  callback.apply(window, names.map(function (name) { return modules[name]; }));\n"
        "}\n"
    )
    head, body = html.split(_SCRIPT_OPEN)
    script, rest = body.rsplit("</script>", 1)
    return f"{head}{_SCRIPT_OPEN}\n{loader}{script}\n}})();\n</script>{rest}"
