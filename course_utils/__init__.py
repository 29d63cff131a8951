"""course_utils: the shared package of the BERT-from-first-principles course.

Submodules:
    model       a from-scratch BERT whose parameter names match ``transformers``
    model_config   ``BertConfig``: the same fields and defaults as ``transformers.BertConfig``
    model_folder   a model folder (config.json + model.safetensors): the one way models are saved
    world       the course's seeded data sets, one module per data set (see DATA_CARD.md)
    tokenizer   the course's WordPiece tokenizer (shipped, trained on the course world)
    special_tokens   [PAD] [UNK] [CLS] [SEP] [MASK] and their ids, shared by every vocabulary
    data        MLM masking, NSP pairs, datasets and collators
    train       the one training loop every unit uses; history: what a run records
    checkpoint  the training state (optimizer, schedule, step, random state) as safetensors + JSON
    metrics     accuracy, F1, confusion matrices, QA exact match / F1
    plots       loss curves, confusion matrices, attention heatmaps, bertviz views
    pretrain    ``python -m course_utils.pretrain`` and ``load_pretrained()``
    text, classic, seq2seq   the pre-BERT models of units 01-05
    dna         base pairing (hairpins) and k-mer tokens for DNA
    bio         the aptamer recipe: a mini-BERT against a bag of k-mers (unit 14)
    checks      automatic checks for the exercise sheets
    env         ``python -m course_utils.env`` / ``check_environment()``: can this machine run the course?
    utils       device, seeding, mixed precision, ``show_source``
"""

from importlib import import_module

from course_utils.utils import (
    autocast,
    count_parameters,
    get_device,
    set_seed,
    set_threads,
    show_source,
)

__version__ = "0.1.0"

# (`from course_utils.train import train` for the loop: `course_utils.train` is the module.)
# Imported on first use, so that `import course_utils` stays quick (these pull in transformers, sklearn).
_LAZY = {
    "check_environment": "course_utils.env",
    "environment_report": "course_utils.env",
    "load_pretrained": "course_utils.pretrain",
    "History": "course_utils.history",
    "plot_history": "course_utils.plots",
    "plot_attention": "course_utils.plots",
    "plot_confusion": "course_utils.plots",
}

__all__ = [
    "autocast",
    "count_parameters",
    "get_device",
    "set_seed",
    "set_threads",
    "show_source",
    *_LAZY,
]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'course_utils' has no attribute {name!r}")
