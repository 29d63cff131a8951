"""DNA helpers for the aptamer unit: base pairing (reverse complement, hairpins) and k-mer tokens.

Two ways to read a DNA string: as a molecule (which bases pair, :func:`find_hairpin`) and as text for
a model (k-mer tokens, a k-mer vocabulary that starts with the course tokenizer's special tokens, and
the ``[CLS] ... [SEP]`` ids of :func:`encode_kmers`). ``course_utils.world.aptamer_sequences`` labels
its sequences with :func:`find_hairpin`.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import torch

from course_utils.special_tokens import SPECIAL_TOKENS

BASES = "ACGT"
HAIRPIN_STEM = 5  # paired bases at each end that close an aptamer's hairpin
_COMPLEMENT = str.maketrans("ACGT", "TGCA")
_MIN_LOOP = 3  # a stem never grows into a loop shorter than this


def reverse_complement(seq: str) -> str:
    """The reverse complement of a DNA string ("AACG" -> "CGTT")."""
    _check_dna(seq)
    return seq.translate(_COMPLEMENT)[::-1]


def find_hairpin(seq: str, min_stem: int = HAIRPIN_STEM) -> tuple[int, int, int] | None:
    """The hairpin that closes the molecule: its first ``min_stem`` bases pair with its last ``min_stem``.

    Pairing reads the 3' end backwards: ``seq[-min_stem:] == reverse_complement(seq[:min_stem])``, so
    ``AAGGC...GCCTT`` pairs A-T, A-T, G-C, G-C, C-G and everything between the two halves is the loop.

    Args:
        seq: a string of A, C, G, T.
        min_stem: the number of paired bases that makes a hairpin.

    Returns:
        ``(start, stem_length, loop_length)`` with ``start`` always 0, or ``None`` when the ends do not
        pair. The stem is extended inwards while the next bases pair and the loop keeps at least 3 bases.
    """
    if isinstance(min_stem, bool) or not isinstance(min_stem, int) or min_stem < 1:
        raise ValueError(f"min_stem={min_stem!r} must be an int, at least 1")
    _check_dna(seq)
    n = len(seq)
    if n < 2 * min_stem + _MIN_LOOP or seq[n - min_stem :] != reverse_complement(seq[:min_stem]):
        return None
    stem = min_stem
    while n - 2 * (stem + 1) >= _MIN_LOOP and seq[n - stem - 1] == reverse_complement(seq[stem]):
        stem += 1
    return 0, stem, n - 2 * stem


def _check_dna(seq: str) -> None:
    if not isinstance(seq, str) or not seq or set(seq) - set(BASES):
        bad = sorted(set(seq) - set(BASES)) if isinstance(seq, str) else type(seq).__name__
        hint = (
            "; use seq.upper()" if isinstance(seq, str) and seq and not set(seq.upper()) - set(BASES) else ""
        )
        raise ValueError(f"expected a non-empty string of A, C, G, T; got {seq!r:.40} (bad: {bad}){hint}")


def kmer_tokens(seq: str, k: int = 3, stride: int = 1) -> list[str]:
    """Cut a DNA string into k-mers.

    ``stride=1`` gives overlapping k-mers (DNABERT style: "ACGTA", k=3 -> ACG, CGT, GTA); ``stride=k``
    gives non-overlapping ones (ACG, then the leftover "TA" is dropped because it is shorter than k).

    Args:
        seq: a string of A, C, G, T with at least ``k`` bases.
        k: bases per token.
        stride: bases between the starts of two neighbouring tokens.

    Returns:
        The k-mers, left to right: ``1 + (len(seq) - k) // stride`` of them.
    """
    if not isinstance(k, int) or k < 1:
        raise ValueError(f"k={k!r} must be a positive integer (bases per token)")
    if not isinstance(stride, int) or stride < 1:
        raise ValueError(
            f"stride={stride!r} must be a positive integer (1 = overlapping, k = non-overlapping)"
        )
    _check_dna(seq)
    if len(seq) < k:
        raise ValueError(f"the sequence has {len(seq)} bases, fewer than k={k}; use a smaller k")
    return [seq[i : i + k] for i in range(0, len(seq) - k + 1, stride)]


def build_kmer_vocab(k: int) -> dict[str, int]:
    """Every k-mer gets an id after the special tokens, in alphabetical order (A < C < G < T).

    Args:
        k: bases per token (4**k k-mers; k=1 gives A, C, G, T = ids 5-8).

    Returns:
        ``{token: id}`` with ``[PAD]``=0, ``[UNK]``=1, ``[CLS]``=2, ``[SEP]``=3, ``[MASK]``=4, the
        course tokenizer's special tokens and ids.
    """
    if not isinstance(k, int) or not 1 <= k <= 8:
        raise ValueError(f"k={k!r} must be an integer from 1 to 8 (4**k tokens)")
    tokens = list(SPECIAL_TOKENS) + ["".join(p) for p in itertools.product(BASES, repeat=k)]
    return {t: i for i, t in enumerate(tokens)}


def encode_kmers(
    seqs: Sequence[str], vocab: dict[str, int], k: int = 1, stride: int = 1
) -> tuple[torch.Tensor, torch.Tensor]:
    """``[CLS] k-mers [SEP]`` ids for a batch of sequences, padded on the right with ``[PAD]``.

    Args:
        seqs: DNA strings.
        vocab: from :func:`build_kmer_vocab` with the same ``k``.
        k, stride: as in :func:`kmer_tokens`.

    Returns:
        ``input_ids`` (B, T) and ``attention_mask`` (B, T) (1 = token, 0 = padding), both long.
    """
    if isinstance(seqs, str):
        raise TypeError("encode_kmers expects a list of sequences; wrap a single one: [seq]")
    if not seqs:
        raise ValueError("seqs is empty; pass at least one sequence")
    rows = []
    for s in seqs:
        tokens = kmer_tokens(s, k, stride)
        # a vocabulary of build_kmer_vocab(k) holds every k-mer: a missing one means another k
        missing = next((t for t in tokens if t not in vocab), None)
        if missing is not None:
            raise ValueError(
                f"vocab has no token {missing!r}; encode with the k the vocabulary was built with, or "
                f"build it with build_kmer_vocab(k={k})"
            )
        rows.append([vocab["[CLS]"], *(vocab[t] for t in tokens), vocab["[SEP]"]])
    T = max(len(r) for r in rows)
    ids = torch.full((len(rows), T), vocab["[PAD]"], dtype=torch.long)  # (B, T)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = torch.tensor(r)
    return ids, (ids != vocab["[PAD]"]).long()
