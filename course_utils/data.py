"""Turning text into BERT training batches: MLM masking, NSP pairs, datasets and collators.

* :class:`MlmMasking` / :func:`mask_tokens` - BERT's masked-language-model corruption (15 % chosen;
  80/10/10 by default, another split on request; whole words with ``word_ids``).
* :func:`make_nsp_pairs` - next-sentence-prediction pairs from documents (50 % IsNext / 50 % NotNext);
  :func:`make_segment_pairs` - the same with multi-sentence segments that fill the input, as BERT;
  :func:`make_sop_pairs` - ALBERT's sentence-order prediction (two consecutive sentences, kept or swapped).
* :class:`PretrainingDataset` + :class:`PretrainingCollator` - batches ``BertForPreTraining(**batch)``
  takes directly, padded per batch and masked afresh every time a batch is made.
* :class:`TextClassificationDataset` + :class:`DynamicPaddingCollator` (:func:`pad_examples`) - batches
  for sequence (or token) classification.

Label conventions follow ``transformers``: ``-100`` marks positions the loss ignores, and
``next_sentence_label`` is 0 for IsNext, 1 for NotNext.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch.utils.data import Dataset

from course_utils.model import check_token_ids
from course_utils.text import as_int
from course_utils.utils import check_seed

IGNORE_INDEX = -100  # positions with this label do not count in the loss (PyTorch's default)
IS_NEXT, NOT_NEXT = 0, 1  # next_sentence_label values, as in transformers
IN_ORDER, SWAPPED = 0, 1  # sentence-order prediction (ALBERT) labels, in the same slot
SENTENCE_TASKS = ("nsp", "sop")  # what the label of a pretraining pair says about its two sentences

# ---------------------------------------------------------------------------------------------------
# 1) Masked language modelling
# ---------------------------------------------------------------------------------------------------


@dataclass
class MlmMasking:
    """BERT's masking for the masked-language-model loss, with its settings checked once, when it is made.

    Each token whose id is not in ``special_ids`` is *chosen* with probability ``mlm_probability``.
    Of the chosen tokens, 80 % are replaced by ``mask_token_id``, 10 % by a random token drawn
    uniformly from the non-special ids, and 10 % are left unchanged. The labels hold the original
    id at chosen positions and ``-100`` everywhere else, so the loss looks only at chosen tokens.
    ``mask_replace_prob`` and ``random_replace_prob`` change the split (the names ``transformers``'
    ``DataCollatorForLanguageModeling`` uses): ``(1.0, 0.0)`` is "always [MASK]", the rest stays unchanged.

    The padding id must be in ``special_ids`` (so are ``[CLS]`` and ``[SEP]``): those positions are
    never chosen. ``[MASK]`` is always treated as special, listed or not, so it is never chosen and never
    drawn as a "random" replacement. ``special_ids`` may be empty, then every other position can be chosen.

    The random numbers are drawn in the same order whatever the split, so one seeded generator chooses the
    same positions, and sends the same ones to ``[MASK]``, under ``(0.8, 0.1)`` and ``(1.0, 0.0)``: two
    recipes compared with the same seed differ only in what they do with the chosen tokens.

    Args:
        mask_token_id: the id of ``[MASK]``.
        vocab_size: the vocabulary size ``V``; every id must be in ``0 .. V-1``.
        special_ids: ids never chosen and never drawn as random replacements (kept sorted, with
            ``mask_token_id`` added), e.g. ``tokenizer.all_special_ids``.
        mlm_probability: the chance that a token is chosen, in (0, 1].
        mask_replace_prob: the share of chosen tokens replaced by ``[MASK]`` (BERT: 0.8).
        random_replace_prob: the share of chosen tokens replaced by a random ordinary token (BERT: 0.1);
            ``mask_replace_prob + random_replace_prob`` must be at most 1.
    """

    mask_token_id: int
    vocab_size: int
    special_ids: Iterable[int] = ()
    mlm_probability: float = 0.15
    mask_replace_prob: float = 0.8
    random_replace_prob: float = 0.1

    def __post_init__(self) -> None:
        V = self.vocab_size
        if isinstance(V, bool) or not isinstance(V, int) or V <= 0:
            raise ValueError(f"vocab_size must be a positive int, got {V!r}")
        p = self.mlm_probability
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 < p <= 1.0:
            raise ValueError(f"mlm_probability must be in (0, 1], got {p!r}")
        for name in ("mask_replace_prob", "random_replace_prob"):
            q = getattr(self, name)
            if isinstance(q, bool) or not isinstance(q, (int, float)) or not 0.0 <= q <= 1.0:
                raise ValueError(f"{name} must be a number in [0, 1], got {q!r}")
        if self.mask_replace_prob + self.random_replace_prob > 1.0 + 1e-9:
            raise ValueError(
                f"mask_replace_prob={self.mask_replace_prob} + random_replace_prob={self.random_replace_prob} "
                "is more than 1: they are shares of the chosen tokens (the rest stays unchanged)"
            )
        if as_int(self.mask_token_id) is None:
            raise ValueError(f"mask_token_id must be an int, got {self.mask_token_id!r}")
        self.mask_token_id = int(self.mask_token_id)
        check_token_ids(self.mask_token_id, V, name="mask_token_id")
        ids = self.special_ids
        given = None if isinstance(ids, (str, bytes)) or not isinstance(ids, Iterable) else list(ids)
        if given is None or any(as_int(i) is None for i in given):
            raise TypeError(
                f"special_ids must be an iterable of int token ids, e.g. tokenizer.all_special_ids; got {ids!r}"
            )
        # [MASK] is special even when the caller forgot it: a [MASK] in the input must not be chosen,
        # and a "random" replacement that is [MASK] would make the 80/10/10 split 82/8/10.
        self.special_ids = sorted({int(i) for i in given} | {self.mask_token_id})
        check_token_ids(self.special_ids, V, name="special_ids")
        if len(self.special_ids) >= V:
            raise ValueError("every id is special: no token can be chosen or drawn as a random replacement")

    def __call__(
        self,
        input_ids: torch.Tensor,
        generator: torch.Generator | None = None,
        word_ids: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Mask ``input_ids``.

        Args:
            input_ids: token ids, ``(T,)`` or ``(B, T)`` (any shape works), on any device.
            generator: a ``torch.Generator`` for repeatable masks. Random numbers are drawn on the
                generator's device (on the input's device when ``None``), so a CPU generator gives the
                same masks for inputs on the CPU and on a GPU.
            word_ids: whole-word masking. Integers shaped like ``input_ids``: the word each token belongs
                to, as ``encoding.word_ids()`` of a fast tokenizer gives them, with ``-1`` (any negative
                number) for tokens that belong to no word (``[CLS]``, ``[SEP]``, padding); such tokens are
                never chosen. A word is a run of consecutive tokens (along the last dimension) with the same
                id; it is chosen as a whole, with probability ``mlm_probability``, and each of its tokens
                then gets its own [MASK] / random / unchanged draw, as in Google's BERT code. ``None``
                (default): every token is chosen on its own.

        Returns:
            ``(masked_input_ids, labels)``, both the shape of ``input_ids``; the input is not modified.
        """
        if not isinstance(input_ids, torch.Tensor):
            raise TypeError(f"input_ids must be a torch.Tensor, got {type(input_ids).__name__}")
        if generator is not None and not isinstance(generator, torch.Generator):
            raise TypeError(
                f"generator must be a torch.Generator or None, got {generator!r}; for a seed s pass "
                "generator=torch.Generator().manual_seed(s)"
            )
        if input_ids.dtype.is_floating_point or input_ids.dtype == torch.bool or input_ids.is_complex():
            raise TypeError(f"input_ids must hold integer ids (torch.long), got dtype {input_ids.dtype}")
        check_token_ids(input_ids, self.vocab_size, hint="is vocab_size the tokenizer's len(tokenizer)?")
        if word_ids is not None:
            word_ids = _check_word_ids(word_ids, input_ids)

        device = input_ids.device
        rand_device = generator.device if generator is not None else device
        shape = input_ids.shape
        special = torch.tensor(self.special_ids, dtype=input_ids.dtype, device=device)

        # 1) choose ~mlm_probability of the ordinary tokens (of the words: each token takes the draw of
        #    its word's first token, so a word is chosen or left whole)
        draw = torch.rand(shape, generator=generator, device=rand_device).to(device)
        if word_ids is not None:
            draw = draw.gather(-1, _first_token_of_word(word_ids))
        chosen = draw < self.mlm_probability
        chosen &= ~torch.isin(input_ids, special)
        if word_ids is not None:
            chosen &= word_ids >= 0
        # 2) split the chosen ones 80 / 10 / 10 (by default) with a second uniform draw
        u = torch.rand(shape, generator=generator, device=rand_device).to(device)
        mask_until = self.mask_replace_prob
        random_until = self.mask_replace_prob + self.random_replace_prob  # the rest stay unchanged
        to_mask = chosen & (u < mask_until)
        to_random = chosen & (u >= mask_until) & (u < random_until)
        # 3) random replacements come from the ordinary (non-special) ids only
        ordinary = torch.ones(self.vocab_size, dtype=torch.bool, device=device)
        ordinary[special] = False
        ordinary_ids = ordinary.nonzero().squeeze(1).to(input_ids.dtype)
        pick = torch.randint(len(ordinary_ids), shape, generator=generator, device=rand_device).to(device)

        masked = input_ids.clone()
        masked[to_mask] = self.mask_token_id
        masked[to_random] = ordinary_ids[pick[to_random]]
        labels = torch.where(chosen, input_ids, torch.full_like(input_ids, IGNORE_INDEX))
        return masked, labels


