"""Span tasks: subword labels, answer spans, decoding, entity F1, fine-tuning, and the BiLSTM baselines."""

from __future__ import annotations

import pytest
import torch
from helpers import tiny_bert_config

from course_utils import world
from course_utils.classic import BiLSTMTagger, LSTMSpanExtractor
from course_utils.model import BertForPreTraining, BertForQuestionAnswering, BertForTokenClassification
from course_utils.pretrain import PRETRAINED_DIR
from course_utils.spans import (
    NER_TAGS,
    align_labels,
    best_span,
    encode_questions,
    encode_tagged,
    entity_scores,
    fine_tune_qa,
    fine_tune_tagger,
    predict_answers,
    predict_tags,
    qa_evaluation,
    qa_loader,
    tagged_loader,
    tagging_scores,
    token_states,
)
from course_utils.tokenizer import load_tokenizer

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer(PRETRAINED_DIR)


def tiny_tagger(tokenizer, seed: int = 0) -> BertForTokenClassification:
    torch.manual_seed(seed)
    return BertForTokenClassification(tiny_bert_config(len(tokenizer), 128, num_labels=len(NER_TAGS)))


def tiny_reader(tokenizer, seed: int = 0) -> BertForQuestionAnswering:
    torch.manual_seed(seed)
    return BertForQuestionAnswering(tiny_bert_config(len(tokenizer), 128, num_labels=2))


# ----------------------------------------------------------------------------------------------------
# Named entities
# ----------------------------------------------------------------------------------------------------


def test_a_word_cut_into_subwords_has_its_tag_on_the_first_only(tokenizer):
    words, tags = ["Mia", "visited", "Riverbankton", "."], ["B-PER", "O", "B-LOC", "O"]
    (item,) = encode_tagged(tokenizer, [(words, tags)])
    tokens = tokenizer.convert_ids_to_tokens(item["input_ids"])
    assert tokens == ["[CLS]", "mia", "visited", "river", "##b", "##ank", "##ton", ".", "[SEP]"]
    per, loc, o = NER_TAGS.index("B-PER"), NER_TAGS.index("B-LOC"), NER_TAGS.index("O")
    assert item["labels"] == [-100, per, o, loc, -100, -100, -100, o, -100]


def test_align_labels_by_hand():
    assert align_labels([None, 0, 1, 1, 1, 2, None], [5, 6, 7]) == [-100, 5, 6, -100, -100, 7, -100]
    assert align_labels([None, None], []) == [-100, -100]


def test_entity_f1_counts_only_exact_entities():
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "I-ORG", "I-ORG", "O"]]
    # Leo Chen -> Leo (partial: a miss), the town right, the organisation with the wrong type (a miss)
    predicted = [["B-PER", "O", "O", "B-LOC"], ["B-LOC", "I-LOC", "I-LOC", "O"]]
    scores = entity_scores(gold, predicted)
    assert (scores["gold"], scores["predicted"], scores["correct"]) == (3, 3, 1)
    assert scores["precision"] == scores["recall"] == scores["f1"] == pytest.approx(1 / 3)
    # one entity found and one made up: precision 1/2, recall 1/1
    scores = entity_scores([["B-PER", "O"]], [["B-PER", "B-LOC"]])
    assert (scores["precision"], scores["recall"]) == (0.5, 1.0)
    assert scores["f1"] == pytest.approx(2 / 3)
    assert entity_scores([["O", "O"]], [["O", "O"]])["f1"] == 1.0  # nothing to find, nothing found
    assert entity_scores([["B-PER"]], [["O"]])["f1"] == 0.0


@pytest.mark.parametrize(
    "sentences, match",
    [
        ([(["Mia", "ran"], ["B-PER"])], "sentence 0 has 2 words but 1 tags"),
        ([(["Mia", "ran"], ["B-PER", "B-DOG"])], r"tag 'B-DOG' is not one of"),
        ([("Mia ran", ["B-PER", "O"])], "words must be a non-empty list"),
        ([(["Mia", "ran"], "B-PER O")], "2 words but a string"),
        ([], "non-empty list of \\(words, tags\\) pairs"),
    ],
)
def test_bad_sentences_say_what_is_wrong(tokenizer, sentences, match):
    with pytest.raises((ValueError, TypeError), match=match):
        encode_tagged(tokenizer, sentences)


