"""Checks for exercise sheet 06: BERT's inputs and tokenization.

References: the ``tokenizers`` library's own WordPiece model (Task 1), the ids a tokenizer gives (Task 2), the
recipe of length-grouped batching written out in the task (Task 3), and the course's ``BertModel`` run on each
sequence alone (Task 4). Every input comes from the check itself: its own vocabularies, words, tokenizers,
lengths and model.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Callable, Iterator, Mapping, Sequence

import numpy as np
import torch
from tokenizers import Tokenizer, models

from course_utils.checks import (
    CheckError,
    expect_callable,
    expect_type,
    fail,
    is_close,
    isolated_rng,
    passed,
)
from course_utils.model import BertConfig, BertModel
from course_utils.tokenizer import load_tokenizer, train_wordpiece

__all__ = [
    "check_wordpiece_split",
    "check_same_input",
    "check_length_grouped_batches",
    "check_left_padding",
]

# ------------------------------------------------------------------------------------------- Task 1

_LETTERS = "abcdefghijklmnopqrstuvwxyz"
# Every letter alone and as "##x", so any word of letters can be spelt, and pieces for the greedy choice.
_VOCAB_FULL = [
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
    *_LETTERS, *("##" + c for c in _LETTERS),
    "play", "##play", "pl", "##ay", "##ing", "##ed", "##s", "re", "read", "##er", "un", "##able", "##ab",
    "sing", "##ing", "kite", "##r",
]  # fmt: skip
# No full alphabet: "abcd" starts with the longest piece "ab", then nothing continues it, so the whole word is
# [UNK], although "a" + "##bcd" would spell it (WordPiece never goes back to try a shorter first piece).
_VOCAB_GREEDY = ["[UNK]", "a", "ab", "##bcd", "c", "##d", "x", "##x", "##y"]
_WORDS_FULL = [
    "playing",
    "replayed",
    "unplayable",
    "reader",
    "plays",
    "kiter",
    "xyz",
    "a",
    "singing",
    "caf🙂",
]
_WORDS_GREEDY = ["abcd", "ab", "abc", "acd", "xx", "xyx", "ca", "a"]


def _reference_split(vocab: dict[str, int], word: str) -> list[str]:
    return [t.value for t in models.WordPiece(vocab, unk_token="[UNK]").tokenize(word)]


def _greedy(
    vocab: Mapping[str, int],
    word: str,
    *,
    longest: bool = True,
    prefix: str = "##",
    first: str = "",
    whole: bool = True,
) -> list[str]:
    """WordPiece's loop with one thing changed (for the messages): the defaults give the right answer."""
    pieces, start = [], 0
    while start < len(word):
        ends = range(len(word), start, -1) if longest else range(start + 1, len(word) + 1)
        for end in ends:
            piece = (first if start == 0 else prefix) + word[start:end]
            if piece in vocab:
                pieces.append(piece)
                start = end
                break
        else:
            if whole:
                return ["[UNK]"]
            pieces.append("[UNK]")  # only the character that cannot be matched
            start += 1
    return pieces


def _backtracking(vocab: Mapping[str, int], word: str, start: int = 0) -> list[str] | None:
    """Any split that spells the word, longest pieces tried first (a wrong answer, for the message)."""
    if start == len(word):
        return []
    for end in range(len(word), start, -1):
        piece = word[start:end] if start == 0 else "##" + word[start:end]
        if piece in vocab:
            rest = _backtracking(vocab, word, end)
            if rest is not None:
                return [piece, *rest]
    return None


