"""On a CUDA GPU: pretraining runs there and what it writes loads on the CPU; with two GPUs, data-parallel
pretraining over NCCL trains as one GPU. Skipped without a GPU (the course must also run without one).
Fine-tuning on a GPU: tests/test_pretraining_pays.py runs its headline on each device there is."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch
from helpers import ON_GPU

from course_utils.model import BertForPreTraining
from course_utils.pretrain import load_pretrained, main

pytestmark = ON_GPU

RUN = ["--steps", "8", "--batch-size", "16", "--max-documents", "200", "--dropout", "0", "--eval-every", "4"]
RUN += ["--no-progress", "--lr", "3e-3", "--warmup", "1", "--device", "cuda"]


@pytest.fixture(scope="module")
def gpu_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("gpu") / "model"
    return out, main([*RUN, "--out", str(out)])


def test_pretraining_on_the_gpu_trains_and_writes_a_model_that_loads_on_the_cpu(gpu_run):
    out, log = gpu_run
    assert log["machine"]["device"].startswith("cuda") and "gpu" in log["machine"]
    losses = log["history"]["train_loss"]
    assert len(losses) == 8 and all(map(torch.isfinite, torch.tensor(losses)))
    assert losses[-1] < losses[0] - 0.5, losses  # a learning rate of 3e-3 moves the loss at once
    on_cpu, _ = load_pretrained("cpu", out)
    on_gpu, _ = load_pretrained("cuda", out)
    assert isinstance(on_cpu, BertForPreTraining) and next(on_gpu.parameters()).is_cuda
    ids = torch.randint(5, on_cpu.config.vocab_size, (2, 12))
    torch.backends.cuda.matmul.allow_tf32 = False
    with torch.no_grad():
        cpu_logits = on_cpu(ids).prediction_logits
        gpu_logits = on_gpu(ids.cuda()).prediction_logits.cpu()
    torch.testing.assert_close(gpu_logits, cpu_logits, atol=1e-4, rtol=1e-4)


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs two CUDA GPUs")
def test_two_gpus_under_torchrun_train_as_one_gpu(gpu_run, tmp_path):
    """NCCL needs one GPU per process, so this runs only where two are lent (tests/test_pretrain_ddp.py
    checks the same on two CPU processes with gloo, to 1e-4)."""
    _, one = gpu_run
    out = tmp_path / "ddp"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    done = subprocess.run(
        [*command, "-m", "course_utils.pretrain", *RUN, "--out", str(out)],
        capture_output=True,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    two = json.loads((out / "training_log.json").read_text())
    assert two["settings"]["world_size"] == 2 and two["machine"]["device"] == "cuda:0"
    # the same data, masks and pairs; bf16 autocast on both, so agreement is to bf16 rounding, not 1e-4
    torch.testing.assert_close(
        torch.tensor(two["history"]["train_loss"]),
        torch.tensor(one["history"]["train_loss"]),
        atol=0.02,
        rtol=0,
    )
