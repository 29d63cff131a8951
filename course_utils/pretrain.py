"""Pretrain the course's mini-BERT with masked language modelling + next sentence prediction.

``python -m course_utils.pretrain --out runs/pretrained`` trains
``BertForPreTraining(BertConfig.course_small(vocab_size=len(tokenizer)))`` on the documents of
``world.pretraining_corpus("train")`` (stories, reviews, news, quizzes, diaries), each input a pair of
sentences (``--pairs segments``: two runs of sentences that fill ``max_length``, as BERT's were), and
writes a model folder: ``config.json``, ``model.safetensors``, the tokenizer files and ``training_log.json`` (the command, the history, the time taken, the machine and the
held-out scores). The course ships one such folder in ``course_utils/assets/pretrained/``;
:func:`load_pretrained` loads it, never from the network.
"""

from __future__ import annotations

import argparse
import json
import math
import shlex
import shutil
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader

from course_utils import world
from course_utils.data import PretrainingCollator, PretrainingDataset
from course_utils.model import BertConfig, BertForPreTraining, BertPreTrainedModel
from course_utils.tokenizer import TOKENIZER_DIR, load_tokenizer
from course_utils.train import move_to_device, train
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
)
PAIRS = ("segments", "sentences")


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


def _fixed_batches(
    documents: list[list[str]],
    tokenizer: Any,
    *,
    batch_size: int,
    max_length: int,
    seed: int,
    pairs: str = DEFAULTS["pairs"],
) -> list[dict[str, torch.Tensor]]:
    """Held-out batches masked once with a seeded collator: every evaluation scores the same masks."""
    dataset = PretrainingDataset(
        documents, tokenizer, max_length=max_length, seed=seed, segments=_segments(pairs)
    )
    collate = PretrainingCollator(tokenizer, seed=seed)
    return list(DataLoader(dataset, batch_size=batch_size, shuffle=False, collate_fn=collate))


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
        device: where to run (default: where the model is).

    Returns:
        ``{"masked_token_accuracy": ..., "nsp_accuracy": ..., ...}``; see :func:`pretraining_metrics`.
    """
    docs = _documents(split, 0, max_documents)
    batches = _fixed_batches(
        docs, tokenizer, batch_size=batch_size, max_length=max_length, seed=seed, pairs=pairs
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
    max_documents: int | None = None,
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
        max_documents: use only the first documents of each split (for quick tests).
        checkpoint_dir, checkpoint_every, resume: full training checkpoints (with optimizer state) to
            resume an interrupted run; they stay out of ``out_dir``.
        device: default :func:`course_utils.utils.get_device`.
        progress: show a progress bar.
        command: the command line to record in the log.

    Returns:
        The trained model (eval mode) and the log written to ``training_log.json``.
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
    device = get_device(device)
    tokenizer = load_tokenizer()
    set_seed(seed)  # the initial weights
    model = BertForPreTraining(BertConfig.course_small(vocab_size=len(tokenizer)))

    train_docs = _documents("train", 0, max_documents)
    dataset = PretrainingDataset(
        train_docs,
        tokenizer,
        max_length=max_length,
        seed=seed,
        segments=_segments(pairs),
        dupe_factor=dupe_factor,
    )
    # new masks every batch, from the collator's own seeded generator (saved in checkpoints)
    collate = PretrainingCollator(tokenizer, seed=seed)
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=True, drop_last=True, collate_fn=collate)
    if len(loader) == 0:
        raise ValueError(f"{len(dataset)} training pairs make no full batch of {batch_size}")
    val_docs = _documents("validation", 0, max_documents)
    val_batches = _fixed_batches(
        val_docs, tokenizer, batch_size=batch_size, max_length=max_length, seed=seed, pairs=pairs
    )

    history = train(
        model,
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
    test = evaluate_pretrained(
        model,
        tokenizer,
        "test",
        seed=seed,
        max_documents=max_documents,
        batch_size=batch_size,
        max_length=max_length,
        pairs=pairs,
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
            "max_documents": max_documents,
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


def _int_at_least(minimum: int) -> Callable[[str], int]:
    """An argparse type: an integer >= ``minimum`` (argparse turns the error into a usage message)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{text} must be >= {minimum}")
        return value

    return parse


_positive_int = _int_at_least(1)


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text} must be a positive finite number, e.g. 2e-3")
    return value


def _warmup(text: str) -> float | int:
    """A fraction of the steps in [0, 1), or a whole number of steps >= 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value) or value < 0 or (value >= 1 and not value.is_integer()):
        raise argparse.ArgumentTypeError(
            f"{text} must be a fraction of the steps in [0, 1) (e.g. 0.06) or a whole number of steps"
        )
    return int(value) if value >= 1 else value


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
        "--max-documents", type=_max_documents, default=None, help="use only the first documents"
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
    command = "python -m course_utils.pretrain " + " ".join(
        shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv)
    )
    start = time.perf_counter()
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
        max_documents=args.max_documents,
        checkpoint_dir=args.checkpoint_dir,
        checkpoint_every=args.checkpoint_every,
        resume=args.resume,
        device=args.device,
        progress=not args.no_progress,
        command=command.strip(),
    )
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
