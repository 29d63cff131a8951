"""The aptamer unit's mini-BERT recipe, measured against a bag of k-mers.

``aptamer_bert_check()`` is the measurement quoted in ``DATA_CARD.md``: a small BERT trained from
scratch on single-base tokens of ``world.aptamer_sequences`` against a bag of k-mers
(``world.kmer_bag_accuracy``). Re-run it with ``python -m course_utils.bio``. The k-mer tokens and
vocabulary come from :mod:`course_utils.dna`.
"""

from __future__ import annotations

import math

import torch
from torch.utils.data import DataLoader

from course_utils.dna import BASES, SPECIAL_TOKENS, build_kmer_vocab, encode_kmers, kmer_tokens
from course_utils.model import BertConfig, BertForSequenceClassification
from course_utils.train import train
from course_utils.utils import check_seed
from course_utils.world import aptamer_sequences, kmer_bag_accuracy

# The DNA helpers live in `course_utils.dna` and the k-mer bag baseline in `course_utils.world`; they are
# importable from here too, as before.
__all__ = [
    "BASES",
    "SPECIAL_TOKENS",
    "aptamer_bert_check",
    "build_kmer_vocab",
    "encode_kmers",
    "kmer_bag_accuracy",
    "kmer_tokens",
]


def aptamer_bert_check(seconds_budget: float = 60, seed: int = 0, epochs: int = 16, lr: float = 3e-4) -> dict:
    """Train the course's mini-BERT from scratch on aptamers and compare it with a bag of 6-mers.

    Recipe: single-base tokens (``[CLS]`` + 24 bases + ``[SEP]``), ``BertForSequenceClassification``
    with H=64, 3 layers, 4 heads, feed-forward 256, no dropout; AdamW (lr 3e-4, weight decay 0.01,
    BERT's warmup 10 % + linear decay), batch 32, gradient clipping at 1.0, one CPU thread, trained
    with :func:`course_utils.train.train`.

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
    is_number = isinstance(seconds_budget, (int, float)) and not isinstance(seconds_budget, bool)
    if not is_number or not seconds_budget > 0:  # NaN fails "> 0" too
        raise ValueError(f"seconds_budget={seconds_budget!r} must be a positive number of seconds, e.g. 60")
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs={epochs!r} must be a positive integer")
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not 0 < lr < math.inf:
        raise ValueError(f"lr={lr!r} must be a positive finite number, e.g. 3e-4")
    seed = check_seed(seed)
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
        config = BertConfig(
            vocab_size=len(vocab),
            hidden_size=64,
            num_hidden_layers=3,
            num_attention_heads=4,
            intermediate_size=256,
            max_position_embeddings=x_tr.size(1),
            hidden_dropout_prob=0.0,
            attention_probs_dropout_prob=0.0,
        )
        model = BertForSequenceClassification(config)
        loader = DataLoader(
            range(len(x_tr)),
            batch_size=32,
            shuffle=True,
            collate_fn=lambda i: {"input_ids": x_tr[i], "attention_mask": m_tr[i], "labels": y_tr_t[i]},
        )
        test_set = [{"input_ids": x_te, "attention_mask": m_te}]  # one batch: 500 short sequences

        def test_accuracy(model: torch.nn.Module, batches: list, device: torch.device) -> dict[str, float]:
            pred = model(**batches[0]).logits.argmax(-1)
            return {"accuracy": (pred == y_te_t).float().mean().item()}

        planned = epochs * len(loader)
        history = train(
            model,
            loader,
            epochs=epochs,
            lr=lr,
            warmup=planned // 10,
            device="cpu",
            eval_loader=test_set,
            eval_every=len(loader),  # once per epoch
            eval_fn=test_accuracy,
            seed=seed,
            progress=False,
            max_seconds=seconds_budget,
            # the classifier reads [CLS] only, so the last layer skips the other positions
            forward_kwargs={"cls_only": True},
        )
    finally:
        torch.set_num_threads(threads)
    curve = history.eval_metric("accuracy")[1]
    return {
        "bert_test_accuracy": curve[-1],
        "kmer6_bag_test_accuracy": kmer_bag_accuracy(6, seed),
        "seconds": history.seconds,
        "steps": len(history),
        "planned_steps": planned,
        "stopped_early": history.stopped_early,
        "parameters": sum(p.numel() for p in model.parameters()),
        "per_epoch_test_accuracy": [round(a, 3) for a in curve],
    }


if __name__ == "__main__":
    print(aptamer_bert_check(seconds_budget=600))  # the whole recipe, however slow the machine
