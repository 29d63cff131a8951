"""Draw img/fig_09_pretraining_step.png: one pretraining step, from a masked pair to the AdamW update."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyBboxPatch  # noqa: E402

OUT = Path(__file__).with_suffix(".png")
TOKENS = [
    "[CLS]",
    "theo",
    "ran",
    "to",
    "the",
    "[MASK]",
    ".",
    "[SEP]",
    "he",
    "wore",
    "a",
    "red",
    "coat",
    ".",
    "[SEP]",
]
SEGMENT_B = 8  # first token of sentence B
MASKED, TARGET = 5, "lake"


def box(ax, x, y, w, h, text, color, size=10, weight="normal"):
    ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.04", fc=color, ec="black", lw=1))
    ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=size, weight=weight)


def arrow(ax, start, end, text=None, color="black"):
    ax.annotate("", xy=end, xytext=start, arrowprops=dict(arrowstyle="->", lw=1.4, color=color))
    if text:
        ax.text((start[0] + end[0]) / 2 + 0.1, (start[1] + end[1]) / 2, text, fontsize=8.5, va="center")


def main() -> None:
    fig, ax = plt.subplots(figsize=(11, 5.6))
    ax.set_xlim(0, 16.5)
    ax.set_ylim(0, 8.4)
    ax.axis("off")

    # 1) the input: a pair, 15% of its ordinary tokens chosen
    for i, token in enumerate(TOKENS):
        color = "#dbe9f6" if i < SEGMENT_B else "#fde9c9"
        if i == MASKED:
            color = "#f4cccc"
        box(ax, 0.3 + i * 0.72, 0.5, 0.64, 0.55, token, color, size=7.5)
    ax.text(0.3, 0.15, "sentence A (segment 0)", fontsize=8.5, color="#3a6ea5")
    ax.text(0.3 + SEGMENT_B * 0.72, 0.15, "sentence B (segment 1): the next sentence, or not", fontsize=8.5,
            color="#b5651d")  # fmt: skip
    ax.text(
        0.3 + MASKED * 0.72 + 0.32, 1.25, f"chosen (label: {TARGET})", fontsize=8, ha="center", color="#a33"
    )

    # 2) the encoder
    box(ax, 0.3, 2.1, 15 * 0.72 - 0.08, 1.0, "BERT encoder: embeddings (token + segment + position), then the layers",
        "#e4d7f5", size=10)  # fmt: skip
    arrow(ax, (6.7, 1.1), (6.7, 2.05))

    # 3) the two heads and their losses
    cls_x, mask_x = 0.3 + 0.32, 0.3 + MASKED * 0.72 + 0.32
    box(ax, 0.1, 4.0, 2.7, 1.0, "pooler + NSP head\nIsNext / NotNext", "#d5ecd4", size=9)
    box(ax, 3.3, 4.0, 3.6, 1.0, "MLM head (tied to the word\nembeddings): 2,000 scores", "#d5ecd4", size=9)
    arrow(ax, (cls_x, 3.15), (cls_x + 0.4, 3.95), "[CLS]")
    arrow(ax, (mask_x, 3.15), (mask_x - 0.3, 3.95), "chosen positions only")
    box(ax, 0.1, 5.8, 2.7, 0.8, "NSP loss\n(cross-entropy)", "#fff2cc", size=9)
    box(ax, 3.3, 5.8, 3.6, 0.8, "MLM loss (cross-entropy\nat the chosen tokens)", "#fff2cc", size=9)
    arrow(ax, (1.45, 5.05), (1.45, 5.75))
    arrow(ax, (5.1, 5.05), (5.1, 5.75))
    box(ax, 1.0, 7.3, 5.2, 0.8, "loss = MLM loss + NSP loss", "#f4cccc", size=10, weight="bold")
    arrow(ax, (1.45, 6.65), (2.5, 7.25))
    arrow(ax, (5.1, 6.65), (4.5, 7.25))

    # 4) the update: train_step
    steps = [
        ("backward: gradients", "#e4d7f5"),
        ("clip: whole gradient\nto norm ≤ 1.0", "#dbe9f6"),
        ("AdamW step: decay on\nmatrices, not biases / LayerNorm", "#d5ecd4"),
        ("schedule step: warmup,\nthen linear decay", "#fde9c9"),
    ]
    for j, (text, color) in enumerate(steps):
        box(ax, 11.2, 7.0 - j * 1.45, 5.0, 0.95, text, color, size=9)
        if j:
            arrow(ax, (13.7, 7.0 - (j - 1) * 1.45 - 0.05), (13.7, 7.0 - j * 1.45 + 1.0))
    arrow(ax, (6.25, 7.7), (11.15, 7.5))
    ax.text(8.3, 7.85, "one step of train()", fontsize=9, ha="center", style="italic")
    ax.text(
        13.7, 2.1, "next batch: new pairs,\nnew masks", fontsize=9, ha="center", va="center", style="italic"
    )
    arrow(ax, (13.7, 2.65), (13.7, 2.35))
    fig.savefig(OUT, dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)


if __name__ == "__main__":
    main()
