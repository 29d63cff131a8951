"""Fine-tuning a BERT for classification: of one text, or of a pair of texts ([CLS] a [SEP] b [SEP]).

``fine_tune_classifier(model, tokenizer, train, validation, ...)`` runs the course's training loop
(:func:`course_utils.train.train`), measures validation accuracy after every epoch and leaves the model
with the weights of its best epoch, as the BERT paper picked its fine-tuning runs on the dev set.

Inputs are lists of texts, or lists of ``(text_a, text_b)`` pairs for a sentence-pair task such as
:func:`course_utils.world.pair_examples`: the pair goes in as one sequence with segment ids 0 and 1, so
that self-attention reads the two sentences together.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader

from course_utils.data import DynamicPaddingCollator
from course_utils.model import BertForSequenceClassification
from course_utils.train import accuracy, train
from course_utils.utils import eval_mode, model_device

__all__ = [
    "classification_loader",
    "encode_inputs",
    "fine_tune_classifier",
    "sentence_features",
]

Inputs = Sequence[str] | Sequence[tuple[str, str]]


def encode_inputs(tokenizer: Any, inputs: Inputs, labels: Sequence[int], max_length: int = 64) -> list[dict]:
    """Tokenize texts or text pairs once: items ``{"input_ids", "token_type_ids", "labels"}`` (lists of ints).

    Args:
        tokenizer: a fast tokenizer (the course's, or a real BERT's).
        inputs: texts, or ``(text_a, text_b)`` pairs.
        labels: one class id per input.
        max_length: longest sequence, [CLS] and [SEP] included (a longer pair is cut, longest first).
    """
    if isinstance(inputs, str) or len(inputs) == 0:
        raise ValueError("inputs must be a non-empty list of texts or of (text_a, text_b) pairs")
    if len(inputs) != len(labels):
        raise ValueError(f"{len(inputs)} inputs but {len(labels)} labels; give one label per input")
    pairs = isinstance(inputs[0], (tuple, list))
    if pairs:
        enc = tokenizer(
            [a for a, _ in inputs], [b for _, b in inputs], truncation=True, max_length=max_length
        )
    else:
        enc = tokenizer(list(inputs), truncation=True, max_length=max_length, return_token_type_ids=True)
    return [
        {"input_ids": ids, "token_type_ids": types, "labels": int(label)}
        for ids, types, label in zip(enc["input_ids"], enc["token_type_ids"], labels)
    ]


def classification_loader(
    tokenizer: Any, inputs: Inputs, labels: Sequence[int], *, batch_size: int = 32, shuffle: bool = False
) -> DataLoader:
    """Batches of encoded inputs, padded per batch (see :class:`course_utils.data.DynamicPaddingCollator`)."""
    items = [
        {k: torch.tensor(v) for k, v in item.items()} for item in encode_inputs(tokenizer, inputs, labels)
    ]
    return DataLoader(
        items, batch_size=batch_size, shuffle=shuffle, collate_fn=DynamicPaddingCollator(tokenizer)
    )


def fine_tune_classifier(
    model: nn.Module,
    tokenizer: Any,
    train_data: tuple[Inputs, Sequence[int]],
    validation_data: tuple[Inputs, Sequence[int]],
    *,
    epochs: int = 10,
    lr: float = 5e-4,
    batch_size: int = 32,
    warmup: float = 0.1,
    seed: int = 0,
    device: torch.device | str | None = None,
    progress: bool = False,
    eval_every_epochs: int = 1,
    cls_only: bool = False,
) -> dict[str, Any]:
    """Fine-tune ``model`` (a ``BertForSequenceClassification``) and keep its best epoch on validation.

    Args:
        model: a course or ``transformers`` sequence classifier; its head must have as many labels as
            the task.
        tokenizer: the tokenizer the model was pretrained with.
        train_data, validation_data: ``(inputs, labels)``; inputs are texts or ``(text_a, text_b)`` pairs.
        epochs, lr, batch_size, warmup: the optimisation (AdamW, warmup then linear decay).
        seed: the data order and the random state of the run.
        device: where to train (default: :func:`course_utils.utils.get_device`).
        progress: show a progress bar.
        eval_every_epochs: score the validation split every this many epochs (and keep the best of
            those epochs); more than 1 saves time when there are many short epochs.
        cls_only: train the course's classifier with ``cls_only=True`` (its last layer computed only at
            [CLS], the one vector the head reads): the same loss, and about 1.3x faster for the course's
            2-layer model (BENCHMARKS.md); with dropout on, another random path than the default's.

    Returns:
        ``{"validation_accuracy": [per validation], "best_epoch": 1-based epoch kept, "history": History}``.
        The model holds the weights of the best epoch, in eval mode.
    """
    if isinstance(eval_every_epochs, bool) or not isinstance(eval_every_epochs, int) or eval_every_epochs < 1:
        raise ValueError(f"eval_every_epochs={eval_every_epochs!r} must be a positive number of epochs")
    if cls_only and not isinstance(model, BertForSequenceClassification):
        raise TypeError(
            f"cls_only=True needs the course's BertForSequenceClassification, got {type(model).__name__}"
        )
    loader = classification_loader(tokenizer, *train_data, batch_size=batch_size, shuffle=True)
    val_loader = classification_loader(tokenizer, *validation_data, batch_size=128)
    best: dict[str, Any] = {"accuracy": -1.0, "state": None}

    def validate(model: nn.Module, loader: DataLoader, device: torch.device) -> dict[str, float]:
        score = accuracy(model, loader, device)
        if score > best["accuracy"]:  # keep the weights of the best epoch so far
            best.update(accuracy=score, state=copy.deepcopy(model.state_dict()))
        return {"accuracy": score}

    history = train(
        model,
        loader,
        epochs=epochs,
        lr=lr,
        warmup=warmup,
        device=device,
        eval_loader=val_loader,
        eval_every=len(loader) * eval_every_epochs,
        eval_fn=validate,
        seed=seed,
        progress=progress,
        forward_kwargs={"cls_only": True} if cls_only else None,
    )
    model.load_state_dict(best["state"])
    steps, accuracies = history.eval_metric("accuracy")
    return {
        "validation_accuracy": accuracies,
        "best_epoch": steps[accuracies.index(max(accuracies))] // len(loader),
        "history": history,
    }


@torch.no_grad()
def sentence_features(
    encoder: nn.Module, tokenizer: Any, inputs: Inputs, batch_size: int = 128
) -> torch.Tensor:
    """Frozen features of each input: the mean of the encoder's last hidden states (padding left out)
    beside the pooled [CLS] vector, shape (N, 2H). For the feature-based approach (frozen BERT + a
    linear classifier), as the BERT paper compared with fine-tuning.

    Args:
        encoder: a ``BertModel`` (e.g. ``model.bert`` of a pretrained ``BertForPreTraining``).
        tokenizer, inputs: as in :func:`encode_inputs`.
    """
    loader = classification_loader(tokenizer, inputs, [0] * len(inputs), batch_size=batch_size)
    device = model_device(encoder)
    chunks = []
    with eval_mode(encoder):
        for batch in loader:
            mask = batch["attention_mask"].to(device)
            out = encoder(batch["input_ids"].to(device), mask, batch["token_type_ids"].to(device))
            mean = (out.last_hidden_state * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
            chunks.append(torch.cat([mean, out.pooler_output], dim=-1).float().cpu())
    return torch.cat(chunks)
