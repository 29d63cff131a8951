"""Pretraining objectives: sentence-order pairs (ALBERT's SOP) and ``pretrain(objective=...)``.

``objective="mlm+nsp"`` is BERT (the default, unchanged); ``"mlm"`` trains on the same pairs without the NSP
loss (RoBERTa); ``"mlm+sop"`` trains the two-way head on sentence-order pairs.
"""

from __future__ import annotations

import json
import random
from collections import Counter

import pytest
import torch

from course_utils import world
from course_utils.data import (
    IN_ORDER,
    SWAPPED,
    PretrainingCollator,
    PretrainingDataset,
    make_nsp_pairs,
    make_sop_pairs,
)
from course_utils.model import BertConfig, BertForPreTraining
from course_utils.pretrain import DEFAULTS, OBJECTIVES, evaluate_pretrained, main, pretrain
from course_utils.tokenizer import load_tokenizer
from course_utils.utils import set_seed

pytestmark = pytest.mark.usefixtures("one_thread")

DOCS = [
    ["Ann woke up.", "She made tea.", "Then she read.", "At noon she slept."],
    ["Bob drove to town.", "He bought bread.", "He drove home."],
    ["The shop opened.", "A dog came in."],
]
TINY = dict(steps=2, batch_size=8, max_documents=12, eval_every=2, progress=False, device="cpu")


# --------------------------------------------------------------------------- make_sop_pairs


def test_sop_pairs_are_consecutive_sentences_kept_or_swapped_half_and_half():
    docs = world.story_corpus("validation")[:200]
    pairs = make_sop_pairs(docs, seed=0)
    consecutive = Counter((a, b) for doc in docs for a, b in zip(doc, doc[1:]))
    assert len(pairs) == sum(consecutive.values())  # one pair per position (none is ambiguous here)
    labels = Counter(label for *_, label in pairs)
    assert abs(labels[IN_ORDER] - labels[SWAPPED]) <= 1
    for first, second, label in pairs:
        assert ((first, second) if label == IN_ORDER else (second, first)) in consecutive
    # every position used once: the pairs put back in order are exactly the consecutive pairs
    restored = Counter((a, b) if label == IN_ORDER else (b, a) for a, b, label in pairs)
    assert restored == consecutive
    assert labels[SWAPPED] > 0 and pairs != sorted(pairs)  # shuffled, not grouped by label


def test_sop_pairs_repeat_with_a_seed_and_leave_the_global_generators_alone():
    state = random.getstate(), torch.get_rng_state()
    assert make_sop_pairs(DOCS, seed=3) == make_sop_pairs(DOCS, seed=3)
    assert make_sop_pairs(DOCS, seed=3) != make_sop_pairs(DOCS, seed=4)
    assert random.getstate() == state[0] and torch.equal(torch.get_rng_state(), state[1])


def test_sop_leaves_out_positions_whose_order_the_corpus_contradicts():
    docs = [["A b.", "C d.", "E f."], ["C d.", "A b."], ["G h.", "G h.", "I j."]]
    pairs = make_sop_pairs(docs, seed=0)
    restored = {(a, b) if label == IN_ORDER else (b, a) for a, b, label in pairs}
    # "A b." -> "C d." and "C d." -> "A b." both occur: neither order can be a label; "G h." -> "G h." neither
    assert restored == {("C d.", "E f."), ("G h.", "I j.")}
    with pytest.raises(ValueError, match="no two consecutive sentences with a definite order"):
        make_sop_pairs([["A b.", "C d."], ["C d.", "A b."]], seed=0)


@pytest.mark.parametrize(
    "documents, error, message",
    [
        ([], ValueError, "documents is empty"),
        ("One. Two.", TypeError, "list of documents"),
        (["One. Two.", "Three."], TypeError, "is a string"),
        ([["One.", "  "]], ValueError, "is blank"),
        ([["One.", 2]], TypeError, "sentences must be strings"),
        ([["Only one."], ["Just one."]], ValueError, "definite order"),
    ],
)
def test_sop_pairs_reject_bad_documents_clearly(documents, error, message):
    with pytest.raises(error, match=message):
        make_sop_pairs(documents, seed=0)