def test_entity_scores_reject_lists_that_do_not_line_up():
    with pytest.raises(ValueError, match="sentence 0: 2 gold tags but 1 predicted"):
        entity_scores([["O", "O"]], [["O"]])


def test_a_tiny_tagger_learns_and_keeps_its_best_epoch(tokenizer):
    train, val = world.ner_sentences("train")[:128], world.ner_sentences("validation")[:64]
    model = tiny_tagger(tokenizer)
    result = fine_tune_tagger(model, tokenizer, train, val, epochs=4, lr=1e-2, batch_size=16, device="cpu")
    history = result["history"]
    assert sum(history.train_loss[-8:]) / 8 < 0.5 * sum(history.train_loss[:8]) / 8
    best = max(result["validation_f1"])
    assert best > 0.3  # tagging everything "O" scores 0
    assert result["validation_f1"][result["best_epoch"] - 1] == best
    # the kept weights are the best epoch's, and both decoding paths agree
    assert tagging_scores(model, tagged_loader(tokenizer, val))["f1"] == pytest.approx(best)
    predicted = predict_tags(model, tokenizer, [words for words, _ in val])
    assert [len(p) for p in predicted] == [len(words) for words, _ in val]
    assert entity_scores([tags for _, tags in val], predicted)["f1"] == pytest.approx(best)


def test_eval_every_epochs_must_be_positive(tokenizer):
    sentences = world.ner_sentences("train")[:8]
    with pytest.raises(ValueError, match="eval_every_epochs=0"):
        fine_tune_tagger(
            tiny_tagger(tokenizer), tokenizer, sentences, sentences, epochs=1, eval_every_epochs=0
        )


# ----------------------------------------------------------------------------------------------------
# Question answering
# ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("split", world.SPLITS)
def test_every_answer_survives_the_trip_to_tokens_and_back(tokenizer, split):
    examples = world.qa_examples(split)
    items, offsets = encode_questions(tokenizer, examples, max_length=128)
    for item, offs, ex in zip(items, offsets, examples):
        start, end = item["start_positions"], item["end_positions"]
        assert 0 < start <= end, "every course passage fits in 128 tokens"
        assert offs[start] is not None and offs[end] is not None  # both ends in the context
        assert ex["context"][offs[start][0] : offs[end][1]] == ex["answer_text"]


def test_an_answer_cut_off_points_to_cls(tokenizer):
    ex = world.qa_examples("train")[0]
    late = {**ex, "context": "It rained. " * 40 + ex["context"], "answer_start": ex["answer_start"] + 11 * 40}
    items, offsets = encode_questions(tokenizer, [late], max_length=64)
    assert len(items[0]["input_ids"]) == 64
    assert (items[0]["start_positions"], items[0]["end_positions"]) == (0, 0)
    assert offsets[0][0] is None  # [CLS] is not part of the context


def test_best_span_never_ends_before_it_starts():
    gen = torch.Generator().manual_seed(0)
    for _ in range(200):
        T = int(torch.randint(2, 40, (1,), generator=gen))
        allowed = torch.rand(T, generator=gen) < 0.7
        allowed[int(torch.randint(T, (1,), generator=gen))] = True
        start, end = best_span(torch.randn(T, generator=gen), torch.randn(T, generator=gen), allowed, 5)
        assert start <= end < start + 5 and allowed[start] and allowed[end]
    # the best start (token 3) comes after the best end (token 1): the best valid pair is chosen instead
    start_scores = torch.tensor([0.0, 1.0, 0.0, 9.0, 0.0])
    end_scores = torch.tensor([0.0, 9.0, 0.0, 0.0, 2.0])
    assert best_span(start_scores, end_scores, torch.ones(5, dtype=torch.bool)) == (3, 4)


def test_bad_questions_say_what_is_wrong(tokenizer):
    ex = world.qa_examples("train")[0]
    with pytest.raises(ValueError, match="does not occur in the context"):
        encode_questions(tokenizer, [{**ex, "answer_text": "a purple giraffe"}])
    with pytest.raises(ValueError, match=r"is not at answer_start=0 .* \(it occurs at"):
        encode_questions(tokenizer, [{**ex, "answer_start": 0}])
    with pytest.raises(ValueError, match="missing \\['answer_start'\\]"):
        encode_questions(tokenizer, [{k: v for k, v in ex.items() if k != "answer_start"}])
    with pytest.raises(ValueError, match="no token is allowed"):
        best_span(torch.zeros(3), torch.zeros(3), torch.zeros(3, dtype=torch.bool))


