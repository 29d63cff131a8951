"""Draw fig_05_encoder_decoder.png: an encoder-decoder transformer with teacher forcing.

Run from the repository root: python img/fig_05_encoder_decoder.py
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.patches import FancyBboxPatch

OUT = Path(__file__).with_suffix(".png")

fig, ax = plt.subplots(figsize=(10, 5.4))
ax.set_xlim(0, 10)
ax.set_ylim(0, 6.4)
ax.axis("off")
arrow = {"arrowstyle": "-|>", "color": "black", "lw": 1.3}


def box(x, y, w, h, text, fc):
    ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.04", fc=fc, ec="black"))
    ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=10)


# encoder
ax.add_patch(
    FancyBboxPatch((0.6, 1.4), 3.2, 2.6, boxstyle="round,pad=0.08", fc="#eef3fb", ec="#3d85c6", ls="--")
)
ax.text(2.2, 4.2, "encoder × N", ha="center", fontsize=11, color="#3d85c6", weight="bold")
box(0.9, 1.7, 2.6, 0.7, "self-attention\n(sees the whole source)", "#cfe2f3")
box(0.9, 2.9, 2.6, 0.6, "feed-forward", "#d9ead3")
ax.annotate("", (2.2, 2.88), (2.2, 2.45), arrowprops=arrow)
box(0.9, 0.3, 2.6, 0.6, "source: the big dog runs", "white")
ax.annotate("", (2.2, 1.65), (2.2, 0.95), arrowprops=arrow)

# decoder
ax.add_patch(
    FancyBboxPatch((5.6, 1.4), 3.6, 3.7, boxstyle="round,pad=0.08", fc="#fdf2e9", ec="#e69138", ls="--")
)
ax.text(7.4, 5.3, "decoder × N", ha="center", fontsize=11, color="#e69138", weight="bold")
box(5.9, 1.7, 3.0, 0.7, "masked self-attention\n(sees only the past)", "#fce5cd")
box(5.9, 2.8, 3.0, 0.7, "cross-attention\nQ: target   K, V: source", "#f4cccc")
box(5.9, 3.9, 3.0, 0.6, "feed-forward", "#d9ead3")
ax.annotate("", (7.4, 2.78), (7.4, 2.45), arrowprops=arrow)
ax.annotate("", (7.4, 3.88), (7.4, 3.55), arrowprops=arrow)
box(5.9, 0.3, 3.0, 0.6, "input: <bos> dog big the", "white")
ax.annotate("", (7.4, 1.65), (7.4, 0.95), arrowprops=arrow)
box(5.9, 5.7, 3.0, 0.55, "predict: dog big the runs <eos>", "white")
ax.annotate("", (7.4, 5.68), (7.4, 4.55), arrowprops=arrow)

# the encoder output feeds every cross-attention
ax.annotate(
    "",
    (5.88, 3.15),
    (3.5, 3.2),
    arrowprops={**arrow, "lw": 2.2, "color": "#cc0000", "connectionstyle": "arc3,rad=-0.15"},
)
ax.text(4.6, 3.75, "memory\n(keys, values)", ha="center", fontsize=10, color="#cc0000")
ax.text(
    5.0,
    0.02,
    "teacher forcing: the decoder reads the true target shifted right and predicts it shifted left",
    ha="center",
    fontsize=9.5,
    style="italic",
)
fig.tight_layout()
fig.savefig(OUT, dpi=110, metadata={"Software": None})
print("wrote", OUT.name)
