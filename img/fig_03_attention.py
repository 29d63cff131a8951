"""Draw img/fig_03_attention.png: the steps of scaled dot-product attention, with tensor shapes."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyBboxPatch  # noqa: E402

OUT = Path(__file__).with_suffix(".png")


def box(ax, x, y, text, color, w=2.6, h=0.62):
    ax.add_patch(
        FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.05", fc=color, ec="black")
    )
    ax.text(x, y, text, ha="center", va="center", fontsize=11)


def arrow(ax, x0, y0, x1, y1):
    ax.annotate("", xy=(x1, y1), xytext=(x0, y0), arrowprops=dict(arrowstyle="->", lw=1.4))


def main() -> None:
    fig, ax = plt.subplots(figsize=(7.5, 6.4))
    ax.set_xlim(0, 10.2)
    ax.set_ylim(0, 9.6)
    ax.axis("off")
    inputs = {"q": 3.2, "k": 5.8, "v": 8.8}
    for name, x in inputs.items():
        box(ax, x, 0.6, f"{name}  (B, nh, T, hs)", "#dbe9f6", w=2.4)
    steps = [
        (4.5, 2.0, "1) scores = q @ kᵀ", "(B, nh, T, T)"),
        (4.5, 3.4, "2) ÷ √hs", "variance back to ~1"),
        (4.5, 4.8, "3) + mask", "blocked keys → −∞"),
        (4.5, 6.2, "4) softmax over keys", "each row sums to 1"),
    ]
    arrow(ax, inputs["q"], 0.95, 4.2, 1.65)
    arrow(ax, inputs["k"], 0.95, 4.8, 1.65)
    for i, (x, y, text, note) in enumerate(steps):
        box(ax, x, y, text, "#fde9c9", w=3.4)
        ax.text(x - 1.9, y, note, ha="right", va="center", fontsize=9, color="#555555")
        if i:
            arrow(ax, x, steps[i - 1][1] + 0.35, x, y - 0.35)
    box(ax, 6.8, 7.8, "5) weights @ v", "#d5ecd4", w=3.0)
    arrow(ax, 4.5, 6.55, 6.2, 7.45)
    arrow(ax, inputs["v"], 0.95, 7.8, 7.45)
    box(ax, 6.8, 9.0, "output  (B, nh, T, hs)", "#dbe9f6", w=3.0)
    arrow(ax, 6.8, 8.15, 6.8, 8.65)
    ax.text(2.2, 9.0, "softmax(q kᵀ / √hs + mask) v", ha="center", va="center", fontsize=11, style="italic")
    fig.savefig(OUT, dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)


if __name__ == "__main__":
    main()
