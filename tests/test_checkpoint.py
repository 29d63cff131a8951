"""Checkpoints: a full round trip, no pickle anywhere, and clear errors for a mismatched model."""

from __future__ import annotations

import json
import pickle
import random

import numpy as np
import pytest
import torch
from helpers import tiny_bert_config
from safetensors.torch import load_model

from course_utils.checkpoint import (
    get_rng_state,
    has_checkpoint,
    load_checkpoint,
    save_checkpoint,
    set_rng_state,
)
from course_utils.model import BertConfig, BertForPreTraining, BertForSequenceClassification
from course_utils.train import History, linear_warmup_decay, make_optimizer

V, T = 50, 8


def config(**overrides) -> BertConfig:
    return tiny_bert_config(V, T, **overrides)


def trained_objects(seed: int = 0, steps: int = 3):
    """A pretraining model, AdamW and schedule after a few real steps (so Adam's state is not empty)."""
    torch.manual_seed(seed)
    model = BertForPreTraining(config())
    opt = make_optimizer(model, lr=1e-3)
    sched = linear_warmup_decay(opt, 2, 10)
    ids = torch.randint(5, V, (4, T))
    labels = torch.where(torch.rand(4, T) < 0.3, ids, torch.full_like(ids, -100))
    for _ in range(steps):
        loss = model(ids, labels=labels, next_sentence_label=torch.tensor([0, 1, 0, 1])).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    return model, opt, sched


@pytest.fixture
def no_pickle(monkeypatch):
    """Make every way of unpickling fail loudly, so a test proves loading never uses it."""

    def refuse(*args, **kwargs):
        raise AssertionError("a checkpoint must never be unpickled")

    monkeypatch.setattr(torch, "load", refuse)
    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)


def test_round_trip_restores_model_optimizer_scheduler_and_history(tmp_path, no_pickle):
    model, opt, sched = trained_objects()
    history = History(
        steps=[1, 2, 3],
        train_loss=[3.0, 2.5, 2.0],
        lr=[0, 5e-4, 1e-3],
        grad_norm=[1, 1, 1],
        eval=[(3, {"loss": 2.2})],
        seconds=1.5,
    )
    save_checkpoint(tmp_path, model, opt, sched, step=3, history=history, extra={"note": "hello"})
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "config.json",
        "model.safetensors",
        "optimizer.safetensors",
        "trainer_state.json",
    ]
    assert json.loads((tmp_path / "config.json").read_text())["architectures"] == ["BertForPreTraining"]
    assert has_checkpoint(tmp_path)

    model2, opt2, sched2 = trained_objects(seed=1, steps=1)  # different weights and optimizer state
    ckpt = load_checkpoint(tmp_path, model=model2, optimizer=opt2, scheduler=sched2)
    assert ckpt.step == 3 and ckpt.extra == {"note": "hello"} and ckpt.history == history
    for (k, a), (_, b) in zip(model.state_dict().items(), model2.state_dict().items()):
        torch.testing.assert_close(a, b, atol=0, rtol=0, msg=k)
    assert sched2.state_dict() == sched.state_dict()
    sd, sd2 = opt.state_dict(), opt2.state_dict()
    assert sd["param_groups"] == sd2["param_groups"]
    assert sd["state"].keys() == sd2["state"].keys()
    for idx in sd["state"]:
        for name, value in sd["state"][idx].items():
            torch.testing.assert_close(sd2["state"][idx][name], value, atol=0, rtol=0)
    # the decoder stays tied to the word embeddings after loading
    assert model2.cls.predictions.decoder.weight is model2.bert.embeddings.word_embeddings.weight


def test_the_next_step_after_loading_equals_the_next_step_without_saving(tmp_path):
    model, opt, sched = trained_objects()
    save_checkpoint(tmp_path, model, opt, sched, step=3)
    model2, opt2, sched2 = trained_objects(seed=5, steps=2)
    load_checkpoint(tmp_path, model=model2, optimizer=opt2, scheduler=sched2)
    ids = torch.randint(5, V, (4, T), generator=torch.Generator().manual_seed(9))
    for m, o, s in ((model, opt, sched), (model2, opt2, sched2)):
        m.eval()  # no dropout: the two updates must be bit-identical
        loss = m(ids, labels=ids, next_sentence_label=torch.tensor([1, 1, 0, 0])).loss
        o.zero_grad()
        loss.backward()
        o.step()
        s.step()
    for a, b in zip(model.parameters(), model2.parameters()):
        torch.testing.assert_close(a, b, atol=0, rtol=0)


