"""Pretraining-step throughput of the course's BERT against ``transformers``' BERT, on this machine.

One step = forward (MLM + NSP losses), backward and an AdamW update, on the same weights (the course model
loads the ``transformers`` model's state dict with ``strict=True``), the same batch and the same
precision. The two models alternate in one process, several repeats; the median of the per-repeat time
ratios is reported, with both losses (equal to float32 rounding: checked before timing). The course model
runs as ``python -m course_utils.pretrain`` runs it (``masked_only=True``: vocabulary scores only where a
token was masked); ``transformers`` runs with both its attention implementations, and the faster one is
the reference. Achieved FLOP/s (counted with ``torch.utils.flop_counter``) are given as a fraction of the
large-matmul throughput of this CPU measured in the same run (the practical limit).

    python benchmarks/throughput.py [--configs small base] [--repeats 7] [--threads N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch
import transformers
from torch.utils.flop_counter import FlopCounterMode

from course_utils.model import BertConfig, BertForPreTraining
from course_utils.utils import machine_description

CONFIGS = {  # name -> (config, batch, length)
    "small": (
        dict(
            vocab_size=8000,
            hidden_size=128,
            num_hidden_layers=4,
            num_attention_heads=2,
            intermediate_size=512,
        ),
        32,
        128,
    ),
    "base": (dict(), 8, 128),
}


def batch_for(config: BertConfig, B: int, T: int, seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, config.vocab_size, (B, T), generator=g)
    labels = torch.where(torch.rand(B, T, generator=g) < 0.15, ids, torch.full_like(ids, -100))
    return {
        "input_ids": ids,
        "token_type_ids": (torch.arange(T) >= T // 2).long().expand(B, T).contiguous(),
        "attention_mask": torch.ones(B, T, dtype=torch.long),
        "labels": labels,
        "next_sentence_label": torch.randint(0, 2, (B,), generator=g),
    }


def matmul_flops_per_second(n: int = 2048, repeats: int = 5) -> float:
    """The CPU's practical limit: float32 FLOP/s of one large square matmul (best of several)."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best


def step(model, optimizer, batch, kwargs) -> float:
    out = model(**batch, **kwargs)
    optimizer.zero_grad(set_to_none=True)
    out.loss.backward()
    optimizer.step()
    return float(out.loss.detach())


def flops_of(model, batch, kwargs) -> int:
    with FlopCounterMode(display=False) as counter:
        out = model(**batch, **kwargs)
        out.loss.backward()
    model.zero_grad(set_to_none=True)
    return counter.get_total_flops()


def compare(name: str, repeats: int, steps: int) -> dict:
    fields, B, T = CONFIGS[name]
    config = BertConfig(
        **{
            **BertConfig().to_dict(),
            **fields,
            "hidden_dropout_prob": 0.0,
            "attention_probs_dropout_prob": 0.0,
        }
    )
    batch = batch_for(config, B, T)
    models = {}
    for impl in ("sdpa", "eager"):
        hf_config = config.to_hf()
        hf_config._attn_implementation = impl
        torch.manual_seed(0)
        models[f"transformers ({impl})"] = (transformers.BertForPreTraining(hf_config), {})
    ours = BertForPreTraining(config)
    ours.load_state_dict(models["transformers (sdpa)"][0].state_dict(), strict=True)
    models["course (masked_only)"] = (ours, {"masked_only": True})
    for key in models:
        models[key][0].load_state_dict(ours.state_dict(), strict=True)
    with torch.no_grad():
        losses = {k: float(m(**batch, **kw).loss) for k, (m, kw) in models.items()}
    assert max(losses.values()) - min(losses.values()) < 1e-4 * max(losses.values()), losses
    optimizers = {k: torch.optim.AdamW(m.parameters(), lr=1e-5) for k, (m, _) in models.items()}
    for k, (m, kw) in models.items():
        m.train()
        step(m, optimizers[k], batch, kw)  # warm up
    times: dict[str, list[float]] = {k: [] for k in models}
    for _ in range(repeats):
        for k, (m, kw) in models.items():
            start = time.perf_counter()
            for _ in range(steps):
                step(m, optimizers[k], batch, kw)
            times[k].append((time.perf_counter() - start) / steps)
    reference = min(
        (k for k in models if k.startswith("transformers")), key=lambda k: statistics.median(times[k])
    )
    ratios = [r / o for r, o in zip(times[reference], times["course (masked_only)"])]
    limit = matmul_flops_per_second()
    result = {
        "config": fields or "BERT-base",
        "batch": [B, T],
        "losses": losses,
        "reference": reference,
        "median_seconds": {k: statistics.median(t) for k, t in times.items()},
        "speedup_median": statistics.median(ratios),
        "speedup_min": min(ratios),
        "speedup_max": max(ratios),
        "matmul_flops_per_second": limit,
    }
    for k, (m, kw) in models.items():
        flops = flops_of(m, batch, kw)
        result.setdefault("flops_per_step", {})[k] = flops
        result.setdefault("fraction_of_matmul_limit", {})[k] = flops / result["median_seconds"][k] / limit
    print(
        f"{name}: course {result['median_seconds']['course (masked_only)'] * 1000:.0f} ms/step, "
        f"{reference} {result['median_seconds'][reference] * 1000:.0f} ms/step: "
        f"{result['speedup_median']:.2f}x (min {result['speedup_min']:.2f}, max {result['speedup_max']:.2f}); "
        f"course at {result['fraction_of_matmul_limit']['course (masked_only)']:.0%} of the matmul limit "
        f"({limit / 1e9:.0f} GFLOP/s)",
        flush=True,
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--steps", type=int, default=3, help="steps per timing")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "throughput.json"))
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    report = {
        "machine": machine_description("cpu"),
        "date": time.strftime("%Y-%m-%d"),
        "transformers": transformers.__version__,
        "command": "python benchmarks/throughput.py "
        + f"--configs {' '.join(args.configs)} --repeats {args.repeats} --steps {args.steps}"
        + (f" --threads {args.threads}" if args.threads else ""),
    }
    report["results"] = {name: compare(name, args.repeats, args.steps) for name in args.configs}
    Path(args.out).write_text(json.dumps(report, indent=1) + "\n")
    print("wrote", args.out)


if __name__ == "__main__":
    main()
