"""How much does pretraining pay? Test accuracy against the number of labelled training examples.

For each task and each number of labels, five models learn from the same labelled examples:

- ``bag of words``: word counts + logistic regression (scikit-learn);
- ``LSTM``: :class:`course_utils.classic.LSTMClassifier`;
- ``BERT, random init``: the course's mini-BERT, from random weights;
- ``BERT, pretrained``: the same network starting from the shipped checkpoint, fine-tuned;
- ``BERT, frozen + LR``: the shipped checkpoint, frozen, as features for a logistic regression.

Four tasks: sentiment and the sentence-pair task (test accuracy), NER (test entity F1) and QA (test
exact match and F1); the token tasks' methods live in ``span_tasks.py``.

The neural models train for about the same number of optimizer steps at every size (``--steps``,
1,500 by default; more epochs when there are fewer examples, at most 100), enough for each to converge,
and each keeps its best epoch on the full validation split (BERTs: of at most 20 evenly spaced
validations, as in ``span_tasks.py``); the BERTs try two learning rates and keep the one with the better
validation accuracy. Test accuracy is the mean over seeds (the examples drawn and the initial weights
change with the seed).

    python benchmarks/pretraining_value.py                       # every task, every size
    python benchmarks/pretraining_value.py --tasks sentiment --sizes 200 --seeds 0 1 2
    python benchmarks/pretraining_value.py --table benchmarks/results/pretraining_value_*.json

Results go to ``--out`` + ``.json`` and ``.png`` (default ``benchmarks/results/pretraining_value``), with
the machine, the commands and the budget; the data card's figures are in ``pretraining_value_*.json``.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import span_tasks  # this folder's own module: NER and QA, with the budget both scripts share
import torch
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression

from course_utils import world
from course_utils.classic import LSTMClassifier, evaluate_classifier, train_classifier
from course_utils.finetune import (
    classification_loader,
    fine_tune_classifier,
    sentence_features,
)
from course_utils.model import BertForPreTraining, BertForSequenceClassification
from course_utils.pretrain import PRETRAINED_DIR
from course_utils.text import Vocab, simple_tokenize
from course_utils.tokenizer import load_tokenizer
from course_utils.train import accuracy
from course_utils.utils import machine_description, set_seed

RESULTS = Path(__file__).resolve().parent / "results"
METHODS = span_tasks.METHODS
SIZES = span_tasks.SIZES
STEPS = span_tasks.STEPS  # optimizer steps per run by default, whatever the number of examples
# The score each task is ranked by (QA also reports exact match).
METRICS = {"sentiment": "accuracy", "pairs": "accuracy", "ner": "f1", "qa": "f1"}
BERT_LRS = span_tasks.BERT_LRS  # two learning rates per BERT; validation picks one


def task_data(task: str, split: str):
    """One split of a task: ``(inputs, labels)`` for sentiment and pairs (inputs are texts or
    (premise, hypothesis) pairs); a list of ``(words, tags)`` for NER; a list of questions for QA."""
    if task == "ner":
        return span_tasks.ner_data(split)
    if task == "qa":
        return span_tasks.qa_data(split)
    if task == "sentiment":
        return world.sentiment_reviews(split)
    if task == "pairs":
        rows = world.pair_examples(split)
        return [(r["premise"], r["hypothesis"]) for r in rows], [r["label"] for r in rows]
    raise ValueError(f"unknown task {task!r}; known: {', '.join(METRICS)}")


def as_text(x) -> str:
    """One text for the models that read one: a pair joined by a separator."""
    return x if isinstance(x, str) else f"{x[0]} | {x[1]}"


def sample(inputs: list, labels: list[int], size, seed: int) -> tuple[list, list[int]]:
    """``size`` training examples drawn with ``seed``, every class present (stratified)."""
    if size == "all" or size >= len(inputs):
        return inputs, labels
    rng = random.Random(seed)
    by_class: dict[int, list[int]] = {}
    for i, y in enumerate(labels):
        by_class.setdefault(y, []).append(i)
    chosen = []
    for c, idx in sorted(by_class.items()):
        chosen += rng.sample(idx, size // len(by_class) + (c < size % len(by_class)))
    rng.shuffle(chosen)
    return [inputs[i] for i in chosen], [labels[i] for i in chosen]


epochs_for = span_tasks.epochs_for  # more epochs when there are fewer examples


def run_bag_of_words(train, val, test, seed) -> float:
    vectorizer = CountVectorizer(ngram_range=(1, 2))
    x = vectorizer.fit_transform([as_text(t) for t in train[0]])
    model = LogisticRegression(max_iter=3000).fit(x, train[1])
    return float(
        (model.predict(vectorizer.transform([as_text(t) for t in test[0]])) == np.array(test[1])).mean()
    )


def run_lstm(train, val, test, seed, num_labels, steps=STEPS) -> float:
    vocab = Vocab.build([simple_tokenize(as_text(t)) for t in train[0]])
    encode = lambda data: ([vocab.encode(simple_tokenize(as_text(t))) for t in data[0]], data[1])
    set_seed(seed)
    model = LSTMClassifier(len(vocab), 32, 32, num_labels)
    best, best_state = -1.0, None
    for _ in range(epochs_for(len(train[0]), steps)):  # one epoch at a time, keeping the best on validation
        train_classifier(model, encode(train), epochs=1, lr=1e-2, batch_size=32, seed=seed, device="cpu")
        accuracy = evaluate_classifier(model, encode(val), device="cpu")
        if accuracy > best:
            best, best_state = accuracy, {k: v.clone() for k, v in model.state_dict().items()}
    model.load_state_dict(best_state)
    return evaluate_classifier(model, encode(test), device="cpu")


def run_bert(
    method, train, val, test, seed, num_labels, tokenizer, checkpoint: Path, lrs=None, steps=STEPS, device="cpu"
) -> float:
    """Test accuracy of the BERT ``method`` fine-tuned on ``train`` for about ``steps`` optimizer steps,
    at the learning rate of ``lrs`` (default: ``BERT_LRS[method]``) whose best epoch scores highest on
    ``val``. The benchmark trains on the CPU; on a GPU (``device``) the training loop uses bf16 autocast."""
    best = (-1.0, 0.0)
    epochs = epochs_for(len(train[0]), steps)
    for lr in BERT_LRS[method] if lrs is None else lrs:
        set_seed(seed)
        model = span_tasks.bert_for(BertForSequenceClassification, method, checkpoint, num_labels=num_labels)
        result = fine_tune_classifier(
            model,
            tokenizer,
            train,
            val,
            epochs=epochs,
            lr=lr,
            seed=seed,
            device=device,
            eval_every_epochs=span_tasks.eval_every_for(epochs),  # at most 20 validations, as NER and QA
        )
        val_accuracy = max(result["validation_accuracy"])
        if val_accuracy > best[0]:
            best = (
                val_accuracy,
                accuracy(model, classification_loader(tokenizer, *test, batch_size=128)),
            )
    return best[1]


def run_frozen(train, val, test, seed, encoder, tokenizer) -> float:
    x_train = sentence_features(encoder, tokenizer, train[0]).numpy()
    model = LogisticRegression(max_iter=5000, C=1.0).fit(x_train, train[1])
    x_test = sentence_features(encoder, tokenizer, test[0]).numpy()
    return float((model.predict(x_test) == np.array(test[1])).mean())


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", nargs="+", default=list(METRICS), choices=list(METRICS))
    parser.add_argument("--sizes", nargs="+", default=[str(s) for s in SIZES])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument(
        "--steps", type=int, default=STEPS, help=f"optimizer steps per neural run (default {STEPS})"
    )
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS, metavar="METHOD")
    parser.add_argument(
        "--threads", type=int, default=1, help="torch CPU threads (1 is fastest for these sizes)"
    )
    parser.add_argument("--out", default=str(RESULTS / "pretraining_value"), help="path without extension")
    parser.add_argument(
        "--merge",
        action="store_true",
        help="add these runs to the results already in --out (same checkpoint) instead of replacing them",
    )
    parser.add_argument(
        "--checkpoint", default=str(PRETRAINED_DIR), help="a folder written by the pretrain command"
    )
    parser.add_argument(
        "--table",
        nargs="+",
        metavar="JSON",
        help="only print the markdown table of saved results (e.g. benchmarks/results/*.json) and stop",
    )
    args = parser.parse_args(argv)
    if args.table:
        print(markdown_table([Path(p) for p in args.table]))
        return {}
    torch.set_num_threads(args.threads)
    sizes = [s if s == "all" else int(s) for s in args.sizes]
    checkpoint = Path(args.checkpoint)
    tokenizer = load_tokenizer(checkpoint)
    encoder = BertForPreTraining.from_pretrained(checkpoint).bert
    command = "python benchmarks/pretraining_value.py " + " ".join(sys.argv[1:] if argv is None else argv)
    made_with = json.loads((checkpoint / "training_log.json").read_text()).get("command")
    out = Path(args.out)
    results: dict = {
        "commands": [command],
        "machine": machine_description("cpu"),
        "checkpoint": made_with,
        "steps": args.steps,
    }
    if args.merge and out.with_suffix(".json").is_file():
        results = json.loads(out.with_suffix(".json").read_text())
        if results.get("checkpoint") != made_with:
            parser.error(f"--merge: {out.with_suffix('.json')} was made with another checkpoint")
        saved_steps = results.get("steps", 300)  # files written before --steps existed used 300
        if saved_steps != args.steps:
            parser.error(f"--merge: {out.with_suffix('.json')} was made with --steps {saved_steps}")
        results["commands"] = results.get("commands", [results.pop("command", None)]) + [command]
    start = time.perf_counter()
    for task in args.tasks:
        train_all, val, test = (task_data(task, split) for split in world.SPLITS)
        span_task = task in ("ner", "qa")
        num_labels = None if span_task else len(set(train_all[1]))
        table = results.setdefault(task, {})
        for size in sizes:
            row = table.setdefault(str(size), {})
            for method in args.methods:
                runs = []
                for seed in args.seeds:  # with all the data the seed still changes the weights and batches
                    if span_task:
                        train = span_tasks.sample(train_all, size, seed)
                        run = span_tasks.run_ner if task == "ner" else span_tasks.run_qa
                        runs.append(
                            run(method, train, val, test, seed, tokenizer, checkpoint, encoder, args.steps)
                        )
                        continue
                    train = sample(*train_all, size, seed)
                    if method == "bag of words":
                        score = run_bag_of_words(train, val, test, seed)
                    elif method == "LSTM":
                        score = run_lstm(train, val, test, seed, num_labels, args.steps)
                    elif method == "BERT, frozen + LR":
                        score = run_frozen(train, val, test, seed, encoder, tokenizer)
                    else:
                        score = run_bert(
                            method,
                            train,
                            val,
                            test,
                            seed,
                            num_labels,
                            tokenizer,
                            checkpoint,
                            steps=args.steps,
                        )
                    runs.append({"accuracy": score})
                scores = [float(r[METRICS[task]]) for r in runs]
                row[method] = {
                    "metric": METRICS[task],
                    "mean": statistics.mean(scores),
                    "std": statistics.pstdev(scores),
                    "scores": scores,
                }
                if task == "qa":
                    row[method]["exact_match"] = statistics.mean(float(r["exact_match"]) for r in runs)
                print(
                    f"{task:9s} {size!s:>5} {method:20s} {METRICS[task]} {statistics.mean(scores):.3f} "
                    f"± {statistics.pstdev(scores):.3f}  {[round(s, 3) for s in scores]}",
                    flush=True,
                )
    results["seconds"] = results.get("seconds", 0.0) + time.perf_counter() - start
    for task in METRICS:  # sizes in increasing order, whatever order the runs came in
        if task in results:
            results[task] = {size: results[task][size] for size in sorted(results[task], key=_size_order)}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(results, indent=1) + "\n")
    plot(results, [t for t in METRICS if t in results], out.with_suffix(".png"))
    return results


def markdown_table(paths: list[Path]) -> str:
    """The data card's table: one row per task and size, mean ± spread per method, the best in bold."""
    rows = [
        "| task | labels | " + " | ".join(METHODS) + " |",
        "|---|---|" + "---|" * len(METHODS),
    ]
    saved = [json.loads(path.read_text()) for path in paths]
    for task in METRICS:  # the tasks in their usual order, sizes increasing, whatever the order of the files
        rows_of_task = [item for results in saved for item in results.get(task, {}).items()]
        for size, row in sorted(rows_of_task, key=lambda item: _size_order(item[0])):
            best = max(v["mean"] for v in row.values())
            cells = []
            for method in METHODS:
                v = row[method]
                text = f"{v['mean']:.3f}" + (f" ± {v['std']:.3f}" if len(v["scores"]) > 1 else "")
                text += f" (EM {v['exact_match']:.3f})" if "exact_match" in v else ""
                cells.append(f"**{text}**" if v["mean"] == best else text)
            metric = {"accuracy": "accuracy", "f1": "F1"}[METRICS[task]]
            rows.append(f"| {task} ({metric}) | {size} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def _size_order(size: str) -> float:
    """Sort key of a size: "50" < "200" < "all"."""
    return float("inf") if size == "all" else int(size)


def plot(results: dict, tasks: list[str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = min(2, len(tasks))
    rows = (len(tasks) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(5.5 * cols, 4 * rows), squeeze=False)
    for ax in axes.flat[len(tasks) :]:
        ax.axis("off")
    for ax, task in zip(axes.flat, tasks):
        table = results[task]
        sizes = sorted(table, key=_size_order)
        data = task_data(task, "train")
        x = [int(s) if s != "all" else len(data if task in ("ner", "qa") else data[1]) for s in sizes]
        for method in METHODS:
            if all(method in table[s] for s in sizes):
                means = np.array([table[s][method]["mean"] for s in sizes])
                stds = np.array([table[s][method]["std"] for s in sizes])
                ax.plot(x, means, marker="o", label=method)
                ax.fill_between(x, means - stds, means + stds, alpha=0.15)
        label = {"accuracy": "test accuracy", "f1": "test F1"}[METRICS[task]]
        ax.set(xscale="log", xlabel="labelled training examples", ylabel=label, title=task)
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    main()
