"""Draw img/fig_06_padding.png: two batches of pretraining pairs padded to a fixed length and per batch.

The lengths are those of real pairs of the course corpus (``PretrainingDataset`` on the first training
documents, the course tokenizer). Run from the repository root: python img/fig_06_padding.py
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import ListedColormap  # noqa: E402

from course_utils import world  # noqa: E402
from course_utils.data import PretrainingDataset  # noqa: E402
from course_utils.tokenizer import load_tokenizer  # noqa: E402

OUT = Path(__file__).with_suffix(".png")
MAX_LENGTH, BATCH, N_BATCHES = 64, 8, 2


def grid(lengths: list[int], width: int) -> np.ndarray:
    """Rows of 1 (real token) then 0 (padding), one row per sequence."""
    return np.array([[1] * n + [0] * (width - n) for n in lengths])


def main() -> None:
    dataset = PretrainingDataset(
        world.pretraining_corpus("train")[:200], load_tokenizer(), max_length=MAX_LENGTH
    )
    lengths = [len(ids) for ids in dataset.input_ids[: BATCH * N_BATCHES]]
    batches = [lengths[i : i + BATCH] for i in range(0, len(lengths), BATCH)]
    fixed = np.vstack([grid(b, MAX_LENGTH) for b in batches])
    per_batch = [grid(b, max(b)) for b in batches]

    cmap = ListedColormap(["#e4e4e4", "#5a8fc2"])
    fig, axes = plt.subplots(1, 2, figsize=(12, 3.8), gridspec_kw={"width_ratios": [MAX_LENGTH, MAX_LENGTH]})
    axes[0].imshow(fixed, cmap=cmap, vmin=0, vmax=1, aspect="auto")
    axes[0].set_title(
        f"fixed length {MAX_LENGTH}: {1 - fixed.mean():.0%} of the cells are [PAD]", fontsize=11
    )
    # per batch: each batch as wide as its longest pair, shown on the same scale
    canvas = np.full((len(lengths), MAX_LENGTH), np.nan)
    row = 0
    for g in per_batch:
        canvas[row : row + len(g), : g.shape[1]] = g
        row += len(g)
    shown = np.ma.masked_invalid(canvas)
    cmap_nan = cmap.with_extremes(bad="white")
    axes[1].imshow(shown, cmap=cmap_nan, vmin=0, vmax=1, aspect="auto")
    pads = sum((g == 0).sum() for g in per_batch) / sum(g.size for g in per_batch)
    axes[1].set_title(f"padded per batch (to its longest pair): {pads:.0%} [PAD]", fontsize=11)
    for ax in axes:
        ax.set_xlabel("position")
        ax.set_yticks([BATCH / 2 - 0.5 + BATCH * i for i in range(N_BATCHES)])
        ax.set_yticklabels([f"batch {i + 1}" for i in range(N_BATCHES)])
        for i in range(1, N_BATCHES):
            ax.axhline(BATCH * i - 0.5, color="black", linewidth=1.5)
    fig.text(0.5, 0.02, "blue: real tokens; grey: padding that the model still computes", ha="center",
             fontsize=10, color="dimgrey")  # fmt: skip
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    fig.savefig(OUT, dpi=110, metadata={"Software": None})
    plt.close(fig)


if __name__ == "__main__":
    main()