@contextlib.contextmanager
def _no_tokenizers_library(task: str) -> Iterator[None]:
    """Make the ``tokenizers`` library's encoders fail while the block runs.

    Every tokenizer of ``tokenizers`` and ``transformers`` (fast ones) ends in ``Tokenizer.encode*`` or a
    model's ``tokenize``; replacing these class attributes catches them however they were reached.
    """
    message = (
        f"❌ {task}: your answer uses the tokenizers library (a WordPiece model or a tokenizer), which this "
        "task forbids; write the greedy longest-match loop yourself"
    )

    def refuse(*args, **kwargs):
        raise CheckError(message)

    targets = [(Tokenizer, name) for name in ("encode", "encode_batch", "encode_batch_fast")]
    targets.append((models.Model, "tokenize"))
    saved = [(cls, name, cls.__dict__[name]) for cls, name in targets if name in cls.__dict__]
    for cls, name, _ in saved:
        setattr(cls, name, refuse)
    try:
        yield
    finally:
        for cls, name, original in saved:
            setattr(cls, name, original)


def _as_pieces(task: str, value, name: str) -> list[str]:
    if isinstance(value, str):
        fail(task, f"{name} is the string {value!r}; return a list of pieces, e.g. ['play', '##ing']")
    expect_type(task, value, (list, tuple), name)
    if not all(isinstance(p, str) for p in value):
        fail(task, f"{name} should hold strings (the pieces), got {value!r:.80}")
    return list(value)


def check_wordpiece_split(wordpiece_split: Callable) -> bool:
    """Task 1: ``wordpiece_split(word, vocab)`` cuts a word as WordPiece does: greedy longest match, ## inside."""
    task = "Task 1 (WordPiece: greedy longest match)"
    expect_callable(task, wordpiece_split, "wordpiece_split")
    for tokens, words in ((_VOCAB_FULL, _WORDS_FULL), (_VOCAB_GREEDY, _WORDS_GREEDY)):
        vocab = {t: i for i, t in enumerate(dict.fromkeys(tokens))}
        expected = {word: _reference_split(vocab, word) for word in words}  # before the library is forbidden
        for word in words:
            name = f"wordpiece_split({word!r}, vocab)"
            with _no_tokenizers_library(task):
                answer = _as_pieces(task, wordpiece_split(word, dict(vocab)), name)
            want = expected[word]
            if answer == want:
                continue
            hints = [
                (_greedy(vocab, word, whole=False), "when a word cannot be spelt, the WHOLE word becomes one "
                 "'[UNK]', not only the part that is missing"),
                (_backtracking(vocab, word), "WordPiece is greedy: it keeps the longest first piece and never "
                 "goes back to try a shorter one; when the rest cannot be spelt, the word is ['[UNK]']"),
                (_greedy(vocab, word, longest=False), "take the LONGEST piece the vocabulary has at each step"),
                (_greedy(vocab, word, prefix=""), "a piece that continues a word is looked up with '##' in front"),
                (_greedy(vocab, word, first="##"), "the first piece of a word is looked up WITHOUT '##'"),
            ]  # fmt: skip
            for wrong, hint in hints:
                if answer == wrong:
                    fail(task, f"{name} gave {answer}, expected {want}: {hint}")
            fail(task, f"{name} gave {answer}, expected {want}")
    return passed(task, "greedy longest match, '##' inside a word, [UNK] for a word that cannot be spelt")


# ------------------------------------------------------------------------------------------- Task 2

_WORDS_SAME = [
    "Baker", "baker", "BAKER", "bakers", "Café", "cafe", "café", "kite", "kites", "Kite",
    "naïve", "naive", "🙂", "😀", "Riverton", "riverton", "river", "résumé", "resume", "Brown",
]  # fmt: skip
_TINY_TEXTS = ["the baker went to the cafe", "a kite flew over the river", "brown bread and a brown kite"] * 3


def _ids(tokenizer, word: str) -> tuple[int, ...]:
    return tuple(tokenizer(word, add_special_tokens=False)["input_ids"])


def _groups_by(key: Callable[[str], object], words: Sequence[str]) -> set[frozenset[str]]:
    buckets: dict[object, list[str]] = {}
    for word in words:
        buckets.setdefault(key(word), []).append(word)
    return {frozenset(group) for group in buckets.values() if len(group) > 1}


