"""What a training run records, step by step: the :class:`History` that ``train()`` returns and saves."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["History"]


@dataclass
class History:
    """What happened during training, step by step; ``to_dict()`` gives plain JSON.

    Attributes:
        steps: optimizer step numbers 1, 2, ... (one entry per step).
        train_loss: training loss at each step.
        lr: learning rate used at each step.
        grad_norm: gradient norm at each step, before clipping.
        parts: other losses the model returned, by name (e.g. ``"mlm_loss"``, ``"nsp_loss"``), per step.
        eval: ``(step, metrics)`` for each evaluation, e.g. ``(100, {"loss": 2.3})``.
        seconds: wall time spent training (evaluation included), summed over resumed runs.
        stopped_early: True when the run stopped at its time limit before its last step.
    """

    steps: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    grad_norm: list[float] = field(default_factory=list)
    parts: dict[str, list[float]] = field(default_factory=dict)
    eval: list[tuple[int, dict[str, float]]] = field(default_factory=list)
    seconds: float = 0.0
    stopped_early: bool = False

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["eval"] = [[step, dict(metrics)] for step, metrics in self.eval]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> History:
        kwargs = dict(data)
        kwargs["eval"] = [(int(step), dict(metrics)) for step, metrics in data.get("eval", [])]
        return cls(**kwargs)

    def eval_metric(self, name: str) -> tuple[list[int], list[float]]:
        """Steps and values of one evaluation metric (skipping evaluations that lack it)."""
        pairs = [(step, m[name]) for step, m in self.eval if name in m]
        return [s for s, _ in pairs], [v for _, v in pairs]

    def best(self, metric: str = "loss", mode: str | None = None) -> tuple[int, float]:
        """The evaluation with the best value of ``metric``.

        Args:
            metric: a key of the evaluation dicts.
            mode: ``"min"`` or ``"max"``; by default ``"min"`` for names containing "loss" or
                "perplexity", ``"max"`` otherwise (accuracy, F1, ...).

        Returns:
            ``(step, value)``.
        """
        steps, values = self.eval_metric(metric)
        if not values:
            known = sorted({k for _, m in self.eval for k in m})
            raise KeyError(f"no evaluation recorded {metric!r}; recorded metrics: {known or 'none'}")
        if mode is None:
            mode = "min" if ("loss" in metric or "perplexity" in metric) else "max"
        if mode not in ("min", "max"):
            raise ValueError(f"mode={mode!r} must be 'min' or 'max'")
        pick = min if mode == "min" else max
        i = pick(range(len(values)), key=values.__getitem__)
        return steps[i], values[i]

    def __len__(self) -> int:
        return len(self.steps)
