"""Words to numbers: a simple tokenizer, a vocabulary, stopwords and n-grams (unit 01).

These are the classic building blocks that come before subword tokenizers. Later units use them for
the baselines (bag-of-words, n-gram language model, LSTM) and for the toy translation model.

Example:
    >>> tokens = simple_tokenize("I love dogs and dogs love snacks.")
    >>> vocab = Vocab.build([tokens])
    >>> vocab.decode(vocab.encode(tokens)) == tokens
    True
"""

from __future__ import annotations

import operator
import re
from collections import Counter
from collections.abc import Iterable, Sequence

import torch

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<bos>", "<eos>"
SPECIALS: tuple[str, ...] = (PAD, UNK, BOS, EOS)

# A word is letters/digits with inner apostrophes ("don't", "it's"); anything else that is not a space
# (a comma, a full stop, "!") is a token of its own.
_TOKEN_RE = re.compile(r"[a-z0-9]+(?:'[a-z0-9]+)*|[^\sa-z0-9]")

# A small English stopword list: very frequent words that carry little topic. It deliberately keeps
# negations ("not", "no", "never") and "but" OUT, because for sentiment they carry the meaning.
STOPWORDS: frozenset[str] = frozenset(
    """
    a an the and or if then so than that this these those there here
    i me my we our you your he him his she her it its they them their
    is am are was were be been being do does did have has had will would can could should
    to of in on at by for with from as into about over after before up down out off
    what which who whom when where why how all any both each few more most other some such
    very just also too only own same s t
    """.split()
)


def simple_tokenize(text: str) -> list[str]:
    """Lowercase ``text`` and split it into words and punctuation marks.

    Args:
        text: any string.

    Returns:
        The tokens, e.g. ``"Not bad, really!"`` -> ``["not", "bad", ",", "really", "!"]``.
    """
    if not isinstance(text, str):
        raise TypeError(f"simple_tokenize expects a str, got {type(text).__name__}; join a list first")
    return _TOKEN_RE.findall(text.lower())


def _check_token_list(tokens: object, what: str) -> None:
    """A token list, not one string (iterating a string would give its characters)."""
    if isinstance(tokens, str):
        raise TypeError(f"{what} expects a token list, not a string; call simple_tokenize(text) first")


def remove_stopwords(tokens: Iterable[str], stopwords: Iterable[str] = STOPWORDS) -> list[str]:
    """Drop the tokens that are in ``stopwords`` (keeps the order of the rest)."""
    _check_token_list(tokens, "remove_stopwords")
    stop = set(stopwords)
    return [t for t in tokens if t not in stop]