def _as_groups(task: str, answer, words: Sequence[str], name: str) -> set[frozenset[str]]:
    if isinstance(answer, (dict, str)) or not isinstance(answer, (list, tuple, set)):
        fail(task, f"{name} should be a list of groups (each a list of words), got {type(answer).__name__}")
    groups = []
    for group in answer:
        if isinstance(group, str) or not isinstance(group, (list, tuple, set, frozenset)):
            fail(task, f"{name}: each group should be a list of words, got {group!r:.60}")
        if not all(isinstance(w, str) and w in words for w in group):
            fail(task, f"{name}: the group {list(group)} holds something that is not one of the words given")
        groups.append(frozenset(group))
    if any(len(g) < 2 for g in groups):
        fail(task, f"{name}: a word alone is not a group; return only groups of two or more words")
    seen = [w for g in groups for w in g]
    if len(seen) != len(set(seen)):
        fail(task, f"{name}: a word appears in two groups; each word belongs to at most one group")
    return set(groups)


def check_same_input(same_input: Callable) -> bool:
    """Task 2: ``same_input(tokenizer, words)`` groups the words that the tokenizer turns into the same ids."""
    task = "Task 2 (what an uncased tokenizer cannot tell apart)"
    expect_callable(task, same_input, "same_input")
    tiny = train_wordpiece(_TINY_TEXTS, vocab_size=160, min_frequency=2)
    for label, tokenizer in (
        ("the course tokenizer", load_tokenizer()),
        ("a small tokenizer of the check", tiny),
    ):
        words = list(_WORDS_SAME)
        name = f"same_input({label}, words)"
        answer = _as_groups(task, same_input(tokenizer, list(words)), words, name)
        ids = {w: _ids(tokenizer, w) for w in words}
        expected = _groups_by(ids.__getitem__, words)
        if answer == expected:
            continue
        if answer == _groups_by(str.lower, words):
            fail(
                task,
                f"{name}: you grouped the lower-cased words; compare the ids the tokenizer gives: it also strips "
                "accents, and every word it cannot spell becomes the same [UNK]",
            )
        firsts = {w: i[:1] for w, i in ids.items()}
        if answer == _groups_by(firsts.__getitem__, words):
            fail(task, f"{name}: compare ALL the ids of each word, not only its first piece")
        missing = sorted(sorted(g) for g in expected - answer)
        extra = sorted(sorted(g) for g in answer - expected)
        fail(task, f"{name}: groups missing {missing[:2]}, groups that should not be there {extra[:2]}")
    return passed(task, "the same ids, whatever the case or the accents")


# ------------------------------------------------------------------------------------------- Task 3


def _global_states() -> tuple:
    return random.getstate(), torch.get_rng_state(), np.random.get_state()


def _restore(states: tuple) -> None:
    random.setstate(states[0])
    torch.set_rng_state(states[1])
    np.random.set_state(states[2])


def _changed(before: tuple, after: tuple) -> bool:
    return (
        before[0] != after[0]
        or not torch.equal(before[1], after[1])
        or not np.array_equal(before[2][1], after[2][1])
        or before[2][2:] != after[2][2:]
    )


def _call_batches(task: str, fn: Callable, lengths: list[int], batch_size: int, seed: int, pools: int):
    before = _global_states()
    answer = fn(list(lengths), batch_size, seed, pools)
    after = _global_states()
    if _changed(before, after):
        _restore(before)
        fail(
            task,
            "your function changed the global random state (random.shuffle, torch.randperm, np.random ...); "
            "draw everything from its own rng = random.Random(seed)",
        )
    name = f"length_grouped_batches(lengths, batch_size={batch_size}, seed={seed}, pool_batches={pools})"
    if isinstance(answer, (str, dict)) or not isinstance(answer, (list, tuple)):
        fail(task, f"{name} should be a list of batches (lists of indices), got {type(answer).__name__}")
    batches = []
    for batch in answer:
        if isinstance(batch, (torch.Tensor, np.ndarray)):
            batch = batch.tolist()
        if isinstance(batch, (str, dict)) or not isinstance(batch, (list, tuple)):
            fail(task, f"{name}: each batch should be a list of indices, got {type(batch).__name__}")
        if not all(isinstance(i, (int, np.integer)) and not isinstance(i, bool) for i in batch):
            fail(task, f"{name}: a batch holds something that is not an index: {list(batch)[:5]}")
        batches.append([int(i) for i in batch])
    return batches, name


