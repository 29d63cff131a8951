"""Draw fig_05_encoder_decoder.png: an encoder-decoder transformer trained with teacher forcing.

The decoder reads the target shifted right (``<bos> dog big the runs``) and is trained to predict the target
shifted left (``dog big the runs <eos>``): one input token under each label, the same length.

Run from the repository root: python img/fig_05_encoder_decoder.py
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyBboxPatch  # noqa: E402

OUT = Path(__file__).with_suffix(".png")
SOURCE = ["the", "big", "dog", "runs"]
DECODER_INPUT = ["<bos>", "dog", "big", "the", "runs"]
LABELS = ["dog", "big", "the", "runs", "<eos>"]
ARROW = {"arrowstyle": "-|>", "color": "black", "lw": 1.1}


def box(ax, x, y, w, h, text, fc, fontsize=10, ec="black"):
    ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.04", fc=fc, ec=ec))
    ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=fontsize)


def token_row(ax, x0, y, tokens, fc, width=0.72, gap=0.08):
    """One small box per token; returns the x centre of each."""
    centres = []
    for i, token in enumerate(tokens):
        x = x0 + i * (width + gap)
        box(ax, x, y, width, 0.42, token, fc, fontsize=9)
        centres.append(x + width / 2)
    return centres


def main() -> None:
    fig, ax = plt.subplots(figsize=(10.5, 6.2))
    ax.set_xlim(-0.1, 10.4)
    ax.set_ylim(-0.55, 7.0)
    ax.axis("off")

    # encoder: reads the whole source at once
    ax.add_patch(
        FancyBboxPatch(
            (0.45, 1.25), 3.4, 2.55, boxstyle="round,pad=0.08", fc="#eef3fb", ec="#3d85c6", ls="--"
        )
    )
    ax.text(
        0.2,
        2.5,
        "encoder × N",
        ha="center",
        va="center",
        rotation=90,
        fontsize=11,
        color="#3d85c6",
        weight="bold",
    )
    box(ax, 0.75, 1.55, 2.8, 0.75, "self-attention\n(sees the whole source)", "#cfe2f3")
    box(ax, 0.75, 2.75, 2.8, 0.6, "feed-forward", "#d9ead3")
    ax.annotate("", (2.15, 2.73), (2.15, 2.35), arrowprops=ARROW)
    centres = token_row(ax, 0.55, 0.35, SOURCE, "white")
    for x in centres:
        ax.annotate("", (x, 1.5), (x, 0.8), arrowprops=ARROW)
    ax.text(2.15, -0.05, "source", ha="center", fontsize=10, style="italic")

    # decoder: masked self-attention, cross-attention, feed-forward
    ax.add_patch(
        FancyBboxPatch((5.55, 1.25), 4.2, 3.7, boxstyle="round,pad=0.08", fc="#fdf2e9", ec="#e69138", ls="--")
    )
    ax.text(
        10.05,
        3.1,
        "decoder × N",
        ha="center",
        va="center",
        rotation=90,
        fontsize=11,
        color="#e69138",
        weight="bold",
    )
    box(ax, 5.85, 1.55, 3.6, 0.75, "masked self-attention\n(position t sees positions ≤ t)", "#fce5cd")
    box(ax, 5.85, 2.7, 3.6, 0.75, "cross-attention\nQ: decoder   K, V: encoder output", "#f4cccc")
    box(ax, 5.85, 3.85, 3.6, 0.6, "feed-forward", "#d9ead3")
    ax.annotate("", (7.65, 2.68), (7.65, 2.35), arrowprops=ARROW)
    ax.annotate("", (7.65, 3.83), (7.65, 3.5), arrowprops=ARROW)
    x0 = 5.65
    inputs = token_row(ax, x0, 0.35, DECODER_INPUT, "white")
    for x in inputs:
        ax.annotate("", (x, 1.5), (x, 0.8), arrowprops=ARROW)
    ax.text(7.65, -0.05, "decoder input = target shifted right", ha="center", fontsize=10, style="italic")
    labels = token_row(ax, x0, 5.75, LABELS, "#fff2cc")
    for x in labels:
        ax.annotate("", (x, 5.72), (x, 4.5), arrowprops=ARROW)
    ax.text(7.65, 6.45, "labels = target shifted left (one per input position)", ha="center", fontsize=10,
            style="italic")  # fmt: skip

    # the encoder's output (after all N layers) is the memory that every cross-attention reads
    ax.annotate(
        "",
        (5.83, 3.05),
        (2.15, 3.95),
        arrowprops={**ARROW, "lw": 2.2, "color": "#cc0000", "connectionstyle": "arc3,rad=-0.25"},
    )
    ax.text(4.45, 4.45, "encoder output\n= memory (keys, values)", ha="center", fontsize=10, color="#cc0000")
    fig.savefig(OUT, dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    print("wrote", OUT.name)


if __name__ == "__main__":
    main()
