"""A small encoder-decoder transformer for translation (unit 05; reused by unit 15 for back-translation).

Read top-down: the causal mask, multi-head attention (self or cross), an encoder layer, a decoder layer
(masked self-attention -> cross-attention -> feed-forward), the model, then data helpers, training with
teacher forcing, greedy decoding and evaluation.

The attention math itself is :func:`course_utils.model.attention`, the same function the course's BERT
uses: an encoder-decoder differs from BERT in *which positions may look at which*, not in how
attention is computed.

Example (the toy translation task):
    >>> src_vocab, tgt_vocab = build_vocabs(train_pairs)
    >>> model = Seq2SeqTransformer(len(src_vocab), len(tgt_vocab))
    >>> train_seq2seq(model, train_pairs, src_vocab, tgt_vocab, epochs=10)
    >>> translate(model, ["the cat sees the dog"], src_vocab, tgt_vocab)

For the reverse direction (target -> English, e.g. back-translation) use the same code on
``reverse_pairs(train_pairs)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader

from course_utils.model import ModelOutput, attention, check_token_ids
from course_utils.text import Vocab, pad_batch, simple_tokenize
from course_utils.train import make_optimizer, train
from course_utils.utils import eval_mode, model_device

Pair = tuple[str, str]  # (source sentence, target sentence)


def causal_mask(T: int, device: torch.device | str | None = None) -> torch.Tensor:
    """The decoder's "no peeking" mask: position i may attend to positions 0..i only.

    Args:
        T: the sequence length.
        device: where to make the tensor.

    Returns:
        A bool tensor of shape (T, T), True on and below the diagonal (True = may attend, as in
        :func:`course_utils.model.attention`).
    """
    if not isinstance(T, int) or T < 1:
        raise ValueError(f"T must be a positive int, got {T!r}")
    return torch.tril(torch.ones(T, T, dtype=torch.bool, device=device))


class MultiHeadAttention(nn.Module):
    """Multi-head attention where queries come from ``x`` and keys/values from ``context``.

    With ``context = x`` it is self-attention (encoder, or the decoder's masked self-attention); with
    ``context`` = the encoder output it is cross-attention.
    """

    def __init__(self, d_model: int, nhead: int, dropout: float = 0.0):
        super().__init__()
        for name, value in (("d_model", d_model), ("nhead", nhead)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}={value!r} must be a positive int")
        if d_model % nhead != 0:
            raise ValueError(f"d_model={d_model} is not divisible by nhead={nhead}")
        self.nhead, self.head_size, self.dropout = nhead, d_model // nhead, dropout
        self.query = nn.Linear(d_model, d_model)
        self.key = nn.Linear(d_model, d_model)
        self.value = nn.Linear(d_model, d_model)
        self.output = nn.Linear(d_model, d_model)

    def forward(
        self, x: torch.Tensor, context: torch.Tensor, mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """x: (B, T, d_model), context: (B, S, d_model), mask: bool, broadcastable to (B, nh, T, S).

        Returns ``(output (B, T, d_model), attention probabilities (B, nh, T, S))``.
        """
        B, T, _ = x.shape
        S = context.shape[1]
        # 1) project, 2) split into heads
        q = self.query(x).view(B, T, self.nhead, self.head_size).transpose(1, 2)  # (B, nh, T, hs)
        k = self.key(context).view(B, S, self.nhead, self.head_size).transpose(1, 2)  # (B, nh, S, hs)
        v = self.value(context).view(B, S, self.nhead, self.head_size).transpose(1, 2)  # (B, nh, S, hs)
        # 3) attend (the shared course function), 4) merge the heads and project back
        out, probs = attention(q, k, v, mask=mask, dropout_p=self.dropout, training=self.training)
        out = out.transpose(1, 2).reshape(B, T, self.nhead * self.head_size)  # (B, T, d_model)
        return self.output(out), probs


class FeedForward(nn.Module):
    """Position-wise feed-forward: d_model -> dim_feedforward -> d_model with a GELU between."""

    def __init__(self, d_model: int, dim_feedforward: int, dropout: float = 0.0):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(d_model, dim_feedforward),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Linear(dim_feedforward, d_model),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class EncoderLayer(nn.Module):
    """Self-attention (every source token sees every other) and feed-forward, each with residual + LayerNorm.

    Post-LN, as in the original transformer and BERT: ``x = LayerNorm(x + sublayer(x))``.
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int, dropout: float = 0.0):
        super().__init__()
        self.self_attn = MultiHeadAttention(d_model, nhead, dropout)
        self.ffn = FeedForward(d_model, dim_feedforward, dropout)
        self.norm1, self.norm2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, src_keep: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x: (B, S, d_model); src_keep: (B, 1, 1, S) bool, False at source padding."""
        a, probs = self.self_attn(x, x, src_keep)
        x = self.norm1(x + self.drop(a))
        x = self.norm2(x + self.drop(self.ffn(x)))
        return x, probs


class DecoderLayer(nn.Module):
    """Masked self-attention -> cross-attention to the encoder -> feed-forward (each post-LN).

    1) masked self-attention: target position t sees target positions 0..t (the causal mask), so
       training on a whole sentence at once cannot cheat by looking at the answer;
    2) cross-attention: queries from the target, keys and values from the encoder output (the source);
    3) feed-forward.
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int, dropout: float = 0.0):
        super().__init__()
        self.self_attn = MultiHeadAttention(d_model, nhead, dropout)
        self.cross_attn = MultiHeadAttention(d_model, nhead, dropout)
        self.ffn = FeedForward(d_model, dim_feedforward, dropout)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.norm3 = nn.LayerNorm(d_model)
        self.drop = nn.Dropout(dropout)

    def forward(
        self, y: torch.Tensor, memory: torch.Tensor, tgt_keep: torch.Tensor, src_keep: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """y: (B, T, d_model) target states; memory: (B, S, d_model) encoder output.

        tgt_keep: (1, 1, T, T) causal mask; src_keep: (B, 1, 1, S) source padding mask.
        Returns ``(y, self-attention probs (B, nh, T, T), cross-attention probs (B, nh, T, S))``.
        """
        a, self_probs = self.self_attn(y, y, tgt_keep)
        y = self.norm1(y + self.drop(a))
        c, cross_probs = self.cross_attn(y, memory, src_keep)
        y = self.norm2(y + self.drop(c))
        y = self.norm3(y + self.drop(self.ffn(y)))
        return y, self_probs, cross_probs


class Seq2SeqTransformer(nn.Module):
    """An encoder-decoder transformer: the encoder reads the source, the decoder writes the target.

    Args:
        src_vocab_size: size of the source vocabulary.
        tgt_vocab_size: size of the target vocabulary (V).
        d_model: width of every token vector.
        nhead: attention heads (must divide d_model).
        num_encoder_layers, num_decoder_layers: depth of each side.
        dim_feedforward: hidden size of the feed-forward blocks.
        dropout: dropout probability (attention, residual branches, embeddings).
        max_len: the longest source or target sequence (learned positions).
        pad_id, bos_id, eos_id: special ids, shared by both vocabularies (``Vocab`` puts them at 0, 2, 3).
    """

    def __init__(
        self,
        src_vocab_size: int,
        tgt_vocab_size: int,
        d_model: int = 64,
        nhead: int = 4,
        num_encoder_layers: int = 2,
        num_decoder_layers: int = 2,
        dim_feedforward: int = 256,
        dropout: float = 0.1,
        max_len: int = 64,
        pad_id: int = 0,
        bos_id: int = 2,
        eos_id: int = 3,
    ):
        super().__init__()
        sizes = {
            "src_vocab_size": src_vocab_size,
            "tgt_vocab_size": tgt_vocab_size,
            "d_model": d_model,
            "nhead": nhead,
            "num_encoder_layers": num_encoder_layers,
            "num_decoder_layers": num_decoder_layers,
            "dim_feedforward": dim_feedforward,
            "max_len": max_len,
        }
        for name, value in sizes.items():
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}={value!r} must be a positive int")
        for name, size in (("src_vocab_size", src_vocab_size), ("tgt_vocab_size", tgt_vocab_size)):
            if size <= max(pad_id, bos_id, eos_id):
                raise ValueError(f"{name}={size} is too small to hold the special ids; build it with Vocab")
        self.pad_id, self.bos_id, self.eos_id, self.max_len = pad_id, bos_id, eos_id, max_len
        self.d_model = d_model
        self.src_embed = nn.Embedding(src_vocab_size, d_model, padding_idx=pad_id)
        self.tgt_embed = nn.Embedding(tgt_vocab_size, d_model, padding_idx=pad_id)
        self.src_pos = nn.Embedding(max_len, d_model)
        self.tgt_pos = nn.Embedding(max_len, d_model)
        self.drop = nn.Dropout(dropout)
        self.encoder = nn.ModuleList(
            EncoderLayer(d_model, nhead, dim_feedforward, dropout) for _ in range(num_encoder_layers)
        )
        self.decoder = nn.ModuleList(
            DecoderLayer(d_model, nhead, dim_feedforward, dropout) for _ in range(num_decoder_layers)
        )
        self.generator = nn.Linear(d_model, tgt_vocab_size)  # target vector -> next-token logits
        self.apply(self._init_weights)

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, std=0.02)
            nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, std=0.02)
            if module.padding_idx is not None:
                module.weight.data[module.padding_idx].zero_()

    def _embed(self, ids: torch.Tensor, tok: nn.Embedding, pos: nn.Embedding) -> torch.Tensor:
        if not isinstance(ids, torch.Tensor) or ids.dim() != 2:
            shape = tuple(ids.shape) if isinstance(ids, torch.Tensor) else type(ids).__name__
            raise ValueError(f"token ids must have shape (B, T), got {shape}; use ids[None] for one sequence")
        if ids.dtype.is_floating_point or ids.dtype == torch.bool or ids.is_complex():
            raise TypeError(f"token ids must be integer ids (torch.long), got dtype {ids.dtype}")
        check_token_ids(ids, tok.num_embeddings, hint="was the model built with len(vocab) of this side?")
        T = ids.shape[1]
        if T > self.max_len:
            raise ValueError(
                f"sequence length {T} exceeds max_len={self.max_len}; build the model with a larger max_len"
            )
        positions = torch.arange(T, device=ids.device)
        # scale token vectors as in the original transformer so they are not drowned by the positions
        return self.drop(tok(ids) * math.sqrt(self.d_model) + pos(positions))  # (B, T, d_model)

    def embed_source(self, src: torch.Tensor) -> torch.Tensor:
        """Source ids (B, S) -> input vectors of the encoder (B, S, d_model): token + position."""
        return self._embed(src, self.src_embed, self.src_pos)

    def embed_target(self, tgt_in: torch.Tensor) -> torch.Tensor:
        """Target ids (B, T) -> input vectors of the decoder (B, T, d_model): token + position."""
        return self._embed(tgt_in, self.tgt_embed, self.tgt_pos)

    def encode(self, src: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Read the source once.

        Args:
            src: (B, S) source ids, padded with ``pad_id``.

        Returns:
            ``(memory (B, S, d_model), src_keep (B, 1, 1, S))`` where src_keep is False at padding.
        """
        x = self.embed_source(src)  # checks src first
        src_keep = (src != self.pad_id)[:, None, None, :]  # (B, 1, 1, S)
        self.encoder_attentions = []
        for layer in self.encoder:
            x, probs = layer(x, src_keep)
            self.encoder_attentions.append(probs)
        return x, src_keep

    def decode(self, tgt_in: torch.Tensor, memory: torch.Tensor, src_keep: torch.Tensor) -> torch.Tensor:
        """Next-token logits for every target position.

        Args:
            tgt_in: (B, T) target ids that start with ``<bos>`` (the decoder's input).
            memory, src_keep: from :meth:`encode`.

        Returns:
            logits of shape (B, T, V): at position t, the prediction of target token t+1.
        """
        y = self.embed_target(tgt_in)  # checks tgt_in first
        if tgt_in.shape[0] != memory.shape[0]:
            raise ValueError(
                f"the target batch has {tgt_in.shape[0]} rows but the source batch has {memory.shape[0]}; "
                "give one target per source sentence"
            )
        tgt_keep = causal_mask(tgt_in.shape[1], tgt_in.device)[None, None]  # (1, 1, T, T)
        # kept so that notebooks can draw the attention maps of the last call
        self.decoder_self_attentions, self.cross_attentions = [], []
        for layer in self.decoder:
            y, self_probs, cross_probs = layer(y, memory, tgt_keep, src_keep)
            self.decoder_self_attentions.append(self_probs)
            self.cross_attentions.append(cross_probs)
        return self.generator(y)

    def forward(self, src: torch.Tensor, tgt_in: torch.Tensor) -> torch.Tensor:
        """Teacher forcing: the decoder reads the true target shifted right.

        Args:
            src: (B, S) source ids.
            tgt_in: (B, T) ``<bos> y1 ... y_{T-1}``, the true target without its last token.

        Returns:
            logits (B, T, V), compared with ``y1 ... y_T`` (the target shifted left) by the loss.
        """
        memory, src_keep = self.encode(src)
        return self.decode(tgt_in, memory, src_keep)

    def loss(self, src: torch.Tensor, tgt: torch.Tensor, label_smoothing: float = 0.0) -> torch.Tensor:
        """Cross-entropy with teacher forcing on ``tgt = <bos> y1 ... yT <eos> <pad> ...`` (pads ignored)."""
        logits = self(src, tgt[:, :-1])  # (B, T, V)
        return F.cross_entropy(
            logits.reshape(-1, logits.shape[-1]),
            tgt[:, 1:].reshape(-1),
            ignore_index=self.pad_id,
            label_smoothing=label_smoothing,
        )

    @torch.no_grad()
    def greedy_decode(self, src: torch.Tensor, max_len: int | None = None) -> torch.Tensor:
        """Translate by picking the most likely next token, one step at a time.

        Args:
            src: (B, S) source ids.
            max_len: the most tokens to generate (default: the model's ``max_len - 1``).

        Returns:
            (B, L) generated ids, ``<bos>`` not included; each row ends with ``<eos>`` and then
            ``pad_id`` (or is cut at ``max_len``). Stops as soon as every row has produced ``<eos>``.
        """
        max_len = self.max_len - 1 if max_len is None else max_len
        if not 1 <= max_len < self.max_len:
            raise ValueError(f"max_len must be between 1 and {self.max_len - 1}, got {max_len}")
        with eval_mode(self):
            return self._greedy(src, max_len)

    def _greedy(self, src: torch.Tensor, max_len: int) -> torch.Tensor:
        memory, src_keep = self.encode(src)
        B = src.shape[0]
        ys = torch.full((B, 1), self.bos_id, dtype=torch.long, device=src.device)
        done = torch.zeros(B, dtype=torch.bool, device=src.device)
        for _ in range(max_len):
            # the whole prefix is re-decoded each step: simple, and cheap at these lengths
            next_id = self.decode(ys, memory, src_keep)[:, -1].argmax(-1)  # (B,)
            next_id = next_id.masked_fill(done, self.pad_id)
            ys = torch.cat([ys, next_id[:, None]], dim=1)
            done |= next_id == self.eos_id
            if done.all():
                break
        return ys[:, 1:]


# --------------------------------------------------------------------------------------------------
# Data helpers
# --------------------------------------------------------------------------------------------------


def reverse_pairs(pairs: Sequence[Pair]) -> list[Pair]:
    """Swap source and target, to train the opposite direction with the same code."""
    return [(tgt, src) for src, tgt in pairs]


def build_vocabs(pairs: Sequence[Pair], min_freq: int = 1) -> tuple[Vocab, Vocab]:
    """A source and a target :class:`~course_utils.text.Vocab` from (source, target) sentence pairs."""
    _check_pairs(pairs)
    src_vocab = Vocab.build([simple_tokenize(s) for s, _ in pairs], min_freq=min_freq)
    tgt_vocab = Vocab.build([simple_tokenize(t) for _, t in pairs], min_freq=min_freq)
    return src_vocab, tgt_vocab


def _check_pairs(pairs: Sequence[Pair]) -> None:
    if not pairs or not all(isinstance(p, (tuple, list)) and len(p) == 2 for p in pairs):
        raise TypeError("pairs must be a non-empty list of (source sentence, target sentence) tuples")
    for n, (src, tgt) in enumerate(pairs):
        if not isinstance(src, str) or not isinstance(tgt, str):
            raise TypeError(f"pair {n} is {(src, tgt)!r}; both sides must be sentence strings")


def encode_pairs(
    pairs: Sequence[Pair], src_vocab: Vocab, tgt_vocab: Vocab
) -> tuple[list[list[int]], list[list[int]]]:
    """Sentence pairs -> id lists: sources as plain ids, targets framed as ``<bos> ... <eos>``."""
    _check_pairs(pairs)
    src = [src_vocab.encode(simple_tokenize(s)) for s, _ in pairs]
    tgt = [tgt_vocab.encode(simple_tokenize(t), add_bos=True, add_eos=True) for _, t in pairs]
    return src, tgt


class TeacherForcing(nn.Module):
    """A :class:`Seq2SeqTransformer` made to fit the training loop: ``forward(src, tgt)`` returns its loss.

    :func:`course_utils.train.train` calls ``model(**batch).loss``; this wrapper holds no parameters of
    its own, so training it trains the translation model.
    """

    def __init__(self, model: Seq2SeqTransformer, label_smoothing: float = 0.0):
        super().__init__()
        self.model, self.label_smoothing = model, label_smoothing

    def forward(self, src: torch.Tensor, tgt: torch.Tensor) -> ModelOutput:
        return ModelOutput(loss=self.model.loss(src, tgt, label_smoothing=self.label_smoothing))


def pair_loader(
    pairs: Sequence[Pair], src_vocab: Vocab, tgt_vocab: Vocab, batch_size: int, pad_id: int = 0
) -> DataLoader:
    """Shuffled batches ``{"src": (B, S), "tgt": (B, T)}`` of encoded pairs, padded per batch."""
    src, tgt = encode_pairs(pairs, src_vocab, tgt_vocab)

    def collate(indices: list[int]) -> dict[str, torch.Tensor]:
        return {
            "src": pad_batch([src[i] for i in indices], pad_id=pad_id)[0],
            "tgt": pad_batch([tgt[i] for i in indices], pad_id=pad_id)[0],
        }

    return DataLoader(range(len(src)), batch_size=batch_size, shuffle=True, collate_fn=collate)


def train_seq2seq(
    model: Seq2SeqTransformer,
    pairs: Sequence[Pair],
    src_vocab: Vocab,
    tgt_vocab: Vocab,
    epochs: int = 10,
    lr: float = 2e-3,
    batch_size: int = 64,
    seed: int = 0,
    label_smoothing: float = 0.0,
    time_limit: float | None = None,
    progress: bool = False,
) -> dict[str, list[float]]:
    """Train with teacher forcing, using the course's training loop.

    It is :func:`course_utils.train.train` with Adam's betas of the transformer paper (0.9, 0.98), no
    weight decay, the BERT schedule (linear warmup over the first 5% of steps, then linear decay) and
    gradient clipping at 1.0.

    Args:
        model: the model (already on its device; it trains there).
        pairs: (source, target) sentence pairs.
        src_vocab, tgt_vocab: from :func:`build_vocabs`.
        epochs: passes over ``pairs``.
        lr: peak learning rate.
        batch_size: pairs per step.
        seed: seeds the shuffling (and the random state of the run).
        label_smoothing: passed to the cross-entropy.
        time_limit: stop after this many seconds (None: run every epoch).
        progress: show a progress bar.

    Returns:
        ``{"step": [...], "loss": [...]}``, the training loss after every step.
    """
    wrapped = TeacherForcing(model, label_smoothing)
    history = train(
        wrapped,
        pair_loader(pairs, src_vocab, tgt_vocab, batch_size, pad_id=model.pad_id),
        epochs=epochs,
        warmup=0.05,
        optimizer=make_optimizer(wrapped, lr, weight_decay=0.0, betas=(0.9, 0.98)),
        device=model_device(model),
        seed=seed,
        progress=progress,
        max_seconds=time_limit,
    )
    return {"step": history.steps, "loss": history.train_loss}


def _decode_ids(ids: Sequence[int], vocab: Vocab) -> list[str]:
    """Ids up to (not including) the first ``<eos>``, as tokens, specials dropped."""
    out = []
    for i in ids:
        i = int(i)
        if i == vocab.eos_id:
            break
        out.append(i)
    return vocab.decode(out, skip_specials=True)


def translate(
    model: Seq2SeqTransformer,
    sentences: Sequence[str],
    src_vocab: Vocab,
    tgt_vocab: Vocab,
    max_len: int | None = None,
    batch_size: int = 256,
) -> list[str]:
    """Translate sentences greedily; each output is its tokens joined by single spaces.

    Args:
        model: a trained :class:`Seq2SeqTransformer`.
        sentences: source sentences (plain strings; tokenized with ``simple_tokenize``).
        src_vocab, tgt_vocab: the vocabularies the model was trained with.
        max_len: the most target tokens to generate per sentence.
        batch_size: sentences decoded together.

    Returns:
        One translated string per input sentence.
    """
    if isinstance(sentences, str):
        raise TypeError("translate expects a list of sentences; wrap a single one: [sentence]")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size={batch_size!r} must be a positive int")
    device = model_device(model)
    out: list[str] = []
    for i in range(0, len(sentences), batch_size):
        chunk = sentences[i : i + batch_size]
        src, _ = pad_batch(
            [src_vocab.encode(simple_tokenize(s)) or [src_vocab.unk_id] for s in chunk], model.pad_id
        )
        if src.shape[1] > model.max_len:
            raise ValueError(
                f"a sentence has {src.shape[1]} tokens, more than the model's max_len={model.max_len}"
            )
        ys = model.greedy_decode(src.to(device), max_len=max_len).cpu()
        out.extend(" ".join(_decode_ids(row, tgt_vocab)) for row in ys)
    return out


def evaluate_translation(
    model: Seq2SeqTransformer, pairs: Sequence[Pair], src_vocab: Vocab, tgt_vocab: Vocab
) -> dict[str, float]:
    """Score greedy translations against the references.

    Returns:
        ``exact_match``: the fraction of sentences translated exactly (token for token);
        ``token_accuracy``: the fraction of reference tokens (``<eos>`` included) that the output has at
        the same position.
    """
    _check_pairs(pairs)
    preds = [t.split() for t in translate(model, [s for s, _ in pairs], src_vocab, tgt_vocab)]
    exact, hit, total = 0, 0, 0
    for pred, (_, ref) in zip(preds, pairs):
        # compare with the reference as the model sees it (unknown target words become <unk>)
        ref_toks = tgt_vocab.decode(tgt_vocab.encode(simple_tokenize(ref)))
        exact += int(pred == ref_toks)
        ref_full, pred_full = ref_toks + ["<eos>"], pred + ["<eos>"]
        hit += sum(int(i < len(pred_full) and pred_full[i] == tok) for i, tok in enumerate(ref_full))
        total += len(ref_full)
    return {"exact_match": exact / len(pairs), "token_accuracy": hit / total}
