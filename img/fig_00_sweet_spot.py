"""Draw img/fig_00_sweet_spot.png: training and validation error against model size (polynomial degree).

The curves are measured, not sketched: polynomials of growing degree fitted by least squares to 15 noisy
samples of sin(3x), evaluated on 300 fresh samples (seeded, so the figure is the same every time).
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

OUT = Path(__file__).with_suffix(".png")


def main() -> None:
    rng = np.random.default_rng(0)
    x_train, x_val = rng.uniform(-1, 1, 15), rng.uniform(-1, 1, 300)
    y_train = np.sin(3 * x_train) + rng.normal(0, 0.2, 15)
    y_val = np.sin(3 * x_val) + rng.normal(0, 0.2, 300)
    degrees = np.arange(10)
    train, val = [], []
    for d in degrees:
        coef = np.polyfit(x_train, y_train, d)
        train.append(np.mean((np.polyval(coef, x_train) - y_train) ** 2))
        val.append(np.mean((np.polyval(coef, x_val) - y_val) ** 2))
    best = int(np.argmin(val))
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    ax.semilogy(degrees, train, "o-", label="training error")
    ax.semilogy(degrees, val, "o-", label="validation error")
    ax.axvline(best, color="gray", linestyle="--")
    top = max(val)
    ax.text(0.4, top, "underfitting:\ntoo simple", va="top", fontsize=10)
    ax.text(best - 0.1, top, "sweet\nspot", ha="right", va="top", fontsize=10)
    ax.text(9.0, 0.04, "overfitting:\nmemorises noise", ha="right", va="top", fontsize=10)
    ax.set_xlabel("model size (polynomial degree)")
    ax.set_ylabel("mean squared error")
    ax.legend(loc="lower left")
    fig.tight_layout()
    fig.savefig(OUT, dpi=110, metadata={"Software": None})
    plt.close(fig)


if __name__ == "__main__":
    main()
