"""How much does pretraining pay on span tasks? Entity F1 (NER) and answer EM / F1 (QA) against the
number of labelled training examples.

The five methods of ``pretraining_value.py``, for tasks that label spans instead of whole texts:

- ``bag of words``: a logistic regression on one-hot word windows. NER: one tag per word from the
  word and its two neighbours on each side. QA: a start and an end classifier per context word, from
  the word's window, which of those words also occur in the question, and the question word
  (who/what/where/...) paired with each window word (the only way a linear model can tie a "who"
  question to names).
- ``LSTM``: :class:`course_utils.classic.BiLSTMTagger` / :class:`course_utils.classic.LSTMSpanExtractor`
  (embeddings 32, hidden 32 per direction) on the same subword ids as BERT.
- ``BERT, random init`` and ``BERT, pretrained``: ``BertForTokenClassification`` /
  ``BertForQuestionAnswering``, fine-tuned with :mod:`course_utils.spans`.
- ``BERT, frozen + LR``: the shipped encoder, frozen; a logistic regression on the last hidden state of
  each word's first subword (NER), or two on each context token's (QA start and end).

Budget as in ``pretraining_value.py``: about ``STEPS`` optimizer steps whatever the number of examples
(:func:`epochs_for`), the best evaluation on the validation split kept, two learning rates for the BERTs
(the better on validation is kept), one CPU thread. Every score is on the test split.

    python benchmarks/span_tasks.py --tasks ner qa --sizes 50 200 500 --seeds 0 1
    python benchmarks/span_tasks.py --tasks qa --sizes 200 --methods "BERT, pretrained" LSTM

``pretraining_value.py`` can call :func:`run_ner` and :func:`run_qa` with the data of :func:`ner_data`,
:func:`qa_data` and :func:`sample`.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.feature_extraction import DictVectorizer
from sklearn.linear_model import LogisticRegression

from course_utils import world
from course_utils.classic import BiLSTMTagger, LSTMSpanExtractor
from course_utils.metrics import qa_scores
from course_utils.model import (
    BertConfig,
    BertForPreTraining,
    BertForQuestionAnswering,
    BertForTokenClassification,
)
from course_utils.pretrain import PRETRAINED_DIR
from course_utils.spans import (
    NER_TAGS,
    best_span,
    encode_questions,
    entity_scores,
    fine_tune_qa,
    fine_tune_tagger,
    qa_evaluation,
    qa_loader,
    tagged_loader,
    tagging_scores,
    token_states,
)
from course_utils.tokenizer import load_tokenizer
from course_utils.utils import machine_description, set_seed

RESULTS = Path(__file__).resolve().parent / "results"
METHODS = ("bag of words", "LSTM", "BERT, random init", "BERT, pretrained", "BERT, frozen + LR")
SIZES = (50, 100, 200, 500, 1000, "all")
# Optimizer steps per run, whatever the number of examples (as pretraining_value.py), at most 100 epochs.
# Enough for every method to converge: with 300, the LSTM stopped short on the larger sets (sentiment,
# 1,000 reviews: 0.888 after 300 steps, 0.941 after 1,500, means of 3 draws; QA, all questions: F1
# 0.711 and 0.955).
STEPS = 1500
BERT_LRS = {"BERT, random init": (5e-4, 1e-3), "BERT, pretrained": (2e-4, 5e-4)}
LSTM_LR = 1e-2
EVALUATIONS = 20  # validation scores per run at most (every epoch when there are fewer epochs)


def epochs_for(n: int, steps: int = STEPS, batch_size: int = 32) -> int:
    """Epochs that make about ``steps`` optimizer steps on ``n`` examples (3 to 100)."""
    return max(3, min(100, round(steps / max(1, n // batch_size))))


def bert_for(cls, method: str, checkpoint: Path, **config):
    """``cls`` (a course BERT task model) for a BERT method: the checkpoint's weights for
    "BERT, pretrained", else the same architecture from random weights; ``config`` overrides fields."""
    if method == "BERT, pretrained":
        return cls.from_pretrained(checkpoint, **config)
    saved = BertConfig.from_dict(json.loads((checkpoint / "config.json").read_text()))
    return cls(BertConfig(**{**saved.to_dict(), **config}))


def eval_every_for(epochs: int) -> int:
    return max(1, round(epochs / EVALUATIONS))


def ner_data(split: str) -> list[tuple[list[str], list[str]]]:
    """``(words, tags)`` sentences of one split."""
    return world.ner_sentences(split)


def qa_data(split: str) -> list[dict]:
    """Question dicts (``context``, ``question``, ``answer_text``, ``answer_start``) of one split."""
    return world.qa_examples(split)


def sample(data: list, size, seed: int) -> list:
    """``size`` training examples drawn with ``seed`` (all of them for ``"all"``)."""
    if size == "all" or size >= len(data):
        return list(data)
    return random.Random(seed).sample(list(data), size)


# ----------------------------------------------------------------------------------------------------
# NER
# ----------------------------------------------------------------------------------------------------


def _window_features(words: list[str], i: int, width: int = 2) -> dict[str, float]:
    """One-hot features of word ``i`` and its neighbours, lowercased (BERT's tokenizer lowercases too)."""
    padded = ["<s>"] * width + [w.lower() for w in words] + ["</s>"] * width
    return {f"w{k:+d}={padded[i + width + k]}": 1.0 for k in range(-width, width + 1)}


def _ner_bag_of_words(train, test) -> dict:
    vectorizer = DictVectorizer()
    x = vectorizer.fit_transform([_window_features(w, i) for w, _ in train for i in range(len(w))])
    y = [tag for _, tags in train for tag in tags]
    model = LogisticRegression(max_iter=3000).fit(x, y)
    predicted = [
        list(model.predict(vectorizer.transform([_window_features(w, i) for i in range(len(w))])))
        for w, _ in test
    ]
    return {"f1": entity_scores([t for _, t in test], predicted)["f1"]}


def _ner_frozen(train, test, tokenizer, encoder) -> dict:
    def features(sentences):
        loader = tagged_loader(tokenizer, sentences, batch_size=128)
        labels = [b for batch in loader for b in batch["labels"]]
        rows, ys = [], []
        for states, y in zip(token_states(encoder, loader), labels):
            first = y[: len(states)] != -100  # the first subword of every word
            rows.append(states[first].numpy())
            ys.append(y[: len(states)][first].numpy())
        return rows, ys

    rows, ys = features(train)
    model = LogisticRegression(max_iter=5000).fit(np.concatenate(rows), np.concatenate(ys))
    test_rows, test_ys = features(test)
    gold = [[NER_TAGS[i] for i in y] for y in test_ys]
    predicted = [[NER_TAGS[i] for i in model.predict(r)] for r in test_rows]
    return {"f1": entity_scores(gold, predicted)["f1"]}


def run_ner(
    method: str, train, val, test, seed: int, tokenizer, checkpoint: Path, encoder, steps=STEPS
) -> dict:
    """Test entity F1 of one method trained on ``train`` (``(words, tags)`` sentences) for about ``steps``
    optimizer steps: ``{"f1": ...}``."""
    if method == "bag of words":
        return _ner_bag_of_words(train, test)
    if method == "BERT, frozen + LR":
        return _ner_frozen(train, test, tokenizer, encoder)
    epochs = epochs_for(len(train), steps)
    test_loader = tagged_loader(tokenizer, test, batch_size=128)
    best = (-1.0, {})
    for lr in (LSTM_LR,) if method == "LSTM" else BERT_LRS[method]:
        set_seed(seed)
        if method == "LSTM":
            model = BiLSTMTagger(len(tokenizer), 32, 32, len(NER_TAGS))
        else:
            model = bert_for(BertForTokenClassification, method, checkpoint, num_labels=len(NER_TAGS))
        result = fine_tune_tagger(
            model, tokenizer, train, val, epochs=epochs, lr=lr, seed=seed, device="cpu",
            eval_every_epochs=eval_every_for(epochs),
        )  # fmt: skip
        val_f1 = max(result["validation_f1"])
        if val_f1 > best[0]:
            best = (
                val_f1,
                {"f1": tagging_scores(model, test_loader)["f1"], "lr": lr, "validation_f1": val_f1},
            )
    return best[1]


# ----------------------------------------------------------------------------------------------------
# QA
# ----------------------------------------------------------------------------------------------------

_WORD = re.compile(r"\w+|[^\w\s]")


def _qa_word_features(example: dict) -> tuple[list[tuple[int, int]], list[dict[str, float]]]:
    """Context words with their character spans, and the features of each (see the module docstring)."""
    spans = [(m.start(), m.end()) for m in _WORD.finditer(example["context"])]
    words = [example["context"][a:b] for a, b in spans]
    question = [w.lower() for w in _WORD.findall(example["question"])]
    wh, in_question = question[0], set(question)
    features = []
    for i in range(len(words)):
        window = _window_features(words, i)
        row = dict(window)
        for name in window:
            row[f"q={wh}&{name}"] = 1.0
            offset = name.split("=")[0]
            if name.split("=", 1)[1] in in_question:
                row[f"{offset} in question"] = 1.0
        features.append(row)
    return spans, features


def _qa_bag_of_words(train, test) -> dict:
    rows, starts, ends = [], [], []
    for ex in train:
        spans, features = _qa_word_features(ex)
        a, b = ex["answer_start"], ex["answer_start"] + len(ex["answer_text"])
        rows += features
        starts += [int(s == a) for s, _ in spans]
        ends += [int(e == b) for _, e in spans]
    vectorizer = DictVectorizer()
    x = vectorizer.fit_transform(rows)
    start_model = LogisticRegression(max_iter=3000).fit(x, starts)
    end_model = LogisticRegression(max_iter=3000).fit(x, ends)
    answers = []
    for ex in test:
        spans, features = _qa_word_features(ex)
        x = vectorizer.transform(features)
        s, e = best_span(
            start_model.decision_function(x), end_model.decision_function(x), torch.ones(len(spans)), 30
        )
        answers.append(ex["context"][spans[s][0] : spans[e][1]])
    return qa_scores(answers, [ex["answer_text"] for ex in test])


def _qa_frozen(train, test, tokenizer, encoder) -> dict:
    items, offsets = encode_questions(tokenizer, train)
    rows, starts, ends = [], [], []
    for states, item, offs in zip(
        token_states(encoder, qa_loader(tokenizer, items, batch_size=128)), items, offsets
    ):
        context = torch.tensor([o is not None for o in offs])
        rows.append(states[context].numpy())
        positions = context.nonzero().squeeze(1).tolist()
        starts += [int(p == item["start_positions"]) for p in positions]
        ends += [int(p == item["end_positions"]) for p in positions]
    x = np.concatenate(rows)
    start_model = LogisticRegression(max_iter=5000).fit(x, starts)
    end_model = LogisticRegression(max_iter=5000).fit(x, ends)
    items, offsets = encode_questions(tokenizer, test)
    answers = []
    for states, offs, ex in zip(
        token_states(encoder, qa_loader(tokenizer, items, batch_size=128)), offsets, test
    ):
        context = torch.tensor([o is not None for o in offs])
        start_scores = torch.full((len(offs),), float("-inf"))
        end_scores = start_scores.clone()
        start_scores[context] = torch.tensor(start_model.decision_function(states[context].numpy())).float()
        end_scores[context] = torch.tensor(end_model.decision_function(states[context].numpy())).float()
        s, e = best_span(start_scores, end_scores, context, 30)
        answers.append(ex["context"][offs[s][0] : offs[e][1]])
    return qa_scores(answers, [ex["answer_text"] for ex in test])


def run_qa(
    method: str, train, val, test, seed: int, tokenizer, checkpoint: Path, encoder, steps=STEPS
) -> dict:
    """Test scores of one method trained on ``train`` (question dicts) for about ``steps`` optimizer
    steps: ``{"exact_match", "f1"}``."""
    if method == "bag of words":
        result = _qa_bag_of_words(train, test)
    elif method == "BERT, frozen + LR":
        result = _qa_frozen(train, test, tokenizer, encoder)
    else:
        epochs = epochs_for(len(train), steps)
        items, offsets = encode_questions(tokenizer, test)
        test_loader = qa_loader(tokenizer, items, batch_size=128)
        best = (-1.0, {})
        for lr in (LSTM_LR,) if method == "LSTM" else BERT_LRS[method]:
            set_seed(seed)
            if method == "LSTM":
                model = LSTMSpanExtractor(len(tokenizer), 32, 32)
            else:
                model = bert_for(BertForQuestionAnswering, method, checkpoint)
            run = fine_tune_qa(
                model, tokenizer, train, val, epochs=epochs, lr=lr, seed=seed, device="cpu",
                eval_every_epochs=eval_every_for(epochs),
            )  # fmt: skip
            val_f1 = max(run["validation_f1"])
            if val_f1 > best[0]:
                best = (
                    val_f1,
                    {**qa_evaluation(model, test_loader, test, offsets), "lr": lr, "validation_f1": val_f1},
                )
        result = best[1]
    return {k: v for k, v in result.items() if k not in ("answers", "count")}


# ----------------------------------------------------------------------------------------------------
# Command line
# ----------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", nargs="+", default=["ner", "qa"], choices=["ner", "qa"])
    parser.add_argument("--sizes", nargs="+", default=["50", "200", "500"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    parser.add_argument("--steps", type=int, default=STEPS, help=f"optimizer steps per neural run ({STEPS})")
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS, metavar="METHOD")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--out", default=None, help="write the results to this JSON file")
    parser.add_argument("--checkpoint", default=str(PRETRAINED_DIR), help="a folder written by pretraining")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    sizes = [s if s == "all" else int(s) for s in args.sizes]
    checkpoint = Path(args.checkpoint)
    tokenizer = load_tokenizer(checkpoint)
    encoder = BertForPreTraining.from_pretrained(checkpoint).bert
    results: dict = {
        "command": "python benchmarks/span_tasks.py " + " ".join(sys.argv[1:] if argv is None else argv)
    }
    results["machine"] = machine_description("cpu")
    results["steps"] = args.steps
    start = time.perf_counter()
    for task in args.tasks:
        data, run = (ner_data, run_ner) if task == "ner" else (qa_data, run_qa)
        train_all, val, test = (data(split) for split in world.SPLITS)
        for size in sizes:
            for method in args.methods:
                runs = []
                for seed in args.seeds:  # with all the data the seed still changes the weights and batches
                    t0 = time.perf_counter()
                    score = run(
                        method, sample(train_all, size, seed), val, test, seed, tokenizer, checkpoint, encoder,
                        args.steps,
                    )  # fmt: skip
                    runs.append({**score, "seed": seed, "seconds": time.perf_counter() - t0})
                f1s = [r["f1"] for r in runs]
                row = {"f1": statistics.mean(f1s), "f1_std": statistics.pstdev(f1s), "runs": runs}
                if task == "qa":
                    row["exact_match"] = statistics.mean(r["exact_match"] for r in runs)
                results.setdefault(task, {}).setdefault(str(size), {})[method] = row
                em = f"  EM {row['exact_match']:.3f}" if task == "qa" else ""
                print(
                    f"{task:3s} {size!s:>5} {method:18s} F1 {row['f1']:.3f} ± {row['f1_std']:.3f}{em}  "
                    f"{[round(f, 3) for f in f1s]}  {statistics.mean(r['seconds'] for r in runs):.0f} s/run",
                    flush=True,
                )
    results["seconds"] = time.perf_counter() - start
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=1) + "\n")
    return results


if __name__ == "__main__":
    main()