def _check_word_ids(word_ids: Any, input_ids: torch.Tensor) -> torch.Tensor:
    """``word_ids`` as a long tensor on the input's device, or a clear error."""
    how = (
        "pass a tensor of ints shaped like input_ids, -1 for tokens outside words, e.g. "
        "torch.tensor([-1 if w is None else w for w in encoding.word_ids()])"
    )
    if not isinstance(word_ids, torch.Tensor):
        raise TypeError(f"word_ids must be a torch.Tensor, got {type(word_ids).__name__}; {how}")
    if word_ids.dtype.is_floating_point or word_ids.dtype == torch.bool or word_ids.is_complex():
        raise TypeError(f"word_ids must hold integers, got dtype {word_ids.dtype}; {how}")
    if word_ids.shape != input_ids.shape:
        raise ValueError(
            f"word_ids has shape {tuple(word_ids.shape)} but input_ids has {tuple(input_ids.shape)}: "
            "give one word id per token"
        )
    return word_ids.to(device=input_ids.device, dtype=torch.long)


def _first_token_of_word(word_ids: torch.Tensor) -> torch.Tensor:
    """For every position, the index (along the last dimension) of the first token of its word.

    A word is a run of equal consecutive ids; ``[1, 1, 2, -1, 0, 0]`` gives ``[0, 0, 2, 3, 4, 4]``.
    """
    starts = torch.ones_like(word_ids, dtype=torch.bool)
    starts[..., 1:] = word_ids[..., 1:] != word_ids[..., :-1]
    positions = torch.arange(word_ids.shape[-1], device=word_ids.device).expand_as(word_ids)
    return torch.where(starts, positions, torch.zeros_like(positions)).cummax(-1).values


