"""Run the course's notebooks, time them, and write the course map of the README from the measurements.

A maintainer's tool, run from the repository root (it is not part of the installed ``course_utils``)::

    python tools/course_map.py --execute     # run every notebook in place (saves outputs), time it
    python tools/course_map.py --execute 03  # only unit 03
    python tools/course_map.py               # rewrite the README table from the saved times

Times are saved in ``tests/notebook_times.json`` with a description of the machine, and a test checks them
against the budgets below. Only numbers measured by this script go into the README.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from course_utils.utils import DEFAULT_THREADS, machine_description, peak_resident_mb

ROOT = Path(__file__).resolve().parents[1]
TIMES_FILE = ROOT / "tests" / "notebook_times.json"
README = ROOT / "README.md"
BENCHMARKS = ROOT / "BENCHMARKS.md"
FOLDERS = ("lectures", "notebooks", "solutions")  # exercises/ are generated stubs and stop at the first task
BUDGET_SECONDS = {"lectures": 20, "notebooks": 90, "solutions": 60}
LONGER_LABS = {"09": 150, "10": 150}  # pretraining and fine-tuning labs (CURRICULUM.md, "Budgets")


def budget(path: Path) -> int:
    """The seconds a notebook may take (with some margin over CURRICULUM.md's budgets for a busy CPU)."""
    if path.parent.name == "notebooks" and path.name[:2] in LONGER_LABS:
        return LONGER_LABS[path.name[:2]]
    return BUDGET_SECONDS[path.parent.name]


def _colab_tool():
    """tools/colab.py, which reads the repository and ref of the Colab badges from pyproject.toml."""
    spec = importlib.util.spec_from_file_location("course_colab", Path(__file__).with_name("colab.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


colab = _colab_tool()

UNITS = {
    "00": (
        "Welcome & training basics",
        "layers, loss, batches, epochs; under/overfitting; learning rate; batch size",
    ),
    "01": ("Words to numbers", "tokens and ids, bag of words, n-grams, an n-gram language model, perplexity"),
    "02": ("RNNs and LSTMs", "recurrent language models and classifiers, vanishing gradients, bidirectional"),
    "03": ("Attention", "scaled dot-product attention, masks, multi-head attention, cost in sequence length"),
    "04": (
        "The transformer encoder",
        "positions, feed-forward, residuals, LayerNorm, counting BERT's parameters",
    ),
    "05": ("Decoder and seq2seq", "masked self-attention, cross-attention, teacher forcing, greedy decoding"),
    "06": (
        "BERT inputs & tokenization",
        "WordPiece trained live, special tokens, segments, truncation, padding per batch (2.1x fewer "
        "positions), input embedding by hand, bert-base-uncased's vocabulary",
    ),
    "07": (
        "Masked language modelling",
        "15% chosen, 80/10/10 checked on a million tokens, vs 100% [MASK] on three seeds, loss on chosen "
        "positions only, whole words; lab's fill-in rank 645 -> 119 in 120 steps",
    ),
    "08": (
        "Next sentence prediction",
        "IsNext/NotNext from documents, the NSP head, the ignore_index=0 bug, an ablation (pairs at 200 "
        "labels: 0.70 with NSP, 0.57 / 0.62 MLM only), RoBERTa and ALBERT",
    ),
    "09": (
        "Pretraining a mini-BERT",
        "MLM + NSP with the loop, AdamW groups, warmup, clipping, bf16, exact resume, offline bertviz; "
        "lab reaches 0.242 masked-token accuracy in 300 CPU steps (shipped: 0.728)",
    ),
    "10": ("Fine-tuning for classification", "heads, schedules, the course's comparison table, your own CSV"),
    "11": ("Token classification (NER)", "BIO tags, sub-word alignment, micro/macro F1, a CRF layer"),
    "12": ("Question answering", "start/end logits, exact match and F1"),
    "13": ("A real pretrained BERT", "real WordPiece, loading real weights, contextual vectors"),
    "14": ("BERT for biological sequences", "k-mers vs learned tokens, hairpins, motifs"),
    "15": ("Making models better", "augmentation, distillation, ensembles, ALBERT-style sharing"),
}


def notebooks(unit: str | None = None) -> list[Path]:
    found = []
    for folder in FOLDERS:
        found += sorted((ROOT / folder).glob(f"{unit or ''}*.ipynb"))
    return [p for p in found if p.name[:2].isdigit()]


def execute(path: Path, timeout: int = 900) -> tuple[float, float | None]:
    """Run a notebook top to bottom in place (as ``jupyter nbconvert --execute --inplace``).

    Returns the seconds it took and the kernel's peak memory in MB (None off Linux), read after every cell.
    """
    nb = nbformat.read(path, as_version=4)
    peak: list[float] = []

    def after_cell(**_) -> None:
        pid = getattr(getattr(client.km, "provisioner", None), "pid", None)
        mb = peak_resident_mb(pid) if pid is not None else None
        if mb is not None:
            peak.append(mb)

    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": path.parent}},
        on_cell_executed=after_cell,
    )
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
    nbformat.write(nb, path)
    return seconds, (max(peak) if peak else None)


def notebook_threads() -> int:
    """The CPU threads each notebook runs with: its setup cell calls ``set_threads()`` (COURSE_THREADS or
    the course's default)."""
    given = os.environ.get("COURSE_THREADS", "").strip()
    return int(given) if given.isdigit() else DEFAULT_THREADS


def machine() -> str:
    """One line for the README: the machine the notebooks were timed on."""
    info = machine_description()
    return (
        f"{info['cpu_count']} CPU cores ({info['processor']}), {notebook_threads()} torch thread(s) per notebook, "
        f"{info['platform']}, Python {info['python']}, torch {info['torch']}, {info.get('gpu', 'no GPU')}"
    )


def load_times() -> dict:
    if TIMES_FILE.exists():
        return json.loads(TIMES_FILE.read_text())
    return {"machine": "", "seconds": {}}


def course_map_table(times: dict) -> str:
    secs = times.get("seconds", {})
    setting = colab.load_setting(ROOT)  # the repository and ref of the Colab badges
    rows = [
        "| unit | topics | lecture | lab | exercises | solutions | CPU time (lecture / lab / solutions) | Colab |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for unit, (title, topics) in UNITS.items():
        files = {
            f: next(iter(sorted((ROOT / f).glob(f"{unit}_*.ipynb"))), None) for f in (*FOLDERS, "exercises")
        }
        if not any(files.values()):
            rows.append(f"| {unit} | **{title}**: {topics} | planned | | | | | |")
            continue

        link = {f: _link(f, p) for f, p in files.items()}
        took = {
            f: (f"{secs[k]:.0f} s" if (k := f"{f}/{p.name}" if p else None) in secs else "—")
            for f, p in files.items()
        }

        lab = files["notebooks"]
        badge = setting.badge(f"notebooks/{lab.name}") if lab else ""
        rows.append(
            f"| {unit} | **{title}**: {topics} | {link['lectures']} | {link['notebooks']} | {link['exercises']} | "
            f"{link['solutions']} | {took['lectures']} / {took['notebooks']} / {took['solutions']} | {badge} |"
        )
    total = sum(secs.values())
    note = (
        f"\nCPU times were measured with `python tools/course_map.py --execute` on {times['machine']}; "
        f"all {len(secs)} notebooks together: {total / 60:.1f} min."
        if secs
        else ""
    )
    return "\n".join(rows) + "\n" + note


def _link(folder: str, path: Path | None) -> str:
    label = {"lectures": "slides", "notebooks": "lab", "solutions": "solved", "exercises": "sheet"}[folder]
    return f"[{label}]({folder}/{path.name})" if path else "—"


def write_readme(times: dict) -> None:
    text = README.read_text()
    start, stop = "<!-- course-map -->", "<!-- /course-map -->"
    if start not in text or stop not in text:
        raise SystemExit(f"README.md needs the markers {start} and {stop}")
    head, rest = text.split(start, 1)
    _, tail = rest.split(stop, 1)
    README.write_text(head + start + "\n" + course_map_table(times) + "\n" + stop + tail)


def notebook_table(times: dict) -> str:
    """Every notebook's time and peak memory from the last run, for BENCHMARKS.md."""
    secs, peak = times.get("seconds", {}), times.get("peak_mb", {})
    rows = ["| notebook | seconds | peak memory (MB) |", "|---|---:|---:|"]
    for key in sorted(secs):
        rows.append(f"| `{key}` | {secs[key]:.1f} | {peak[key] if key in peak else '—'} |")
    total = sum(secs.values())
    most = max(peak.values()) if peak else None
    rows.append(f"| **all {len(secs)}** | **{total:.0f}** ({total / 60:.1f} min) | max {most or '—'} |")
    return (
        f"Measured by `python tools/course_map.py --execute` (one notebook after another, each in a fresh "
        f"kernel; peak memory is the kernel's peak resident set) on {times.get('machine', '?')}.\n\n"
        + "\n".join(rows)
    )


def write_benchmarks(times: dict) -> None:
    """Rewrite the notebook section of BENCHMARKS.md (between its markers) from the saved measurements."""
    start, stop = "<!-- notebooks -->", "<!-- /notebooks -->"
    if not BENCHMARKS.exists():
        return
    text = BENCHMARKS.read_text()
    if start not in text or stop not in text:
        raise SystemExit(f"BENCHMARKS.md needs the markers {start} and {stop}")
    head, rest = text.split(start, 1)
    _, tail = rest.split(stop, 1)
    BENCHMARKS.write_text(head + start + "\n" + notebook_table(times) + "\n" + stop + tail)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--execute", action="store_true", help="run the notebooks in place and time them")
    parser.add_argument("units", nargs="*", help="two-digit unit numbers (default: all)")
    args = parser.parse_args(argv)
    times = load_times()
    if args.execute:
        paths = [p for u in (args.units or [None]) for p in notebooks(u)]
        for path in paths:
            key = f"{path.parent.name}/{path.name}"
            seconds, peak_mb = execute(path)
            times["seconds"][key] = round(seconds, 1)
            if peak_mb is not None:
                times.setdefault("peak_mb", {})[key] = round(peak_mb)
            limit = budget(path)
            flag = "" if seconds <= limit else f"  OVER the {limit} s budget"
            print(f"{key}: {seconds:.1f} s{flag}", flush=True)
        times["machine"] = machine()
        times["seconds"] = dict(sorted(times["seconds"].items()))
        times["peak_mb"] = dict(sorted(times.get("peak_mb", {}).items()))
        TIMES_FILE.write_text(json.dumps(times, indent=2) + "\n")
    write_readme(times)
    write_benchmarks(times)


if __name__ == "__main__":
    main()
