"""A from-scratch BERT that is the same model as Hugging Face ``transformers``' BERT.

Read it top to bottom: what a model returns and the attention function, then the model from the bottom
up (embeddings → self-attention → the rest of a layer → encoder → pooler → ``BertModel``), the heads and
the task models. The input checks come last. The config, :class:`BertConfig`, is in
:mod:`course_utils.model_config` (imported here: ``from course_utils.model import BertConfig`` works),
and reading and writing a model folder in :mod:`course_utils.model_folder`.

Module and parameter names are exactly those of ``transformers/models/bert/modeling_bert.py``
(``embeddings.word_embeddings``, ``encoder.layer.0.attention.self.query``, ``cls.predictions.decoder``...),
so weights move both ways with ``load_state_dict(..., strict=True)`` and the outputs agree. A model
folder (``save_pretrained`` / ``from_pretrained``) is ``config.json`` + ``model.safetensors``, the layout
``transformers`` uses: a folder of any course model loads into any other, and into ``transformers``.

Shapes: B batch, T tokens, H hidden size, nh heads, hs head size (H = nh * hs), V vocabulary size.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from course_utils.model_config import ACTIVATIONS, BertConfig, check_token_ids
from course_utils.model_folder import (
    checked_state_dict,
    load_model_folder,
    save_model_folder,
)

logger = logging.getLogger(__name__)

# What a model returns, the attention function and the padding mask ----------------------------------


@dataclass
class ModelOutput:
    """What every model returns. Fields that a model does not compute stay ``None``.

    Field names follow ``transformers``; ``out.loss`` and ``out["loss"]`` both work, and ``out[0]`` is the
    first field of :meth:`to_tuple`, as in ``transformers``.
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

    def __getitem__(self, key: str | int | slice) -> Any:
        return getattr(self, key) if isinstance(key, str) else self.to_tuple()[key]

    def __iter__(self):  # iterating gives the names, as for a dict (and transformers' outputs)
        return iter(self.keys())

    def keys(self) -> list[str]:
        """Names of the fields that were computed."""
        return [f.name for f in fields(self) if f.name != "extra" and getattr(self, f.name) is not None]

    def to_tuple(self) -> tuple[Any, ...]:
        """What ``transformers``' model of the same class returns, in its order: the fields that are not None,
        without the course's extras (a task model's last_hidden_state and pooler_output, mlm_loss...)."""
        heads = [n for n in _HEAD_FIELDS if getattr(self, n) is not None]
        names = ["loss", *heads] if heads or self.loss is not None else ["last_hidden_state", "pooler_output"]
        names += ["hidden_states", "attentions"]
        return tuple(getattr(self, n) for n in names if getattr(self, n) is not None)


