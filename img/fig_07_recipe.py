"""Draw img/fig_07_recipe.png: BERT's masking of one sentence, decision by decision, and the labels it leaves."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyBboxPatch  # noqa: E402

OUT = Path(__file__).with_suffix(".png")

TOKENS = ["[CLS]", "ruby", "bought", "a", "gift", "in", "the", "shop", "on", "the", "way", "home", "[SEP]"]
# what happens to each position: None = not chosen, else (input shown, colour, label)
CHOSEN = {
    2: ("lemon", "#f4b183", "bought"),  # random token (10 %)
    7: ("shop", "#c5e0b4", "shop"),  # unchanged (10 %)
    10: ("[MASK]", "#9dc3e6", "way"),  # [MASK] (80 %)
}
SPECIAL = {0, len(TOKENS) - 1}


def box(ax, x, y, text, fc, w=0.92, h=0.55, weight="normal", ec="black"):
    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.02", fc=fc, ec=ec, lw=1))
    ax.text(x, y, text, ha="center", va="center", fontsize=8.5 if weight == "bold" else 9, weight=weight)


def main() -> None:
    fig, ax = plt.subplots(figsize=(12.5, 4.6))
    ax.set_xlim(-3.0, len(TOKENS) + 3.4)
    ax.set_ylim(-0.9, 4.3)
    ax.axis("off")
    rows = {"text": 3.6, "input": 1.9, "labels": 0.4}
    ax.text(-2.9, rows["text"], "1. tokens", va="center", fontsize=10, weight="bold")
    ax.text(-2.9, rows["input"], "2. model input", va="center", fontsize=10, weight="bold")
    ax.text(-2.9, rows["labels"], "3. labels", va="center", fontsize=10, weight="bold")
    for i, token in enumerate(TOKENS):
        special = i in SPECIAL
        chosen = i in CHOSEN
        box(
            ax, i, rows["text"], token, "#e7e6e6" if special else "white", ec="#c00000" if chosen else "black"
        )
        shown, colour, label = CHOSEN.get(i, (token, "#e7e6e6" if special else "white", None))
        box(ax, i, rows["input"], shown, colour, weight="bold" if chosen else "normal")
        box(
            ax,
            i,
            rows["labels"],
            label or "-100",
            "#fff2cc" if label else "white",
            weight="bold" if label else "normal",
        )
        arrow = {"arrowstyle": "->", "color": "#c00000" if chosen else "#bfbfbf"}
        ax.annotate("", xy=(i, rows["input"] + 0.3), xytext=(i, rows["text"] - 0.3), arrowprops=arrow)
    ax.text(
        len(TOKENS) - 0.3,
        rows["text"],
        "15 % of the ordinary\ntokens are chosen (red);\n[CLS], [SEP], [PAD] never",
        va="center",
        fontsize=8.5,
        color="#c00000",
    )
    ax.text(
        len(TOKENS) - 0.3,
        rows["input"],
        "a chosen token becomes\n[MASK], a random token,\nor stays (see below)",
        va="center",
        fontsize=8.5,
    )
    ax.text(
        len(TOKENS) - 0.3,
        rows["labels"],
        "the original token at the\nchosen positions; -100\n(skipped by the loss)\neverywhere else",
        va="center",
        fontsize=8.5,
        color="#7f6000",
    )
    legend = [
        ("#9dc3e6", "80 % of the chosen: [MASK]"),
        ("#f4b183", "10 %: a random ordinary token"),
        ("#c5e0b4", "10 %: unchanged (still predicted)"),
    ]
    for k, (colour, text) in enumerate(legend):
        box(ax, -0.2 + 4.7 * k, -0.55, "", colour, w=0.4, h=0.3)
        ax.text(0.1 + 4.7 * k, -0.55, text, va="center", fontsize=9)
    fig.savefig(OUT, dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)


if __name__ == "__main__":
    main()
