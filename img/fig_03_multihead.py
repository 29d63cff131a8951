"""Draw img/fig_03_multihead.png: multi-head attention splits H into nh heads of size hs and merges them."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyBboxPatch, Rectangle  # noqa: E402

OUT = Path(__file__).with_suffix(".png")
HEAD_COLORS = ["#8dd3c7", "#fdb462", "#bebada"]


def banded(ax, x, y, w, h, label):
    """A (T, H) tensor drawn as a rectangle with one colour band per head."""
    for i, color in enumerate(HEAD_COLORS):
        ax.add_patch(Rectangle((x + i * w / 3, y), w / 3, h, fc=color, ec="black", lw=0.8))
    ax.text(x + w / 2, y - 0.3, label, ha="center", va="top", fontsize=10)


def arrow(ax, x0, y0, x1, y1, text=""):
    ax.annotate("", xy=(x1, y1), xytext=(x0, y0), arrowprops=dict(arrowstyle="->", lw=1.3))
    if text:
        ax.text((x0 + x1) / 2, (y0 + y1) / 2 + 0.15, text, ha="center", va="bottom", fontsize=9)


def main() -> None:
    fig, ax = plt.subplots(figsize=(11, 3.8))
    ax.set_xlim(0, 16.5)
    ax.set_ylim(-1.2, 4.6)
    ax.axis("off")
    ax.add_patch(Rectangle((0.2, 1.0), 1.8, 2.0, fc="#dbe9f6", ec="black"))
    ax.text(1.1, 0.7, "x  (B, T, H)", ha="center", va="top", fontsize=10)
    for row, name in enumerate(["query", "key", "value"]):
        y = 3.4 - row * 1.5
        arrow(ax, 2.1, 2.0, 3.4, y + 0.4)
        ax.add_patch(FancyBboxPatch((3.5, y), 1.4, 0.8, boxstyle="round,pad=0.04", fc="#fde9c9", ec="black"))
        ax.text(4.2, y + 0.4, name, ha="center", va="center", fontsize=10)
        arrow(ax, 5.0, y + 0.4, 5.9, y + 0.4)
        for i, color in enumerate(HEAD_COLORS):
            ax.add_patch(Rectangle((6.0 + i * 0.6, y), 0.6, 0.8, fc=color, ec="black", lw=0.8))
    ax.text(
        6.9, -0.4, "split: view (B, T, nh, hs)\n→ transpose (B, nh, T, hs)", ha="center", va="top", fontsize=9
    )
    for i, color in enumerate(HEAD_COLORS):
        y = 3.3 - i * 1.3
        ax.add_patch(FancyBboxPatch((9.0, y), 2.2, 0.8, boxstyle="round,pad=0.04", fc=color, ec="black"))
        ax.text(10.1, y + 0.4, f"attention, head {i}", ha="center", va="center", fontsize=9)
        arrow(ax, 7.9, 2.0, 8.9, y + 0.4)
        arrow(ax, 11.3, y + 0.4, 12.6, 2.0)
    banded(ax, 12.7, 1.0, 2.0, 2.0, "merge: (B, T, H)")
    ax.text(8.2, 4.5, "H = nh × hs  (here nh = 3)", ha="center", fontsize=11)
    fig.savefig(OUT, dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)


if __name__ == "__main__":
    main()
