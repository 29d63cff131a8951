"""How long must the tail of opinion words be before a labelled set stops covering it?

Replaces the world's opinion words with N made-up words per polarity (``pos0`` ... ``neg{N-1}``, drawn with
the world's Zipf weights 1 / (rank + 2)), regenerates the sentiment reviews, and prints for each N the share
of test reviews holding a word the 3,000 training reviews never show, and (with ``--lstm``) the test
accuracy of the benchmark's LSTM trained on all of them. This sized the world's tail (200 words per
polarity): with much fewer, the LSTM learns every word from the labels and pretraining has nothing to add.

    python benchmarks/opinion_tail.py --words 48 150 200 300
    python benchmarks/opinion_tail.py --words 200 --lstm --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import re

import pretraining_value  # this folder's own module: the benchmark's LSTM and its budget
import torch

from course_utils.world import sentiment


def use_made_up_words(n: int) -> None:
    """Give the sentiment generator n made-up opinion words per polarity (Zipf-weighted, as the world's)."""
    sentiment.POSITIVE_WORDS = tuple(f"pos{i}" for i in range(n))
    sentiment.NEGATIVE_WORDS = tuple(f"neg{i}" for i in range(n))
    sentiment._OPINION_CUMULATIVE = sentiment._zipf_cumulative(n)
    sentiment._reviews.cache_clear()


def unseen_share(train_texts, test_texts) -> float:
    """Share of test reviews with at least one opinion word that no training review holds."""
    words = lambda text: re.findall(r"\b(?:pos|neg)\d+\b", text)  # noqa: E731
    seen = {w for text in train_texts for w in words(text)}
    return sum(any(w not in seen for w in words(text)) for text in test_texts) / len(test_texts)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--words", type=int, nargs="+", default=[48, 150, 200, 300], help="words per polarity"
    )
    parser.add_argument(
        "--lstm", action="store_true", help="also train the LSTM on all labels (about 15 s a run)"
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    for n in args.words:
        use_made_up_words(n)
        train, val, test = (sentiment.sentiment_reviews(s) for s in ("train", "validation", "test"))
        line = f"{n:4d} words per polarity: {unseen_share(train[0], test[0]):.1%} of test reviews hold an unseen word"
        if args.lstm:
            scores = [pretraining_value.run_lstm(train, val, test, seed, 2) for seed in args.seeds]
            line += "; LSTM, all labels: " + " / ".join(f"{s:.3f}" for s in scores)
        print(line, flush=True)


if __name__ == "__main__":
    main()
