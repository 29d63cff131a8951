"""Tests of the course WordPiece tokenizer: training, the shipped files, pairs, truncation, padding."""

from __future__ import annotations

import re

import pytest
from transformers import AutoTokenizer, PreTrainedTokenizerFast

from course_utils import world
from course_utils.tokenizer import (
    SHIPPED_VOCAB_SIZE,
    SPECIAL_TOKENS,
    build_course_tokenizer,
    learn_wordpiece_vocab,
    load_tokenizer,
    save_tokenizer,
    train_wordpiece,
)

TOY = ["the cat sat on the mat", "the dog sat on the log", "a cat and a dog", "the mat and the log"] * 3


@pytest.fixture(scope="module")
def tok():
    return load_tokenizer()


def test_shipped_tokenizer_loads_offline_with_fixed_special_ids(tok):
    assert isinstance(tok, PreTrainedTokenizerFast)
    assert len(tok) == SHIPPED_VOCAB_SIZE
    assert [tok.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS] == [0, 1, 2, 3, 4]
    ids = (tok.pad_token_id, tok.unk_token_id, tok.cls_token_id, tok.sep_token_id, tok.mask_token_id)
    assert ids == (0, 1, 2, 3, 4)
    assert tok.model_max_length == 128


def test_shipped_tokenizer_equals_a_fresh_retrain(tok):
    fresh = build_course_tokenizer()
    assert fresh.get_vocab() == tok.get_vocab()
    sentence = "Mia walked to the windy harbor and waved at a ship!"
    assert fresh(sentence)["input_ids"] == tok(sentence)["input_ids"]


def test_training_is_deterministic_and_the_library_trainer_is_available():
    a, b = train_wordpiece(TOY, vocab_size=300), train_wordpiece(TOY, vocab_size=300)
    assert a.get_vocab() == b.get_vocab()
    lib = train_wordpiece(TOY, vocab_size=300, method="tokenizers")
    assert lib.tokenize("the cat") == ["the", "cat"]


def test_first_merges_by_hand():
    # pairs: (##e,##s) 9 and (##s,##t) 9 tie -> the alphabetically first wins; then (##es,##t) 9.
    counts = {"low": 5, "lower": 2, "newest": 6, "widest": 3}
    vocab = learn_wordpiece_vocab(counts, vocab_size=10_000, min_frequency=2)
    in_order = sorted(vocab, key=vocab.get)
    merges = [t for t in in_order if len(t.lstrip("#")) > 1 and t not in SPECIAL_TOKENS]
    assert merges[:2] == ["##es", "##est"]
    assert "low" in vocab and "newest" in vocab
    # min_frequency stops merges: "lower" occurs twice, so with 3 it is never whole
    assert "lower" not in learn_wordpiece_vocab(counts, vocab_size=10_000, min_frequency=3)


def test_common_words_are_whole_and_unknown_words_split(tok):
    for word in ("market", "walked", "apples", "riverton", "morning"):
        assert tok.tokenize(word) == [word]
    pieces = tok.tokenize("unbelievably")
    assert len(pieces) >= 2 and all(p.startswith("##") for p in pieces[1:])
    assert tok.decode(tok("unbelievably", add_special_tokens=False)["input_ids"]) == "unbelievably"
    assert tok.tokenize("Café") == ["cafe"], "lower case, accents stripped (as bert-base-uncased)"
    assert tok.tokenize("東") == ["[UNK]"], "a character never seen is unknown"
    # every word of the world's held-out texts is covered without [UNK]
    texts = world.english_texts("test")
    assert not any("[UNK]" in tok.tokenize(t) for t in texts)
    words = {w for t in texts for w in re.findall(r"[a-z]+", t.lower())}
    whole = sum(tok.tokenize(w) == [w] for w in words)
    assert whole / len(words) > 0.9


def test_pair_encoding_has_cls_sep_and_segment_ids(tok):
    enc = tok("Mia went home.", "She was tired.")
    tokens = tok.convert_ids_to_tokens(enc["input_ids"])
    assert tokens == ["[CLS]", "mia", "went", "home", ".", "[SEP]", "she", "was", "tired", ".", "[SEP]"]
    assert enc["token_type_ids"] == [0] * 6 + [1] * 5
    assert enc["attention_mask"] == [1] * 11
    single = tok("Mia went home.")
    assert tok.convert_ids_to_tokens(single["input_ids"]) == ["[CLS]", "mia", "went", "home", ".", "[SEP]"]
    assert single["token_type_ids"] == [0] * len(single["input_ids"])


def test_truncation_cuts_the_longer_sentence_first(tok):
    long = "Mia walked to the market and bought seven red apples from a farmer near the old gate."
    short = "It was cold."
    enc = tok(long, short, truncation="longest_first", max_length=12)
    tokens = tok.convert_ids_to_tokens(enc["input_ids"])
    assert len(tokens) == 12
    second = tokens[tokens.index("[SEP]") + 1 : -1]
    assert second == ["it", "was", "cold", "."], "the short sentence is kept whole"
    enc = tok(short, long, truncation="longest_first", max_length=12)
    tokens = tok.convert_ids_to_tokens(enc["input_ids"])
    assert tokens[1 : tokens.index("[SEP]")] == ["it", "was", "cold", "."], "also when it comes first"


def test_padding_to_max_length_and_to_the_longest(tok):
    enc = tok(["Mia ran.", "Leo walked to the park."], padding="max_length", max_length=10)
    assert [len(x) for x in enc["input_ids"]] == [10, 10]
    assert enc["input_ids"][0][-1] == tok.pad_token_id == 0
    assert enc["attention_mask"][0] == [1, 1, 1, 1, 1] + [0] * 5
    enc = tok(["Mia ran.", "Leo walked to the park."], padding=True)
    assert len(enc["input_ids"][0]) == len(enc["input_ids"][1]) == 8


def test_save_and_load_round_trip(tok, tmp_path):
    save_tokenizer(tok, tmp_path)
    sentence = ("Leo lost his glove near the fountain.", "Later Mia found it.")
    for loaded in (
        load_tokenizer(tmp_path),
        PreTrainedTokenizerFast.from_pretrained(str(tmp_path)),
        AutoTokenizer.from_pretrained(str(tmp_path)),
    ):
        assert loaded.get_vocab() == tok.get_vocab()
        assert dict(loaded(*sentence)) == dict(tok(*sentence))


def test_bad_arguments_are_clear_errors():
    with pytest.raises(ValueError, match="too small"):
        train_wordpiece(TOY, vocab_size=100)
    with pytest.raises(ValueError, match="empty"):
        train_wordpiece([])
    with pytest.raises(ValueError, match="empty"):
        train_wordpiece(["", "   "])
    with pytest.raises(ValueError, match="not one string"):
        train_wordpiece("the cat sat")
    with pytest.raises(ValueError, match="method"):
        train_wordpiece(TOY, vocab_size=300, method="bpe")
    with pytest.raises(FileNotFoundError, match="tokenizer.json"):
        load_tokenizer("no/such/dir")
