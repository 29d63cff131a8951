"""Time to quality: how long pretraining takes, on this machine, to reach the shipped checkpoint's held-out
masked-token accuracy; with ``--finetune``, how long fine-tuning that checkpoint takes to reach a test
accuracy on the sentiment task.

The shipped checkpoint's recipe decays its learning rate to zero at its last step (2,500), so a run with
fewer steps is a different run, not an earlier moment of the same one: each budget here is a whole
pretraining (``python -m course_utils.pretrain`` with the shipped settings, ``--steps`` and optionally
``--lr`` changed), scored on the same validation split as the shipped run. The time is the run's own
training time (``training_log.json``'s ``seconds``: evaluation every 250 steps included, data preparation
not). Results go to ``results/time_to_quality.json``.

Fine-tuning (``--finetune``) is measured the same way: each budget is a whole run of
:func:`course_utils.finetune.fine_tune_classifier` on all 3,000 labelled training reviews (``--epochs``
passes, warmup then linear decay to zero, the best epoch on the validation split kept, then scored on the
test split), once with the full last layer and once with ``cls_only`` (that layer computed at [CLS] only).
Each budget runs with every seed of ``--seeds`` (the data order and the new head) and is scored by the
mean test accuracy. The target is the data card's mean test accuracy of the pretrained mini-BERT with all
labels and the same seeds (``results/pretraining_value_sentiment.json``: 16 epochs, the better of two
learning rates on validation) unless ``--target`` gives one. Results go to
``results/time_to_quality_finetune.json``.

    python benchmarks/time_to_quality.py [--steps 1500 2000 2500] [--lrs 2e-3 3e-3] [--threads 1]
    python benchmarks/time_to_quality.py --finetune [--epochs 1 2 4 8] [--lrs 5e-4] [--seeds 0 1 2]
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import tempfile
import time
from pathlib import Path

import torch

from course_utils import world
from course_utils.finetune import classification_loader, fine_tune_classifier
from course_utils.model import BertForSequenceClassification
from course_utils.pretrain import PRETRAINED_DIR
from course_utils.pretrain import main as pretrain
from course_utils.tokenizer import load_tokenizer
from course_utils.train import accuracy
from course_utils.utils import machine_description, set_seed

RESULTS = Path(__file__).parent / "results"
# the data card's pretrained mini-BERT on the sentiment task: pretraining_value.py's runs
SENTIMENT = RESULTS / "pretraining_value_sentiment.json"


def shipped_log() -> dict:
    return json.loads((PRETRAINED_DIR / "training_log.json").read_text())


def run(steps: int, lr: float, threads: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        log = pretrain(
            ["--steps", str(steps), "--lr", str(lr), "--threads", str(threads), "--no-progress"]
            + ["--out", str(Path(tmp) / "model"), "--device", "cpu"]
        )
    return {
        "steps": steps,
        "lr": lr,
        "seconds": log["seconds"],
        "validation_masked_token_accuracy": log["validation"]["masked_token_accuracy"],
        "validation_nsp_accuracy": log["validation"]["nsp_accuracy"],
        "test_masked_token_accuracy": log["test"]["masked_token_accuracy"],
    }


def finetune_run(epochs: int, lr: float, cls_only: bool, seed: int, tokenizer, splits: dict) -> dict:
    """One whole fine-tuning of the shipped checkpoint on all the sentiment labels, scored on test."""
    set_seed(seed)
    model = BertForSequenceClassification.from_pretrained(PRETRAINED_DIR, num_labels=2)
    train, validation = splits["train"], splits["validation"]
    result = fine_tune_classifier(
        model, tokenizer, train, validation, epochs=epochs, lr=lr, seed=seed, device="cpu", cls_only=cls_only
    )
    history = result["history"]
    return {
        "epochs": epochs,
        "lr": lr,
        "cls_only": cls_only,
        "steps": len(history),
        "seconds": history.seconds,
        "validation_accuracy": max(result["validation_accuracy"]),
        "test_accuracy": accuracy(model, classification_loader(tokenizer, *splits["test"], batch_size=128)),
    }


def data_card_scores(seeds: list[int]) -> list[float]:
    """The data card's test accuracies of the pretrained mini-BERT fine-tuned on all sentiment labels with
    these seeds (its runs are in the order of the ``--seeds`` of the command that made them)."""
    card = json.loads(SENTIMENT.read_text())
    command = shlex.split(card["commands"][0])
    made = []
    for word in command[command.index("--seeds") + 1 :]:
        if word.startswith("--"):
            break
        made.append(int(word))
    if missing := sorted(set(seeds) - set(made)):
        raise SystemExit(f"{SENTIMENT.name} has no run for seeds {missing} (seeds {made}); give --target")
    scores = card["sentiment"]["all"]["BERT, pretrained"]["scores"]
    return [scores[made.index(seed)] for seed in seeds]


def pretraining(args) -> dict:
    shipped = shipped_log()
    target = shipped["validation"]["masked_token_accuracy"]
    print(
        f"target: the shipped checkpoint's validation masked-token accuracy {target:.4f} "
        f"({shipped['steps']} steps, lr {shipped['settings']['lr']:g}, {shipped['seconds']:.0f} s)",
        flush=True,
    )
    runs = []
    for lr in args.lrs:
        for steps in args.steps:
            result = run(steps, lr, args.threads)
            result["reached"] = result["validation_masked_token_accuracy"] >= target
            runs.append(result)
            print(
                f"lr {lr:g}, {steps} steps: {result['validation_masked_token_accuracy']:.4f} in "
                f"{result['seconds']:.0f} s ({'reached' if result['reached'] else 'not reached'})",
                flush=True,
            )
    report = {
        "command": f"--steps {' '.join(map(str, args.steps))}",
        "target": target,
        "shipped": {
            "steps": shipped["steps"],
            "lr": shipped["settings"]["lr"],
            "seconds": shipped["seconds"],
            "machine": shipped["machine"],
        },
        "runs": runs,
    }
    return report


def finetuning(args) -> dict:
    if args.target is None:
        target = statistics.mean(data_card_scores(args.seeds))
        source = (
            f"the data card's pretrained mini-BERT, all labels, mean of seeds {args.seeds} ({SENTIMENT.name})"
        )
    else:
        target, source = args.target, "--target"
    print(f"target: mean test accuracy {target:.4f}, {source}", flush=True)
    tokenizer = load_tokenizer(PRETRAINED_DIR)
    splits = {split: world.sentiment_reviews(split) for split in ("train", "validation", "test")}
    runs = []
    for lr in args.lrs:
        for epochs in args.epochs:
            for cls_only in (False, True):
                seeds = [finetune_run(epochs, lr, cls_only, seed, tokenizer, splits) for seed in args.seeds]
                result = {
                    "epochs": epochs,
                    "lr": lr,
                    "cls_only": cls_only,
                    "steps": seeds[0]["steps"],
                    "seconds": statistics.mean(r["seconds"] for r in seeds),
                    "test_accuracy": statistics.mean(r["test_accuracy"] for r in seeds),
                    "per_seed": seeds,
                }
                result["reached"] = result["test_accuracy"] >= target
                runs.append(result)
                each = ", ".join(f"{r['test_accuracy']:.3f}" for r in seeds)
                print(
                    f"lr {lr:g}, {epochs} epochs ({result['steps']} steps), cls_only={cls_only}: mean test "
                    f"{result['test_accuracy']:.4f} ({each}) "
                    f"in {result['seconds']:.0f} s ({'reached' if result['reached'] else 'not reached'})",
                    flush=True,
                )
    per_step = {
        flag: sum(r["seconds"] / r["steps"] for r in runs if r["cls_only"] == flag) for flag in (False, True)
    }
    return {
        "command": f"--finetune --epochs {' '.join(map(str, args.epochs))} "
        + f"--seeds {' '.join(map(str, args.seeds))}"
        + (f" --target {args.target:g}" if args.target is not None else ""),
        "target": target,
        "target_source": source,
        "cls_only_speedup_per_step": per_step[False] / per_step[True],
        "runs": runs,
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--finetune", action="store_true", help="fine-tuning on sentiment, not pretraining")
    parser.add_argument("--steps", type=int, nargs="+", default=[1500, 2000], help="pretraining budgets")
    parser.add_argument("--epochs", type=int, nargs="+", default=[1, 2, 4, 8], help="fine-tuning budgets")
    parser.add_argument(
        "--lrs", type=float, nargs="+", default=None, help="default 2e-3 3e-3; 5e-4 with --finetune"
    )
    parser.add_argument("--target", type=float, default=None, help="fine-tuning's test accuracy to reach")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="fine-tuning's seeds")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default=None, help="default: results/time_to_quality[_finetune].json")
    args = parser.parse_args(argv)
    args.lrs = args.lrs or ([5e-4] if args.finetune else [2e-3, 3e-3])
    out = Path(args.out or RESULTS / f"time_to_quality{'_finetune' if args.finetune else ''}.json")
    torch.set_num_threads(args.threads)
    report = finetuning(args) if args.finetune else pretraining(args)
    reached = [r for r in report["runs"] if r["reached"]]
    fastest = min(reached, key=lambda r: r["seconds"]) if reached else None
    report = {
        "machine": machine_description("cpu"),
        "date": time.strftime("%Y-%m-%d"),
        "command": f"python benchmarks/time_to_quality.py {report.pop('command')} "
        + f"--lrs {' '.join(f'{lr:g}' for lr in args.lrs)} --threads {args.threads}",
        **report,
        "fastest_to_target": fastest,
    }
    out.write_text(json.dumps(report, indent=1) + "\n")
    budget = "epochs" if args.finetune else "steps"
    print(
        "fastest to the target: "
        + (
            f"lr {fastest['lr']:g}, {fastest[budget]} {budget}"
            + (f", cls_only={fastest['cls_only']}" if args.finetune else "")
            + f", {fastest['seconds']:.0f} s = {fastest['seconds'] / 60:.1f} min"
            if fastest
            else "none"
        )
        + f". Wrote {out}"
    )
    return report


if __name__ == "__main__":
    main()
