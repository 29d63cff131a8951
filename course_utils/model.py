"""A from-scratch BERT that is the same model as Hugging Face ``transformers``' BERT.

Read it top to bottom: what a model returns and the attention function, then the model from the bottom
up (embeddings → self-attention → the rest of a layer → encoder → pooler → ``BertModel``), the heads and
the task models. Loading, saving and the input checks come last. The config, :class:`BertConfig`, is in
:mod:`course_utils.model_config` (imported here: ``from course_utils.model import BertConfig`` works).

Module and parameter names are exactly those of ``transformers/models/bert/modeling_bert.py``
(``embeddings.word_embeddings``, ``encoder.layer.0.attention.self.query``, ``cls.predictions.decoder``...),
so weights move both ways with ``load_state_dict(..., strict=True)`` and the outputs agree. A model
folder (``save_pretrained`` / ``from_pretrained``) is ``config.json`` + ``model.safetensors``, the layout
``transformers`` uses: a folder of any course model loads into any other, and into ``transformers``.

Shapes: B batch, T tokens, H hidden size, nh heads, hs head size (H = nh * hs), V vocabulary size.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import nn

from course_utils.model_config import ACTIVATIONS, BertConfig

logger = logging.getLogger(__name__)

# What a model returns, the attention function and the padding mask ----------------------------------


@dataclass
class ModelOutput:
    """What every model returns. Fields that a model does not compute stay ``None``.

    Field names follow ``transformers``; ``out.loss`` and ``out["loss"]`` both work.
    """

    loss: torch.Tensor | None = None
    # classification heads: (B, num_labels) or (B, T, num_labels); masked LM: (B, T, V)
    logits: torch.Tensor | None = None
    # pretraining MLM head: (B, T, V), or (N, V) for the N labelled positions with masked_only=True
    prediction_logits: torch.Tensor | None = None
    seq_relationship_logits: torch.Tensor | None = None  # NSP head: (B, 2)
    start_logits: torch.Tensor | None = None  # QA: (B, T)
    end_logits: torch.Tensor | None = None  # QA: (B, T)
    last_hidden_state: torch.Tensor | None = None  # (B, T, H)
    pooler_output: torch.Tensor | None = None  # (B, H)
    hidden_states: tuple[torch.Tensor, ...] | None = None  # embeddings + one per layer, each (B, T, H)
    attentions: tuple[torch.Tensor, ...] | None = None  # one per layer, each (B, nh, T, T)
    mlm_loss: torch.Tensor | None = None  # pretraining: the two parts of `loss`
    nsp_loss: torch.Tensor | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        return getattr(self, key)

    def keys(self) -> list[str]:
        """Names of the fields that were computed."""
        return [f.name for f in fields(self) if f.name != "extra" and getattr(self, f.name) is not None]


def attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    mask: torch.Tensor | None = None,
    dropout_p: float = 0.0,
    training: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Scaled dot-product attention, written out: softmax(q kᵀ / √hs + mask) v.

    Args:
        q, k, v: (B, nh, T, hs) queries, keys, values (k and v may have another length S).
        mask: broadcastable to (B, nh, T, S); either additive floats (0 to keep, a large negative number to
            block) or booleans (True to keep).
        dropout_p: dropout on the attention probabilities (only when ``training``).

    Returns:
        output (B, nh, T, hs) and the attention probabilities (B, nh, T, S).
    """
    hs = q.size(-1)
    scores = (q @ k.transpose(-2, -1)) / math.sqrt(hs)  # (B, nh, T, S)
    if mask is not None:
        if mask.dtype == torch.bool:
            scores = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
        else:
            scores = scores + mask
    probs = scores.softmax(dim=-1)
    probs_dropped = F.dropout(probs, p=dropout_p, training=training)
    return probs_dropped @ v, probs  # (B, nh, T, hs), (B, nh, T, S)


