"""The training loop: optimizer groups, schedule, history, errors, learning, and exact resume."""

from __future__ import annotations

import random

import pytest
import torch
from helpers import tiny_bert_config
from torch.utils.data import DataLoader

from course_utils.model import BertConfig, BertForPreTraining, BertForSequenceClassification
from course_utils.train import (
    accuracy,
    evaluate,
    linear_warmup_decay,
    make_optimizer,
    predict,
    train,
    train_step,
)

V, T = 40, 8


def tiny_config(**overrides) -> BertConfig:
    return tiny_bert_config(V, T, **overrides)


def tiny_classifier(seed: int = 0, **overrides) -> BertForSequenceClassification:
    torch.manual_seed(seed)
    return BertForSequenceClassification(tiny_config(**overrides))


def toy_examples(n: int = 24, seed: int = 0) -> list[tuple[list[int], int]]:
    """Label 1 iff token 7 occurs: learnable, and checkable by eye."""
    g = random.Random(seed)
    out = []
    for i in range(n):
        ids = [g.randrange(8, V) for _ in range(T)]
        label = i % 2
        if label:
            ids[g.randrange(1, T)] = 7
        out.append((ids, label))
    return out


class NoisyCollate:
    """Collates toy examples and, like an MLM collator, draws random numbers per batch: from the global
    torch and Python generators, and from a seeded generator of its own (as a seeded MLM collator does).

    ``crash_at`` makes the n-th call fail, to simulate a run that is killed.
    """

    def __init__(self, crash_at: int | None = None):
        self.calls = 0
        self.crash_at = crash_at
        self.generator = torch.Generator().manual_seed(5)

    def __call__(self, examples):
        self.calls += 1
        if self.crash_at is not None and self.calls == self.crash_at:
            raise RuntimeError("simulated crash")
        ids = torch.tensor([e[0] for e in examples])
        # now and then, replace a random position by token 3
        pos = torch.randint(1, T, (len(examples),), generator=self.generator)
        noise = 3 if random.random() < 0.5 else 4
        if float(torch.rand(())) < 0.8:
            ids[torch.arange(len(examples)), pos] = noise
        return {"input_ids": ids, "labels": torch.tensor([e[1] for e in examples])}


def loader(examples, crash_at=None, shuffle=True, batch_size=4) -> DataLoader:
    return DataLoader(examples, batch_size=batch_size, shuffle=shuffle, collate_fn=NoisyCollate(crash_at))


def clean_collate(examples):
    return {
        "input_ids": torch.tensor([e[0] for e in examples]),
        "labels": torch.tensor([e[1] for e in examples]),
    }


# ----------------------------------------------------------------------------------------------------
# Optimizer and schedule
# ----------------------------------------------------------------------------------------------------


def test_make_optimizer_puts_biases_and_layernorm_in_the_no_decay_group():
    model = BertForPreTraining(tiny_config())
    opt = make_optimizer(model, lr=1e-3, weight_decay=0.05)
    groups = {g["name"]: g for g in opt.param_groups}
    assert groups["decay"]["weight_decay"] == 0.05 and groups["no_decay"]["weight_decay"] == 0.0
    decay, no_decay = set(groups["decay"]["param_names"]), set(groups["no_decay"]["param_names"])
    assert "bert.encoder.layer.0.attention.self.query.weight" in decay
    assert "bert.embeddings.word_embeddings.weight" in decay
    assert "bert.encoder.layer.0.intermediate.dense.weight" in decay
    assert "bert.embeddings.LayerNorm.weight" in no_decay
    assert "bert.encoder.layer.0.output.LayerNorm.weight" in no_decay
    assert "bert.encoder.layer.0.attention.self.query.bias" in no_decay
    assert "cls.predictions.bias" in no_decay
    # every parameter exactly once (the tied decoder weight is the word embedding, counted once)
    all_params = {id(p) for p in model.parameters()}
    in_groups = [id(p) for g in opt.param_groups for p in g["params"]]
    assert len(in_groups) == len(set(in_groups)) == len(all_params)
    # a name matches its tensor
    named = dict(model.named_parameters())
    for g in opt.param_groups:
        for name, p in zip(g["param_names"], g["params"]):
            assert named[name] is p
    assert all(n.endswith(("bias", "LayerNorm.weight")) for n in no_decay)


