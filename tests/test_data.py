"""Tests of MLM masking, NSP pairs, datasets and collators."""

from __future__ import annotations

import random

import pytest
import torch
from torch.utils.data import DataLoader
from transformers import DataCollatorForLanguageModeling

from course_utils import world
from course_utils.data import (
    IGNORE_INDEX,
    IS_NEXT,
    NOT_NEXT,
    DynamicPaddingCollator,
    MlmMasking,
    PretrainingCollator,
    PretrainingDataset,
    TextClassificationDataset,
    make_nsp_pairs,
    make_segment_pairs,
    mask_tokens,
    pad_examples,
)
from course_utils.model import BertConfig, BertForPreTraining, BertModel
from course_utils.tokenizer import load_tokenizer

V, SPECIAL = 2000, (0, 1, 2, 3, 4)
MASK = 4


@pytest.fixture(scope="module")
def tok():
    return load_tokenizer()


def _sample(n: int = 1_000_000, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, V, (n,), generator=g)
    ids[torch.rand(n, generator=g) < 0.1] = 0  # some padding, which must never be chosen
    return ids.view(1000, -1)


def _stats(original: torch.Tensor, masked: torch.Tensor, labels: torch.Tensor, special=SPECIAL, mask_id=MASK):
    ordinary = ~torch.isin(original, torch.tensor(special))
    chosen = labels != IGNORE_INDEX
    n = chosen.sum().item()
    became_mask = (masked[chosen] == mask_id).sum().item()
    unchanged = (masked[chosen] == original[chosen]).sum().item()
    return {
        "chosen": n / ordinary.sum().item(),
        "mask": became_mask / n,
        "random": (n - became_mask - unchanged) / n,
        "unchanged": unchanged / n,
    }


# --- mask_tokens ----------------------------------------------------------------------------------


def test_masking_rates_on_a_million_tokens():
    ids = _sample()
    before = ids.clone()
    masked, labels = mask_tokens(
        ids, mask_token_id=MASK, vocab_size=V, special_ids=SPECIAL, generator=torch.Generator().manual_seed(1)
    )
    assert torch.equal(ids, before), "the input is not modified in place"
    s = _stats(ids, masked, labels)
    assert abs(s["chosen"] - 0.15) < 0.003
    assert abs(s["mask"] - 0.80) < 0.01
    assert abs(s["random"] - 0.10) < 0.01
    assert abs(s["unchanged"] - 0.10) < 0.01
    # labels: the original id exactly at chosen positions, -100 everywhere else
    chosen = labels != IGNORE_INDEX
    assert torch.equal(labels[chosen], ids[chosen])
    assert not chosen[torch.isin(ids, torch.tensor(SPECIAL))].any(), "padding/special tokens are never chosen"
    # positions not chosen keep their token
    assert torch.equal(masked[~chosen], ids[~chosen])
    # random replacements never produce a special token
    replaced = chosen & (masked != MASK) & (masked != ids)
    assert replaced.sum() > 10_000
    assert not torch.isin(masked[replaced], torch.tensor(SPECIAL)).any()
    # ... and cover the ordinary vocabulary roughly uniformly
    counts = torch.bincount(masked[replaced], minlength=V)[5:].float()
    shares = counts.view(5, -1).sum(1) / counts.sum()  # 5 blocks of 399 ids: about 20 % each
    assert (shares - 0.2).abs().max() < 0.02, shares


def test_masking_is_repeatable_and_shape_preserving():
    ids = _sample(20_000)
    kw = dict(mask_token_id=MASK, vocab_size=V, special_ids=SPECIAL)
    a = mask_tokens(ids, generator=torch.Generator().manual_seed(3), **kw)
    b = mask_tokens(ids, generator=torch.Generator().manual_seed(3), **kw)
    c = mask_tokens(ids, generator=torch.Generator().manual_seed(4), **kw)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[1], c[1])
    row = ids[0]  # a 1-D (T,) input works too
    m, lab = mask_tokens(row, generator=torch.Generator().manual_seed(0), **kw)
    assert m.shape == lab.shape == row.shape and m.dtype == row.dtype
    hi = mask_tokens(ids, mlm_probability=1.0, generator=torch.Generator().manual_seed(0), **kw)[1]
    assert torch.equal(hi != IGNORE_INDEX, ~torch.isin(ids, torch.tensor(SPECIAL)))
    free = mask_tokens(
        ids, special_ids=[], mask_token_id=MASK, vocab_size=V, generator=torch.Generator().manual_seed(0)
    )
    assert (free[1][ids == 0] != IGNORE_INDEX).any(), "with no special ids even padding can be chosen"


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_masking_on_cuda_matches_cpu_for_a_cpu_generator():
    ids = _sample(20_000)
    kw = dict(mask_token_id=MASK, vocab_size=V, special_ids=SPECIAL)
    cpu = mask_tokens(ids, generator=torch.Generator().manual_seed(5), **kw)
    gpu = mask_tokens(ids.cuda(), generator=torch.Generator().manual_seed(5), **kw)
    assert gpu[0].device.type == "cuda"
    assert torch.equal(cpu[0], gpu[0].cpu()) and torch.equal(cpu[1], gpu[1].cpu())


