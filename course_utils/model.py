"""A from-scratch BERT that is the same model as Hugging Face ``transformers``' BERT.

Read it top to bottom: config → attention → the encoder layer → the encoder → heads → task models.
Module and parameter names are exactly those of ``transformers/models/bert/modeling_bert.py``
(``embeddings.word_embeddings``, ``encoder.layer.0.attention.self.query``, ``cls.predictions.decoder``...),
so weights move both ways with ``load_state_dict(..., strict=True)`` and the outputs agree.

Shapes: B batch, T tokens, H hidden size, nh heads, hs head size (H = nh * hs), V vocabulary size.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

# ----------------------------------------------------------------------------------------------------
# Configuration
# ----------------------------------------------------------------------------------------------------

_ACTIVATIONS = {
    "gelu": lambda x: F.gelu(x),  # exact (erf) GELU, as the original BERT
    "gelu_new": lambda x: F.gelu(x, approximate="tanh"),
    "gelu_pytorch_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "relu": F.relu,
}
_ATTN_IMPLEMENTATIONS = ("sdpa", "eager")


@dataclass
class BertConfig:
    """Hyper-parameters of a BERT model.

    Field names and defaults are those of ``transformers.BertConfig`` (the defaults are BERT-base), so a
    config converts both ways with :meth:`from_hf` and :meth:`to_hf`.
    """

    vocab_size: int = 30522  # V: number of token ids
    hidden_size: int = 768  # H: width of every token vector
    num_hidden_layers: int = 12  # L: encoder layers
    num_attention_heads: int = 12  # nh: heads per layer (H must be divisible by nh)
    intermediate_size: int = 3072  # width of the feed-forward block, usually 4 * H
    hidden_act: str = "gelu"  # feed-forward activation; "gelu" is the exact erf GELU
    hidden_dropout_prob: float = 0.1  # dropout on embeddings and on each sub-layer's output
    attention_probs_dropout_prob: float = 0.1  # dropout on the attention probabilities
    max_position_embeddings: int = 512  # longest sequence the position table covers
    type_vocab_size: int = 2  # number of segment ids (sentence A / sentence B)
    initializer_range: float = 0.02  # std of the normal initialisation
    layer_norm_eps: float = 1e-12
    pad_token_id: int = 0  # its embedding row starts at zero and gets no gradient
    classifier_dropout: float | None = None  # dropout before a task head; None → hidden_dropout_prob
    num_labels: int = 2  # classes of the sequence/token classification heads
    problem_type: str | None = (
        None  # "regression", "single_label_classification", "multi_label_classification"
    )
    attn_implementation: str = "sdpa"  # "sdpa" (fused kernel) or "eager" (readable, returns probabilities)

    def __post_init__(self) -> None:
        sizes = ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
                 "intermediate_size", "max_position_embeddings", "type_vocab_size", "num_labels")  # fmt: skip
        for name in sizes:
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"{name}={value!r} must be a positive integer")
        if self.hidden_size % self.num_attention_heads != 0:
            raise ValueError(
                f"hidden_size={self.hidden_size} is not divisible by num_attention_heads="
                f"{self.num_attention_heads}; pick a head count that divides it "
                f"(e.g. {_divisors_hint(self.hidden_size)})"
            )
        for name in ("hidden_dropout_prob", "attention_probs_dropout_prob"):
            p = getattr(self, name)
            if not 0.0 <= p < 1.0:
                raise ValueError(f"{name}={p} must be in [0, 1)")
        if self.classifier_dropout is not None and not 0.0 <= self.classifier_dropout < 1.0:
            raise ValueError(f"classifier_dropout={self.classifier_dropout} must be None or in [0, 1)")
        if self.hidden_act not in _ACTIVATIONS:
            raise ValueError(f"hidden_act={self.hidden_act!r} is not one of {sorted(_ACTIVATIONS)}")
        if self.attn_implementation not in _ATTN_IMPLEMENTATIONS:
            raise ValueError(
                f"attn_implementation={self.attn_implementation!r} is not one of {_ATTN_IMPLEMENTATIONS}"
            )
        if not 0 <= self.pad_token_id < self.vocab_size:
            raise ValueError(
                f"pad_token_id={self.pad_token_id} must be an id in [0, vocab_size={self.vocab_size})"
            )
        if self.layer_norm_eps <= 0 or self.initializer_range <= 0:
            raise ValueError("layer_norm_eps and initializer_range must be positive")

    @property
    def head_size(self) -> int:
        """hs: width of one attention head."""
        return self.hidden_size // self.num_attention_heads

    # Presets ------------------------------------------------------------------------------------------
    @classmethod
    def course_small(cls, vocab_size: int = 4000, **overrides: Any) -> BertConfig:
        """The course's mini-BERT: trains on a laptop CPU in minutes (about 0.7M parameters + embeddings)."""
        base = dict(vocab_size=vocab_size, hidden_size=128, num_hidden_layers=2, num_attention_heads=2,
                    intermediate_size=512, max_position_embeddings=128)  # fmt: skip
        return cls(**{**base, **overrides})

    @classmethod
    def base(cls, **overrides: Any) -> BertConfig:
        """BERT-base (L=12, H=768, A=12): 110M parameters."""
        return cls(**overrides)

    @classmethod
    def large(cls, **overrides: Any) -> BertConfig:
        """BERT-large (L=24, H=1024, A=16): 340M parameters."""
        big = dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096)
        return cls(**{**big, **overrides})

    # Conversion ---------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BertConfig:
        """Build from a dict, ignoring keys that are not fields (e.g. a transformers config.json)."""
        names = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in names}
        if "num_labels" not in data and isinstance(data.get("id2label"), Mapping):
            kwargs["num_labels"] = len(data["id2label"])
        if kwargs.get("pad_token_id") is None:
            kwargs.pop("pad_token_id", None)
        return cls(**kwargs)

    @classmethod
    def from_hf(cls, hf_config: Any) -> BertConfig:
        """Convert a ``transformers.BertConfig``."""
        data = hf_config.to_dict()
        data["num_labels"] = hf_config.num_labels
        impl = getattr(hf_config, "_attn_implementation", None)
        data["attn_implementation"] = "eager" if impl == "eager" else "sdpa"
        return cls.from_dict(data)

    def to_hf(self, **extra: Any):
        """Convert to a ``transformers.BertConfig`` (eager attention, so it can return attentions)."""
        from transformers import BertConfig as HFBertConfig

        data = self.to_dict()
        data.pop("attn_implementation")
        hf = HFBertConfig(**{**data, **extra})
        hf._attn_implementation = "eager"
        return hf


