"""Which number of torch CPU threads trains the course's models fastest, on an idle CPU and on a busy one?

On a laptop the course shares the CPU with a browser, a video call, or (in a classroom) nothing else;
in CI with other test workers. Each workload below is one training step (forward, backward, AdamW) of a
model the course trains, timed with every thread count from 1 to the number of cores, alternating, with
several repeats; the median time per step is reported. "Busy" runs the same measurement while
``--busy`` processes (default: one per core) spin in pure Python, as other programs would.

    python benchmarks/threads.py [--repeats 7] [--busy N] [--out benchmarks/results/threads.json]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import statistics
import time
from pathlib import Path

import torch

from course_utils.classic import LSTMClassifier, WithCrossEntropy
from course_utils.model import BertConfig, BertForPreTraining, BertForSequenceClassification
from course_utils.utils import machine_description


def _spin(stop) -> None:  # a busy program: pure Python, one core
    x = 0
    while not stop.is_set():
        x = (x * 31 + 7) % 1_000_003


def workloads() -> dict[str, tuple]:
    """name -> (model, batch, forward kwargs): the sizes the labs and the pretraining command train."""
    g = torch.Generator().manual_seed(0)

    def ids(B, T, V):
        return torch.randint(5, V, (B, T), generator=g)

    out = {}
    # a lab-sized BERT classifier (units 04-10 train models of this size in their labs)
    config = BertConfig.course_small(vocab_size=2000, hidden_size=64, intermediate_size=256)
    out["lab BERT classifier (H 64, 2 layers, B 32 x T 32)"] = (
        BertForSequenceClassification(config),
        {"input_ids": ids(32, 32, 2000), "labels": torch.randint(0, 2, (32,), generator=g)},
        {},
    )
    # the shipped checkpoint's pretraining step (python -m course_utils.pretrain)
    config = BertConfig.course_small(vocab_size=2000)
    x = ids(128, 64, 2000)
    labels = torch.where(torch.rand(x.shape, generator=g) < 0.15, x, torch.full_like(x, -100))
    out["course-small pretraining (H 128, 2 layers, B 128 x T 64)"] = (
        BertForPreTraining(config),
        {"input_ids": x, "labels": labels, "next_sentence_label": torch.randint(0, 2, (128,), generator=g)},
        {"masked_only": True},
    )
    # fine-tuning the course-small BERT on a task (units 10-12)
    out["course-small fine-tuning (H 128, 2 layers, B 32 x T 64)"] = (
        BertForSequenceClassification(config),
        {"input_ids": ids(32, 64, 2000), "labels": torch.randint(0, 2, (32,), generator=g)},
        {},
    )
    # the LSTM classifier of unit 02
    out["LSTM classifier (H 64, B 32 x T 32)"] = (
        WithCrossEntropy(LSTMClassifier(vocab_size=2000, embed_dim=64, hidden_dim=64, num_classes=2)),
        {
            "input_ids": ids(32, 32, 2000),
            "lengths": torch.randint(8, 33, (32,), generator=g),
            "labels": torch.randint(0, 2, (32,), generator=g),
        },
        {},
    )
    return out


def _step_time(model, batch, kwargs, optimizer, steps: int) -> float:
    start = time.perf_counter()
    for _ in range(steps):
        out = model(**batch, **kwargs)
        loss = out.loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return (time.perf_counter() - start) / steps


def measure(repeats: int, steps: int) -> dict[str, dict[str, float]]:
    counts = list(range(1, (os.cpu_count() or 1) + 1))
    results = {}
    for name, (model, batch, kwargs) in workloads().items():
        model.train()
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
        _step_time(model, batch, kwargs, optimizer, 2)  # warm up
        times: dict[int, list[float]] = {n: [] for n in counts}
        for _ in range(repeats):  # alternate, so that a slow moment hits every count alike
            for n in counts:
                torch.set_num_threads(n)
                times[n].append(_step_time(model, batch, kwargs, optimizer, steps))
        results[name] = {str(n): statistics.median(t) * 1000 for n, t in times.items()}
        best = min(results[name], key=results[name].get)
        row = ", ".join(f"{n} thread(s) {ms:.1f} ms" for n, ms in results[name].items())
        print(f"  {name}: {row}  -> fastest: {best}")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--steps", type=int, default=5, help="steps per timing")
    parser.add_argument("--busy", type=int, default=os.cpu_count() or 1, help="busy processes for 'busy'")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "threads.json"))
    args = parser.parse_args()
    report = {"machine": machine_description("cpu"), "date": time.strftime("%Y-%m-%d"), "busy": args.busy}
    print("idle CPU:")
    report["idle"] = measure(args.repeats, args.steps)
    stop = mp.Event()
    spinners = [mp.Process(target=_spin, args=(stop,), daemon=True) for _ in range(args.busy)]
    for p in spinners:
        p.start()
    try:
        print(f"busy CPU ({args.busy} other processes spinning):")
        report["busy_cpu"] = measure(args.repeats, args.steps)
    finally:
        stop.set()
        for p in spinners:
            p.join()
    report["command"] = "python benchmarks/threads.py " + " ".join(
        f"--{k} {v}" for k, v in vars(args).items() if k != "out"
    )
    Path(args.out).write_text(json.dumps(report, indent=1) + "\n")
    print("wrote", args.out)


if __name__ == "__main__":
    main()
