"""Bad input to the model, its config and its model folder: a clear error, or what ``transformers`` does.

Tables of cases; adding a case is one line:

- ``ERRORS``: a call, the error it must raise and a phrase its message must contain;
- ``FOLDERS``: a broken model folder, and the error ``from_pretrained`` must raise;
- ``LIKE_TRANSFORMERS``: inputs at the edges (masks of 2s, -100 labels, ``inputs_embeds``...) on which
  the course's model and ``transformers``' model, with the same weights, return the same outputs;
- ``UNLIKE_TRANSFORMERS``: where the course deliberately differs (documented in ``course_utils/model.py``):
  ``transformers`` returns no loss, a NaN loss or fails there; what the course's loss equals instead.
"""

from __future__ import annotations

import dataclasses
import json
import math

import pytest
import torch
import transformers
from safetensors.torch import save_file

from course_utils.model import (
    BertConfig,
    BertForMaskedLM,
    BertForPreTraining,
    BertForQuestionAnswering,
    BertForSequenceClassification,
    BertForTokenClassification,
    BertModel,
)

pytestmark = pytest.mark.usefixtures("one_thread")

CFG = BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                 intermediate_size=32, max_position_embeddings=12, num_labels=3,
                 hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)  # fmt: skip
B, T, H = 2, 6, CFG.hidden_size
IDS = torch.tensor([[2, 7, 9, 11, 3, 0], [2, 5, 6, 3, 0, 0]])  # (B, T), 0 = [PAD]
MASK = (IDS != 0).long()
MLM_LABELS = torch.full((B, T), -100)
MLM_LABELS[0, 1] = 7
NO_LABEL = torch.full((B, T), -100)
NSP = torch.tensor([0, 1])
NAN, INF = math.nan, math.inf


def _build(cls, **overrides):
    torch.manual_seed(0)
    return cls(dataclasses.replace(CFG, **overrides)).eval()


BASE, PRE, MLM = _build(BertModel), _build(BertForPreTraining), _build(BertForMaskedLM)
SEQ, TOK = _build(BertForSequenceClassification), _build(BertForTokenClassification)
QA = _build(BertForQuestionAnswering, num_labels=2)
REG1 = _build(BertForSequenceClassification, num_labels=1)
REG3 = _build(BertForSequenceClassification, problem_type="regression")


def config(**kwargs):
    return lambda: dataclasses.replace(CFG, **kwargs)


def call(model, **inputs):
    return lambda: model(**{"input_ids": IDS, **inputs})


