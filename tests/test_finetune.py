"""Fine-tuning a classifier: inputs and pairs encoded as BERT reads them, the best epoch kept, and the
headline of the course world: with few labels, pretraining pays."""

from __future__ import annotations

import pytest
import torch

from course_utils import world
from course_utils.finetune import (
    classification_loader,
    encode_inputs,
    fine_tune_classifier,
    sentence_features,
)
from course_utils.model import (
    BertConfig,
    BertForPreTraining,
    BertForSequenceClassification,
    BertForTokenClassification,
)
from course_utils.pretrain import PRETRAINED_DIR
from course_utils.spans import NER_TAGS, fine_tune_tagger
from course_utils.tokenizer import load_tokenizer
from course_utils.train import accuracy

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer(PRETRAINED_DIR)


def test_a_pair_is_one_sequence_with_two_segments(tokenizer):
    (item,) = encode_inputs(tokenizer, [("Anna gave Ben a kite.", "Ben got a kite from Anna.")], [0])
    tokens = tokenizer.convert_ids_to_tokens(item["input_ids"])
    assert tokens[0] == "[CLS]" and tokens.count("[SEP]") == 2 and tokens[-1] == "[SEP]"
    first_sep = tokens.index("[SEP]")
    assert item["token_type_ids"] == [0] * (first_sep + 1) + [1] * (len(tokens) - first_sep - 1)
    (single,) = encode_inputs(tokenizer, ["The soup was not bad."], [1])
    assert set(single["token_type_ids"]) == {0} and single["labels"] == 1


def test_encode_inputs_rejects_mismatched_labels(tokenizer):
    with pytest.raises(ValueError, match="one label per input"):
        encode_inputs(tokenizer, ["a", "b"], [0])


def test_fine_tuning_keeps_the_best_epoch(tokenizer):
    texts, labels = world.sentiment_reviews("train")
    torch.manual_seed(0)
    config = BertConfig.course_small(vocab_size=len(tokenizer), num_hidden_layers=1, num_labels=2)
    model = BertForSequenceClassification(config)
    result = fine_tune_classifier(
        model, tokenizer, (texts[:64], labels[:64]), (texts[64:128], labels[64:128]), epochs=4, lr=1e-3
    )
    assert len(result["validation_accuracy"]) == 4
    best = max(result["validation_accuracy"])
    assert result["validation_accuracy"][result["best_epoch"] - 1] == best
    loader = classification_loader(tokenizer, texts[64:128], labels[64:128], batch_size=16)
    assert accuracy(model, loader) == pytest.approx(best)  # the kept weights are that epoch's


def test_fine_tuning_can_validate_every_few_epochs(tokenizer):
    texts, labels = world.sentiment_reviews("train")
    torch.manual_seed(0)
    config = BertConfig.course_small(vocab_size=len(tokenizer), num_hidden_layers=1, num_labels=2)
    model = BertForSequenceClassification(config)
    data, val = (texts[:64], labels[:64]), (texts[64:128], labels[64:128])
    result = fine_tune_classifier(model, tokenizer, data, val, epochs=6, lr=1e-3, eval_every_epochs=3)
    assert len(result["validation_accuracy"]) == 2  # after epochs 3 and 6
    assert result["best_epoch"] in (3, 6)
    loader = classification_loader(tokenizer, *val, batch_size=16)
    assert accuracy(model, loader) == pytest.approx(max(result["validation_accuracy"]))
    for bad in (0, 1.5, True):
        with pytest.raises(ValueError, match="eval_every_epochs"):
            fine_tune_classifier(model, tokenizer, data, val, epochs=1, eval_every_epochs=bad)


