"""WordPiece tokenizers for the course, trained with Hugging Face ``tokenizers``.

:func:`train_wordpiece` builds the same pipeline as BERT's uncased tokenizer (lower-casing normaliser,
split on spaces and punctuation, WordPiece with ``##`` continuation pieces, ``[CLS] A [SEP] B [SEP]``
templates) and wraps it as a ``transformers`` fast tokenizer, so ``tok(a, b, truncation=...,
padding=...)``, ``save_pretrained`` and ``from_pretrained`` all work offline.

:func:`load_tokenizer` loads the course tokenizer shipped in ``course_utils/assets/tokenizer/``; it was
trained on the English texts of the course world and ``python -m course_utils.tokenizer --output DIR`` rebuilds it
(the same files every time).

Special tokens and their ids (the same order as in ``bert-base-uncased``'s first ids is not needed;
these are fixed here): ``[PAD]`` = 0, ``[UNK]`` = 1, ``[CLS]`` = 2, ``[SEP]`` = 3, ``[MASK]`` = 4.
"""

from __future__ import annotations

import argparse
import heapq
import json
import os
import string
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import PreTrainedTokenizerFast

from course_utils import world
from course_utils.special_tokens import CLS_ID, MASK_ID, PAD_ID, SEP_ID, SPECIAL_TOKENS, UNK_ID

__all__ = [
    "CLS_ID",
    "MASK_ID",
    "PAD_ID",
    "SEP_ID",
    "SPECIAL_TOKENS",
    "TOKENIZER_DIR",
    "UNK_ID",
    "build_course_tokenizer",
    "learn_wordpiece_vocab",
    "load_tokenizer",
    "save_tokenizer",
    "train_wordpiece",
]
MODEL_MAX_LENGTH = 128
# Vocabulary size of the shipped tokenizer: every common word of the course world is one token,
# the rarest (seen a handful of times) and words from outside the world split into ``##`` pieces.
SHIPPED_VOCAB_SIZE = 2800
SHIPPED_SEED = 0  # world seed whose train split the shipped tokenizer is trained on
TOKENIZER_DIR = Path(__file__).resolve().parent / "assets" / "tokenizer"
# Always in the vocabulary (alone and as "##x"), so that a word from outside the training texts is
# split into pieces rather than becoming [UNK]; only other characters (emoji, other scripts) are [UNK].
BASE_ALPHABET = string.ascii_lowercase + string.digits + string.punctuation


def _normalizer() -> normalizers.Normalizer:
    # As bert-base-uncased: clean control characters, space out CJK, lower-case and strip accents.
    return normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=True
    )


