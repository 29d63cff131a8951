"""Pretrain the course's mini-BERT with masked language modelling + next sentence prediction.

``python -m course_utils.pretrain --out runs/pretrained`` trains
``BertForPreTraining(BertConfig.course_small(vocab_size=len(tokenizer)))`` on the documents of
``world.pretraining_corpus("train")`` (stories, reviews, news, quizzes, diaries), each input a pair of
sentences (``--pairs segments``: two runs of sentences that fill ``max_length``, as BERT's were), and
writes a model folder: ``config.json``, ``model.safetensors``, the tokenizer files and ``training_log.json`` (the command, the history, the time taken, the machine and the
held-out scores). The course ships one such folder in ``course_utils/assets/pretrained/``;
:func:`load_pretrained` loads it, never from the network.

``--objective mlm`` drops the NSP loss (RoBERTa), ``--objective mlm+sop`` trains sentence-order prediction
instead (ALBERT), and ``--nsp-same-document 0`` takes every NotNext partner from another document (BERT's own
data); ``course_utils/assets/ablations/`` holds checkpoints made this way (unit 08).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import shutil
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader

from course_utils import world
from course_utils.data import PretrainingCollator, PretrainingDataset
from course_utils.model import BertConfig, BertForPreTraining, BertPreTrainedModel
from course_utils.tokenizer import TOKENIZER_DIR, load_tokenizer
from course_utils.train import is_main_process, move_to_device, train
from course_utils.utils import (
    autocast,
    count_parameters,
    eval_mode,
    get_device,
    machine_description,
    model_device,
    set_seed,
)

__all__ = [
    "PRETRAINED_DIR",
    "evaluate_pretrained",
    "load_pretrained",
    "load_pretrained_for",
    "main",
    "pretrain",
    "pretraining_metrics",
]

PRETRAINED_DIR = Path(__file__).resolve().parent / "assets" / "pretrained"
LOG_FILE = "training_log.json"

# A pair needs [CLS] a [SEP] b [SEP]: at least 5 tokens; the course-small model has this many positions
MIN_LENGTH = 5
MAX_POSITIONS = BertConfig.course_small().max_position_embeddings

# The settings of the shipped checkpoint (chosen by short measured runs; see DATA_CARD.md).
DEFAULTS = dict(
    steps=2500,
    batch_size=128,
    max_length=64,
    lr=2e-3,
    warmup=0.06,
    seed=0,
    eval_every=250,
    pairs="sentences",  # "sentences": two single sentences; "segments": runs that fill max_length, as BERT
    dupe_factor=1,  # build the training pairs this many times, with different cuts (BERT's dupe_factor)
    objective="mlm+nsp",  # "mlm": no sentence-pair loss (RoBERTa); "mlm+sop": sentence order (ALBERT)
    nsp_same_document=0.2,  # share of NotNext partners from the same document (0: other documents, as BERT)
)
PAIRS = ("segments", "sentences")
OBJECTIVES = ("mlm+nsp", "mlm", "mlm+sop")


# ----------------------------------------------------------------------------------------------------
# Data
# ----------------------------------------------------------------------------------------------------


def _segments(pairs: str) -> bool:
    """``pairs="segments"`` (BERT's multi-sentence segments) or ``"sentences"`` (one sentence each)."""
    if pairs not in PAIRS:
        raise ValueError(f"pairs={pairs!r} must be one of {PAIRS}")
    return pairs == "segments"


def _documents(split: str, seed: int, max_documents: int | None) -> list[list[str]]:
    docs = world.pretraining_corpus(split, seed=seed)
    if max_documents is not None:
        if max_documents < 2:
            raise ValueError(f"max_documents={max_documents} must be at least 2 (NSP needs other documents)")
        docs = docs[:max_documents]
    return docs


def _sentence_task(objective: str) -> str:
    """The pairs an objective trains on: ``"sop"`` for ``"mlm+sop"``, else NSP pairs (also for ``"mlm"``)."""
    if objective not in OBJECTIVES:
        raise ValueError(f"objective={objective!r} must be one of {OBJECTIVES}")
    return "sop" if objective == "mlm+sop" else "nsp"


class _MlmOnlyCollator(PretrainingCollator):
    """Pretraining batches without ``next_sentence_label``: the model then computes the MLM loss only.

    The inputs stay the same NSP pairs (same data, same masks), so an MLM-only run differs from the
    default in its objective alone.
    """

    def __call__(self, items: Any) -> dict[str, torch.Tensor]:
        batch = super().__call__(items)
        del batch["next_sentence_label"]
        return batch


def _fixed_batches(
    documents: list[list[str]],
    tokenizer: Any,
    *,
    batch_size: int,
    max_length: int,
    seed: int,
    pairs: str = DEFAULTS["pairs"],
    sentence_task: str = "nsp",
) -> list[dict[str, torch.Tensor]]:
    """Held-out batches masked once with a seeded collator: every evaluation scores the same masks."""
    dataset = PretrainingDataset(
        documents,
        tokenizer,
        max_length=max_length,
        seed=seed,
        segments=_segments(pairs),
        sentence_task=sentence_task,
    )
    collate = PretrainingCollator(tokenizer, seed=seed)
    return list(DataLoader(dataset, batch_size=batch_size, shuffle=False, collate_fn=collate))


# ----------------------------------------------------------------------------------------------------
# Data-parallel training (torchrun)
# ----------------------------------------------------------------------------------------------------


def _process_group() -> tuple[int, int]:
    """``(rank, world_size)`` of this process: ``(0, 1)`` unless torch.distributed is initialised."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


class DataParallelShard(nn.Module):
    """One process's share of every global batch, for ``DistributedDataParallel``.

    Every process builds the same global batch (same data order, same masks: they depend on the seed,
    not on the number of processes) and keeps rows ``rank * B/N .. (rank + 1) * B/N``. A mean loss per
    process would weight a process with fewer masked tokens as much as one with more, so each part of the
    loss is turned back into a sum and divided by the count in the *global* batch, times N (DDP averages
    the gradients over the N processes). The gradient is then the one a single process gets from the
    whole batch, and the loss each process reports is the global one (summed over processes).

    Args:
        model: the ``BertForPreTraining`` to train (``.module``).
        rank, world_size: this process and the number of processes.
    """

    def __init__(self, model: nn.Module, rank: int, world_size: int):
        super().__init__()
        self.module = model
        self.rank, self.world_size = rank, world_size

    def forward(self, **batch: Any):
        n = batch["input_ids"].size(0)
        if n % self.world_size:
            raise ValueError(f"a global batch of {n} does not split evenly over {self.world_size} processes")
        share = n // self.world_size
        rows = slice(self.rank * share, (self.rank + 1) * share)
        local = {
            k: v[rows] if isinstance(v, torch.Tensor) and v.dim() > 0 and v.size(0) == n else v
            for k, v in batch.items()
        }
        out = self.module(**local)
        # each part: (local mean) x (local count) / (global count) = this process's share of the global mean
        counts = {"mlm_loss": "labels", "nsp_loss": "next_sentence_label"}
        shares = {}
        for part, key in counts.items():
            if getattr(out, part, None) is None:
                continue
            labelled = lambda t: (t != -100).sum()  # noqa: E731
            global_count = labelled(batch[key]).clamp(min=1)
            shares[part] = getattr(out, part) * labelled(local[key]) / global_count
        local_total = sum(shares.values())
        totals = torch.stack([s.detach().float() for s in shares.values()])
        dist.all_reduce(totals)  # the global parts, for the log
        global_parts = dict(zip(shares, totals))
        # the value is the global loss, the gradient this process's share of it (times N: DDP averages)
        loss = local_total * self.world_size
        loss = loss + (sum(global_parts.values()) - loss).detach()
        out.loss = loss
        for part, value in global_parts.items():
            setattr(out, part, value)
        return out


# ----------------------------------------------------------------------------------------------------
# Metrics
# ----------------------------------------------------------------------------------------------------


@torch.no_grad()
def pretraining_metrics(
    model: nn.Module, batches: Any, device: torch.device | str | None = None
) -> dict[str, float]:
    """Masked-token accuracy, NSP accuracy and both losses over batches of a :class:`PretrainingCollator`.

    Args:
        model: a ``BertForPreTraining``.
        batches: an iterable of pretraining batches (with ``labels`` and ``next_sentence_label``).
        device: where to run (default: where the model is).

    Returns:
        ``masked_token_accuracy`` (share of the chosen positions - [MASK], random or kept - whose original
        token is the top prediction), ``nsp_accuracy``, ``mlm_loss`` and ``nsp_loss`` (means per masked
        token and per pair), ``loss`` (their sum), and the counts ``masked_tokens`` and ``pairs``. Also
        ``best_constant_accuracy``: the accuracy of always predicting the token most frequent among
        these masked positions (no constant guess does better), and ``nsp_majority_accuracy``.
    """
    device = model_device(model) if device is None else torch.device(device)
    correct = total = nsp_correct = pairs = 0
    mlm_sum = nsp_sum = 0.0
    label_counts: Counter[int] = Counter()
    nsp_ones = 0
    with eval_mode(model):
        for batch in batches:
            batch = move_to_device(batch, device)
            with autocast(device):
                out = model(**batch, masked_only=True)
            targets = batch["labels"][batch["labels"] != -100]  # (N,), the order of prediction_logits
            correct += int((out.prediction_logits.argmax(-1) == targets).sum())
            total += targets.numel()
            mlm_sum += float(out.mlm_loss) * targets.numel()
            label_counts.update(targets.tolist())
            nsp = batch["next_sentence_label"]
            nsp_correct += int((out.seq_relationship_logits.argmax(-1) == nsp).sum())
            pairs += nsp.numel()
            nsp_sum += float(out.nsp_loss) * nsp.numel()
            nsp_ones += int(nsp.sum())
    if total == 0 or pairs == 0:
        raise ValueError("no masked tokens or no pairs to score: are the batches empty?")
    metrics = {
        "masked_token_accuracy": correct / total,
        "nsp_accuracy": nsp_correct / pairs,
        "mlm_loss": mlm_sum / total,
        "nsp_loss": nsp_sum / pairs,
        "best_constant_accuracy": label_counts.most_common(1)[0][1] / total,
        "nsp_majority_accuracy": max(nsp_ones, pairs - nsp_ones) / pairs,
        "masked_tokens": total,
        "pairs": pairs,
    }
    metrics["loss"] = metrics["mlm_loss"] + metrics["nsp_loss"]
    return metrics


def _training_metrics(model: nn.Module, batches: Any, device: torch.device) -> dict[str, float]:
    """What the training history records at each evaluation: the losses and the two accuracies."""
    m = pretraining_metrics(model, batches, device)
    keep = ("loss", "mlm_loss", "nsp_loss", "masked_token_accuracy", "nsp_accuracy")
    return {k: m[k] for k in keep}


def evaluate_pretrained(
    model: nn.Module,
    tokenizer: Any,
    split: str = "test",
    *,
    seed: int = 0,
    max_documents: int | None = None,
    batch_size: int = 128,
    max_length: int = 64,
    pairs: str = DEFAULTS["pairs"],
    sentence_task: str = "nsp",
    device: torch.device | str | None = None,
) -> dict[str, float]:
    """Score a pretrained model on held-out documents (seeded masking, so the numbers repeat).

    Args:
        model: a ``BertForPreTraining``.
        tokenizer: its tokenizer.
        split: ``"validation"`` or ``"test"`` documents (``"train"`` works too, for comparison).
        seed: seeds the NSP pairs and the masks.
        max_documents: score only the first documents (faster; None = all).
        batch_size, max_length, pairs: as in pretraining.
        sentence_task: ``"nsp"`` (default) or ``"sop"``: score the two-way head on sentence-order pairs
            instead (``nsp_accuracy`` is then the SOP accuracy, label 0 = in order).
        device: where to run (default: where the model is).

    Returns:
        ``{"masked_token_accuracy": ..., "nsp_accuracy": ..., ...}``; see :func:`pretraining_metrics`.
    """
    docs = _documents(split, 0, max_documents)
    batches = _fixed_batches(
        docs,
        tokenizer,
        batch_size=batch_size,
        max_length=max_length,
        seed=seed,
        pairs=pairs,
        sentence_task=sentence_task,
    )
    most = Counter(t for b in batches for t in b["labels"][b["labels"] != -100].tolist()).most_common(1)[0][0]
    metrics: dict[str, Any] = pretraining_metrics(model, batches, device)
    metrics["most_frequent_masked_token"] = tokenizer.convert_ids_to_tokens(most)
    return metrics


# ----------------------------------------------------------------------------------------------------
# Pretraining
# ----------------------------------------------------------------------------------------------------


def _round(value: Any, digits: int = 5) -> Any:
    """Round floats (recursively) so the log stays small and readable."""
    if isinstance(value, float):
        return float(f"{value:.{digits}g}")
    if isinstance(value, dict):
        return {k: _round(v, digits) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_round(v, digits) for v in value]
    return value


def pretrain(
    out_dir: str | Path,
    *,
    steps: int = DEFAULTS["steps"],
    batch_size: int = DEFAULTS["batch_size"],
    max_length: int = DEFAULTS["max_length"],
    lr: float = DEFAULTS["lr"],
    warmup: float | int = DEFAULTS["warmup"],
    seed: int = DEFAULTS["seed"],
    eval_every: int | None = DEFAULTS["eval_every"],
    pairs: str = DEFAULTS["pairs"],
    dupe_factor: int = DEFAULTS["dupe_factor"],
    objective: str = DEFAULTS["objective"],
    nsp_same_document: float = DEFAULTS["nsp_same_document"],
    max_documents: int | None = None,
    dropout: float | None = None,
    model_size: dict[str, int] | None = None,
    checkpoint_dir: str | Path | None = None,
    checkpoint_every: int | None = None,
    resume: bool = False,
    device: torch.device | str | None = None,
    progress: bool = True,
    command: str | None = None,
) -> tuple[nn.Module, dict[str, Any]]:
    """Pretrain a course-small BERT with MLM + NSP and write it, its tokenizer and its log to ``out_dir``.

    Args:
        out_dir: the model folder to write (config.json, model.safetensors, tokenizer files,
            training_log.json).
        steps, batch_size, lr, warmup: the optimisation (AdamW, linear warmup then decay).
        max_length: longest ``[CLS] a [SEP] b [SEP]`` pair, in tokens.
        seed: model initialisation, NSP pairs, masks and data order.
        eval_every: steps between evaluations on the validation documents.
        pairs: ``"sentences"`` (default): each input is two single sentences; ``"segments"``: two
            runs of whole sentences that fill ``max_length``, as BERT's were (see
            :func:`course_utils.data.make_segment_pairs`).
        dupe_factor: build the training pairs this many times with different cuts and NotNext
            partners (BERT's ``dupe_factor``), so that a long run does not see the same pairs.
        objective: ``"mlm+nsp"`` (default, BERT); ``"mlm"``: the same inputs without the NSP loss
            (RoBERTa dropped it); ``"mlm+sop"``: sentence-order prediction pairs instead of NSP (ALBERT;
            with ``pairs="sentences"``). Validation and test then score the sentence task trained (for
            ``"mlm"`` the untrained NSP head, near chance).
        nsp_same_document: share of the training NotNext partners taken from a non-adjacent sentence of
            the same document (``pairs="sentences"``); 0 draws them all from other documents, as BERT's
            data did. Validation and test keep the standard pairs, so runs stay comparable.
        max_documents: use only the first documents of each split (for quick tests).
        dropout: set both dropout probabilities of the model (default: the config's 0.1); 0 makes a run
            deterministic, e.g. to compare a data-parallel run with a single process.
        model_size: fields of :meth:`BertConfig.course_small` to change, e.g. ``{"hidden_size": 256,
            "num_hidden_layers": 4, "num_attention_heads": 4, "intermediate_size": 1024}`` for a bigger BERT.
        checkpoint_dir, checkpoint_every, resume: full training checkpoints (with optimizer state) to
            resume an interrupted run; they stay out of ``out_dir``.
        device: default :func:`course_utils.utils.get_device`.
        progress: show a progress bar.
        command: the command line to record in the log.

    In a data-parallel run (``torchrun --nproc_per_node=N -m course_utils.pretrain``, with
    ``torch.distributed`` initialised) ``batch_size`` is the global batch: each of the N processes trains on
    ``batch_size / N`` of it (see :class:`DataParallelShard`) and only rank 0 evaluates and writes.

    Returns:
        The trained model (eval mode) and the log written to ``training_log.json`` (``None`` on the
        processes other than rank 0).
    """
    if (
        isinstance(max_length, bool)
        or not isinstance(max_length, int)
        or not MIN_LENGTH <= max_length <= MAX_POSITIONS
    ):
        raise ValueError(
            f"max_length={max_length!r} must be an integer from {MIN_LENGTH} ([CLS] a [SEP] b [SEP]) to "
            f"{MAX_POSITIONS} (the positions of the course-small model)"
        )
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size={batch_size!r} must be a positive integer")
    sentence_task = _sentence_task(objective)
    if isinstance(nsp_same_document, bool) or not isinstance(nsp_same_document, (int, float)):
        raise ValueError(f"nsp_same_document={nsp_same_document!r} must be a share in [0, 1]")
    if not 0.0 <= nsp_same_document <= 1.0:
        raise ValueError(f"nsp_same_document={nsp_same_document!r} must be a share in [0, 1]")
    if sentence_task == "sop" and _segments(pairs):
        raise ValueError("objective='mlm+sop' swaps two single sentences: use it with pairs='sentences'")
    if dropout is not None and (
        isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0.0 <= dropout < 1.0
    ):
        raise ValueError(f"dropout={dropout!r} must be a probability in [0, 1)")
    rank, world_size = _process_group()
    if batch_size % world_size:
        raise ValueError(
            f"batch_size={batch_size} is the global batch and must split evenly over {world_size} processes"
        )
    device = get_device(device)
    tokenizer = load_tokenizer()
    set_seed(seed)  # the initial weights (the same in every process)
    rates = (
        {} if dropout is None else {"hidden_dropout_prob": dropout, "attention_probs_dropout_prob": dropout}
    )
    model = BertForPreTraining(
        BertConfig.course_small(vocab_size=len(tokenizer), **(model_size or {}), **rates)
    )
    trained: nn.Module = model
    if world_size > 1:
        model.to(device)
        ids = [device.index] if device.type == "cuda" else None
        trained = DistributedDataParallel(DataParallelShard(model, rank, world_size), device_ids=ids)

    train_docs = _documents("train", 0, max_documents)
    dataset = PretrainingDataset(
        train_docs,
        tokenizer,
        max_length=max_length,
        seed=seed,
        segments=_segments(pairs),
        dupe_factor=dupe_factor,
        sentence_task=sentence_task,
        same_document_fraction=nsp_same_document,
    )
    # new masks every batch, from the collator's own seeded generator (saved in checkpoints)
    collate = (_MlmOnlyCollator if objective == "mlm" else PretrainingCollator)(tokenizer, seed=seed)
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=True, drop_last=True, collate_fn=collate)
    if len(loader) == 0:
        raise ValueError(f"{len(dataset)} training pairs make no full batch of {batch_size}")
    val_docs = _documents("validation", 0, max_documents)
    val_batches = _fixed_batches(
        val_docs,
        tokenizer,
        batch_size=batch_size,
        max_length=max_length,
        seed=seed,
        pairs=pairs,
        sentence_task=sentence_task,
    )

    history = train(
        trained,
        loader,
        steps=steps,
        lr=lr,
        warmup=warmup,
        weight_decay=0.01,
        max_grad_norm=1.0,
        device=device,
        eval_loader=val_batches,
        eval_every=eval_every,
        eval_fn=_training_metrics,
        checkpoint_dir=checkpoint_dir,
        checkpoint_every=checkpoint_every,
        resume=resume,
        seed=seed,
        progress=progress,
        # vocabulary scores only where a token was masked: the same loss, ~1.5x faster steps on a CPU
        forward_kwargs={"masked_only": True},
    )
    if not is_main_process():
        model.eval()
        return model, None
    test = evaluate_pretrained(
        model,
        tokenizer,
        "test",
        seed=seed,
        max_documents=max_documents,
        batch_size=batch_size,
        max_length=max_length,
        pairs=pairs,
        sentence_task=sentence_task,
    )

    out = Path(out_dir)
    model.save_pretrained(out)
    for file in TOKENIZER_DIR.iterdir():  # the shipped tokenizer files, byte for byte
        shutil.copyfile(file, out / file.name)
    log = {
        "command": command or "course_utils.pretrain.pretrain(...)",
        "settings": {
            "steps": steps,
            "batch_size": batch_size,
            "max_length": max_length,
            "lr": lr,
            "warmup": warmup,
            "seed": seed,
            "eval_every": eval_every,
            "pairs": pairs,
            "dupe_factor": dupe_factor,
            "objective": objective,
            "nsp_same_document": nsp_same_document,
            "max_documents": max_documents,
            "dropout": model.config.hidden_dropout_prob,
            "world_size": world_size,
            "weight_decay": 0.01,
            "max_grad_norm": 1.0,
            "masked_only": True,
            "mlm_probability": collate.masking.mlm_probability,
        },
        "data": {
            "train_documents": len(train_docs),
            "train_pairs": len(dataset),
            "validation_documents": len(val_docs),
            "epochs": steps * batch_size / len(dataset),
        },
        "model": {
            "class": type(model).__name__,
            "parameters": count_parameters(model),
            "vocab_size": len(tokenizer),
            "hidden_size": model.config.hidden_size,
            "num_hidden_layers": model.config.num_hidden_layers,
            "num_attention_heads": model.config.num_attention_heads,
        },
        "steps": len(history),
        "seconds": history.seconds,
        "machine": machine_description(device),
        "validation": history.eval[-1][1] if history.eval else None,
        "test": test,
        "history": history.to_dict(),
    }
    log = _round(log)
    (out / LOG_FILE).write_text(json.dumps(log, indent=1) + "\n")
    model.eval()
    return model, log


# ----------------------------------------------------------------------------------------------------
# Loading the shipped checkpoint
# ----------------------------------------------------------------------------------------------------


def load_pretrained(device: torch.device | str | None = None, directory: str | Path | None = None):
    """The course's pretrained mini-BERT and its tokenizer, from the files shipped with ``course_utils``.

    Nothing is downloaded. The model is a ``BertForPreTraining`` (MLM + NSP heads) in eval mode.

    Args:
        device: where to put the model (default :func:`course_utils.utils.get_device`).
        directory: load another folder written by :func:`pretrain` instead of the shipped one.

    Returns:
        ``(model, tokenizer)``.
    """
    model, tokenizer = load_pretrained_for(BertForPreTraining, device, directory)
    return model.eval(), tokenizer


def load_pretrained_for(
    task_class: type[BertPreTrainedModel],
    device: torch.device | str | None = None,
    directory: str | Path | None = None,
    **config_overrides: Any,
):
    """A task model (e.g. ``BertForSequenceClassification``) whose encoder starts from the pretrained one.

    ``task_class.from_pretrained`` of the shipped folder: the encoder weights (``bert.*``) come from the
    checkpoint; a head the checkpoint lacks (e.g. a classifier) is new, randomly initialised, as when
    fine-tuning BERT.

    Args:
        task_class: a course model class from :mod:`course_utils.model`.
        device: where to put the model (default :func:`course_utils.utils.get_device`).
        directory: another folder written by :func:`pretrain` instead of the shipped one.
        config_overrides: config fields of the task, e.g. ``num_labels=3``, ``hidden_dropout_prob=0.2``.

    Returns:
        ``(model, tokenizer)``, the model in train mode.
    """
    if not (isinstance(task_class, type) and issubclass(task_class, BertPreTrainedModel)):
        raise TypeError(f"task_class must be a course model class, got {task_class!r}")
    path = PRETRAINED_DIR if directory is None else Path(directory)
    missing = [
        name for name in ("config.json", "model.safetensors", "tokenizer.json") if not (path / name).is_file()
    ]
    if missing:
        what = "no such folder" if not path.is_dir() else f"it lacks {', '.join(missing)}"
        raise FileNotFoundError(
            f"no pretrained model in {path} ({what}); reinstall course_utils, or make one with "
            "`python -m course_utils.pretrain --out <folder>` and pass directory=<folder>"
        )
    device = get_device(device)  # a bad device fails before the model is read
    model = task_class.from_pretrained(path, **config_overrides)
    tokenizer = load_tokenizer(path)
    if len(tokenizer) != model.config.vocab_size:
        raise ValueError(
            f"the tokenizer in {path} has {len(tokenizer)} tokens but the model expects "
            f"{model.config.vocab_size}; the folder is inconsistent (its model and tokenizer come from "
            "different runs): write it again with `python -m course_utils.pretrain --out <folder>`"
        )
    return model.to(device).train(), tokenizer


# ----------------------------------------------------------------------------------------------------
# Command line
# ----------------------------------------------------------------------------------------------------


def _number(text: str, kind: type = float):
    """``kind(text)`` (int or float) for an argparse type, or the usage error that says it is not one."""
    try:
        return kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not {'an integer' if kind is int else 'a number'}"
        ) from None


def _int_at_least(minimum: int) -> Callable[[str], int]:
    """An argparse type: an integer >= ``minimum`` (argparse turns the error into a usage message)."""

    def parse(text: str) -> int:
        value = _number(text, int)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{text} must be >= {minimum}")
        return value

    return parse


_positive_int = _int_at_least(1)


def _positive_float(text: str) -> float:
    value = _number(text)
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text} must be a positive finite number, e.g. 2e-3")
    return value


def _warmup(text: str) -> float | int:
    """A fraction of the steps in [0, 1), or a whole number of steps >= 1."""
    value = _number(text)
    if not math.isfinite(value) or value < 0 or (value >= 1 and not value.is_integer()):
        raise argparse.ArgumentTypeError(
            f"{text} must be a fraction of the steps in [0, 1) (e.g. 0.06) or a whole number of steps"
        )
    return int(value) if value >= 1 else value


def _fraction(one_allowed: bool) -> Callable[[str], float]:
    """A parser for a number from 0 to 1, with 1 allowed (a share) or not (a dropout probability)."""

    def parse(text: str) -> float:
        value = _number(text)
        if not (0.0 <= value <= 1.0 if one_allowed else 0.0 <= value < 1.0):
            what = "a share from 0 to 1" if one_allowed else "a probability in [0, 1)"
            raise argparse.ArgumentTypeError(f"{text} must be {what}")
        return value

    return parse


def _max_length(text: str) -> int:
    value = _positive_int(text)
    if not MIN_LENGTH <= value <= MAX_POSITIONS:
        raise argparse.ArgumentTypeError(
            f"{value} must be from {MIN_LENGTH} ([CLS] a [SEP] b [SEP]) to {MAX_POSITIONS} (the model's positions)"
        )
    return value


def _max_documents(text: str) -> int:
    value = _positive_int(text)
    if value < 2:  # the same rule as _documents, told as a usage error
        raise argparse.ArgumentTypeError(f"{value} must be at least 2 (NSP needs other documents)")
    return value


def _model_size(args: argparse.Namespace) -> dict[str, int] | None:
    size = {}
    if args.hidden_size is not None:
        size.update(hidden_size=args.hidden_size, intermediate_size=4 * args.hidden_size)
    if args.layers is not None:
        size["num_hidden_layers"] = args.layers
    if args.heads is not None:
        size["num_attention_heads"] = args.heads
    return size or None


def _start_process_group(device: str | None) -> torch.device | str | None:
    """Under ``torchrun`` (``WORLD_SIZE`` > 1 in the environment): join the process group, with NCCL when
    this process trains on a GPU (one GPU per process, ``cuda:LOCAL_RANK``) and gloo on the CPU.
    Returns the device this process trains on."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size == 1:
        return device
    on_gpu = get_device(device).type == "cuda"
    if on_gpu:
        device = f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}"
        torch.cuda.set_device(device)
    dist.init_process_group(backend="nccl" if on_gpu else "gloo")
    return device


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """``python -m course_utils.pretrain [--steps N] [--out DIR] [--seed S] [--batch-size B] [--max-length L]``."""
    parser = argparse.ArgumentParser(
        prog="python -m course_utils.pretrain",
        description="Pretrain the course's mini-BERT (MLM + NSP) on the course corpus.",
    )
    parser.add_argument("--steps", type=_positive_int, default=DEFAULTS["steps"])
    parser.add_argument("--out", default="runs/pretrained", help="model folder to write")
    parser.add_argument("--seed", type=_int_at_least(0), default=DEFAULTS["seed"])
    parser.add_argument("--batch-size", type=_positive_int, default=DEFAULTS["batch_size"])
    parser.add_argument("--max-length", type=_max_length, default=DEFAULTS["max_length"])
    parser.add_argument("--lr", type=_positive_float, default=DEFAULTS["lr"])
    parser.add_argument(
        "--warmup",
        type=_warmup,
        default=DEFAULTS["warmup"],
        help="fraction of the steps, or a number of steps",
    )
    parser.add_argument("--eval-every", type=_positive_int, default=DEFAULTS["eval_every"])
    parser.add_argument(
        "--pairs",
        choices=PAIRS,
        default=DEFAULTS["pairs"],
        help="segments: runs of sentences that fill --max-length (BERT); sentences: one sentence each",
    )
    parser.add_argument(
        "--dupe-factor",
        type=_positive_int,
        default=DEFAULTS["dupe_factor"],
        help="build the training pairs this many times, with different cuts",
    )
    parser.add_argument(
        "--objective",
        choices=OBJECTIVES,
        default=DEFAULTS["objective"],
        help="mlm+nsp: BERT; mlm: no sentence-pair loss (RoBERTa); mlm+sop: sentence order (ALBERT)",
    )
    parser.add_argument(
        "--nsp-same-document",
        type=_fraction(one_allowed=True),
        default=DEFAULTS["nsp_same_document"],
        help="share of NotNext partners from the same document (0: other documents only, as BERT)",
    )
    parser.add_argument(
        "--max-documents", type=_max_documents, default=None, help="use only the first documents"
    )
    size = parser.add_argument_group(
        "model size (default: the course-small mini-BERT, H 128, 2 layers, 2 heads)"
    )
    size.add_argument(
        "--hidden-size", type=_positive_int, default=None, help="H; the feed-forward is 4H wide"
    )
    size.add_argument("--layers", type=_positive_int, default=None, help="number of encoder layers")
    size.add_argument("--heads", type=_positive_int, default=None, help="attention heads (must divide H)")
    parser.add_argument(
        "--dropout",
        type=_fraction(one_allowed=False),
        default=None,
        help="both dropout probabilities (default 0.1); 0 makes a run deterministic",
    )
    parser.add_argument("--checkpoint-dir", default=None, help="save resumable checkpoints here")
    parser.add_argument("--checkpoint-every", type=_positive_int, default=None)
    parser.add_argument("--resume", action="store_true", help="continue from --checkpoint-dir")
    parser.add_argument(
        "--device", default=None, help="cpu, cuda, cuda:N or mps (default: the best there is)"
    )
    parser.add_argument(
        "--threads",
        type=_positive_int,
        default=None,
        help="CPU threads for torch (1 is fastest when other programs share the CPU)",
    )
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    if (args.checkpoint_every is not None or args.resume) and args.checkpoint_dir is None:
        parser.error("--checkpoint-every and --resume need --checkpoint-dir (where the checkpoints live)")
    if isinstance(args.warmup, int) and args.warmup > args.steps:
        parser.error(f"--warmup {args.warmup} steps is longer than the run (--steps {args.steps})")
    if args.device is not None:
        try:
            get_device(args.device)
        except (TypeError, ValueError, RuntimeError) as err:
            parser.error(f"--device: {err}")
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    arguments = " ".join(shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv))
    device = _start_process_group(args.device)
    launcher = (
        f"torchrun --nproc_per_node={dist.get_world_size()} -m" if dist.is_initialized() else "python -m"
    )
    command = f"{launcher} course_utils.pretrain {arguments}"
    start = time.perf_counter()
    try:
        _, log = pretrain(
            args.out,
            steps=args.steps,
            batch_size=args.batch_size,
            max_length=args.max_length,
            lr=args.lr,
            warmup=args.warmup,  # a fraction, or (>= 1) a number of steps
            seed=args.seed,
            eval_every=args.eval_every,
            pairs=args.pairs,
            dupe_factor=args.dupe_factor,
            objective=args.objective,
            nsp_same_document=args.nsp_same_document,
            max_documents=args.max_documents,
            dropout=args.dropout,
            model_size=_model_size(args),
            checkpoint_dir=args.checkpoint_dir,
            checkpoint_every=args.checkpoint_every,
            resume=args.resume,
            device=device,
            progress=not args.no_progress,
            command=command.strip(),
        )
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
    if log is None:  # not rank 0: rank 0 reports
        return {}
    test = log["test"]
    print(f"wrote {args.out} in {time.perf_counter() - start:.0f} s (training {log['seconds']:.0f} s)")
    print(
        f"test: masked-token accuracy {test['masked_token_accuracy']:.3f} "
        f"(best constant guess {test['best_constant_accuracy']:.3f}), "
        f"NSP accuracy {test['nsp_accuracy']:.3f} (majority {test['nsp_majority_accuracy']:.3f})"
    )
    return log


if __name__ == "__main__":
    main()