def _divisors_hint(n: int) -> str:
    return ", ".join(str(d) for d in range(1, min(n, 64) + 1) if n % d == 0 and d > 1)


# ----------------------------------------------------------------------------------------------------
# Outputs
# ----------------------------------------------------------------------------------------------------


@dataclass
class ModelOutput:
    """What every model returns. Fields that a model does not compute stay ``None``.

    Field names follow ``transformers``; ``out.loss`` and ``out["loss"]`` both work.
    """

    loss: torch.Tensor | None = None
    logits: torch.Tensor | None = (
        None  # classification heads: (B, num_labels) or (B, T, num_labels); MLM: (B, T, V)
    )
    prediction_logits: torch.Tensor | None = None  # pretraining MLM head: (B, T, V), or (N, V) if masked_only
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


# ----------------------------------------------------------------------------------------------------
# Attention
# ----------------------------------------------------------------------------------------------------


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


# ----------------------------------------------------------------------------------------------------
# Building blocks (names follow transformers)
# ----------------------------------------------------------------------------------------------------


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


class BertSelfOutput(nn.Module):
    """Projection after attention, dropout, then residual + LayerNorm (post-LN)."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, h: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.dropout(self.dense(h)) + residual)


class BertAttention(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.self = BertSelfAttention(config)
        self.output = BertSelfOutput(config)

    def forward(self, x, mask=None, output_attentions=False):
        h, probs = self.self(x, mask, output_attentions)
        return self.output(h, x), probs


class BertIntermediate(nn.Module):
    """First half of the feed-forward block: H -> intermediate_size, then the activation."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.intermediate_size)
        self.act = _ACTIVATIONS[config.hidden_act]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.dense(x))