def test_load_without_a_model_builds_the_saved_class(tmp_path, no_pickle):
    torch.manual_seed(0)
    model = BertForSequenceClassification(config(num_labels=3))
    save_checkpoint(tmp_path, model, step=7)
    ckpt = load_checkpoint(tmp_path)
    assert type(ckpt.model) is BertForSequenceClassification
    assert ckpt.model.config == model.config and ckpt.step == 7 and ckpt.history is None
    ids = torch.randint(5, V, (2, T))
    model.eval(), ckpt.model.eval()
    torch.testing.assert_close(ckpt.model(ids).logits, model(ids).logits)
    # the folder is also a model folder for from_pretrained
    again = BertForSequenceClassification.from_pretrained(tmp_path)
    torch.testing.assert_close(again.eval()(ids).logits, model(ids).logits)


def test_other_config_is_a_clear_error_naming_the_fields(tmp_path):
    model, _, _ = trained_objects()
    save_checkpoint(tmp_path, model)
    other = BertForPreTraining(config(hidden_size=32, intermediate_size=64))
    with pytest.raises(ValueError, match=r"hidden_size: checkpoint 16 vs model 32.*intermediate_size"):
        load_checkpoint(tmp_path, model=other)
    with pytest.raises(ValueError, match="holds a BertForPreTraining, but the model is a Bert"):
        load_checkpoint(tmp_path, model=BertForSequenceClassification(config()))
    # dropout is not part of the weights: a model without dropout may load the checkpoint
    load_checkpoint(tmp_path, model=BertForPreTraining(config(hidden_dropout_prob=0.0)))


def test_missing_checkpoint_and_missing_optimizer_are_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a checkpoint folder"):
        load_checkpoint(tmp_path / "nothing")
    model, opt, _ = trained_objects()
    save_checkpoint(tmp_path, model)  # no optimizer saved
    with pytest.raises(ValueError, match="no optimizer state"):
        load_checkpoint(tmp_path, model=model, optimizer=opt)


def test_any_module_can_be_checkpointed(tmp_path, no_pickle):
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    opt = torch.optim.AdamW(net.parameters(), lr=0.1)
    net(torch.randn(5, 3)).sum().backward()
    opt.step()
    save_checkpoint(tmp_path, net, opt, step=1)
    net2 = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    opt2 = torch.optim.AdamW(net2.parameters(), lr=0.5)
    load_checkpoint(tmp_path, model=net2, optimizer=opt2)
    for a, b in zip(net.parameters(), net2.parameters()):
        torch.testing.assert_close(a, b)
    assert opt2.param_groups[0]["lr"] == 0.1
    with pytest.raises(ValueError, match="cannot build by itself"):
        load_checkpoint(tmp_path)


def test_rng_state_round_trip_through_json():
    state = json.loads(json.dumps(get_rng_state()))
    expected = (random.random(), float(np.random.rand()), torch.rand(3))
    set_rng_state(state)
    again = (random.random(), float(np.random.rand()), torch.rand(3))
    assert expected[:2] == again[:2]
    torch.testing.assert_close(expected[2], again[2], atol=0, rtol=0)


def test_the_model_part_of_a_checkpoint_is_the_model_folder(tmp_path):
    model, opt, _ = trained_objects()
    save_checkpoint(tmp_path / "ckpt", model, opt, step=3)
    model.save_pretrained(tmp_path / "folder")
    for name in ("config.json", "model.safetensors"):  # written by save_pretrained, byte for byte
        assert (tmp_path / "ckpt" / name).read_bytes() == (tmp_path / "folder" / name).read_bytes()
    state = json.loads((tmp_path / "ckpt" / "trainer_state.json").read_text())
    assert state["model_class"] == "BertForPreTraining" and "config" not in state
    # another course class starts from the checkpoint's encoder, as from any model folder
    clf = BertForSequenceClassification.from_pretrained(tmp_path / "ckpt")
    torch.testing.assert_close(
        clf.bert.embeddings.word_embeddings.weight, model.bert.embeddings.word_embeddings.weight
    )


def test_another_module_is_saved_as_its_weights_only(tmp_path, no_pickle):
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(4, 6, batch_first=True)
    save_checkpoint(tmp_path, lstm, step=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.safetensors", "trainer_state.json"]
    # the weights are a plain safetensors file: load_model reads them without this module
    other = torch.nn.LSTM(4, 6, batch_first=True)
    load_model(other, str(tmp_path / "model.safetensors"))
    for a, b in zip(lstm.parameters(), other.parameters()):
        torch.testing.assert_close(a, b, atol=0, rtol=0)
    again = torch.nn.LSTM(4, 6, batch_first=True)
    assert load_checkpoint(tmp_path, model=again).step == 2
    torch.testing.assert_close(again.weight_hh_l0, lstm.weight_hh_l0, atol=0, rtol=0)
    with pytest.raises(ValueError, match="holds a LSTM, but the model is a GRU"):
        load_checkpoint(tmp_path, model=torch.nn.GRU(4, 6))
    with pytest.raises(RuntimeError, match="size"):  # same class, other sizes: safetensors names them
        load_checkpoint(tmp_path, model=torch.nn.LSTM(4, 7))