_HEAD_FIELDS = ("logits", "prediction_logits", "seq_relationship_logits", "start_logits", "end_logits")


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

    Padding keys get the most negative number of ``dtype``, so after softmax they get zero weight. As in
    ``transformers``, any nonzero value (2, 0.5, True) means "token": only 0 is padding.
    """
    padding = (attention_mask == 0)[:, None, None, :].to(dtype)  # (B, 1, 1, T): 1.0 at padding
    return padding * torch.finfo(dtype).min


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
        input_ids: torch.Tensor | None,
        token_type_ids: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """input_ids (B, T), or inputs_embeds (B, T, H) to use in place of the token embeddings."""
        if inputs_embeds is None:
            inputs_embeds = self.word_embeddings(input_ids)  # (B, T, H)
        B, T = inputs_embeds.shape[:2]
        if position_ids is None:
            position_ids = self.position_ids[:, :T]  # (1, T)
        if token_type_ids is None:
            token_type_ids = torch.zeros(B, T, dtype=torch.long, device=inputs_embeds.device)
        x = inputs_embeds + self.token_type_embeddings(token_type_ids)
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
        self,
        x: torch.Tensor,
        mask: torch.Tensor | None = None,
        output_attentions: bool = False,
        rows: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        h, probs = self.self(x, mask, output_attentions)
        if rows is not None:  # only these positions go on: (B, T, H) -> (N, H) (see BertLayer)
            h, x = h[rows], x[rows]
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
        self,
        x: torch.Tensor,
        mask: torch.Tensor | None = None,
        output_attentions: bool = False,
        rows: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """rows: optional (B, T) bool, the positions whose output is wanted; the output is then (N, H).

        Only attention mixes positions, and it still reads every position's key and value; everything after
        it (output projection, residual, LayerNorm, feed-forward) works one position at a time, so the other
        positions' share of it can be skipped.
        """
        x, probs = self.attention(x, mask, output_attentions, rows)
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
        needed: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...] | None, tuple[torch.Tensor, ...] | None]:
        """needed: optional (B, T) bool; the last layer then computes only these positions (zeros
        elsewhere)."""
        hidden_states = (x,) if output_hidden_states else None
        attentions = () if output_attentions else None
        for i, layer in enumerate(self.layer):
            if needed is not None and i == len(self.layer) - 1:
                rows, probs = layer(x, mask, output_attentions, rows=needed)  # (N, H)
                x = torch.zeros_like(x).index_put((needed,), rows)
            else:
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
    last two delegate to :mod:`course_utils.model_folder`)."""

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
        state_dict = checked_state_dict(self, state_dict, strict)
        return super().load_state_dict(state_dict, strict=strict, assign=assign)

    def save_pretrained(self, directory: str | Path) -> Path:
        """Write the model folder: ``config.json`` and ``model.safetensors`` (tied weights stored once)."""
        return save_model_folder(self, directory)

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
        return load_model_folder(cls, directory, output_loading_info, config_overrides)


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
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        output_attentions: bool = False,
        output_hidden_states: bool = False,
        inputs_embeds: torch.Tensor | None = None,
        head_mask: None = None,
        needed_positions: torch.Tensor | None = None,
    ) -> ModelOutput:
        """
        Args:
            input_ids: (B, T) token ids.
            attention_mask: (B, T), 1 for real tokens and 0 for padding (any nonzero value counts as 1, as
                in transformers); None means no padding.
            token_type_ids: (B, T) segment ids (0 for sentence A, 1 for B); None means all 0.
            position_ids: (B, T), (1, T) or (T,); None means 0..T-1.
            output_attentions: also return each layer's attention probabilities (uses the eager path).
            output_hidden_states: also return the embeddings and every layer's output.
            inputs_embeds: (B, T, H) vectors to use instead of the token embeddings of ``input_ids``
                (give one of the two); segment and position embeddings are still added.
            head_mask: not supported (an error), unlike transformers 5, which accepts it and ignores it.
            needed_positions: (B, T) bool, the only positions whose last hidden state will be read (the
                pooler's [CLS] is added). The last layer then computes just those and leaves zeros elsewhere:
                pretraining reads it only at the masked tokens, so it skips most of that layer's work.

        Returns:
            ModelOutput with last_hidden_state (B, T, H), pooler_output (B, H) and the optional tuples.
        """
        _check_inputs(self.config, input_ids, attention_mask, token_type_ids, position_ids, inputs_embeds)
        if head_mask is not None:
            raise ValueError(_NO_HEAD_MASK)
        x = self.embeddings(input_ids, token_type_ids, position_ids, inputs_embeds)  # (B, T, H)
        if attention_mask is not None and self._no_padding(attention_mask, output_attentions):
            attention_mask = None  # SDPA picks its fastest kernel (flash attention on a GPU) without a mask
        mask = None if attention_mask is None else extended_attention_mask(attention_mask, x.dtype)
        if needed_positions is not None:
            needed_positions = self._checked_positions(needed_positions, x.shape[:2])
        x, hidden_states, attentions = self.encoder(
            x, mask, output_attentions, output_hidden_states, needed_positions
        )
        return ModelOutput(
            last_hidden_state=x,
            pooler_output=self.pooler(x) if self.pooler is not None else None,
            hidden_states=hidden_states,
            attentions=attentions,
        )

    def _checked_positions(self, needed: torch.Tensor, shape: tuple[int, int]) -> torch.Tensor:
        """``needed_positions`` as a (B, T) bool tensor on the model's device, with [CLS] for the pooler."""
        if needed.dtype != torch.bool or tuple(needed.shape) != tuple(shape):
            raise ValueError(
                f"needed_positions must be a bool tensor of shape {tuple(shape)} (batch, length), "
                f"got {needed.dtype} of shape {tuple(needed.shape)}"
            )
        needed = needed.to(self.embeddings.word_embeddings.weight.device, copy=True)
        if self.pooler is not None:
            needed[:, 0] = True
        return needed

    def _no_padding(self, attention_mask: torch.Tensor, output_attentions: bool) -> bool:
        """Whether the fused attention can run without a mask: nothing is padding (as transformers checks)."""
        if self.config.attn_implementation != "sdpa" or output_attentions:
            return False
        return bool(attention_mask.all())


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
    if labels is not None:
        _check_labels("labels", labels, tuple(hidden.shape[:2]), head.decoder.out_features)
    if masked_only:
        if labels is None:
            raise ValueError("masked_only=True needs labels to know which positions are masked")
        keep = labels != -100
        logits = head(hidden[keep])  # (N, V)
        return logits, _cross_entropy(logits, labels[keep])
    logits = head(hidden)  # (B, T, V)
    if labels is None:
        return logits, None
    return logits, _cross_entropy(logits.flatten(0, 1), labels.flatten())


