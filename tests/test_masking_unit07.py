"""MLM masking options: another split of the chosen tokens, and whole-word masking (``word_ids``).

The defaults must give exactly the masks the recipe gave before these options existed: the first test
compares with a copy of that recipe, draw for draw.
"""

from __future__ import annotations

import pytest
import torch

from course_utils.data import IGNORE_INDEX, MlmMasking, PretrainingCollator, _first_token_of_word, mask_tokens
from course_utils.tokenizer import SHIPPED_VOCAB_SIZE, load_tokenizer

# V is the shipped tokenizer's size: the collator test below compares with a copy of the recipe on it.
V, SPECIAL, MASK, PAD = SHIPPED_VOCAB_SIZE, (0, 1, 2, 3, 4), 4, 0
SETTINGS = dict(mask_token_id=MASK, vocab_size=V, special_ids=SPECIAL)


def _sample(rows: int = 1000, cols: int = 1000, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, V, (rows, cols), generator=g)
    ids[torch.rand(rows, cols, generator=g) < 0.1] = PAD
    return ids


def _recipe_before_the_options(ids: torch.Tensor, generator: torch.Generator, p: float = 0.15):
    """The masking as it was written before mask_replace_prob, random_replace_prob and word_ids."""
    special = torch.tensor(sorted(set(SPECIAL) | {MASK}))
    chosen = torch.rand(ids.shape, generator=generator) < p
    chosen &= ~torch.isin(ids, special)
    u = torch.rand(ids.shape, generator=generator)
    to_mask = chosen & (u < 0.8)
    to_random = chosen & (u >= 0.8) & (u < 0.9)
    ordinary = torch.ones(V, dtype=torch.bool)
    ordinary[special] = False
    ordinary_ids = ordinary.nonzero().squeeze(1)
    pick = torch.randint(len(ordinary_ids), ids.shape, generator=generator)
    masked = ids.clone()
    masked[to_mask] = MASK
    masked[to_random] = ordinary_ids[pick[to_random]]
    return masked, torch.where(chosen, ids, torch.full_like(ids, IGNORE_INDEX))


@pytest.mark.parametrize("seed", [0, 1, 7])
@pytest.mark.parametrize("p", [0.15, 0.5])
def test_the_defaults_give_exactly_the_masks_of_before(seed, p):
    ids = _sample(300, 400, seed)
    expected = _recipe_before_the_options(ids, torch.Generator().manual_seed(seed), p)
    for masked, labels in (
        MlmMasking(**SETTINGS, mlm_probability=p)(ids, torch.Generator().manual_seed(seed)),
        MlmMasking(**SETTINGS, mlm_probability=p, mask_replace_prob=0.8, random_replace_prob=0.1)(
            ids, torch.Generator().manual_seed(seed)
        ),
        mask_tokens(ids, **SETTINGS, mlm_probability=p, generator=torch.Generator().manual_seed(seed)),
        MlmMasking(**SETTINGS, mlm_probability=p)(ids, torch.Generator().manual_seed(seed), None),
    ):
        assert torch.equal(masked, expected[0]) and torch.equal(labels, expected[1])
    assert (
        expected[1] != IGNORE_INDEX
    ).sum() > 1000  # enough chosen tokens for the comparison to mean something


def test_the_collator_still_masks_as_before():
    tok = load_tokenizer()
    items = [{"input_ids": [2, *range(10, 10 + n), 3], "next_sentence_label": 0} for n in range(5, 40)]
    batch = PretrainingCollator(tok, seed=3)(items)
    special = tuple(sorted({*tok.all_special_ids, tok.pad_token_id}))
    assert special == SPECIAL and len(tok) == V  # the test's copy of the recipe uses these ids
    original = torch.full_like(batch["input_ids"], PAD)
    for b, item in enumerate(items):
        original[b, : len(item["input_ids"])] = torch.tensor(item["input_ids"])
    expected = _recipe_before_the_options(original, torch.Generator().manual_seed(3))
    assert torch.equal(batch["input_ids"], expected[0]) and torch.equal(batch["labels"], expected[1])