SETTINGS = dict(mask_token_id=MASK, vocab_size=V, special_ids=SPECIAL)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (dict(mlm_probability=0.0), r"mlm_probability must be in \(0, 1\], got 0.0"),
        (dict(mlm_probability=1.5), "mlm_probability must be in"),
        (dict(mlm_probability=-0.1), "mlm_probability must be in"),
        (dict(mlm_probability=True), "mlm_probability must be in"),
        (dict(vocab_size=0), "vocab_size must be a positive int"),
        (dict(mask_token_id=V), r"mask_token_id: token id 2000 is outside the vocabulary \[0, 2000\)"),
        (dict(mask_token_id="[MASK]"), "mask_token_id must be an int"),
        (dict(special_ids=[0, V + 3]), "special_ids: token id 2003 is outside"),
        (dict(mask_token_id=1, vocab_size=2, special_ids=[0, 1]), "every id is special"),
    ],
)
def test_bad_masking_settings_are_rejected_where_they_enter(overrides, message):
    settings = {**SETTINGS, **overrides}
    with pytest.raises(ValueError, match=message):
        MlmMasking(**settings)  # when the masking is made, before any input
    with pytest.raises(ValueError, match=message):
        mask_tokens(torch.tensor([[5, 6]]), **settings)


@pytest.mark.parametrize(
    ("ids", "error", "message"),
    [
        (torch.tensor([5, V]), ValueError, r"input_ids: token id 2000 is outside the vocabulary \[0, 2000\)"),
        (torch.tensor([[5, -1]]), ValueError, "token id -1 is outside"),
        (torch.tensor([5.0, 6.0]), TypeError, "must hold integer ids"),
        (torch.tensor([True]), TypeError, "must hold integer ids"),
        ([5, 6], TypeError, "must be a torch.Tensor"),
    ],
)
def test_bad_input_ids_are_rejected_when_masked(ids, error, message):
    with pytest.raises(error, match=message):
        MlmMasking(**SETTINGS)(ids)


def test_the_masking_and_the_model_report_a_bad_token_id_alike():
    """One helper (model.check_token_ids) checks the id range wherever ids enter."""
    expected = r"input_ids: token id 2000 is outside the vocabulary \[0, 2000\)"
    with pytest.raises(ValueError, match=expected):
        mask_tokens(torch.tensor([[5, V]]), **SETTINGS)
    model = BertModel(BertConfig(vocab_size=V, hidden_size=8, num_hidden_layers=1, num_attention_heads=2))
    with pytest.raises(ValueError, match=expected):
        model(torch.tensor([[5, V]]))


def test_the_collator_checks_its_settings_once_not_per_batch(tok, monkeypatch):
    with pytest.raises(ValueError, match="mlm_probability"):
        PretrainingCollator(tok, mlm_probability=1.5)  # at construction, not at the first batch
    collate = PretrainingCollator(tok, mlm_probability=0.3, seed=0)
    assert collate.masking.mlm_probability == 0.3 and collate.masking.vocab_size == len(tok)
    assert set(tok.all_special_ids) <= set(collate.masking.special_ids)
    checks = []
    monkeypatch.setattr(MlmMasking, "__post_init__", lambda self: checks.append(self))
    items = [{"input_ids": [2, 7, 8, 3], "next_sentence_label": 0}] * 4
    for _ in range(3):
        collate(items)
    assert checks == [], "the masking settings are not checked again for every batch"


@pytest.mark.parametrize("seed", [-1, 1.5, True, "0"])
def test_bad_seeds_are_rejected_by_the_one_seed_check(tok, seed):
    with pytest.raises(ValueError, match="must be a non-negative integer"):
        PretrainingCollator(tok, seed=seed)
    with pytest.raises(ValueError, match="must be a non-negative integer"):
        make_nsp_pairs([["A.", "B."], ["C.", "D."]], seed=seed)


