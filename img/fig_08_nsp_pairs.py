"""Draw fig_08_nsp_pairs.png: which pairs next sentence prediction and sentence-order prediction label how.

Left: one document of five sentences. With sentence 2 as A, only sentence 3 is IsNext (label 0); an earlier
sentence, a sentence two steps ahead of the same document, or a sentence of another document are all
NotNext (label 1). Right: sentence-order prediction keeps the two consecutive sentences and asks only
whether they were swapped.

Run from the repository root: python img/fig_08_nsp_pairs.py
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyBboxPatch  # noqa: E402

OUT = Path(__file__).with_suffix(".png")
DOCUMENT = [
    "1  Ruby went to the museum.",
    "2  Her brother Sam was waiting.",
    "3  Sam looked at old paintings.",
    "4  Ruby bought a postcard.",
    "5  They went home at night.",
]
OTHER = "Ben fed the ducks at the lake."
GREEN, RED, BLUE = "#38761d", "#cc0000", "#3d85c6"


def box(ax, x, y, w, h, text, fc, ec="black", fontsize=9.5, weight="normal"):
    ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.03", fc=fc, ec=ec))
    ax.text(x + 0.12, y + h / 2, text, ha="left", va="center", fontsize=fontsize, weight=weight)


def main() -> None:
    fig, (left, right) = plt.subplots(1, 2, figsize=(13.5, 4.6), gridspec_kw={"width_ratios": [1.45, 1]})
    left.set_xlim(0, 13.5)
    right.set_xlim(0, 10.5)
    for ax in (left, right):
        ax.set_ylim(-0.4, 6.2)
        ax.axis("off")

    # next sentence prediction: A = sentence 2 and four candidate B's
    left.set_title("next sentence prediction (A = sentence 2)", fontsize=12, weight="bold")
    ys = [5.0, 4.0, 3.0, 2.0, 1.0]
    for i, (text, y) in enumerate(zip(DOCUMENT, ys)):
        fc = "#fff2cc" if i == 1 else "white"
        box(left, 0.2, y, 5.5, 0.62, text, fc, weight="normal")
    box(left, 0.2, -0.25, 5.5, 0.62, OTHER, "#eeeeee", ec="gray")
    left.text(2.95, 0.5, "another document", ha="center", fontsize=9, style="italic", color="gray")
    left.add_patch(FancyBboxPatch((0.05, 0.85), 5.8, 4.95, boxstyle="round,pad=0.05", fc="none",
                                  ec=BLUE, ls="--"))  # fmt: skip
    left.text(2.95, 5.95, "one document, sentences in order", ha="center", fontsize=9.5, color=BLUE)
    labels = [
        (3.0, "sentence 3: the next one", "IsNext  0", GREEN),
        (5.0, "sentence 1: earlier", "NotNext  1", RED),
        (2.0, "sentence 4: same document, not adjacent", "NotNext  1", RED),
        (0.05, "another document", "NotNext  1", RED),
    ]
    for y, what, label, colour in labels:
        left.annotate("", (5.85, y + 0.31), (6.5, y + 0.31),
                      arrowprops={"arrowstyle": "<|-", "color": colour, "lw": 1.6})  # fmt: skip
        left.text(6.6, y + 0.31, f"{label}", ha="left", va="center", fontsize=11, color=colour, weight="bold")
        left.text(9.2, y + 0.31, what, ha="left", va="center", fontsize=8.5, color="#444444")

    # sentence-order prediction: the same two sentences, kept or swapped
    right.set_title("sentence-order prediction (ALBERT)", fontsize=12, weight="bold")
    box(right, 0.3, 4.3, 6.2, 0.62, "A: Her brother Sam was waiting.", "#fff2cc")
    box(right, 0.3, 3.5, 6.2, 0.62, "B: Sam looked at old paintings.", "white")
    right.text(6.9, 4.21, "in order   0", ha="left", va="center", fontsize=11, color=GREEN, weight="bold")
    box(right, 0.3, 1.7, 6.2, 0.62, "A: Sam looked at old paintings.", "white")
    box(right, 0.3, 0.9, 6.2, 0.62, "B: Her brother Sam was waiting.", "#fff2cc")
    right.text(6.9, 1.61, "swapped   1", ha="left", va="center", fontsize=11, color=RED, weight="bold")
    right.text(
        0.3,
        -0.2,
        "same sentences, same topic: only the order tells the two apart",
        ha="left",
        fontsize=9.5,
        style="italic",
    )
    fig.savefig(OUT, dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    print("wrote", OUT.name)


if __name__ == "__main__":
    main()
