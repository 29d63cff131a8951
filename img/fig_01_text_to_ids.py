"""Draw fig_01_text_to_ids.png: a sentence -> tokens -> ids -> bag-of-words counts.

Run from the repository root: python img/fig_01_text_to_ids.py
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.patches import FancyBboxPatch

OUT = Path(__file__).with_suffix(".png")

tokens = "i love dogs and dogs love snacks".split()
ids: dict[str, int] = {}
for t in tokens:
    ids.setdefault(t, len(ids) + 1)  # numbered in order of first appearance

fig, ax = plt.subplots(figsize=(9, 4.2))
ax.set_xlim(0, 9)
ax.set_ylim(0, 4.2)
ax.axis("off")

ax.text(0.1, 3.85, "text", fontsize=11, color="grey", va="center")
ax.text(4.5, 3.85, '"I love dogs and dogs love snacks."', fontsize=14, ha="center", va="center")
ax.text(0.1, 2.9, "tokens", fontsize=11, color="grey", va="center")
ax.text(0.1, 2.1, "ids", fontsize=11, color="grey", va="center")
palette = plt.get_cmap("tab10")
for i, tok in enumerate(tokens):
    x = 1.3 + i * 1.05
    color = palette(ids[tok] - 1)
    ax.add_patch(
        FancyBboxPatch((x - 0.45, 2.65), 0.9, 0.5, boxstyle="round,pad=0.02", fc=color, alpha=0.25, ec=color)
    )
    ax.text(x, 2.9, tok, ha="center", va="center", fontsize=12)
    ax.text(x, 2.1, str(ids[tok]), ha="center", va="center", fontsize=14, weight="bold", color=color)
    ax.annotate("", (x, 2.3), (x, 2.62), arrowprops={"arrowstyle": "->", "color": "grey"})

ax.text(0.1, 0.9, "bag of\nwords", fontsize=11, color="grey", va="center")
counts = {t: tokens.count(t) for t in ids}
for j, (tok, c) in enumerate(counts.items()):
    x = 1.6 + j * 1.5
    color = palette(ids[tok] - 1)
    ax.add_patch(plt.Rectangle((x - 0.3, 0.3), 0.6, 0.45 * c, fc=color, alpha=0.6))
    ax.text(x, 0.3 + 0.45 * c + 0.12, str(c), ha="center", fontsize=11)
    ax.text(x, 0.12, f"{ids[tok]}: {tok}", ha="center", fontsize=10)
ax.set_title("From text to numbers: split, number, count (order is lost in the last step)", fontsize=12)
fig.tight_layout()
fig.savefig(OUT, dpi=110, metadata={"Software": None})
print("wrote", OUT.name)