def test_mask_tokens_is_the_masking_applied_once():
    ids = _sample(5_000)
    a = mask_tokens(ids, generator=torch.Generator().manual_seed(2), **SETTINGS)
    b = MlmMasking(**SETTINGS)(ids, torch.Generator().manual_seed(2))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


def test_same_statistics_as_transformers_collator(tok):
    """transformers' DataCollatorForLanguageModeling follows the same recipe. One documented
    difference: it draws random replacements from the WHOLE vocabulary, special tokens included,
    while mask_tokens draws only ordinary tokens."""
    sentences = [s for doc in world.story_corpus("train")[:1500] for s in doc]
    enc = tok(sentences, truncation=True, max_length=64)
    items = [{"input_ids": ids} for ids in enc["input_ids"]]
    original = pad_examples(items, tok.pad_token_id)["input_ids"]

    hf = DataCollatorForLanguageModeling(tok, mlm_probability=0.15, seed=0)(items)
    ours = PretrainingCollator(tok, seed=0)([{**it, "next_sentence_label": 0} for it in items])
    special = tuple(tok.all_special_ids)
    s_hf = _stats(original, hf["input_ids"], hf["labels"], special, tok.mask_token_id)
    s_ours = _stats(original, ours["input_ids"], ours["labels"], special, tok.mask_token_id)
    assert original.ne(tok.pad_token_id).sum() > 100_000
    for key, target in (("chosen", 0.15), ("mask", 0.8), ("random", 0.1), ("unchanged", 0.1)):
        assert abs(s_hf[key] - target) < 0.01 and abs(s_ours[key] - target) < 0.01, (key, s_hf, s_ours)
    # both leave [CLS], [SEP] and padding alone
    for batch in (hf, ours):
        assert not (batch["labels"][torch.isin(original, torch.tensor(special))] != IGNORE_INDEX).any()


# --- NSP pairs ------------------------------------------------------------------------------------


def test_nsp_pairs_half_and_half_and_never_the_true_next():
    docs = world.story_corpus("validation")
    pairs = make_nsp_pairs(docs, seed=0)
    assert len(pairs) == sum(len(d) - 1 for d in docs)
    labels = [label for _, _, label in pairs]
    assert abs(labels.count(IS_NEXT) - labels.count(NOT_NEXT)) <= 1
    successors: dict[str, set[str]] = {}
    doc_of: dict[str, set[int]] = {}
    for d, doc in enumerate(docs):
        for a, b in zip(doc, doc[1:]):
            successors.setdefault(a, set()).add(b)
        for s in doc:
            doc_of.setdefault(s, set()).add(d)
    same_doc = 0
    for a, b, label in pairs:
        if label == IS_NEXT:
            assert b in successors[a]
        else:
            assert b not in successors[a] and b != a
            same_doc += bool(doc_of[a] & doc_of[b])
    not_next = labels.count(NOT_NEXT)
    assert 0.1 < same_doc / not_next < 0.35, "some NotNext sentences come from the same document"


def test_nsp_pairs_are_repeatable_and_checked():
    docs = world.story_corpus("validation")[:50]
    assert make_nsp_pairs(docs, seed=1) == make_nsp_pairs(docs, seed=1)
    assert make_nsp_pairs(docs, seed=1) != make_nsp_pairs(docs, seed=2)
    odd = [["A.", "B."], ["C.", "D."], ["E.", "F."]]  # 3 positions: 1 or 2 IsNext
    assert sum(label == IS_NEXT for *_, label in make_nsp_pairs(odd, seed=0)) in (1, 2)
    with pytest.raises(ValueError, match="empty"):
        make_nsp_pairs([], seed=0)
    with pytest.raises(ValueError, match="2 or more sentences"):
        make_nsp_pairs([["Only one."], ["Just one."]], seed=0)
    with pytest.raises(ValueError, match="NotNext"):
        make_nsp_pairs([["One.", "Two."]], seed=0)
    with pytest.raises(TypeError, match="LIST of sentences"):
        make_nsp_pairs(["One. Two.", "Three. Four."], seed=0)


def _runs(docs):
    """Every run of consecutive sentences, joined as make_segment_pairs joins them -> its documents."""
    runs: dict[str, set[int]] = {}
    for d, doc in enumerate(docs):
        for i in range(len(doc)):
            for j in range(i + 1, len(doc) + 1):
                runs.setdefault(" ".join(doc[i:j]), set()).add(d)
    return runs


