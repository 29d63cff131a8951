"""Draw img/fig_04_layernorm.png: LayerNorm on one token's vector, step by step, and over which axis it works."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

OUT = Path(__file__).with_suffix(".png")


def main() -> None:
    x = np.array([1.0, 2.0, 3.0, 4.0])
    mean, var = x.mean(), x.var()  # the biased variance, as LayerNorm uses
    normalised = (x - mean) / np.sqrt(var + 1e-12)
    gamma, beta = np.array([1.0, 2.0, 1.0, 0.5]), np.array([0.0, 0.0, 1.0, 0.0])
    steps = [
        (x, "one token's vector x\n(H = 4 numbers)"),
        (x - mean, f"x − mean\n(mean = {mean:.2f})"),
        (normalised, f"÷ √(var + eps)\n(var = {var:.2f}): mean 0, var 1"),
        (gamma * normalised + beta, "γ · x̂ + β\n(learned scale and shift)"),
    ]
    fig, axes = plt.subplots(1, 5, figsize=(13, 3.2), gridspec_kw={"width_ratios": [1, 1, 1, 1, 1.25]})
    for ax, (values, title) in zip(axes, steps):
        ax.bar(range(4), values, color=["#4c78a8" if v >= 0 else "#e45756" for v in values])
        ax.axhline(0, color="black", lw=0.8)
        ax.set_ylim(-3, 4.5)
        ax.set_xticks(range(4), [f"h{i}" for i in range(4)])
        ax.set_title(title, fontsize=10)
        for i, v in enumerate(values):
            ax.text(i, v + (0.15 if v >= 0 else -0.45), f"{v:.2f}", ha="center", fontsize=8)
    for ax in axes[1:4]:
        ax.set_yticks([])
    # which axis: over the H numbers of each token, never across tokens or the batch
    ax = axes[4]
    grid = np.random.default_rng(0).normal(size=(5, 6))
    ax.imshow(grid, cmap="RdBu", aspect="auto")
    for t in range(5):
        ax.annotate("", xy=(5.4, t), xytext=(-0.4, t), arrowprops=dict(arrowstyle="<->", lw=1.0))
    ax.set_xticks([])
    ax.set_yticks(range(5), [f"token {t}" for t in range(5)])
    ax.set_xlabel("H features")
    ax.set_title("each token (row) on its own", fontsize=10)
    plt.tight_layout()
    fig.savefig(OUT, dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)


if __name__ == "__main__":
    main()
