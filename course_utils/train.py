"""One training loop for every unit of the course.

``train(model, loader, steps=...)`` does what every chapter needs and nothing hidden:

1. move a batch (a dict of tensors) to the device;
2. forward under :func:`course_utils.utils.autocast` (bf16 on CUDA, nothing elsewhere); ``loss = model(**batch).loss``;
3. backward, clip the gradient norm, one AdamW step, one learning-rate scheduler step;
4. record the loss (and its parts, such as ``mlm_loss`` and ``nsp_loss``), the learning rate and the
   gradient norm; every ``eval_every`` steps evaluate; every ``checkpoint_every`` steps save.

A run repeats exactly: the seed fixes the initial random state and a shuffling sampler is re-seeded at
the start of every epoch, so the order of the batches depends only on ``seed`` and the epoch. That is also
what makes ``resume=True`` exact: it reloads model, optimizer, scheduler and random state, skips the
batches already consumed in the current epoch and goes on as if it had never stopped.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.optim.lr_scheduler import LambdaLR
from tqdm.auto import tqdm

from course_utils.checkpoint import has_checkpoint, load_checkpoint, save_checkpoint, set_rng_state
from course_utils.history import History
from course_utils.utils import autocast, check_seed, eval_mode, get_device, model_device, set_seed

IGNORE_INDEX = -100  # the label of a position without a target (PyTorch's and transformers' convention)

__all__ = [
    "History",
    "evaluate",
    "linear_warmup_decay",
    "make_optimizer",
    "move_to_device",
    "accuracy",
    "is_main_process",
    "predict",
    "train",
    "train_step",
    "unwrap",
]


# ----------------------------------------------------------------------------------------------------
# Optimizer and schedule
# ----------------------------------------------------------------------------------------------------


def _no_decay_names(model: nn.Module) -> set[str]:
    """Names of the parameters that should not be decayed: biases and normalisation weights.

    Weight decay pulls weights towards zero. That regularises matrices, but a LayerNorm gain of 0 would
    switch its features off and a bias has nothing to regularise, so BERT leaves both alone.
    """
    names = set()
    for module_name, module in model.named_modules():
        is_norm = isinstance(module, (nn.LayerNorm, nn.GroupNorm, nn.BatchNorm1d, nn.BatchNorm2d))
        for param_name, p in module.named_parameters(recurse=False):
            full = f"{module_name}.{param_name}" if module_name else param_name
            if is_norm or param_name.endswith("bias") or p.ndim < 2:
                names.add(full)
    return names


def _check_number(name: str, value: Any, *, positive: bool, none_means: str | None = None) -> None:
    """A finite real number (not a bool), > 0 if ``positive`` else >= 0; None passes when it means something."""
    if value is None and none_means is not None:
        return
    is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not is_number or not math.isfinite(value) or value < 0 or (positive and value == 0):
        kind = "a positive" if positive else "a non-negative"
        alternative = f", or None for {none_means}" if none_means else ""
        raise ValueError(f"{name}={value!r} must be {kind} finite number{alternative}")


def make_optimizer(
    model: nn.Module,
    lr: float,
    weight_decay: float = 0.01,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-6,
) -> torch.optim.AdamW:
    """AdamW as BERT uses it: weight decay on weight matrices only, not on biases or LayerNorm weights.

    Args:
        model: the model to train; parameters with ``requires_grad=False`` (frozen) are left out.
        lr: peak learning rate (the schedule scales it).
        weight_decay: decoupled weight decay of the first group.
        betas, eps: Adam's moment coefficients and its numerical guard (BERT used eps=1e-6).

    Returns:
        An AdamW optimizer with two parameter groups, named ``"decay"`` and ``"no_decay"``
        (``group["name"]``); each group also lists its parameter names in ``group["param_names"]``.
    """
    _check_module(model)
    is_number = isinstance(lr, (int, float)) and not isinstance(lr, bool)
    if not is_number or not math.isfinite(lr) or not lr > 0:
        raise ValueError(f"lr={lr!r} must be a positive finite number, e.g. 1e-3 for a small model")
    _check_number("weight_decay", weight_decay, positive=False)
    no_decay = _no_decay_names(model)
    groups: dict[str, dict[str, list]] = {
        "decay": {"params": [], "param_names": []},
        "no_decay": {"params": [], "param_names": []},
    }
    for name, p in model.named_parameters():  # a tied (shared) parameter appears once
        if not p.requires_grad:
            continue
        g = groups["no_decay" if name in no_decay else "decay"]
        g["params"].append(p)
        g["param_names"].append(name)
    if not groups["decay"]["params"] and not groups["no_decay"]["params"]:
        raise ValueError("the model has no trainable parameters (all have requires_grad=False)")
    param_groups = [
        {"name": "decay", "weight_decay": weight_decay, **groups["decay"]},
        {"name": "no_decay", "weight_decay": 0.0, **groups["no_decay"]},
    ]
    param_groups = [g for g in param_groups if g["params"]]
    return torch.optim.AdamW(param_groups, lr=lr, betas=betas, eps=eps)


def linear_warmup_decay(optimizer: torch.optim.Optimizer, warmup_steps: int, total_steps: int) -> LambdaLR:
    """The BERT schedule: the learning rate rises linearly from 0 to its peak over ``warmup_steps``, then
    falls linearly to 0 at ``total_steps``.

    Warmup lets Adam's moment estimates settle before large steps are taken; the decay lets the model
    settle into a minimum at the end.

    Args:
        optimizer: its ``lr`` is the peak.
        warmup_steps: steps of the rise (0 starts at the peak).
        total_steps: the step at which the rate reaches 0.

    Returns:
        A ``LambdaLR``; call ``scheduler.step()`` after each ``optimizer.step()``.
    """
    if isinstance(total_steps, bool) or not isinstance(total_steps, int) or total_steps <= 0:
        raise ValueError(f"total_steps={total_steps!r} must be a positive integer")
    if (
        isinstance(warmup_steps, bool)
        or not isinstance(warmup_steps, int)
        or not 0 <= warmup_steps <= total_steps
    ):
        raise ValueError(
            f"warmup_steps={warmup_steps!r} must be an integer in [0, total_steps={total_steps}]"
        )

    def factor(step: int) -> float:
        if step < warmup_steps:
            return step / warmup_steps
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup_steps))

    return LambdaLR(optimizer, factor)


# ----------------------------------------------------------------------------------------------------
# Batches, evaluation, prediction
# ----------------------------------------------------------------------------------------------------


def move_to_device(batch: Any, device: torch.device | str) -> Any:
    """Move every tensor of a batch (a dict, list or tuple, nested) to ``device``."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, Mapping):
        return {k: move_to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(move_to_device(v, device) for v in batch)
    return batch


def _check_module(model: Any) -> None:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module (a model), got a {type(model).__name__}")


def _check_batch(batch: Any, where: str) -> Mapping[str, Any]:
    """The batch if it is a dict whose tensors agree on the batch size; else a clear error."""
    if not isinstance(batch, Mapping):
        raise TypeError(
            f"batch {where} is a {type(batch).__name__}, but the training loop calls model(**batch): "
            "make the DataLoader yield dicts such as {'input_ids': ..., 'attention_mask': ..., 'labels': ...} "
            "(a collate_fn that returns a dict does this)"
        )
    bad_keys = [k for k in batch if not isinstance(k, str)]
    if bad_keys:
        raise TypeError(f"batch {where} has keys that are not strings: {bad_keys!r}; use argument names")
    sizes = {k: v.size(0) for k, v in batch.items() if isinstance(v, torch.Tensor) and v.dim() > 0}
    if len(set(sizes.values())) > 1:
        listed = ", ".join(f"{k} {n}" for k, n in sizes.items())
        raise ValueError(
            f"the tensors of batch {where} disagree on the batch size (first dimension): {listed}; "
            "every tensor of a batch needs one row per example (check the collate_fn)"
        )
    return batch


def _check_forward_kwargs(forward_kwargs: Any) -> Mapping[str, Any]:
    if forward_kwargs is None:
        return {}
    if not isinstance(forward_kwargs, Mapping) or not all(isinstance(k, str) for k in forward_kwargs):
        raise TypeError(
            f"forward_kwargs={forward_kwargs!r:.80} must be a dict of keyword arguments for the model, "
            "e.g. {'masked_only': True}"
        )
    return forward_kwargs


def _check_no_clash(batch: Mapping[str, Any], kwargs: Mapping[str, Any], where: str) -> None:
    clash = sorted(set(batch) & set(kwargs))
    if clash:
        raise ValueError(
            f"forward_kwargs and batch {where} both give {clash}; pass each argument in one place only"
        )


def _check_eval_loader(loader: Any, name: str = "eval_loader") -> None:
    """An evaluation runs again and again, so its data must be re-iterable (a list or a DataLoader)."""
    if isinstance(loader, Iterator):
        raise TypeError(
            f"{name} is a one-shot iterator ({type(loader).__name__}): it would be empty at the second "
            "evaluation (or never end, if it is endless); pass a list of batches or the DataLoader itself"
        )
    if not isinstance(loader, Iterable):
        raise TypeError(
            f"{name} must be a DataLoader or a list of batches (dicts), got a {type(loader).__name__}"
        )


def _batch_size(batch: Mapping[str, Any]) -> int:
    for value in batch.values():
        if isinstance(value, torch.Tensor) and value.dim() > 0:
            return value.size(0)
    return 1


def _loss_parts(out: Any) -> dict[str, torch.Tensor]:
    """Loss components besides ``loss`` that a model returned (``mlm_loss``, ``nsp_loss``, ...)."""
    names = out.keys() if hasattr(out, "keys") else []
    return {k: out[k] for k in names if k.endswith("_loss") and k != "loss" and out[k] is not None}


def _forward(model: nn.Module, batch: Mapping[str, Any], device: torch.device, kwargs: Mapping[str, Any]):
    with autocast(device):
        return model(**batch, **kwargs)


def _loss_of(out: Any) -> Any:
    """``out.loss`` (None when the batch had no labels), or a clear error if the output has no such field."""
    if hasattr(out, "loss"):
        return out.loss
    if isinstance(out, Mapping) and "loss" in out:
        return out["loss"]
    raise TypeError(
        f"the model returned a {type(out).__name__}, but training and evaluate() read model(**batch).loss: "
        "return an output with a .loss field (every course model does; classic.WithCrossEntropy wraps a "
        "model that returns logits)"
    )


def _no_labelled_position(batch: Mapping[str, Any]) -> str | None:
    """The name of a label tensor of ``batch`` whose every entry is IGNORE_INDEX, if there is one."""
    for name, value in batch.items():
        if name.endswith("labels") and isinstance(value, torch.Tensor) and value.numel() > 0:
            if bool((value == IGNORE_INDEX).all()):
                return name
    return None


def _outputs(model: nn.Module, loader: Iterable, device: torch.device | str | None, kwargs: Any, what: str):
    """Yield ``(batch, output)`` for every batch of ``loader``, in eval mode and without gradients."""
    _check_module(model)
    kwargs = _check_forward_kwargs(kwargs)
    if not isinstance(loader, Iterable):
        raise TypeError(
            f"the {what} must be a DataLoader or a list of batches (dicts), got a {type(loader).__name__}"
        )
    device = model_device(model) if device is None else get_device(device)
    with eval_mode(model), torch.no_grad():
        for i, batch in enumerate(loader):
            where = f"#{i} of the {what}"
            batch = move_to_device(_check_batch(batch, where), device)
            _check_no_clash(batch, kwargs, where)
            yield batch, _forward(model, batch, device, kwargs)


def evaluate(
    model: nn.Module,
    loader: Iterable,
    device: torch.device | str | None = None,
    forward_kwargs: Mapping[str, Any] | None = None,
) -> dict[str, float]:
    """Mean loss over a data set, in eval mode (no dropout), weighting each batch by its size.

    Args:
        model: returns an output with ``.loss`` (the batches must carry labels).
        loader: yields dicts of tensors.
        device: where to run; by default the device the model is on.
        forward_kwargs: extra keyword arguments for every forward call (e.g. ``{"masked_only": True}``).

    Returns:
        ``{"loss": ...}`` plus the mean of every loss part the model returns (``mlm_loss``, ``nsp_loss``).
    """
    totals: dict[str, float] = {}
    count = 0
    for batch, out in _outputs(model, loader, device, forward_kwargs, "evaluation loader"):
        if _loss_of(out) is None:
            raise ValueError(
                "the model returned no loss during evaluation: the evaluation batches need labels"
            )
        n = _batch_size(batch)
        for name, value in {"loss": _loss_of(out), **_loss_parts(out)}.items():
            totals[name] = totals.get(name, 0.0) + float(value) * n
        count += n
    if count == 0:
        raise ValueError("the evaluation loader is empty")
    return {name: total / count for name, total in totals.items()}


def accuracy(model: nn.Module, loader: Iterable, device: torch.device | str | None = None) -> float:
    """Share of examples whose highest logit is their label, in eval mode, in one pass over ``loader``.

    Args:
        model: returns ``.logits`` of shape (B, num_classes).
        loader: yields dicts of tensors with ``labels`` of shape (B,) (passed on to the model too).
        device: where to run; by default the device the model is on.
    """
    correct = total = 0
    for batch, out in _outputs(model, loader, device, None, "loader"):
        if "labels" not in batch or out["logits"] is None:
            raise ValueError("accuracy needs batches with 'labels' and a model that returns 'logits'")
        correct += int((out["logits"].argmax(-1) == batch["labels"]).sum())
        total += batch["labels"].numel()
    if total == 0:
        raise ValueError("the loader is empty")
    return correct / total


def predict(
    model: nn.Module,
    loader: Iterable,
    device: torch.device | str | None = None,
    field: str = "logits",
    forward_kwargs: Mapping[str, Any] | None = None,
) -> torch.Tensor:
    """Run the model over a loader in eval mode and stack one output field of every batch (on the CPU).

    Args:
        model: the model.
        loader: yields dicts of tensors (labels may be present; they are passed on and ignored here).
        device: where to run; by default the device the model is on.
        field: which output to collect: ``"logits"``, ``"start_logits"``, ``"seq_relationship_logits"`` ...
        forward_kwargs: extra keyword arguments for every forward call.

    Returns:
        The outputs concatenated along the batch dimension, e.g. (N, num_labels), as float32.
    """
    if not isinstance(field, str):
        raise TypeError(f"field={field!r} must be the name of an output, e.g. 'logits'")
    chunks = []
    for _, out in _outputs(model, loader, device, forward_kwargs, "loader"):
        try:
            value = out[field]
        except (KeyError, AttributeError):
            value = None
        if not isinstance(value, torch.Tensor):
            raise ValueError(f"the model's output has no {field!r}; computed fields: {list(out.keys())}")
        chunks.append(value.detach().float().cpu())
    if not chunks:
        raise ValueError("the loader is empty")
    shapes = {tuple(c.shape[1:]) for c in chunks}
    if len(shapes) > 1:
        raise ValueError(
            f"the batches give {field} of different shapes {sorted(shapes)} (dynamic padding?), so they "
            "cannot be stacked; pad every batch to the same length for predict()"
        )
    return torch.cat(chunks)


# ----------------------------------------------------------------------------------------------------
# Random state and data order (what makes runs repeat and resume exactly)
# ----------------------------------------------------------------------------------------------------


@contextmanager
def _evaluation_rng(device: torch.device, seed: int, loader: Any):
    """Run an evaluation with the same random numbers every time, and leave training's random state alone.

    Every evaluation starts from ``seed`` (global generators and the loader's own collate generators),
    so a randomly masked evaluation set is masked the same way at every evaluation and the curves compare
    like with like; afterwards the training run continues exactly as if no evaluation had happened.
    """
    py, np_state = random.getstate(), np.random.get_state()
    own = {name: g.get_state() for name, g in _collate_generators(loader).items()}
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices, device_type="cuda" if devices else "cpu"):
        set_seed(seed)
        for name, g in _collate_generators(loader).items():
            g.set_state(own[name])
        yield
    random.setstate(py)
    np.random.set_state(np_state)
    for name, g in _collate_generators(loader).items():
        g.set_state(own[name])


