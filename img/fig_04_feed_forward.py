"""Draw img/fig_04_feed_forward.png: attention mixes tokens, the feed-forward block treats each token alone."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyBboxPatch  # noqa: E402

OUT = Path(__file__).with_suffix(".png")
TOKENS = ["the", "dog", "is", "not", "bad"]
COLORS = {"attention": "#fde9c9", "up": "#dbe9f6", "act": "#e8dff5", "down": "#dbe9f6", "token": "#f2f2f2"}


def box(ax, x, y, text, kind, w=1.5, h=0.5):
    ax.add_patch(
        FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.03", fc=COLORS[kind], ec="black")
    )
    ax.text(x, y, text, ha="center", va="center", fontsize=9)


def arrow(ax, x0, y0, x1, y1, color="black"):
    ax.annotate("", xy=(x1, y1), xytext=(x0, y0), arrowprops=dict(arrowstyle="->", lw=1.0, color=color))


def main() -> None:
    fig, ax = plt.subplots(figsize=(10, 5.2))
    ax.set_xlim(-0.6, 10.6)
    ax.set_ylim(-0.4, 7.4)
    ax.axis("off")
    xs = [1 + 2 * i for i in range(len(TOKENS))]
    for x, token in zip(xs, TOKENS):
        box(ax, x, 0, token, "token", w=1.2)
    # attention: every token reads every token
    ax.add_patch(
        FancyBboxPatch((0.1, 1.0), 9.8, 0.8, boxstyle="round,pad=0.03", fc=COLORS["attention"], ec="black")
    )
    ax.text(5, 1.4, "self-attention: mixes information BETWEEN tokens", ha="center", va="center", fontsize=10)
    for x in xs:
        for x2 in xs:
            ax.plot([x, x2], [0.3, 1.0], color="#c08a30", lw=0.5, alpha=0.6)
    # the feed-forward block: the same small MLP on each token, side by side
    for x in xs:
        arrow(ax, x, 1.8, x, 2.45)
        box(ax, x, 2.7, "Linear H→4H", "up")
        arrow(ax, x, 2.95, x, 3.45)
        box(ax, x, 3.7, "GELU", "act")
        arrow(ax, x, 3.95, x, 4.45)
        box(ax, x, 4.7, "Linear 4H→H", "down")
        arrow(ax, x, 4.95, x, 5.5)
        ax.text(x, 5.75, "out", ha="center", va="center", fontsize=9)
    ax.plot([0.1, 9.9], [6.35, 6.35], color="#555555", lw=0.8)
    ax.text(
        5,
        6.75,
        "feed-forward block: the SAME weights on every token, each token ALONE (no arrows between columns)",
        ha="center",
        va="center",
        fontsize=10,
    )
    ax.text(
        10.3,
        3.7,
        "2/3 of a\nlayer's\nparameters\n(8H² of 12H²)",
        ha="center",
        va="center",
        fontsize=9,
        color="#555555",
    )
    fig.savefig(OUT, dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)


if __name__ == "__main__":
    main()
