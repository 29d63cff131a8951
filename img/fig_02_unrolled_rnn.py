"""Draw fig_02_unrolled_rnn.png: one RNN cell applied step after step, carrying a hidden state.

Run from the repository root: python img/fig_02_unrolled_rnn.py
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.patches import FancyBboxPatch

OUT = Path(__file__).with_suffix(".png")
words = ["the", "film", "was", "not", "bad"]

fig, ax = plt.subplots(figsize=(10, 3.6))
ax.set_xlim(-0.6, 2 * len(words) + 0.6)
ax.set_ylim(-0.4, 3.6)
ax.axis("off")
arrow = {"arrowstyle": "-|>", "color": "black", "lw": 1.3}
for t, word in enumerate(words):
    x = 1 + 2 * t
    ax.add_patch(
        FancyBboxPatch((x - 0.55, 1.2), 1.1, 0.8, boxstyle="round,pad=0.03", fc="#cfe2f3", ec="#3d85c6")
    )
    ax.text(x, 1.6, "RNN", ha="center", va="center", fontsize=11, weight="bold")
    ax.text(x, 0.0, f'x{t + 1}\n"{word}"', ha="center", va="center", fontsize=10)
    ax.annotate("", (x, 1.18), (x, 0.45), arrowprops=arrow)
    ax.annotate("", (x, 2.85), (x, 2.02), arrowprops=arrow)
    ax.text(x, 3.1, f"h{t + 1}", ha="center", va="center", fontsize=11)
    # the state flows to the next step
    ax.annotate("", (x + 1.43, 1.6), (x + 0.57, 1.6), arrowprops=arrow)
    ax.text(x + 1.0, 1.8, f"h{t + 1}", ha="center", fontsize=9, color="#3d85c6")
ax.annotate("", (0.43, 1.6), (-0.4, 1.6), arrowprops=arrow)
ax.text(0.0, 1.8, "h0", ha="center", fontsize=9, color="#3d85c6")
ax.text(
    len(words),
    -0.35,
    "the same weights at every step; step t must wait for step t-1",
    ha="center",
    fontsize=10,
    style="italic",
)
ax.set_title("An RNN unrolled over time: h_t = tanh(W_ih x_t + W_hh h_{t-1} + b)", fontsize=12)
fig.tight_layout()
fig.savefig(OUT, dpi=110, metadata={"Software": None})
print("wrote", OUT.name)
