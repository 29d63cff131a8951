"""The course's BERT is the same model as transformers' BERT: same names, same outputs, same gradients."""

from __future__ import annotations

import dataclasses
import inspect

import pytest
import torch
import transformers
from helpers import ON_GPU
from safetensors.torch import save_file

from course_utils import count_parameters
from course_utils.model import (
    BertConfig,
    BertForMaskedLM,
    BertForPreTraining,
    BertForQuestionAnswering,
    BertForSequenceClassification,
    BertForTokenClassification,
    BertModel,
    BertPreTrainedModel,
    attention,
    check_token_ids,
)

NO_DROPOUT = dict(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
CONFIGS = {
    "course_small": BertConfig.course_small(vocab_size=300, **NO_DROPOUT),
    # odd sizes everywhere: 3 heads of 12, an intermediate size that is not 4H, tanh GELU, 3 segment types
    "odd": BertConfig(
        vocab_size=97,
        hidden_size=36,
        num_hidden_layers=3,
        num_attention_heads=3,
        intermediate_size=50,
        hidden_act="gelu_new",
        max_position_embeddings=40,
        type_vocab_size=3,
        pad_token_id=1,
        num_labels=5,
        **NO_DROPOUT,
    ),  # fmt: skip
}
CLASSES = [BertModel, BertForPreTraining, BertForMaskedLM, BertForSequenceClassification,
           BertForTokenClassification, BertForQuestionAnswering]  # fmt: skip
OUTPUT_FIELDS = ["last_hidden_state", "pooler_output", "prediction_logits", "seq_relationship_logits", "logits",
                 "start_logits", "end_logits", "loss"]  # fmt: skip


def make_batch(cfg: BertConfig, seed: int = 0, B: int = 3, T: int = 11) -> dict[str, torch.Tensor]:
    """A batch with padding in the attention mask and two segments."""
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(2, cfg.vocab_size, (B, T), generator=g)
    mask = torch.ones(B, T, dtype=torch.long)
    mask[1, 7:] = 0  # padded sequence
    mask[2, 4:] = 0
    ids[mask == 0] = cfg.pad_token_id
    types = torch.zeros(B, T, dtype=torch.long)
    types[:, 5:] = 1
    types[mask == 0] = 0
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}


def make_labels(
    cls, cfg: BertConfig, batch: dict[str, torch.Tensor], seed: int = 1
) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    B, T = batch["input_ids"].shape
    if cls in (BertForPreTraining, BertForMaskedLM):
        labels = torch.full((B, T), -100)
        chosen = torch.rand(B, T, generator=g) < 0.3
        chosen[:, 1] = True
        labels[chosen] = torch.randint(0, cfg.vocab_size, (int(chosen.sum()),), generator=g)
        out = {"labels": labels}
        if cls is BertForPreTraining:
            out["next_sentence_label"] = torch.tensor([0, 1, 1])
        return out
    if cls is BertForSequenceClassification:
        return {"labels": torch.randint(0, cfg.num_labels, (B,), generator=g)}
    if cls is BertForTokenClassification:
        labels = torch.randint(0, cfg.num_labels, (B, T), generator=g)
        labels[batch["attention_mask"] == 0] = -100
        return {"labels": labels}
    if cls is BertForQuestionAnswering:
        return {"start_positions": torch.tensor([1, 3, 50]), "end_positions": torch.tensor([2, 5, 60])}
    return {}


def pair(cls, cfg: BertConfig, seed: int = 0):
    """Our model and the transformers model of the same class, with the same (random) weights."""
    torch.manual_seed(seed)
    hf_cfg = cfg.to_hf(num_labels=2 if cls is BertForQuestionAnswering else cfg.num_labels)
    hf = getattr(transformers, cls.__name__)(hf_cfg).eval()
    ours_cfg = dataclasses.replace(cfg, num_labels=2) if cls is BertForQuestionAnswering else cfg
    ours = cls(ours_cfg).eval()
    ours.load_state_dict(hf.state_dict(), strict=True)
    return ours, hf


