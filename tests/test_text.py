"""Tests of course_utils.text: tokenizer, vocabulary, stopwords, n-grams, padding."""

import pytest
import torch

from course_utils.text import STOPWORDS, Vocab, ngrams, pad_batch, remove_stopwords, simple_tokenize


def test_simple_tokenize_lowercases_and_splits_punctuation():
    assert simple_tokenize("Not bad, really!") == ["not", "bad", ",", "really", "!"]
    assert simple_tokenize("Don't STOP.") == ["don't", "stop", "."]
    assert simple_tokenize("   ") == []


def test_simple_tokenize_rejects_a_list():
    with pytest.raises(TypeError, match="expects a str"):
        simple_tokenize(["a", "b"])


def test_vocab_specials_frequency_order_and_roundtrip():
    tokens = simple_tokenize("I love dogs and dogs love snacks")
    vocab = Vocab.build([tokens])
    assert vocab.itos[:4] == ["<pad>", "<unk>", "<bos>", "<eos>"]
    assert (vocab.pad_id, vocab.unk_id, vocab.bos_id, vocab.eos_id) == (0, 1, 2, 3)
    # the two words seen twice come first, in order of first appearance
    assert vocab.itos[4:6] == ["love", "dogs"]
    ids = vocab.encode(tokens)
    assert ids[2] == ids[4] and ids[1] == ids[5]  # repeated words share an id
    assert vocab.decode(ids) == tokens
    assert len(vocab) == 4 + len(set(tokens))


def test_vocab_unknown_min_freq_and_framing():
    vocab = Vocab.build([["a", "a", "b"], ["a", "c"]], min_freq=2)
    assert "b" not in vocab and "a" in vocab
    assert vocab.encode(["a", "b", "zebra"]) == [vocab["a"], vocab.unk_id, vocab.unk_id]
    framed = vocab.encode(["a"], add_bos=True, add_eos=True)
    assert framed == [vocab.bos_id, vocab["a"], vocab.eos_id]
    assert vocab.decode(framed, skip_specials=True) == ["a"]


def test_vocab_max_size_and_errors():
    vocab = Vocab.build([list("aaabbc")], max_size=6)
    assert vocab.itos[4:] == ["a", "b"]
    with pytest.raises(TypeError, match="list of token lists"):
        Vocab.build(["a", "b"])
    with pytest.raises(ValueError, match="min_freq"):
        Vocab.build([["a"]], min_freq=0)
    with pytest.raises(TypeError, match="simple_tokenize"):
        vocab.encode("a b")
    with pytest.raises(IndexError, match="outside the vocabulary"):
        vocab.decode([99])


def test_stopwords_keep_negation_and_contrast():
    assert {"the", "a", "is"} <= STOPWORDS
    assert not {"not", "no", "never", "but"} & STOPWORDS
    assert remove_stopwords(["the", "film", "is", "not", "good"]) == ["film", "not", "good"]


def test_ngrams():
    toks = ["a", "b", "c", "d"]
    assert ngrams(toks, 1) == [("a",), ("b",), ("c",), ("d",)]
    assert ngrams(toks, 3) == [("a", "b", "c"), ("b", "c", "d")]
    assert ngrams(toks, 5) == []
    with pytest.raises(ValueError, match="positive int"):
        ngrams(toks, 0)


def test_pad_batch():
    ids, lengths = pad_batch([[5, 6, 7], [8]], pad_id=0)
    assert torch.equal(ids, torch.tensor([[5, 6, 7], [8, 0, 0]]))
    assert lengths.tolist() == [3, 1]
    ids, lengths = pad_batch([[5, 6, 7], [8]], max_len=2)
    assert ids.shape == (2, 2) and lengths.tolist() == [2, 1]
    with pytest.raises(ValueError, match="empty sequence"):
        pad_batch([[1], []])
