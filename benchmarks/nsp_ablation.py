"""Does next sentence prediction help? Fine-tune checkpoints that differ only in their pretraining objective.

The checkpoints (``course_utils/assets/ablations/``, made by ``python -m course_utils.pretrain`` with the
shipped checkpoint's steps, batch, learning rate and seed; each folder's ``training_log.json`` holds its
command). They were pretrained on an earlier version of the corpus with that version's tokenizer, stored in
each folder; every arm is fine-tuned with its own:

- ``MLM + NSP`` (``nsp``): the shipped recipe (BERT's objective; a fifth of the NotNext partners are
  non-adjacent sentences of the same document);
- ``MLM + NSP, other documents``: every NotNext partner from another document, as BERT's own data
  (``--nsp-same-document 0``);
- ``MLM only``: the same sentence pairs, no NSP loss (``--objective mlm``);
- ``MLM + SOP``: sentence-order prediction instead of NSP (``--objective mlm+sop``, ALBERT);
- ``MLM only, segments``: no NSP loss, inputs of whole sentence runs that fill 64 tokens
  (``--objective mlm --pairs segments``, RoBERTa's full inputs);
- ``MLM + NSP, seed 1`` and ``MLM only, seed 1``: the first and fourth recipes pretrained again with
  ``--seed 1`` (other initial weights, pairs, masks and order): the spread between two pretraining runs of
  one recipe, to hold the differences between recipes against;
- ``random init``: the same network from random weights (a floor).

Each is fine-tuned with :func:`course_utils.finetune.fine_tune_classifier` (one recipe for all: learning
rate 5e-4, about 300 optimizer steps whatever the number of examples, best validation epoch kept) on the
sentence-pair task (premise and hypothesis as segments A and B, read from the pooled [CLS]) and on the
single-sentence sentiment task, for several seeds (the seed draws the training examples and the new
head). Test accuracy per run goes to ``course_utils/assets/ablations/finetuning.json``, beside the
checkpoints, so that the lab reads it wherever ``course_utils`` is installed.

    python benchmarks/nsp_ablation.py                        # the runs the lab of unit 08 reads
    python benchmarks/nsp_ablation.py --arms "MLM only" --merge      # add one checkpoint's runs
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import sys
import time
from pathlib import Path

import torch
from pretraining_value import sample, task_data  # this folder's own modules
from span_tasks import bert_for, epochs_for

from course_utils import world
from course_utils.finetune import classification_loader, fine_tune_classifier
from course_utils.model import BertForSequenceClassification
from course_utils.pretrain import PRETRAINED_DIR
from course_utils.tokenizer import load_tokenizer
from course_utils.train import accuracy
from course_utils.utils import machine_description, set_seed

ABLATIONS = PRETRAINED_DIR.parent / "ablations"
ARMS = {
    "MLM + NSP": ABLATIONS / "nsp",  # the shipped recipe, pretrained on the same corpus as the other arms
    "MLM + NSP, other documents": ABLATIONS / "nsp_other_documents",
    "MLM only": ABLATIONS / "mlm",
    "MLM + SOP": ABLATIONS / "mlm_sop",
    "MLM only, segments": ABLATIONS / "mlm_segments",
    "MLM + NSP, seed 1": ABLATIONS / "nsp_seed1",  # the same recipes pretrained again from another seed:
    "MLM only, seed 1": ABLATIONS / "mlm_seed1",  # how much do two pretraining runs differ anyway?
    "random init": ABLATIONS / "nsp",  # the same config and tokenizer, random weights
}
RUNS = {"pairs": (200, 1000), "sentiment": (1000,)}  # task -> numbers of labelled examples
LR = 5e-4
STEPS = 300  # optimizer steps per run (the budget these results were made with)


def run(arm: str, task: str, size: int, seed: int, tokenizer) -> float:
    """Test accuracy of one fine-tuning run (``tokenizer``: the one the arm's checkpoint was pretrained with)."""
    train_all, val, test = (task_data(task, split) for split in world.SPLITS)
    train = sample(*train_all, size, seed)
    set_seed(seed)
    method = "random init" if arm == "random init" else "BERT, pretrained"
    model = bert_for(BertForSequenceClassification, method, ARMS[arm], num_labels=len(set(train_all[1])))
    fine_tune_classifier(
        model, tokenizer, train, val, epochs=epochs_for(size, STEPS), lr=LR, seed=seed, device="cpu"
    )
    return accuracy(model, classification_loader(tokenizer, *test, batch_size=128))


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--arms", nargs="+", default=list(ARMS), choices=list(ARMS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (1 is fastest here)")
    parser.add_argument("--out", default=str(ABLATIONS / "finetuning.json"))
    parser.add_argument("--merge", action="store_true", help="add these runs to the results already in --out")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    missing = [arm for arm in args.arms if not (ARMS[arm] / "model.safetensors").is_file()]
    if missing:
        parser.error(
            f"no checkpoint for {missing}: make it with python -m course_utils.pretrain (see the docstring)"
        )
    command = "python benchmarks/nsp_ablation.py " + " ".join(
        shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv)
    )
    out = Path(args.out)
    results: dict = {
        "commands": [command.strip()],
        "machine": machine_description("cpu"),
        "lr": LR,
        "checkpoints": {},
        "scores": {},
        "seconds": 0.0,
    }
    if args.merge and out.is_file():
        results = json.loads(out.read_text())
        results["commands"].append(command.strip())
    for arm in args.arms:
        if arm != "random init":
            results["checkpoints"][arm] = json.loads((ARMS[arm] / "training_log.json").read_text())["command"]
    start = time.perf_counter()
    for arm in args.arms:
        tokenizer = load_tokenizer(ARMS[arm])
        for task, sizes in RUNS.items():
            for size in sizes:
                scores = [run(arm, task, size, seed, tokenizer) for seed in args.seeds]
                results["scores"].setdefault(arm, {}).setdefault(task, {})[str(size)] = {
                    "mean": statistics.mean(scores),
                    "scores": scores,
                    "seeds": args.seeds,
                }
                print(
                    f"{arm:20s} {task:9s} {size:5d}  {statistics.mean(scores):.3f}  "
                    f"{[round(s, 3) for s in scores]}  ({time.perf_counter() - start:.0f} s)",
                    flush=True,
                )
    results["seconds"] += time.perf_counter() - start
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1) + "\n")
    return results


if __name__ == "__main__":
    main()
