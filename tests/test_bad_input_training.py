"""Bad input to the training side of course_utils: train(), evaluate(), predict(), the optimizer and
schedule, History, utils, env, bio and the pretraining command. One line per case (see ``bad_input.py``).
"""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import math
import shutil
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from bad_input import case, expect_error
from helpers import tiny_bert_config
from torch import nn
from torch.utils.data import DataLoader

from course_utils import env, utils
from course_utils.bio import aptamer_bert_check
from course_utils.history import History
from course_utils.model import BertForSequenceClassification, BertForTokenClassification
from course_utils.pretrain import PRETRAINED_DIR, load_pretrained, load_pretrained_for, main
from course_utils.train import evaluate, linear_warmup_decay, make_optimizer, predict, train

pytestmark = pytest.mark.usefixtures("one_thread")

V, T = 40, 8


def model(**overrides) -> BertForSequenceClassification:
    torch.manual_seed(0)
    return BertForSequenceClassification(tiny_bert_config(V, T, **overrides))


def batches(n: int = 4, B: int = 2) -> list[dict[str, torch.Tensor]]:
    g = torch.Generator().manual_seed(0)
    return [
        {"input_ids": torch.randint(5, V, (B, T), generator=g), "labels": torch.arange(B) % 2}
        for _ in range(n)
    ]


def run(loader=None, net=None, **kwargs):
    """train() on the tiny classifier, two CPU steps, no progress bar; ``kwargs`` override."""
    kwargs = {"steps": 2, "device": "cpu", "progress": False, **kwargs}
    return train(model() if net is None else net, batches() if loader is None else loader, **kwargs)


class TokenModel(nn.Module):
    """A tiny token classifier with a mean cross-entropy: NaN when no position has a label."""

    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(V, V)

    def forward(self, input_ids, labels=None):
        logits = self.emb(input_ids)
        return SimpleNamespace(loss=F.cross_entropy(logits.view(-1, V), labels.view(-1)), logits=logits)


def unlabelled(n: int = 2) -> list[dict[str, torch.Tensor]]:
    return [{"input_ids": torch.randint(5, V, (2, T)), "labels": torch.full((2, T), -100)} for _ in range(n)]


def resume_with(tmp, **changes):
    """Train with a checkpoint, then resume the same folder with something changed."""
    run(checkpoint_dir=tmp / "ckpt")
    kwargs = {"checkpoint_dir": tmp / "ckpt", "resume": True, "steps": 2, **changes}
    return run(**kwargs)


def other_optimizer():
    return make_optimizer(model(), 1e-3)


class UsageError(Exception):
    """What the command printed when argparse refused its arguments (exit status 2)."""


TINY = ["--steps", "2", "--batch-size", "8", "--max-documents", "12", "--eval-every", "2", "--no-progress"]


