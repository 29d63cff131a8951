"""What a training run records, step by step: the :class:`History` that ``train()`` returns and saves."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
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
        """The History that :meth:`to_dict` wrote (also from a checkpoint's or a training log's JSON).

        Args:
            data: a dict with the fields of a History; fields added in later versions may be missing.

        Returns:
            The History; a clear error if ``data`` is something else.
        """
        if not isinstance(data, Mapping):
            raise TypeError(
                f"History.from_dict needs a dict (from History.to_dict()), got a {type(data).__name__}"
            )
        known = {f.name for f in fields(cls)}
        unknown = sorted(str(k) for k in data if k not in known)
        if unknown:
            hint = " (a training log: pass log['history'])" if "history" in data else ""
            raise ValueError(
                f"not a History dict{hint}: unknown fields {unknown}; a History has {sorted(known)}"
            )
        kwargs = dict(data)
        try:
            kwargs["eval"] = [(int(step), dict(metrics)) for step, metrics in data.get("eval", [])]
        except (TypeError, ValueError):
            raise ValueError("the History's 'eval' must be a list of [step, {metric: value}] pairs") from None
        per_step = [name for name in ("steps", "train_loss", "lr", "grad_norm") if name in kwargs]
        lengths = {name: len(kwargs[name]) for name in per_step if isinstance(kwargs[name], list)}
        if len(lengths) != len(per_step) or len(set(lengths.values())) > 1:
            raise ValueError(
                f"the History's per-step lists must be lists of one length, got lengths {lengths}"
            )
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
        if mode not in (None, "min", "max"):
            raise ValueError(f"mode={mode!r} must be 'min' or 'max' (or None to choose from the name)")
        steps, values = self.eval_metric(metric)
        # a NaN (a diverged evaluation) is never the best; min() and max() would treat it unpredictably
        kept = [(s, v) for s, v in zip(steps, values) if not (isinstance(v, float) and math.isnan(v))]
        if values and not kept:
            raise ValueError(f"every evaluation recorded {metric!r} as NaN: the run diverged")
        steps, values = [s for s, _ in kept], [v for _, v in kept]
        if not values:
            known = sorted({k for _, m in self.eval for k in m})
            raise KeyError(f"no evaluation recorded {metric!r}; recorded metrics: {known or 'none'}")
        if mode is None:
            mode = "min" if ("loss" in metric or "perplexity" in metric) else "max"
        pick = min if mode == "min" else max
        i = pick(range(len(values)), key=values.__getitem__)
        return steps[i], values[i]

    def __len__(self) -> int:
        return len(self.steps)