def extended_attention_mask(attention_mask: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """Turn a (B, T) mask of 1 = token / 0 = padding into an additive (B, 1, 1, T) mask.

    Padding keys get the most negative number of ``dtype``, so after softmax they get zero weight.
    """
    mask = attention_mask[:, None, None, :].to(dtype)  # (B, 1, 1, T)
    return (1.0 - mask) * torch.finfo(dtype).min


# Embeddings -----------------------------------------------------------------------------------------


class BertEmbeddings(nn.Module):
    """Input embedding = token + segment + position, then LayerNorm and dropout."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.word_embeddings = nn.Embedding(
            config.vocab_size, config.hidden_size, padding_idx=config.pad_token_id
        )
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, config.hidden_size)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        # 0, 1, 2, ... kept as a buffer so it follows the model to its device; not saved in checkpoints
        self.register_buffer(
            "position_ids", torch.arange(config.max_position_embeddings)[None], persistent=False
        )

    def forward(
        self,
        input_ids: torch.Tensor,
        token_type_ids: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
    ) -> torch.Tensor:
        T = input_ids.size(1)
        if position_ids is None:
            position_ids = self.position_ids[:, :T]  # (1, T)
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)
        x = self.word_embeddings(input_ids) + self.token_type_embeddings(token_type_ids)
        x = x + self.position_embeddings(position_ids)  # (B, T, H)
        return self.dropout(self.LayerNorm(x))


# Self-attention -------------------------------------------------------------------------------------


class BertSelfAttention(nn.Module):
    """Multi-head self-attention: separate query/key/value projections, heads attend in parallel."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.num_attention_heads = config.num_attention_heads  # nh
        self.attention_head_size = config.head_size  # hs
        self.query = nn.Linear(config.hidden_size, config.hidden_size)
        self.key = nn.Linear(config.hidden_size, config.hidden_size)
        self.value = nn.Linear(config.hidden_size, config.hidden_size)
        self.dropout = nn.Dropout(config.attention_probs_dropout_prob)
        self.use_sdpa = config.attn_implementation == "sdpa"

    def forward(
        self, x: torch.Tensor, mask: torch.Tensor | None = None, output_attentions: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        B, T, H = x.shape
        nh, hs = self.num_attention_heads, self.attention_head_size
        # 1) project, 2) split into heads: (B, T, H) -> (B, nh, T, hs)
        q = self.query(x).view(B, T, nh, hs).transpose(1, 2)
        k = self.key(x).view(B, T, nh, hs).transpose(1, 2)
        v = self.value(x).view(B, T, nh, hs).transpose(1, 2)
        # 3) attend: the fused kernel, or the readable path when the probabilities are wanted
        p = self.dropout.p if self.training else 0.0
        if self.use_sdpa and not output_attentions:
            if mask is not None and mask.dtype != torch.bool:
                mask = mask.to(q.dtype)  # under autocast q may be bf16; a bool mask (True = keep) stays bool
            y, probs = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p), None
        else:
            y, probs = attention(q, k, v, mask, dropout_p=p, training=self.training)
        # 4) merge heads: (B, nh, T, hs) -> (B, T, H)
        y = y.transpose(1, 2).reshape(B, T, H)
        return y, probs


# The rest of an encoder layer -----------------------------------------------------------------------


class BertSelfOutput(nn.Module):
    """After attention: project to H, dropout, then add the residual and LayerNorm (post-LN)."""

    def __init__(self, config: BertConfig, in_features: int | None = None):
        super().__init__()
        self.dense = nn.Linear(in_features or config.hidden_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, h: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.dropout(self.dense(h)) + residual)  # (B, T, H)


class BertAttention(nn.Module):
    """Self-attention, then its output projection with residual + LayerNorm."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.self = BertSelfAttention(config)
        self.output = BertSelfOutput(config)

    def forward(
        self, x: torch.Tensor, mask: torch.Tensor | None = None, output_attentions: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        h, probs = self.self(x, mask, output_attentions)
        return self.output(h, x), probs


class BertIntermediate(nn.Module):
    """First half of the feed-forward block: H -> intermediate_size, then the activation."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.intermediate_size)
        self.act = ACTIVATIONS[config.hidden_act]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.dense(x))  # (B, T, intermediate_size)


class BertOutput(BertSelfOutput):
    """Second half of the feed-forward block: back to H, dropout, residual + LayerNorm.

    The same computation as :class:`BertSelfOutput`, from the wider feed-forward vector.
    """

    def __init__(self, config: BertConfig):
        super().__init__(config, in_features=config.intermediate_size)


