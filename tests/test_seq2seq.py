"""Tests of course_utils.seq2seq: causal mask, teacher forcing, greedy decoding, a tiny overfit."""

import pytest
import torch

from course_utils import set_seed
from course_utils.seq2seq import (
    Seq2SeqTransformer,
    build_vocabs,
    causal_mask,
    encode_pairs,
    evaluate_translation,
    reverse_pairs,
    train_seq2seq,
    translate,
)
from course_utils.text import pad_batch

pytestmark = pytest.mark.usefixtures("one_thread")


# A toy "language" that reverses the word order and maps each word: enough to need attention.
LEX = {"red": "ra", "blue": "bo", "cat": "ki", "dog": "du", "sees": "sa", "likes": "li", "big": "ba"}
WORDS = list(LEX)


def toy_pairs(n: int, seed: int = 0) -> list[tuple[str, str]]:
    g = torch.Generator().manual_seed(seed)
    pairs = []
    for _ in range(n):
        length = int(torch.randint(2, 5, (1,), generator=g))
        en = [WORDS[int(i)] for i in torch.randint(0, len(WORDS), (length,), generator=g)]
        pairs.append((" ".join(en), " ".join(LEX[w] for w in reversed(en))))
    return pairs


def small_model(src_v: int, tgt_v: int, **kw) -> Seq2SeqTransformer:
    return Seq2SeqTransformer(src_v, tgt_v, d_model=32, nhead=4, dim_feedforward=64, max_len=12, **kw)


def test_causal_mask():
    m = causal_mask(4)
    assert m.dtype == torch.bool and m.shape == (4, 4)
    assert torch.equal(m, torch.tensor([[1, 0, 0, 0], [1, 1, 0, 0], [1, 1, 1, 0], [1, 1, 1, 1]]).bool())
    with pytest.raises(ValueError, match="positive int"):
        causal_mask(0)


def test_changing_a_future_target_token_does_not_change_earlier_logits():
    set_seed(0)
    model = small_model(12, 12).eval()
    src = torch.tensor([[4, 5, 6, 0]])
    tgt_a = torch.tensor([[2, 7, 8, 9, 10]])
    tgt_b = tgt_a.clone()
    tgt_b[0, 3] = 11  # change position 3 only
    la, lb = model(src, tgt_a), model(src, tgt_b)
    assert la.shape == (1, 5, 12)
    torch.testing.assert_close(la[:, :3], lb[:, :3])  # positions 0..2 cannot see position 3
    assert not torch.allclose(la[:, 3:], lb[:, 3:])


def test_source_padding_does_not_change_the_output():
    set_seed(0)
    model = small_model(12, 12).eval()
    tgt = torch.tensor([[2, 7, 8]])
    short = model(torch.tensor([[4, 5]]), tgt)
    padded = model(torch.tensor([[4, 5, 0, 0, 0]]), tgt)
    torch.testing.assert_close(short, padded)
    # cross-attention gives the padding zero weight
    assert model.cross_attentions[0][..., 2:].abs().max() == 0


def test_greedy_decode_terminates_and_pads_after_eos():
    set_seed(0)
    model = small_model(12, 12)
    # force the generator to always prefer <eos> after the first token by biasing it
    with torch.no_grad():
        model.generator.bias.zero_()
        model.generator.bias[model.eos_id] = 100.0
    out = model.greedy_decode(torch.tensor([[4, 5], [6, 0]]), max_len=8)
    assert out.shape == (2, 1) and (out == model.eos_id).all()
    # an untrained model stops at max_len at the latest
    out = small_model(12, 12).greedy_decode(torch.tensor([[4, 5]]), max_len=5)
    assert out.shape[1] <= 5
    with pytest.raises(ValueError, match="max_len"):
        model.greedy_decode(torch.tensor([[4]]), max_len=12)


def test_errors_are_clear():
    with pytest.raises(ValueError, match="divisible"):
        Seq2SeqTransformer(10, 10, d_model=30, nhead=4)
    with pytest.raises(ValueError, match="too small"):
        Seq2SeqTransformer(3, 10)
    model = small_model(12, 12)
    with pytest.raises(ValueError, match="max_len"):
        model(torch.ones(1, 13, dtype=torch.long), torch.tensor([[2]]))


def test_encode_pairs_frames_targets():
    pairs = [("red cat", "ki ra")]
    sv, tv = build_vocabs(pairs)
    src, tgt = encode_pairs(pairs, sv, tv)
    assert src == [[sv["red"], sv["cat"]]]
    assert tgt == [[tv.bos_id, tv["ki"], tv["ra"], tv.eos_id]]
    assert reverse_pairs(pairs) == [("ki ra", "red cat")]


def test_tiny_overfit_both_directions():
    pairs = toy_pairs(200)
    for direction in (pairs, reverse_pairs(pairs)):
        set_seed(0)
        sv, tv = build_vocabs(direction)
        model = small_model(len(sv), len(tv), dropout=0.0)
        hist = train_seq2seq(model, direction, sv, tv, epochs=30, lr=5e-3, batch_size=50)
        assert hist["loss"][-1] < 0.2 * hist["loss"][0]
        scores = evaluate_translation(model, direction[:60], sv, tv)
        assert scores["exact_match"] >= 0.9, scores
        assert 0.9 <= scores["token_accuracy"] <= 1.0
    out = translate(model, ["ra ki", "bo du"], sv, tv)  # the reverse model: toy language -> English
    assert out == ["cat red", "dog blue"]


def test_translate_rejects_a_string():
    pairs = toy_pairs(5)
    sv, tv = build_vocabs(pairs)
    with pytest.raises(TypeError, match="list of sentences"):
        translate(small_model(len(sv), len(tv)), "red cat", sv, tv)


def test_pad_batch_matches_loss_ignoring_padding():
    # the loss of a batch with one padded target equals the loss of the sentences one by one, weighted
    set_seed(0)
    model = small_model(12, 12).eval()
    a_src, a_tgt = [4, 5], [2, 7, 8, 3]
    b_src, b_tgt = [6], [2, 9, 3]
    src, _ = pad_batch([a_src, b_src])
    tgt, _ = pad_batch([a_tgt, b_tgt])
    batch = model.loss(src, tgt)
    la = model.loss(torch.tensor([a_src]), torch.tensor([a_tgt]))
    lb = model.loss(torch.tensor([b_src]), torch.tensor([b_tgt]))
    torch.testing.assert_close(batch, (3 * la + 2 * lb) / 5)
