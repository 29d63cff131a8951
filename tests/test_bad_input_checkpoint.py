"""Bad input to checkpoints: missing, truncated, foreign or half-written files, and checkpoints of
another model. One line per case (see ``bad_input.py``); every error names the file or the difference.
"""

from __future__ import annotations

import json
import math

import pytest
import torch
from bad_input import case, expect_error
from helpers import tiny_bert_config
from torch import nn

from course_utils.checkpoint import has_checkpoint, load_checkpoint, save_checkpoint, set_rng_state
from course_utils.model import BertForPreTraining, BertForSequenceClassification
from course_utils.train import linear_warmup_decay, make_optimizer

V, T = 50, 8


def bert(cls=BertForPreTraining, **overrides):
    torch.manual_seed(0)
    return cls(tiny_bert_config(V, T, **overrides))


def saved(tmp, model=None, optimizer=True, scheduler=True, step=3):
    """A checkpoint folder of a tiny pretraining model (with AdamW and its schedule unless told not)."""
    model = bert() if model is None else model
    opt = make_optimizer(model, 1e-3) if optimizer else None
    sched = linear_warmup_decay(opt, 1, 10) if scheduler and opt is not None else None
    if opt is not None:  # one step, so that Adam's state holds tensors
        sum(p.sum() for p in model.parameters()).backward()
        opt.step()
    return save_checkpoint(tmp / "ckpt", model, opt, sched, step=step)


def damaged(tmp, name: str, content: bytes | None = None, keep: int | None = None):
    """A saved checkpoint whose file ``name`` is replaced by ``content`` or cut to its first ``keep`` bytes."""
    folder = saved(tmp)
    path = folder / name
    path.write_bytes(content if content is not None else path.read_bytes()[:keep])
    return folder


def edited_state(tmp, **changes):
    folder = saved(tmp)
    state = json.loads((folder / "trainer_state.json").read_text())
    state.update(changes)
    for key in [k for k, v in changes.items() if v is None]:
        del state[key]
    (folder / "trainer_state.json").write_text(json.dumps(state))
    return folder


def interrupted(tmp):
    """A later save that died after rewriting the model, before the state file: the files disagree."""
    folder = saved(tmp)
    later = bert()
    with torch.no_grad():
        later.cls.seq_relationship.bias.add_(1.0)
    later.save_pretrained(folder)
    return folder


def load_with_optimizer(folder, model=None, scheduler=False):
    model = bert() if model is None else model
    opt = make_optimizer(model, 1e-3)
    sched = torch.optim.lr_scheduler.StepLR(opt, 1) if scheduler else None
    return load_checkpoint(folder, model=model, optimizer=opt, scheduler=sched)


def plain_module():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))