# fmt: off
ERRORS = [
    # --- BertConfig: every field is checked where it enters, with its value --------------------------------
    ("config-heads-do-not-divide", config(hidden_size=20, num_attention_heads=3), ValueError, "hidden_size=20 is not divisible by num_attention_heads=3"),
    ("config-size-float", config(hidden_size=16.0), ValueError, "hidden_size=16.0 must be a positive integer"),
    ("config-size-string", config(hidden_size="16"), ValueError, "hidden_size='16' must be a positive integer"),
    ("config-size-bool", config(vocab_size=True), ValueError, "vocab_size=True must be a positive integer"),
    ("config-layers-zero", config(num_hidden_layers=0), ValueError, "num_hidden_layers=0 must be a positive integer"),
    ("config-heads-negative", config(num_attention_heads=-2), ValueError, "num_attention_heads=-2"),
    ("config-intermediate-none", config(intermediate_size=None), ValueError, "intermediate_size=None"),
    ("config-positions-zero", config(max_position_embeddings=0), ValueError, "max_position_embeddings=0"),
    ("config-type-vocab-zero", config(type_vocab_size=0), ValueError, "type_vocab_size=0"),
    ("config-labels-zero", config(num_labels=0), ValueError, "num_labels=0"),
    ("config-eps-nan", config(layer_norm_eps=NAN), ValueError, "layer_norm_eps=nan must be a positive finite number"),
    ("config-eps-inf", config(layer_norm_eps=INF), ValueError, "layer_norm_eps=inf"),
    ("config-eps-zero", config(layer_norm_eps=0.0), ValueError, "layer_norm_eps=0.0"),
    ("config-eps-string", config(layer_norm_eps="1e-12"), ValueError, "layer_norm_eps='1e-12' must be a positive finite number"),
    ("config-init-negative", config(initializer_range=-0.02), ValueError, "initializer_range=-0.02"),
    ("config-init-inf", config(initializer_range=INF), ValueError, "initializer_range=inf"),
    ("config-dropout-above-1", config(hidden_dropout_prob=1.5), ValueError, "hidden_dropout_prob=1.5 must be a number in [0, 1)"),
    ("config-dropout-nan", config(hidden_dropout_prob=NAN), ValueError, "hidden_dropout_prob=nan"),
    ("config-attn-dropout-negative", config(attention_probs_dropout_prob=-0.1), ValueError, "attention_probs_dropout_prob=-0.1"),
    ("config-dropout-string", config(hidden_dropout_prob="0.1"), ValueError, "hidden_dropout_prob='0.1' must be a number"),
    ("config-classifier-dropout-1", config(classifier_dropout=1.0), ValueError, "classifier_dropout=1.0"),
    ("config-classifier-dropout-nan", config(classifier_dropout=NAN), ValueError, "classifier_dropout=nan"),
    ("config-activation-unknown", config(hidden_act="swish2"), ValueError, "hidden_act='swish2' is not one of"),
    ("config-activation-list", config(hidden_act=["gelu"]), ValueError, "hidden_act=['gelu'] is not one of"),
    ("config-attn-unknown", config(attn_implementation="flash"), ValueError, "attn_implementation='flash'"),
    ("config-attn-none", config(attn_implementation=None), ValueError, "attn_implementation=None"),
    ("config-pad-outside", config(pad_token_id=50), ValueError, "pad_token_id=50 must be an id in [0, vocab_size=50)"),
    ("config-pad-negative", config(pad_token_id=-1), ValueError, "pad_token_id=-1"),
    ("config-pad-none", config(pad_token_id=None), ValueError, "pad_token_id=None"),
    ("config-pad-float", config(pad_token_id=1.0), ValueError, "pad_token_id=1.0"),
    ("config-problem-type-typo", config(problem_type="regresion"), ValueError, "problem_type='regresion' is not one of"),
    ("config-unknown-field", lambda: BertConfig(hiden_size=16), TypeError, "hiden_size"),
    ("config-from-a-list", lambda: BertConfig.from_dict([("hidden_size", 16)]), TypeError, "a config must be a dict of fields, got list"),
    ("model-config-is-a-dict", lambda: BertModel({"hidden_size": 16}), TypeError, "config must be a course_utils.model.BertConfig, got dict"),
    # --- input_ids / inputs_embeds -------------------------------------------------------------------------
    ("ids-list", call(BASE, input_ids=IDS.tolist()), TypeError, "input_ids must be a torch.Tensor, got list"),
    ("ids-1d", call(BASE, input_ids=IDS[0]), ValueError, "input_ids must be a (batch, tokens) tensor, got (6,)"),
    ("ids-3d", call(BASE, input_ids=IDS[None]), ValueError, "got (1, 2, 6)"),
    ("ids-float", call(BASE, input_ids=IDS.float()), TypeError, "input_ids must hold integer ids (torch.long), got dtype torch.float32"),
    ("ids-bool", call(BASE, input_ids=IDS.bool()), TypeError, "got dtype torch.bool"),
    ("ids-int16", call(BASE, input_ids=IDS.short()), TypeError, "got dtype torch.int16; convert with .long()"),
    ("ids-uint8", call(BASE, input_ids=IDS.to(torch.uint8)), TypeError, "got dtype torch.uint8"),
    ("ids-empty-batch", call(BASE, input_ids=IDS[:0]), ValueError, "input_ids is empty: shape (0, 6)"),
    ("ids-empty-sequence", call(BASE, input_ids=IDS[:, :0]), ValueError, "input_ids is empty: shape (2, 0)"),
    ("ids-out-of-vocab", call(BASE, input_ids=IDS + 45), ValueError, "token id 56 is outside the vocabulary [0, 50)"),
    ("ids-negative", call(BASE, input_ids=IDS - 1), ValueError, "token id -1 is outside the vocabulary"),
    ("ids-too-long", call(BASE, input_ids=torch.ones(1, 13, dtype=torch.long)), ValueError, "sequence length 13 is longer than max_position_embeddings=12"),
    ("ids-and-embeds-missing", lambda: BASE(), ValueError, "give exactly one of input_ids"),
    ("ids-and-embeds-both", call(BASE, inputs_embeds=torch.zeros(B, T, H)), ValueError, "give exactly one of input_ids"),
    ("embeds-wrong-width", call(BASE, input_ids=None, inputs_embeds=torch.zeros(B, T, 8)), ValueError, "inputs_embeds must be a (batch, tokens, hidden_size=16) tensor, got shape (2, 6, 8)"),
    ("embeds-2d", call(BASE, input_ids=None, inputs_embeds=torch.zeros(B, H)), ValueError, "got shape (2, 16)"),
    ("embeds-integer", call(BASE, input_ids=None, inputs_embeds=torch.zeros(B, T, H, dtype=torch.long)), TypeError, "inputs_embeds must hold floats"),
    ("embeds-empty", call(BASE, input_ids=None, inputs_embeds=torch.zeros(0, T, H)), ValueError, "inputs_embeds is empty"),
    ("head-mask", call(BASE, head_mask=torch.ones(1, 2)), ValueError, "head_mask is not supported"),
    ("head-mask-task-model", call(SEQ, head_mask=torch.ones(1, 2)), ValueError, "head_mask is not supported"),
    ("needed-positions-long", call(BASE, needed_positions=MASK), ValueError, "needed_positions must be a bool tensor of shape (2, 6)"),
    ("needed-positions-short", call(BASE, needed_positions=MASK[:, :5].bool()), ValueError, "got torch.bool of shape (2, 5)"),
    # --- attention_mask, token_type_ids, position_ids ------------------------------------------------------
    ("mask-short", call(BASE, attention_mask=MASK[:, :5]), ValueError, "attention_mask has shape (2, 5) but input_ids has shape (2, 6)"),
    ("mask-3d", call(BASE, attention_mask=torch.ones(B, T, T)), ValueError, "attention_mask has shape (2, 6, 6)"),
    ("mask-list", call(BASE, attention_mask=MASK.tolist()), TypeError, "attention_mask must be a torch.Tensor, got list"),
    ("types-out-of-range", call(BASE, token_type_ids=MASK * 2), ValueError, "token_type_ids must be in [0, 2), got values 0..2"),
    ("types-negative", call(BASE, token_type_ids=-MASK), ValueError, "token_type_ids must be in [0, 2), got values -1..0"),
    ("types-float", call(BASE, token_type_ids=MASK.float()), TypeError, "token_type_ids must hold integer ids"),
    ("types-short", call(BASE, token_type_ids=MASK[:, :3]), ValueError, "token_type_ids has shape (2, 3)"),
    ("types-list", call(BASE, token_type_ids=MASK.tolist()), TypeError, "token_type_ids must be a torch.Tensor"),
    ("positions-negative", call(BASE, position_ids=torch.arange(T)[None] - 1), ValueError, "position_ids must be in [0, 12), got values -1..4"),
    ("positions-beyond-table", call(BASE, position_ids=torch.arange(T)[None] + 10), ValueError, "position_ids must be in [0, 12), got values 10..15"),
    ("positions-too-long", call(BASE, position_ids=torch.arange(T + 1)[None]), ValueError, "position_ids has shape (1, 7)"),
    ("positions-2d-other-batch", call(BASE, position_ids=torch.arange(T).expand(3, T)), ValueError, "position_ids has shape (3, 6) but input_ids has shape (2, 6); they must match (or be (1, 6) or (6,))"),
    ("positions-float", call(BASE, position_ids=torch.arange(T)[None].float()), TypeError, "position_ids must hold integer ids"),
    # --- labels of every head ------------------------------------------------------------------------------
    ("seq-label-too-big", call(SEQ, labels=torch.tensor([0, 3])), ValueError, "labels must be class ids in [0, 3) or -100, got 0..3"),
    ("seq-label-negative", call(SEQ, labels=torch.tensor([-1, 0])), ValueError, "got -1..0"),
    ("seq-label-count", call(SEQ, labels=torch.tensor([0, 1, 2])), ValueError, "labels have shape (3,), expected (2,)"),
    ("seq-label-float-ids", call(SEQ, labels=torch.tensor([0.0, 1.0])), ValueError, "class ids must be integers (torch.long)"),
    ("seq-label-list", call(SEQ, labels=[0, 1]), TypeError, "labels must be a torch.Tensor, got list"),
    ("seq-multi-label-shape", call(SEQ, labels=torch.rand(B, 2)), ValueError, "multi-label labels must have shape (2, 3)"),
    ("seq-regression-count", call(REG1, labels=torch.rand(3)), ValueError, "regression labels must have shape (2,)"),
    ("seq-multi-regression-shape", call(REG3, labels=torch.rand(B)), ValueError, "regression labels must have shape (2, 3)"),
    ("tok-label-too-big", call(TOK, labels=torch.full((B, T), 3)), ValueError, "labels must be class ids in [0, 3) or -100, got 3..3"),
    ("tok-label-negative", call(TOK, labels=torch.full((B, T), -5)), ValueError, "got -5..-5"),
    ("tok-label-float", call(TOK, labels=torch.zeros(B, T)), TypeError, "labels must hold integer class ids"),
    ("tok-label-shape", call(TOK, labels=torch.zeros(B, T + 1, dtype=torch.long)), ValueError, "labels have shape (2, 7), expected (2, 6)"),
    ("mlm-label-out-of-vocab", call(MLM, labels=torch.full((B, T), 50)), ValueError, "labels must be class ids in [0, 50) or -100, got 50..50"),
    ("mlm-label-negative", call(MLM, labels=torch.full((B, T), -1)), ValueError, "got -1..-1"),
    ("mlm-label-float", call(MLM, labels=MLM_LABELS.float()), TypeError, "labels must hold integer class ids"),
    ("mlm-label-shape", call(MLM, labels=MLM_LABELS[:, :2]), ValueError, "labels have shape (2, 2), expected (2, 6)"),
    ("seq-cls-only-1d-ids", call(SEQ, input_ids=IDS[0], cls_only=True), ValueError, "input_ids must be a (batch, tokens) tensor, got (6,)"),
    ("tok-cls-only", call(TOK, cls_only=True), ValueError, "cls_only=True is for sequence classification"),
    ("seq-cls-only-no-inputs", lambda: SEQ(cls_only=True), ValueError, "give exactly one of input_ids"),
    ("mlm-masked-only-without-labels", call(MLM, masked_only=True), ValueError, "masked_only=True needs labels"),
    ("pretraining-label-out-of-vocab", call(PRE, labels=MLM_LABELS + 150, next_sentence_label=NSP), ValueError, "labels must be class ids in [0, 50)"),
    ("nsp-label-2", call(PRE, next_sentence_label=torch.tensor([0, 2])), ValueError, "next_sentence_label must be class ids in [0, 2) or -100, got 0..2"),
    ("nsp-label-negative", call(PRE, next_sentence_label=torch.tensor([-1, 0])), ValueError, "got -1..0"),
    ("nsp-label-float", call(PRE, next_sentence_label=torch.tensor([0.0, 1.0])), TypeError, "next_sentence_label must hold integer class ids"),
    ("nsp-label-count", call(PRE, next_sentence_label=torch.tensor([0, 1, 1])), ValueError, "next_sentence_label has shape (3,), expected (2,)"),
    ("qa-positions-count", call(QA, start_positions=torch.tensor([1]), end_positions=torch.tensor([2])), ValueError, "start_positions have shape (1,), expected (2,)"),
    ("qa-positions-float", call(QA, start_positions=torch.tensor([1.0, 2.0]), end_positions=torch.tensor([2, 3])), TypeError, "start_positions must hold integer"),
    ("qa-num-labels", lambda: BertForQuestionAnswering(CFG), ValueError, "question answering needs num_labels=2"),
    # --- loading weights -----------------------------------------------------------------------------------
    ("state-dict-is-a-model", lambda: BASE.load_state_dict(_build(BertModel)), TypeError, "state_dict must be a dict of tensors, got BertModel: pass .state_dict()"),
    ("state-dict-keys", lambda: BASE.load_state_dict({"x": torch.zeros(1)}), KeyError, "unexpected keys (1): x"),
    ("state-dict-shapes", lambda: BASE.load_state_dict(_build(BertModel, hidden_size=8).state_dict()), ValueError, "different config"),
    ("folder-path-none", lambda: BertModel.from_pretrained(None), TypeError, "directory must be a folder path"),
]
# fmt: on