def train_wordpiece(
    texts: Iterable[str],
    vocab_size: int = 3000,
    min_frequency: int = 2,
    *,
    model_max_length: int = MODEL_MAX_LENGTH,
    method: str = "deterministic",
) -> PreTrainedTokenizerFast:
    """Train a BERT-style (uncased) WordPiece tokenizer on ``texts``.

    The vocabulary is learnt as by ``tokenizers``' ``WordPieceTrainer``: start from single characters
    (``"w"`` at the start of a word, ``"##o"`` inside it), then repeatedly add the merge of the most
    frequent pair of neighbouring pieces (``"w" + "##o" -> "wo"``, ``"##o" + "##r" -> "##or"``).
    At use time a word is cut greedily into the longest pieces of the vocabulary.

    Args:
        texts: the training texts (any iterable of strings; read once, in order).
        vocab_size: the largest vocabulary to build, special tokens and single characters included.
            Training stops earlier when no piece is left that occurs ``min_frequency`` times.
        min_frequency: a merged piece must occur at least this often to enter the vocabulary.
        model_max_length: the longest input (in tokens) the tokenizer reports to callers.
        method: ``"deterministic"`` (default) learns the merges with the small pure-Python loop of
            :func:`learn_wordpiece_vocab`, which breaks ties between equally frequent pairs
            alphabetically, so every run gives the same vocabulary. ``"tokenizers"`` uses the
            library's (faster) ``WordPieceTrainer``, whose ids and tie-breaks change from run to run.

    Returns:
        A ``transformers`` fast tokenizer with ``[PAD]`` = 0, ``[UNK]`` = 1, ``[CLS]`` = 2,
        ``[SEP]`` = 3, ``[MASK]`` = 4, which returns ``input_ids``, ``token_type_ids`` (0 for the
        first sentence, 1 for the second) and ``attention_mask``.

    Raises:
        ValueError: no non-empty text, or ``vocab_size`` too small for the special tokens plus the
            characters of the texts.
    """
    if not isinstance(vocab_size, int) or isinstance(vocab_size, bool):
        raise ValueError(f"vocab_size must be an int, got {vocab_size!r}")
    if method not in ("deterministic", "tokenizers"):
        raise ValueError(f"method={method!r} is not 'deterministic' or 'tokenizers'")
    if not isinstance(min_frequency, int) or min_frequency < 1:
        raise ValueError(f"min_frequency must be an int >= 1, got {min_frequency!r}")
    if isinstance(model_max_length, bool) or not isinstance(model_max_length, int) or model_max_length < 1:
        raise ValueError(f"model_max_length={model_max_length!r} must be a positive int (tokens)")
    if isinstance(texts, str):
        raise ValueError(
            "texts must be a list (or other iterable) of strings, not one string; wrap it: [text]"
        )
    if not isinstance(texts, Iterable):
        raise TypeError(f"texts must be a list (or other iterable) of strings, got {type(texts).__name__}")
    texts = list(texts)
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"texts[{i}] is {type(text).__name__} {text!r:.40}; every text must be a string")
    texts = [t for t in texts if t.strip()]  # blank texts teach nothing
    if not texts:
        raise ValueError("texts is empty (or only blank strings); give the tokenizer some text to learn from")

    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]", continuing_subword_prefix="##"))
    tokenizer.normalizer = _normalizer()
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()

    # Every character starts as a token, alone ("a") and inside a word ("##a"): the vocabulary must
    # hold these and the special tokens before it can learn any merge.
    counts = _count_words(tokenizer, texts)
    _check_vocab_size(vocab_size, counts)

    if method == "deterministic":
        vocab = learn_wordpiece_vocab(counts, vocab_size, min_frequency)
        tokenizer.model = models.WordPiece(vocab=vocab, unk_token="[UNK]", continuing_subword_prefix="##")
    else:  # "tokenizers"
        trainer = trainers.WordPieceTrainer(
            vocab_size=vocab_size,
            min_frequency=min_frequency,
            special_tokens=list(SPECIAL_TOKENS),  # in this order, so they get ids 0..4
            continuing_subword_prefix="##",
            initial_alphabet=list(BASE_ALPHABET),
            show_progress=False,
        )
        tokenizer.train_from_iterator(texts, trainer=trainer)
    for token, expected in zip(SPECIAL_TOKENS, range(len(SPECIAL_TOKENS))):
        assert tokenizer.token_to_id(token) == expected, "special tokens must come first"

    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",  # ":1" = token_type_id 1 for the second segment
        special_tokens=[("[CLS]", CLS_ID), ("[SEP]", SEP_ID)],
    )
    tokenizer.decoder = decoders.WordPiece(prefix="##")
    return _wrap(tokenizer, model_max_length)


def _count_words(tokenizer: Tokenizer, texts: list[str]) -> Counter:
    """Word counts after the tokenizer's normaliser and pre-tokenizer (lower case, punctuation split)."""
    counts: Counter = Counter()
    for text in texts:
        normalized = tokenizer.normalizer.normalize_str(text)
        counts.update(word for word, _ in tokenizer.pre_tokenizer.pre_tokenize_str(normalized))
    return counts


def _check_vocab_size(vocab_size: int, word_counts: Mapping[str, int]) -> None:
    """The vocabulary must hold the special tokens and every single character before any merge."""
    needed = len(SPECIAL_TOKENS) + len(_base_tokens(word_counts))
    if vocab_size < needed:
        raise ValueError(
            f"vocab_size={vocab_size} is too small: {len(SPECIAL_TOKENS)} special tokens + {needed - len(SPECIAL_TOKENS)} "
            f"single-character tokens (each character, alone and as '##x') need at least {needed}; "
            "use a larger vocab_size"
        )


def _base_tokens(word_counts: Mapping[str, int]) -> list[str]:
    """Single characters: ``BASE_ALPHABET`` and every character of the words, alone then as ``##x``."""
    chars = set(BASE_ALPHABET) | {ch for w in word_counts for ch in w}
    return sorted(chars) + sorted("##" + ch for ch in chars)