class BertLayer(nn.Module):
    """One encoder layer: x = LN(x + attention(x)); x = LN(x + FFN(x))."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.attention = BertAttention(config)
        self.intermediate = BertIntermediate(config)
        self.output = BertOutput(config)

    def forward(
        self, x: torch.Tensor, mask: torch.Tensor | None = None, output_attentions: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        x, probs = self.attention(x, mask, output_attentions)
        x = self.output(self.intermediate(x), x)
        return x, probs


# Encoder and pooler ---------------------------------------------------------------------------------


class BertEncoder(nn.Module):
    """L encoder layers, one after the other; optionally keeps every layer's output and attention."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.layer = nn.ModuleList(BertLayer(config) for _ in range(config.num_hidden_layers))

    def forward(
        self,
        x: torch.Tensor,
        mask: torch.Tensor | None = None,
        output_attentions: bool = False,
        output_hidden_states: bool = False,
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...] | None, tuple[torch.Tensor, ...] | None]:
        hidden_states = (x,) if output_hidden_states else None
        attentions = () if output_attentions else None
        for layer in self.layer:
            x, probs = layer(x, mask, output_attentions)
            if output_hidden_states:
                hidden_states += (x,)
            if output_attentions:
                attentions += (probs,)
        return x, hidden_states, attentions


class BertPooler(nn.Module):
    """The pooled sentence vector: tanh(dense(hidden state of [CLS]))."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.activation = nn.Tanh()

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.activation(self.dense(hidden_states[:, 0]))  # (B, H)


# BertModel ------------------------------------------------------------------------------------------


class BertPreTrainedModel(nn.Module):
    """What every model below shares: the config, the weight initialisation, loading and saving (the
    last two are written at the end of this file, after the models they serve)."""

    base_model_prefix = "bert"  # a task model keeps its encoder in `self.bert`: keys "bert.*"
    # Parameters shared with another one, as {key: key it is tied to}; a model folder stores them once.
    _tied_weights_keys: dict[str, str] = {}

    def __init__(self, config: BertConfig):
        super().__init__()
        if not isinstance(config, BertConfig):
            raise TypeError(
                f"config must be a course_utils.model.BertConfig, got {type(config).__name__}; "
                "convert a transformers config with BertConfig.from_hf(config)"
            )
        self.config = config

    def _init_weights(self, module: nn.Module) -> None:
        """BERT's initialisation: normal(0, initializer_range) weights, zero biases, LayerNorm = identity."""
        std = self.config.initializer_range
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=std)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=std)
            if module.padding_idx is not None:
                nn.init.zeros_(module.weight[module.padding_idx])
        elif isinstance(module, nn.LayerNorm):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)

    def post_init(self) -> None:
        """Initialise the weights; every model calls this at the end of its ``__init__``.

        Each module is initialised once, in the order ``self.apply`` visits them: the ``BertModel`` inside a
        task model has already initialised its own modules when the task model's turn comes, so the task
        model initialises only its head.
        """

        def init_once(module: nn.Module) -> None:
            if not getattr(module, "_is_initialized", False):
                self._init_weights(module)
                module._is_initialized = True

        with torch.no_grad():
            self.apply(init_once)

    def load_state_dict(
        self, state_dict: Mapping[str, torch.Tensor], strict: bool = True, assign: bool = False
    ):
        """``nn.Module.load_state_dict`` that also takes older BERT checkpoints, with clear errors.

        Older checkpoints name LayerNorm parameters ``gamma``/``beta`` and may store ``position_ids``; a
        model folder stores tied weights (the MLM decoder) once. Differing keys or shapes are listed.
        """
        state_dict = _checked_state_dict(self, state_dict, strict)
        return super().load_state_dict(state_dict, strict=strict, assign=assign)

    def save_pretrained(self, directory: str | Path) -> Path:
        """Write the model folder: ``config.json`` and ``model.safetensors`` (tied weights stored once)."""
        return _save_model_folder(self, directory)

    @classmethod
    def from_pretrained(
        cls, directory: str | Path, *, output_loading_info: bool = False, **config_overrides: Any
    ):
        """Load a model folder saved by any course model class (or by ``transformers``' BERT) into ``cls``.

        As in ``transformers``: a ``BertForPreTraining`` folder gives a ``BertForSequenceClassification``
        its encoder (``bert.*``) and a new, randomly initialised classifier; a ``BertModel`` gets the
        encoder without the ``bert.`` prefix; weights with no place in ``cls`` (another head) go unused.
        A folder without the encoder's weights, or with other shapes (another config), is an error.

        Args:
            directory: a folder with ``config.json`` and ``model.safetensors``.
            output_loading_info: also return ``{"missing_keys": newly initialised, "unexpected_keys": unused}``.
            config_overrides: config fields to change, e.g. ``num_labels=3`` or ``hidden_dropout_prob=0.0``.
        """
        return _load_model_folder(cls, directory, output_loading_info, config_overrides)