def _batch_inputs(input_ids: Any, encoder_options: dict) -> torch.Tensor | None:
    """The (B, T) ids or (B, T, H) vectors a forward call was given; None when missing or malformed, so
    that :meth:`BertModel.forward` is the one to name the problem."""
    inputs = input_ids if input_ids is not None else encoder_options.get("inputs_embeds")
    return inputs if isinstance(inputs, torch.Tensor) and inputs.dim() >= 2 else None


def _labelled_positions(labels: Any, input_ids: Any, encoder_options: dict) -> torch.Tensor:
    """(B, T) bool, True where ``labels`` is not -100: with ``masked_only`` the only positions of the last
    layer that the loss reads, so the encoder computes that layer just there (see ``BertLayer``)."""
    if (inputs := _batch_inputs(input_ids, encoder_options)) is not None:
        _check_labels("labels", labels, tuple(inputs.shape[:2]), None)
    return labels != -100


def _cls_positions(input_ids: Any, encoder_options: dict) -> torch.Tensor | None:
    """(B, T) bool, True at [CLS] (position 0) only: all that a sequence classifier reads (``cls_only``)."""
    if (inputs := _batch_inputs(input_ids, encoder_options)) is None:
        return None
    cls = torch.zeros(inputs.shape[:2], dtype=torch.bool, device=inputs.device)
    cls[:, 0] = True
    return cls