def learn_wordpiece_vocab(
    word_counts: dict[str, int], vocab_size: int, min_frequency: int = 2
) -> dict[str, int]:
    """Learn a WordPiece vocabulary from word counts by greedy pair merges (deterministic).

    Args:
        word_counts: how often each (normalised) word occurs.
        vocab_size: stop when the vocabulary has this many tokens (special tokens included).
        min_frequency: stop when the most frequent pair occurs fewer times than this.

    Returns:
        Token -> id: the special tokens (ids 0-4), every character of ``BASE_ALPHABET`` and of the
        words (alone, then as ``##x``), then the merged pieces in the order they were learnt.

    Raises:
        TypeError / ValueError: ``word_counts`` is not a dict of non-empty words to positive int
            counts, or ``vocab_size`` cannot hold the special tokens and single characters.
    """
    if not isinstance(word_counts, Mapping):
        raise TypeError(
            f"word_counts must be a dict {{word: count}}, e.g. collections.Counter(words); "
            f"got {type(word_counts).__name__}"
        )
    for word, count in word_counts.items():
        if not isinstance(word, str) or not word:
            raise ValueError(f"word_counts has an empty word (or a non-string) {word!r}; drop it")
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ValueError(f"word_counts[{word!r}] = {count!r}; counts must be ints >= 1")
    if isinstance(vocab_size, bool) or not isinstance(vocab_size, int):
        raise ValueError(f"vocab_size must be an int, got {vocab_size!r}")
    _check_vocab_size(vocab_size, word_counts)
    words = sorted(word_counts)  # a fixed order: the result never depends on dict order
    freq = [word_counts[w] for w in words]
    pieces = [[w[0]] + ["##" + ch for ch in w[1:]] for w in words]
    vocab: dict[str, int] = {tok: i for i, tok in enumerate(SPECIAL_TOKENS)}
    for tok in _base_tokens(word_counts):
        vocab.setdefault(tok, len(vocab))

    # Pair statistics: count of each neighbouring pair, and which words contain it.
    pair_count: Counter = Counter()
    where: dict[tuple[str, str], set[int]] = defaultdict(set)
    for i, symbols in enumerate(pieces):
        for pair in zip(symbols, symbols[1:]):
            pair_count[pair] += freq[i]
            where[pair].add(i)
    # Max-heap on count, ties broken by the pair's text: (-count, pair). Stale entries are skipped.
    heap = [(-c, pair) for pair, c in pair_count.items()]
    heapq.heapify(heap)
    while len(vocab) < vocab_size and heap:
        neg, pair = heapq.heappop(heap)
        if pair_count.get(pair, 0) != -neg:
            continue  # stale: the count changed since this entry was pushed
        if -neg < min_frequency:
            break
        left, right = pair
        merged = left + right[2:]  # "##o" + "##r" -> "##or", "w" + "##o" -> "wo"
        vocab.setdefault(merged, len(vocab))
        changed: set[tuple[str, str]] = set()
        for i in sorted(where.pop(pair, ())):
            symbols = pieces[i]
            for p in zip(symbols, symbols[1:]):  # remove this word's old pairs
                pair_count[p] -= freq[i]
                where[p].discard(i)
                changed.add(p)
            out, k = [], 0
            while k < len(symbols):
                if k + 1 < len(symbols) and symbols[k] == left and symbols[k + 1] == right:
                    out.append(merged)
                    k += 2
                else:
                    out.append(symbols[k])
                    k += 1
            pieces[i] = out
            for p in zip(out, out[1:]):  # add its new pairs
                pair_count[p] += freq[i]
                where[p].add(i)
                changed.add(p)
        pair_count.pop(pair, None)
        for p in changed:
            if pair_count.get(p, 0) > 0:
                heapq.heappush(heap, (-pair_count[p], p))
            else:
                pair_count.pop(p, None)
    return vocab


def _wrap(tokenizer: Tokenizer, model_max_length: int) -> PreTrainedTokenizerFast:
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=model_max_length,
        padding_side="right",
        truncation_side="right",
        # transformers 5 leaves token_type_ids out unless the tokenizer asks for them
        model_input_names=["input_ids", "token_type_ids", "attention_mask"],
    )


