"""Draw img/fig_00_learning_rate.png: gradient descent on f(w) = w^2 with three learning rates.

Each step multiplies w by (1 - 2 lr): lr = 0.1 shrinks steadily, lr = 0.9 oscillates but shrinks,
lr = 1.1 overshoots further at every step and diverges. The paths are computed, not sketched.
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

OUT = Path(__file__).with_suffix(".png")


def descend(lr: float, steps: int, w: float = 1.0) -> np.ndarray:
    path = [w]
    for _ in range(steps):
        w = w - lr * 2 * w  # the gradient of w**2 is 2w
        path.append(w)
    return np.array(path)


def main() -> None:
    cases = [(0.1, "shrinks steadily", 6), (0.9, "oscillates, shrinks", 6), (1.1, "diverges", 4)]
    fig, axes = plt.subplots(1, 3, figsize=(9.5, 3.0), sharey=True)
    grid = np.linspace(-2.2, 2.2, 200)
    for ax, (lr, title, steps) in zip(axes, cases):
        path = descend(lr, steps)
        ax.plot(grid, grid**2, color="lightgray")
        ax.plot(path, path**2, "o-", color="tab:blue", markersize=4)
        ax.annotate("start", (path[0], path[0] ** 2), textcoords="offset points", xytext=(4, 6), fontsize=9)
        ax.set_title(f"lr = {lr}: {title}", fontsize=10)
        ax.set_xlabel("weight w")
        ax.set_xlim(-2.2, 2.2)
        ax.set_ylim(-0.2, 4.8)
    axes[0].set_ylabel("loss w²")
    fig.tight_layout()
    fig.savefig(OUT, dpi=110, metadata={"Software": None})
    plt.close(fig)


if __name__ == "__main__":
    main()