def test_make_optimizer_skips_frozen_parameters_and_rejects_bad_lr():
    model = tiny_classifier()
    for p in model.bert.parameters():
        p.requires_grad = False
    opt = make_optimizer(model, lr=1e-3)
    names = [n for g in opt.param_groups for n in g["param_names"]]
    assert sorted(names) == ["classifier.bias", "classifier.weight"]
    with pytest.raises(ValueError, match="lr"):
        make_optimizer(model, lr=0)


def test_linear_warmup_decay_values():
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=2.0)
    sched = linear_warmup_decay(opt, warmup_steps=2, total_steps=10)
    lrs = []
    for _ in range(11):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    # 0 → peak over 2 steps, then down to 0 at step 10: 2.0 * (10 - s) / 8
    expected = [0.0, 1.0, 2.0, 1.75, 1.5, 1.25, 1.0, 0.75, 0.5, 0.25, 0.0]
    assert lrs == pytest.approx(expected)


def test_linear_warmup_decay_matches_transformers():
    from transformers import get_linear_schedule_with_warmup

    lrs = []
    for make in (
        lambda o: linear_warmup_decay(o, 7, 50),
        lambda o: get_linear_schedule_with_warmup(o, 7, 50),
    ):
        opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
        sched, seq = make(opt), []
        for _ in range(55):
            seq.append(opt.param_groups[0]["lr"])
            opt.step()
            sched.step()
        lrs.append(seq)
    assert lrs[0] == pytest.approx(lrs[1])


def test_linear_warmup_decay_rejects_bad_arguments():
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    with pytest.raises(ValueError, match="total_steps"):
        linear_warmup_decay(opt, 0, 0)
    with pytest.raises(ValueError, match="warmup_steps"):
        linear_warmup_decay(opt, 11, 10)


# ----------------------------------------------------------------------------------------------------
# The loop
# ----------------------------------------------------------------------------------------------------