def test_segment_pairs_fill_the_input_and_keep_bert_s_labels():
    rng = random.Random(0)  # documents whose sentences are all different: "d3s1 w w w." ...
    docs = [
        [f"d{d}s{i} " + " ".join(["w"] * rng.randint(2, 12)) + "." for i in range(rng.randint(2, 12))]
        for d in range(300)
    ]
    where = {sentence: (d, i) for d, doc in enumerate(docs) for i, sentence in enumerate(doc)}

    def run(segment: str) -> tuple[int, int, int]:  # (document, first sentence, last sentence)
        found = [where[x.strip() + "."] for x in segment.split(".")[:-1]]
        (d, first), (_, last) = found[0], found[-1]
        assert [f for f in found] == [(d, i) for i in range(first, last + 1)], "whole consecutive sentences"
        return d, first, last

    pairs = make_segment_pairs(docs, seed=0, max_tokens=40)
    labels = [label for *_, label in pairs]
    assert abs(labels.count(IS_NEXT) - labels.count(NOT_NEXT)) <= 1
    for a, b, label in pairs:
        (da, _, last), (db, first, _) = run(a), run(b)
        if label == IS_NEXT:
            assert (db, first) == (da, last + 1), "IsNext: B continues A"
        else:
            assert db != da, "NotNext: B comes from another document"
    words = [len(f"{a} {b}".split()) for a, b, _ in pairs]
    assert sum(w <= 40 for w in words) / len(words) > 0.9  # over only when 2 sentences are longer
    single = [len(f"{a} {b}".split()) for a, b, _ in make_nsp_pairs(docs, seed=0)]
    assert sum(words) / len(words) > 1.7 * sum(single) / len(single), "several sentences, not one"


def test_segment_pairs_are_repeatable_and_checked():
    docs = world.story_corpus("validation")[:50]
    assert make_segment_pairs(docs, seed=1, max_tokens=30) == make_segment_pairs(docs, seed=1, max_tokens=30)
    assert make_segment_pairs(docs, seed=1, max_tokens=30) != make_segment_pairs(docs, seed=2, max_tokens=30)
    with pytest.raises(ValueError, match="at least two documents"):
        make_segment_pairs([["One.", "Two.", "Three."]], seed=0, max_tokens=30)
    with pytest.raises(ValueError, match="2 or more sentences"):
        make_segment_pairs([["Only one."], ["Just one."]], seed=0, max_tokens=30)
    with pytest.raises(ValueError, match="max_tokens"):
        make_segment_pairs(docs, seed=0, max_tokens=1)
    with pytest.raises(TypeError, match="list of non-blank sentence strings"):
        make_segment_pairs(["One. Two.", "Three. Four."], seed=0, max_tokens=30)


# --- pretraining dataset and collator -------------------------------------------------------------


def test_pretraining_items_are_cls_a_sep_b_sep(tok):
    ds = PretrainingDataset(world.story_corpus("validation")[:100], tok, max_length=16, seed=0)
    assert len(ds) == len(ds.pairs)
    for n in range(len(ds)):
        item = ds[n]
        assert set(item) == {"input_ids", "token_type_ids", "next_sentence_label"}
        ids, types = item["input_ids"].tolist(), item["token_type_ids"].tolist()
        assert item["input_ids"].dtype == torch.long and item["next_sentence_label"].dim() == 0
        assert len(ids) <= 16 and ids[0] == tok.cls_token_id and ids[-1] == tok.sep_token_id
        first_sep = ids.index(tok.sep_token_id)
        assert types == [0] * (first_sep + 1) + [1] * (len(ids) - first_sep - 1)
    with pytest.raises(ValueError, match="at least 5"):
        PretrainingDataset(world.story_corpus("validation")[:10], tok, max_length=4)


def test_pretraining_dataset_of_segments(tok):
    docs = world.pretraining_corpus("validation")[:200]
    ds = PretrainingDataset(docs, tok, max_length=48, seed=0, segments=True, dupe_factor=3)
    one = PretrainingDataset(docs, tok, max_length=48, seed=0, segments=True)
    assert 2.5 * len(one) <= len(ds) <= 3.5 * len(one)
    lengths = [len(ds[n]["input_ids"]) for n in range(len(ds))]
    assert max(lengths) <= 48 and sum(lengths) / len(lengths) > 30
    assert abs(sum(ds.labels) / len(ds) - 0.5) < 0.01
    assert ds.pairs[: len(one)] == one.pairs and ds.pairs[len(one) :] != ds.pairs[: len(ds) - len(one)]
    with pytest.raises(ValueError, match="dupe_factor"):
        PretrainingDataset(docs, tok, segments=True, dupe_factor=0)


