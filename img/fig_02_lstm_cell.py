"""Draw fig_02_lstm_cell.png: an LSTM cell with its cell state, three gates and the candidate.

Run from the repository root: python img/fig_02_lstm_cell.py
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.patches import Circle, FancyBboxPatch

OUT = Path(__file__).with_suffix(".png")

fig, ax = plt.subplots(figsize=(9, 4.8))
ax.set_xlim(0, 10)
ax.set_ylim(0, 6)
ax.axis("off")
arrow = {"arrowstyle": "-|>", "color": "black", "lw": 1.2}
ax.add_patch(FancyBboxPatch((1.2, 0.9), 7.6, 4.4, boxstyle="round,pad=0.05", fc="#f3f3f3", ec="grey"))

# the cell state: a conveyor belt along the top, changed only by * and +
ax.annotate("", (9.7, 4.6), (0.3, 4.6), arrowprops={**arrow, "lw": 2.5, "color": "#cc0000"})
ax.text(0.3, 4.85, "c(t-1)", fontsize=11, color="#cc0000")
ax.text(9.2, 4.85, "c(t)", fontsize=11, color="#cc0000")

gates = [  # (x, symbol, name, activation)
    (2.6, "f", "forget gate", "σ"),
    (4.2, "i", "input gate", "σ"),
    (5.6, "g", "candidate", "tanh"),
    (7.2, "o", "output gate", "σ"),
]
for x, sym, name, act in gates:
    color = "#ffe599" if act == "σ" else "#b6d7a8"
    ax.add_patch(FancyBboxPatch((x - 0.45, 1.6), 0.9, 0.7, boxstyle="round,pad=0.03", fc=color, ec="black"))
    ax.text(x, 1.95, f"{act}", ha="center", va="center", fontsize=12)
    ax.text(x, 1.25, f"{sym}: {name}", ha="center", va="center", fontsize=9)
ops = {"×f": (2.6, 4.6), "+": (4.9, 4.6), "×i": (4.9, 3.3), "×o": (7.9, 3.0)}
for label, (x, y) in ops.items():
    ax.add_patch(Circle((x, y), 0.25, fc="white", ec="black"))
    ax.text(x, y, label[0], ha="center", va="center", fontsize=12)
ax.annotate("", (2.6, 4.35), (2.6, 2.32), arrowprops=arrow)  # f -> times
ax.annotate("", (4.7, 3.4), (4.2, 2.32), arrowprops=arrow)  # i -> times
ax.annotate("", (5.1, 3.4), (5.6, 2.32), arrowprops=arrow)  # g -> times
ax.annotate("", (4.9, 4.35), (4.9, 3.55), arrowprops=arrow)  # i*g -> +
ax.add_patch(FancyBboxPatch((7.55, 3.8), 0.7, 0.45, boxstyle="round,pad=0.03", fc="#b6d7a8", ec="black"))
ax.text(7.9, 4.02, "tanh", ha="center", va="center", fontsize=9)
ax.annotate("", (7.9, 4.27), (7.9, 4.58), arrowprops=arrow)  # c(t) -> tanh
ax.annotate("", (7.9, 3.25), (7.9, 3.78), arrowprops=arrow)  # tanh -> times
ax.annotate("", (7.65, 3.0), (7.2, 2.32), arrowprops=arrow)  # o -> times
ax.annotate("", (9.7, 3.0), (8.15, 3.0), arrowprops={**arrow, "color": "#3d85c6", "lw": 2})
ax.text(9.2, 3.2, "h(t)", fontsize=11, color="#3d85c6")
# the inputs: previous hidden state and current word, fed to every gate
ax.annotate("", (7.2, 0.6), (0.3, 0.6), arrowprops={**arrow, "color": "#3d85c6", "lw": 2, "arrowstyle": "-"})
ax.text(0.3, 0.25, "h(t-1), x(t)", fontsize=11, color="#3d85c6")
for x, *_ in gates:
    ax.annotate("", (x, 1.05), (x, 0.6), arrowprops={**arrow, "color": "#3d85c6"})
ax.set_title("LSTM cell: c(t) = f·c(t-1) + i·g,   h(t) = o·tanh(c(t))", fontsize=12)
fig.tight_layout()
fig.savefig(OUT, dpi=110, metadata={"Software": None})
print("wrote", OUT.name)
