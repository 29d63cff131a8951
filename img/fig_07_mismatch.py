"""Draw img/fig_07_mismatch.png: where each masking recipe asks the model a question, and what fine-tuning uses."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyBboxPatch  # noqa: E402

OUT = Path(__file__).with_suffix(".png")

ASKED, NEVER, USED = "#c5e0b4", "#e7e6e6", "#9dc3e6"
PANELS = [
    (
        "pretraining, 100 % [MASK]",
        ["ruby", "[MASK]", "a", "gift", "in", "the", "[MASK]"],
        [NEVER, ASKED, NEVER, NEVER, NEVER, NEVER, ASKED],
        "questions only at [MASK]:\nthe output at a real word\nis never trained",
    ),
    (
        "pretraining, BERT 80/10/10",
        ["ruby", "[MASK]", "a", "gift", "in", "the", "shop"],
        [NEVER, ASKED, NEVER, NEVER, NEVER, NEVER, ASKED],
        "a chosen word may stay as it is\n(10 %) or be a random one (10 %):\nany real word may be a question",
    ),
    (
        "fine-tuning (or frozen features)",
        ["ruby", "bought", "a", "gift", "in", "the", "shop"],
        [USED] * 7,
        "no [MASK] anywhere:\nthe outputs at real words\nare all that is used",
    ),
]


def box(ax, x, y, text, fc, w=0.96, h=0.5):
    ax.add_patch(
        FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.02", fc=fc, ec="black", lw=1)
    )
    ax.text(x, y, text, ha="center", va="center", fontsize=7.8)


def main() -> None:
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.4))
    for ax, (title, tokens, colours, note) in zip(axes, PANELS):
        ax.set_xlim(-0.6, len(tokens) - 0.4)
        ax.set_ylim(-1.5, 2.0)
        ax.axis("off")
        ax.set_title(title, fontsize=10.5, weight="bold")
        for i, (token, colour) in enumerate(zip(tokens, colours)):
            box(ax, i, 0.0, token, "white")
            box(ax, i, 1.3, "out", colour)
            ax.annotate(
                "", xy=(i, 1.02), xytext=(i, 0.28), arrowprops={"arrowstyle": "->", "color": "#7f7f7f"}
            )
        ax.text((len(tokens) - 1) / 2, -0.95, note, ha="center", va="center", fontsize=9)
    handles = [
        plt.Rectangle((0, 0), 1, 1, fc=ASKED, ec="black"),
        plt.Rectangle((0, 0), 1, 1, fc=NEVER, ec="black"),
        plt.Rectangle((0, 0), 1, 1, fc=USED, ec="black"),
    ]
    labels = [
        "a question: the output is trained here",
        "no question at this position",
        "output used downstream",
    ]
    fig.legend(
        handles, labels, loc="lower center", ncol=3, fontsize=9, frameon=False, bbox_to_anchor=(0.5, -0.04)
    )
    fig.savefig(OUT, dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)


if __name__ == "__main__":
    main()
