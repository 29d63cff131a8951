"""Span tasks: named entities (token classification) and extractive question answering.

Both tasks predict spans of the input rather than one label per text, and both read BERT's output one
token at a time. Each has four steps:

1. **Encode.** Words and their tags, or a question and its passage, become subword ids plus targets.
   Entities: each word's tag goes on its *first* subword; the other subwords and ``[CLS]``/``[SEP]``
   get ``-100``, which the loss ignores (the BERT paper's convention). Answers: the answer's character
   span is mapped, through the tokenizer's offset mapping, to a start token and an end token.
2. **Fine-tune.** :func:`fine_tune_tagger` and :func:`fine_tune_qa` run the course's training loop
   (:func:`course_utils.train.train`), score the validation set after every epoch (entity F1, answer
   F1) and keep the best epoch, as :func:`course_utils.finetune.fine_tune_classifier` does.
3. **Decode.** A word's tag is the argmax at its first subword (:func:`predict_tags`); an answer is the
   best-scoring ``start <= end`` pair inside the passage (:func:`best_span`), turned back into the
   passage's own characters (:func:`predict_answers`).
4. **Score.** Entity-level micro F1 (:func:`entity_scores`: an entity counts only if its type, start
   and end are all right) and SQuAD's exact match and F1 (:func:`course_utils.metrics.qa_scores`).

Any model with the ``transformers`` signature fits: ``BertForTokenClassification`` and
:class:`course_utils.classic.BiLSTMTagger` take ``labels``; ``BertForQuestionAnswering`` and
:class:`course_utils.classic.LSTMSpanExtractor` take ``start_positions`` and ``end_positions``.
:func:`token_states` gives a frozen encoder's vectors per token, for the feature-based approach.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader

from course_utils.data import DynamicPaddingCollator
from course_utils.metrics import qa_scores
from course_utils.train import IGNORE_INDEX, move_to_device, train
from course_utils.utils import eval_mode, model_device
from course_utils.world import NER_TAGS, bio_spans

__all__ = [
    "NER_TAGS",
    "align_labels",
    "answer_token_span",
    "best_span",
    "encode_questions",
    "encode_tagged",
    "entity_scores",
    "fine_tune_qa",
    "fine_tune_tagger",
    "predict_answers",
    "predict_tags",
    "qa_loader",
    "qa_evaluation",
    "tagged_loader",
    "tagging_scores",
    "token_states",
]

Sentence = tuple[Sequence[str], Sequence[str]]  # (words, BIO tags), one tag per word


# ----------------------------------------------------------------------------------------------------
# 1) Named entities: labels on subwords, entity F1
# ----------------------------------------------------------------------------------------------------


def align_labels(word_ids: Sequence[int | None], word_labels: Sequence[int]) -> list[int]:
    """One label per subword: the word's label on its first subword, ``-100`` everywhere else.

    ``word_ids`` is what a fast tokenizer's ``encoding.word_ids()`` gives: for each token, the index of
    the word it comes from, or ``None`` for ``[CLS]``, ``[SEP]`` and padding.

    >>> align_labels([None, 0, 1, 1, 1, 2, None], [0, 3, 0])  # word 1 is cut into three subwords
    [-100, 0, 3, -100, -100, 0, -100]
    """
    labels, previous = [], None
    for w in word_ids:
        labels.append(IGNORE_INDEX if w is None or w == previous else int(word_labels[w]))
        previous = w
    return labels


def _check_sentences(sentences: Any, tags: Sequence[str], with_tags: bool = True) -> None:
    """Sentences are ``(words, tags)`` pairs of equal length, every tag one of ``tags``."""
    if isinstance(sentences, (str, tuple)) or not isinstance(sentences, Sequence) or len(sentences) == 0:
        raise TypeError(
            "sentences must be a non-empty list of (words, tags) pairs, e.g. world.ner_sentences('train')"
        )
    known = set(tags)
    for n, sentence in enumerate(sentences):
        if with_tags and (not isinstance(sentence, (tuple, list)) or len(sentence) != 2):
            raise TypeError(f"sentence {n} must be a (words, tags) pair, got {sentence!r:.80}")
        words = sentence[0] if with_tags else sentence
        if isinstance(words, str) or not all(isinstance(w, str) and w for w in words) or not words:
            raise TypeError(
                f"sentence {n}: words must be a non-empty list of non-empty strings, got {words!r:.80}; "
                "split a text into words first (text.split())"
            )
        if not with_tags:
            continue
        word_tags = sentence[1]
        if isinstance(word_tags, str) or len(word_tags) != len(words):
            count = "a string" if isinstance(word_tags, str) else f"{len(word_tags)} tags"
            raise ValueError(f"sentence {n} has {len(words)} words but {count}; give one tag per word")
        for i, tag in enumerate(word_tags):
            if tag not in known:
                raise ValueError(
                    f"sentence {n}, word {i} ({words[i]!r}): tag {tag!r} is not one of {tuple(tags)}"
                )


def encode_tagged(
    tokenizer: Any, sentences: Sequence[Sentence], tags: Sequence[str] = NER_TAGS, max_length: int = 128
) -> list[dict[str, list[int]]]:
    """Tokenize tagged sentences: items ``{"input_ids", "token_type_ids", "labels"}`` (lists of ints).

    Args:
        tokenizer: a fast tokenizer (it must give ``word_ids()``).
        sentences: ``(words, tags)`` pairs, e.g. ``world.ner_sentences("train")``.
        tags: the tag names; a tag's id is its index here.
        max_length: longest sequence, [CLS] and [SEP] included (words beyond it are cut off).

    Returns:
        One item per sentence; ``labels`` has one entry per token (see :func:`align_labels`).
    """
    _check_sentences(sentences, tags)
    tag_id = {t: i for i, t in enumerate(tags)}
    enc = tokenizer(
        [list(words) for words, _ in sentences],
        is_split_into_words=True,
        truncation=True,
        max_length=max_length,
        return_token_type_ids=True,
    )
    return [
        {
            "input_ids": enc["input_ids"][n],
            "token_type_ids": enc["token_type_ids"][n],
            "labels": align_labels(enc.word_ids(n), [tag_id[t] for t in word_tags]),
        }
        for n, (_, word_tags) in enumerate(sentences)
    ]


def _loader(items: list[dict], tokenizer: Any, batch_size: int, shuffle: bool) -> DataLoader:
    tensors = [{k: torch.tensor(v) for k, v in item.items()} for item in items]
    return DataLoader(
        tensors, batch_size=batch_size, shuffle=shuffle, collate_fn=DynamicPaddingCollator(tokenizer)
    )


def tagged_loader(
    tokenizer: Any,
    sentences: Sequence[Sentence],
    *,
    tags: Sequence[str] = NER_TAGS,
    batch_size: int = 32,
    shuffle: bool = False,
    max_length: int = 128,
) -> DataLoader:
    """Batches of :func:`encode_tagged` items, padded per batch (labels padded with -100)."""
    return _loader(encode_tagged(tokenizer, sentences, tags, max_length), tokenizer, batch_size, shuffle)


def entity_scores(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> dict[str, float]:
    """Entity-level precision, recall and F1, pooled over all sentences (micro average).

    An entity is ``(type, first word, last word)`` read from BIO tags with :func:`world.bio_spans`. A
    predicted entity is correct only if the gold has exactly that entity: a span one word too short, or
    the right span with the wrong type, is both a false positive and a false negative.

    Args:
        gold, predicted: one list of tags per sentence, the two of equal length.

    Returns:
        ``{"precision", "recall", "f1", "gold", "predicted", "correct"}`` (the last three are counts).
        With no gold and no predicted entity, all three scores are 1.0.

    >>> entity_scores([["B-PER", "I-PER", "O"]], [["B-PER", "O", "O"]])["f1"]  # "Leo" for "Leo Chen"
    0.0
    """
    if isinstance(gold, str) or isinstance(predicted, str) or len(gold) != len(predicted):
        raise ValueError("gold and predicted must be lists of tag lists, one per sentence, of equal length")
    n_gold = n_pred = correct = 0
    for n, (g, p) in enumerate(zip(gold, predicted)):
        if len(g) != len(p):
            raise ValueError(f"sentence {n}: {len(g)} gold tags but {len(p)} predicted tags")
        g_spans, p_spans = set(bio_spans(g)), set(bio_spans(p))
        n_gold, n_pred, correct = (
            n_gold + len(g_spans),
            n_pred + len(p_spans),
            correct + len(g_spans & p_spans),
        )
    precision = correct / n_pred if n_pred else float(n_gold == 0)
    recall = correct / n_gold if n_gold else float(n_pred == 0)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "gold": n_gold,
        "predicted": n_pred,
        "correct": correct,
    }


def tagging_scores(
    model: nn.Module,
    loader: DataLoader,
    tags: Sequence[str] = NER_TAGS,
    device: torch.device | str | None = None,
) -> dict[str, float]:
    """:func:`entity_scores` of a model on labelled batches (from :func:`tagged_loader`).

    The labelled positions (label != -100) are the first subwords of the words, so the predicted tags
    of a sentence are the argmax of the logits at those positions, in order.
    """
    gold, predicted = [], []
    device = model_device(model) if device is None else device
    with eval_mode(model), torch.no_grad():
        for batch in loader:
            batch = move_to_device(batch, device)
            logits = model(**{k: v for k, v in batch.items() if k != "labels"}).logits  # (B, T, num_tags)
            for labels, guess in zip(batch["labels"], logits.argmax(-1)):
                first = labels != IGNORE_INDEX
                gold.append([tags[i] for i in labels[first].tolist()])
                predicted.append([tags[i] for i in guess[first].tolist()])
    return entity_scores(gold, predicted)


@torch.no_grad()
def predict_tags(
    model: nn.Module,
    tokenizer: Any,
    sentences: Sequence[Sequence[str]],
    tags: Sequence[str] = NER_TAGS,
    batch_size: int = 64,
    max_length: int = 128,
) -> list[list[str]]:
    """The tag of every word: the highest-scoring tag at the word's first subword.

    Args:
        sentences: lists of words (no tags).
        tags: the model's tag names, in the order of its outputs.

    Returns:
        One list of tags per sentence, one tag per word (``"O"`` for words cut off by ``max_length``).
    """
    _check_sentences(sentences, tags, with_tags=False)
    device = model_device(model)
    collate = DynamicPaddingCollator(tokenizer)
    out: list[list[str]] = []
    with eval_mode(model):
        for i in range(0, len(sentences), batch_size):
            chunk = [list(words) for words in sentences[i : i + batch_size]]
            enc = tokenizer(
                chunk,
                is_split_into_words=True,
                truncation=True,
                max_length=max_length,
                return_token_type_ids=True,
            )
            items = [
                {"input_ids": ids, "token_type_ids": t}
                for ids, t in zip(enc["input_ids"], enc["token_type_ids"])
            ]
            guess = model(**move_to_device(collate(items), device)).logits.argmax(-1).cpu()  # (B, T)
            for n, words in enumerate(chunk):
                word_tags = ["O"] * len(words)
                for position, label in enumerate(align_labels(enc.word_ids(n), range(len(words)))):
                    if label != IGNORE_INDEX:  # the first subword of word number `label`
                        word_tags[label] = tags[int(guess[n, position])]
                out.append(word_tags)
    return out


# ----------------------------------------------------------------------------------------------------
# 2) Question answering: answer spans on tokens, decoding, exact match and F1
# ----------------------------------------------------------------------------------------------------


def answer_token_span(
    offsets: Sequence[tuple[int, int]], sequence_ids: Sequence[int | None], char_start: int, char_end: int
) -> tuple[int, int] | None:
    """The first and last token of the context that cover characters ``char_start:char_end``.

    Args:
        offsets: ``(start, end)`` characters of each token in its own text (the offset mapping).
        sequence_ids: for each token 0 (question), 1 (context) or None ([CLS], [SEP], padding).
        char_start, char_end: the answer's characters in the context (end exclusive).

    Returns:
        ``(start_token, end_token)`` (both inclusive), or None when the context was cut before the end of
        the answer.
    """
    context = [i for i, s in enumerate(sequence_ids) if s == 1]
    if not context or offsets[context[-1]][1] < char_end:
        return None
    start = next(i for i in context if offsets[i][1] > char_start)  # first token that ends after the start
    end = next(
        i for i in reversed(context) if offsets[i][0] < char_end
    )  # last token that begins before the end
    return start, end


def _check_examples(examples: Any) -> None:
    if isinstance(examples, (str, Mapping)) or not isinstance(examples, Sequence) or len(examples) == 0:
        raise TypeError("examples must be a non-empty list of dicts, e.g. world.qa_examples('train')")
    for n, ex in enumerate(examples):
        missing = (
            {"context", "question", "answer_text", "answer_start"} - set(ex)
            if isinstance(ex, Mapping)
            else None
        )
        if missing is None or missing:
            raise ValueError(
                f"example {n} must be a dict with context, question, answer_text and answer_start; "
                f"missing {sorted(missing) if missing else 'everything'}"
            )
        start, answer, context = ex["answer_start"], ex["answer_text"], ex["context"]
        if not answer or context[start : start + len(answer)] != answer:
            where = context.find(answer) if answer else -1
            hint = f" (it occurs at {where})" if where >= 0 else " (it does not occur in the context)"
            raise ValueError(
                f"example {n}: answer_text {answer!r} is not at answer_start={start} of its context, which has "
                f"{context[start : start + len(answer)]!r} there{hint}"
            )


def encode_questions(
    tokenizer: Any, examples: Sequence[Mapping[str, Any]], max_length: int = 128
) -> tuple[list[dict[str, Any]], list[list[tuple[int, int] | None]]]:
    """Tokenize question-passage pairs as ``[CLS] question [SEP] context [SEP]`` with the answer's tokens.

    Args:
        tokenizer: a fast tokenizer (it must give offset mappings).
        examples: dicts with ``question``, ``context``, ``answer_text`` and ``answer_start`` (the
            answer's first character in the context), e.g. ``world.qa_examples("train")``.
        max_length: longest sequence; the context is cut to fit (the question never is).

    Returns:
        ``(items, context_offsets)``. Items are ``{"input_ids", "token_type_ids", "start_positions",
        "end_positions"}``: the answer's first and last token (both 0, the ``[CLS]`` token, when the
        context was cut before the answer ends: as in BERT's SQuAD 2.0 recipe, "no answer here").
        ``context_offsets[n][t]`` is the ``(start, end)`` characters of token ``t`` in the context, or
        None when token ``t`` is not part of the context: what decoding needs.
    """
    _check_examples(examples)
    enc = tokenizer(
        [ex["question"] for ex in examples],
        [ex["context"] for ex in examples],
        truncation="only_second",
        max_length=max_length,
        return_offsets_mapping=True,
    )
    items, context_offsets = [], []
    for n, ex in enumerate(examples):
        offsets, sequence_ids = enc["offset_mapping"][n], enc.sequence_ids(n)
        char_start = ex["answer_start"]
        span = answer_token_span(offsets, sequence_ids, char_start, char_start + len(ex["answer_text"]))
        start, end = span if span is not None else (0, 0)
        items.append(
            {
                "input_ids": enc["input_ids"][n],
                "token_type_ids": enc["token_type_ids"][n],
                "start_positions": start,
                "end_positions": end,
            }
        )
        context_offsets.append([tuple(o) if s == 1 else None for o, s in zip(offsets, sequence_ids)])
    return items, context_offsets


def qa_loader(
    tokenizer: Any, items: list[dict[str, Any]], *, batch_size: int = 32, shuffle: bool = False
) -> DataLoader:
    """Batches of :func:`encode_questions` items, padded per batch."""
    return _loader(items, tokenizer, batch_size, shuffle)


def best_span(
    start_scores: torch.Tensor, end_scores: torch.Tensor, allowed: torch.Tensor, max_answer_tokens: int = 30
) -> tuple[int, int]:
    """The ``(start, end)`` with the highest ``start_scores[start] + end_scores[end]``.

    Only spans with ``start <= end < start + max_answer_tokens`` and both ends ``allowed`` (the context's
    tokens) count, so the answer is always a piece of the passage.

    Args:
        start_scores, end_scores: ``(T,)`` scores (logits) of each token as the first and last of the answer.
        allowed: ``(T,)`` booleans, True for the tokens an answer may use.
        max_answer_tokens: the longest answer, in tokens.
    """
    start_scores, end_scores = torch.as_tensor(start_scores).float(), torch.as_tensor(end_scores).float()
    allowed = torch.as_tensor(allowed, dtype=torch.bool)
    if not allowed.any():
        raise ValueError("no token is allowed in the answer (is the context empty or cut off entirely?)")
    T = len(start_scores)
    scores = start_scores[:, None] + end_scores[None, :]  # (T, T): row = start, column = end
    i, j = torch.arange(T)[:, None], torch.arange(T)[None, :]
    ok = (j >= i) & (j < i + max_answer_tokens) & allowed[:, None] & allowed[None, :]
    best = int(scores.masked_fill(~ok, float("-inf")).argmax())
    return best // T, best % T


def _span_text(context: str, offsets: Sequence[tuple[int, int] | None], start: int, end: int) -> str:
    return context[offsets[start][0] : offsets[end][1]]


@torch.no_grad()
def _answer_scores(model: nn.Module, loader: DataLoader, device: torch.device | str | None) -> list[tuple]:
    """``(start_logits, end_logits)`` of every example, in order, each ``(T_i,)`` (padding cut off)."""
    device = model_device(model) if device is None else device
    out = []
    with eval_mode(model):
        for batch in loader:
            batch = move_to_device(batch, device)
            inputs = {k: v for k, v in batch.items() if k not in ("start_positions", "end_positions")}
            result = model(**inputs)
            for n, length in enumerate(batch["attention_mask"].sum(1).tolist()):
                out.append((result.start_logits[n, :length].cpu(), result.end_logits[n, :length].cpu()))
    return out


def qa_evaluation(
    model: nn.Module,
    loader: DataLoader,
    examples: Sequence[Mapping[str, Any]],
    context_offsets: list[list[tuple[int, int] | None]],
    *,
    max_answer_tokens: int = 30,
    device: torch.device | str | None = None,
) -> dict[str, Any]:
    """Answers of ``model`` on the batches of ``loader`` (not shuffled), scored against ``examples``.

    Returns:
        ``{"exact_match", "f1", "count", "answers"}`` (see :func:`course_utils.metrics.qa_scores`).
    """
    answers = []
    for (start_scores, end_scores), offsets, ex in zip(
        _answer_scores(model, loader, device), context_offsets, examples
    ):
        allowed = torch.tensor([o is not None for o in offsets])
        start, end = best_span(start_scores, end_scores, allowed, max_answer_tokens)
        answers.append(_span_text(ex["context"], offsets, start, end))
    return {**qa_scores(answers, [ex["answer_text"] for ex in examples]), "answers": answers}


def predict_answers(
    model: nn.Module,
    tokenizer: Any,
    examples: Sequence[Mapping[str, Any]],
    *,
    max_length: int = 128,
    max_answer_tokens: int = 30,
    batch_size: int = 64,
) -> list[str]:
    """The answer to each question: the best span of its context (:func:`best_span`), as text.

    ``examples`` are dicts with ``question`` and ``context``; ``answer_text`` and ``answer_start`` are
    optional here (nothing is scored).
    """
    if isinstance(examples, (str, Mapping)) or not isinstance(examples, Sequence) or len(examples) == 0:
        raise TypeError("examples must be a non-empty list of dicts with 'question' and 'context'")
    for n, ex in enumerate(examples):
        if not isinstance(ex, Mapping) or not ex.get("question") or not ex.get("context"):
            raise ValueError(f"example {n} needs a non-empty 'question' and 'context', got {ex!r:.80}")
    placeholders = [{**ex, "answer_text": ex["context"][0], "answer_start": 0} for ex in examples]
    items, offsets = encode_questions(tokenizer, placeholders, max_length)
    loader = qa_loader(tokenizer, items, batch_size=batch_size)
    return qa_evaluation(model, loader, placeholders, offsets, max_answer_tokens=max_answer_tokens)["answers"]


# ----------------------------------------------------------------------------------------------------
# 3) Fine-tuning that keeps the best epoch, and frozen features per token
# ----------------------------------------------------------------------------------------------------


def _keep_best_epoch(
    model: nn.Module,
    loader: DataLoader,
    val_loader: DataLoader,
    score: Callable[[nn.Module, DataLoader, torch.device], dict[str, float]],
    metric: str,
    eval_every_epochs: int,
    **train_options: Any,
) -> dict[str, Any]:
    """Train, score the validation set every ``eval_every_epochs`` epochs and at the end, and leave
    ``model`` with the weights of its best evaluation."""
    best: dict[str, Any] = {"score": -1.0, "state": None}

    def validate(model: nn.Module, val_loader: DataLoader, device: torch.device) -> dict[str, float]:
        metrics = {k: v for k, v in score(model, val_loader, device).items() if isinstance(v, float)}
        if metrics[metric] > best["score"]:  # keep the weights of the best epoch so far
            best.update(score=metrics[metric], state=copy.deepcopy(model.state_dict()))
        return metrics

    if isinstance(eval_every_epochs, bool) or not isinstance(eval_every_epochs, int) or eval_every_epochs < 1:
        raise ValueError(f"eval_every_epochs={eval_every_epochs!r} must be a positive int")
    history = train(
        model,
        loader,
        eval_loader=val_loader,
        eval_every=eval_every_epochs * len(loader),  # and always after the last step
        eval_fn=validate,
        **train_options,
    )
    model.load_state_dict(best["state"])
    model.eval()
    steps, scores = history.eval_metric(metric)
    best_step = steps[scores.index(max(scores))]
    return {
        f"validation_{metric}": scores,
        "best_epoch": -(-best_step // len(loader)),  # the epoch that step ends (1-based)
        "history": history,
    }


def fine_tune_tagger(
    model: nn.Module,
    tokenizer: Any,
    train_sentences: Sequence[Sentence],
    validation_sentences: Sequence[Sentence],
    *,
    tags: Sequence[str] = NER_TAGS,
    epochs: int = 10,
    lr: float = 5e-4,
    batch_size: int = 32,
    warmup: float = 0.1,
    eval_every_epochs: int = 1,
    seed: int = 0,
    device: torch.device | str | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Fine-tune a token classifier and keep its epoch with the best validation entity F1.

    Args:
        model: a ``BertForTokenClassification`` with ``num_labels=len(tags)`` (or any model called as
            ``model(input_ids, attention_mask, token_type_ids, labels)`` returning ``.loss`` and
            ``.logits`` of shape (B, T, len(tags)), such as :class:`course_utils.classic.BiLSTMTagger`).
        tokenizer: the tokenizer the model was pretrained with.
        train_sentences, validation_sentences: ``(words, tags)`` pairs.
        tags: the tag names, in the order of the model's outputs.
        epochs, lr, batch_size, warmup: the optimisation (AdamW, warmup then linear decay).
        eval_every_epochs: score the validation set every this many epochs (and after the last); 1 keeps
            the best epoch, more saves time on long runs over few examples.
        seed: the data order and the random state of the run.
        device: where to train (default: :func:`course_utils.utils.get_device`).
        progress: show a progress bar.

    Returns:
        ``{"validation_f1": [per evaluation], "best_epoch": 1-based, "history": History}``; the model
        holds the weights of its best epoch, in eval mode.
    """
    loader = tagged_loader(tokenizer, train_sentences, tags=tags, batch_size=batch_size, shuffle=True)
    val_loader = tagged_loader(tokenizer, validation_sentences, tags=tags, batch_size=128)
    return _keep_best_epoch(
        model,
        loader,
        val_loader,
        lambda model, loader, device: tagging_scores(model, loader, tags, device),
        "f1",
        eval_every_epochs,
        epochs=epochs, lr=lr, warmup=warmup, seed=seed, device=device, progress=progress,
    )  # fmt: skip


def fine_tune_qa(
    model: nn.Module,
    tokenizer: Any,
    train_examples: Sequence[Mapping[str, Any]],
    validation_examples: Sequence[Mapping[str, Any]],
    *,
    max_length: int = 128,
    max_answer_tokens: int = 30,
    epochs: int = 10,
    lr: float = 5e-4,
    batch_size: int = 32,
    warmup: float = 0.1,
    eval_every_epochs: int = 1,
    seed: int = 0,
    device: torch.device | str | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Fine-tune a span extractor and keep its epoch with the best validation answer F1.

    Args:
        model: a ``BertForQuestionAnswering`` (or any model called as ``model(input_ids, attention_mask,
            token_type_ids, start_positions, end_positions)`` returning ``.loss``, ``.start_logits`` and
            ``.end_logits``, such as :class:`course_utils.classic.LSTMSpanExtractor`).
        train_examples, validation_examples: dicts as in :func:`encode_questions`.
        max_length, max_answer_tokens: see :func:`encode_questions` and :func:`best_span`.
        The other arguments are those of :func:`fine_tune_tagger`.

    Returns:
        ``{"validation_f1": [per evaluation], "best_epoch": 1-based, "history": History}``; the history
        also records ``exact_match`` at every evaluation. The model holds the weights of its best epoch, in eval mode.
    """
    items, _ = encode_questions(tokenizer, train_examples, max_length)
    val_items, val_offsets = encode_questions(tokenizer, validation_examples, max_length)

    def score(model: nn.Module, loader: DataLoader, device: torch.device) -> dict[str, Any]:
        return qa_evaluation(
            model,
            loader,
            validation_examples,
            val_offsets,
            max_answer_tokens=max_answer_tokens,
            device=device,
        )

    return _keep_best_epoch(
        model,
        qa_loader(tokenizer, items, batch_size=batch_size, shuffle=True),
        qa_loader(tokenizer, val_items, batch_size=128),
        score,
        "f1",
        eval_every_epochs,
        epochs=epochs, lr=lr, warmup=warmup, seed=seed, device=device, progress=progress,
    )  # fmt: skip


@torch.no_grad()
def token_states(encoder: nn.Module, loader: DataLoader) -> list[torch.Tensor]:
    """A frozen encoder's last hidden states, one ``(T_i, H)`` tensor per example (padding cut off).

    For the feature-based approach (the BERT paper's NER experiment): the encoder is not trained, and a
    simple classifier learns from these vectors, e.g. the vectors at the labelled positions of a
    :func:`tagged_loader`, or at the context tokens of a :func:`qa_loader`.

    Args:
        encoder: a ``BertModel`` (e.g. ``BertForPreTraining.from_pretrained(folder).bert``).
        loader: batches with ``input_ids``, ``attention_mask`` and ``token_type_ids`` (labels are ignored).
    """
    device = model_device(encoder)
    states = []
    with eval_mode(encoder):
        for batch in loader:
            mask = batch["attention_mask"]
            out = encoder(*(batch[k].to(device) for k in ("input_ids", "attention_mask", "token_type_ids")))
            for hidden, length in zip(out.last_hidden_state.float().cpu(), mask.sum(1).tolist()):
                states.append(hidden[:length])
    return states