def cli(tmp, *args: str):
    """``python -m course_utils.pretrain`` on a tiny run plus ``args`` (later flags win)."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            main([*TINY, "--device", "cpu", "--out", str(tmp / "out"), *args])
        except SystemExit as exit:
            if exit.code != 2:
                raise
            raise UsageError(err.getvalue().strip().splitlines()[-1]) from None


def copied_pretrained(tmp, drop: str | None = None, tokenizer_from: str | None = None):
    folder = tmp / "pretrained"
    shutil.copytree(PRETRAINED_DIR, folder)
    if drop:
        (folder / drop).unlink()
    if tokenizer_from:  # a tokenizer with one token fewer than the model's vocabulary
        data = json.loads((folder / "tokenizer.json").read_text())
        vocab = data["model"]["vocab"]
        vocab.pop(max(vocab, key=vocab.get))
        (folder / "tokenizer.json").write_text(json.dumps(data))
    return folder


def with_env(value: str):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("COURSE_DEVICE", value)
        return utils.get_device()


CASES = [
    # train(): the data
    case("train-one-shot-iterator", lambda tmp: run(iter(DataLoader(batches(), batch_size=None)), steps=5), ValueError, "one-shot"),
    case("train-one-shot-iterator-epochs", lambda tmp: run(iter(DataLoader(batches(), batch_size=None)), steps=None, epochs=2), ValueError, "one-shot"),
    case("train-generator", lambda tmp: run(b for b in batches()), TypeError, "has no len()"),
    case("train-empty-loader", lambda tmp: run([]), ValueError, "empty"),
    case("train-tuple-batches", lambda tmp: run([(b["input_ids"], b["labels"]) for b in batches()]), TypeError, "yield dicts"),
    case("train-tensor-batches", lambda tmp: run([b["input_ids"] for b in batches()]), TypeError, "yield dicts"),
    case("train-mismatched-batch-size", lambda tmp: run([{"input_ids": torch.randint(5, V, (4, T)), "labels": torch.tensor([0, 1, 0])}]), ValueError, "disagree on the batch size"),
    case("train-no-labels", lambda tmp: run([{"input_ids": b["input_ids"]} for b in batches()]), ValueError, "need labels"),
    case("train-no-labelled-position", lambda tmp: run(unlabelled(), net=TokenModel()), ValueError, "no labelled position"),
    case("train-model-returns-tensor", lambda tmp: run(net=nn.Sequential(nn.Embedding(V, 2)), loader=[{"input": b["input_ids"]} for b in batches()]), TypeError, ".loss"),
    case("train-model-not-module", lambda tmp: run(net=lambda **batch: None), TypeError, "torch.nn.Module"),
    # train(): how long
    case("train-steps-float", lambda tmp: run(steps=2.5), ValueError, "steps=2.5"),
    case("train-steps-bool", lambda tmp: run(steps=True), ValueError, "steps=True"),
    case("train-steps-zero", lambda tmp: run(steps=0), ValueError, "steps=0"),
    case("train-epochs-float", lambda tmp: run(steps=None, epochs=1.5), ValueError, "epochs=1.5"),
    case("train-epochs-bool", lambda tmp: run(steps=None, epochs=True), ValueError, "epochs=True"),
    case("train-steps-and-epochs", lambda tmp: run(epochs=1), ValueError, "exactly one"),
    case("train-eval-every-zero", lambda tmp: run(eval_loader=batches(1), eval_every=0), ValueError, "eval_every=0"),
    # train(): the optimisation
    case("train-lr-nan", lambda tmp: run(lr=math.nan), ValueError, "lr=nan"),
    case("train-lr-inf", lambda tmp: run(lr=math.inf), ValueError, "lr=inf"),
    case("train-lr-negative", lambda tmp: run(lr=-1e-3), ValueError, "lr=-0.001"),
    case("train-lr-bool", lambda tmp: run(lr=True), ValueError, "lr=True"),
    case("train-lr-string", lambda tmp: run(lr="1e-3"), ValueError, "lr='1e-3'"),
    case("train-warmup-bool", lambda tmp: run(warmup=True), ValueError, "warmup=True"),
    case("train-warmup-negative", lambda tmp: run(warmup=-1), ValueError, "warmup=-1"),
    case("train-warmup-nan", lambda tmp: run(warmup=math.nan), ValueError, "warmup=nan"),
    case("train-warmup-one", lambda tmp: run(warmup=1.0), ValueError, "must be < 1"),
    case("train-weight-decay-nan", lambda tmp: run(weight_decay=math.nan), ValueError, "weight_decay=nan"),
    case("train-max-grad-norm-string", lambda tmp: run(max_grad_norm="1"), ValueError, "max_grad_norm='1'"),
    case("train-max-seconds-nan", lambda tmp: run(max_seconds=math.nan), ValueError, "max_seconds=nan"),
    case("train-seed-negative", lambda tmp: run(seed=-1), ValueError, "seed=-1"),
    case("train-optimizer-wrong-type", lambda tmp: run(optimizer=model()), TypeError, "torch.optim.Optimizer"),
    case("train-optimizer-other-model", lambda tmp: run(optimizer=other_optimizer()), ValueError, "none of the model's parameters"),
    case("train-scheduler-wrong-type", lambda tmp: run(scheduler=lambda step: 1.0), TypeError, "scheduler must be"),
    case("train-scheduler-without-optimizer", lambda tmp: run(scheduler=linear_warmup_decay(other_optimizer(), 0, 2)), ValueError, "needs the optimizer"),
    # train(): where, evaluation, extra arguments
    case("train-device-gpu", lambda tmp: run(device="gpu"), ValueError, "'gpu' is not one of"),
    case("train-device-int", lambda tmp: run(device=3), TypeError, "device=3"),
    case("train-device-empty", lambda tmp: run(device=""), ValueError, "is not one of"),
    case("train-eval-fn-not-callable", lambda tmp: run(eval_loader=batches(1), eval_fn=3), TypeError, "eval_fn must be a function"),
    case("train-eval-fn-returns-float", lambda tmp: run(eval_loader=batches(1), eval_fn=lambda m, data, d: 0.5), TypeError, "eval_fn returned a float"),
    case("train-eval-fn-returns-text", lambda tmp: run(eval_loader=batches(1), eval_fn=lambda m, data, d: {"acc": "high"}), TypeError, "'acc'"),
    case("train-eval-fn-returns-vector", lambda tmp: run(eval_loader=batches(1), eval_fn=lambda m, data, d: {"acc": torch.ones(3)}), TypeError, "'acc'"),
    case("train-eval-loader-one-shot", lambda tmp: run(eval_loader=iter(batches(1)), eval_every=1), TypeError, "one-shot"),
    case("train-eval-loader-endless", lambda tmp: run(eval_loader=itertools.cycle(batches(1)), eval_every=1), TypeError, "one-shot"),
    case("train-eval-fn-without-loader", lambda tmp: run(eval_fn=lambda m, data, d: {}), ValueError, "eval_loader is None"),
    case("train-forward-kwargs-list", lambda tmp: run(forward_kwargs=[("output_attentions", True)]), TypeError, "forward_kwargs"),
    case("train-forward-kwargs-clash", lambda tmp: run(forward_kwargs={"labels": None}), ValueError, "both give ['labels']"),
    case("train-checkpoint-every-without-dir", lambda tmp: run(checkpoint_every=1), ValueError, "checkpoint_dir"),
    case("train-resume-other-class", lambda tmp: resume_with(tmp, net=BertForTokenClassification(tiny_bert_config(V, T))), ValueError, "holds a BertForSequenceClassification"),
    case("train-resume-other-config", lambda tmp: resume_with(tmp, net=model(intermediate_size=48)), ValueError, "intermediate_size"),
    case("train-resume-other-loader", lambda tmp: resume_with(tmp, loader=batches(6)), ValueError, "steps_per_epoch=4"),
    case("train-resume-other-seed", lambda tmp: resume_with(tmp, seed=1), ValueError, "seed=0"),
    # evaluate() / predict()
    case("evaluate-empty", lambda tmp: evaluate(model(), []), ValueError, "empty"),
    case("evaluate-no-labels", lambda tmp: evaluate(model(), [{"input_ids": batches()[0]["input_ids"]}]), ValueError, "need labels"),
    case("evaluate-tuple-batches", lambda tmp: evaluate(model(), [(1, 2)]), TypeError, "yield dicts"),
    case("evaluate-device-gpu", lambda tmp: evaluate(model(), batches(), device="gpu"), ValueError, "'gpu' is not one of"),
    case("evaluate-mismatched-batch-size", lambda tmp: evaluate(model(), [{"input_ids": torch.randint(5, V, (4, T)), "labels": torch.tensor([0, 1])}]), ValueError, "disagree"),
    case("predict-empty", lambda tmp: predict(model(), []), ValueError, "empty"),
    case("predict-wrong-field", lambda tmp: predict(model(), batches(), field="logit"), ValueError, "no 'logit'"),
    case("predict-field-not-text", lambda tmp: predict(model(), batches(), field=0), TypeError, "field=0"),
    case("predict-forward-kwargs-list", lambda tmp: predict(model(), batches(), forward_kwargs=["x"]), TypeError, "forward_kwargs"),
    # the optimizer and the schedule
    case("make-optimizer-lr-inf", lambda tmp: make_optimizer(model(), math.inf), ValueError, "lr=inf"),
    case("make-optimizer-not-module", lambda tmp: make_optimizer([torch.ones(2)], 1e-3), TypeError, "torch.nn.Module"),
    case("schedule-total-float", lambda tmp: linear_warmup_decay(other_optimizer(), 0, 10.0), ValueError, "total_steps=10.0"),
    case("schedule-warmup-bool", lambda tmp: linear_warmup_decay(other_optimizer(), True, 10), ValueError, "warmup_steps=True"),
    # History
    case("history-from-other-dict", lambda tmp: History.from_dict({"loss": [1.0]}), ValueError, "not a History dict"),
    case("history-from-training-log", lambda tmp: History.from_dict({"history": {}, "steps": 3}), ValueError, "log['history']"),
    case("history-from-list", lambda tmp: History.from_dict([1, 2]), TypeError, "needs a dict"),
    case("history-uneven-lists", lambda tmp: History.from_dict({"steps": [1, 2], "train_loss": [1.0]}), ValueError, "one length"),
    case("history-bad-eval", lambda tmp: History.from_dict({"eval": [3]}), ValueError, "'eval'"),
    case("history-best-no-evaluations", lambda tmp: History().best(), KeyError, "no evaluation recorded"),
    case("history-best-bad-mode", lambda tmp: History(eval=[(1, {"loss": 1.0})]).best(mode="minimum"), ValueError, "mode='minimum'"),
    case("history-best-all-nan", lambda tmp: History(eval=[(1, {"loss": math.nan})]).best(), ValueError, "NaN"),
    # utils
    case("get-device-gpu", lambda tmp: utils.get_device("gpu"), ValueError, "'gpu' is not one of"),
    case("get-device-int", lambda tmp: utils.get_device(0), TypeError, "device=0"),
    case("get-device-bad-index", lambda tmp: utils.get_device("cuda:x"), ValueError, "'cuda:x'"),
    case("get-device-empty", lambda tmp: utils.get_device(""), ValueError, "is not one of"),
    case("get-device-environment", lambda tmp: with_env("gpu"), ValueError, "COURSE_DEVICE"),
    case("set-seed-negative", lambda tmp: utils.set_seed(-1), ValueError, "seed=-1"),
    case("set-seed-float", lambda tmp: utils.set_seed(1.5), ValueError, "seed=1.5"),
    case("set-seed-text", lambda tmp: utils.set_seed("0"), ValueError, "seed='0'"),
    case("set-seed-too-large", lambda tmp: utils.set_seed(2**40), ValueError, "below 2**32"),
    case("show-source-builtin", lambda tmp: utils.show_source(len), TypeError, "built into Python"),
    case("show-source-number", lambda tmp: utils.show_source(3), TypeError, "pass a function, class"),
    case("count-parameters-not-module", lambda tmp: utils.count_parameters("bert"), TypeError, "torch.nn.Module"),
    case("model-device-not-module", lambda tmp: utils.model_device(None), TypeError, "torch.nn.Module"),
    case("autocast-bad-device", lambda tmp: utils.autocast("gpu"), ValueError, "'gpu' is not one of"),
    case("machine-description-bad-device", lambda tmp: utils.machine_description(7), TypeError, "device=7"),
    # env
    case("env-requirements-missing", lambda tmp: env.main(["--requirements", str(tmp / "typo.txt"), "--skip-offline"]), SystemExit, "2"),
    case("env-requirements-binary", lambda tmp: env.tested_pins(_binary(tmp)), ValueError, "not a text file"),
    # bio
    case("bio-budget-text", lambda tmp: aptamer_bert_check(seconds_budget="60"), ValueError, "seconds_budget='60'"),
    case("bio-budget-nan", lambda tmp: aptamer_bert_check(seconds_budget=math.nan), ValueError, "seconds_budget=nan"),
    case("bio-epochs-zero", lambda tmp: aptamer_bert_check(epochs=0), ValueError, "epochs=0"),
    case("bio-epochs-float", lambda tmp: aptamer_bert_check(epochs=1.5), ValueError, "epochs=1.5"),
    case("bio-lr-inf", lambda tmp: aptamer_bert_check(lr=math.inf), ValueError, "lr=inf"),
    case("bio-seed-negative", lambda tmp: aptamer_bert_check(seed=-1), ValueError, "seed=-1"),
    # the pretraining command and the shipped model
    case("cli-steps-zero", lambda tmp: cli(tmp, "--steps", "0"), UsageError, "--steps: 0 must be >= 1"),
    case("cli-steps-text", lambda tmp: cli(tmp, "--steps", "many"), UsageError, "--steps"),
    case("cli-batch-size-zero", lambda tmp: cli(tmp, "--batch-size", "0"), UsageError, "--batch-size"),
    case("cli-max-length-short", lambda tmp: cli(tmp, "--max-length", "3"), UsageError, "--max-length"),
    case("cli-max-length-long", lambda tmp: cli(tmp, "--max-length", "512"), UsageError, "--max-length"),
    case("cli-lr-zero", lambda tmp: cli(tmp, "--lr", "0"), UsageError, "--lr"),
    case("cli-lr-nan", lambda tmp: cli(tmp, "--lr", "nan"), UsageError, "--lr"),
    case("cli-lr-inf", lambda tmp: cli(tmp, "--lr", "inf"), UsageError, "--lr"),
    case("cli-warmup-negative", lambda tmp: cli(tmp, "--warmup", "-0.1"), UsageError, "--warmup"),
    case("cli-warmup-fractional-steps", lambda tmp: cli(tmp, "--warmup", "2.5"), UsageError, "--warmup"),
    case("cli-threads-zero", lambda tmp: cli(tmp, "--threads", "0"), UsageError, "--threads"),
    case("cli-eval-every-zero", lambda tmp: cli(tmp, "--eval-every", "0"), UsageError, "--eval-every"),
    case("cli-max-documents-one", lambda tmp: cli(tmp, "--max-documents", "1"), UsageError, "--max-documents"),
    case("cli-seed-negative", lambda tmp: cli(tmp, "--seed", "-1"), UsageError, "--seed"),
    case("cli-resume-without-dir", lambda tmp: cli(tmp, "--resume"), UsageError, "--checkpoint-dir"),
    case("cli-device-gpu", lambda tmp: cli(tmp, "--device", "gpu"), UsageError, "--device"),
    case("load-pretrained-missing", lambda tmp: load_pretrained(device="cpu", directory=tmp / "none"), FileNotFoundError, "no such folder"),
    case("load-pretrained-no-config", lambda tmp: load_pretrained(device="cpu", directory=copied_pretrained(tmp, drop="config.json")), FileNotFoundError, "config.json"),
    case("load-pretrained-no-tokenizer", lambda tmp: load_pretrained(device="cpu", directory=copied_pretrained(tmp, drop="tokenizer.json")), FileNotFoundError, "tokenizer.json"),
    case("load-pretrained-other-tokenizer", lambda tmp: load_pretrained(device="cpu", directory=copied_pretrained(tmp, tokenizer_from="smaller")), ValueError, "inconsistent"),
    case("load-pretrained-device-gpu", lambda tmp: load_pretrained(device="gpu"), ValueError, "'gpu' is not one of"),
    case("load-pretrained-for-name", lambda tmp: load_pretrained_for("BertForSequenceClassification"), TypeError, "course model class"),
]  # fmt: skip


def _binary(tmp):
    path = tmp / "requirements.txt"
    path.write_bytes(b"\xff\xfe\x00torch==2\x00")
    return path


@pytest.mark.parametrize("c", CASES)
def test_bad_input_gets_a_clear_error(c, tmp_path):
    expect_error(c, tmp_path)


def test_a_model_that_returns_nan_for_labelled_batches_still_says_lower_the_learning_rate():
    class Diverged(TokenModel):
        def forward(self, input_ids, labels=None):
            return SimpleNamespace(loss=super().forward(input_ids, labels).loss * math.nan)

    with pytest.raises(FloatingPointError, match="lower the learning rate"):
        labelled = [{"input_ids": torch.randint(5, V, (2, T)), "labels": torch.randint(0, V, (2, T))}]
        run(labelled, net=Diverged(), steps=1)


def test_history_best_skips_a_nan_evaluation():
    h = History(eval=[(1, {"loss": math.nan}), (2, {"loss": 2.0}), (3, {"loss": 1.5})])
    assert h.best() == (3, 1.5)
