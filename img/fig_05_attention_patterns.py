"""Draw fig_05_attention_patterns.png: who may attend to whom in the three transformer families.

Encoder-only (BERT): every token sees every token. Decoder-only (GPT): each token sees itself and the
past (the causal mask). Encoder-decoder (translation): the decoder's cross-attention sees the whole
source. Run from the repository root: python img/fig_05_attention_patterns.py
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

OUT = Path(__file__).with_suffix(".png")

src = ["the", "big", "dog", "runs"]
tgt = ["<bos>", "dog", "big", "the"]
T = len(src)
panels = [
    ("encoder-only (BERT)\nself-attention, no mask", np.ones((T, T)), src, src),
    ("decoder-only (GPT)\nmasked self-attention", np.tril(np.ones((T, T))), tgt, tgt),
    ("encoder-decoder\ncross-attention: target → source", np.ones((T, T)), tgt, src),
]
fig, axes = plt.subplots(1, 3, figsize=(11, 4.4))
for ax, (title, grid, rows, cols) in zip(axes, panels):
    ax.imshow(grid, cmap="Blues", vmin=0, vmax=3)
    ax.set_xticks(range(T), cols, rotation=45)
    ax.set_yticks(range(T), rows)
    ax.set_xlabel("keys (attended to)")
    ax.set_title(title, fontsize=11)
    for i in range(T):
        for j in range(T):
            ax.text(j, i, "✓" if grid[i, j] else "·", ha="center", va="center", fontsize=12)
axes[0].set_ylabel("queries (attending)")
fig.tight_layout()
fig.savefig(OUT, dpi=110, bbox_inches="tight", metadata={"Software": None})
print("wrote", OUT.name)