@pytest.mark.parametrize("cfg_name", list(CONFIGS))
@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_outputs_match_transformers(cls, cfg_name):
    cfg = CONFIGS[cfg_name]
    ours, hf = pair(cls, cfg)
    batch = make_batch(cfg)
    labels = make_labels(cls, cfg, batch)
    theirs = hf(**batch, **labels, output_attentions=True, output_hidden_states=True)
    mine = ours(**batch, **labels, output_attentions=True, output_hidden_states=True)
    compared = 0
    for name in OUTPUT_FIELDS:
        ref = getattr(theirs, name, None)
        if ref is None and getattr(mine, name) is not None and hasattr(hf, "bert"):
            # our task models also return the encoder's outputs; they must equal transformers' encoder
            ref = getattr(hf.bert(**batch), name)
        if ref is None:
            assert getattr(mine, name) is None, f"{name} should be None for {cls.__name__}"
            continue
        torch.testing.assert_close(mine[name], ref, atol=1e-5, rtol=1e-5, msg=f"{cls.__name__}.{name}")
        compared += 1
    assert compared >= 2
    assert len(mine.attentions) == cfg.num_hidden_layers
    for a, b in zip(mine.attentions, theirs.attentions, strict=True):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-5)
    for a, b in zip(mine.hidden_states, theirs.hidden_states, strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
    # the fused (sdpa) path gives the same answer as the readable path
    fast = ours(**batch, **labels)
    for name in OUTPUT_FIELDS:
        if getattr(mine, name) is not None:
            torch.testing.assert_close(fast[name], mine[name], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_state_dict_loads_both_ways(cls):
    cfg = CONFIGS["odd"]
    ours, hf = pair(cls, cfg)
    assert list(ours.state_dict()) == list(hf.state_dict())  # same names, same order
    torch.manual_seed(123)
    other = cls(dataclasses.replace(cfg, num_labels=2) if cls is BertForQuestionAnswering else cfg)
    hf.load_state_dict(other.state_dict(), strict=True)
    batch = make_batch(cfg, seed=5)
    key = {BertModel: "last_hidden_state", BertForPreTraining: "prediction_logits",
           BertForQuestionAnswering: "start_logits"}.get(cls, "logits")  # fmt: skip
    torch.testing.assert_close(other.eval()(**batch)[key], getattr(hf(**batch), key), atol=1e-5, rtol=1e-5)


def test_gradients_and_one_training_step_match():
    cfg = dataclasses.replace(CONFIGS["odd"], num_labels=5)
    ours, hf = pair(BertForPreTraining, cfg)
    batch = make_batch(cfg)
    labels = make_labels(BertForPreTraining, cfg, batch)
    opt_ours = torch.optim.AdamW(ours.parameters(), lr=1e-3)
    opt_hf = torch.optim.AdamW(hf.parameters(), lr=1e-3)
    for model, opt in ((ours, opt_ours), (hf, opt_hf)):
        model.train()
        opt.zero_grad()
        model(**batch, **labels).loss.backward()
    hf_grads = dict(hf.named_parameters())
    checked = 0
    for name, p in ours.named_parameters():
        torch.testing.assert_close(p.grad, hf_grads[name].grad, atol=1e-5, rtol=1e-4, msg=name)
        checked += 1
    assert checked == len(list(hf.parameters()))
    opt_ours.step()
    opt_hf.step()
    ours.eval(), hf.eval()
    torch.testing.assert_close(ours(**batch, **labels).loss, hf(**batch, **labels).loss, atol=1e-5, rtol=1e-5)


def test_pretraining_loss_parts_and_masked_only():
    cfg = CONFIGS["course_small"]
    ours, _ = pair(BertForPreTraining, cfg)
    batch = make_batch(cfg)
    labels = make_labels(BertForPreTraining, cfg, batch)
    full = ours(**batch, **labels)
    torch.testing.assert_close(full.loss, full.mlm_loss + full.nsp_loss)
    # MLM loss by hand: cross-entropy only where the label is not -100
    keep = labels["labels"] != -100
    by_hand = torch.nn.functional.cross_entropy(full.prediction_logits[keep], labels["labels"][keep])
    torch.testing.assert_close(full.mlm_loss, by_hand)
    # NSP loss over both classes
    nsp = torch.nn.functional.cross_entropy(full.seq_relationship_logits, labels["next_sentence_label"])
    torch.testing.assert_close(full.nsp_loss, nsp)
    sparse = ours(**batch, **labels, masked_only=True)
    assert sparse.prediction_logits.shape == (int(keep.sum()), cfg.vocab_size)
    torch.testing.assert_close(sparse.prediction_logits, full.prediction_logits[keep], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(sparse.loss, full.loss, atol=1e-6, rtol=1e-6)
    # a different label only at an unmasked position changes nothing
    assert torch.isclose(ours(**batch, labels=labels["labels"]).loss, full.mlm_loss)


SKIPS = {
    BertForPreTraining: "masked_only",
    BertForMaskedLM: "masked_only",
    BertForSequenceClassification: "cls_only",
}


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=ON_GPU)])
@pytest.mark.parametrize("cls", list(SKIPS), ids=lambda c: c.__name__)
def test_the_last_layer_runs_only_where_the_loss_reads_it(cls, device):
    """masked_only (pretraining) and cls_only (sequence classification): same loss and gradients, less
    work."""
    from torch.utils.flop_counter import FlopCounterMode

    cfg = CONFIGS["course_small"]
    model = pair(cls, cfg)[0].to(device)
    if device == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False  # float32 on the GPU too, to compare at 1e-6
    batch = {k: v.to(device) for k, v in make_batch(cfg).items()}
    labels = {k: v.to(device) for k, v in make_labels(cls, cfg, batch).items()}
    skip = {SKIPS[cls]: True}
    full, sparse = model(**batch, **labels), model(**batch, **labels, **skip)
    if cls is BertForSequenceClassification:
        read = torch.zeros_like(batch["attention_mask"], dtype=torch.bool)
        torch.testing.assert_close(sparse.logits, full.logits, atol=1e-6, rtol=1e-5)
    else:
        read = labels["labels"] != -100
    if cls is not BertForMaskedLM:
        read[:, 0] = True  # [CLS], for the pooler (NSP, the classifier)
        torch.testing.assert_close(sparse.pooler_output, full.pooler_output, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(
        sparse.last_hidden_state[read], full.last_hidden_state[read], atol=1e-5, rtol=1e-5
    )
    assert not sparse.last_hidden_state[~read].any()  # the rest was not computed
    # the same gradients as the whole model's loss
    full_grads = torch.autograd.grad(full.loss, list(model.parameters()))
    sparse_grads = torch.autograd.grad(sparse.loss, list(model.parameters()))
    for (name, _), a, b in zip(model.named_parameters(), full_grads, sparse_grads):
        torch.testing.assert_close(b, a, atol=1e-6, rtol=1e-4, msg=name)

    # and less work: the last layer's feed-forward ran only at the positions read
    def flops(**kw):
        with FlopCounterMode(display=False) as counter:
            model(**batch, **labels, **kw)
        return counter.get_total_flops()

    skipped = int((~read).sum()) * 2 * (2 * cfg.hidden_size * cfg.intermediate_size)
    assert flops() - flops(**skip) >= skipped


def test_decoder_is_tied_to_word_embeddings():
    for cls in (BertForPreTraining, BertForMaskedLM):
        m = cls(CONFIGS["course_small"])
        assert m.cls.predictions.decoder.weight is m.bert.embeddings.word_embeddings.weight
        assert m.cls.predictions.decoder.bias is m.cls.predictions.bias


def test_padding_does_not_change_real_tokens():
    cfg = CONFIGS["course_small"]
    m = BertModel(cfg).eval()
    ids = torch.randint(5, cfg.vocab_size, (1, 6))
    alone = m(ids).last_hidden_state
    padded = torch.cat([ids, torch.zeros(1, 4, dtype=torch.long)], dim=1)
    mask = torch.tensor([[1] * 6 + [0] * 4])
    torch.testing.assert_close(m(padded, mask).last_hidden_state[:, :6], alone, atol=1e-5, rtol=1e-5)


def test_a_mask_without_padding_reaches_the_fused_kernel_as_none(monkeypatch):
    """Nothing padded: SDPA gets no mask, so that it may pick flash attention (transformers does the same);
    with padding, or when the probabilities are wanted, the mask is used."""
    cfg = CONFIGS["course_small"]
    m = BertModel(cfg).eval()
    seen = []
    sdpa = torch.nn.functional.scaled_dot_product_attention
    monkeypatch.setattr(
        torch.nn.functional,
        "scaled_dot_product_attention",
        lambda *args, attn_mask=None, **kw: seen.append(attn_mask) or sdpa(*args, attn_mask=attn_mask, **kw),
    )
    ids = torch.randint(5, cfg.vocab_size, (2, 7))
    full = m(ids, torch.ones(2, 7, dtype=torch.long)).last_hidden_state
    assert len(seen) == cfg.num_hidden_layers and all(mask is None for mask in seen)
    torch.testing.assert_close(full, m(ids).last_hidden_state, atol=0, rtol=0)
    seen.clear()
    m(ids, torch.tensor([[1] * 7, [1] * 5 + [0] * 2]))
    assert len(seen) == cfg.num_hidden_layers and all(mask is not None for mask in seen)
    seen.clear()
    with_probs = m(ids, torch.ones(2, 7, dtype=torch.long), output_attentions=True)
    assert seen == [] and len(with_probs.attentions) == cfg.num_hidden_layers
    torch.testing.assert_close(with_probs.last_hidden_state, full, atol=1e-5, rtol=1e-5)


def test_attention_function_matches_sdpa_and_masks():
    torch.manual_seed(0)
    q, k, v = (torch.randn(2, 3, 5, 4) for _ in range(3))
    causal = torch.ones(5, 5, dtype=torch.bool).tril()
    out, probs = attention(q, k, v, causal)
    ref = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
    torch.testing.assert_close(out, ref, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(probs.sum(-1), torch.ones(2, 3, 5))
    assert torch.all(probs.masked_select(~causal) == 0)


def test_self_attention_takes_bool_and_additive_masks_on_both_paths():
    cfg = CONFIGS["course_small"]
    torch.manual_seed(0)
    sdpa = BertModel(cfg).encoder.layer[0].attention.self.eval()
    x = torch.randn(2, 6, cfg.hidden_size)
    keep = torch.ones(2, 1, 1, 6, dtype=torch.bool)
    keep[1, ..., 4:] = False
    additive = (~keep).float() * torch.finfo(torch.float32).min
    reference, _ = sdpa(x, additive, output_attentions=True)  # the readable path
    for mask in (keep, additive):
        fast, _ = sdpa(x, mask)
        torch.testing.assert_close(fast, reference, atol=1e-5, rtol=1e-5)
        slow, probs = sdpa(x, mask, output_attentions=True)
        torch.testing.assert_close(slow, reference, atol=1e-6, rtol=1e-6)
        assert torch.all(probs[1, :, :, 4:] == 0)


def test_save_and_load_round_trip(tmp_path):
    cfg = CONFIGS["odd"]
    torch.manual_seed(0)
    m = BertForPreTraining(cfg).eval()
    m.save_pretrained(tmp_path / "ckpt")
    loaded = BertForPreTraining.from_pretrained(tmp_path / "ckpt").eval()
    assert loaded.config == cfg
    assert loaded.cls.predictions.decoder.weight is loaded.bert.embeddings.word_embeddings.weight
    batch = make_batch(cfg)
    torch.testing.assert_close(loaded(**batch).prediction_logits, m(**batch).prediction_logits)


def test_loads_a_transformers_folder(tmp_path):
    cfg = CONFIGS["course_small"]
    hf = transformers.BertForMaskedLM(cfg.to_hf()).eval()
    hf.save_pretrained(tmp_path / "hf")
    ours = BertForMaskedLM.from_pretrained(tmp_path / "hf").eval()
    batch = make_batch(cfg)
    torch.testing.assert_close(ours(**batch).logits, hf(**batch).logits, atol=1e-5, rtol=1e-5)


def test_old_checkpoints_with_gamma_beta_and_position_ids():
    cfg = CONFIGS["course_small"]
    ours, hf = pair(BertForPreTraining, cfg)
    old = {}
    for k, v in hf.state_dict().items():
        k = k.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta")
        old[k] = v
    old["bert.embeddings.position_ids"] = torch.arange(cfg.max_position_embeddings)[None]
    assert any(k.endswith("gamma") for k in old)
    fresh = BertForPreTraining(cfg).eval()
    fresh.load_state_dict(old, strict=True)
    batch = make_batch(cfg)
    torch.testing.assert_close(
        fresh(**batch).prediction_logits, hf(**batch).prediction_logits, atol=1e-5, rtol=1e-5
    )


def test_parameter_counts_of_the_paper():
    with torch.device("meta"):  # no memory needed to count
        base = BertModel(BertConfig.base())
        large = BertModel(BertConfig.large())
    assert count_parameters(base) == 109_482_240
    assert count_parameters(large) == 335_141_888


def test_config_matches_transformers_fields_and_defaults():
    hf_params = inspect.signature(transformers.BertConfig.__init__).parameters
    ours = {f.name: f.default for f in dataclasses.fields(BertConfig)}
    skip = {
        "use_cache",
        "is_decoder",
        "add_cross_attention",
        "bos_token_id",
        "eos_token_id",
        "tie_word_embeddings",
    }
    bert_specific = [n for n, p in hf_params.items() if p.kind is p.KEYWORD_ONLY and n not in skip]
    assert len(bert_specific) >= 13
    for name in bert_specific:
        assert name in ours, f"{name} missing from BertConfig"
        assert ours[name] == hf_params[name].default, name
    assert ours["problem_type"] == hf_params["problem_type"].default
    # conversion round trip
    cfg = CONFIGS["odd"]
    assert BertConfig.from_hf(cfg.to_hf()) == dataclasses.replace(cfg, attn_implementation="eager")


# ---------------------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            dict(hidden_size=100, num_attention_heads=12),
            "hidden_size=100 is not divisible by num_attention_heads=12",
        ),
        (dict(hidden_size=0), "hidden_size=0 must be a positive integer"),
        (dict(num_hidden_layers=-1), "num_hidden_layers=-1 must be a positive integer"),
        (dict(vocab_size=10, pad_token_id=10), "pad_token_id=10"),
        (dict(hidden_dropout_prob=1.5), "hidden_dropout_prob=1.5"),
        (dict(hidden_act="swish2"), "hidden_act='swish2'"),
        (dict(attn_implementation="flash"), "attn_implementation='flash'"),
    ],
)
def test_bad_config_is_rejected_with_the_values(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        BertConfig(**kwargs)


def test_bad_inputs_are_named():
    cfg = CONFIGS["course_small"]
    m = BertForSequenceClassification(cfg).eval()
    too_long = torch.ones(1, cfg.max_position_embeddings + 1, dtype=torch.long)
    with pytest.raises(ValueError, match=r"sequence length 129 is longer than max_position_embeddings=128"):
        m(too_long)
    with pytest.raises(ValueError, match=r"token id 300 is outside the vocabulary \[0, 300\)"):
        m(torch.tensor([[2, 300]]))
    with pytest.raises(ValueError, match=r"token id -1"):
        m(torch.tensor([[2, -1]]))
    with pytest.raises(
        ValueError, match=r"attention_mask has shape \(1, 3\) but input_ids has shape \(1, 2\)"
    ):
        m(torch.tensor([[2, 3]]), attention_mask=torch.ones(1, 3))
    with pytest.raises(ValueError, match=r"token_type_ids must be in \[0, 2\)"):
        m(torch.tensor([[2, 3]]), token_type_ids=torch.tensor([[0, 2]]))
    with pytest.raises(ValueError, match=r"input_ids must be a \(batch, tokens\) tensor, got \(2,\)"):
        m(torch.tensor([2, 3]))
    with pytest.raises(ValueError, match=r"labels have shape \(2,\), expected \(1,\)"):
        m(torch.tensor([[2, 3]]), labels=torch.tensor([0, 1]))
    with pytest.raises(TypeError, match="course_utils.model.BertConfig"):
        BertModel(cfg.to_hf())


def test_state_dict_mismatch_lists_the_keys():
    cfg = CONFIGS["course_small"]
    m = BertForPreTraining(cfg)
    sd = m.state_dict()
    sd.pop("bert.pooler.dense.bias")
    sd["extra.weight"] = torch.zeros(1)
    with pytest.raises(KeyError, match=r"missing keys \(1\): bert.pooler.dense.bias") as err:
        m.load_state_dict(sd)
    assert "unexpected keys (1): extra.weight" in str(err.value)
    other = BertForPreTraining(dataclasses.replace(cfg, hidden_size=64))
    with pytest.raises(ValueError, match="different config"):
        m.load_state_dict(other.state_dict())


# ---------------------------------------------------------------------------------------------- initialisation


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_init_weights_runs_once_per_module(cls, monkeypatch):
    calls = []
    real = BertPreTrainedModel._init_weights
    monkeypatch.setattr(
        BertPreTrainedModel, "_init_weights", lambda self, m: calls.append(m) or real(self, m)
    )
    cfg = dataclasses.replace(CONFIGS["odd"], num_labels=2)
    model = cls(cfg)
    assert len(calls) == len(list(model.modules())), "one call per module"
    assert {id(m) for m in calls} == {id(m) for m in model.modules()}


def test_init_rule_normal_weights_zero_biases_identity_layernorm():
    cfg = BertConfig.course_small(vocab_size=3000, initializer_range=0.05)
    torch.manual_seed(0)
    model = BertForSequenceClassification(cfg)
    for name, module in model.named_modules():
        if isinstance(module, (torch.nn.Linear, torch.nn.Embedding)):
            w = module.weight
            if isinstance(module, torch.nn.Embedding) and module.padding_idx is not None:
                assert torch.all(w[module.padding_idx] == 0), name
                w = w[torch.arange(len(w)) != module.padding_idx]
            assert abs(w.std().item() - 0.05) < 0.1 * 0.05 and abs(w.mean().item()) < 0.01, name
        if isinstance(module, torch.nn.Linear):
            assert torch.all(module.bias == 0), name
        if isinstance(module, torch.nn.LayerNorm):
            assert torch.all(module.weight == 1) and torch.all(module.bias == 0), name


def test_a_bert_model_draws_the_same_weights_for_a_seed():
    cfg = CONFIGS["odd"]
    torch.manual_seed(3)
    a = BertModel(cfg).state_dict()
    torch.manual_seed(3)
    b = BertModel(cfg).state_dict()
    for k in a:
        torch.testing.assert_close(a[k], b[k], atol=0, rtol=0, msg=k)


# ---------------------------------------------------------------------------------------------- model folders


@pytest.fixture(scope="module")
def pretraining_folder(tmp_path_factory):
    """A BertForPreTraining folder with random weights (odd sizes), and the model that wrote it."""
    torch.manual_seed(7)
    model = BertForPreTraining(CONFIGS["odd"]).eval()
    return model.save_pretrained(tmp_path_factory.mktemp("pretraining")), model


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_a_pretraining_folder_loads_into_every_class(cls, pretraining_folder):
    folder, source = pretraining_folder
    num_labels = 2 if cls is BertForQuestionAnswering else 4
    model, info = cls.from_pretrained(folder, output_loading_info=True, num_labels=num_labels)
    assert model.config.num_labels == num_labels
    encoder = model if cls is BertModel else model.bert
    for name, value in encoder.state_dict().items():
        if encoder.pooler is not None or not name.startswith("pooler."):
            torch.testing.assert_close(value, source.bert.state_dict()[name], atol=0, rtol=0, msg=name)
    heads = {
        BertModel: [],
        BertForPreTraining: [],
        BertForMaskedLM: [],
        BertForSequenceClassification: ["classifier.weight", "classifier.bias"],
        BertForTokenClassification: ["classifier.weight", "classifier.bias"],
        BertForQuestionAnswering: ["qa_outputs.weight", "qa_outputs.bias"],
    }[cls]
    assert info["missing_keys"] == heads, "only the new head is newly initialised"
    unused = set(info["unexpected_keys"])
    if cls is BertModel:
        assert unused == {k for k in source.state_dict() if k.startswith("cls.")} - {
            "cls.predictions.decoder.weight",
            "cls.predictions.decoder.bias",
        }
    if cls in (BertForMaskedLM, BertForTokenClassification, BertForQuestionAnswering):
        assert {"bert.pooler.dense.weight", "bert.pooler.dense.bias"} <= unused  # no pooler: ignored
    if cls is BertForMaskedLM:
        batch = make_batch(CONFIGS["odd"])
        expected = source(**batch).prediction_logits
        torch.testing.assert_close(model.eval()(**batch).logits, expected, atol=1e-5, rtol=1e-5)
        assert model.cls.predictions.decoder.weight is model.bert.embeddings.word_embeddings.weight


def test_a_head_missing_from_the_folder_is_initialised_like_a_new_model(pretraining_folder, caplog):
    folder, _ = pretraining_folder
    with caplog.at_level("INFO", logger="course_utils.model"):
        model = BertForSequenceClassification.from_pretrained(folder, num_labels=3)
    assert "newly initialised" in caplog.text and "classifier.weight" in caplog.text
    assert torch.all(model.classifier.bias == 0) and 0.01 < model.classifier.weight.std() < 0.03
    assert model.training, "a loaded model is in train mode, like a new one"


def test_a_bert_model_folder_loads_into_a_task_model_and_back(tmp_path):
    cfg = CONFIGS["course_small"]
    torch.manual_seed(1)
    encoder = BertModel(cfg).eval()
    clf = BertForSequenceClassification.from_pretrained(encoder.save_pretrained(tmp_path / "encoder"))
    for name, value in encoder.state_dict().items():
        torch.testing.assert_close(clf.bert.state_dict()[name], value, atol=0, rtol=0)
    again = BertModel.from_pretrained(clf.save_pretrained(tmp_path / "clf")).eval()
    batch = make_batch(cfg)
    torch.testing.assert_close(again(**batch).last_hidden_state, encoder(**batch).last_hidden_state)


def test_transformers_loads_a_course_folder(pretraining_folder):
    folder, source = pretraining_folder
    hf = transformers.BertForSequenceClassification.from_pretrained(folder, num_labels=3)
    ours = BertForSequenceClassification.from_pretrained(folder, num_labels=3)
    hf_weights = hf.state_dict()
    for name, value in ours.bert.state_dict().items():
        torch.testing.assert_close(hf_weights["bert." + name], value, atol=0, rtol=0, msg=name)
    auto = transformers.AutoModelForMaskedLM.from_pretrained(folder).eval()  # config.json says model_type
    batch = make_batch(CONFIGS["odd"])
    torch.testing.assert_close(auto(**batch).logits, source(**batch).prediction_logits, atol=1e-5, rtol=1e-5)


def test_folder_errors_are_clear(tmp_path, pretraining_folder):
    folder, source = pretraining_folder
    with pytest.raises(FileNotFoundError, match="needs config.json and model.safetensors"):
        BertModel.from_pretrained(tmp_path / "nothing")
    with pytest.raises(ValueError, match="different config; shapes differ"):
        BertForPreTraining.from_pretrained(folder, hidden_size=48, intermediate_size=60)
    weights = {k: v for k, v in source.state_dict().items() if "encoder.layer.1." not in k}
    for tied in ("cls.predictions.decoder.weight", "cls.predictions.decoder.bias"):
        weights.pop(tied)
    broken = tmp_path / "broken"
    broken.mkdir()
    save_file(weights, str(broken / "model.safetensors"))
    (broken / "config.json").write_text((folder / "config.json").read_text())
    with pytest.raises(ValueError, match=r"lacks encoder weights of BertModel \(16\): encoder.layer.1"):
        BertModel.from_pretrained(broken)


def test_check_token_ids_takes_tensors_lists_and_ints():
    check_token_ids(torch.tensor([[0, 9]]), 10)
    check_token_ids([], 10)
    with pytest.raises(ValueError, match=r"mask_token_id: token id 10 is outside the vocabulary \[0, 10\)$"):
        check_token_ids(10, 10, name="mask_token_id")
    with pytest.raises(ValueError, match=r"ids: token id -2 .*; check the tokenizer"):
        check_token_ids([3, -2], 10, name="ids", hint="check the tokenizer")


# ---------------------------------------------------------------------------------------------- devices


def test_model_follows_dtype():
    cfg = CONFIGS["course_small"]
    m = BertForPreTraining(cfg).to(torch.bfloat16).eval()
    batch = make_batch(cfg)
    out = m(**batch, **make_labels(BertForPreTraining, cfg, batch))
    assert out.prediction_logits.dtype == torch.bfloat16
    assert torch.isfinite(out.loss)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_parity_and_bf16_autocast():
    from course_utils import autocast

    cfg = CONFIGS["course_small"]
    for cls in CLASSES:
        ours, hf = pair(cls, cfg)
        ours, hf = ours.cuda(), hf.cuda()
        batch = {k: v.cuda() for k, v in make_batch(cfg).items()}
        labels = {k: v.cuda() for k, v in make_labels(cls, cfg, batch).items()}
        key = {BertModel: "last_hidden_state", BertForPreTraining: "prediction_logits",
               BertForQuestionAnswering: "start_logits"}.get(cls, "logits")  # fmt: skip
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.testing.assert_close(ours(**batch, **labels)[key], getattr(hf(**batch, **labels), key),
                                   atol=1e-4, rtol=1e-4)  # fmt: skip
        ours.train()
        with autocast("cuda"):
            out = ours(**batch, **labels)
        (out.loss if out.loss is not None else out[key].float().mean()).backward()
        assert all(torch.isfinite(p.grad).all() for p in ours.parameters() if p.grad is not None)