class BertModel(BertPreTrainedModel):
    """Embeddings → L encoder layers → (optional) pooler. Returns contextual vectors for every token."""

    def __init__(self, config: BertConfig, add_pooling_layer: bool = True):
        super().__init__(config)
        self.embeddings = BertEmbeddings(config)
        self.encoder = BertEncoder(config)
        self.pooler = BertPooler(config) if add_pooling_layer else None
        self.post_init()

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        output_attentions: bool = False,
        output_hidden_states: bool = False,
    ) -> ModelOutput:
        """
        Args:
            input_ids: (B, T) token ids.
            attention_mask: (B, T), 1 for real tokens and 0 for padding; None means no padding.
            token_type_ids: (B, T) segment ids (0 for sentence A, 1 for B); None means all 0.
            position_ids: (B or 1, T); None means 0..T-1.
            output_attentions: also return each layer's attention probabilities (uses the eager path).
            output_hidden_states: also return the embeddings and every layer's output.

        Returns:
            ModelOutput with last_hidden_state (B, T, H), pooler_output (B, H) and the optional tuples.
        """
        _check_inputs(self.config, input_ids, attention_mask, token_type_ids, position_ids)
        x = self.embeddings(input_ids, token_type_ids, position_ids)  # (B, T, H)
        mask = None if attention_mask is None else extended_attention_mask(attention_mask, x.dtype)
        x, hidden_states, attentions = self.encoder(x, mask, output_attentions, output_hidden_states)
        return ModelOutput(
            last_hidden_state=x,
            pooler_output=self.pooler(x) if self.pooler is not None else None,
            hidden_states=hidden_states,
            attentions=attentions,
        )


# Heads ----------------------------------------------------------------------------------------------


class BertPredictionHeadTransform(nn.Module):
    """dense → activation → LayerNorm, before the vocabulary scores."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.transform_act_fn = ACTIVATIONS[config.hidden_act]
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.transform_act_fn(self.dense(x)))


class BertLMPredictionHead(nn.Module):
    """Masked-LM head: transform, then scores over the vocabulary with the input embedding matrix (tied)."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.transform = BertPredictionHeadTransform(config)
        self.decoder = nn.Linear(config.hidden_size, config.vocab_size)
        self.bias = nn.Parameter(torch.zeros(config.vocab_size))
        self.decoder.bias = self.bias  # one bias, reachable under both names (as in transformers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.transform(x))  # (..., V)