def test_pretraining_batches_feed_the_model(tok):
    ds = PretrainingDataset(world.story_corpus("validation")[:50], tok, max_length=32, seed=0)
    loader = DataLoader(ds, batch_size=8, collate_fn=PretrainingCollator(tok, seed=0))
    batch = next(iter(loader))
    assert set(batch) == {"input_ids", "attention_mask", "token_type_ids", "labels", "next_sentence_label"}
    lengths = [len(ds[n]["input_ids"]) for n in range(8)]
    assert batch["input_ids"].shape == (8, max(lengths)), "padded to the longest in the batch"
    assert batch["attention_mask"].sum(1).tolist() == lengths
    pad = batch["attention_mask"] == 0
    assert (batch["input_ids"][pad] == tok.pad_token_id).all() and (
        batch["labels"][pad] == IGNORE_INDEX
    ).all()
    again = next(iter(DataLoader(ds, batch_size=8, collate_fn=PretrainingCollator(tok, seed=0))))
    assert torch.equal(batch["input_ids"], again["input_ids"]), "a seeded collator repeats its masks"

    torch.manual_seed(0)
    model = BertForPreTraining(BertConfig.course_small(vocab_size=len(tok)))
    out = model(**batch)
    assert torch.isfinite(out.loss) and out.prediction_logits.shape == (*batch["input_ids"].shape, len(tok))


# --- padding and classification -------------------------------------------------------------------


def test_pad_examples_pads_dynamically():
    items = [
        {"input_ids": [2, 7, 3], "labels": 1},
        {"input_ids": torch.tensor([2, 7, 8, 9, 3]), "labels": torch.tensor(0)},
    ]
    batch = pad_examples(items, pad_token_id=0)
    assert batch["input_ids"].tolist() == [[2, 7, 3, 0, 0], [2, 7, 8, 9, 3]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]]
    assert batch["token_type_ids"].tolist() == [[0] * 5, [0] * 5]
    assert batch["labels"].tolist() == [1, 0]
    tokens = pad_examples(
        [{"input_ids": [2, 7, 3], "labels": [-100, 4, -100]}, {"input_ids": [2, 3], "labels": [-100, -100]}]
    )
    assert tokens["labels"].tolist() == [[-100, 4, -100], [-100, -100, -100]], "token labels pad with -100"


def test_pad_examples_errors_are_clear():
    with pytest.raises(ValueError, match="empty batch"):
        pad_examples([])
    with pytest.raises(ValueError, match=r"one number per example.*\(2, 2\)"):
        pad_examples([{"input_ids": [2, 3], "labels": [[0, 1], [1, 0]]}])
    with pytest.raises(ValueError, match="labels has 3 entries but input_ids has 2"):
        pad_examples([{"input_ids": [2, 3], "labels": [0, 1, 1]}])
    with pytest.raises(ValueError, match="more than max_length=3"):
        pad_examples([{"input_ids": [2, 5, 6, 3]}], max_length=3)
    with pytest.raises(KeyError, match="same keys"):
        pad_examples([{"input_ids": [2, 3], "labels": 1}, {"input_ids": [2, 3]}])
    with pytest.raises(KeyError, match="does not know"):
        pad_examples([{"input_ids": [2, 3], "text": [1, 2]}])
    with pytest.raises(ValueError, match="token_type_ids has shape"):
        pad_examples([{"input_ids": [2, 3], "token_type_ids": [0]}])


def test_text_classification_dataset_and_collator(tok):
    texts, labels = world.sentiment_reviews("validation")
    ds = TextClassificationDataset(texts, labels, tok, max_length=32)
    assert len(ds) == len(texts)
    item = ds[0]
    assert set(item) == {"input_ids", "token_type_ids", "labels"} and item["labels"].item() == labels[0]
    batch = next(iter(DataLoader(ds, batch_size=16, collate_fn=DynamicPaddingCollator(tok))))
    longest = max(len(ds[n]["input_ids"]) for n in range(16))
    assert batch["input_ids"].shape == (16, longest) and batch["labels"].shape == (16,)
    assert (
        max(len(x) for x in TextClassificationDataset(["word " * 100], [0], tok, max_length=10).input_ids)
        == 10
    )
    with pytest.raises(ValueError, match="2 texts but 1 labels"):
        TextClassificationDataset(["a", "b"], [0], tok)
    with pytest.raises(ValueError, match="texts is empty"):
        TextClassificationDataset([], [], tok)
    with pytest.raises(ValueError, match="text 1 is empty"):
        TextClassificationDataset(["good", "  "], [0, 1], tok)
    with pytest.raises(ValueError, match="class ids"):
        TextClassificationDataset(["good"], [-1], tok)
    with pytest.raises(ValueError, match="more than max_length=5"):
        DynamicPaddingCollator(tok, max_length=5)([ds[0]])
