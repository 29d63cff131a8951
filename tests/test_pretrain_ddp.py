"""Data-parallel pretraining: ``torchrun --nproc_per_node=2 -m course_utils.pretrain`` on two CPU processes
(gloo) trains exactly as one process with the same global batch."""

import json
import os
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file

from course_utils.pretrain import DataParallelShard, main

# a few steps on a few documents, dropout off so that the two runs can be compared number for number
RUN = ["--steps", "6", "--batch-size", "16", "--max-documents", "200", "--dropout", "0", "--eval-every", "3"]
RUN += ["--no-progress", "--lr", "3e-3", "--warmup", "1"]


def _run(command: list[str], out) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    done = subprocess.run(
        [*command, *RUN, "--out", str(out)], capture_output=True, text=True, env=env, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads((out / "training_log.json").read_text())


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ddp")
    one = _run([sys.executable, "-m", "course_utils.pretrain", "--threads", "1"], tmp / "one")
    two = _run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
        + ["-m", "course_utils.pretrain"],
        tmp / "two",
    )
    return tmp, one, two


def test_two_processes_train_exactly_as_one(runs):
    tmp, one, two = runs
    assert one["settings"]["world_size"] == 1 and two["settings"]["world_size"] == 2
    assert two["command"].startswith("torchrun --nproc_per_node=2 -m course_utils.pretrain")
    assert one["settings"]["dropout"] == two["settings"]["dropout"] == 0.0
    losses_one, losses_two = one["history"]["train_loss"], two["history"]["train_loss"]
    assert len(losses_one) == len(losses_two) == 6
    # the losses move (the run trains), and the two runs agree step by step (the logs keep 5 digits)
    assert max(losses_one) - min(losses_one) > 0.05
    torch.testing.assert_close(torch.tensor(losses_two), torch.tensor(losses_one), rtol=0, atol=1.1e-4)
    for part in ("mlm_loss", "nsp_loss"):
        torch.testing.assert_close(
            torch.tensor(two["history"]["parts"][part]),
            torch.tensor(one["history"]["parts"][part]),
            rtol=0,
            atol=1.1e-4,
        )
    assert two["validation"] == pytest.approx(one["validation"], abs=1.1e-4)
    w1, w2 = load_file(tmp / "one" / "model.safetensors"), load_file(tmp / "two" / "model.safetensors")
    assert w1.keys() == w2.keys()
    for name in w1:
        torch.testing.assert_close(w2[name], w1[name], rtol=0, atol=1e-5)


def test_a_process_reports_the_global_loss_and_keeps_only_its_rows(monkeypatch):
    """The shard's loss value is the global one; its gradient is its share (checked without processes:
    all_reduce replaced by the sum the other process would add)."""
    from course_utils.model import BertConfig, BertForPreTraining

    torch.manual_seed(0)
    config = BertConfig.course_small(vocab_size=50, hidden_size=16, intermediate_size=32)
    config.hidden_dropout_prob = config.attention_probs_dropout_prob = 0.0
    model = BertForPreTraining(config)
    B, T = 4, 8
    batch = {
        "input_ids": torch.randint(5, 50, (B, T)),
        "labels": torch.full((B, T), -100),
        "next_sentence_label": torch.tensor([0, 1, 1, 0]),
    }
    batch["labels"][0, 1:6] = 7  # 5 masked tokens in row 0, 1 in row 2: unequal counts per process
    batch["labels"][2, 3] = 9
    whole = model(**batch)
    shares = []
    for rank in (0, 1):
        seen = {}

        def fake_all_reduce(t, seen=seen):
            seen["local"] = t.clone()

        monkeypatch.setattr(torch.distributed, "all_reduce", fake_all_reduce)
        out = DataParallelShard(model, rank, 2)(**batch)
        shares.append(seen["local"])
        assert out.mlm_loss is not None
    total = shares[0] + shares[1]  # what all_reduce would give each process
    torch.testing.assert_close(total, torch.stack([whole.mlm_loss, whole.nsp_loss]).detach())
    with pytest.raises(ValueError, match="does not split evenly"):
        DataParallelShard(model, 0, 3)(**batch)


def test_bad_model_size_and_dropout_are_refused():
    with pytest.raises(SystemExit):
        main(["--dropout", "1.5"])
    with pytest.raises(SystemExit):
        main(["--hidden-size", "0"])
