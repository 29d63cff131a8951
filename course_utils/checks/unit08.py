"""Checks for exercise sheet 08: next sentence prediction.

Task 1 compares labels with the answer key of :data:`QUIZ_PAIRS`. The other checks run the learner's function
on inputs of their own: logits made here (task 2), the course's shipped checkpoint and sentence pairs drawn
from held-out documents (tasks 3 and 5), and documents whose sentences each occur once, so that every pair
can be traced to its place (task 4). References are computed here, in plain PyTorch, or by the library's
:func:`course_utils.data.make_sop_pairs`; ``F.cross_entropy`` and ``F.nll_loss`` fail while task 2 runs.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from course_utils import world
from course_utils.checks import (
    expect_callable,
    expect_number,
    expect_type,
    fail,
    forbidden,
    is_close,
    isolated_rng,
    passed,
)
from course_utils.data import IS_NEXT, NOT_NEXT, make_nsp_pairs, make_sop_pairs
from course_utils.pretrain import load_pretrained

__all__ = [
    "check_pair_labels",
    "check_nsp_loss",
    "check_nsp_accuracy",
    "check_same_document_pairs",
    "check_order_by_comparison",
]

# Task 1: one document in order and a sentence of another; six (A, B) pairs to label
_STORY = [
    "Mia went to the lake on Sunday.",
    "Her friend Leo was fishing there.",
    "Leo caught a small fish.",
    "Mia took a photo of it.",
    "They walked home at sunset.",
]
_OTHER = ["Tom baked bread in the morning.", "The kitchen smelled of warm bread."]
QUIZ_PAIRS = [
    (_STORY[1], _STORY[2]),
    (_STORY[1], _STORY[3]),
    (_STORY[2], _STORY[1]),
    (_STORY[3], _OTHER[1]),
    (_STORY[3], _STORY[4]),
    (_STORY[4], _STORY[0]),
]
_QUIZ_ANSWERS = [IS_NEXT, NOT_NEXT, NOT_NEXT, NOT_NEXT, IS_NEXT, NOT_NEXT]
_QUIZ_WHY = [
    "B is the sentence right after A: IsNext",
    "B is two sentences ahead of A in the same document; only the very next sentence is IsNext",
    "B comes BEFORE A in the document; the order matters, so it is NotNext",
    "B comes from another document: NotNext",
    "B is the sentence right after A: IsNext",
    "A is the last sentence of its document, so nothing follows it: every B is NotNext",
]

_NO_LIBRARY_LOSS = {
    F.cross_entropy: "F.cross_entropy (or nn.CrossEntropyLoss)",
    F.nll_loss: "F.nll_loss (or nn.NLLLoss)",
}


def check_pair_labels(labels: Any) -> bool:
    """Task 1: the label of each pair of :data:`QUIZ_PAIRS` (0 = IsNext, 1 = NotNext, as transformers)."""
    task = "Task 1 (label the pairs)"
    if isinstance(labels, torch.Tensor):
        labels = labels.tolist()
    if isinstance(labels, dict) or not isinstance(labels, (list, tuple)):
        fail(
            task,
            f"labels should be a list of {len(QUIZ_PAIRS)} labels, one per pair in order, got {type(labels).__name__}",
        )
    if len(labels) != len(QUIZ_PAIRS):
        fail(
            task,
            f"labels has {len(labels)} entries for {len(QUIZ_PAIRS)} pairs: one label per pair, in order",
        )
    if not all(isinstance(x, int) and not isinstance(x, bool) and x in (0, 1) for x in labels):
        fail(task, f"every label is the int 0 (IsNext) or 1 (NotNext), got {list(labels)}")
    if list(labels) == [1 - y for y in _QUIZ_ANSWERS]:
        fail(
            task,
            "every label is the opposite: 0 means IsNext (B follows A) and 1 NotNext, as in transformers",
        )
    for i, (given, right) in enumerate(zip(labels, _QUIZ_ANSWERS)):
        if given != right:
            fail(task, f"pair {i + 1} is labelled {given}: {_QUIZ_WHY[i]} ({right})")
    return passed(task, "only the very next sentence of the same document is IsNext")


def _reference_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    log_p = logits.double().log_softmax(-1)
    return -log_p[torch.arange(len(labels)), labels].mean()


def check_nsp_loss(nsp_loss: Callable) -> bool:
    """Task 2: ``nsp_loss(logits, labels)`` is the mean cross-entropy over all pairs, from log-softmax."""
    task = "Task 2 (the NSP loss by hand)"
    expect_callable(task, nsp_loss, "nsp_loss")
    gen = torch.Generator().manual_seed(8)
    logits = 2 * torch.randn(12, 2, generator=gen)
    labels = torch.tensor([0, 1, 1, 0, 0, 0, 1, 0, 1, 1, 0, 0])  # both classes, unevenly
    x = logits.clone().requires_grad_()
    with forbidden(task, _NO_LIBRARY_LOSS, "; build it from log_softmax"):
        loss = nsp_loss(x, labels)
    expect_type(task, loss, torch.Tensor, "nsp_loss(logits, labels)")
    if loss.dim() != 0 and loss.numel() == len(labels):
        fail(task, "you returned one loss per pair; return their mean (one number, a 0-dim tensor)")
    if loss.numel() != 1:
        fail(task, f"nsp_loss should return one number (a 0-dim tensor), got shape {tuple(loss.shape)}")
    expected = _reference_loss(logits, labels)
    log_p = logits.double().log_softmax(-1)
    wrong = {
        "it leaves out every pair with label 0 (as ignore_index=0 would): 0 is a real label, IsNext, "
        "and every pair counts": -log_p[labels == 1, 1].mean(),
        "it scores the other column: column 0 is IsNext (label 0), column 1 NotNext": _reference_loss(
            logits, 1 - labels
        ),
        "it is the sum over the pairs; take the mean, so the loss does not grow with the batch": expected
        * len(labels),
        "it uses probabilities (softmax) where log-probabilities belong": -(log_p.exp())[
            torch.arange(len(labels)), labels
        ].mean(),
    }
    for message, value in wrong.items():
        if is_close(loss, value, atol=1e-5) and not is_close(loss, expected, atol=1e-5):
            fail(task, f"nsp_loss(logits, labels) = {loss.item():.4f}: {message}")
    if not is_close(loss, expected, atol=1e-5):
        fail(
            task,
            f"nsp_loss(logits, labels) = {loss.item():.4f}, expected {expected.item():.4f} on the check's logits",
        )
    if not loss.requires_grad:
        fail(task, "the loss has no gradient: keep it a tensor built from logits (no .item(), no .detach())")
    loss.backward()
    expected_grad = (logits.softmax(-1) - F.one_hot(labels, 2).float()) / len(labels)
    if x.grad is None or not is_close(x.grad, expected_grad, atol=1e-5):
        fail(
            task,
            "the gradient with respect to the logits is wrong: compute the loss from the logits you are given",
        )
    big = torch.tensor([[1000.0, -1000.0], [-1000.0, 1000.0]])
    with forbidden(task, _NO_LIBRARY_LOSS, "; build it from log_softmax"):
        extreme = nsp_loss(big, torch.tensor([1, 1]))
    expect_type(task, extreme, torch.Tensor, "nsp_loss of logits ±1000")
    if not torch.isfinite(extreme).all():
        fail(
            task,
            "logits of ±1000 give inf or NaN: log(softmax(x)) underflows; use log_softmax, which subtracts the "
            "largest logit first",
        )
    if not is_close(extreme, torch.tensor(1000.0), atol=1e-2):
        fail(
            task,
            f"nsp_loss of logits [[1000, -1000], [-1000, 1000]] with labels [1, 1] is {extreme.item():.4g}, expected 1000",
        )
    return passed(task, "mean cross-entropy over every pair, label 0 included")


def _load_model():
    """The shipped pretrained model on the CPU, in train mode with dropout 0.5: an answer that forgets
    ``model.eval()`` gets noise, not a number close to the right one."""
    with isolated_rng():
        model, tokenizer = load_pretrained("cpu")
    for module in model.modules():
        if isinstance(module, nn.Dropout):
            module.p = 0.5
    return model.train(), tokenizer


def _calls(model: nn.Module, function: Callable, *args: Any) -> tuple[Any, list[bool], list[bool]]:
    """Run ``function(model, *args)``; also return, for each forward call of the model, whether it was in
    train mode (dropout on) and whether it was given an attention mask."""
    modes: list[bool] = []
    masks: list[bool] = []

    def saw_mask(module: nn.Module, inputs: tuple, kwargs: dict) -> None:
        given = inputs[1] if len(inputs) > 1 else kwargs.get("attention_mask")
        masks.append(given is not None)

    hooks = [
        model.register_forward_hook(lambda module, inputs, output: modes.append(module.training)),
        model.register_forward_pre_hook(saw_mask, with_kwargs=True),
    ]
    try:
        with isolated_rng(0):
            return function(model, *args), modes, masks
    finally:
        for hook in hooks:
            hook.remove()


def _held_out_documents(seed: int, n: int) -> list[list[str]]:
    return random.Random(seed).sample(world.pretraining_corpus("test"), n)


@torch.no_grad()
def _p_is_next(
    model: nn.Module, tokenizer: Any, pairs: Sequence, *, segments: bool = True, mask: bool = True
):
    """p(IsNext) of every pair, batch by batch (eval mode; the model's mode is restored)."""
    was_training = model.training
    model.eval()
    out = []
    for i in range(0, len(pairs), 16):
        chunk = pairs[i : i + 16]
        enc = tokenizer([p[0] for p in chunk], [p[1] for p in chunk], padding=True, return_tensors="pt")
        logits = model(
            enc["input_ids"],
            enc["attention_mask"] if mask else None,
            enc["token_type_ids"] if segments else None,
        ).seq_relationship_logits
        out.append(logits.softmax(-1)[:, IS_NEXT])
    model.train(was_training)
    return torch.cat(out)


def check_nsp_accuracy(nsp_accuracy: Callable) -> bool:
    """Task 3: ``nsp_accuracy(model, tokenizer, pairs, batch_size)`` is the NSP head's accuracy on ``pairs``."""
    task = "Task 3 (NSP accuracy of a model)"
    expect_callable(task, nsp_accuracy, "nsp_accuracy")
    model, tokenizer = _load_model()
    pairs = make_nsp_pairs(_held_out_documents(18, 40), seed=3)[:160]
    labels = torch.tensor([label for *_, label in pairs])
    accuracy = lambda p: ((p < 0.5).long() == labels).float().mean().item()  # noqa: E731
    expected = accuracy(_p_is_next(model, tokenizer, pairs))
    answer, modes, masks = _calls(model, nsp_accuracy, tokenizer, pairs, 16)
    first = expect_number(task, answer, "nsp_accuracy(...)")
    tolerance = 1.5 / len(pairs)  # a pair whose p(IsNext) is within float noise of 0.5 may go either way
    if modes and not all(masks):  # this checkpoint's NSP head may shrug padding off; the next one may not
        fail(task, "the model ran without an attention_mask: pass it, or padded positions are read as tokens")
    if abs(first - expected) <= tolerance:
        return passed(task, f"{first:.3f} on the check's {len(pairs)} held-out pairs")
    hints = [
        (
            1 - expected,
            "that is 1 - accuracy: the model predicts label 0 (IsNext) when logit 0 is the larger",
        ),
        (
            accuracy(_p_is_next(model, tokenizer, pairs, segments=False)),
            "pass token_type_ids: the model must know where sentence B starts",
        ),
        (
            accuracy(_p_is_next(model, tokenizer, pairs, mask=False)),
            "pass the attention_mask: without it, padded positions are read as tokens",
        ),
    ]
    for value, hint in hints:
        if abs(first - value) <= tolerance and abs(value - expected) > tolerance:
            fail(task, f"nsp_accuracy(...) = {first:.3f}: {hint}")
    if not modes:
        fail(task, f"nsp_accuracy(...) = {first:.3f} without running the model on the pairs")
    if any(modes):
        fail(
            task,
            f"nsp_accuracy(...) = {first:.3f}: the model ran in train mode (dropout on); call model.eval() first",
        )
    fail(
        task,
        f"nsp_accuracy(...) = {first:.3f}, expected {expected:.3f} on the check's {len(pairs)} held-out pairs",
    )


def _unique_documents() -> list[list[str]]:
    """Validation documents whose sentences occur nowhere else in them, each with 2 to 10 sentences."""
    docs = world.pretraining_corpus("validation")
    count: dict[str, int] = {}
    for doc in docs:
        for s in doc:
            count[s] = count.get(s, 0) + 1
    unique = [doc for doc in docs if all(count[s] == 1 for s in doc)]
    return random.Random(5).sample(unique, 60)


def check_same_document_pairs(same_document_pairs: Callable) -> bool:
    """Task 4: 50/50 pairs whose every NotNext partner is a non-adjacent sentence of the same document."""
    task = "Task 4 (NotNext from the same document)"
    expect_callable(task, same_document_pairs, "same_document_pairs")
    docs = _unique_documents()
    docs.append(["Only two sentences here.", "So no partner to spare."])  # no same-document NotNext possible
    place = {s: (d, i) for d, doc in enumerate(docs) for i, s in enumerate(doc)}
    positions = {(d, i) for d, doc in enumerate(docs) if len(doc) >= 3 for i in range(len(doc) - 1)}
    state = random.getstate()
    pairs = same_document_pairs(docs, 7)
    if random.getstate() != state:
        random.setstate(state)
        fail(task, "your function used Python's global random generator; draw from random.Random(seed)")
    if not isinstance(pairs, list) or not all(isinstance(p, tuple) and len(p) == 3 for p in pairs):
        fail(task, "return a list of (sentence_a, sentence_b, label) tuples")
    if pairs and all(
        (label == IS_NEXT) != (a in place and b in place and place[b] == (place[a][0], place[a][1] + 1))
        for a, b, label in pairs
    ):
        fail(task, "every label is the opposite: 0 means IsNext (B is the sentence right after A), 1 NotNext")
    seen = set()
    for a, b, label in pairs:
        if a not in place or b not in place:
            fail(task, f"the pair ({a!r}, {b!r}) holds a sentence that is not in the documents given")
        (d, i), (e, j) = place[a], place[b]
        if (d, i) in seen:
            fail(task, f"{a!r} is sentence A of two pairs: one pair per sentence that has a successor")
        seen.add((d, i))
        if label not in (0, 1) or isinstance(label, bool):
            fail(task, f"labels are the ints 0 (IsNext) and 1 (NotNext), got {label!r}")
        if label == IS_NEXT and (e, j) != (d, i + 1):
            fail(task, f"({a!r}, {b!r}) is labelled 0 but B is not the sentence right after A")
        if label == NOT_NEXT:
            if e != d:
                fail(
                    task, f"NotNext partner {b!r} comes from another document; take it from A's own document"
                )
            if j in (i, i + 1):
                fail(
                    task, f"NotNext partner {b!r} is A itself or its successor: pick a non-adjacent sentence"
                )
    if len(docs) - 1 in {d for d, _ in seen}:
        fail(task, "the two-sentence document has no sentence to spare as a NotNext partner: leave it out")
    if seen != positions:
        fail(
            task,
            f"{len(positions)} positions (i, i+1) in documents of 3+ sentences, but your pairs cover {len(seen)}: one pair each",
        )
    n_next = sum(label == IS_NEXT for *_, label in pairs)
    if abs(2 * n_next - len(pairs)) > 1:
        fail(task, f"{n_next} of {len(pairs)} pairs are IsNext; exactly half (one more or less) should be")
    if [label for *_, label in pairs[: len(pairs) // 2]] == [IS_NEXT] * (len(pairs) // 2):
        fail(task, "the IsNext pairs all come first: shuffle the pairs, so a batch holds both labels")
    if same_document_pairs(docs, 7) != pairs:
        fail(task, "the same seed gave other pairs: draw everything from random.Random(seed)")
    if same_document_pairs(docs, 8) == pairs:
        fail(task, "seeds 7 and 8 gave the same pairs: use the seed")
    return passed(task, f"{len(pairs)} pairs, half IsNext, every NotNext from A's own document")


def check_order_by_comparison(order_by_comparison: Callable) -> bool:
    """Task 5: predict each SOP pair's order by comparing p(IsNext) of (a, b) and of (b, a)."""
    task = "Task 5 (sentence order from an NSP model)"
    expect_callable(task, order_by_comparison, "order_by_comparison")
    model, tokenizer = _load_model()
    pairs = make_sop_pairs(_held_out_documents(28, 30), seed=4)[:120]
    predicted, modes, _ = _calls(model, order_by_comparison, tokenizer, pairs)
    if isinstance(predicted, torch.Tensor):
        predicted = predicted.tolist()
    if not isinstance(predicted, list) or len(predicted) != len(pairs):
        fail(
            task,
            f"return a list with one predicted label (0 in order, 1 swapped) per pair: {len(pairs)} here",
        )
    forward = _p_is_next(model, tokenizer, pairs)
    backward = _p_is_next(model, tokenizer, [(b, a, label) for a, b, label in pairs])
    expected = (forward < backward).long().tolist()
    close = (forward - backward).abs() < 1e-4  # float noise may order a near-tie either way
    wrong = sum(p != e for p, e, c in zip(predicted, expected, close.tolist()) if not c)
    if wrong == 0:
        return passed(task, "0 when p(IsNext | a, b) is the larger, 1 when p(IsNext | b, a) is")
    if all(p == 1 - e for p, e, c in zip(predicted, expected, close.tolist()) if not c):
        fail(
            task,
            "every prediction is flipped: the pair is in order (0) when (a, b) looks MORE like IsNext than (b, a)",
        )
    direct = (forward < 0.5).long().tolist()
    if predicted == direct:
        fail(task, "that reads the head on (a, b) alone; compare p(IsNext) of (a, b) with that of (b, a)")
    if any(modes):
        fail(
            task,
            f"{wrong} of {len(pairs)} predictions differ: the model ran in train mode; call model.eval() first",
        )
    fail(
        task,
        f"{wrong} of {len(pairs)} predictions differ from comparing p(IsNext | a, b) with p(IsNext | b, a)",
    )