def mask_tokens(
    input_ids: torch.Tensor,
    *,
    mask_token_id: int,
    vocab_size: int,
    special_ids: Iterable[int],
    mlm_probability: float = 0.15,
    mask_replace_prob: float = 0.8,
    random_replace_prob: float = 0.1,
    generator: torch.Generator | None = None,
    word_ids: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """BERT's masking of ``input_ids`` in one call: ``MlmMasking(...)(input_ids, generator, word_ids)``.

    See :class:`MlmMasking` for the recipe and the arguments. Returns ``(masked_input_ids, labels)``.
    """
    masking = MlmMasking(
        mask_token_id, vocab_size, special_ids, mlm_probability, mask_replace_prob, random_replace_prob
    )
    return masking(input_ids, generator, word_ids)


# ---------------------------------------------------------------------------------------------------
# 2) Next sentence prediction
# ---------------------------------------------------------------------------------------------------


def make_nsp_pairs(
    documents: Sequence[Sequence[str]],
    *,
    seed: int,
    same_document_fraction: float = 0.2,
) -> list[tuple[str, str, int]]:
    """Sentence pairs for next sentence prediction, half IsNext and half NotNext.

    Every sentence that has a successor in its document gives one pair ``(a, b, label)``. Exactly
    half of them (one more or less when the count is odd) keep the true next sentence as ``b``
    (label 0, IsNext); the others get a sentence that is NOT the next one (label 1, NotNext):
    usually a sentence of another document, and for about ``same_document_fraction`` of them a
    non-adjacent sentence of the same document (an earlier one, or one two or more steps ahead).

    Args:
        documents: a list of documents, each a list of sentences in order.
        seed: makes the pairs repeatable (``random.Random(seed)``; the global RNG is not used).
        same_document_fraction: share of NotNext pairs taken from the same document when it has
            a sentence to spare (3 or more sentences).

    Returns:
        A list of ``(sentence_a, sentence_b, label)`` with label 0 = IsNext, 1 = NotNext, in a
        shuffled order.

    Raises:
        ValueError: no documents, no document with 2 sentences, or no way to draw a NotNext
            sentence (a single two-sentence document).
    """
    seed = check_seed(seed)
    _check_documents(documents)
    fraction = same_document_fraction
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0.0 <= fraction <= 1.0:
        raise ValueError(f"same_document_fraction must be in [0, 1], got {same_document_fraction!r}")
    positions = [(d, i) for d, doc in enumerate(documents) for i in range(len(doc) - 1)]
    if not positions:
        raise ValueError(
            "no document has 2 or more sentences; NSP needs consecutive sentences (split your texts into sentences)"
        )
    nonempty = [d for d, doc in enumerate(documents) if len(doc) > 0]
    if len(nonempty) < 2 and all(len(doc) < 3 for doc in documents):
        raise ValueError("cannot make NotNext pairs: give at least two documents (or one with 3+ sentences)")

    # The same sentence text can occur in several documents; none of its successors counts as NotNext.
    successors: dict[str, set[str]] = {}
    for doc in documents:
        for a, b in zip(doc, doc[1:]):
            successors.setdefault(a, set()).add(b)

    rng = random.Random(seed)
    rng.shuffle(positions)
    half = len(positions) // 2 + rng.randrange(2) * (len(positions) % 2)
    pairs: list[tuple[str, str, int]] = []
    for k, (d, i) in enumerate(positions):
        doc = documents[d]
        a, true_next = doc[i], doc[i + 1]
        if k < half:
            pairs.append((a, true_next, IS_NEXT))
            continue
        avoid = successors[a] | {a}
        pairs.append((a, _not_next(documents, d, i, avoid, rng, same_document_fraction, nonempty), NOT_NEXT))
    rng.shuffle(pairs)
    return pairs


def _not_next(
    documents: Sequence[Sequence[str]],
    d: int,
    i: int,
    avoid: set[str],
    rng: random.Random,
    same_fraction: float,
    nonempty: list[int],
) -> str:
    """A sentence of the corpus, not in ``avoid`` (sentence ``i`` of document ``d`` and its successors)."""
    doc = documents[d]
    same_doc = [j for j in range(len(doc)) if j not in (i, i + 1) and doc[j] not in avoid]
    others = len(nonempty) >= 2
    for _ in range(100):
        if same_doc and (not others or rng.random() < same_fraction):
            return doc[rng.choice(same_doc)]
        e = rng.choice(nonempty)
        if e == d:
            continue
        sentence = rng.choice(documents[e])
        if sentence not in avoid:
            return sentence
    raise ValueError(
        f"could not find a NotNext sentence for document {d}, sentence {i}: the corpus repeats itself"
    )


def _check_documents(documents: Any) -> None:
    """Documents must be a non-empty list of lists of non-blank sentence strings (NSP and SOP)."""
    if isinstance(documents, str) or not isinstance(documents, Sequence):
        raise TypeError("documents must be a list of documents, each a list of sentence strings")
    if len(documents) == 0:
        raise ValueError("documents is empty; NSP needs documents of at least 2 sentences")
    for i, doc in enumerate(documents):
        if isinstance(doc, str):
            raise TypeError(f"documents[{i}] is a string; each document must be a LIST of sentences")
        if not isinstance(doc, Sequence):
            raise TypeError(
                f"documents[{i}] is {type(doc).__name__}; each document must be a list of sentence strings"
            )
        for j, sentence in enumerate(doc):
            if not isinstance(sentence, str):
                raise TypeError(
                    f"documents[{i}][{j}] is {type(sentence).__name__} {sentence!r}; sentences must be strings"
                )
            if not sentence.strip():
                raise ValueError(f"documents[{i}][{j}] is blank; drop empty sentences before making pairs")


def make_sop_pairs(documents: Sequence[Sequence[str]], *, seed: int) -> list[tuple[str, str, int]]:
    """Sentence pairs for sentence-order prediction (ALBERT's SOP): half in order, half swapped.

    Every two consecutive sentences ``a, b`` of a document give one pair. Exactly half of them (one
    more or less when the count is odd) stay ``(a, b, 0)`` (IN_ORDER); the others become ``(b, a, 1)``
    (SWAPPED). Both sentences come from the same place of the same document, so the topic tells
    nothing (an NSP NotNext partner usually changes the topic): only the order does. Positions whose
    order the corpus itself contradicts (``a == b``, or ``b`` followed by ``a`` somewhere too) are
    left out, so no label contradicts another pair.

    Args:
        documents: a list of documents, each a list of sentences in order.
        seed: makes the pairs repeatable (``random.Random(seed)``; the global RNG is not used).

    Returns:
        A list of ``(first, second, label)`` with label 0 = in order, 1 = swapped, in a shuffled order.

    Raises:
        ValueError: no documents, or no two consecutive sentences whose order can be told.
    """
    seed = check_seed(seed)
    _check_documents(documents)
    followed = {(a, b) for doc in documents for a, b in zip(doc, doc[1:])}
    positions = [
        (a, b) for doc in documents for a, b in zip(doc, doc[1:]) if a != b and (b, a) not in followed
    ]
    if not positions:
        raise ValueError(
            "no two consecutive sentences with a definite order; SOP needs documents of 2+ different sentences"
        )
    rng = random.Random(seed)
    rng.shuffle(positions)
    half = len(positions) // 2 + rng.randrange(2) * (len(positions) % 2)
    pairs = [(a, b, IN_ORDER) if k < half else (b, a, SWAPPED) for k, (a, b) in enumerate(positions)]
    rng.shuffle(pairs)
    return pairs


def make_segment_pairs(
    documents: Sequence[Sequence[str]],
    *,
    seed: int,
    max_tokens: int,
    count_tokens: Any = None,
    short_fraction: float = 0.1,
) -> list[tuple[str, str, int]]:
    """NSP pairs of *segments* (runs of whole sentences) that fill ``max_tokens``, as BERT built them.

    :func:`make_nsp_pairs` pairs single sentences, so a model sees two sentences at a time. BERT's
    pretraining data instead cut each document into chunks of consecutive sentences that fill the
    sequence, split each chunk at a random sentence boundary into segment A and segment B, and for
    half of the chunks replaced B with a run of sentences from another document (NotNext). The model
    then reads whole paragraphs, so masked words can be predicted from what the paragraph said earlier
    (RoBERTa found single-sentence pairs hurt downstream tasks). Here:

    * each document is cut into chunks of at least two sentences and about ``max_tokens`` tokens (for
      ``short_fraction`` of the chunks a shorter random target, so that short inputs are seen too);
    * exactly half of the chunks (one more or less) keep their own B (IsNext, label 0); the others get
      a run of sentences of another document that starts at a random sentence (NotNext, label 1).

    Args:
        documents: a list of documents, each a list of sentences in order.
        seed: makes the pairs repeatable (the global RNG is not used).
        max_tokens: tokens of A and B together, special tokens excluded (``max_length - 3``).
        count_tokens: ``sentence -> number of tokens``; default: the number of words.
        short_fraction: share of chunks cut to a shorter random length.

    Returns:
        ``(segment_a, segment_b, label)`` triples (sentences joined by spaces), shuffled.
    """
    seed = check_seed(seed)
    if isinstance(documents, str) or not isinstance(documents, Sequence) or len(documents) == 0:
        raise TypeError("documents must be a non-empty list of documents, each a list of sentence strings")
    if as_int(max_tokens) is None or max_tokens < 2:
        raise ValueError(f"max_tokens={max_tokens!r} must be an int >= 2 (a token of A and one of B)")
    if isinstance(short_fraction, bool) or not 0.0 <= short_fraction <= 1.0:
        raise ValueError(f"short_fraction must be in [0, 1], got {short_fraction!r}")
    count = count_tokens or (lambda sentence: len(sentence.split()))
    for i, doc in enumerate(documents):
        if isinstance(doc, str) or not all(isinstance(x, str) and x.strip() for x in doc):
            raise TypeError(f"documents[{i}] must be a list of non-blank sentence strings")
    if sum(len(doc) > 0 for doc in documents) < 2:
        raise ValueError("NotNext segments come from other documents: give at least two documents")

    rng = random.Random(seed)
    chunks: list[tuple[int, list[str]]] = []
    for d, doc in enumerate(documents):
        own: list[list[str]] = []
        current: list[str] = []
        length, target = 0, _target_length(rng, max_tokens, short_fraction)
        for sentence in doc:
            n = count(sentence)
            if len(current) >= 2 and length + n > target:  # the chunk is full
                own.append(current)
                current, length, target = [], 0, _target_length(rng, max_tokens, short_fraction)
            current.append(sentence)
            length += n
        if len(current) == 1 and own:  # a last lone sentence joins the chunk before it
            own[-1].append(current[0])
        elif len(current) >= 2:
            own.append(current)
        chunks += [(d, chunk) for chunk in own]
    if not chunks:
        raise ValueError("no document has 2 or more sentences; NSP needs consecutive sentences")

    rng.shuffle(chunks)
    half = len(chunks) // 2 + rng.randrange(2) * (len(chunks) % 2)
    others = [e for e, doc in enumerate(documents) if doc]
    pairs = []
    for k, (d, chunk) in enumerate(chunks):
        cut = rng.randint(1, len(chunk) - 1)
        a = chunk[:cut]
        if k < half:
            pairs.append((" ".join(a), " ".join(chunk[cut:]), IS_NEXT))
            continue
        e = d
        while e == d:
            e = rng.choice(others)
        other = documents[e]
        start = rng.randrange(len(other))
        budget = max_tokens - sum(count(x) for x in a)
        b = [other[start]]
        for sentence in other[start + 1 :]:
            budget -= count(b[-1])
            if count(sentence) > budget:
                break
            b.append(sentence)
        pairs.append((" ".join(a), " ".join(b), NOT_NEXT))
    rng.shuffle(pairs)
    return pairs


def _target_length(rng: random.Random, max_tokens: int, short_fraction: float) -> int:
    """The length a chunk is filled to: ``max_tokens``, or for ``short_fraction`` of them less."""
    return rng.randint(2, max_tokens) if rng.random() < short_fraction else max_tokens


def _check_max_length(value: Any, minimum: int, what: str, optional: bool = False) -> None:
    """``max_length`` must be an int >= ``minimum`` (or ``None`` when ``optional``)."""
    if value is None and optional:
        return
    if as_int(value) is None:
        raise ValueError(f"max_length={value!r} must be an int >= {minimum} (tokens)")
    if value < minimum:
        raise ValueError(f"max_length={value!r} is too small: {what} needs at least {minimum} tokens")


def _check_tokenizer(tokenizer: Any) -> None:
    """A fast tokenizer (callable, with ``pad_token_id``), e.g. ``tokenizer.load_tokenizer()``."""
    if not callable(tokenizer) or not hasattr(tokenizer, "pad_token_id"):
        raise TypeError(
            f"tokenizer must be a tokenizer such as course_utils.tokenizer.load_tokenizer(), got "
            f"{type(tokenizer).__name__} {tokenizer!r:.60}"
        )


class _TokenizedExamples(Dataset):
    """What the datasets of this module share: token ids, segment ids and one label per example.

    Items are dicts of LongTensors: ``input_ids`` ``(T,)``, ``token_type_ids`` ``(T,)`` and the label
    ``()`` under ``label_key``. Lengths vary: a collator pads each batch.
    """

    label_key = "labels"

    def __init__(self, encoding: Mapping[str, list[list[int]]], labels: Sequence[int]):
        self.input_ids = encoding["input_ids"]
        self.token_type_ids = encoding["token_type_ids"]
        self.labels = [int(x) for x in labels]

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return {
            "input_ids": torch.tensor(self.input_ids[index], dtype=torch.long),
            "token_type_ids": torch.tensor(self.token_type_ids[index], dtype=torch.long),
            self.label_key: torch.tensor(self.labels[index], dtype=torch.long),
        }


class PretrainingDataset(_TokenizedExamples):
    """NSP sentence pairs, tokenized as BERT pretraining inputs ``[CLS] a [SEP] b [SEP]``.

    Items are dicts of LongTensors: ``input_ids`` ``(T,)``, ``token_type_ids`` ``(T,)`` (0 for
    ``[CLS] a [SEP]``, 1 for ``b [SEP]``) and ``next_sentence_label`` ``()``. Lengths vary; pad
    and mask per batch with :class:`PretrainingCollator`. Masking is NOT done here, so every epoch
    sees new masks.

    Args:
        documents: documents as lists of sentences (e.g. ``world.story_corpus("train")``).
        tokenizer: a fast tokenizer (e.g. ``tokenizer.load_tokenizer()``).
        max_length: pairs longer than this are cut, longest sentence first (``"longest_first"``).
            Must be at least 5 ([CLS], [SEP], [SEP] and one token of each sentence).
        seed: seed of the pairs.
        segments: pairs of multi-sentence segments that fill ``max_length``
            (:func:`make_segment_pairs`, as BERT) instead of pairs of single sentences
            (:func:`make_nsp_pairs`).
        dupe_factor: build the pairs this many times with seeds ``seed``, ``seed + 1``, ... (different
            cuts and NotNext partners; BERT's ``dupe_factor``).
        sentence_task: ``"nsp"`` (default): next sentence prediction pairs; ``"sop"``: sentence-order
            prediction pairs (:func:`make_sop_pairs`, ALBERT; single sentences only). The label sits in
            ``next_sentence_label`` either way, so ``BertForPreTraining``'s two-way head learns it.
        same_document_fraction: for NSP sentence pairs, the share of NotNext partners taken from the same
            document (:func:`make_nsp_pairs`; 0 = other documents only, as BERT's own data).
    """

    label_key = "next_sentence_label"

    def __init__(
        self,
        documents: Sequence[Sequence[str]],
        tokenizer: Any,
        *,
        max_length: int = 64,
        seed: int = 0,
        segments: bool = False,
        dupe_factor: int = 1,
        sentence_task: str = "nsp",
        same_document_fraction: float = 0.2,
    ):
        _check_max_length(max_length, 5, "a pair [CLS] a [SEP] b [SEP]")
        _check_tokenizer(tokenizer)
        if as_int(dupe_factor) is None or dupe_factor < 1:
            raise ValueError(f"dupe_factor={dupe_factor!r} must be a positive int (copies of the data)")
        seed = check_seed(seed)
        if sentence_task not in SENTENCE_TASKS:
            raise ValueError(f"sentence_task={sentence_task!r} must be one of {SENTENCE_TASKS}")
        if sentence_task == "sop":
            if segments:
                raise ValueError("sentence_task='sop' pairs single sentences: use it with segments=False")
            self.pairs = [
                pair for copy in range(dupe_factor) for pair in make_sop_pairs(documents, seed=seed + copy)
            ]
        elif segments:
            sentences = list(dict.fromkeys(s for doc in documents for s in doc))
            counts = dict(
                zip(sentences, map(len, tokenizer(sentences, add_special_tokens=False)["input_ids"]))
            )
            self.pairs = [
                pair
                for copy in range(dupe_factor)
                for pair in make_segment_pairs(
                    documents, seed=seed + copy, max_tokens=max_length - 3, count_tokens=counts.__getitem__
                )
            ]
        else:
            self.pairs = [
                pair
                for copy in range(dupe_factor)
                for pair in make_nsp_pairs(
                    documents, seed=seed + copy, same_document_fraction=same_document_fraction
                )
            ]
        self.max_length = max_length
        firsts = [a for a, _, _ in self.pairs]
        seconds = [b for _, b, _ in self.pairs]
        enc = tokenizer(
            firsts, seconds, truncation="longest_first", max_length=max_length, return_token_type_ids=True
        )
        super().__init__(enc, [label for _, _, label in self.pairs])


# ---------------------------------------------------------------------------------------------------
# 3) Padding and collators
# ---------------------------------------------------------------------------------------------------

# Keys that hold one value per token, and what to pad them with.
_SEQUENCE_PAD = {"token_type_ids": 0, "attention_mask": 0, "special_tokens_mask": 1, "position_ids": 0}
# Keys that hold one value per example.
_SCALAR_KEYS = ("next_sentence_label", "start_positions", "end_positions")


def pad_examples(
    items: Sequence[Mapping[str, Any]], pad_token_id: int = 0, *, max_length: int | None = None
) -> dict[str, torch.Tensor]:
    """Collate examples of different lengths into one batch, padded to the longest (dynamic padding).

    Each item has ``input_ids`` ``(T_i,)`` and optionally ``token_type_ids`` ``(T_i,)`` and
    ``labels``: one class id (0-d, sequence classification) or one id per token ``(T_i,)`` (token
    classification, padded with -100). ``next_sentence_label``, ``start_positions`` and
    ``end_positions`` (0-d) are stacked as they are. Lists and ints are accepted as well as tensors.

    Args:
        items: the examples of one batch.
        pad_token_id: the id of ``[PAD]``.
        max_length: when given, a sequence longer than this is an error (truncate when tokenizing).

    Returns:
        A dict of LongTensors: ``input_ids`` ``(B, T)`` with ``T`` the longest item, ``attention_mask``
        ``(B, T)`` (1 = real token, 0 = padding), ``token_type_ids`` ``(B, T)`` (zeros if absent), and
        the label keys present in the items.
    """
    if isinstance(items, Mapping):
        raise TypeError(
            "pad_examples takes a list of examples (dicts), got one dict; a DataLoader passes "
            "collate_fn the list of dataset items"
        )
    if isinstance(items, str) or not isinstance(items, Sequence):
        raise TypeError(f"items must be a list of examples (dicts), got {type(items).__name__}")
    if len(items) == 0:
        raise ValueError("cannot collate an empty batch (items is empty)")
    for n, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise TypeError(
                f"item {n} is a {type(item).__name__}, not a dict like {{'input_ids': [...], 'labels': 0}}"
            )
    if as_int(pad_token_id) is None:
        raise TypeError(f"pad_token_id must be an int id (e.g. tokenizer.pad_token_id), got {pad_token_id!r}")
    _check_max_length(max_length, 1, "an item", optional=True)
    keys = set(items[0])
    if "input_ids" not in keys:
        raise KeyError(f"each item needs 'input_ids'; the first item has keys {sorted(keys)}")
    for n, item in enumerate(items):
        if set(item) != keys:
            raise KeyError(
                f"item {n} has keys {sorted(item)}, but item 0 has {sorted(keys)}; all items need the same keys"
            )

    ids = [_as_long(item["input_ids"], "input_ids", n) for n, item in enumerate(items)]
    for n, x in enumerate(ids):
        if x.dim() != 1:
            raise ValueError(f"item {n}: input_ids must be 1-D (T,), got shape {tuple(x.shape)}")
    lengths = [len(x) for x in ids]
    if min(lengths) == 0:
        raise ValueError(f"item {lengths.index(0)} has no tokens")
    if max_length is not None and max(lengths) > max_length:
        n = lengths.index(max(lengths))
        raise ValueError(
            f"item {n} has {lengths[n]} tokens, more than max_length={max_length}; "
            f"tokenize with truncation=True, max_length={max_length}"
        )
    T, B = max(lengths), len(items)

    def padded(rows: list[torch.Tensor], value: int) -> torch.Tensor:
        out = torch.full((B, T), value, dtype=torch.long)
        for b, row in enumerate(rows):
            out[b, : len(row)] = row
        return out

    batch = {"input_ids": padded(ids, pad_token_id)}
    batch["attention_mask"] = (torch.arange(T)[None, :] < torch.tensor(lengths)[:, None]).long()
    for key in sorted(keys - {"input_ids"}):
        values = [_as_long(item[key], key, n) for n, item in enumerate(items)]
        if key == "labels":
            batch["labels"] = _collate_labels(values, lengths, padded)
        elif key in _SEQUENCE_PAD:
            for n, v in enumerate(values):
                if tuple(v.shape) != (lengths[n],):
                    raise ValueError(
                        f"item {n}: {key} has shape {tuple(v.shape)}, expected ({lengths[n]},) like input_ids"
                    )
            if key != "attention_mask":  # built from the lengths above
                batch[key] = padded(values, _SEQUENCE_PAD[key])
        elif key in _SCALAR_KEYS:
            for n, v in enumerate(values):
                if v.dim() != 0:
                    raise ValueError(f"item {n}: {key} must be one number (0-d), got shape {tuple(v.shape)}")
            batch[key] = torch.stack(values)
        else:
            raise KeyError(f"pad_examples does not know how to collate {key!r}; drop it from the items")
    if "token_type_ids" not in batch:
        batch["token_type_ids"] = torch.zeros(B, T, dtype=torch.long)
    return batch


def _as_long(value: Any, key: str, n: int) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        tensor = value
    else:
        try:
            # an empty list would become a float tensor: it is an empty list of ids
            empty = isinstance(value, (list, tuple)) and len(value) == 0
            tensor = torch.as_tensor(value, dtype=torch.long if empty else None)
        except (TypeError, ValueError, RuntimeError):
            raise TypeError(f"item {n}: {key} must hold integers, got {value!r:.80}") from None
    if tensor.dtype.is_floating_point or tensor.is_complex():
        raise TypeError(f"item {n}: {key} must hold integers, got dtype {tensor.dtype}")
    return tensor.long()


def _collate_labels(values: list[torch.Tensor], lengths: list[int], padded) -> torch.Tensor:
    dims = {v.dim() for v in values}
    if dims == {0}:  # one class per example
        return torch.stack(values)
    if dims == {1}:  # one label per token
        for n, v in enumerate(values):
            if len(v) != lengths[n]:
                raise ValueError(
                    f"item {n}: labels has {len(v)} entries but input_ids has {lengths[n]}; "
                    "token labels need one entry per token (-100 for tokens to ignore)"
                )
        return padded(values, IGNORE_INDEX)
    shapes = sorted({tuple(v.shape) for v in values})
    raise ValueError(
        f"labels must be one number per example (shape ()) or one per token (shape (T,)); got shapes {shapes}"
    )


class DynamicPaddingCollator:
    """``collate_fn`` for classification batches: :func:`pad_examples` with the tokenizer's ``[PAD]`` id.

    Args:
        tokenizer: gives ``pad_token_id``.
        max_length: optional limit; a longer item raises an error instead of a silent truncation.
    """

    def __init__(self, tokenizer: Any, *, max_length: int | None = None):
        _check_tokenizer(tokenizer)
        _check_max_length(max_length, 1, "an item", optional=True)
        if tokenizer.pad_token_id is None:
            raise ValueError("the tokenizer has no pad token; set tokenizer.pad_token first")
        self.pad_token_id = int(tokenizer.pad_token_id)
        self.max_length = max_length

    def __call__(self, items: Sequence[Mapping[str, Any]]) -> dict[str, torch.Tensor]:
        return pad_examples(items, self.pad_token_id, max_length=self.max_length)


class PretrainingCollator:
    """``collate_fn`` for :class:`PretrainingDataset`: pad per batch, then mask for MLM.

    The batch has ``input_ids`` (masked), ``attention_mask``, ``token_type_ids``, ``labels`` (the
    original ids at the chosen positions, -100 elsewhere) and ``next_sentence_label``, all
    ``(B, T)`` except the last ``(B,)``: exactly what ``BertForPreTraining(**batch)`` takes.

    Args:
        tokenizer: gives the ``[MASK]`` and ``[PAD]`` ids, the special ids and ``len(tokenizer)``.
        mlm_probability: the share of tokens chosen for the MLM loss.
        seed: with a seed, the masks of the n-th batch are the same on every run (and device).
        max_length: optional limit on the unpadded length of an item.
    """

    def __init__(
        self,
        tokenizer: Any,
        *,
        mlm_probability: float = 0.15,
        seed: int | None = None,
        max_length: int | None = None,
    ):
        _check_tokenizer(tokenizer)
        _check_max_length(max_length, 1, "an item", optional=True)
        if tokenizer.mask_token_id is None or tokenizer.pad_token_id is None:
            raise ValueError("the tokenizer needs a [MASK] and a [PAD] token for MLM pretraining")
        self.pad_token_id = int(tokenizer.pad_token_id)
        # the settings are checked here, once; every batch is then masked with them
        self.masking = MlmMasking(
            mask_token_id=int(tokenizer.mask_token_id),
            vocab_size=len(tokenizer),
            special_ids={*tokenizer.all_special_ids, self.pad_token_id},
            mlm_probability=mlm_probability,
        )
        self.max_length = max_length
        self.generator = None
        if seed is not None:
            self.generator = torch.Generator().manual_seed(check_seed(seed))

    def __call__(self, items: Sequence[Mapping[str, Any]]) -> dict[str, torch.Tensor]:
        batch = pad_examples(items, self.pad_token_id, max_length=self.max_length)
        if "next_sentence_label" not in batch:
            raise KeyError("pretraining items need 'next_sentence_label' (see PretrainingDataset)")
        batch["input_ids"], batch["labels"] = self.masking(batch["input_ids"], self.generator)
        return batch


# ---------------------------------------------------------------------------------------------------
# 4) Classification datasets
# ---------------------------------------------------------------------------------------------------


class TextClassificationDataset(_TokenizedExamples):
    """Texts and class ids, tokenized once: items ``{"input_ids", "token_type_ids", "labels"}``.

    Args:
        texts: the texts (non-empty strings).
        labels: one class id (int >= 0) per text.
        tokenizer: a fast tokenizer; texts are cut to ``max_length`` tokens ([CLS] and [SEP] included).
        max_length: the longest tokenized text.
    """

    def __init__(self, texts: Sequence[str], labels: Sequence[int], tokenizer: Any, *, max_length: int = 64):
        if isinstance(texts, str):
            raise TypeError("texts must be a list of strings, not one string")
        if not isinstance(texts, Sequence):
            raise TypeError(f"texts must be a list of strings, got {type(texts).__name__}")
        if isinstance(labels, str) or not isinstance(labels, (Sequence, torch.Tensor)):
            raise TypeError(f"labels must be a list of class ids (ints >= 0), got {type(labels).__name__}")
        if len(texts) == 0:
            raise ValueError("texts is empty; a dataset needs at least one example")
        if len(texts) != len(labels):
            raise ValueError(f"{len(texts)} texts but {len(labels)} labels; give one label per text")
        for n, text in enumerate(texts):
            if not isinstance(text, str) or not text.strip():
                raise ValueError(f"text {n} is empty (or not a string): {text!r}")
        for n, label in enumerate(labels):
            index = as_int(label)
            if index is None or index < 0:
                hint = (
                    " (turn label names into ids first, e.g. with world.load_csv)"
                    if isinstance(label, str)
                    else ""
                )
                raise ValueError(f"label {n} is {label!r}; labels must be class ids (ints >= 0){hint}")
        _check_max_length(max_length, 3, "[CLS] text [SEP]")
        _check_tokenizer(tokenizer)
        enc = tokenizer(list(texts), truncation=True, max_length=max_length, return_token_type_ids=True)
        super().__init__(enc, labels)
        self.texts = list(texts)