def save_tokenizer(tokenizer: PreTrainedTokenizerFast, directory: str | Path) -> list[Path]:
    """``save_pretrained`` with files that every ``transformers`` version (4.x and 5.x) can load.

    The class written into ``tokenizer_config.json`` is the generic ``PreTrainedTokenizerFast``
    (``transformers`` 5 would write ``TokenizersBackend``, unknown to 4.x), so both
    ``AutoTokenizer.from_pretrained(directory)`` and ``PreTrainedTokenizerFast.from_pretrained``
    work, offline.

    Returns:
        The paths written.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written = [Path(p) for p in tokenizer.save_pretrained(str(directory))]
    config_path = directory / "tokenizer_config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config["tokenizer_class"] = "PreTrainedTokenizerFast"
    config_path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return sorted(set(written))


def load_tokenizer(directory: str | Path | None = None) -> PreTrainedTokenizerFast:
    """Load the course's WordPiece tokenizer from the files shipped with ``course_utils``.

    Args:
        directory: another directory written by :func:`save_tokenizer` / ``save_pretrained``;
            ``None`` loads the shipped one. Nothing is ever downloaded.

    Returns:
        The fast tokenizer (vocabulary of ``SHIPPED_VOCAB_SIZE`` tokens at most, ``[PAD]`` = 0,
        ``[UNK]`` = 1, ``[CLS]`` = 2, ``[SEP]`` = 3, ``[MASK]`` = 4, ``model_max_length`` 128).
    """
    if directory is not None and not isinstance(directory, (str, os.PathLike)):
        raise TypeError(f"directory must be a folder path (a str or Path), got {type(directory).__name__}")
    path = TOKENIZER_DIR if directory is None else Path(directory)
    if path.is_file():
        raise NotADirectoryError(
            f"{str(path)!r} is a file; pass the folder that holds tokenizer.json (the folder, not the file)"
        )
    if not path.exists():
        raise FileNotFoundError(
            f"no such folder {str(path)!r} to load tokenizer.json from; check the path (relative to the notebook)"
        )
    file = path / "tokenizer.json"
    if not file.is_file():
        hint = (
            "reinstall course_utils or run `python -m course_utils.tokenizer --output <folder>`"
            if directory is None
            else "save one there with save_tokenizer(tokenizer, folder)"
        )
        raise FileNotFoundError(f"no tokenizer.json in {str(path)!r}; {hint}")
    # A damaged or foreign file makes the libraries fail deep inside with messages that name no file.
    damaged = f"{str(file)!r} is damaged or not a tokenizer file"
    redo = "write it again with save_tokenizer(tokenizer, folder)"
    try:
        content = json.loads(file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{damaged} (not JSON: {err}); {redo}") from None
    if not isinstance(content, dict) or "model" not in content:
        raise ValueError(f"{damaged} (no 'model' entry); {redo}")
    try:
        tokenizer = PreTrainedTokenizerFast.from_pretrained(str(path), local_files_only=True)
    except Exception as err:  # the libraries raise Exception, KeyError, ValueError...
        raise ValueError(f"{damaged} ({type(err).__name__}: {err}); {redo}") from err
    # Older files may not list token_type_ids; BERT needs them.
    tokenizer.model_input_names = ["input_ids", "token_type_ids", "attention_mask"]
    return tokenizer


def build_course_tokenizer() -> PreTrainedTokenizerFast:
    """Train the course tokenizer from scratch: the English texts of the world's train splits, in a
    fixed order, ``vocab_size=SHIPPED_VOCAB_SIZE``. The result equals :func:`load_tokenizer`'s."""
    return train_wordpiece(
        world.english_texts("train", SHIPPED_SEED), vocab_size=SHIPPED_VOCAB_SIZE, min_frequency=2
    )


def main(argv: list[str] | None = None) -> None:
    """Command line: rebuild the shipped tokenizer files (or check that they are up to date)."""
    parser = argparse.ArgumentParser(
        description="Rebuild the course WordPiece tokenizer from the course world."
    )
    parser.add_argument(
        "--output",
        default=None,
        help="directory to write (course_utils/assets/tokenizer replaces the shipped one)",
    )
    parser.add_argument("--check", action="store_true", help="only check that the shipped files are current")
    args = parser.parse_args(argv)
    if args.output is None and not args.check:
        parser.error(
            "give --output DIR (course_utils/assets/tokenizer replaces the shipped files) or --check"
        )
    fresh = build_course_tokenizer()
    if args.check:
        shipped = load_tokenizer()
        if shipped.get_vocab() != fresh.get_vocab():
            raise SystemExit(
                "the shipped tokenizer differs from a fresh build; rebuild it with "
                "`python -m course_utils.tokenizer --output course_utils/assets/tokenizer`"
            )
        print(f"shipped tokenizer is current ({len(shipped)} tokens)")
        return
    written = save_tokenizer(fresh, args.output)
    print(f"wrote a {len(fresh)}-token WordPiece tokenizer: " + ", ".join(p.name for p in written))


if __name__ == "__main__":
    main()
