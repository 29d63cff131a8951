"""Pretraining: the command writes a loadable model folder, and the shipped checkpoint is a real model."""

from __future__ import annotations

import json

import pytest
import torch

from course_utils.checkpoint import load_checkpoint
from course_utils.model import (
    BertConfig,
    BertForMaskedLM,
    BertForPreTraining,
    BertForQuestionAnswering,
    BertForSequenceClassification,
    BertForTokenClassification,
    BertModel,
)
from course_utils.pretrain import (
    PRETRAINED_DIR,
    evaluate_pretrained,
    load_pretrained,
    load_pretrained_for,
    main,
)
from course_utils.tokenizer import TOKENIZER_DIR, load_tokenizer

TINY = [
    "--steps",
    "3",
    "--batch-size",
    "8",
    "--max-documents",
    "12",
    "--eval-every",
    "2",
    "--no-progress",
    "--device",
    "cpu",
]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A three-step pretraining run on a dozen stories, with a resumable checkpoint beside it."""
    root = tmp_path_factory.mktemp("pretrain")
    log = main([*TINY, "--out", str(root / "model"), "--checkpoint-dir", str(root / "ckpt")])
    return root, log


def test_the_command_writes_a_loadable_model_folder(tiny_run):
    root, log = tiny_run
    out = root / "model"
    names = {p.name for p in out.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "training_log.json"} <= names
    assert "optimizer.safetensors" not in names  # the shipped folder holds no optimizer state
    for file in TOKENIZER_DIR.iterdir():  # the course tokenizer, copied as it is
        assert (out / file.name).read_bytes() == file.read_bytes()
    saved = json.loads((out / "training_log.json").read_text())
    assert saved["steps"] == 3 and saved["history"]["steps"] == [1, 2, 3]
    assert saved["command"].startswith("python -m course_utils.pretrain --steps 3")
    assert {"platform", "cpu_count", "torch", "device"} <= set(saved["machine"])
    assert [step for step, _ in saved["history"]["eval"]] == [2, 3]
    assert {"masked_token_accuracy", "nsp_accuracy", "best_constant_accuracy"} <= set(saved["test"])
    assert set(saved["history"]["parts"]) == {"mlm_loss", "nsp_loss"}
    assert saved == json.loads(json.dumps(log))

    model, tok = load_pretrained(device="cpu", directory=out)
    assert isinstance(model, BertForPreTraining) and not model.training
    assert model.config == BertConfig.course_small(vocab_size=len(load_tokenizer()))
    assert tok.get_vocab() == load_tokenizer().get_vocab()


def test_a_checkpoint_from_another_config_is_a_clear_error(tiny_run):
    root, _ = tiny_run
    other = BertForPreTraining(BertConfig.course_small(vocab_size=len(load_tokenizer()), hidden_size=64))
    with pytest.raises(ValueError, match=r"hidden_size: checkpoint 128 vs model 64"):
        load_checkpoint(root / "ckpt", model=other)
    with pytest.raises(ValueError, match="different config"):
        BertForPreTraining.from_pretrained(root / "model", hidden_size=64, intermediate_size=256)
    with pytest.raises(FileNotFoundError, match="no pretrained model"):
        load_pretrained(device="cpu", directory=root / "nothing")


def test_the_shipped_checkpoint_is_a_real_pretrained_model():
    assert (PRETRAINED_DIR / "model.safetensors").is_file(), "the shipped checkpoint is missing"
    size = sum(p.stat().st_size for p in PRETRAINED_DIR.iterdir())
    assert size <= 10 * 2**20, f"the shipped checkpoint is {size / 2**20:.1f} MB, over 10 MB"
    model, tok = load_pretrained(device="cpu")
    assert model.config.vocab_size == len(tok) == len(load_tokenizer())
    # trained with today's tokenizer: ids mean the same words (else rerun `python -m course_utils.pretrain`)
    assert tok.get_vocab() == load_tokenizer().get_vocab()
    for file in TOKENIZER_DIR.iterdir():
        assert (PRETRAINED_DIR / file.name).read_bytes() == file.read_bytes()
    log = json.loads((PRETRAINED_DIR / "training_log.json").read_text())
    pairs = log["settings"].get("pairs", "sentences")  # logs older than --pairs: single sentences
    scores = evaluate_pretrained(model, tok, "test", max_documents=60, pairs=pairs)
    # held-out masked tokens: far above always guessing the most frequent token ("the" or ".")
    assert scores["masked_token_accuracy"] > scores["best_constant_accuracy"] + 0.25, scores
    assert scores["nsp_accuracy"] > 0.7, scores
    assert log["steps"] == len(log["history"]["steps"]) > 0


def test_load_pretrained_for_a_task_copies_the_encoder():
    model, _ = load_pretrained(device="cpu")
    clf, tok = load_pretrained_for(BertForSequenceClassification, device="cpu", num_labels=3)
    assert clf.config.num_labels == 3 and clf.training
    for name, value in model.bert.state_dict().items():
        torch.testing.assert_close(clf.bert.state_dict()[name], value, atol=0, rtol=0)
    tagger, _ = load_pretrained_for(BertForTokenClassification, device="cpu", num_labels=7)
    assert tagger.bert.pooler is None
    torch.testing.assert_close(
        tagger.bert.embeddings.word_embeddings.weight, model.bert.embeddings.word_embeddings.weight
    )
    with pytest.raises(TypeError, match="course model class"):
        load_pretrained_for(torch.nn.Linear)


@pytest.mark.parametrize(
    "cls",
    [
        BertModel,
        BertForMaskedLM,
        BertForSequenceClassification,
        BertForTokenClassification,
        BertForQuestionAnswering,
    ],
    ids=lambda c: c.__name__,
)
def test_the_shipped_folder_loads_into_every_course_class(cls):
    model, info = cls.from_pretrained(PRETRAINED_DIR, output_loading_info=True)
    assert not [k for k in info["missing_keys"] if k.startswith(("bert.", "embeddings.", "encoder."))]
    assert len(info["missing_keys"]) == (0 if cls in (BertModel, BertForMaskedLM) else 2)  # a new head
    # the same as load_pretrained_for, which is this call plus the tokenizer and the device
    torch.manual_seed(0)
    a = cls.from_pretrained(PRETRAINED_DIR)
    torch.manual_seed(0)
    b, _ = load_pretrained_for(cls, device="cpu")
    for (name, x), y in zip(a.state_dict().items(), b.state_dict().values()):
        torch.testing.assert_close(x, y, atol=0, rtol=0, msg=name)