CASES = [
    # the folder
    case("load-missing-folder", lambda tmp: load_checkpoint(tmp / "none"), FileNotFoundError, "is not a checkpoint folder"),
    case("load-a-file", lambda tmp: load_checkpoint(saved(tmp) / "config.json"), FileNotFoundError, "is not a checkpoint folder"),
    case("load-model-folder-only", lambda tmp: load_checkpoint(_model_folder(tmp)), FileNotFoundError, "trainer_state.json"),
    # damaged files: the error names the file
    case("model-truncated", lambda tmp: load_checkpoint(damaged(tmp, "model.safetensors", keep=100), model=bert()), ValueError, "model.safetensors"),
    case("model-truncated-built-here", lambda tmp: load_checkpoint(damaged(tmp, "model.safetensors", keep=100)), ValueError, "model.safetensors"),
    case("model-not-safetensors", lambda tmp: load_checkpoint(damaged(tmp, "model.safetensors", b"PK\x03\x04 a zip file"), model=bert()), ValueError, "model.safetensors"),
    case("model-empty-file", lambda tmp: load_checkpoint(damaged(tmp, "model.safetensors", b""), model=bert()), ValueError, "model.safetensors"),
    case("plain-module-truncated", lambda tmp: _plain_truncated(tmp), ValueError, "model.safetensors"),
    case("optimizer-truncated", lambda tmp: load_with_optimizer(damaged(tmp, "optimizer.safetensors", keep=64)), ValueError, "optimizer.safetensors"),
    case("optimizer-not-safetensors", lambda tmp: load_with_optimizer(damaged(tmp, "optimizer.safetensors", b"\x80\x04pickle")), ValueError, "optimizer.safetensors"),
    case("optimizer-file-missing", lambda tmp: load_with_optimizer(_without(tmp, "optimizer.safetensors")), FileNotFoundError, "optimizer.safetensors"),
    case("state-not-json", lambda tmp: load_checkpoint(damaged(tmp, "trainer_state.json", b'{"step": 3, "model_cl')), ValueError, "trainer_state.json"),
    case("state-not-text", lambda tmp: load_checkpoint(damaged(tmp, "trainer_state.json", b"\xff\xfe\x00\x01")), ValueError, "trainer_state.json"),
    case("state-a-list", lambda tmp: load_checkpoint(damaged(tmp, "trainer_state.json", b"[1, 2]")), ValueError, "trainer_state.json"),
    case("state-without-step", lambda tmp: load_checkpoint(edited_state(tmp, step=None)), ValueError, "'step'"),
    case("state-without-class", lambda tmp: load_checkpoint(edited_state(tmp, model_class=None)), ValueError, "'model_class'"),
    case("state-bad-history", lambda tmp: load_checkpoint(edited_state(tmp, history={"loss": [1]}), model=bert()), ValueError, "history"),
    case("interrupted-save", lambda tmp: load_checkpoint(interrupted(tmp), model=bert()), ValueError, "save was interrupted"),
    # a checkpoint of something else
    case("other-class", lambda tmp: load_checkpoint(saved(tmp), model=bert(BertForSequenceClassification)), ValueError, "holds a BertForPreTraining"),
    case("other-config", lambda tmp: load_checkpoint(saved(tmp), model=bert(hidden_size=32, num_attention_heads=4)), ValueError, "hidden_size: checkpoint 16 vs model 32"),
    case("other-plain-module", lambda tmp: load_checkpoint(saved(tmp, model=plain_module()), model=nn.Sequential(nn.Linear(3, 5), nn.Linear(5, 2))), RuntimeError, "size"),
    case("unknown-class-needs-model", lambda tmp: load_checkpoint(saved(tmp, model=plain_module())), ValueError, "pass it as model="),
    case("model-not-module", lambda tmp: load_checkpoint(saved(tmp), model="BertForPreTraining"), TypeError, "torch.nn.Module"),
    case("optimizer-other-type", lambda tmp: load_checkpoint(saved(tmp), model=(m := bert()), optimizer=torch.optim.SGD(m.parameters(), 0.1)), ValueError, "optimizer is a AdamW"),
    case("optimizer-other-groups", lambda tmp: load_with_optimizer(saved(tmp), model=_frozen()), ValueError, "parameter groups"),
    case("scheduler-other-type", lambda tmp: load_with_optimizer(saved(tmp), scheduler=True), ValueError, "scheduler is a LambdaLR"),
    case("no-optimizer-saved", lambda tmp: load_with_optimizer(saved(tmp, optimizer=False)), ValueError, "no optimizer state"),
    case("no-scheduler-saved", lambda tmp: load_with_optimizer(saved(tmp, scheduler=False), scheduler=True), ValueError, "no scheduler state"),
    # saving
    case("save-not-module", lambda tmp: save_checkpoint(tmp / "c", {"weight": torch.ones(2)}), TypeError, "torch.nn.Module"),
    case("save-optimizer-wrong-type", lambda tmp: save_checkpoint(tmp / "c", bert(), optimizer="adam"), TypeError, "torch.optim.Optimizer"),
    case("save-negative-step", lambda tmp: save_checkpoint(tmp / "c", bert(), step=-1), ValueError, "step=-1"),
    case("save-float-step", lambda tmp: save_checkpoint(tmp / "c", bert(), step=math.pi), ValueError, "step=3.14"),
    case("save-extra-not-json", lambda tmp: save_checkpoint(tmp / "c", bert(), extra={"f": print}), TypeError, "cannot store"),
    case("save-onto-a-file", lambda tmp: save_checkpoint(_a_file(tmp), bert()), FileExistsError, "is a file"),
    case("set-rng-state-garbage", lambda tmp: set_rng_state({"python": 1}), ValueError, "get_rng_state"),
]  # fmt: skip


def _model_folder(tmp):
    bert().save_pretrained(tmp / "model")
    return tmp / "model"


def _plain_truncated(tmp):
    folder = saved(tmp, model=plain_module())
    path = folder / "model.safetensors"
    path.write_bytes(path.read_bytes()[:40])
    return load_checkpoint(folder, model=plain_module())


def _frozen():
    model = bert()
    model.bert.embeddings.requires_grad_(False)  # fewer parameters to optimise than when it was saved
    return model


def _without(tmp, name):
    folder = saved(tmp)
    (folder / name).unlink()
    return folder


def _a_file(tmp):
    path = tmp / "ckpt"
    path.write_text("not a folder")
    return path


@pytest.mark.parametrize("c", CASES)
def test_bad_checkpoint_gets_a_clear_error(c, tmp_path):
    expect_error(c, tmp_path)


def test_a_failed_save_leaves_the_previous_checkpoint_whole(tmp_path):
    folder = saved(tmp_path, step=3)
    with pytest.raises(TypeError, match="cannot store"):
        save_checkpoint(folder, bert(), step=4, extra={"f": print})
    assert load_checkpoint(folder, model=bert()).step == 3


def test_a_checkpoint_without_fingerprints_still_loads(tmp_path):
    """Checkpoints written before the state file recorded its companions' fingerprints."""
    folder = edited_state(tmp_path, files=None)
    assert has_checkpoint(folder) and load_checkpoint(folder, model=bert()).step == 3