def test_a_tiny_reader_learns_and_keeps_its_best_epoch(tokenizer):
    train, val = world.qa_examples("train")[:192], world.qa_examples("validation")[:48]
    model = tiny_reader(tokenizer)
    result = fine_tune_qa(model, tokenizer, train, val, epochs=5, lr=1e-2, batch_size=16, device="cpu")
    losses = result["history"].train_loss
    assert sum(losses[-6:]) / 6 < 0.8 * sum(losses[:6]) / 6
    best = max(result["validation_f1"])
    assert result["validation_f1"][result["best_epoch"] - 1] == best
    items, offsets = encode_questions(tokenizer, val)
    scored = qa_evaluation(model, qa_loader(tokenizer, items), val, offsets)
    assert scored["f1"] == pytest.approx(best)  # the kept weights are the best epoch's
    answers = predict_answers(
        model, tokenizer, [{"question": e["question"], "context": e["context"]} for e in val]
    )
    assert answers == scored["answers"]
    assert all(a and a in e["context"] for a, e in zip(answers, val))


# ----------------------------------------------------------------------------------------------------
# Frozen features and the BiLSTM baselines
# ----------------------------------------------------------------------------------------------------


def test_token_states_leave_padding_out(tokenizer):
    encoder = BertForPreTraining.from_pretrained(PRETRAINED_DIR).bert
    short, long = world.ner_sentences("validation")[:2]
    long = (long[0] * 3, long[1] * 3)
    alone = token_states(encoder, tagged_loader(tokenizer, [short]))
    beside = token_states(encoder, tagged_loader(tokenizer, [short, long]))
    assert alone[0].shape == (
        len(encode_tagged(tokenizer, [short])[0]["input_ids"]),
        encoder.config.hidden_size,
    )
    torch.testing.assert_close(alone[0], beside[0], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("make", [lambda V: BiLSTMTagger(V, 8, 8, 7), lambda V: LSTMSpanExtractor(V, 8, 8)])
def test_the_bilstms_ignore_padding(tokenizer, make):
    torch.manual_seed(0)
    model = make(len(tokenizer)).eval()
    items = encode_tagged(tokenizer, world.ner_sentences("validation")[:2])
    batch = next(iter(tagged_loader(tokenizer, world.ner_sentences("validation")[:2])))
    n = len(items[0]["input_ids"])
    alone = model(torch.tensor([items[0]["input_ids"]]))
    together = model(batch["input_ids"], batch["attention_mask"], batch["token_type_ids"])
    field = "logits" if isinstance(model, BiLSTMTagger) else "start_logits"
    torch.testing.assert_close(alone[field][0], together[field][0, :n], atol=1e-5, rtol=1e-5)


def test_the_bilstms_train_with_the_span_functions(tokenizer):
    torch.manual_seed(0)
    sentences, val = world.ner_sentences("train")[:64], world.ner_sentences("validation")[:64]
    model = BiLSTMTagger(len(tokenizer), 16, 16, 7)
    result = fine_tune_tagger(model, tokenizer, sentences, val, epochs=12, lr=2e-2, batch_size=8)
    losses = result["history"].train_loss
    assert sum(losses[-8:]) < 0.7 * sum(losses[:8])
    assert max(result["validation_f1"]) > 0.1  # tagging everything "O" scores 0
    examples = world.qa_examples("train")[:64]
    result = fine_tune_qa(
        LSTMSpanExtractor(len(tokenizer), 16, 16), tokenizer, examples, examples, epochs=4, lr=1e-2
    )
    losses = result["history"].train_loss
    assert losses[-1] < losses[0]
    with pytest.raises(ValueError, match="labels have shape"):
        BiLSTMTagger(len(tokenizer), 8, 8, 7)(
            torch.ones(2, 3, dtype=torch.long), labels=torch.zeros(2, 4).long()
        )