class BertOnlyMLMHead(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.predictions = BertLMPredictionHead(config)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.predictions(x)


class BertPreTrainingHeads(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.predictions = BertLMPredictionHead(config)
        self.seq_relationship = nn.Linear(config.hidden_size, 2)  # NSP: 0 = IsNext, 1 = NotNext

    def forward(
        self, sequence_output: torch.Tensor, pooled_output: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return self.predictions(sequence_output), self.seq_relationship(pooled_output)


def _mlm_logits_and_loss(
    head: nn.Module, hidden: torch.Tensor, labels: torch.Tensor | None, masked_only: bool
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Vocabulary logits (everywhere, or only where labels != -100) and the MLM loss over labelled positions.

    At small model sizes the (B, T, H) x (H, V) product is most of the compute, and only ~15% of the
    positions carry a label, so ``masked_only`` skips the rest; the loss is identical.
    """
    if labels is not None and tuple(labels.shape) != tuple(hidden.shape[:2]):
        raise ValueError(
            f"labels have shape {tuple(labels.shape)}, expected {tuple(hidden.shape[:2])} "
            "(one label per token, -100 where there is nothing to predict)"
        )
    if masked_only:
        if labels is None:
            raise ValueError("masked_only=True needs labels to know which positions are masked")
        keep = labels != -100
        logits = head(hidden[keep])  # (N, V)
        return logits, F.cross_entropy(logits.float(), labels[keep])
    logits = head(hidden)  # (B, T, V)
    if labels is None:
        return logits, None
    return logits, F.cross_entropy(logits.float().flatten(0, 1), labels.flatten(), ignore_index=-100)


# Task models ----------------------------------------------------------------------------------------

# The MLM decoder reuses the word embedding matrix (and the head's bias): {tied key: the key it shares}.
_MLM_TIES = {
    "cls.predictions.decoder.weight": "bert.embeddings.word_embeddings.weight",
    "cls.predictions.decoder.bias": "cls.predictions.bias",
}


class BertForPreTraining(BertPreTrainedModel):
    """BERT with both pretraining heads: masked language modelling and next sentence prediction."""

    _tied_weights_keys = _MLM_TIES

    def __init__(self, config: BertConfig):
        super().__init__(config)
        self.bert = BertModel(config)
        self.cls = BertPreTrainingHeads(config)
        self.post_init()
        self.cls.predictions.decoder.weight = self.bert.embeddings.word_embeddings.weight  # tie

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        next_sentence_label: torch.Tensor | None = None,
        masked_only: bool = False,
        **encoder_options: Any,
    ) -> ModelOutput:
        """
        Args:
            labels: (B, T) original ids at masked positions, -100 elsewhere (MLM loss only there).
            next_sentence_label: (B,) 0 = sentence B follows A, 1 = B is a random sentence.
            masked_only: compute vocabulary logits only where labels != -100; prediction_logits is (N, V).
            encoder_options: ``position_ids``, ``output_attentions``, ``output_hidden_states``, passed to
                :meth:`BertModel.forward` (so in every task model below).

        Returns:
            loss = mlm_loss + nsp_loss (those given), prediction_logits, seq_relationship_logits (B, 2).
        """
        out = self.bert(input_ids, attention_mask, token_type_ids, **encoder_options)
        B = input_ids.size(0)
        if next_sentence_label is not None and tuple(next_sentence_label.shape) not in ((B,), (B, 1)):
            raise ValueError(
                f"next_sentence_label has shape {tuple(next_sentence_label.shape)}, expected ({B},)"
            )
        mlm_logits, mlm_loss = _mlm_logits_and_loss(
            self.cls.predictions, out.last_hidden_state, labels, masked_only
        )
        nsp_logits = self.cls.seq_relationship(out.pooler_output)  # (B, 2)
        nsp_loss = None
        if next_sentence_label is not None:
            nsp_loss = F.cross_entropy(nsp_logits.float(), next_sentence_label.view(-1))
        parts = [x for x in (mlm_loss, nsp_loss) if x is not None]
        return replace(
            out,  # the encoder's outputs, and the heads'
            loss=sum(parts) if parts else None,
            mlm_loss=mlm_loss,
            nsp_loss=nsp_loss,
            prediction_logits=mlm_logits,
            seq_relationship_logits=nsp_logits,
        )


class BertForMaskedLM(BertPreTrainedModel):
    """BERT with the masked-LM head only (no pooler), e.g. for fill-in-the-blank."""

    _tied_weights_keys = _MLM_TIES

    def __init__(self, config: BertConfig):
        super().__init__(config)
        self.bert = BertModel(config, add_pooling_layer=False)
        self.cls = BertOnlyMLMHead(config)
        self.post_init()
        self.cls.predictions.decoder.weight = self.bert.embeddings.word_embeddings.weight  # tie

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        masked_only: bool = False,
        **encoder_options: Any,
    ) -> ModelOutput:
        """labels: (B, T), -100 where there is nothing to predict. Returns loss and logits (B, T, V)."""
        out = self.bert(input_ids, attention_mask, token_type_ids, **encoder_options)
        logits, loss = _mlm_logits_and_loss(self.cls.predictions, out.last_hidden_state, labels, masked_only)
        return replace(out, loss=loss, logits=logits)


class _BertClassifier(BertPreTrainedModel):
    """BERT, dropout and a linear layer that scores ``num_labels`` classes: the two classifiers below.

    They differ only in which vectors they score, the pooled [CLS] vector (one answer per sequence) or
    every token's vector (``per_token``, one answer per token), and in their loss (``_loss``).
    """

    per_token = False

    def __init__(self, config: BertConfig):
        super().__init__(config)
        self.num_labels = config.num_labels
        self.bert = BertModel(config, add_pooling_layer=not self.per_token)
        p = config.classifier_dropout
        self.dropout = nn.Dropout(config.hidden_dropout_prob if p is None else p)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        **encoder_options: Any,
    ) -> ModelOutput:
        """labels: see the class. Returns loss and logits (B, num_labels), or (B, T, num_labels) per token.

        ``encoder_options`` (``position_ids``, ``output_attentions``, ``output_hidden_states``) go to
        :meth:`BertModel.forward`.
        """
        out = self.bert(input_ids, attention_mask, token_type_ids, **encoder_options)
        vectors = out.last_hidden_state if self.per_token else out.pooler_output  # (B, T, H) or (B, H)
        logits = self.classifier(self.dropout(vectors))
        loss = None if labels is None else self._loss(logits, labels)
        return replace(out, loss=loss, logits=logits)


class BertForSequenceClassification(_BertClassifier):
    """A linear classifier on the pooled [CLS] vector.

    labels: (B,) class ids, (B,) floats for regression (num_labels=1), or (B, num_labels) multi-label.
    """

    def _loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        B = logits.size(0)
        problem = self.config.problem_type
        if problem is None:  # the same rule transformers uses
            if self.num_labels == 1:
                problem = "regression"
            elif labels.dtype in (torch.long, torch.int):
                problem = "single_label_classification"
            else:
                problem = "multi_label_classification"
        if problem == "regression":
            if labels.numel() != B:
                raise ValueError(f"regression labels must have {B} values, got shape {tuple(labels.shape)}")
            return F.mse_loss(logits.squeeze(), labels.squeeze().to(logits.dtype))
        if problem == "single_label_classification":
            if tuple(labels.shape) not in ((B,), (B, 1)):
                raise ValueError(
                    f"labels have shape {tuple(labels.shape)}, expected ({B},): one class id per example"
                )
            if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= self.num_labels):
                raise ValueError(
                    f"labels must be class ids in [0, {self.num_labels}), got "
                    f"{int(labels.min())}..{int(labels.max())}; set num_labels in the config"
                )
            return F.cross_entropy(logits.float(), labels.view(-1))
        if tuple(labels.shape) != tuple(logits.shape):
            raise ValueError(
                f"multi-label labels must have shape {tuple(logits.shape)}, got {tuple(labels.shape)}"
            )
        return F.binary_cross_entropy_with_logits(logits.float(), labels.float())


class BertForTokenClassification(_BertClassifier):
    """A linear classifier on every token's vector (e.g. named-entity tags).

    labels: (B, T) tag ids, -100 for positions to ignore (padding, sub-word continuations).
    """

    per_token = True

    def _loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        if tuple(labels.shape) != tuple(logits.shape[:2]):
            raise ValueError(f"labels have shape {tuple(labels.shape)}, expected {tuple(logits.shape[:2])}")
        return F.cross_entropy(logits.float().flatten(0, 1), labels.flatten(), ignore_index=-100)


class BertForQuestionAnswering(BertPreTrainedModel):
    """Span extraction: a start score and an end score for every token."""

    def __init__(self, config: BertConfig):
        super().__init__(config)
        if config.num_labels != 2:
            raise ValueError(
                f"question answering needs num_labels=2 (start and end), got {config.num_labels}"
            )
        self.num_labels = config.num_labels
        self.bert = BertModel(config, add_pooling_layer=False)
        self.qa_outputs = nn.Linear(config.hidden_size, 2)
        self.post_init()

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        start_positions: torch.Tensor | None = None,
        end_positions: torch.Tensor | None = None,
        **encoder_options: Any,
    ) -> ModelOutput:
        """start_positions, end_positions: (B,) token indices of the answer; the loss averages both ends."""
        out = self.bert(input_ids, attention_mask, token_type_ids, **encoder_options)
        start_logits, end_logits = self.qa_outputs(out.last_hidden_state).unbind(dim=-1)  # (B, T) each
        loss = None
        if start_positions is not None and end_positions is not None:
            B, T = input_ids.shape
            for name, pos in (("start_positions", start_positions), ("end_positions", end_positions)):
                if pos.numel() != B:
                    raise ValueError(
                        f"{name} must have one index per example ({B}), got shape {tuple(pos.shape)}"
                    )
            # positions outside the sequence are ignored (as in transformers)
            start = start_positions.view(-1).clamp(0, T)
            end = end_positions.view(-1).clamp(0, T)
            start_loss = F.cross_entropy(start_logits.float(), start, ignore_index=T)
            loss = (start_loss + F.cross_entropy(end_logits.float(), end, ignore_index=T)) / 2
        return replace(out, loss=loss, start_logits=start_logits, end_logits=end_logits)


TASK_MODELS = {
    cls.__name__: cls
    for cls in (
        BertModel,
        BertForPreTraining,
        BertForMaskedLM,
        BertForSequenceClassification,
        BertForTokenClassification,
        BertForQuestionAnswering,
    )
}


# Loading and saving: the model folder ---------------------------------------------------------------

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"


def _save_model_folder(model: BertPreTrainedModel, directory: str | Path) -> Path:
    """``save_pretrained``: ``config.json`` and ``model.safetensors``, each file replaced whole."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tied = model._tied_weights_keys
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items() if k not in tied}
    config = {"architectures": [type(model).__name__], "model_type": "bert", **model.config.to_dict()}
    # write to a temporary name, then rename: an interrupted save never leaves half a file behind
    save_file(tensors, str(directory / (WEIGHTS_FILE + ".tmp")), metadata={"format": "pt"})
    (directory / (CONFIG_FILE + ".tmp")).write_text(json.dumps(config, indent=2) + "\n")
    for name in (WEIGHTS_FILE, CONFIG_FILE):
        os.replace(directory / (name + ".tmp"), directory / name)
    return directory


def read_model_folder(directory: str | Path) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """The config (a dict, as in ``config.json``) and the weights of a model folder, as they are stored.

    The one place that reads a model folder: :meth:`BertPreTrainedModel.from_pretrained` and the
    training checkpoints (:mod:`course_utils.checkpoint`) both come here. Nothing is unpickled.
    """
    directory = Path(directory)
    if not (directory / CONFIG_FILE).is_file() or not (directory / WEIGHTS_FILE).is_file():
        raise FileNotFoundError(
            f"{directory} is not a model folder: it needs {CONFIG_FILE} and {WEIGHTS_FILE} "
            "(save one with model.save_pretrained(folder))"
        )
    config = json.loads((directory / CONFIG_FILE).read_text())
    return config, load_file(str(directory / WEIGHTS_FILE))


def _load_model_folder(
    cls: type[BertPreTrainedModel],
    directory: str | Path,
    output_loading_info: bool,
    config_overrides: Mapping[str, Any],
):
    """``from_pretrained``: build ``cls`` from the folder's config, then load the weights that fit it."""
    saved_config, weights = read_model_folder(directory)
    model = cls(BertConfig.from_dict({**saved_config, **config_overrides}))
    weights = _upgrade_state_dict(_match_prefix(weights, model), model._tied_weights_keys)
    own = model.state_dict()
    missing = [k for k in own if k not in weights and k not in model._tied_weights_keys]
    unexpected = [k for k in weights if k not in own]
    prefix = model.base_model_prefix + "."
    lacking = [k for k in missing if k.removeprefix(prefix).startswith(("embeddings.", "encoder."))]
    if lacking:
        raise ValueError(
            f"{directory} lacks encoder weights of {cls.__name__} ({len(lacking)}): {_short_list(lacking)}; "
            "is it a BERT model folder (saved by save_pretrained)?"
        )
    model.load_state_dict({k: v for k, v in weights.items() if k in own}, strict=False)
    if missing:
        logger.info("%s: newly initialised (not in %s): %s", cls.__name__, directory, _short_list(missing))
    if unexpected:
        logger.info("%s: not used from %s: %s", cls.__name__, directory, _short_list(unexpected))
    if output_loading_info:
        return model, {"missing_keys": missing, "unexpected_keys": unexpected}
    return model


def _match_prefix(weights: dict[str, torch.Tensor], model: BertPreTrainedModel) -> dict[str, torch.Tensor]:
    """Name the folder's weights as the model does: ``bert.*`` in a task model, no prefix in a BertModel."""
    prefix = model.base_model_prefix + "."
    model_has = any(k.startswith(prefix) for k in model.state_dict())
    folder_has = any(k.startswith(prefix) for k in weights)
    if folder_has and not model_has:  # a task model's folder into a BertModel: its heads go unused
        return {k.removeprefix(prefix): v for k, v in weights.items()}
    if model_has and not folder_has:  # a BertModel's folder into a task model
        return {prefix + k: v for k, v in weights.items()}
    return weights


def _checked_state_dict(
    model: BertPreTrainedModel, state_dict: Mapping[str, torch.Tensor], strict: bool
) -> dict[str, torch.Tensor]:
    """``load_state_dict``'s checks: old names upgraded, differing keys (if strict) and shapes listed."""
    state_dict = _upgrade_state_dict(dict(state_dict), model._tied_weights_keys)
    own = model.state_dict()
    if strict:
        missing = sorted(set(own) - set(state_dict))
        unexpected = sorted(set(state_dict) - set(own))
        if missing or unexpected:
            raise KeyError(
                f"state dict does not match {type(model).__name__}:\n"
                f"  missing keys ({len(missing)}): {_short_list(missing)}\n"
                f"  unexpected keys ({len(unexpected)}): {_short_list(unexpected)}\n"
                "Load a checkpoint of the same class (a BertModel's weights have no 'bert.' prefix and no "
                "heads), use from_pretrained(folder) to load another class's folder, or pass strict=False "
                "to load only the matching keys."
            )
    wrong = [
        f"{k}: checkpoint {tuple(v.shape)} vs model {tuple(own[k].shape)}"
        for k, v in state_dict.items()
        if k in own and v.shape != own[k].shape
    ]
    if wrong:
        raise ValueError(
            "the checkpoint was made with a different config; shapes differ for "
            f"{len(wrong)} tensors: {_short_list(wrong)}. Build the model from the checkpoint's config."
        )
    return state_dict


def _upgrade_state_dict(sd: dict[str, torch.Tensor], tied: Mapping[str, str]) -> dict[str, torch.Tensor]:
    """Today's names for older checkpoints' keys, without the buffers we rebuild, with the tied keys."""
    out = {}
    for key, value in sd.items():
        if key.endswith(("embeddings.position_ids", "embeddings.token_type_ids")):
            continue  # buffers that older checkpoints saved
        if key.endswith("LayerNorm.gamma"):
            key = key.removesuffix("gamma") + "weight"
        elif key.endswith("LayerNorm.beta"):
            key = key.removesuffix("beta") + "bias"
        out[key] = value
    for key, source in tied.items():
        if key not in out and source in out:
            out[key] = out[source]
    return out


def _short_list(items: list[str], limit: int = 8) -> str:
    shown = ", ".join(items[:limit])
    return (shown + f", ... (+{len(items) - limit} more)") if len(items) > limit else (shown or "none")


# Input checks: bad input is caught where it enters the model, with the values and the fix -----------


def check_token_ids(
    ids: torch.Tensor | Sequence[int] | int, vocab_size: int, name: str = "input_ids", hint: str = ""
) -> None:
    """Raise a clear error if a token id is outside ``[0, vocab_size)``: the course's one check of this.

    Args:
        ids: token ids of any shape (a tensor, a list or one int).
        vocab_size: V, the number of ids.
        name: what the ids are, for the message.
        hint: the likely cause, appended to the message.
    """
    ids = torch.as_tensor(ids)
    if ids.numel() == 0:
        return
    lo, hi = int(ids.min()), int(ids.max())
    if lo < 0 or hi >= vocab_size:
        bad = lo if lo < 0 else hi
        raise ValueError(
            f"{name}: token id {bad} is outside the vocabulary [0, {vocab_size})"
            + (f"; {hint}" if hint else "")
        )


def _check_inputs(
    config: BertConfig,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor | None,
    token_type_ids: torch.Tensor | None,
    position_ids: torch.Tensor | None,
) -> None:
    """What ``BertModel.forward`` checks before it embeds anything."""
    if not isinstance(input_ids, torch.Tensor) or input_ids.dim() != 2:
        shape = tuple(input_ids.shape) if isinstance(input_ids, torch.Tensor) else type(input_ids).__name__
        raise ValueError(
            f"input_ids must be a (batch, tokens) tensor, got {shape}; add a batch dimension with "
            "input_ids[None] for a single sequence"
        )
    if input_ids.dtype not in (torch.long, torch.int, torch.int16, torch.uint8):
        raise TypeError(f"input_ids must hold integer ids, got dtype {input_ids.dtype}")
    B, T = input_ids.shape
    max_T = config.max_position_embeddings
    if T > max_T:
        raise ValueError(
            f"sequence length {T} is longer than max_position_embeddings={max_T}; truncate the input "
            f"(tokenizer(..., truncation=True, max_length={max_T}))"
        )
    check_token_ids(
        input_ids, config.vocab_size, hint="the tokenizer and the model's vocab_size do not match"
    )
    for name, t in (("attention_mask", attention_mask), ("token_type_ids", token_type_ids)):
        if t is not None and tuple(t.shape) != (B, T):
            raise ValueError(
                f"{name} has shape {tuple(t.shape)} but input_ids has shape {(B, T)}; "
                "they must match (pad both the same way)"
            )
    if token_type_ids is not None and token_type_ids.numel():
        lo, hi = int(token_type_ids.min()), int(token_type_ids.max())
        if lo < 0 or hi >= config.type_vocab_size:
            raise ValueError(
                f"token_type_ids must be in [0, {config.type_vocab_size}), got values {lo}..{hi}"
            )
    if position_ids is not None and position_ids.numel() and int(position_ids.max()) >= max_T:
        raise ValueError(f"position id {int(position_ids.max())} >= max_position_embeddings={max_T}")