def test_nsp_pairs_keep_their_checks_after_sharing_them_with_sop():
    # the document checks moved into one helper: NSP gives the same errors as before
    with pytest.raises(ValueError, match="documents is empty; NSP needs"):
        make_nsp_pairs([], seed=0)
    with pytest.raises(TypeError, match=r"documents\[1\] is a string"):
        make_nsp_pairs([["A.", "B."], "C. D."], seed=0)
    with pytest.raises(ValueError, match=r"documents\[0\]\[1\] is blank"):
        make_nsp_pairs([["A.", ""], ["C.", "D."]], seed=0)


# --------------------------------------------------------------------------- the dataset


def test_pretraining_dataset_builds_sop_pairs_with_the_label_in_the_nsp_slot():
    tok = load_tokenizer()
    docs = world.story_corpus("validation")[:40]
    ds = PretrainingDataset(docs, tok, max_length=48, seed=0, sentence_task="sop")
    assert ds.pairs == make_sop_pairs(docs, seed=0)
    batch = PretrainingCollator(tok, seed=0)([ds[i] for i in range(8)])
    assert batch["next_sentence_label"].tolist() == [label for *_, label in ds.pairs[:8]]
    twice = PretrainingDataset(docs, tok, max_length=48, seed=0, sentence_task="sop", dupe_factor=2)
    assert twice.pairs == make_sop_pairs(docs, seed=0) + make_sop_pairs(docs, seed=1)
    assert PretrainingDataset(docs, tok, max_length=48, seed=0).pairs == make_nsp_pairs(docs, seed=0)


def test_pretraining_dataset_rejects_an_unknown_sentence_task_and_sop_segments():
    tok = load_tokenizer()
    with pytest.raises(ValueError, match=r"sentence_task='next' must be one of \('nsp', 'sop'\)"):
        PretrainingDataset(DOCS, tok, sentence_task="next")
    with pytest.raises(ValueError, match="segments=False"):
        PretrainingDataset(DOCS, tok, sentence_task="sop", segments=True)


# --------------------------------------------------------------------------- pretrain(objective=...)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two-step runs of every objective from the same seed, and the model before any step."""
    root = tmp_path_factory.mktemp("objectives")
    out = {o: pretrain(root / o.replace("+", "_"), objective=o, **TINY) for o in OBJECTIVES}
    set_seed(DEFAULTS["seed"])  # as pretrain does before it builds the model
    start = BertForPreTraining(out["mlm"][0].config)
    return out, start


def test_the_default_objective_is_bert_and_every_objective_is_logged(runs):
    out, _ = runs
    assert DEFAULTS["objective"] == "mlm+nsp"
    for objective, (_, log) in out.items():
        assert log["settings"]["objective"] == objective
    assert set(out["mlm+nsp"][1]["history"]["parts"]) == {"mlm_loss", "nsp_loss"}
    assert set(out["mlm+sop"][1]["history"]["parts"]) == {"mlm_loss", "nsp_loss"}
    assert set(out["mlm"][1]["history"]["parts"]) == {"mlm_loss"}  # no sentence-pair loss at all


def test_without_nsp_the_sentence_head_and_pooler_never_learn(runs):
    out, start = runs
    before = start.state_dict()
    for objective, (model, _) in out.items():
        after = model.state_dict()
        for name in ("cls.seq_relationship.weight", "bert.pooler.dense.weight"):
            unchanged = torch.equal(after[name], before[name])
            assert unchanged == (objective == "mlm"), (objective, name)
        assert not torch.equal(
            after["bert.encoder.layer.0.output.dense.weight"],
            before["bert.encoder.layer.0.output.dense.weight"],
        )  # the encoder learns under every objective


def test_mlm_only_differs_from_bert_in_the_objective_alone(runs):
    out, _ = runs
    bert, mlm = out["mlm+nsp"][1]["history"], out["mlm"][1]["history"]
    # the same initial weights, pairs and masks: the first step's MLM loss is the same number
    assert bert["parts"]["mlm_loss"][0] == mlm["parts"]["mlm_loss"][0]
    assert mlm["train_loss"][0] == mlm["parts"]["mlm_loss"][0]  # ... and it is the whole loss
    assert bert["train_loss"][0] > bert["parts"]["mlm_loss"][0]
    # SOP trains on other pairs, so even its first MLM loss differs
    assert out["mlm+sop"][1]["history"]["parts"]["mlm_loss"][0] != bert["parts"]["mlm_loss"][0]