def test_cls_only_fine_tuning_takes_the_same_steps(tokenizer):
    """Without dropout, computing the last layer only at [CLS] changes no loss, only the work."""
    import transformers

    texts, labels = world.sentiment_reviews("train")
    data, val = (texts[:64], labels[:64]), (texts[64:128], labels[64:128])
    config = BertConfig.course_small(
        vocab_size=len(tokenizer), num_labels=2, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0
    )
    asked = []  # what each training forward was asked for

    class Recording(BertForSequenceClassification):
        def forward(self, *args, cls_only=False, **kwargs):
            if self.training:
                asked.append(cls_only)
            return super().forward(*args, cls_only=cls_only, **kwargs)

    runs = {}
    for cls_only in (False, True):
        torch.manual_seed(0)
        model = Recording(config)
        runs[cls_only] = fine_tune_classifier(
            model, tokenizer, data, val, epochs=2, lr=1e-3, cls_only=cls_only
        )
    assert asked == [False] * 4 + [True] * 4  # 2 epochs of 2 batches each, without then with the skip
    full, skipped = runs[False]["history"], runs[True]["history"]
    assert len(full.train_loss) == len(skipped.train_loss) == 4
    assert skipped.train_loss == pytest.approx(full.train_loss, rel=1e-4)
    assert runs[True]["validation_accuracy"] == runs[False]["validation_accuracy"]
    with pytest.raises(TypeError, match="cls_only=True needs the course's BertForSequenceClassification"):
        hf = transformers.BertForSequenceClassification(config.to_hf())
        fine_tune_classifier(hf, tokenizer, data, val, epochs=1, cls_only=True)


def test_sentence_features_leave_padding_out(tokenizer):
    encoder = BertForPreTraining.from_pretrained(PRETRAINED_DIR).bert
    short = "The soup was good."
    alone = sentence_features(encoder, tokenizer, [short])
    beside_a_long_one = sentence_features(
        encoder, tokenizer, [short, short + " " + "The staff were kind. " * 5]
    )
    torch.testing.assert_close(alone[0], beside_a_long_one[0], atol=1e-5, rtol=1e-5)
    assert alone.shape == (1, 2 * encoder.config.hidden_size)


def test_with_200_labelled_pairs_pretraining_pays(tokenizer):
    """The data card's headline on the sentence-pair task: pretrained far above random initialisation."""
    rows = world.pair_examples("train")[:200]
    train = ([(r["premise"], r["hypothesis"]) for r in rows], [r["label"] for r in rows])
    val_rows = world.pair_examples("validation")[:300]
    val = ([(r["premise"], r["hypothesis"]) for r in val_rows], [r["label"] for r in val_rows])
    scores = {}
    for name in ("pretrained", "random init"):
        torch.manual_seed(0)
        if name == "pretrained":
            model = BertForSequenceClassification.from_pretrained(PRETRAINED_DIR, num_labels=3)
        else:
            model = BertForSequenceClassification(
                BertConfig.course_small(vocab_size=len(tokenizer), num_labels=3)
            )
        result = fine_tune_classifier(model, tokenizer, train, val, epochs=20, lr=5e-4, device="cpu")
        scores[name] = max(result["validation_accuracy"])
    print(scores)
    assert scores["pretrained"] >= scores["random init"] + 0.15, scores


def test_with_50_labelled_ner_sentences_pretraining_pays(tokenizer):
    """The data card's headline on NER: with 50 labelled sentences, pretrained well above random init
    (validation entity F1 0.640 against 0.480 with the shipped checkpoint)."""
    train = world.ner_sentences("train")[:50]
    val = world.ner_sentences("validation")[:150]
    scores = {}
    for name in ("pretrained", "random init"):
        torch.manual_seed(0)
        if name == "pretrained":
            model = BertForTokenClassification.from_pretrained(PRETRAINED_DIR, num_labels=len(NER_TAGS))
        else:
            model = BertForTokenClassification(
                BertConfig.course_small(vocab_size=len(tokenizer), num_labels=len(NER_TAGS))
            )
        result = fine_tune_tagger(
            model, tokenizer, train, val, epochs=30, lr=5e-4, eval_every_epochs=5, device="cpu"
        )
        scores[name] = max(result["validation_f1"])
    print(scores)
    assert scores["pretrained"] >= scores["random init"] + 0.1, scores