def _cross_entropy(logits: torch.Tensor, labels: torch.Tensor, ignore_index: int = -100) -> torch.Tensor:
    """Cross-entropy averaged over the labelled positions (labels != ignore_index), as in transformers.

    With no labelled position at all (e.g. a batch in which no token was masked) the average is 0 / 0:
    transformers returns NaN, and one NaN step turns every weight into NaN. The course returns 0 instead
    (zero gradients from this part; the other parts of the loss still train).
    """
    if not (labels != ignore_index).any():
        return logits.float().sum() * 0.0
    return F.cross_entropy(logits.float(), labels.long(), ignore_index=ignore_index)


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
        input_ids: torch.Tensor | None = None,
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
                The last encoder layer, too, is computed only there and at [CLS] (the only places the
                losses read it): last_hidden_state is zero at the other positions.
            encoder_options: ``position_ids``, ``output_attentions``, ``output_hidden_states``, passed to
                :meth:`BertModel.forward` (so in every task model below).

        Returns:
            loss = mlm_loss + nsp_loss, prediction_logits, seq_relationship_logits (B, 2). Given only one of
            ``labels`` and ``next_sentence_label``, transformers returns no loss; the course returns the
            part it can compute, so MLM-only pretraining (as RoBERTa, which drops NSP) uses this class too.
        """
        if masked_only and labels is not None:
            encoder_options["needed_positions"] = _labelled_positions(labels, input_ids, encoder_options)
        out = self.bert(input_ids, attention_mask, token_type_ids, **encoder_options)
        mlm_logits, mlm_loss = _mlm_logits_and_loss(
            self.cls.predictions, out.last_hidden_state, labels, masked_only
        )
        nsp_logits = self.cls.seq_relationship(out.pooler_output)  # (B, 2)
        nsp_loss = None
        if next_sentence_label is not None:
            _check_labels("next_sentence_label", next_sentence_label, (nsp_logits.size(0),), 2)
            nsp_loss = _cross_entropy(nsp_logits, next_sentence_label.view(-1))
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
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        masked_only: bool = False,
        **encoder_options: Any,
    ) -> ModelOutput:
        """labels: (B, T), -100 where there is nothing to predict. Returns loss and logits (B, T, V)."""
        if masked_only and labels is not None:
            encoder_options["needed_positions"] = _labelled_positions(labels, input_ids, encoder_options)
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
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        cls_only: bool = False,
        **encoder_options: Any,
    ) -> ModelOutput:
        """labels: see the class. Returns loss and logits (B, num_labels), or (B, T, num_labels) per token.

        cls_only (sequence classification only): the classifier reads one vector per sequence, the pooled
            [CLS], so the last encoder layer past its attention is computed only at [CLS] (as
            ``masked_only`` does for pretraining). Logits, loss and gradients are the same;
            ``last_hidden_state`` (and the last of ``hidden_states``) is zero at the other positions. With
            dropout on, a run takes another random path than without it (that layer draws fewer dropout
            masks).
        ``encoder_options`` (``position_ids``, ``output_attentions``, ``output_hidden_states``) go to
        :meth:`BertModel.forward`.
        """
        if cls_only:
            if self.per_token:
                raise ValueError(
                    "cls_only=True is for sequence classification: a token classifier reads every position"
                )
            encoder_options["needed_positions"] = _cls_positions(input_ids, encoder_options)
        out = self.bert(input_ids, attention_mask, token_type_ids, **encoder_options)
        vectors = out.last_hidden_state if self.per_token else out.pooler_output  # (B, T, H) or (B, H)
        logits = self.classifier(self.dropout(vectors))
        loss = None if labels is None else self._loss(logits, _require_tensor("labels", labels))
        return replace(out, loss=loss, logits=logits)


class BertForSequenceClassification(_BertClassifier):
    """A linear classifier on the pooled [CLS] vector.

    labels, as in transformers: (B,) class ids (-100: ignored); (B,) floats for regression (num_labels=1);
    with ``problem_type="regression"``, (B, num_labels) floats for several outputs; otherwise float labels
    of shape (B, num_labels) are multi-label targets (0 or 1 per class).
    """

    def _loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        B, n = logits.shape
        problem = self.config.problem_type
        if problem is None:  # transformers' rule (which it then writes into the config; the course does not)
            ids = not labels.dtype.is_floating_point and labels.dtype != torch.bool
            problem = "single_label_classification" if ids else "multi_label_classification"
            problem = "regression" if n == 1 else problem
        if problem == "regression":
            want = (B,) if n == 1 else (B, n)
            if labels.shape not in (want, logits.shape):
                raise ValueError(f"regression labels must have shape {want}, got {tuple(labels.shape)}")
            return F.mse_loss(logits.view(want), labels.view(want).to(logits.dtype))
        if problem == "single_label_classification":
            _check_labels("labels", labels, (B,), n)
            return _cross_entropy(logits, labels.view(-1))
        if labels.shape != logits.shape:
            raise ValueError(
                f"multi-label labels must have shape {tuple(logits.shape)}, got {tuple(labels.shape)}"
                + ("; class ids must be integers (torch.long)" if labels.dim() == 1 else "")
            )
        return F.binary_cross_entropy_with_logits(logits.float(), labels.float())


class BertForTokenClassification(_BertClassifier):
    """A linear classifier on every token's vector (e.g. named-entity tags).

    labels: (B, T) tag ids, -100 for positions to ignore (padding, sub-word continuations).
    """

    per_token = True

    def _loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        _check_labels("labels", labels, tuple(logits.shape[:2]), self.num_labels)
        return _cross_entropy(logits.flatten(0, 1), labels.flatten())


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
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        start_positions: torch.Tensor | None = None,
        end_positions: torch.Tensor | None = None,
        **encoder_options: Any,
    ) -> ModelOutput:
        """start_positions, end_positions: (B,) token indices of the answer; the loss averages both ends.

        As in transformers, the loss needs both, and a position outside the sequence is ignored.
        """
        out = self.bert(input_ids, attention_mask, token_type_ids, **encoder_options)
        start_logits, end_logits = self.qa_outputs(out.last_hidden_state).unbind(dim=-1)  # (B, T) each
        loss = None
        if start_positions is not None and end_positions is not None:
            B, T = start_logits.shape
            for name, pos in (("start_positions", start_positions), ("end_positions", end_positions)):
                _check_labels(name, pos, (B,), None)
            start = start_positions.view(-1).clamp(0, T)  # T: outside, ignored
            end = end_positions.view(-1).clamp(0, T)
            loss = (_cross_entropy(start_logits, start, T) + _cross_entropy(end_logits, end, T)) / 2
        return replace(out, loss=loss, start_logits=start_logits, end_logits=end_logits)


TASK_MODELS = {cls.__name__: cls for cls in (BertModel, BertForPreTraining, BertForMaskedLM,
               BertForSequenceClassification, BertForTokenClassification, BertForQuestionAnswering)}  # fmt: skip


# Input checks: bad input is caught where it enters the model, with the values and the fix -----------
# (token ids against the vocabulary: check_token_ids, in course_utils.model_config, used by the data too)


def _check_inputs(
    config: BertConfig,
    input_ids: torch.Tensor | None,
    attention_mask: torch.Tensor | None,
    token_type_ids: torch.Tensor | None,
    position_ids: torch.Tensor | None,
    inputs_embeds: torch.Tensor | None,
) -> None:
    """What ``BertModel.forward`` checks before it embeds anything."""
    if (input_ids is None) == (inputs_embeds is None):
        raise ValueError("give exactly one of input_ids (B, T) or inputs_embeds (B, T, H), not both/neither")
    if inputs_embeds is not None:
        name, x, H = "inputs_embeds", _require_tensor("inputs_embeds", inputs_embeds), config.hidden_size
        if x.dim() != 3 or x.size(-1) != H:
            raise ValueError(
                f"inputs_embeds must be a (batch, tokens, hidden_size={H}) tensor, got shape {tuple(x.shape)}"
            )
        if not x.dtype.is_floating_point:
            raise TypeError(f"inputs_embeds must hold floats, got dtype {x.dtype}")
    else:
        name, x = "input_ids", _require_tensor("input_ids", input_ids)
        if x.dim() != 2:
            raise ValueError(
                f"input_ids must be a (batch, tokens) tensor, got {tuple(x.shape)}; one sequence: input_ids[None]"
            )
        if x.dtype not in (torch.long, torch.int):
            raise TypeError(
                f"input_ids must hold integer ids (torch.long), got dtype {x.dtype}; convert with .long()"
            )
    B, T = x.shape[:2]
    if B == 0 or T == 0:
        raise ValueError(f"{name} is empty: shape {tuple(x.shape)}; give at least one sequence of one token")
    max_T = config.max_position_embeddings
    if T > max_T:
        raise ValueError(
            f"sequence length {T} is longer than max_position_embeddings={max_T}; truncate the input "
            f"(tokenizer(..., truncation=True, max_length={max_T}))"
        )
    if input_ids is not None:
        check_token_ids(x, config.vocab_size, hint="the tokenizer and the model's vocab_size do not match")
    if attention_mask is not None:  # any dtype: nonzero means "token"
        _check_ids("attention_mask", attention_mask, [(B, T)])
    if token_type_ids is not None:
        _check_ids("token_type_ids", token_type_ids, [(B, T)], config.type_vocab_size)
    if position_ids is not None:
        _check_ids("position_ids", position_ids, [(B, T), (1, T), (T,)], max_T)


def _require_tensor(name: str, value: Any) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}; use torch.tensor(...)")
    return value


def _check_ids(name: str, t: Any, shapes: list[tuple[int, ...]], high: int | None = None) -> None:
    """A tensor of one of ``shapes`` (the first is input_ids' (B, T)); with ``high``, ids in [0, high)."""
    if tuple(_require_tensor(name, t).shape) not in shapes:
        also = f" (or be {' or '.join(map(str, shapes[1:]))})" if len(shapes) > 1 else ""
        raise ValueError(
            f"{name} has shape {tuple(t.shape)} but input_ids has shape {shapes[0]}; they must match{also}"
        )
    if high is None:
        return
    if t.dtype not in (torch.long, torch.int):
        raise TypeError(f"{name} must hold integer ids (torch.long), got dtype {t.dtype}")
    lo, hi = int(t.min()), int(t.max())
    if lo < 0 or hi >= high:
        raise ValueError(f"{name} must be in [0, {high}), got values {lo}..{hi}")


def _check_labels(name: str, labels: Any, shape: tuple[int, ...], num_classes: int | None) -> None:
    """A head's targets: integers of ``shape`` ((B,) also takes (B, 1)), in [0, num_classes) or -100."""
    if _require_tensor(name, labels).shape != shape and not (len(shape) == 1 and labels.shape == (*shape, 1)):
        verb = "have" if name.endswith("s") else "has"
        raise ValueError(f"{name} {verb} shape {tuple(labels.shape)}, expected {shape}")
    if labels.dtype.is_floating_point or labels.dtype == torch.bool:
        raise TypeError(f"{name} must hold integer class ids (torch.long), got dtype {labels.dtype}")
    given = labels[labels != -100]  # -100: nothing to predict here
    if num_classes is not None and given.numel() and (given.min() < 0 or given.max() >= num_classes):
        lo, hi = int(given.min()), int(given.max())
        raise ValueError(f"{name} must be class ids in [0, {num_classes}) or -100, got {lo}..{hi}")


_NO_HEAD_MASK = (
    "head_mask is not supported (transformers 5 accepts it but ignores it); to silence head h of layer l, "
    "zero the columns h*hs:(h+1)*hs of encoder.layer[l].attention.output.dense.weight in a copy of the model"
)
