"""Time to quality: how long pretraining takes, on this machine, to reach the shipped checkpoint's held-out
masked-token accuracy.

The shipped checkpoint's recipe decays its learning rate to zero at its last step (2,500), so a run with
fewer steps is a different run, not an earlier moment of the same one: each budget here is a whole
pretraining (``python -m course_utils.pretrain`` with the shipped settings, ``--steps`` and optionally
``--lr`` changed), scored on the same validation split as the shipped run. The time is the run's own
training time (``training_log.json``'s ``seconds``: evaluation every 250 steps included, data preparation
not). Results go to ``results/time_to_quality.json``.

    python benchmarks/time_to_quality.py [--steps 1500 2000 2500] [--lrs 2e-3 3e-3] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch

from course_utils.pretrain import PRETRAINED_DIR
from course_utils.pretrain import main as pretrain
from course_utils.utils import machine_description

RESULTS = Path(__file__).parent / "results" / "time_to_quality.json"


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


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, nargs="+", default=[1500, 2000])
    parser.add_argument("--lrs", type=float, nargs="+", default=[2e-3, 3e-3])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
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
    reached = [r for r in runs if r["reached"]]
    fastest = min(reached, key=lambda r: r["seconds"]) if reached else None
    report = {
        "machine": machine_description("cpu"),
        "date": time.strftime("%Y-%m-%d"),
        "command": "python benchmarks/time_to_quality.py "
        + f"--steps {' '.join(map(str, args.steps))} --lrs {' '.join(f'{lr:g}' for lr in args.lrs)} "
        + f"--threads {args.threads}",
        "target": target,
        "shipped": {
            "steps": shipped["steps"],
            "lr": shipped["settings"]["lr"],
            "seconds": shipped["seconds"],
            "machine": shipped["machine"],
        },
        "runs": runs,
        "fastest_to_target": fastest,
    }
    Path(args.out).write_text(json.dumps(report, indent=1) + "\n")
    print(
        "fastest to the target: "
        + (
            f"lr {fastest['lr']:g}, {fastest['steps']} steps, {fastest['seconds'] / 60:.1f} min"
            if fastest
            else "none"
        )
        + f"; the shipped run: {shipped['seconds'] / 60:.1f} min. Wrote {args.out}"
    )
    return report


if __name__ == "__main__":
    main()
