"""Draw img/fig_04_residual.png: a plain stack beside a residual stack, with the path the gradient takes."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import Circle, FancyBboxPatch  # noqa: E402

OUT = Path(__file__).with_suffix(".png")


def box(ax, x, y, text, w=2.0, h=0.5):
    ax.add_patch(
        FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.03", fc="#dbe9f6", ec="black")
    )
    ax.text(x, y, text, ha="center", va="center", fontsize=10)


def plus(ax, x, y):
    ax.add_patch(Circle((x, y), 0.18, fc="white", ec="black"))
    ax.text(x, y, "+", ha="center", va="center", fontsize=11)


def arrow(ax, x0, y0, x1, y1, **kw):
    ax.annotate("", xy=(x1, y1), xytext=(x0, y0), arrowprops={"arrowstyle": "->", "lw": 1.2, **kw})


def main() -> None:
    fig, ax = plt.subplots(figsize=(10, 5.4))
    ax.set_xlim(-0.5, 12.5)
    ax.set_ylim(-1.3, 7.6)
    ax.axis("off")
    # plain stack: h = f(h), three times
    x = 2.2
    ax.text(x, 7.2, "plain: h = f(h)", ha="center", fontsize=12, weight="bold")
    ax.text(x, -0.1, "x", ha="center", fontsize=11)
    for i, y in enumerate((1.2, 3.2, 5.2)):
        arrow(ax, x, y - 1.0 if i else 0.15, x, y - 0.27)
        box(ax, x, y, f"layer {i + 1}: f")
    arrow(ax, x, 5.47, x, 6.7)
    ax.text(
        x,
        -0.9,
        "gradient: f′ × f′ × f′ × ...\n(the init decides: vanish or explode)",
        ha="center",
        fontsize=9.5,
    )
    # residual stack: h = h + f(h)
    x = 8.2
    ax.text(x, 7.2, "residual: h = h + f(h)", ha="center", fontsize=12, weight="bold")
    ax.text(x, -0.1, "x", ha="center", fontsize=11)
    y_in = 0.15
    for i, y in enumerate((1.2, 3.2, 5.2)):
        arrow(ax, x, y_in, x, y - 0.27)
        box(ax, x, y, f"layer {i + 1}: f")
        plus(ax, x, y + 0.85)
        arrow(ax, x, y + 0.25, x, y + 0.66)
        branch = y - 0.6
        ax.plot([x, x + 2.0, x + 2.0], [branch, branch, y + 0.85], color="#2a7a2a", lw=2)
        arrow(ax, x + 2.0, y + 0.85, x + 0.2, y + 0.85, color="#2a7a2a", lw=2)
        y_in = y + 1.03
    arrow(ax, x, y_in, x, 6.7)
    ax.text(x + 2.2, 3.0, "identity\npath", color="#2a7a2a", fontsize=10, va="center")
    ax.text(
        x,
        -0.9,
        "gradient: (1 + f′) × (1 + f′) × ...\nthe 1 reaches the input at any init",
        ha="center",
        fontsize=9.5,
    )
    fig.savefig(OUT, dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)


if __name__ == "__main__":
    main()