def _shuffled_order(n: int, seed: int) -> list[int]:
    order = list(range(n))
    random.Random(seed).shuffle(order)
    return order


def check_length_grouped_batches(length_grouped_batches: Callable) -> bool:
    """Task 3: ``length_grouped_batches(lengths, batch_size, seed, pool_batches)`` follows the recipe."""
    task = "Task 3 (length-grouped batches)"
    expect_callable(task, length_grouped_batches, "length_grouped_batches")
    gen = torch.Generator().manual_seed(6)
    n, batch_size, pools = 1003, 8, 5  # 1003: the last batch is short
    lengths = torch.randint(5, 61, (n,), generator=gen).tolist()
    pool_size = batch_size * pools
    for seed in (0, 1):
        batches, name = _call_batches(task, length_grouped_batches, lengths, batch_size, seed, pools)
        again, _ = _call_batches(task, length_grouped_batches, lengths, batch_size, seed, pools)
        if again != batches:
            fail(task, f"two calls of {name} gave different batches: the result must depend on the seed only")
        flat = [i for b in batches for i in b]
        if sorted(flat) != list(range(n)):
            lost = n - len(set(flat))
            if lost:
                fail(task, f"{name} leaves out {lost} of the {n} examples (keep the last, shorter batch)")
            fail(task, f"{name} puts some examples in two batches; each index must appear exactly once")
        sizes = sorted(len(b) for b in batches)
        if sizes[1:] != [batch_size] * (len(batches) - 1) or sizes[0] < 1:
            fail(
                task,
                f"{name}: every batch should hold batch_size={batch_size} examples, except one shorter batch "
                f"at the end of the last pool; got sizes {sorted(set(sizes))}",
            )
        pool_of = {index: position // pool_size for position, index in enumerate(_shuffled_order(n, seed))}
        for b in batches:
            if len({pool_of[i] for i in b}) > 1:
                fail(
                    task,
                    f"{name}: a batch mixes examples of different pools; shuffle the indices first "
                    "(order = list(range(n)); rng.shuffle(order)), cut that order into pools of "
                    "pool_batches * batch_size, and sort within each pool, not the whole list",
                )
        by_pool: dict[int, list[list[int]]] = {}
        for b in batches:
            by_pool.setdefault(pool_of[b[0]], []).append(sorted(lengths[i] for i in b))
        for pool, members in by_pool.items():
            members.sort()
            for low, high in zip(members, members[1:]):
                if low[-1] > high[0]:
                    fail(
                        task,
                        f"{name}: inside a pool, batches should hold neighbours in length (sort the pool by "
                        f"length, then cut it into batches); pool {pool} has a batch with lengths "
                        f"{low[0]}-{low[-1]} and another with {high[0]}-{high[-1]}",
                    )
        pool_sequence = [pool_of[b[0]] for b in batches]
        if pool_sequence == sorted(pool_sequence):
            fail(
                task,
                f"{name}: the batches come pool after pool; shuffle the list of batches at the end (with the "
                "same rng), so that the lengths do not follow a pattern through the epoch",
            )
    return passed(task, "pools of the shuffled order, sorted inside, batches shuffled")


# ------------------------------------------------------------------------------------------- Task 4

_SEQUENCES = [[2, 17, 23, 9, 3], [2, 40, 3], [2, 11, 12, 13, 14, 15, 16, 3], [2, 5, 3, 31, 3]]
_PAD = 0


def _tiny_bert() -> BertModel:
    config = BertConfig(
        vocab_size=48,
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=16,
    )
    with isolated_rng(6):
        model = BertModel(config).eval()
    with torch.no_grad():  # positions as different from each other as trained ones
        model.embeddings.position_embeddings.weight.normal_(
            0, 1.0, generator=torch.Generator().manual_seed(7)
        )
    return model


def check_left_padding(left_padded: Callable) -> bool:
    """Task 4: ``left_padded(sequences, pad_id)`` pads on the left with position ids that keep BERT's outputs."""
    task = "Task 4 (left padding and positions)"
    expect_callable(task, left_padded, "left_padded")
    model = _tiny_bert()
    for sequences, pad_id in ((_SEQUENCES, _PAD), (_SEQUENCES[1:3], 47)):
        name = f"left_padded({len(sequences)} sequences, pad_id={pad_id})"
        batch = left_padded([list(s) for s in sequences], pad_id)
        if not isinstance(batch, Mapping):
            fail(task, f"{name} should be a dict with input_ids, attention_mask and position_ids")
        missing = [k for k in ("input_ids", "attention_mask", "position_ids") if k not in batch]
        if missing:
            fail(task, f"{name} has no {missing}; return input_ids, attention_mask and position_ids")
        B, T = len(sequences), max(map(len, sequences))
        for key in ("input_ids", "attention_mask", "position_ids"):
            value = batch[key]
            expect_type(task, value, torch.Tensor, f"{name}[{key!r}]")
            if tuple(value.shape) != (B, T):
                fail(task, f"{name}[{key!r}] has shape {tuple(value.shape)}, expected {(B, T)}")
            if value.dtype.is_floating_point:
                fail(task, f"{name}[{key!r}] should hold integers (dtype torch.long), got {value.dtype}")
        ids, mask, positions = (
            batch[k].cpu().long() for k in ("input_ids", "attention_mask", "position_ids")
        )
        top = model.config.max_position_embeddings - 1
        if positions.min() < 0 or positions.max() > top:
            fail(
                task,
                f"{name}: position_ids should lie in 0..{top} (give the pads 0), got {positions.tolist()}",
            )
        if ids.min() < 0 or ids.max() >= model.config.vocab_size:
            fail(task, f"{name}: input_ids holds ids that are not in the sequences or pad_id: {ids.tolist()}")
        for b, seq in enumerate(sequences):
            pads = T - len(seq)
            if ids[b, pads:].tolist() != seq:
                if ids[b, : len(seq)].tolist() == seq and pads:
                    fail(task, f"{name}: sequence {b} starts at the left; the pads go on the LEFT, before it")
                fail(task, f"{name}: row {b} of input_ids should be {pads} x pad_id, then the sequence {seq}")
            if (ids[b, :pads] != pad_id).any():
                fail(task, f"{name}: row {b} should start with {pads} x pad_id={pad_id}")
            if mask[b].tolist() != [0] * pads + [1] * len(seq):
                fail(
                    task, f"{name}: attention_mask should be 0 on the pads and 1 on the real tokens (row {b})"
                )
        with torch.no_grad():
            out = model(ids, attention_mask=mask, position_ids=positions).last_hidden_state
            for b, seq in enumerate(sequences):
                alone = model(torch.tensor([seq])).last_hidden_state[0]
                if is_close(out[b, T - len(seq) :], alone, atol=1e-4):
                    continue
                if torch.equal(positions, torch.arange(T).expand(B, T)):
                    fail(
                        task,
                        f"{name}: position_ids are 0..T-1 in every row, so the real tokens of a padded row "
                        "get shifted positions; count 0, 1, 2 ... from each row's first REAL token",
                    )
                fail(
                    task,
                    f"{name}: the real tokens of row {b} get other vectors than the sequence alone; its "
                    f"position_ids should be 0..{len(seq) - 1} on the real tokens, got "
                    f"{positions[b, T - len(seq) :].tolist()}",
                )
    return passed(task, "left padding, with positions counted from each sequence's first token")