def _shares(ids, masked, labels):
    chosen = labels != IGNORE_INDEX
    n = chosen.sum().item()
    to_mask = (masked[chosen] == MASK).sum().item()
    unchanged = (masked[chosen] == ids[chosen]).sum().item()
    return n, to_mask / n, (n - to_mask - unchanged) / n, unchanged / n


@pytest.mark.parametrize("split", [(1.0, 0.0), (0.0, 1.0), (0.0, 0.0), (0.5, 0.3), (0.8, 0.2)])
def test_another_split_of_the_chosen_tokens(split):
    ids = _sample()
    mask_p, random_p = split
    masked, labels = mask_tokens(
        ids,
        **SETTINGS,
        mask_replace_prob=mask_p,
        random_replace_prob=random_p,
        generator=torch.Generator().manual_seed(1),
    )
    n, to_mask, to_random, unchanged = _shares(ids, masked, labels)
    bound = 4 * (0.25 / n) ** 0.5  # four standard deviations of a share, at its widest
    # a random replacement equals the original token once in 1995 draws: it counts as unchanged here
    expected_random = random_p * (1 - 1 / (V - len(SPECIAL)))
    assert abs(to_mask - mask_p) < bound
    assert abs(to_random - expected_random) < bound
    assert abs(unchanged - (1 - mask_p - expected_random)) < bound
    if mask_p == 1.0:
        assert to_mask == 1.0  # exactly: u < 1 always
    if random_p == 0.0:
        assert to_random == 0.0
    # whatever the split, the same generator chooses the same positions as BERT's recipe
    _, default_labels = mask_tokens(ids, **SETTINGS, generator=torch.Generator().manual_seed(1))
    assert torch.equal(labels, default_labels)


def test_always_mask_sends_to_mask_a_superset_of_the_default():
    ids = _sample(200, 200)
    bert, labels = mask_tokens(ids, **SETTINGS, generator=torch.Generator().manual_seed(4))
    always, _ = mask_tokens(
        ids,
        **SETTINGS,
        mask_replace_prob=1.0,
        random_replace_prob=0.0,
        generator=torch.Generator().manual_seed(4),
    )
    chosen = labels != IGNORE_INDEX
    assert torch.equal(always == MASK, chosen)  # every chosen token, and only those
    # the chosen tokens BERT's recipe replaced at random or kept: about 20 % of them
    others = (chosen & (bert != MASK)).sum().item() / chosen.sum().item()
    assert 0.17 < others < 0.23


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (dict(mask_replace_prob=-0.1), r"mask_replace_prob must be a number in \[0, 1\], got -0.1"),
        (dict(mask_replace_prob=1.5), "mask_replace_prob must be a number in"),
        (dict(mask_replace_prob=True), "mask_replace_prob must be a number in"),
        (dict(mask_replace_prob="0.8"), "mask_replace_prob must be a number in"),
        (dict(random_replace_prob=None), "random_replace_prob must be a number in"),
        (dict(random_replace_prob=2), "random_replace_prob must be a number in"),
        (dict(mask_replace_prob=0.8, random_replace_prob=0.3), "is more than 1: they are shares"),
    ],
)
def test_bad_splits_are_rejected_where_they_enter(overrides, message):
    with pytest.raises(ValueError, match=message):
        MlmMasking(**SETTINGS, **overrides)
    with pytest.raises(ValueError, match=message):
        mask_tokens(torch.tensor([[5, 6]]), **SETTINGS, **overrides)


# --- whole-word masking ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("word_ids", "first"),
    [
        ([1, 1, 2, -1, 0, 0], [0, 0, 2, 3, 4, 4]),
        ([-1, 0, 1, 1, 1, 2, -1, 0, 0, -1, -1], [0, 1, 2, 2, 2, 5, 6, 7, 7, 9, 9]),
        ([[3, 3, 3], [0, 1, 1]], [[0, 0, 0], [0, 1, 1]]),
    ],
)
def test_first_token_of_each_word(word_ids, first):
    assert _first_token_of_word(torch.tensor(word_ids)).tolist() == first


