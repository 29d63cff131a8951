"""Pretraining-step throughput of the course's BERT against ``transformers``' BERT, on this machine.

One step = forward (MLM + NSP losses), backward and an AdamW update, on the same weights (the course model
loads the ``transformers`` model's state dict with ``strict=True``), the same batch and the same
precision. The two models alternate in one process, several repeats; the median of the per-repeat time
ratios is reported, with both losses (equal to float32 rounding: checked in float32 before timing). The
course model runs as ``python -m course_utils.pretrain`` runs it (``masked_only=True``: vocabulary scores,
and the last layer past its attention, only where a token was masked and at [CLS]); ``transformers`` runs
with both its attention implementations, and the faster one is the reference. Achieved FLOP/s (counted
with ``torch.utils.flop_counter``) are given as a fraction of the large-matmul throughput measured in
the same run (the practical limit: float32 on a CPU, bf16 on a GPU) and, on a GPU, of the datasheet peak
given with ``--peak-tflops``. Peak memory per model is measured in a fresh process that builds only that
model and runs two steps: its peak resident set (CPU) or the most GPU memory it allocated (GPU).

    python benchmarks/throughput.py [--configs small base] [--repeats 7] [--threads N]
    python benchmarks/throughput.py --device cuda [--configs base base512 d2l] [--compile]

On a GPU every model runs under bf16 autocast (as the course's training loop does there) and the
attention is PyTorch's fused ``scaled_dot_product_attention`` (flash attention when nothing is masked).
``d2l`` is the tiny BERT of Dive into Deep Learning's pretraining chapter (2 layers, H 128, 2 heads,
feed-forward 256, WikiText-2's 20,256-word vocabulary, T 64, batch 512), reported in sentence pairs per
second as d2l reports it.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import statistics
import time
from pathlib import Path

import torch
import transformers
from torch.utils.flop_counter import FlopCounterMode

from course_utils.model import BertConfig, BertForPreTraining
from course_utils.utils import autocast, machine_description, peak_resident_mb

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
    "base512": (dict(), 2, 512),
    "d2l": (
        dict(
            vocab_size=20256,
            hidden_size=128,
            num_hidden_layers=2,
            num_attention_heads=2,
            intermediate_size=256,
        ),
        512,
        64,
    ),
}
# A GPU takes bigger batches: 8,192 tokens for BERT-base at both lengths; d2l's own batch of 512 pairs
GPU_BATCH = {"small": 256, "base": 64, "base512": 16, "d2l": 512}


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


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def matmul_flops_per_second(device: torch.device, repeats: int = 5) -> float:
    """The practical limit: FLOP/s of one large square matmul (best of several), float32 on a CPU
    (2048 x 2048), bf16 on a GPU (8192 x 8192, random data)."""
    n, dtype = (8192, torch.bfloat16) if device.type == "cuda" else (2048, torch.float32)
    a, b = torch.randn(n, n, device=device, dtype=dtype), torch.randn(n, n, device=device, dtype=dtype)
    a @ b
    synchronize(device)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        synchronize(device)
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best


def step(model, optimizer, batch, kwargs) -> torch.Tensor:
    with autocast(batch["input_ids"].device):  # bf16 on a GPU, nothing on a CPU
        out = model(**batch, **kwargs)
    optimizer.zero_grad(set_to_none=True)
    out.loss.backward()
    optimizer.step()
    return out.loss.detach()


def flops_of(model, batch, kwargs) -> int:
    with FlopCounterMode(display=False) as counter:
        out = model(**batch, **kwargs)
        out.loss.backward()
    model.zero_grad(set_to_none=True)
    return counter.get_total_flops()


def config_of(name: str) -> BertConfig:
    fields = CONFIGS[name][0]
    return BertConfig(
        **{
            **BertConfig().to_dict(),
            **fields,
            "hidden_dropout_prob": 0.0,
            "attention_probs_dropout_prob": 0.0,
        }
    )


def make_model(config: BertConfig, key: str) -> tuple[torch.nn.Module, dict]:
    """One of the compared models (``COURSE`` or ``"transformers (sdpa|eager)"``) and its forward kwargs."""
    if key == COURSE:
        return BertForPreTraining(config), {"masked_only": True}
    hf_config = config.to_hf()
    hf_config._attn_implementation = key.removeprefix("transformers (").removesuffix(")")
    return transformers.BertForPreTraining(hf_config), {}


COURSE = "course (masked_only)"
KEYS = ["transformers (sdpa)", "transformers (eager)", COURSE]


def build(name: str, device: torch.device, batch_size: int | None = None):
    """The config, the batch on ``device`` and the three models with the same weights, in float32."""
    _, B, T = CONFIGS[name]
    config = config_of(name)
    batch = {k: v.to(device) for k, v in batch_for(config, batch_size or B, T).items()}
    torch.manual_seed(0)
    models = {key: make_model(config, key) for key in KEYS}
    weights = models[KEYS[0]][0].state_dict()
    for model, _ in models.values():
        model.load_state_dict(weights, strict=True)
        model.to(device).train()
    return config, batch, models


def _peak_memory_of(name: str, key: str, device: str, batch_size: int, threads: int | None) -> float:
    """In a fresh process: build only the model ``key`` and run two steps. Returns GiB: the peak resident
    set of the process on a CPU, the most memory allocated on a GPU."""
    if threads:
        torch.set_num_threads(threads)
    device = torch.device(device)
    _, _, T = CONFIGS[name]
    config = config_of(name)
    model, kwargs = make_model(config, key)
    model.to(device).train()
    batch = {k: v.to(device) for k, v in batch_for(config, batch_size, T).items()}
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)
    for _ in range(2):
        step(model, optimizer, batch, kwargs)
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**30
    return peak_rss_gib()


def peak_rss_gib() -> float:
    """This process's peak resident set: VmHWM on Linux (ru_maxrss would keep the parent's peak across the
    exec that starts a spawned process), else ru_maxrss (bytes on macOS)."""
    mb = peak_resident_mb()
    if mb is not None:
        return mb / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**30


def peak_memory_gib(name: str, key: str, device: torch.device, batch_size: int, threads: int | None) -> float:
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(_peak_memory_of, (name, key, str(device), batch_size, threads))


def compare(
    name: str,
    repeats: int,
    steps: int,
    device: torch.device,
    threads: int | None,
    compile_: bool,
    batch_size: int | None = None,
) -> dict:
    _, B, T = CONFIGS[name]
    on_gpu = device.type == "cuda"
    if on_gpu:
        B = GPU_BATCH[name]
    B = batch_size or B
    config, batch, models = build(name, device, B)
    # the same function: float32 losses agree before anything is timed (no TF32 for this check)
    tf32 = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False
    with torch.no_grad():
        losses = {k: float(m(**batch, **kw).loss) for k, (m, kw) in models.items()}
    torch.backends.cuda.matmul.allow_tf32 = tf32
    assert max(losses.values()) - min(losses.values()) < 1e-4 * max(losses.values()), losses
    if compile_:
        ours = models[COURSE][0]
        models[COURSE + ", compiled"] = (torch.compile(ours), models[COURSE][1])
    optimizers = {k: torch.optim.AdamW(m.parameters(), lr=1e-5) for k, (m, _) in models.items()}
    first_losses = {}
    for k, (m, kw) in models.items():
        first_losses[k] = float(step(m, optimizers[k], batch, kw))  # warm up (and compile)
        step(m, optimizers[k], batch, kw)
    synchronize(device)
    times: dict[str, list[float]] = {k: [] for k in models}
    for _ in range(repeats):
        for k, (m, kw) in models.items():
            synchronize(device)
            start = time.perf_counter()
            for _ in range(steps):
                step(m, optimizers[k], batch, kw)
            synchronize(device)
            times[k].append((time.perf_counter() - start) / steps)
    reference = min(
        (k for k in models if k.startswith("transformers")), key=lambda k: statistics.median(times[k])
    )
    ratios = [r / o for r, o in zip(times[reference], times[COURSE])]
    limit = matmul_flops_per_second(device)
    result = {
        "config": CONFIGS[name][0] or "BERT-base",
        "batch": [B, T],
        "precision": "bf16 autocast" if on_gpu else "float32",
        "losses": losses,
        "first_step_losses": first_losses,
        "reference": reference,
        "median_seconds": {k: statistics.median(t) for k, t in times.items()},
        "speedup_median": statistics.median(ratios),
        "speedup_min": min(ratios),
        "speedup_max": max(ratios),
        "matmul_flops_per_second": limit,
        "sequences_per_second": {k: B / statistics.median(t) for k, t in times.items()},
    }
    if compile_:
        compiled = [r / o for r, o in zip(times[reference], times[COURSE + ", compiled"])]
        result["speedup_compiled_median"] = statistics.median(compiled)
    for k, (m, kw) in models.items():
        flops = flops_of(models[COURSE][0] if k.endswith("compiled") else m, batch, kw)
        result.setdefault("flops_per_step", {})[k] = flops
        result.setdefault("fraction_of_matmul_limit", {})[k] = flops / result["median_seconds"][k] / limit
        if peak_tflops := PEAK_TFLOPS.get(device.type):
            mfu = flops / result["median_seconds"][k] / (peak_tflops * 1e12)
            result.setdefault("fraction_of_datasheet_peak", {})[k] = mfu
        if not k.endswith("compiled"):
            memory = peak_memory_gib(name, k, device, B, threads)
            result.setdefault("peak_memory_gib", {})[k] = memory
    course = result["median_seconds"][COURSE]
    print(
        f"{name} (B {B} x T {T}, {result['precision']}): course {course * 1000:.1f} ms/step, "
        f"{reference} {result['median_seconds'][reference] * 1000:.1f} ms/step: "
        f"{result['speedup_median']:.2f}x (min {result['speedup_min']:.2f}, max {result['speedup_max']:.2f}); "
        f"course at {result['fraction_of_matmul_limit'][COURSE]:.0%} of the matmul limit "
        f"({limit / 1e9:.0f} GFLOP/s); {B / course:,.0f} sequences/s; peak memory "
        + ", ".join(f"{k} {v:.2f} GiB" for k, v in result["peak_memory_gib"].items())
        + (f"; compiled: {result['speedup_compiled_median']:.2f}x" if compile_ else ""),
        flush=True,
    )
    return result


PEAK_TFLOPS: dict[str, float] = {}  # device type -> datasheet bf16 dense TFLOP/s (--peak-tflops)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="cpu or cuda (bf16 autocast, GPU batch sizes)")
    parser.add_argument("--configs", nargs="+", default=None, choices=list(CONFIGS))
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--steps", type=int, default=3, help="steps per timing")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    parser.add_argument("--batch", type=int, default=None, help="sequences per batch (default: the config's)")
    parser.add_argument("--compile", action="store_true", help="also time the course model torch.compile'd")
    parser.add_argument(
        "--peak-tflops", type=float, default=None, help="the GPU's datasheet bf16 dense TFLOP/s, for MFU"
    )
    parser.add_argument("--out", default=None, help="default: results/throughput[_cuda].json")
    args = parser.parse_args()
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda, but torch sees no CUDA GPU")
    configs = args.configs or (["base", "base512", "d2l"] if device.type == "cuda" else ["small", "base"])
    out = args.out or str(
        Path(__file__).parent / "results" / f"throughput{'_cuda' if device.type == 'cuda' else ''}.json"
    )
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.peak_tflops:
        PEAK_TFLOPS[device.type] = args.peak_tflops
    report = {
        "machine": machine_description(device),
        "date": time.strftime("%Y-%m-%d"),
        "transformers": transformers.__version__,
        "command": "python benchmarks/throughput.py "
        + (f"--device {args.device} " if device.type != "cpu" else "")
        + f"--configs {' '.join(configs)} --repeats {args.repeats} --steps {args.steps}"
        + (f" --threads {args.threads}" if args.threads else "")
        + (f" --batch {args.batch}" if args.batch else "")
        + (" --compile" if args.compile else "")
        + (f" --peak-tflops {args.peak_tflops:g}" if args.peak_tflops else "")
        + (f" --out {args.out}" if args.out else ""),
    }
    report["results"] = {
        name: compare(name, args.repeats, args.steps, device, args.threads, args.compile, args.batch)
        for name in configs
    }
    Path(out).write_text(json.dumps(report, indent=1) + "\n")
    print("wrote", out)


if __name__ == "__main__":
    main()