def test_train_learns_the_toy_task_and_records_everything():
    data = toy_examples(64)
    model = tiny_classifier(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    eval_loader = DataLoader(data, batch_size=16, collate_fn=clean_collate)
    before = evaluate(model, eval_loader)["loss"]

    def accuracy(model, loader, device):
        logits = predict(model, loader, device)
        labels = torch.cat([b["labels"] for b in loader])
        return {"accuracy": (logits.argmax(-1) == labels).float().mean().item()}

    train_loader = DataLoader(data, batch_size=8, shuffle=True, collate_fn=clean_collate)
    h = train(
        model,
        train_loader,
        epochs=10,
        lr=1e-2,
        warmup=0.1,
        eval_loader=eval_loader,
        eval_every=40,
        eval_fn=accuracy,
        progress=False,
        device="cpu",
    )
    assert h.steps == list(range(1, 81))
    assert len(h.train_loss) == len(h.lr) == len(h.grad_norm) == 80
    assert h.lr[0] == 0.0 and max(h.lr) == pytest.approx(1e-2)  # warmup starts at 0 and reaches the peak
    assert [s for s, _ in h.eval] == [40, 80]
    after = evaluate(model, eval_loader)["loss"]
    assert after < 0.5 * before, (before, after)
    assert h.eval[-1][1]["accuracy"] >= 0.9
    assert not model.training  # left in eval mode
    assert h.seconds > 0


def test_train_records_loss_parts_of_pretraining():
    torch.manual_seed(0)
    model = BertForPreTraining(tiny_config())
    ids = torch.randint(5, V, (8, T))
    labels = torch.full((8, T), -100)
    labels[:, 2] = ids[:, 2]
    batches = [
        {
            "input_ids": ids[i : i + 4],
            "labels": labels[i : i + 4],
            "next_sentence_label": torch.tensor([0, 1, 0, 1]),
        }
        for i in (0, 4)
    ]
    h = train(
        model,
        batches,
        steps=3,
        progress=False,
        device="cpu",
        eval_loader=batches,
        eval_every=3,
        forward_kwargs={"masked_only": True},
    )
    assert set(h.parts) == {"mlm_loss", "nsp_loss"}
    for i in range(3):
        assert h.parts["mlm_loss"][i] + h.parts["nsp_loss"][i] == pytest.approx(h.train_loss[i], rel=1e-5)
    assert set(h.eval[0][1]) == {"loss", "mlm_loss", "nsp_loss"}


def test_same_seed_same_run_and_evaluation_does_not_disturb_training():
    data = toy_examples()
    h1 = train(tiny_classifier(), loader(data), steps=8, progress=False, device="cpu")
    h2 = train(
        tiny_classifier(),
        loader(data),
        steps=8,
        progress=False,
        device="cpu",
        eval_loader=loader(data),
        eval_every=2,
    )
    assert h1.train_loss == h2.train_loss  # dropout is on, the data shuffled and randomly altered
    h3 = train(tiny_classifier(), loader(data), steps=8, progress=False, device="cpu", seed=1)
    assert h3.train_loss != h1.train_loss


def test_train_argument_errors():
    data = toy_examples()
    model = tiny_classifier()
    with pytest.raises(ValueError, match="exactly one of steps= or epochs="):
        train(model, loader(data), progress=False)
    with pytest.raises(ValueError, match="exactly one of steps= or epochs="):
        train(model, loader(data), steps=2, epochs=1, progress=False)
    with pytest.raises(ValueError, match="empty"):
        train(model, loader([], shuffle=False), steps=2, progress=False)
    with pytest.raises(TypeError, match="dicts"):
        train(model, [(torch.zeros(2, T, dtype=torch.long), torch.zeros(2))], steps=1, progress=False)
    with pytest.raises(ValueError, match="warmup"):
        train(model, loader(data), steps=2, warmup=1.5, progress=False)


def test_a_batch_the_model_rejects_names_the_step():
    good = {"input_ids": torch.randint(5, V, (2, T)), "labels": torch.tensor([0, 1])}
    bad = {"input_ids": torch.randint(5, V, (2, T)), "labels": torch.tensor([0, 5])}  # class 5 of 2
    with pytest.raises(ValueError, match="class ids") as info:
        train(tiny_classifier(), [good, good, bad], steps=3, progress=False, device="cpu")
    assert "training step 3" in "".join(getattr(info.value, "__notes__", []))
    no_labels = {"input_ids": good["input_ids"]}
    with pytest.raises(ValueError, match="no loss"):
        train(tiny_classifier(), [no_labels], steps=1, progress=False, device="cpu")


# ----------------------------------------------------------------------------------------------------
# Resume: an interrupted run continues exactly as if it had never stopped
# ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("crash_after", [4, 6, 9])  # mid-epoch, at an epoch boundary (6 batches/epoch), later
def test_resume_gives_identical_losses(tmp_path, crash_after):
    data, N, every = toy_examples(24), 14, crash_after
    reference = train(
        tiny_classifier(),
        loader(data),
        steps=N,
        progress=False,
        device="cpu",
        eval_loader=loader(data),
        eval_every=5,
    )
    ref_model_state = {k: v.clone() for k, v in tiny_classifier().state_dict().items()}

    ckpt = tmp_path / "run"
    # the collate of batch crash_after + 2 fails: crash_after steps are saved, one more step is lost
    with pytest.raises(RuntimeError, match="simulated crash"):
        train(
            tiny_classifier(),
            loader(data, crash_at=crash_after + 2),
            steps=N,
            progress=False,
            device="cpu",
            checkpoint_dir=ckpt,
            checkpoint_every=every,
            eval_loader=loader(data),
            eval_every=5,
        )
    # a fresh process: new model (other initial weights), new optimizer, new loader
    torch.manual_seed(123)
    random.seed(123)
    model = tiny_classifier(seed=99)
    assert any(not torch.equal(v, ref_model_state[k]) for k, v in model.state_dict().items())
    resumed = train(
        model,
        loader(data),
        steps=N,
        progress=False,
        device="cpu",
        checkpoint_dir=ckpt,
        resume=True,
        eval_loader=loader(data),
        eval_every=5,
    )
    assert resumed.steps == list(range(1, N + 1))
    torch.testing.assert_close(resumed.train_loss, reference.train_loss, atol=1e-6, rtol=0)
    torch.testing.assert_close(resumed.lr, reference.lr, atol=1e-12, rtol=0)
    assert [s for s, _ in resumed.eval] == [s for s, _ in reference.eval]
    torch.testing.assert_close(
        [m["loss"] for _, m in resumed.eval], [m["loss"] for _, m in reference.eval], atol=1e-6, rtol=0
    )


def test_resume_refuses_other_run_settings(tmp_path):
    data = toy_examples()
    train(tiny_classifier(), loader(data), steps=3, progress=False, device="cpu", checkpoint_dir=tmp_path)
    with pytest.raises(ValueError, match="total_steps=3"):
        train(
            tiny_classifier(),
            loader(data),
            steps=5,
            progress=False,
            device="cpu",
            checkpoint_dir=tmp_path,
            resume=True,
        )


def test_max_seconds_stops_early_and_says_so():
    data = toy_examples(64)
    h = train(tiny_classifier(), loader(data), steps=10_000, max_seconds=0.3, progress=False, device="cpu")
    assert h.stopped_early and 0 < len(h) < 10_000
    full = train(tiny_classifier(), loader(data), steps=5, progress=False, device="cpu")
    assert not full.stopped_early and len(full) == 5
    with pytest.raises(ValueError, match="max_seconds"):
        train(tiny_classifier(), loader(data), steps=5, max_seconds=0, progress=False)


def test_a_one_shot_iterator_is_an_error_not_a_hang():
    batches = DataLoader(toy_examples(16), batch_size=4, collate_fn=clean_collate)

    class OneShot:  # has a length, but can be iterated only once (like iter(DataLoader))
        def __init__(self):
            self.it = iter(batches)

        def __len__(self):
            return len(batches)

        def __iter__(self):
            return self.it

    with pytest.raises(ValueError, match="one-shot iterator"):
        train(tiny_classifier(), OneShot(), steps=len(batches) + 1, progress=False, device="cpu")


def test_train_step_is_one_optimizer_update():
    model = tiny_classifier(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    batch = clean_collate(toy_examples(8))
    optimizer = make_optimizer(model, lr=1e-2)
    scheduler = linear_warmup_decay(optimizer, 0, 10)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    result = train_step(model, batch, optimizer, scheduler, max_grad_norm=1e-3)
    assert set(result) == {"loss", "lr", "grad_norm", "parts"}
    assert result["loss"] == pytest.approx(model(**batch).loss.item(), rel=0.2)
    assert result["lr"] == 1e-2 and scheduler.get_last_lr()[0] == pytest.approx(9e-3)
    assert result["grad_norm"] > 1e-3  # measured before clipping
    changed = [k for k, v in model.state_dict().items() if not torch.equal(v, before[k])]
    assert changed, "one step must change the weights"


def test_accuracy_is_the_share_of_top_logits_equal_to_the_labels():
    model = tiny_classifier()
    batches = DataLoader(toy_examples(20), batch_size=6, collate_fn=clean_collate)
    labels = torch.cat([b["labels"] for b in batches])
    expected = (predict(model, batches).argmax(-1) == labels).float().mean().item()
    assert accuracy(model, batches) == pytest.approx(expected)
    with pytest.raises(ValueError, match="labels"):
        accuracy(model, [{"input_ids": torch.randint(5, V, (2, T))}])