def test_evaluate_pretrained_scores_the_head_on_sop_pairs():
    tok = load_tokenizer()
    set_seed(0)
    model = BertForPreTraining(BertConfig.course_small(vocab_size=len(tok))).eval()
    nsp = evaluate_pretrained(model, tok, "validation", max_documents=30)
    sop = evaluate_pretrained(model, tok, "validation", max_documents=30, sentence_task="sop")
    docs = world.pretraining_corpus("validation")[:30]
    assert sop["pairs"] == len(make_sop_pairs(docs, seed=0))
    assert nsp["pairs"] == len(make_nsp_pairs(docs, seed=0))
    assert abs(sop["nsp_majority_accuracy"] - 0.5) < 0.01
    with pytest.raises(ValueError, match="sentence_task"):
        evaluate_pretrained(model, tok, "validation", max_documents=30, sentence_task="order")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(objective="nsp"), r"objective='nsp' must be one of \('mlm\+nsp', 'mlm', 'mlm\+sop'\)"),
        (dict(objective="mlm+sop", pairs="segments"), "pairs='sentences'"),
    ],
)
def test_pretrain_rejects_a_bad_objective_before_any_work(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        pretrain(tmp_path / "never", **{**TINY, **kwargs})
    assert not (tmp_path / "never").exists()


def test_the_command_line_takes_and_records_the_objective(tmp_path, capsys):
    log = main(
        ["--steps", "1", "--batch-size", "8", "--max-documents", "12", "--eval-every", "1"]
        + ["--no-progress", "--device", "cpu", "--objective", "mlm+sop", "--out", str(tmp_path / "m")]
    )
    saved = json.loads((tmp_path / "m" / "training_log.json").read_text())
    assert saved["settings"]["objective"] == "mlm+sop" == log["settings"]["objective"]
    assert "--objective mlm+sop" in saved["command"]
    with pytest.raises(SystemExit):
        main(["--objective", "sop", "--out", str(tmp_path / "x")])
    assert "invalid choice: 'sop'" in capsys.readouterr().err


# --------------------------------------------------------------------------- NotNext from other documents only


def test_nsp_pairs_can_take_every_not_next_from_other_documents_as_bert_did():
    tok = load_tokenizer()
    docs = [[f"Story {d} says {word} {i}." for i in range(6)] for d, word in enumerate(["one", "two"] * 20)]
    home = {s: d for d, doc in enumerate(docs) for s in doc}  # every sentence is in one document
    ours = PretrainingDataset(docs, tok, max_length=48, seed=0)
    berts = PretrainingDataset(docs, tok, max_length=48, seed=0, same_document_fraction=0.0)

    def same_document_share(ds):
        not_next = [(a, b) for a, b, label in ds.pairs if label == 1]
        return sum(home[a] == home[b] for a, b in not_next) / len(not_next)

    assert 0.1 < same_document_share(ours) < 0.3  # the default: about 20 % from the same document
    assert same_document_share(berts) == 0.0
    assert berts.pairs == make_nsp_pairs(docs, seed=0, same_document_fraction=0.0)


def test_pretrain_takes_and_logs_the_share_of_same_document_not_next(tmp_path, capsys):
    _, log = pretrain(tmp_path / "m", nsp_same_document=0.0, **{**TINY, "steps": 1, "eval_every": 1})
    assert log["settings"]["nsp_same_document"] == 0.0
    assert DEFAULTS["nsp_same_document"] == 0.2
    for bad in (1.5, -0.1, float("nan"), True, "0.2"):
        with pytest.raises(ValueError, match="must be a share in"):
            pretrain(tmp_path / "never", nsp_same_document=bad, **TINY)
    with pytest.raises(SystemExit):
        main(["--nsp-same-document", "1.5", "--out", str(tmp_path / "x")])
    assert "must be a share from 0 to 1" in capsys.readouterr().err
