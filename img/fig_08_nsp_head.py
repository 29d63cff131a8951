"""Draw fig_08_nsp_head.png: the next-sentence-prediction head reads only the [CLS] position.

``[CLS] a [SEP] b [SEP]`` with segment ids 0 and 1 goes through the encoder; the pooler turns the last hidden
state of [CLS] into ``tanh(W h + b)`` (``bert.pooler``), and ``cls.seq_relationship`` (H -> 2) gives the two
logits, IsNext (0) and NotNext (1).

Run from the repository root: python img/fig_08_nsp_head.py
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyBboxPatch  # noqa: E402

OUT = Path(__file__).with_suffix(".png")
TOKENS = ["[CLS]", "she", "made", "tea", "[SEP]", "then", "she", "read", "[SEP]"]
SEGMENTS = [0, 0, 0, 0, 0, 1, 1, 1, 1]
ARROW = {"arrowstyle": "-|>", "color": "black", "lw": 1.1}


def box(ax, x, y, w, h, text, fc, fontsize=10, ec="black", weight="normal"):
    ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.04", fc=fc, ec=ec))
    ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=fontsize, weight=weight)


def main() -> None:
    fig, ax = plt.subplots(figsize=(10.5, 6.0))
    ax.set_xlim(-0.3, 10.6)
    ax.set_ylim(-0.9, 7.4)
    ax.axis("off")
    width, gap = 0.95, 0.15
    centres = []
    for i, (token, segment) in enumerate(zip(TOKENS, SEGMENTS)):
        x = 0.2 + i * (width + gap)
        fc = "#cfe2f3" if segment == 0 else "#fce5cd"
        box(ax, x, 0.0, width, 0.5, token, fc, fontsize=9.5, weight="bold" if i == 0 else "normal")
        ax.text(x + width / 2, -0.4, str(segment), ha="center", fontsize=9, color="#555555")
        centres.append(x + width / 2)
        ax.annotate("", (x + width / 2, 1.15), (x + width / 2, 0.55), arrowprops=ARROW)
    ax.text(-0.25, -0.4, "segment", ha="left", fontsize=9, color="#555555")
    ax.text(
        -0.25, -0.8, "sentence A = segment 0, sentence B = segment 1", ha="left", fontsize=9, style="italic"
    )
    box(
        ax,
        0.1,
        1.2,
        centres[-1] + width / 2 - 0.0,
        1.1,
        "encoder: every token attends to every token of A and B",
        "#eef3fb",
    )
    hidden = []
    for i, x in enumerate(centres):
        colour = "#fff2cc" if i == 0 else "white"
        box(ax, x - 0.3, 2.75, 0.6, 0.45, "h", colour, fontsize=9)
        ax.annotate("", (x, 2.72), (x, 2.35), arrowprops=ARROW)
        hidden.append(x)
    ax.text(centres[4], 3.45, "the other positions feed the MLM head (unit 07)", ha="center", fontsize=9,
            color="#777777", style="italic")  # fmt: skip
    x = centres[0]
    ax.annotate("", (x, 4.05), (x, 3.22), arrowprops={**ARROW, "color": "#cc0000", "lw": 1.8})
    box(ax, x - 0.65, 4.1, 3.6, 0.6, "pooler: tanh(W h[CLS] + b)   (H → H)", "#f4cccc")
    ax.annotate("", (x, 5.25), (x, 4.75), arrowprops=ARROW)
    box(ax, x - 0.65, 5.3, 3.6, 0.6, "cls.seq_relationship   (H → 2)", "#f4cccc")
    ax.annotate("", (x, 6.45), (x, 5.95), arrowprops=ARROW)
    box(ax, x - 0.65, 6.5, 1.7, 0.55, "0 IsNext", "#d9ead3", weight="bold")
    box(ax, x + 1.25, 6.5, 1.7, 0.55, "1 NotNext", "#f4cccc", weight="bold")
    ax.text(x + 3.3, 5.6, "bert.pooler + cls.seq_relationship:\nthe only weights the NSP loss adds", ha="left",
            va="center", fontsize=10)  # fmt: skip
    fig.savefig(OUT, dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    print("wrote", OUT.name)


if __name__ == "__main__":
    main()