def _seed_epoch_order(loader: Any, seed: int, epoch: int) -> None:
    """Make the order of one epoch's batches depend only on (seed, epoch).

    A shuffling DataLoader draws its permutation from the global random state when an epoch starts, which
    dropout also consumes; giving its sampler a generator seeded per epoch makes the order independent
    of everything else, so a resumed run sees the same batches as an uninterrupted one.
    """
    base = seed * 100_003 + epoch
    sampler = getattr(loader, "sampler", None)
    if sampler is not None and hasattr(sampler, "generator"):  # RandomSampler (shuffle=True)
        sampler.generator = torch.Generator().manual_seed(base)
    if hasattr(sampler, "set_epoch"):  # e.g. DistributedSampler
        sampler.set_epoch(epoch)
    if isinstance(loader, torch.utils.data.DataLoader):
        # the DataLoader draws its worker seeds from this generator (else from the global random state)
        loader.generator = torch.Generator().manual_seed(base + 7_919)


def _collate_generators(loader: Any) -> dict[str, torch.Generator]:
    """Random generators a collate_fn keeps for itself (e.g. a seeded MLM masker), by attribute name.

    They are saved in checkpoints too: a resumed run must continue their streams, not restart them.
    """
    collate = getattr(loader, "collate_fn", None)
    found = {}
    for name, value in vars(collate).items() if hasattr(collate, "__dict__") else ():
        if isinstance(value, torch.Generator) and value.device.type == "cpu":
            found[name] = value
    return found