@pytest.mark.parametrize(("call", "error", "phrase"), [pytest.param(*c[1:], id=c[0]) for c in ERRORS])
def test_bad_input_gets_a_clear_error(call, error, phrase):
    with pytest.raises(error) as info:
        call()
    assert phrase in str(info.value)


# ------------------------------------------------------------------------------------------ model folders


def write(folder, config="ok", weights="ok"):
    """A model folder of BASE whose ``config.json`` / ``model.safetensors`` is replaced (None: left out)."""
    folder.mkdir(parents=True, exist_ok=True)
    if config is not None:
        text = json.dumps({"model_type": "bert", **dataclasses.asdict(CFG)}) if config == "ok" else config
        (folder / "config.json").write_text(text)
    if weights == "ok":
        save_file(BASE.state_dict(), str(folder / "model.safetensors"))
    elif weights is not None:
        (folder / "model.safetensors").write_bytes(weights)


def truncated(folder):
    write(folder)
    data = (folder / "model.safetensors").read_bytes()
    (folder / "model.safetensors").write_bytes(data[: len(data) // 2])


def pickled(folder):
    write(folder, weights=None)
    torch.save(BASE.state_dict(), folder / "model.safetensors")


# fmt: off
FOLDERS = [
    # (id, make the folder, config overrides, error, phrase)
    ("folder-missing", lambda d: None, {}, FileNotFoundError, "is not a model folder: it needs config.json and model.safetensors"),
    ("folder-without-config", lambda d: write(d, config=None), {}, FileNotFoundError, "needs config.json"),
    ("folder-without-weights", lambda d: write(d, weights=None), {}, FileNotFoundError, "model.safetensors"),
    ("weights-truncated", truncated, {}, ValueError, "model.safetensors is not a complete safetensors file"),
    ("weights-pickle", pickled, {}, ValueError, "model.safetensors is not a complete safetensors file"),
    ("weights-empty", lambda d: write(d, weights=b""), {}, ValueError, "model.safetensors is not a complete"),
    ("config-not-json", lambda d: write(d, config="{'hidden_size': 16,"), {}, ValueError, "config.json is not valid JSON"),
    ("config-latin-1", lambda d: (write(d), (d / "config.json").write_bytes(b'{"x": "\xe9"}')), {}, ValueError, "config.json is not valid JSON"),
    ("config-json-list", lambda d: write(d, config="[16, 2]"), {}, ValueError, "config.json must hold a JSON object"),
    ("config-bad-value", lambda d: write(d, config='{"hidden_size": "big"}'), {}, ValueError, "config.json: hidden_size='big'"),
    ("override-typo", write, {"num_label": 3}, TypeError, "unexpected keyword argument 'num_label'"),
    ("override-bad-value", write, {"layer_norm_eps": NAN}, ValueError, "layer_norm_eps=nan"),
]
# fmt: on


@pytest.mark.parametrize(
    ("make", "overrides", "error", "phrase"), [pytest.param(*c[1:], id=c[0]) for c in FOLDERS]
)
def test_bad_model_folder_gets_a_clear_error(tmp_path, make, overrides, error, phrase):
    folder = tmp_path / "model"
    make(folder)
    with pytest.raises(error) as info:
        BertModel.from_pretrained(folder, **overrides)
    assert phrase in str(info.value)


# ------------------------------------------------------------------------------------------ like transformers


def pair(cls, **overrides):
    """Our model and transformers' model of the same class with the same weights (eval mode)."""
    cfg = dataclasses.replace(CFG, **overrides)
    torch.manual_seed(0)
    hf = getattr(transformers, cls.__name__)(cfg.to_hf()).eval()
    ours = cls(cfg).eval()
    ours.load_state_dict(hf.state_dict(), strict=True)
    return ours, hf


QA2 = {"num_labels": 2}
# fmt: off
LIKE_TRANSFORMERS = [
    # (id, class, config overrides, inputs): every output transformers returns must be the same
    ("mask-of-2s", BertModel, {}, dict(attention_mask=MASK * 2)),
    ("mask-of-halves", BertModel, {}, dict(attention_mask=MASK * 0.5)),
    ("mask-bool", BertModel, {}, dict(attention_mask=MASK.bool())),
    ("mask-of-minus-1s", BertModel, {}, dict(attention_mask=-MASK)),
    ("mask-of-7s-eager", BertModel, {"attn_implementation": "eager"}, dict(attention_mask=MASK * 7)),
    ("mask-of-2s-classifier", BertForSequenceClassification, {}, dict(attention_mask=MASK * 2, labels=NSP)),
    ("ids-int32", BertModel, {}, dict(input_ids=IDS.int())),
    ("positions-shifted", BertModel, {}, dict(position_ids=torch.arange(T)[None] + 3)),
    ("positions-per-row", BertModel, {}, dict(position_ids=torch.arange(T).expand(B, T).flip(1))),
    ("embeds", BertModel, {}, dict(input_ids=None, inputs_embeds=torch.randn(B, T, H), attention_mask=MASK)),
    ("embeds-mlm", BertForMaskedLM, {}, dict(input_ids=None, inputs_embeds=torch.randn(B, T, H), labels=MLM_LABELS)),
    ("embeds-pretraining", BertForPreTraining, {}, dict(input_ids=None, inputs_embeds=torch.randn(B, T, H), labels=MLM_LABELS, next_sentence_label=NSP)),
    ("embeds-qa", BertForQuestionAnswering, QA2, dict(input_ids=None, inputs_embeds=torch.randn(B, T, H), start_positions=NSP, end_positions=NSP)),
    ("mlm-labels", BertForMaskedLM, {}, dict(labels=MLM_LABELS, attention_mask=MASK)),
    ("nsp-label-ignored", BertForPreTraining, {}, dict(labels=MLM_LABELS, next_sentence_label=torch.tensor([-100, 1]))),
    ("nsp-label-column", BertForPreTraining, {}, dict(labels=MLM_LABELS, next_sentence_label=torch.tensor([[0], [1]]))),
    ("seq-label-ignored", BertForSequenceClassification, {}, dict(labels=torch.tensor([-100, 2]))),
    ("seq-label-column", BertForSequenceClassification, {}, dict(labels=torch.tensor([[1], [2]]))),
    ("seq-multi-label-float", BertForSequenceClassification, {}, dict(labels=torch.rand(B, 3))),
    ("seq-multi-output-regression", BertForSequenceClassification, {"problem_type": "regression"}, dict(labels=torch.rand(B, 3))),
    ("seq-regression", BertForSequenceClassification, {"num_labels": 1}, dict(labels=torch.rand(B))),
    ("seq-multi-label-explicit", BertForSequenceClassification, {"problem_type": "multi_label_classification"}, dict(labels=torch.ones(B, 3))),
    ("tok-labels-ignored", BertForTokenClassification, {}, dict(labels=torch.where(MASK == 1, 1, -100))),
    ("qa-positions-clamped", BertForQuestionAnswering, QA2, dict(start_positions=torch.tensor([1, 40]), end_positions=torch.tensor([-3, 2]))),
    ("qa-positions-column", BertForQuestionAnswering, QA2, dict(start_positions=torch.tensor([[1], [2]]), end_positions=torch.tensor([[3], [4]]))),
    ("qa-start-only-no-loss", BertForQuestionAnswering, QA2, dict(start_positions=torch.tensor([1, 2]))),
    ("hidden-states-and-attentions", BertForTokenClassification, {}, dict(output_hidden_states=True, output_attentions=True)),
]
# fmt: on


@pytest.mark.parametrize(
    ("cls", "overrides", "inputs"), [pytest.param(*c[1:], id=c[0]) for c in LIKE_TRANSFORMERS]
)
def test_edges_match_transformers(cls, overrides, inputs):
    ours, hf = pair(cls, **overrides)
    inputs = {"input_ids": IDS, **inputs}
    theirs, mine = hf(**inputs), ours(**inputs)
    for name in theirs.keys():
        torch.testing.assert_close(mine[name], theirs[name], atol=1e-5, rtol=1e-5, msg=name)
    assert (mine.loss is None) == (getattr(theirs, "loss", None) is None)
    # out[0], out[1], ... index the same fields as transformers'
    assert len(mine.to_tuple()) == len(theirs.to_tuple())
    for i, value in enumerate(theirs.to_tuple()):
        torch.testing.assert_close(mine[i], value, atol=1e-5, rtol=1e-5)


def test_positions_without_a_batch_dimension_are_the_same_for_every_row():
    shifted = torch.arange(T) + 2
    torch.testing.assert_close(BASE(IDS, position_ids=shifted).last_hidden_state,
                               BASE(IDS, position_ids=shifted[None]).last_hidden_state)  # fmt: skip


def test_output_indexing_slicing_and_iteration_follow_transformers():
    ours, hf = pair(BertForPreTraining)
    kwargs = dict(input_ids=IDS, labels=MLM_LABELS, next_sentence_label=NSP, output_attentions=True)
    mine, theirs = ours(**kwargs), hf(**kwargs)
    torch.testing.assert_close(mine[1:][0], theirs[1:][0])  # prediction_logits
    torch.testing.assert_close(mine[-1], theirs[-1])  # the attentions, one per layer
    assert list(theirs) == ["loss", "prediction_logits", "seq_relationship_logits", "attentions"]
    assert set(theirs) < set(mine)  # iteration gives names; the course adds mlm_loss, nsp_loss, ...
    assert "mlm_loss" in mine and "logits" not in mine
    with pytest.raises(IndexError):
        mine[4]


# ------------------------------------------------------------------------------------------ unlike transformers

# fmt: off
UNLIKE_TRANSFORMERS = [
    # (id, class, config overrides, inputs, the course's loss: a field of the output, a number, or the loss of
    # other labels). transformers returns no loss (None), a NaN loss, or fails on these inputs.
    ("pretraining-only-mlm-labels", BertForPreTraining, {}, dict(labels=MLM_LABELS), "mlm_loss"),
    ("pretraining-only-nsp-labels", BertForPreTraining, {}, dict(next_sentence_label=NSP), "nsp_loss"),
    ("pretraining-nothing-masked", BertForPreTraining, {}, dict(labels=NO_LABEL, next_sentence_label=NSP), "nsp_loss"),
    ("pretraining-nothing-masked-masked-only", BertForPreTraining, {}, dict(labels=NO_LABEL, next_sentence_label=NSP, masked_only=True), "nsp_loss"),
    ("mlm-nothing-masked", BertForMaskedLM, {}, dict(labels=NO_LABEL), 0.0),
    ("tok-no-label", BertForTokenClassification, {}, dict(labels=NO_LABEL), 0.0),
    ("seq-no-label", BertForSequenceClassification, {}, dict(labels=torch.tensor([-100, -100])), 0.0),
    ("qa-no-answer-inside", BertForQuestionAnswering, QA2, dict(start_positions=torch.tensor([9, 9]), end_positions=torch.tensor([9, 9])), 0.0),
    ("seq-label-int32", BertForSequenceClassification, {}, dict(labels=torch.tensor([1, 2]).int()), dict(labels=torch.tensor([1, 2]))),
]
# fmt: on
HEAD = {BertForPreTraining: "prediction_logits", BertForQuestionAnswering: "start_logits"}


@pytest.mark.parametrize(
    ("cls", "overrides", "inputs", "expected"), [pytest.param(*c[1:], id=c[0]) for c in UNLIKE_TRANSFORMERS]
)
def test_documented_differences_from_transformers(cls, overrides, inputs, expected):
    ours, hf = pair(cls, **overrides)
    inputs = {"input_ids": IDS, **inputs}
    try:
        theirs = hf(**{k: v for k, v in inputs.items() if k != "masked_only"}).loss
    except RuntimeError:
        theirs = None
    assert theirs is None or torch.isnan(theirs)  # what the course improves on
    mine = ours(**inputs)
    if isinstance(expected, str):
        want = mine[expected]
    elif isinstance(expected, dict):
        want = ours(input_ids=IDS, **expected).loss
    else:
        want = torch.tensor(expected)
    torch.testing.assert_close(mine.loss, want)
    ours.zero_grad()
    mine.loss.backward()
    assert all(torch.isfinite(p.grad).all() for p in ours.parameters() if p.grad is not None)
    if not inputs.get("masked_only"):  # the outputs themselves are transformers'
        field = HEAD.get(cls, "logits")
        torch.testing.assert_close(mine[field], hf(input_ids=IDS)[field], atol=1e-5, rtol=1e-5)