class BertOutput(nn.Module):
    """Second half of the feed-forward block: back to H, dropout, residual + LayerNorm."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.intermediate_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, h: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.dropout(self.dense(h)) + residual)


class BertLayer(nn.Module):
    """One encoder layer: x = LN(x + attention(x)); x = LN(x + FFN(x))."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.attention = BertAttention(config)
        self.intermediate = BertIntermediate(config)
        self.output = BertOutput(config)

    def forward(self, x, mask=None, output_attentions=False):
        x, probs = self.attention(x, mask, output_attentions)
        x = self.output(self.intermediate(x), x)
        return x, probs


class BertEncoder(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.layer = nn.ModuleList(BertLayer(config) for _ in range(config.num_hidden_layers))

    def forward(self, x, mask=None, output_attentions=False, output_hidden_states=False):
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


# ----------------------------------------------------------------------------------------------------
# Base class: initialisation, checked loading, saving
# ----------------------------------------------------------------------------------------------------


class BertPreTrainedModel(nn.Module):
    """Shared behaviour: weight init, a strict ``load_state_dict`` with clear errors, save/load to a folder."""

    # Parameters shared with another one, as {key: key it is tied to}; a checkpoint may omit them.
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
        with torch.no_grad():
            self.apply(self._init_weights)

    def load_state_dict(
        self, state_dict: Mapping[str, torch.Tensor], strict: bool = True, assign: bool = False
    ):
        """Load weights, accepting older BERT checkpoints, with clear errors when keys or shapes differ.

        Older checkpoints name LayerNorm parameters ``gamma``/``beta`` and may store ``position_ids``;
        both are handled. A checkpoint that omits tied weights (the MLM decoder) is filled in.
        """
        state_dict = _upgrade_state_dict(dict(state_dict), self._tied_weights_keys)
        own = self.state_dict()
        if strict:
            missing = sorted(set(own) - set(state_dict))
            unexpected = sorted(set(state_dict) - set(own))
            if missing or unexpected:
                raise KeyError(
                    f"state dict does not match {type(self).__name__}:\n"
                    f"  missing keys ({len(missing)}): {_short_list(missing)}\n"
                    f"  unexpected keys ({len(unexpected)}): {_short_list(unexpected)}\n"
                    "Load a checkpoint of the same class (a BertModel's weights have no 'bert.' prefix and no "
                    "heads), or pass strict=False to load only the matching keys."
                )
        wrong = [f"{k}: checkpoint {tuple(v.shape)} vs model {tuple(own[k].shape)}"
                 for k, v in state_dict.items() if k in own and tuple(v.shape) != tuple(own[k].shape)]  # fmt: skip
        if wrong:
            raise ValueError(
                "the checkpoint was made with a different config; shapes differ for "
                f"{len(wrong)} tensors: {_short_list(wrong)}. Build the model from the checkpoint's config."
            )
        return super().load_state_dict(state_dict, strict=strict, assign=assign)

    def save_pretrained(self, directory: str | Path) -> Path:
        """Write ``config.json`` and ``model.safetensors`` (tied weights stored once) to ``directory``."""
        from safetensors.torch import save_file

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        tensors = {k: v.detach().cpu().contiguous() for k, v in self.state_dict().items()
                   if k not in self._tied_weights_keys}  # fmt: skip
        save_file(tensors, str(directory / "model.safetensors"), metadata={"format": "pt"})
        data = {"architectures": [type(self).__name__], **self.config.to_dict()}
        (directory / "config.json").write_text(json.dumps(data, indent=2) + "\n")
        return directory

    @classmethod
    def from_pretrained(cls, directory: str | Path, **config_overrides: Any):
        """Load a folder written by :meth:`save_pretrained` (or a transformers BERT folder with safetensors)."""
        from safetensors.torch import load_file

        directory = Path(directory)
        if not (directory / "config.json").is_file() or not (directory / "model.safetensors").is_file():
            raise FileNotFoundError(f"{directory} needs config.json and model.safetensors")
        config = BertConfig.from_dict(
            {**json.loads((directory / "config.json").read_text()), **config_overrides}
        )
        model = cls(config)
        model.load_state_dict(load_file(str(directory / "model.safetensors")))
        return model

    def _check_inputs(self, input_ids, attention_mask, token_type_ids, position_ids) -> None:
        """Catch bad input where it enters, with the values and the fix, not three calls deeper."""
        cfg = self.config
        if not isinstance(input_ids, torch.Tensor) or input_ids.dim() != 2:
            shape = (
                tuple(input_ids.shape) if isinstance(input_ids, torch.Tensor) else type(input_ids).__name__
            )
            raise ValueError(f"input_ids must be a (batch, tokens) tensor, got {shape}; add a batch dimension "
                             "with input_ids[None] for a single sequence")  # fmt: skip
        if input_ids.dtype not in (torch.long, torch.int, torch.int16, torch.uint8):
            raise TypeError(f"input_ids must hold integer ids, got dtype {input_ids.dtype}")
        B, T = input_ids.shape
        if T > cfg.max_position_embeddings:
            raise ValueError(
                f"sequence length {T} is longer than max_position_embeddings={cfg.max_position_embeddings}; "
                f"truncate the input (tokenizer(..., truncation=True, max_length={cfg.max_position_embeddings}))"
            )
        if input_ids.numel():
            lo, hi = int(input_ids.min()), int(input_ids.max())
            if lo < 0 or hi >= cfg.vocab_size:
                bad = lo if lo < 0 else hi
                raise ValueError(f"token id {bad} is outside the vocabulary [0, {cfg.vocab_size}); the tokenizer "
                                 "and the model's vocab_size do not match")  # fmt: skip
        for name, t in (("attention_mask", attention_mask), ("token_type_ids", token_type_ids)):
            if t is not None and tuple(t.shape) != (B, T):
                raise ValueError(f"{name} has shape {tuple(t.shape)} but input_ids has shape {(B, T)}; "
                                 "they must match (pad both the same way)")  # fmt: skip
        if token_type_ids is not None and token_type_ids.numel():
            lo, hi = int(token_type_ids.min()), int(token_type_ids.max())
            if lo < 0 or hi >= cfg.type_vocab_size:
                raise ValueError(
                    f"token_type_ids must be in [0, {cfg.type_vocab_size}), got values {lo}..{hi}"
                )
        if (
            position_ids is not None
            and position_ids.numel()
            and int(position_ids.max()) >= cfg.max_position_embeddings
        ):
            raise ValueError(f"position id {int(position_ids.max())} >= max_position_embeddings="
                             f"{cfg.max_position_embeddings}")  # fmt: skip


def _upgrade_state_dict(sd: dict[str, torch.Tensor], tied: Mapping[str, str]) -> dict[str, torch.Tensor]:
    out = {}
    for key, value in sd.items():
        if key.endswith(("embeddings.position_ids", "embeddings.token_type_ids")):
            continue  # buffers that older checkpoints saved; we rebuild them
        if key.endswith("LayerNorm.gamma"):
            key = key[: -len("gamma")] + "weight"
        elif key.endswith("LayerNorm.beta"):
            key = key[: -len("beta")] + "bias"
        out[key] = value
    for key, source in tied.items():
        if key not in out and source in out:
            out[key] = out[source]
    return out


def _short_list(items: list[str], limit: int = 8) -> str:
    shown = ", ".join(items[:limit])
    return (shown + f", ... (+{len(items) - limit} more)") if len(items) > limit else (shown or "none")


# ----------------------------------------------------------------------------------------------------
# The encoder model
# ----------------------------------------------------------------------------------------------------


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
        self._check_inputs(input_ids, attention_mask, token_type_ids, position_ids)
        x = self.embeddings(input_ids, token_type_ids, position_ids)  # (B, T, H)
        mask = None if attention_mask is None else extended_attention_mask(attention_mask, x.dtype)
        x, hidden_states, attentions = self.encoder(x, mask, output_attentions, output_hidden_states)
        return ModelOutput(
            last_hidden_state=x,
            pooler_output=self.pooler(x) if self.pooler is not None else None,
            hidden_states=hidden_states,
            attentions=attentions,
        )


# ----------------------------------------------------------------------------------------------------
# Heads and task models
# ----------------------------------------------------------------------------------------------------


class BertPredictionHeadTransform(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.transform_act_fn = _ACTIVATIONS[config.hidden_act]
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

    def forward(self, sequence_output, pooled_output):
        return self.predictions(sequence_output), self.seq_relationship(pooled_output)


_MLM_TIES = {
    "cls.predictions.decoder.weight": "bert.embeddings.word_embeddings.weight",
    "cls.predictions.decoder.bias": "cls.predictions.bias",
}


def _mlm_logits_and_loss(
    head: nn.Module, hidden: torch.Tensor, labels: torch.Tensor | None, masked_only: bool
):
    """Vocabulary logits (everywhere, or only where labels != -100) and the MLM loss over labelled positions.

    At small model sizes the (B, T, H) x (H, V) product is most of the compute, and only ~15% of the
    positions carry a label, so ``masked_only`` skips the rest; the loss is identical.
    """
    if labels is not None and tuple(labels.shape) != tuple(hidden.shape[:2]):
        raise ValueError(f"labels have shape {tuple(labels.shape)}, expected {tuple(hidden.shape[:2])} "
                         "(one label per token, -100 where there is nothing to predict)")  # fmt: skip
    if masked_only:
        if labels is None:
            raise ValueError("masked_only=True needs labels to know which positions are masked")
        keep = labels != -100
        logits = head(hidden[keep])  # (N, V)
        loss = F.cross_entropy(logits.float(), labels[keep])
        return logits, loss
    logits = head(hidden)  # (B, T, V)
    loss = None
    if labels is not None:
        loss = F.cross_entropy(logits.float().view(-1, logits.size(-1)), labels.view(-1), ignore_index=-100)
    return logits, loss


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
        position_ids: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        next_sentence_label: torch.Tensor | None = None,
        output_attentions: bool = False,
        output_hidden_states: bool = False,
        masked_only: bool = False,
    ) -> ModelOutput:
        """
        Args:
            labels: (B, T) original ids at masked positions, -100 elsewhere (MLM loss only there).
            next_sentence_label: (B,) 0 = sentence B follows A, 1 = B is a random sentence.
            masked_only: compute vocabulary logits only where labels != -100; prediction_logits is (N, V).

        Returns:
            loss = mlm_loss + nsp_loss (those given), prediction_logits, seq_relationship_logits (B, 2).
        """
        out = self.bert(
            input_ids, attention_mask, token_type_ids, position_ids, output_attentions, output_hidden_states
        )
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
        return ModelOutput(
            loss=sum(parts) if parts else None,
            mlm_loss=mlm_loss,
            nsp_loss=nsp_loss,
            prediction_logits=mlm_logits,
            seq_relationship_logits=nsp_logits,
            last_hidden_state=out.last_hidden_state,
            pooler_output=out.pooler_output,
            hidden_states=out.hidden_states,
            attentions=out.attentions,
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

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, position_ids=None, labels=None,
                output_attentions=False, output_hidden_states=False, masked_only=False) -> ModelOutput:  # fmt: skip
        """labels: (B, T), -100 where there is nothing to predict. Returns loss and logits (B, T, V)."""
        out = self.bert(
            input_ids, attention_mask, token_type_ids, position_ids, output_attentions, output_hidden_states
        )
        logits, loss = _mlm_logits_and_loss(self.cls.predictions, out.last_hidden_state, labels, masked_only)
        return ModelOutput(loss=loss, logits=logits, last_hidden_state=out.last_hidden_state,
                          hidden_states=out.hidden_states, attentions=out.attentions)  # fmt: skip


class BertForSequenceClassification(BertPreTrainedModel):
    """A linear classifier on the pooled [CLS] vector."""

    def __init__(self, config: BertConfig):
        super().__init__(config)
        self.num_labels = config.num_labels
        self.bert = BertModel(config)
        p = config.classifier_dropout if config.classifier_dropout is not None else config.hidden_dropout_prob
        self.dropout = nn.Dropout(p)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, position_ids=None, labels=None,
                output_attentions=False, output_hidden_states=False) -> ModelOutput:  # fmt: skip
        """labels: (B,) class ids, (B,) floats for regression (num_labels=1), or (B, num_labels) multi-label."""
        out = self.bert(
            input_ids, attention_mask, token_type_ids, position_ids, output_attentions, output_hidden_states
        )
        logits = self.classifier(self.dropout(out.pooler_output))  # (B, num_labels)
        loss = None
        if labels is not None:
            loss = self._loss(logits, labels)
        return ModelOutput(loss=loss, logits=logits, last_hidden_state=out.last_hidden_state,
                          pooler_output=out.pooler_output, hidden_states=out.hidden_states,
                          attentions=out.attentions)  # fmt: skip

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
                raise ValueError(f"labels must be class ids in [0, {self.num_labels}), got "
                                 f"{int(labels.min())}..{int(labels.max())}; set num_labels in the config")  # fmt: skip
            return F.cross_entropy(logits.float(), labels.view(-1))
        if tuple(labels.shape) != tuple(logits.shape):
            raise ValueError(
                f"multi-label labels must have shape {tuple(logits.shape)}, got {tuple(labels.shape)}"
            )
        return F.binary_cross_entropy_with_logits(logits.float(), labels.float())