def _words(rows: int = 400, seed: int = 0):
    """Rows of [CLS] words [SEP] padding: words of 1 to 4 tokens, with word ids as a tokenizer gives them."""
    g = torch.Generator().manual_seed(seed)
    ids, words = torch.full((rows, 120), PAD), torch.full((rows, 120), -1)
    for r in range(rows):
        t, w = 1, 0
        ids[r, 0] = 2
        while t < 100:
            length = int(torch.randint(1, 5, (1,), generator=g))
            ids[r, t : t + length] = torch.randint(5, V, (length,), generator=g)
            words[r, t : t + length] = w
            t, w = t + length, w + 1
        ids[r, t] = 3
    return ids, words


def test_whole_words_are_chosen_whole_at_the_same_rate():
    ids, words = _words()
    masked, labels = mask_tokens(ids, **SETTINGS, generator=torch.Generator().manual_seed(0), word_ids=words)
    chosen = labels != IGNORE_INDEX
    assert not chosen[words < 0].any(), "[CLS], [SEP] and padding (word id -1) are never chosen"
    n_words = chosen_words = split_words = 0
    for r in range(len(ids)):
        for w in words[r].unique().tolist():
            if w < 0:
                continue
            states = chosen[r][words[r] == w]
            n_words += 1
            chosen_words += bool(states.all())
            split_words += bool(states.any() and not states.all())
    assert split_words == 0, "a word is chosen whole or not at all"
    bound = 4 * (0.25 / n_words) ** 0.5
    assert abs(chosen_words / n_words - 0.15) < bound
    assert abs(chosen.sum().item() / (words >= 0).sum().item() - 0.15) < 2 * bound  # tokens: the same rate
    # each chosen token still gets its own [MASK] / random / unchanged draw
    n, to_mask, to_random, unchanged = _shares(ids, masked, labels)
    bound = 4 * (0.25 / n) ** 0.5
    assert abs(to_mask - 0.8) < bound and abs(to_random - 0.1) < bound and abs(unchanged - 0.1) < bound
    # without word ids the same generator splits words: the option is what keeps them whole
    _, per_token = mask_tokens(ids, **SETTINGS, generator=torch.Generator().manual_seed(0))
    long_words = [(r, w) for r in range(20) for w in words[r].unique().tolist() if (words[r] == w).sum() > 1]
    assert any(
        (per_token[r][words[r] == w] != IGNORE_INDEX).any()
        and (per_token[r][words[r] == w] == IGNORE_INDEX).any()
        for r, w in long_words
        if w >= 0
    )


def test_whole_words_with_the_course_tokenizer():
    tok = load_tokenizer()
    text = "Ruby bought a postcard of dinosaurs at the zyxwv shop in Riverton."
    pair = tok(text, "Her brother quixotically waited.", return_tensors="pt")
    ids = pair["input_ids"]
    words = torch.tensor([[-1 if w is None else w for w in pair.word_ids(0)]])
    # sentence B restarts its word ids at 0: runs of equal ids still tell its words apart
    assert (words == 0).sum() >= 2
    pieces = [t for t in tok.convert_ids_to_tokens(ids[0]) if t.startswith("##")]
    assert pieces, "the example needs words cut into pieces"
    for seed in range(200):
        _, labels = mask_tokens(
            ids,
            mask_token_id=tok.mask_token_id,
            vocab_size=len(tok),
            special_ids=tok.all_special_ids,
            mlm_probability=0.3,
            generator=torch.Generator().manual_seed(seed),
            word_ids=words,
        )
        chosen = labels[0] != IGNORE_INDEX
        starts = _first_token_of_word(words[0])
        assert torch.equal(chosen, chosen[starts] & (words[0] >= 0)), f"seed {seed}: a word was cut"


@pytest.mark.parametrize(
    ("word_ids", "error", "message"),
    [
        ([[0, 1, 2]], TypeError, "word_ids must be a torch.Tensor, got list"),
        (torch.tensor([[0.0, 1.0, 2.0]]), TypeError, "word_ids must hold integers"),
        (torch.tensor([[0, 1]]), ValueError, r"word_ids has shape \(1, 2\) but input_ids has \(1, 3\)"),
        (torch.tensor([0, 1, 2]), ValueError, "one word id per token"),
    ],
)
def test_bad_word_ids_are_rejected(word_ids, error, message):
    with pytest.raises(error, match=message):
        MlmMasking(**SETTINGS)(torch.tensor([[5, 6, 7]]), word_ids=word_ids)
