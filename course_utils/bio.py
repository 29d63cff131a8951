"""DNA helpers for the aptamer unit: k-mer tokens, a k-mer vocabulary, and the mini-BERT recipe.

``aptamer_bert_check()`` is the measurement quoted in ``DATA_CARD.md``: a small BERT trained from
scratch on single-base tokens of ``world.aptamer_sequences`` against a bag of k-mers. Re-run it with
``python -m course_utils.bio``.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Sequence

import torch

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")  # ids 0-4, as in the course tokenizer
BASES = "ACGT"


def _check_dna(seq: str) -> None:
    if not isinstance(seq, str) or not seq or set(seq) - set(BASES):
        bad = sorted(set(seq) - set(BASES)) if isinstance(seq, str) else type(seq).__name__
        raise ValueError(f"expected a non-empty string of A, C, G, T; got {seq!r:.40} (bad: {bad})")


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
        ``{token: id}`` with ``[PAD]``=0, ``[UNK]``=1, ``[CLS]``=2, ``[SEP]``=3, ``[MASK]``=4.
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
    if not seqs:
        raise ValueError("seqs is empty; pass at least one sequence")
    rows = [[vocab["[CLS]"]] + [vocab.get(t, vocab["[UNK]"]) for t in kmer_tokens(s, k, stride)] + [vocab["[SEP]"]]
            for s in seqs]  # fmt: skip
    T = max(len(r) for r in rows)
    ids = torch.full((len(rows), T), vocab["[PAD]"], dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = torch.tensor(r)
    return ids, (ids != vocab["[PAD]"]).long()


def kmer_bag_accuracy(k: int = 6, seed: int = 0) -> float:
    """Test accuracy of a bag of k-mers + logistic regression on ``world.aptamer_sequences``."""
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression

    from course_utils.world import aptamer_sequences

    s_tr, y_tr = aptamer_sequences("train", seed)
    s_te, y_te = aptamer_sequences("test", seed)
    vec = CountVectorizer(analyzer="char", ngram_range=(k, k), lowercase=False)
    clf = LogisticRegression(max_iter=3000).fit(vec.fit_transform(s_tr), y_tr)
    return float((clf.predict(vec.transform(s_te)) == y_te).mean())


def aptamer_bert_check(seconds_budget: float = 60, seed: int = 0, epochs: int = 16, lr: float = 3e-4) -> dict:
    """Train the course's mini-BERT from scratch on aptamers and compare it with a bag of 6-mers.

    Recipe: single-base tokens (``[CLS]`` + 24 bases + ``[SEP]``), ``BertForSequenceClassification``
    with H=64, 3 layers, 4 heads, feed-forward 256, no dropout; AdamW (lr 3e-4, weight decay 0.01,
    BERT's warmup 10 % + linear decay), batch 32, gradient clipping at 1.0, one CPU thread. A low
    learning rate matters: at 1e-3 the model stays at chance.

    Args:
        seconds_budget: stop training early (and say so) when this much wall time is spent, so a slow
            machine cannot hang a test; the schedule still assumes the full ``epochs``.
        seed: seeds the data set, the weights and the batch order.
        epochs: passes over the 6000 training sequences (188 steps each).
        lr: peak learning rate.

    Returns:
        ``{"bert_test_accuracy", "kmer6_bag_test_accuracy", "seconds", "steps", "planned_steps",
        "stopped_early", "parameters", "per_epoch_test_accuracy"}``.
    """
    from course_utils.model import BertConfig, BertForSequenceClassification
    from course_utils.train import linear_warmup_decay, make_optimizer
    from course_utils.world import aptamer_sequences

    if not seconds_budget > 0:
        raise ValueError(f"seconds_budget={seconds_budget!r} must be positive")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny matrices: one thread is as fast and does not fight other jobs
    try:
        torch.manual_seed(seed)
        vocab = build_kmer_vocab(1)
        s_tr, y_tr = aptamer_sequences("train", seed)
        s_te, y_te = aptamer_sequences("test", seed)
        x_tr, m_tr = encode_kmers(s_tr, vocab)
        x_te, m_te = encode_kmers(s_te, vocab)
        y_tr_t, y_te_t = torch.tensor(y_tr), torch.tensor(y_te)
        config = BertConfig(vocab_size=len(vocab), hidden_size=64, num_hidden_layers=3, num_attention_heads=4,
                            intermediate_size=256, max_position_embeddings=x_tr.size(1),
                            hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)  # fmt: skip
        model = BertForSequenceClassification(config)
        batch = 32
        planned = epochs * math.ceil(len(x_tr) / batch)
        optimizer = make_optimizer(model, lr=lr, weight_decay=0.01)
        scheduler = linear_warmup_decay(optimizer, planned // 10, planned)
        generator = torch.Generator().manual_seed(seed)

        def test_accuracy() -> float:
            model.eval()
            with torch.no_grad():
                pred = model(x_te, attention_mask=m_te).logits.argmax(-1)
            model.train()
            return (pred == y_te_t).float().mean().item()

        start, steps, stopped, curve = time.perf_counter(), 0, False, []
        model.train()
        for _ in range(epochs):
            order = torch.randperm(len(x_tr), generator=generator)
            for i in range(0, len(order), batch):
                idx = order[i : i + batch]
                loss = model(x_tr[idx], attention_mask=m_tr[idx], labels=y_tr_t[idx]).loss
                optimizer.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                optimizer.step()
                scheduler.step()
                steps += 1
                if time.perf_counter() - start > seconds_budget:
                    stopped = True
                    break
            curve.append(round(test_accuracy(), 3))
            if stopped:
                break
        seconds = time.perf_counter() - start
        accuracy = test_accuracy()
    finally:
        torch.set_num_threads(threads)
    return {
        "bert_test_accuracy": accuracy,
        "kmer6_bag_test_accuracy": kmer_bag_accuracy(6, seed),
        "seconds": seconds,
        "steps": steps,
        "planned_steps": planned,
        "stopped_early": stopped,
        "parameters": sum(p.numel() for p in model.parameters()),
        "per_epoch_test_accuracy": curve,
    }


if __name__ == "__main__":
    print(aptamer_bert_check())