class BertForTokenClassification(BertPreTrainedModel):
    """A linear classifier on every token's vector (e.g. named-entity tags)."""

    def __init__(self, config: BertConfig):
        super().__init__(config)
        self.num_labels = config.num_labels
        self.bert = BertModel(config, add_pooling_layer=False)
        p = config.classifier_dropout if config.classifier_dropout is not None else config.hidden_dropout_prob
        self.dropout = nn.Dropout(p)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, position_ids=None, labels=None,
                output_attentions=False, output_hidden_states=False) -> ModelOutput:  # fmt: skip
        """labels: (B, T) tag ids, -100 for positions to ignore (padding, sub-word continuations)."""
        out = self.bert(
            input_ids, attention_mask, token_type_ids, position_ids, output_attentions, output_hidden_states
        )
        logits = self.classifier(self.dropout(out.last_hidden_state))  # (B, T, num_labels)
        loss = None
        if labels is not None:
            if tuple(labels.shape) != tuple(input_ids.shape):
                raise ValueError(
                    f"labels have shape {tuple(labels.shape)}, expected {tuple(input_ids.shape)}"
                )
            loss = F.cross_entropy(
                logits.float().view(-1, self.num_labels), labels.view(-1), ignore_index=-100
            )
        return ModelOutput(loss=loss, logits=logits, last_hidden_state=out.last_hidden_state,
                          hidden_states=out.hidden_states, attentions=out.attentions)  # fmt: skip


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

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, position_ids=None, start_positions=None,
                end_positions=None, output_attentions=False, output_hidden_states=False) -> ModelOutput:  # fmt: skip
        """start_positions, end_positions: (B,) token indices of the answer; the loss averages both ends."""
        out = self.bert(
            input_ids, attention_mask, token_type_ids, position_ids, output_attentions, output_hidden_states
        )
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
            loss = (F.cross_entropy(start_logits.float(), start, ignore_index=T)
                    + F.cross_entropy(end_logits.float(), end, ignore_index=T)) / 2  # fmt: skip
        return ModelOutput(loss=loss, start_logits=start_logits, end_logits=end_logits,
                          last_hidden_state=out.last_hidden_state, hidden_states=out.hidden_states,
                          attentions=out.attentions)  # fmt: skip


TASK_MODELS = {
    cls.__name__: cls
    for cls in (
        BertModel,
        BertForPreTraining,
        BertForMaskedLM,
        BertForSequenceClassification,
        BertForTokenClassification,
        BertForQuestionAnswering,
    )  # fmt: skip
}