def _restore_random_state(saved: Mapping[str, Any], loader: Any) -> None:
    """Put back the random state a checkpoint saved: global generators and the collate_fn's own."""
    set_rng_state(saved["rng"])
    generators = _collate_generators(loader)
    for name, state in saved["collate_rng"].items():
        if name not in generators:
            raise ValueError(
                f"the checkpoint saved the collate_fn's generator {name!r}, but this train_loader's "
                "collate_fn has none; use the same collate_fn to resume"
            )
        generators[name].set_state(torch.tensor(state, dtype=torch.uint8))


# ----------------------------------------------------------------------------------------------------
# The steps of a run: plan it, resume it, feed it batches, take a step, evaluate, save
# ----------------------------------------------------------------------------------------------------


@dataclass
class _Plan:
    """How long a run is and how often it evaluates, logs and saves (all in optimizer steps)."""

    total_steps: int
    steps_per_epoch: int
    eval_every: int
    log_every: int
    checkpoint_every: int | None


def _positive_int(name: str, value: Any) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value <= 0):
        raise ValueError(f"{name}={value!r} must be a positive integer or None")


def _plan_run(train_loader: Iterable, steps: int | None, epochs: int | None, **every: int | None) -> _Plan:
    """Check how long to train against the loader, and fill in the default intervals."""
    if (steps is None) == (epochs is None):
        raise ValueError(f"give exactly one of steps= or epochs= (got steps={steps!r}, epochs={epochs!r})")
    try:
        steps_per_epoch = len(train_loader)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(
            f"train_loader ({type(train_loader).__name__}) has no len(); use a DataLoader over a dataset "
            "with __len__ (the loop needs to know where each epoch ends)"
        ) from None
    if steps_per_epoch == 0:
        raise ValueError(
            "train_loader is empty (0 batches): is the dataset empty, or batch_size larger than the "
            "dataset with drop_last=True?"
        )
    for name, value in {"steps": steps, "epochs": epochs, **every}.items():
        _positive_int(name, value)
    total = steps if steps is not None else epochs * steps_per_epoch
    if isinstance(train_loader, Iterator) and total > steps_per_epoch:
        # it would run dry after one pass: say so now, not after an epoch of training
        raise ValueError(
            f"train_loader is a one-shot iterator ({type(train_loader).__name__}, {steps_per_epoch} batches) "
            f"but the run needs {total} steps: it cannot be iterated again (iter(loader)?); pass the "
            "DataLoader itself"
        )
    return _Plan(
        total_steps=total,
        steps_per_epoch=steps_per_epoch,
        eval_every=every["eval_every"] or max(1, total // 10),
        log_every=every["log_every"] or max(1, min(50, total // 100)),
        checkpoint_every=every["checkpoint_every"],
    )


def _resolve_warmup(warmup: float | int, total_steps: int) -> int:
    is_number = isinstance(warmup, (int, float)) and not isinstance(warmup, bool)
    if not is_number or not math.isfinite(warmup) or warmup < 0:
        raise ValueError(f"warmup={warmup!r} must be a fraction in [0, 1) or a number of steps")
    if isinstance(warmup, float):
        if warmup >= 1:
            raise ValueError(
                f"warmup={warmup} as a float is a fraction of the run and must be < 1; "
                "pass an int for a number of steps"
            )
        return int(round(warmup * total_steps))
    if warmup > total_steps:
        raise ValueError(f"warmup={warmup} steps is longer than the run ({total_steps} steps)")
    return warmup


def _resume(directory: Path, model, optimizer, scheduler, run_info: dict) -> tuple[int, History, dict]:
    """Load a checkpoint into model, optimizer and scheduler; return its step, history and random state."""
    ckpt = load_checkpoint(directory, model=model, optimizer=optimizer, scheduler=scheduler)
    saved = ckpt.extra.get("run", {})
    for key, value in run_info.items():
        if key in saved and saved[key] != value:
            raise ValueError(
                f"cannot resume: the checkpoint in {directory} was made with {key}={saved[key]}, "
                f"this run has {key}={value}; use the same settings or a new checkpoint_dir"
            )
    random_state = {"rng": ckpt.rng_state, "collate_rng": ckpt.extra.get("collate_rng", {})}
    return ckpt.step, ckpt.history or History(), random_state


def _batches(loader: Iterable, plan: _Plan, seed: int, start_step: int, saved_random: dict | None):
    """Yield ``(step, epoch, batch)`` from ``start_step + 1`` to the end of the run, epoch after epoch.

    Each epoch's order is seeded by (seed, epoch). When resuming, the batches the checkpointed run had
    already consumed in its last epoch are skipped, and only then is the saved random state put back
    (making the skipped batches may itself have drawn random numbers).
    """
    step = start_step
    epoch, skip = divmod(start_step, plan.steps_per_epoch)
    while step < plan.total_steps:
        _seed_epoch_order(loader, seed, epoch)
        if skip == 0 and saved_random is not None:  # resuming at an epoch boundary
            _restore_random_state(saved_random, loader)
            saved_random = None
        batches = iter(loader)
        for _ in range(skip):  # fast-forward to where the checkpoint stopped
            next(batches)
        if saved_random is not None:
            _restore_random_state(saved_random, loader)
            saved_random = None
        skip, step_at_start = 0, step
        for batch in batches:
            step += 1
            yield step, epoch, batch
            if step == plan.total_steps:
                return  # before the loader makes a batch that would not be used
        if step == step_at_start:
            raise ValueError(
                f"train_loader gave no batch in epoch {epoch}: it cannot be iterated again (a one-shot "
                "iterator such as iter(loader)?); pass the DataLoader itself"
            )
        epoch += 1
    if saved_random is not None:  # resumed a run that had already finished
        _restore_random_state(saved_random, loader)


def train_step(
    model: nn.Module,
    batch: Mapping[str, Any],
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    max_grad_norm: float | None = 1.0,
    forward_kwargs: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """One optimizer step on one batch (already on the model's device): the heart of training.

    1) forward: ``loss = model(**batch).loss``; 2) backward; 3) clip the gradient norm; 4) AdamW step;
    5) scheduler step.

    Returns:
        ``{"loss", "lr", "grad_norm", "parts"}``: the loss (a float), the learning rate this step used,
        the gradient norm before clipping, and the other losses the model returned (``mlm_loss`` ...).
    """
    device = model_device(model)
    out = _forward(model, batch, device, forward_kwargs or {})  # 1)
    loss_tensor = _loss_of(out)
    if loss_tensor is None:
        raise ValueError(f"the model returned no loss; the batches need labels (batch keys: {sorted(batch)})")
    if not isinstance(loss_tensor, torch.Tensor) or loss_tensor.numel() != 1:
        raise TypeError(
            f"the model's loss must be a tensor holding one number, got {type(loss_tensor).__name__}"
            + (
                f" of shape {tuple(loss_tensor.shape)} (take its mean)"
                if isinstance(loss_tensor, torch.Tensor)
                else ""
            )
        )
    loss = loss_tensor.item()
    if not math.isfinite(loss):
        unlabelled = _no_labelled_position(batch)
        if unlabelled is not None:  # a mean over no position is 0/0: the data, not the optimisation
            raise ValueError(
                f"the loss is {loss} because the batch has no labelled position: every entry of "
                f"{unlabelled!r} is {IGNORE_INDEX} (e.g. no token was masked); make sure each batch has "
                "at least one label (longer sequences, a larger batch or a higher masking rate)"
            )
        raise FloatingPointError(
            f"the loss is {loss}; lower the learning rate or check the inputs and labels"
        )
    optimizer.zero_grad(set_to_none=True)
    loss_tensor.backward()  # 2)
    params = [p for g in optimizer.param_groups for p in g["params"]]
    # 3) with max_norm=inf this only measures the norm (useful to see what clipping would do)
    grad_norm = torch.nn.utils.clip_grad_norm_(params, max_grad_norm or float("inf"))
    lr = optimizer.param_groups[0]["lr"]
    optimizer.step()  # 4)
    scheduler.step()  # 5)
    parts = {name: part.item() for name, part in _loss_parts(out).items()}
    return {"loss": loss, "lr": float(lr), "grad_norm": float(grad_norm), "parts": parts}


def _check_optimizer(optimizer: Any, scheduler: Any, model: nn.Module) -> None:
    """An optimizer of the model's own parameters, and a scheduler that can be stepped and saved."""
    if optimizer is not None:
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise TypeError(
                f"optimizer must be a torch.optim.Optimizer (e.g. make_optimizer(model, lr)), "
                f"got a {type(optimizer).__name__}"
            )
        own = {id(p) for p in model.parameters()}
        held = [p for g in optimizer.param_groups for p in g["params"]]
        if not any(id(p) in own for p in held):
            raise ValueError(
                "the optimizer holds none of the model's parameters (was it made for another model, or for a "
                "copy?); build it from this model: make_optimizer(model, lr)"
            )
    if scheduler is not None:
        if isinstance(scheduler, torch.optim.Optimizer) or not all(
            callable(getattr(scheduler, name, None)) for name in ("step", "state_dict", "load_state_dict")
        ):
            raise TypeError(
                "scheduler must be a learning-rate scheduler (torch.optim.lr_scheduler, e.g. "
                f"linear_warmup_decay(optimizer, warmup_steps, total_steps)), got a {type(scheduler).__name__}"
            )
        if optimizer is None:
            raise ValueError("a scheduler= needs the optimizer= it schedules; pass both (or neither)")


def _record(history: History, step: int, result: Mapping[str, Any]) -> None:
    history.steps.append(step)
    history.train_loss.append(result["loss"])
    history.lr.append(result["lr"])
    history.grad_norm.append(result["grad_norm"])
    for name, value in result["parts"].items():
        history.parts.setdefault(name, []).append(value)


def unwrap(model: nn.Module) -> nn.Module:
    """The model inside data-parallel wrappers (``DistributedDataParallel`` and the like expose it as
    ``.module``): the one that is saved, evaluated and whose parameters are named for the optimizer."""
    while isinstance(getattr(model, "module", None), nn.Module):
        model = model.module
    return model


def is_main_process() -> bool:
    """True unless this is a process other than rank 0 of a ``torch.distributed`` run (which stays quiet
    and writes nothing: no progress bar, no evaluation, no checkpoint)."""
    dist = torch.distributed
    return not (dist.is_available() and dist.is_initialized()) or dist.get_rank() == 0


def _single_process() -> bool:
    dist = torch.distributed
    return not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1


def _evaluate_now(model, eval_loader, eval_fn, device, seed, forward_kwargs) -> dict[str, float]:
    """One evaluation during training: eval mode, the same random numbers every time (see above)."""
    with _evaluation_rng(device, seed, eval_loader):
        if eval_fn is None:
            metrics = evaluate(model, eval_loader, device, forward_kwargs)
        else:
            with eval_mode(model), torch.no_grad():
                metrics = eval_fn(model, eval_loader, device)
    return _metric_values(metrics)


def _metric_values(metrics: Any) -> dict[str, float]:
    """The metrics an evaluation returned, as plain floats; a clear error for anything else."""
    if not isinstance(metrics, Mapping):
        raise TypeError(
            f"eval_fn returned a {type(metrics).__name__}; it must return a dict of numbers, "
            "e.g. {'accuracy': 0.9}"
        )
    values = {}
    for name, value in metrics.items():
        if isinstance(value, torch.Tensor) and value.numel() == 1:
            value = value.item()
        if isinstance(value, np.generic):
            value = value.item()
        if not isinstance(name, str) or isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(
                f"eval_fn returned {name!r}: {value!r:.60}; every metric must be one number under a string "
                "name (use .item() on a one-element tensor)"
            )
        values[name] = float(value)
    return values


def _save(directory, model, optimizer, scheduler, step: int, history: History, run_info, loader) -> None:
    collate_rng = {n: g.get_state().tolist() for n, g in _collate_generators(loader).items()}
    extra = {"run": run_info, "collate_rng": collate_rng}
    save_checkpoint(directory, model, optimizer, scheduler, step=step, history=history, extra=extra)


# ----------------------------------------------------------------------------------------------------
# The training loop
# ----------------------------------------------------------------------------------------------------


def train(
    model: nn.Module,
    train_loader: Iterable,
    *,
    steps: int | None = None,
    epochs: int | None = None,
    lr: float = 1e-3,
    warmup: float | int = 0.1,
    weight_decay: float = 0.01,
    max_grad_norm: float | None = 1.0,
    device: torch.device | str | None = None,
    eval_loader: Iterable | None = None,
    eval_every: int | None = None,
    eval_fn: Callable[[nn.Module, Iterable, torch.device], Mapping[str, float]] | None = None,
    log_every: int | None = None,
    checkpoint_dir: str | Path | None = None,
    checkpoint_every: int | None = None,
    resume: bool = False,
    seed: int = 0,
    progress: bool = True,
    forward_kwargs: Mapping[str, Any] | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: Any | None = None,
    max_seconds: float | None = None,
) -> History:
    """Train ``model`` on batches from ``train_loader`` and return the :class:`History`.

    Args:
        model: a module whose ``forward(**batch)`` returns an output with ``.loss`` (every course model
            does, as do ``transformers`` models).
        train_loader: a DataLoader (or any re-iterable with ``len``) of dicts of tensors.
        steps, epochs: how long to train; give exactly one. One step = one batch = one optimizer update.
        lr: peak learning rate of AdamW (see :func:`make_optimizer`).
        warmup: warmup length: a fraction of the run (float < 1) or a number of steps (int).
        weight_decay: AdamW weight decay on weight matrices.
        max_grad_norm: clip the gradient norm to this (None: no clipping).
        device: where to train; default :func:`course_utils.utils.get_device`. The model is moved there.
        eval_loader: evaluate on it every ``eval_every`` steps and at the end.
        eval_every: steps between evaluations; default: 10 evaluations over the run.
        eval_fn: ``eval_fn(model, eval_loader, device) -> dict`` of metrics; default :func:`evaluate`
            (mean loss). It runs in eval mode, with the same random numbers at every evaluation (so a
            randomly masked evaluation set is masked the same way each time), without disturbing
            the training random state.
        log_every: steps between progress-bar updates of the shown loss (the mean since the last update).
        checkpoint_dir: save a checkpoint there every ``checkpoint_every`` steps and at the end.
        checkpoint_every: steps between checkpoints (default: only at the end).
        resume: continue from the checkpoint in ``checkpoint_dir`` if there is one (same run settings).
        seed: seeds Python, NumPy and torch at the start, and the data order of every epoch.
        progress: show a progress bar.
        forward_kwargs: extra keyword arguments for every forward call (e.g. ``{"masked_only": True}``).
        optimizer, scheduler: use these instead of AdamW + :func:`linear_warmup_decay` (then ``lr``,
            ``warmup`` and ``weight_decay`` are not used). ``scheduler`` is stepped once per step.
        max_seconds: stop after the step during which this much wall time has passed (the schedule still
            assumes the full run; ``history.stopped_early`` says it happened). None: no limit.

    Returns:
        The :class:`History` of the run (losses, learning rates, evaluations, seconds). The model is left
        in eval mode (dropout off), ready to be evaluated.
    """
    plan = _plan_run(
        train_loader,
        steps,
        epochs,
        eval_every=eval_every,
        log_every=log_every,
        checkpoint_every=checkpoint_every,
    )
    _check_module(model)
    _check_number("max_grad_norm", max_grad_norm, positive=True, none_means="no clipping")
    _check_number("max_seconds", max_seconds, positive=True, none_means="no limit")
    if max_seconds is not None and not _single_process():
        raise ValueError("max_seconds= would stop the processes of a data-parallel run at different steps")
    if (checkpoint_every is not None or resume) and checkpoint_dir is None:
        raise ValueError("checkpoint_every= and resume=True need checkpoint_dir= (where checkpoints live)")
    if eval_fn is not None and eval_loader is None:
        raise ValueError("eval_fn is given but eval_loader is None; pass the data to evaluate on")
    if eval_fn is not None and not callable(eval_fn):
        raise TypeError(
            f"eval_fn must be a function eval_fn(model, eval_loader, device) -> dict, got {eval_fn!r:.60}"
        )
    if eval_loader is not None:
        _check_eval_loader(eval_loader)
    forward_kwargs = _check_forward_kwargs(forward_kwargs)
    _check_optimizer(optimizer, scheduler, unwrap(model))
    check_seed(seed)

    # 1) set up: device, seed, optimizer and schedule, or everything as the checkpoint left it
    device = get_device(device)
    model.to(device)
    set_seed(seed)
    if optimizer is None:
        optimizer = make_optimizer(unwrap(model), lr, weight_decay)
    if scheduler is None:
        scheduler = linear_warmup_decay(
            optimizer, _resolve_warmup(warmup, plan.total_steps), plan.total_steps
        )
    run_info = {"total_steps": plan.total_steps, "steps_per_epoch": plan.steps_per_epoch, "seed": seed}
    start_step, history, saved_random = 0, History(), None
    if resume and has_checkpoint(checkpoint_dir):
        start_step, history, saved_random = _resume(
            Path(checkpoint_dir), unwrap(model), optimizer, scheduler, run_info
        )

    # 2) the loop: one batch, one step; evaluate, log and save on schedule
    seconds_before, t0 = history.seconds, time.perf_counter()
    main = is_main_process()  # in a data-parallel run only rank 0 shows, evaluates and saves
    bar = tqdm(
        total=plan.total_steps,
        initial=start_step,
        disable=not (progress and main),
        desc="training",
        unit="step",
    )
    window: list[float] = []
    model.train()
    for step, epoch, batch in _batches(train_loader, plan, seed, start_step, saved_random):
        batch = move_to_device(_check_batch(batch, f"at step {step}"), device)
        _check_no_clash(batch, forward_kwargs, f"at step {step}")
        try:
            result = train_step(model, batch, optimizer, scheduler, max_grad_norm, forward_kwargs)
        except Exception as err:  # say where it happened; the original message stays first
            if hasattr(err, "add_note"):  # Python >= 3.11
                err.add_note(f"(raised at training step {step}, epoch {epoch})")
            raise
        _record(history, step, result)
        history.seconds = seconds_before + (time.perf_counter() - t0)
        out_of_time = max_seconds is not None and history.seconds - seconds_before > max_seconds
        last = step == plan.total_steps or out_of_time
        window.append(result["loss"])
        bar.update(1)
        if step % plan.log_every == 0 or last:
            bar.set_postfix(loss=f"{sum(window) / len(window):.4f}", lr=f"{result['lr']:.1e}")
            window.clear()
        if main and eval_loader is not None and (step % plan.eval_every == 0 or last):
            history.eval.append(
                (step, _evaluate_now(unwrap(model), eval_loader, eval_fn, device, seed, forward_kwargs))
            )
        if (
            main
            and checkpoint_dir is not None
            and (last or (plan.checkpoint_every and step % plan.checkpoint_every == 0))
        ):
            history.seconds = seconds_before + (time.perf_counter() - t0)
            _save(checkpoint_dir, unwrap(model), optimizer, scheduler, step, history, run_info, train_loader)
        if out_of_time:
            history.stopped_early = True
            break
    bar.close()
    history.seconds = seconds_before + (time.perf_counter() - t0)
    model.eval()  # ready for evaluation; the next train() call switches back to train mode
    return history
