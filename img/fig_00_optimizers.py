"""Draw img/fig_00_optimizers.png: SGD vs Adam, and what weight decay (AdamW) does to overfitting.

Measured, as in section 7 of notebooks/00_welcome.ipynb: an MLP with two hidden layers of 128 units on 60
noisy two-moons points (full batch), validated on 200 other points. Left: training loss of SGD and Adam,
each at the best of three learning rates after 200 steps. Right: validation loss of Adam without weight
decay and AdamW with decay 1 and 3, over 600 steps. Seeded, on the CPU, so the figure is the same every time.
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from sklearn.datasets import make_moons  # noqa: E402
from torch import nn  # noqa: E402

OUT = Path(__file__).with_suffix(".png")


def _data() -> tuple[torch.Tensor, ...]:
    X_np, y_np = make_moons(n_samples=1000, noise=0.2, random_state=0)
    small_np, small_y = make_moons(n_samples=60, noise=0.35, random_state=1)
    X_val = torch.tensor(X_np[800:], dtype=torch.float32)
    return (
        torch.tensor(small_np, dtype=torch.float32),
        torch.tensor(small_y),
        X_val,
        torch.tensor(y_np[800:]),
    )


def _fit(make_optimizer, steps: int, data) -> tuple[list[float], list[float]]:
    X, y, X_val, y_val = data
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 2))
    optimizer = make_optimizer(model.parameters())
    train, val = [], []
    for _ in range(steps):
        loss = F.cross_entropy(model(X), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            train.append(loss.item())
            val.append(F.cross_entropy(model(X_val), y_val).item())
    return train, val


def main() -> None:
    torch.set_num_threads(1)
    data = _data()
    fig, (left, right) = plt.subplots(1, 2, figsize=(9.5, 3.3))
    for name, make, lrs in (
        ("SGD", lambda p, lr: torch.optim.SGD(p, lr=lr), (0.1, 0.5, 2.0)),
        ("Adam", lambda p, lr: torch.optim.Adam(p, lr=lr), (1e-3, 1e-2, 1e-1)),
    ):
        runs = {lr: _fit(lambda p, lr=lr, make=make: make(p, lr), 200, data)[0] for lr in lrs}
        best = min(runs, key=lambda lr: runs[lr][-1])
        left.semilogy(runs[best], label=f"{name} (best lr = {best:g})")
    left.set(xlabel="step", ylabel="training loss", title="each optimizer at its best learning rate")
    left.legend()
    for name, make in (
        ("Adam, no weight decay", lambda p: torch.optim.Adam(p, lr=1e-2)),
        ("AdamW, weight decay 1", lambda p: torch.optim.AdamW(p, lr=1e-2, weight_decay=1.0)),
        ("AdamW, weight decay 3", lambda p: torch.optim.AdamW(p, lr=1e-2, weight_decay=3.0)),
    ):
        right.plot(_fit(make, 600, data)[1], label=name)
    right.set(
        xlabel="step", ylabel="validation loss", ylim=(0, 1.5), title="weight decay against overfitting"
    )
    right.legend()
    fig.tight_layout()
    fig.savefig(OUT, dpi=110, metadata={"Software": None})
    plt.close(fig)


if __name__ == "__main__":
    main()
