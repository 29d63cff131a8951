"""Bad input to the data pipeline (masking, NSP pairs, datasets, collators, tokenizer): a table of cases.

Each row of ``CASES`` is ``(id, call, error type, phrase the message must contain)``; adding a case is
one line. ``BEHAVIOUR`` holds input that must not raise but must be handled right (each call asserts).
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest
import torch

from course_utils.data import (
    DynamicPaddingCollator,
    MlmMasking,
    PretrainingCollator,
    PretrainingDataset,
    TextClassificationDataset,
    make_nsp_pairs,
    mask_tokens,
    pad_examples,
)
from course_utils.tokenizer import learn_wordpiece_vocab, load_tokenizer, train_wordpiece

IDS = torch.tensor([[2, 10, 11, 12, 3, 0]])
DOCS = [["a b.", "c d.", "e f."], ["g h.", "i j."]]
ITEM = {"input_ids": [2, 7, 3], "labels": 1}


@functools.cache
def tok():
    return load_tokenizer()


def mask(ids=IDS, **kwargs):
    settings = {"mask_token_id": 4, "vocab_size": 2000, "special_ids": (0, 1, 2, 3, 4), **kwargs}
    return mask_tokens(ids, **settings)


def nsp(documents=DOCS, **kwargs):
    return make_nsp_pairs(documents, **{"seed": 0, **kwargs})


def folder(tmp: Path, text: str | None) -> Path:
    """A folder holding ``tokenizer.json`` with ``text`` (no file when ``None``)."""
    tmp.mkdir(parents=True, exist_ok=True)
    if text is not None:
        (tmp / "tokenizer.json").write_text(text, encoding="utf-8")
    return tmp


# fmt: off
CASES = [
    # --- MLM masking: settings -----------------------------------------------------------------------
    ("mask-vocab-zero", lambda: mask(vocab_size=0), ValueError, "vocab_size must be a positive int"),
    ("mask-vocab-float", lambda: mask(vocab_size=2000.0), ValueError, "vocab_size must be a positive int"),
    ("mask-vocab-too-small", lambda: mask(vocab_size=4), ValueError, "outside the vocabulary [0, 4)"),
    ("mask-prob-nan", lambda: mask(mlm_probability=float("nan")), ValueError, "mlm_probability"),
    ("mask-prob-bool", lambda: mask(mlm_probability=True), ValueError, "mlm_probability"),
    ("mask-prob-zero", lambda: mask(mlm_probability=0.0), ValueError, "in (0, 1]"),
    ("mask-prob-above-1", lambda: mask(mlm_probability=1.5), ValueError, "in (0, 1]"),
    ("mask-prob-string", lambda: mask(mlm_probability="0.15"), ValueError, "mlm_probability"),
    ("mask-id-bool", lambda: MlmMasking(True, 2000, (0,)), ValueError, "mask_token_id must be an int"),
    ("mask-id-none", lambda: MlmMasking(None, 2000, (0,)), ValueError, "mask_token_id must be an int"),
    ("mask-id-negative", lambda: MlmMasking(-1, 2000, (0,)), ValueError, "mask_token_id: token id -1"),
    ("special-ids-none", lambda: MlmMasking(4, 2000, None), TypeError, "special_ids must be"),
    ("special-ids-strings", lambda: MlmMasking(4, 2000, ["[PAD]"]), TypeError, "special_ids must be"),
    ("special-ids-float", lambda: MlmMasking(4, 2000, [0.5]), TypeError, "special_ids must be"),
    ("special-ids-out-of-range", lambda: MlmMasking(4, 10, [0, 12]), ValueError, "special_ids: token id 12"),
    ("special-ids-all", lambda: MlmMasking(0, 3, [0, 1, 2]), ValueError, "every id is special"),
    # --- MLM masking: the ids --------------------------------------------------------------------------
    ("mask-ids-list", lambda: mask([2, 10, 3]), TypeError, "must be a torch.Tensor"),
    ("mask-ids-float", lambda: mask(IDS.float()), TypeError, "integer ids"),
    ("mask-ids-bool", lambda: mask(IDS > 3), TypeError, "integer ids"),
    ("mask-ids-out-of-range", lambda: mask(torch.tensor([2, 2500])), ValueError, "len(tokenizer)"),
    ("mask-ids-negative", lambda: mask(torch.tensor([2, -100])), ValueError, "token id -100"),
    ("mask-generator-int", lambda: mask(generator=0), TypeError, "torch.Generator().manual_seed"),
    # --- NSP pairs -------------------------------------------------------------------------------------
    ("nsp-seed-none", lambda: nsp(seed=None), ValueError, "seed=None must be a non-negative integer"),
    ("nsp-seed-negative", lambda: nsp(seed=-1), ValueError, "seed=-1"),
    ("nsp-seed-float", lambda: nsp(seed=1.5), ValueError, "seed=1.5"),
    ("nsp-empty-corpus", lambda: nsp([]), ValueError, "documents is empty"),
    ("nsp-one-string", lambda: nsp("a b. c d."), TypeError, "list of documents"),
    ("nsp-document-string", lambda: nsp(["a b.", "c d."]), TypeError, "LIST of sentences"),
    ("nsp-document-int", lambda: nsp([["a.", "b."], 3]), TypeError, "documents[1] is int"),
    ("nsp-single-sentences", lambda: nsp([["a."], ["b."]]), ValueError, "2 or more sentences"),
    ("nsp-one-pair-only", lambda: nsp([["a.", "b."]]), ValueError, "cannot make NotNext pairs"),
    ("nsp-sentence-int", lambda: nsp([["a.", 7, "c."], ["d.", "e."]]), TypeError, "documents[0][1] is int"),
    ("nsp-sentence-none", lambda: nsp([["a.", "b."], ["d.", None]]), TypeError, "documents[1][1] is NoneType"),
    ("nsp-sentence-blank", lambda: nsp([["a.", "  "], ["d.", "e."]]), ValueError, "documents[0][1] is blank"),
    ("nsp-fraction-nan", lambda: nsp(same_document_fraction=float("nan")), ValueError, "same_document_fraction"),
    ("nsp-fraction-string", lambda: nsp(same_document_fraction="0.2"), ValueError, "same_document_fraction"),
    ("nsp-repeats", lambda: nsp([["a.", "b."], ["a.", "b."]]), ValueError, "repeats itself"),
    # --- datasets ------------------------------------------------------------------------------------
    ("pretrain-max-length-4", lambda: PretrainingDataset(DOCS, tok(), max_length=4), ValueError, "at least 5"),
    ("pretrain-max-length-str", lambda: PretrainingDataset(DOCS, tok(), max_length="64"), ValueError, "max_length='64'"),
    ("pretrain-no-tokenizer", lambda: PretrainingDataset(DOCS, None), TypeError, "tokenizer must be"),
    ("pretrain-empty-docs", lambda: PretrainingDataset([], tok()), ValueError, "documents is empty"),
    ("classify-texts-none", lambda: TextClassificationDataset(None, [0], tok()), TypeError, "texts must be a list"),
    ("classify-one-string", lambda: TextClassificationDataset("hi there", [0], tok()), TypeError, "not one string"),
    ("classify-empty", lambda: TextClassificationDataset([], [], tok()), ValueError, "texts is empty"),
    ("classify-labels-none", lambda: TextClassificationDataset(["a"], None, tok()), TypeError, "labels must be a list"),
    ("classify-length-mismatch", lambda: TextClassificationDataset(["a", "b"], [0], tok()), ValueError, "2 texts but 1 labels"),
    ("classify-blank-text", lambda: TextClassificationDataset(["a", " "], [0, 1], tok()), ValueError, "text 1 is empty"),
    ("classify-text-nan", lambda: TextClassificationDataset(["a", float("nan")], [0, 1], tok()), ValueError, "text 1"),
    ("classify-label-negative", lambda: TextClassificationDataset(["a"], [-1], tok()), ValueError, "label 0 is -1"),
    ("classify-label-string", lambda: TextClassificationDataset(["a"], ["pos"], tok()), ValueError, "load_csv"),
    ("classify-label-float", lambda: TextClassificationDataset(["a"], [1.0], tok()), ValueError, "label 0 is 1.0"),
    ("classify-max-length-2", lambda: TextClassificationDataset(["a"], [0], tok(), max_length=2), ValueError, "at least 3"),
    ("classify-no-tokenizer", lambda: TextClassificationDataset(["a"], [0], "bert"), TypeError, "tokenizer must be"),
    # --- padding and collators ---------------------------------------------------------------------------
    ("pad-empty-batch", lambda: pad_examples([]), ValueError, "empty batch"),
    ("pad-one-dict", lambda: pad_examples({"input_ids": [[2, 3]]}), TypeError, "list of examples"),
    ("pad-item-list", lambda: pad_examples([[2, 7, 3]]), TypeError, "item 0 is a list"),
    ("pad-no-input-ids", lambda: pad_examples([{"ids": [2, 3]}]), KeyError, "needs 'input_ids'"),
    ("pad-keys-differ", lambda: pad_examples([ITEM, {"input_ids": [2, 3]}]), KeyError, "same keys"),
    ("pad-empty-item", lambda: pad_examples([{"input_ids": []}]), ValueError, "item 0 has no tokens"),
    ("pad-ids-2d", lambda: pad_examples([{"input_ids": [[2, 3]]}]), ValueError, "must be 1-D"),
    ("pad-ids-float", lambda: pad_examples([{"input_ids": [2.0, 3.0]}]), TypeError, "must hold integers"),
    ("pad-ids-strings", lambda: pad_examples([{"input_ids": ["[CLS]", "hi"]}]), TypeError, "item 0: input_ids"),
    ("pad-id-none", lambda: pad_examples([ITEM], pad_token_id=None), TypeError, "pad_token_id"),
    ("pad-max-length-str", lambda: pad_examples([ITEM], max_length="3"), ValueError, "max_length='3'"),
    ("pad-too-long", lambda: pad_examples([ITEM], max_length=2), ValueError, "more than max_length=2"),
    ("pad-labels-length", lambda: pad_examples([{"input_ids": [2, 3], "labels": [0, 1, 2]}]), ValueError, "labels has 3 entries"),
    ("pad-unknown-key", lambda: pad_examples([{"input_ids": [2, 3], "text": 5}]), KeyError, "does not know"),
    ("collator-no-tokenizer", lambda: DynamicPaddingCollator(None), TypeError, "tokenizer must be"),
    ("collator-max-length-zero", lambda: DynamicPaddingCollator(tok(), max_length=0), ValueError, "max_length=0"),
    ("pretrain-collator-no-tokenizer", lambda: PretrainingCollator(None), TypeError, "tokenizer must be"),
    ("pretrain-collator-prob", lambda: PretrainingCollator(tok(), mlm_probability=2), ValueError, "mlm_probability"),
    ("pretrain-collator-seed", lambda: PretrainingCollator(tok(), seed="1"), ValueError, "seed='1'"),
    ("pretrain-collator-no-nsp", lambda: PretrainingCollator(tok())([ITEM]), KeyError, "next_sentence_label"),
    # --- tokenizer -----------------------------------------------------------------------------------
    ("load-missing-folder", lambda: load_tokenizer("no/such/folder"), FileNotFoundError, "no such folder"),
    ("load-folder-without-json", lambda: load_tokenizer(folder(Path("_bad_tok/empty"), None)), FileNotFoundError, "no tokenizer.json"),
    ("load-the-file-itself", lambda: load_tokenizer(folder(Path("_bad_tok/file"), "{}") / "tokenizer.json"), NotADirectoryError, "the folder"),
    ("load-corrupt-json", lambda: load_tokenizer(folder(Path("_bad_tok/corrupt"), '{"model": ')), ValueError, "tokenizer.json"),
    ("load-foreign-json", lambda: load_tokenizer(folder(Path("_bad_tok/foreign"), '{"a": 1}')), ValueError, "tokenizer.json"),
    ("load-int", lambda: load_tokenizer(5), TypeError, "directory must be"),
    ("train-empty", lambda: train_wordpiece([]), ValueError, "texts is empty"),
    ("train-blank", lambda: train_wordpiece(["", "  "]), ValueError, "texts is empty"),
    ("train-none", lambda: train_wordpiece(None), TypeError, "texts must be"),
    ("train-one-string", lambda: train_wordpiece("hello world"), ValueError, "not one string"),
    ("train-non-string", lambda: train_wordpiece(["hello", 3.5]), TypeError, "texts[1] is float"),
    ("train-vocab-small", lambda: train_wordpiece(["hello world"], vocab_size=50), ValueError, "vocab_size=50 is too small"),
    ("train-vocab-bool", lambda: train_wordpiece(["hello"], vocab_size=True), ValueError, "vocab_size must be an int"),
    ("train-min-freq-zero", lambda: train_wordpiece(["hello"], min_frequency=0), ValueError, "min_frequency"),
    ("train-max-length-zero", lambda: train_wordpiece(["hello"], model_max_length=0), ValueError, "model_max_length=0"),
    ("train-method", lambda: train_wordpiece(["hello"], method="bpe"), ValueError, "method='bpe'"),
    ("learn-vocab-small", lambda: learn_wordpiece_vocab({"hello": 3}, vocab_size=20), ValueError, "vocab_size=20 is too small"),
    ("learn-word-list", lambda: learn_wordpiece_vocab(["hello", "world"], 500), TypeError, "word_counts must be"),
    ("learn-count-zero", lambda: learn_wordpiece_vocab({"hello": 0}, 500), ValueError, "'hello'"),
    ("learn-empty-word", lambda: learn_wordpiece_vocab({"": 2}, 500), ValueError, "empty word"),
]
# fmt: on


@pytest.mark.parametrize(("call", "error", "phrase"), [pytest.param(*c[1:], id=c[0]) for c in CASES])
def test_bad_input_gets_a_clear_error(call, error, phrase, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the tokenizer cases write their folders here
    with pytest.raises(error) as info:
        call()
    assert phrase in str(info.value)


def _mask_never_drawn_as_random():
    # [MASK] (id 4) is not in special_ids: it must still never be a "random" replacement. With every
    # token chosen, 80 % become [MASK]; a random draw of id 4 would push that share to 82 %.
    ids = torch.full((200_000,), 1)
    masked, _ = mask_tokens(
        ids, mask_token_id=4, vocab_size=6, special_ids=[0], mlm_probability=1.0,
        generator=torch.Generator().manual_seed(0),
    )  # fmt: skip
    share = (masked == 4).float().mean().item()
    assert abs(share - 0.8) < 0.005, share


def _input_mask_tokens_never_chosen():
    masked, labels = mask_tokens(torch.full((1000,), 4), mask_token_id=4, vocab_size=6, special_ids=[0])
    assert (labels == -100).all()


def _numpy_labels_are_class_ids():
    ds = TextClassificationDataset(["a b", "c"], list(np.array([1, 0])), tok())
    assert ds.labels == [1, 0]


def _empty_ids_mask_to_empty():
    masked, labels = mask(torch.zeros(2, 0, dtype=torch.long))
    assert masked.shape == labels.shape == (2, 0)


# fmt: off
BEHAVIOUR = [
    ("mask-not-in-special-ids", _mask_never_drawn_as_random),
    ("mask-in-input-not-chosen", _input_mask_tokens_never_chosen),
    ("classify-numpy-labels", _numpy_labels_are_class_ids),
    ("mask-empty-ids", _empty_ids_mask_to_empty),
]
# fmt: on


@pytest.mark.parametrize("check", [pytest.param(c, id=i) for i, c in BEHAVIOUR])
def test_odd_but_valid_input_is_handled(check):
    check()
