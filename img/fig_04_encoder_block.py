"""Draw img/fig_04_encoder_block.png: a post-LN encoder layer (BERT) beside a pre-LN one."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import Circle, FancyBboxPatch  # noqa: E402

OUT = Path(__file__).with_suffix(".png")
COLORS = {"attention": "#fde9c9", "ffn": "#dbe9f6", "ln": "#d5ecd4"}


def box(ax, x, y, text, kind, w=3.3, h=0.55):
    ax.add_patch(
        FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.04", fc=COLORS[kind], ec="black")
    )
    ax.text(x, y, text, ha="center", va="center", fontsize=10)


def plus(ax, x, y):
    ax.add_patch(Circle((x, y), 0.2, fc="white", ec="black"))
    ax.text(x, y, "+", ha="center", va="center", fontsize=12)


def arrow(ax, x0, y0, x1, y1):
    ax.annotate("", xy=(x1, y1), xytext=(x0, y0), arrowprops=dict(arrowstyle="->", lw=1.2))


def skip(ax, x, y0, y1):
    """The residual path: out to the right of the column and back into the + at y1."""
    ax.plot([x, x + 1.9, x + 1.9], [y0, y0, y1], color="black", lw=1.2)
    arrow(ax, x + 1.9, y1, x + 0.22, y1)


def column(ax, x, pre_ln: bool, title: str) -> None:
    ax.text(x, 8.1, title, ha="center", fontsize=12, weight="bold")
    ax.text(x, 0.1, "x  (B, T, H)", ha="center", fontsize=10)
    y = 0.5
    for sub, name in (("attention", "multi-head self-attention"), ("ffn", "feed-forward H→4H→H")):
        branch = y + 0.4  # where the residual leaves the main path
        if pre_ln:
            box(ax, x, y + 1.0, "LayerNorm", "ln")
            box(ax, x, y + 2.0, name, sub)
            arrow(ax, x, y, x, y + 0.72)
            arrow(ax, x, y + 1.28, x, y + 1.72)
            plus(ax, x, y + 2.9)
            arrow(ax, x, y + 2.28, x, y + 2.7)
            skip(ax, x, branch, y + 2.9)
            y = y + 3.1
        else:
            box(ax, x, y + 1.0, name, sub)
            arrow(ax, x, y, x, y + 0.72)
            plus(ax, x, y + 1.9)
            arrow(ax, x, y + 1.28, x, y + 1.7)
            skip(ax, x, branch, y + 1.9)
            box(ax, x, y + 2.8, "LayerNorm", "ln")
            arrow(ax, x, y + 2.1, x, y + 2.52)
            y = y + 3.1
    arrow(ax, x, y - 0.05 if pre_ln else y - 0.02, x, 7.6)
    ax.text(x + 2.3, 3.6, "× L layers", ha="left", va="center", fontsize=10, color="#555555")
    formula = "x = x + sublayer(LN(x))" if pre_ln else "x = LN(x + sublayer(x))"
    ax.text(x, -0.5, formula, ha="center", fontsize=10, style="italic")


def main() -> None:
    fig, ax = plt.subplots(figsize=(10, 6))
    ax.set_xlim(-0.5, 12)
    ax.set_ylim(-0.9, 8.5)
    ax.axis("off")
    column(ax, 2.4, pre_ln=False, title="post-LN (BERT)")
    column(ax, 7.8, pre_ln=True, title="pre-LN (GPT-2 and later)")
    fig.savefig(OUT, dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)


if __name__ == "__main__":
    main()
