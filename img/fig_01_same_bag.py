"""Draw fig_01_same_bag.png: two sentences with opposite meanings and the same bag of words.

Run from the repository root: python img/fig_01_same_bag.py
"""

from collections import Counter
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

OUT = Path(__file__).with_suffix(".png")

sentences = ["Mary asked John to leave", "Mary asked to leave John"]
bags = [Counter(s.lower().split()) for s in sentences]
assert bags[0] == bags[1]  # the point of the figure
words = sorted(bags[0])

fig, axes = plt.subplots(1, 2, figsize=(9, 2.8), sharey=True)
for ax, sentence, bag, color in zip(axes, sentences, bags, ("tab:blue", "tab:orange")):
    ax.bar(words, [bag[w] for w in words], color=color, alpha=0.8)
    ax.set_title(f'"{sentence}"', fontsize=11)
    ax.set_ylim(0, 1.5)
    ax.set_yticks([0, 1])
    ax.spines[["top", "right"]].set_visible(False)
axes[0].set_ylabel("count")
fig.suptitle("Different meaning, identical bag of words", fontsize=12)
fig.tight_layout()
fig.savefig(OUT, dpi=110, metadata={"Software": None})
print("wrote", OUT.name)
