"""Draw img/fig_03_masks.png: a padding mask and a causal mask as query x key grids."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import ListedColormap  # noqa: E402

OUT = Path(__file__).with_suffix(".png")
TOKENS = ["[CLS]", "the", "cat", "sat", "[PAD]", "[PAD]"]


def grid(ax, keep: np.ndarray, title: str, labels: list[str]) -> None:
    ax.imshow(keep, cmap=ListedColormap(["#d9d9d9", "#5aae61"]), vmin=0, vmax=1)
    T = len(labels)
    for i in range(T):
        for j in range(T):
            ax.text(j, i, "✓" if keep[i, j] else "−∞", ha="center", va="center", fontsize=9)
    ax.set_xticks(range(T), labels, rotation=45, ha="right")
    ax.set_yticks(range(T), labels)
    ax.set_xticks(np.arange(-0.5, T), minor=True)
    ax.set_yticks(np.arange(-0.5, T), minor=True)
    ax.grid(which="minor", color="white", linewidth=2)
    ax.tick_params(which="minor", length=0)
    ax.set_xlabel("key (may be looked at?)")
    ax.set_ylabel("query")
    ax.set_title(title)


def main() -> None:
    T = len(TOKENS)
    real = np.array([t != "[PAD]" for t in TOKENS])
    padding = np.tile(real, (T, 1))  # the same for every query: padded keys are blocked
    causal = np.tril(np.ones((T, T), dtype=bool))
    fig, axes = plt.subplots(1, 2, figsize=(9, 4.4))
    grid(axes[0], padding, "padding mask (BERT)", TOKENS)
    grid(axes[1], causal, "causal mask (left-to-right models)", ["I", "love", "dogs", "and", "cats", "."])
    fig.tight_layout()
    fig.savefig(OUT, dpi=110, metadata={"Software": None})
    plt.close(fig)


if __name__ == "__main__":
    main()