def ngrams(tokens: Sequence[str], n: int) -> list[tuple[str, ...]]:
    """All runs of ``n`` consecutive tokens, in order.

    Args:
        tokens: a token list.
        n: the length of each run (1 = unigrams, 2 = bigrams, ...).

    Returns:
        ``len(tokens) - n + 1`` tuples (none when the list is shorter than ``n``).
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    _check_token_list(tokens, "ngrams")
    tokens = list(tokens)
    return [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]


class Vocab:
    """A two-way map between tokens and integer ids.

    Ids 0..3 are the specials ``<pad>`` (0), ``<unk>`` (1), ``<bos>`` (2), ``<eos>`` (3); the other
    tokens follow, most frequent first (ties in order of first appearance), so that ids are
    deterministic. Unknown tokens encode to ``<unk>``.
    """

    def __init__(self, tokens: Iterable[str]):
        """Make a vocabulary from an ordered list of distinct tokens (the specials are added first).

        Most users want :meth:`Vocab.build`, which counts a corpus.
        """
        if isinstance(tokens, str):
            raise TypeError(
                "Vocab expects a list of tokens, not one string; use Vocab.build to count a corpus"
            )
        self.counts: Counter[str] = Counter()  # corpus counts, filled in by Vocab.build
        self.itos: list[str] = list(SPECIALS)
        for n, tok in enumerate(tokens):
            if not isinstance(tok, str):
                raise TypeError(f"token {n} is {type(tok).__name__} {tok!r}; tokens must be strings")
            if tok not in SPECIALS:
                self.itos.append(tok)
        self.stoi: dict[str, int] = {}
        for i, tok in enumerate(self.itos):
            if tok in self.stoi:
                raise ValueError(f"token {tok!r} appears twice in the vocabulary; pass distinct tokens")
            self.stoi[tok] = i

    @classmethod
    def build(
        cls, token_lists: Iterable[Sequence[str]], min_freq: int = 1, max_size: int | None = None
    ) -> Vocab:
        """Count tokens over a corpus and keep those seen at least ``min_freq`` times.

        Args:
            token_lists: an iterable of token lists (one per sentence or document).
            min_freq: the minimum count to get an id; rarer tokens become ``<unk>``.
            max_size: keep at most this many tokens (specials included), the most frequent ones.

        Returns:
            The vocabulary.
        """
        if isinstance(token_lists, str) or (
            isinstance(token_lists, Sequence) and len(token_lists) > 0 and isinstance(token_lists[0], str)
        ):
            raise TypeError(
                "Vocab.build expects a list of token lists, e.g. [simple_tokenize(s) for s in texts]"
            )
        if not isinstance(min_freq, int) or min_freq < 1:
            raise ValueError(f"min_freq must be an int >= 1, got {min_freq!r}")
        if max_size is not None and (isinstance(max_size, bool) or not isinstance(max_size, int)):
            raise ValueError(f"max_size={max_size!r} must be an int or None")
        counts: Counter[str] = Counter()
        for toks in token_lists:
            if isinstance(toks, str):  # a generator of strings gets here: its items would count as characters
                raise TypeError(
                    "Vocab.build expects a list of token lists, e.g. [simple_tokenize(s) for s in texts]; "
                    f"got a string {toks!r:.40}"
                )
            counts.update(toks)
        # Counter.most_common keeps first-seen order among equal counts, so ids are reproducible.
        kept = [tok for tok, c in counts.most_common() if c >= min_freq and tok not in SPECIALS]
        if max_size is not None:
            if max_size <= len(SPECIALS):
                raise ValueError(f"max_size={max_size} leaves no room beyond the {len(SPECIALS)} specials")
            kept = kept[: max_size - len(SPECIALS)]
        vocab = cls(kept)
        vocab.counts = counts
        return vocab

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token: str) -> bool:
        return token in self.stoi

    def __getitem__(self, token: str) -> int:
        return self.stoi.get(token, self.unk_id)

    def __repr__(self) -> str:
        head = ", ".join(self.itos[len(SPECIALS) : len(SPECIALS) + 5])
        return f"Vocab(size={len(self)}, first tokens: {head}, ...)"

    @property
    def pad_id(self) -> int:
        return self.stoi[PAD]

    @property
    def unk_id(self) -> int:
        return self.stoi[UNK]

    @property
    def bos_id(self) -> int:
        return self.stoi[BOS]

    @property
    def eos_id(self) -> int:
        return self.stoi[EOS]

    def encode(self, tokens: Sequence[str], add_bos: bool = False, add_eos: bool = False) -> list[int]:
        """Token list -> id list (unknown tokens -> ``<unk>``), optionally framed by ``<bos>``/``<eos>``."""
        if isinstance(tokens, str):
            raise TypeError("encode expects a token list; call simple_tokenize(text) first")
        for n, t in enumerate(tokens):
            if not isinstance(t, str):
                raise TypeError(
                    f"token {n} is {type(t).__name__} {t!r}; encode takes tokens (strings), not ids"
                )
        ids = [self.stoi.get(t, self.unk_id) for t in tokens]
        return ([self.bos_id] if add_bos else []) + ids + ([self.eos_id] if add_eos else [])

    def decode(self, ids: Iterable[int], skip_specials: bool = False) -> list[str]:
        """Id list -> token list. With ``skip_specials``, drops ``<pad>``, ``<bos>`` and ``<eos>``."""
        if isinstance(ids, str):
            raise TypeError("decode expects ids (ints), not a string; encode turns tokens into ids")
        if isinstance(ids, torch.Tensor) and ids.dim() != 1:
            raise TypeError(f"decode takes one sequence of ids, got a tensor of shape {tuple(ids.shape)}")
        out = []
        for n, i in enumerate(ids):
            i = as_int(i)
            if i is None:
                raise TypeError(f"id {n} is {ids[n]!r}; ids must be ints (one sequence, not a batch)")
            if not 0 <= i < len(self.itos):
                raise IndexError(f"id {i} is outside the vocabulary (size {len(self)})")
            tok = self.itos[i]
            if skip_specials and tok in (PAD, BOS, EOS):
                continue
            out.append(tok)
        return out


def as_int(value: object) -> int | None:
    """``value`` as an int if it is an integer (int, NumPy integer, 0-d integer tensor), else ``None``.

    Bools and floats (even ``2.0``) are not integers here: an id or a size given as one is a mistake.
    """
    if isinstance(value, bool):
        return None
    try:
        return operator.index(value)
    except TypeError:
        return None


def pad_batch(
    sequences: Sequence[Sequence[int]], pad_id: int = 0, max_len: int | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad id lists to one length; returns ``(ids, lengths)`` as LongTensors.

    Args:
        sequences: id lists of varying length (each at least 1 long).
        pad_id: the id that fills the gaps (``Vocab.pad_id`` is 0).
        max_len: cut longer sequences to this length.

    Returns:
        ``ids`` of shape (B, T) and ``lengths`` of shape (B,), where T is the longest (cut) length.
    """
    if isinstance(sequences, str):
        raise TypeError("pad_batch expects id lists (e.g. vocab.encode(tokens) for each text), not a string")
    if as_int(pad_id) is None:
        raise TypeError(f"pad_id must be an int id (Vocab.pad_id is 0), got {pad_id!r}")
    if max_len is not None and (as_int(max_len) is None or max_len < 1):
        raise ValueError(f"max_len={max_len!r} must be a positive int (or None: no cut)")
    if len(sequences) == 0:
        raise ValueError("pad_batch got no sequences")
    seqs = [list(s)[:max_len] for s in sequences]
    for b, s in enumerate(seqs):
        if any(as_int(i) is None for i in s):
            raise TypeError(
                f"sequence {b} holds {s[:5]!r:.60}; pad_batch takes integer ids (use vocab.encode)"
            )
    if min(len(s) for s in seqs) == 0:
        raise ValueError("pad_batch got an empty sequence; every text needs at least one token")
    T = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), T), pad_id, dtype=torch.long)
    for b, s in enumerate(seqs):
        ids[b, : len(s)] = torch.tensor(s, dtype=torch.long)
    lengths = torch.tensor([len(s) for s in seqs], dtype=torch.long)
    return ids, lengths
