"""BERT's hyper-parameters: :class:`BertConfig`, the same fields and defaults as ``transformers.BertConfig``.

Every field is checked when a config is made, and :func:`check_token_ids` checks token ids against
``vocab_size`` wherever ids enter (the model, the masking, the data sets). The model itself is in
:mod:`course_utils.model`, which also exports ``BertConfig`` and ``check_token_ids``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

import torch
import torch.nn.functional as F

# The feed-forward activations a config may name, as functions (transformers calls this table ACT2FN).
ACTIVATIONS = {
    "gelu": lambda x: F.gelu(x),  # exact (erf) GELU, as the original BERT
    "gelu_new": lambda x: F.gelu(x, approximate="tanh"),
    "gelu_pytorch_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "relu": F.relu,
}
_ATTN_IMPLEMENTATIONS = ("sdpa", "eager")
_PROBLEM_TYPES = ("regression", "single_label_classification", "multi_label_classification")
_SIZES = (  # fields that must be positive integers
    "vocab_size",
    "hidden_size",
    "num_hidden_layers",
    "num_attention_heads",
    "intermediate_size",
    "max_position_embeddings",
    "type_vocab_size",
    "num_labels",
)


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
    # "regression", "single_label_classification" or "multi_label_classification"; None: from the labels
    problem_type: str | None = None
    attn_implementation: str = "sdpa"  # "sdpa" (fused kernel) or "eager" (readable, returns probabilities)

    def __post_init__(self) -> None:
        for name in _SIZES:
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"{name}={value!r} must be a positive integer")
        if self.hidden_size % self.num_attention_heads != 0:
            raise ValueError(
                f"hidden_size={self.hidden_size} is not divisible by num_attention_heads="
                f"{self.num_attention_heads}; pick a head count that divides it "
                f"(e.g. {_divisors_hint(self.hidden_size)})"
            )
        for name in ("hidden_dropout_prob", "attention_probs_dropout_prob", "classifier_dropout"):
            p = getattr(self, name)
            if p is None and name == "classifier_dropout":
                continue  # None: the classifier uses hidden_dropout_prob
            if not (_is_number(p) and 0.0 <= p < 1.0):
                raise ValueError(f"{name}={p!r} must be a number in [0, 1)")
        for name in ("layer_norm_eps", "initializer_range"):
            value = getattr(self, name)
            if not (_is_number(value) and 0.0 < value < math.inf):
                raise ValueError(f"{name}={value!r} must be a positive finite number (e.g. 1e-12, 0.02)")
        for name, allowed in (
            ("hidden_act", tuple(ACTIVATIONS)),
            ("attn_implementation", _ATTN_IMPLEMENTATIONS),
            ("problem_type", (None, *_PROBLEM_TYPES)),
        ):
            value = getattr(self, name)
            if value not in allowed:
                raise ValueError(f"{name}={value!r} is not one of {list(allowed)}")
        pad = self.pad_token_id
        if not isinstance(pad, int) or isinstance(pad, bool) or not 0 <= pad < self.vocab_size:
            raise ValueError(
                f"pad_token_id={pad!r} must be an id in [0, vocab_size={self.vocab_size}) "
                "(the id of [PAD]: its embedding row starts at zero)"
            )

    @property
    def head_size(self) -> int:
        """hs: width of one attention head."""
        return self.hidden_size // self.num_attention_heads

    # Presets ------------------------------------------------------------------------------------------
    @classmethod
    def course_small(cls, vocab_size: int = 4000, **overrides: Any) -> BertConfig:
        """The course's mini-BERT: trains on a laptop CPU in minutes (about 0.7M parameters + embeddings)."""
        small = dict(hidden_size=128, num_hidden_layers=2, num_attention_heads=2, intermediate_size=512)
        return cls(**{"vocab_size": vocab_size, "max_position_embeddings": 128, **small, **overrides})

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
        if not isinstance(data, Mapping):
            raise TypeError(f"a config must be a dict of fields, got {type(data).__name__}")
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


def _is_number(value: Any) -> bool:
    """A real number (an int or a float, not a bool) that is not NaN."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and not math.isnan(value)


def _divisors_hint(n: int) -> str:
    return ", ".join(str(d) for d in range(1, min(n, 64) + 1) if n % d == 0 and d > 1)


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
    lo, hi = torch.stack(torch.aminmax(ids)).tolist()  # one read from the device, not two
    if lo < 0 or hi >= vocab_size:
        bad = lo if lo < 0 else hi
        raise ValueError(
            f"{name}: token id {bad} is outside the vocabulary [0, {vocab_size})"
            + (f"; {hint}" if hint else "")
        )
