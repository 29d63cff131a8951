"""Draw img/fig_00_training_loop.png: the training loop (batch, forward, loss, backward, step) and epochs."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.patches import FancyBboxPatch  # noqa: E402

OUT = Path(__file__).with_suffix(".png")
STEPS = [
    ("1) take a batch\nof B examples", "#dbe9f6"),
    ("2) forward:\nmodel → predictions", "#fde9c9"),
    ("3) loss: how wrong?\n(one number)", "#f4cccc"),
    ("4) backward:\ngradient of the loss", "#e4d7f5"),
    ("5) step:\nw ← w − lr · gradient", "#d5ecd4"),
]


def main() -> None:
    fig, ax = plt.subplots(figsize=(7.5, 6))
    ax.set_xlim(-4.2, 4.2)
    ax.set_ylim(-4.0, 4.0)
    ax.axis("off")
    n = len(STEPS)
    radius = 2.7
    angles = np.pi / 2 - 2 * np.pi * np.arange(n) / n  # clockwise from the top
    points = [(radius * np.cos(a), radius * np.sin(a)) for a in angles]
    for (x, y), (text, color) in zip(points, STEPS):
        ax.add_patch(
            FancyBboxPatch((x - 1.25, y - 0.45), 2.5, 0.9, boxstyle="round,pad=0.05", fc=color, ec="black")
        )
        ax.text(x, y, text, ha="center", va="center", fontsize=10)
    for i in range(n):
        (x0, y0), (x1, y1) = points[i], points[(i + 1) % n]
        # shorten each arrow so that it runs between the boxes
        dx, dy = x1 - x0, y1 - y0
        ax.annotate("", xy=(x1 - 0.3 * dx, y1 - 0.3 * dy), xytext=(x0 + 0.3 * dx, y0 + 0.3 * dy),
                    arrowprops=dict(arrowstyle="->", lw=1.5))  # fmt: skip
    ax.text(0, 0.25, "one step", ha="center", fontsize=12, weight="bold")
    ax.text(0, -0.35, "an epoch = N / B steps,\nevery example seen once", ha="center", va="top", fontsize=10)
    fig.savefig(OUT, dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)


if __name__ == "__main__":
    main()
