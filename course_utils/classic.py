"""The models that came before transformers: n-gram LM, bag-of-words, RNN/LSTM (units 01 and 02).

They are the baselines the course's BERT is measured against (unit 10), so they are small, tested and
deterministic under a seed.

- :class:`NGramLM`: counts, smoothing, perplexity and sampling.
- :class:`BagOfWordsClassifier`: word counts + logistic regression (scikit-learn).
- :class:`LSTMClassifier`: embeddings -> (bi)LSTM -> last state or masked mean -> linear.
- :class:`LSTMLanguageModel`: a left-to-right next-token model.
- :func:`init_forget_bias`: open the LSTM's forget gate at the start, so gradients reach early words.
- :func:`train_classifier`, :func:`evaluate_classifier`: the classifiers trained with the course's loop.
"""

from __future__ import annotations

import math
import random
from collections import Counter, defaultdict
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
from torch.utils.data import DataLoader

from course_utils.model import ModelOutput, check_token_ids
from course_utils.text import BOS, EOS, UNK, pad_batch, simple_tokenize
from course_utils.train import accuracy, train
from course_utils.utils import check_seed, eval_mode, model_device

# --------------------------------------------------------------------------------------------------
# N-gram language model
# --------------------------------------------------------------------------------------------------

_SMOOTHINGS = ("none", "add-k", "interpolation")


class NGramLM:
    """An n-gram language model: P(word | the previous n-1 words), estimated by counting.

    Each sentence is framed as ``<bos> ... <bos> w1 ... wm <eos>`` (n-1 ``<bos>``), so the model also
    learns how sentences start and end. Words never seen in training are mapped to ``<unk>``.

    Smoothing:
        - ``"none"``: maximum likelihood, count(context, w) / count(context). Unseen pairs get 0.
        - ``"add-k"``: (count(context, w) + k) / (count(context) + k * V) -- every word keeps a little
          probability (Laplace smoothing when k = 1).
        - ``"interpolation"``: start from the add-k unigram, then for m = 2..n mix in the
          maximum-likelihood m-gram estimate: p = lam * p_ML(m) + (1 - lam) * p(m - 1). An order whose
          context was never seen is skipped, so a new context falls back on shorter ones.

    Args:
        n: the order (1 = unigram, 2 = bigram, 3 = trigram, ...).
        smoothing: one of ``"none"``, ``"add-k"``, ``"interpolation"``.
        k: the pseudo-count of add-k smoothing (> 0); for interpolation, of the unigram.
        lam: the weight of each longer context in interpolation, in (0, 1).
    """

    def __init__(self, n: int = 2, smoothing: str = "add-k", k: float = 1.0, lam: float = 0.8):
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"n must be an int >= 1, got {n!r}")
        if smoothing not in _SMOOTHINGS:
            raise ValueError(f"smoothing={smoothing!r} is not one of {_SMOOTHINGS}")
        for name, value in (("k", k), ("lam", lam)):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"{name} must be a number, got {value!r}")
        if smoothing != "none" and not k > 0:
            raise ValueError(f"k must be > 0 for {smoothing!r} smoothing, got {k!r}")
        if not 0 < lam < 1:
            raise ValueError(f"lam must be between 0 and 1 (exclusive), got {lam!r}")
        self.n, self.smoothing, self.k, self.lam = n, smoothing, float(k), float(lam)
        # counts[m][context][word] for every order m = 1..n (context is a tuple of m-1 words)
        self.counts: list[dict[tuple[str, ...], Counter[str]]] = []
        self.vocab: list[str] = []  # the words the model can predict (with <eos> and <unk>)

    # -- training ----------------------------------------------------------------------------------
    def fit(self, sentences: Sequence[Sequence[str]]) -> NGramLM:
        """Count the n-grams of tokenized sentences (a list of token lists). Returns ``self``."""
        if isinstance(sentences, str) or not sentences or isinstance(sentences[0], str):
            raise TypeError(
                "fit expects a non-empty list of token lists, e.g. [simple_tokenize(s) for s in texts]"
            )
        words = sorted({w for s in sentences for w in s} - {BOS, EOS, UNK})
        self.vocab = words + [EOS, UNK]
        self._known = set(self.vocab)
        self.counts = [defaultdict(Counter) for _ in range(self.n + 1)]
        for sent in sentences:
            framed = self._frame(sent)
            for m in range(1, self.n + 1):
                for i in range(self.n - 1, len(framed)):
                    ctx = tuple(framed[i - m + 1 : i])
                    self.counts[m][ctx][framed[i]] += 1
        return self

    def _frame(self, sent: Sequence[str]) -> list[str]:
        return [BOS] * (self.n - 1) + [w if w in self._known else UNK for w in sent] + [EOS]

    def _check_fitted(self) -> None:
        if not self.vocab:
            raise RuntimeError("the model has not been fitted yet; call .fit(sentences) first")

    def _context(self, context: Sequence[str] | str) -> tuple[str, ...]:
        """The last n-1 words of ``context``, padded on the left with ``<bos>``, unknowns -> ``<unk>``."""
        if isinstance(context, str):
            context = simple_tokenize(context)
        ctx = [w if (w in self._known or w == BOS) else UNK for w in context]
        ctx = [BOS] * (self.n - 1) + ctx
        return tuple(ctx[len(ctx) - (self.n - 1) :]) if self.n > 1 else ()

    # -- probabilities -----------------------------------------------------------------------------
    def _ml(self, word: str, ctx: tuple[str, ...]) -> float | None:
        """Maximum-likelihood P(word | ctx), or None when ctx was never seen."""
        m = len(ctx) + 1
        c = self.counts[m].get(ctx)
        if not c:
            return None
        return c[word] / sum(c.values())

    def prob(self, word: str, context: Sequence[str] | str = ()) -> float:
        """P(word | context) under the chosen smoothing.

        Args:
            word: the next word (unknown words count as ``<unk>``).
            context: the words before it (a token list or a string); only the last n-1 matter.

        Returns:
            A probability in [0, 1]. Over ``self.vocab`` these sum to 1 for any context.
        """
        self._check_fitted()
        ctx = self._context(context)
        word = word if word in self._known else UNK
        V = len(self.vocab)
        if self.smoothing == "add-k":
            c = self.counts[self.n].get(ctx, Counter())
            return (c[word] + self.k) / (sum(c.values()) + self.k * V)
        if self.smoothing == "none":
            p = self._ml(word, ctx)
            if p is None:
                # A context never seen in training: MLE is undefined; fall back to uniform so the
                # distribution still sums to 1 (and say so in the docstring of perplexity()).
                return 1.0 / V
            return p
        # interpolation, from short to long contexts: start from the add-k unigram (never zero), then
        # mix in each longer context that was seen in training: p = lam * p_ML + (1 - lam) * p_shorter
        uni = self.counts[1][()]
        p = (uni[word] + self.k) / (sum(uni.values()) + self.k * V)
        for m in range(2, self.n + 1):
            p_ml = self._ml(word, ctx[len(ctx) - (m - 1) :])
            if p_ml is not None:
                p = self.lam * p_ml + (1 - self.lam) * p
        return p

    def next_word_distribution(self, context: Sequence[str] | str = ()) -> dict[str, float]:
        """P(w | context) for every w in the vocabulary, most likely first."""
        self._check_fitted()
        probs = {w: self.prob(w, context) for w in self.vocab}
        return dict(sorted(probs.items(), key=lambda kv: (-kv[1], kv[0])))

    def perplexity(self, sentences: Sequence[Sequence[str]]) -> float:
        """exp(mean negative log-probability per predicted token, ``<eos>`` included).

        Lower is better; a uniform guess over V words has perplexity V. Returns ``inf`` when some token
        has probability 0 (only possible with ``smoothing="none"``).
        """
        self._check_fitted()
        if isinstance(sentences, str) or not sentences or isinstance(sentences[0], str):
            raise TypeError("perplexity expects a non-empty list of token lists")
        total, count = 0.0, 0
        for sent in sentences:
            framed = self._frame(sent)
            for i in range(self.n - 1, len(framed)):
                p = self.prob(framed[i], framed[:i])
                if p == 0.0:
                    return math.inf
                total -= math.log(p)
                count += 1
        return math.exp(total / count)

    def sample(self, prefix: Sequence[str] | str = (), max_len: int = 20, seed: int = 0) -> list[str]:
        """Continue ``prefix`` by drawing one word at a time until ``<eos>`` or ``max_len`` new words.

        Args:
            prefix: the words to start from (a token list or a string; may be empty).
            max_len: the most words to add.
            seed: seeds the random draws, so the same call gives the same text.

        Returns:
            The prefix tokens followed by the sampled words (``<eos>`` not included).
        """
        self._check_fitted()
        if isinstance(max_len, bool) or not isinstance(max_len, int) or max_len < 0:
            raise ValueError(f"max_len={max_len!r} must be an int >= 0 (the most words to add)")
        rng = random.Random(check_seed(seed))
        out = simple_tokenize(prefix) if isinstance(prefix, str) else list(prefix)
        for _ in range(max_len):
            dist = self.next_word_distribution(out)
            word = rng.choices(list(dist), weights=list(dist.values()))[0]
            if word == EOS:
                break
            out.append(word)
        return out


# --------------------------------------------------------------------------------------------------
# Bag of words
# --------------------------------------------------------------------------------------------------


class BagOfWordsClassifier:
    """Word (or n-gram) counts fed to a logistic regression: the classic text-classification baseline.

    The features ignore word order (beyond ``ngram_range``): "Mary asked John to leave" and "Mary
    asked to leave John" get exactly the same unigram vector.

    Args:
        ngram_range: ``(1, 1)`` for words only, ``(1, 2)`` to add bigrams.
        min_df: ignore terms seen in fewer documents than this.
        C: inverse regularisation strength of the logistic regression.
        binary: count presence (1/0) instead of occurrences.
    """

    def __init__(
        self, ngram_range: tuple[int, int] = (1, 1), min_df: int = 1, C: float = 1.0, binary: bool = False
    ):
        from sklearn.feature_extraction.text import CountVectorizer
        from sklearn.linear_model import LogisticRegression

        self.vectorizer = CountVectorizer(
            tokenizer=simple_tokenize,
            token_pattern=None,  # we pass our own tokenizer
            lowercase=False,  # simple_tokenize already lowercases
            ngram_range=ngram_range,
            min_df=min_df,
            binary=binary,
        )
        self.model = LogisticRegression(C=C, max_iter=2000)

    def features(self, texts: Sequence[str]):
        """The (sparse) count matrix of ``texts``, shape (N, number of terms)."""
        return self.vectorizer.transform(self._check_texts(texts))

    @staticmethod
    def _check_texts(texts: Sequence[str]) -> Sequence[str]:
        if isinstance(texts, str):
            raise TypeError("pass a list of texts, not a single string (wrap it: [text])")
        return texts

    def fit(self, texts: Sequence[str], labels: Sequence[int]) -> BagOfWordsClassifier:
        """Learn the vocabulary and the weights. Returns ``self``."""
        texts = self._check_texts(texts)
        if len(texts) != len(labels):
            raise ValueError(f"got {len(texts)} texts but {len(labels)} labels")
        X = self.vectorizer.fit_transform(texts)
        self.model.fit(X, list(labels))
        return self

    def predict(self, texts: Sequence[str]) -> list[int]:
        """The predicted class of each text."""
        return [int(y) for y in self.model.predict(self.features(texts))]

    def predict_proba(self, texts: Sequence[str]):
        """Class probabilities, shape (N, num_classes)."""
        return self.model.predict_proba(self.features(texts))

    def score(self, texts: Sequence[str], labels: Sequence[int]) -> float:
        """Accuracy on ``texts`` (a number in [0, 1])."""
        texts = self._check_texts(texts)
        if len(texts) != len(labels):
            raise ValueError(f"got {len(texts)} texts but {len(labels)} labels")
        if len(texts) == 0:
            raise ValueError("texts is empty: there is nothing to score")
        preds = self.predict(texts)
        return sum(int(p == y) for p, y in zip(preds, labels)) / len(preds)

    def top_terms(self, k: int = 10) -> dict[str, list[tuple[str, float]]]:
        """The ``k`` most negative and most positive weights of a two-class model."""
        names = self.vectorizer.get_feature_names_out()
        if self.model.coef_.shape[0] != 1:
            raise ValueError(
                f"top_terms reads the weights of a model with two classes; this one has "
                f"{len(self.model.classes_)} (use model.coef_[c] for class c)"
            )
        w = self.model.coef_[0]
        order = w.argsort()
        return {
            "negative": [(str(names[i]), float(w[i])) for i in order[:k]],
            "positive": [(str(names[i]), float(w[i])) for i in order[::-1][:k]],
        }


# --------------------------------------------------------------------------------------------------
# Recurrent models
# --------------------------------------------------------------------------------------------------

_CELLS = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}


def init_forget_bias(lstm: nn.LSTM, value: float = 1.0) -> None:
    """Set the forget-gate bias of every layer and direction of ``lstm`` to ``value``.

    PyTorch starts the biases near 0, so the forget gate starts half closed (sigmoid(0) = 0.5) and the
    cell state, and its gradient, shrink by about half at every step. A bias of 1 keeps the gate mostly
    open at the start, so information (and gradient) survives long sequences; the network can still
    learn to close it. (Gers et al. 2000; Jozefowicz et al. 2015.)
    """
    H = lstm.hidden_size
    with torch.no_grad():
        for name, param in lstm.named_parameters():
            # PyTorch stacks the gates as (input, forget, cell candidate, output): forget is rows H..2H
            if name.startswith("bias_ih"):
                param[H : 2 * H].fill_(value)
            elif name.startswith("bias_hh"):
                param[H : 2 * H].zero_()


def _check_sizes(**sizes: object) -> None:
    """Each size (vocab_size, hidden_dim, ...) must be a positive int."""
    for name, value in sizes.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name}={value!r} must be a positive int")


def _check_ids(input_ids: torch.Tensor, embedding: nn.Embedding) -> None:
    """(B, T) integer ids inside the embedding's vocabulary."""
    if not isinstance(input_ids, torch.Tensor) or input_ids.dim() != 2:
        shape = tuple(input_ids.shape) if isinstance(input_ids, torch.Tensor) else type(input_ids).__name__
        raise ValueError(
            f"input_ids must have shape (B, T), got {shape}; use input_ids[None] for one sequence"
        )
    if input_ids.dtype.is_floating_point or input_ids.dtype == torch.bool or input_ids.is_complex():
        raise TypeError(f"input_ids must hold integer ids (torch.long), got dtype {input_ids.dtype}")
    check_token_ids(input_ids, embedding.num_embeddings, hint="was the model built with len(vocab)?")


def _check_lengths(lengths: torch.Tensor, input_ids: torch.Tensor) -> None:
    """(B,) true lengths, each in 1..T."""
    B, T = input_ids.shape
    if not isinstance(lengths, torch.Tensor) or tuple(lengths.shape) != (B,):
        shape = tuple(lengths.shape) if isinstance(lengths, torch.Tensor) else type(lengths).__name__
        raise ValueError(
            f"lengths must be a (B,) = ({B},) tensor, one length per row of input_ids; got {shape}"
        )
    if B and (int(lengths.min()) < 1 or int(lengths.max()) > T):
        raise ValueError(
            f"lengths must be between 1 and T={T} (the width of input_ids), got {lengths.tolist()}"
        )


def _lengths_from_ids(input_ids: torch.Tensor, pad_id: int) -> torch.Tensor:
    """Count the non-pad tokens of each row (padding must be at the end)."""
    lengths = (input_ids != pad_id).sum(dim=1)
    if (lengths == 0).any():
        raise ValueError("a row of input_ids is all padding; every sequence needs at least one token")
    return lengths


class LSTMClassifier(nn.Module):
    """Embeddings -> (bi)LSTM -> sentence vector -> linear layer.

    Padding never changes the result: the sequences are packed, so the recurrence stops at each
    sequence's true length, and the mean pooling only averages real tokens.

    Args:
        vocab_size: V, the number of token ids.
        embed_dim: size of the word vectors.
        hidden_dim: size of the LSTM state (per direction).
        num_classes: number of output classes.
        bidirectional: also read the sentence right-to-left and concatenate both states.
        pad_id: the padding id (its embedding is fixed at zero).
        pooling: ``"last"`` (final hidden state(s)) or ``"mean"`` (average of all outputs).
        num_layers: stacked recurrent layers.
        dropout: dropout on the embeddings and the sentence vector.
        cell: ``"lstm"`` (default), ``"gru"`` or ``"rnn"`` (a plain tanh RNN, for comparison).
        forget_bias: initial forget-gate bias of an LSTM (see :func:`init_forget_bias`); None keeps
            PyTorch's initialisation.
    """

    def __init__(
        self,
        vocab_size: int,
        embed_dim: int,
        hidden_dim: int,
        num_classes: int,
        bidirectional: bool = False,
        pad_id: int = 0,
        pooling: str = "last",
        num_layers: int = 1,
        dropout: float = 0.0,
        cell: str = "lstm",
        forget_bias: float | None = 1.0,
    ):
        super().__init__()
        _check_sizes(
            vocab_size=vocab_size, embed_dim=embed_dim, hidden_dim=hidden_dim, num_classes=num_classes,
            num_layers=num_layers,
        )  # fmt: skip
        if pooling not in ("last", "mean"):
            raise ValueError(f"pooling={pooling!r} must be 'last' or 'mean'")
        if cell not in _CELLS:
            raise ValueError(f"cell={cell!r} must be one of {tuple(_CELLS)}")
        if not 0 <= pad_id < vocab_size:
            raise ValueError(f"pad_id={pad_id} is outside the vocabulary (size {vocab_size})")
        self.pad_id, self.pooling, self.bidirectional = pad_id, pooling, bidirectional
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=pad_id)
        self.rnn = _CELLS[cell](
            embed_dim, hidden_dim, num_layers=num_layers, batch_first=True, bidirectional=bidirectional
        )
        if cell == "lstm" and forget_bias is not None:
            init_forget_bias(self.rnn, forget_bias)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(hidden_dim * (2 if bidirectional else 1), num_classes)

    def encode(self, input_ids: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """The sentence vectors, shape (B, hidden_dim * num_directions).

        Args:
            input_ids: (B, T) token ids, padded at the end with ``pad_id``.
            lengths: (B,) true lengths; computed from ``pad_id`` when omitted.
        """
        _check_ids(input_ids, self.embedding)
        if lengths is None:
            lengths = _lengths_from_ids(input_ids, self.pad_id)
        else:
            _check_lengths(lengths, input_ids)
        x = self.dropout(self.embedding(input_ids))  # (B, T, E)
        # pack so that the recurrence skips the padding (lengths must live on the CPU)
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, h = self.rnn(packed)
        h_n = h[0] if isinstance(h, tuple) else h  # LSTM returns (h_n, c_n); RNN/GRU return h_n
        if self.pooling == "last":
            # h_n: (num_layers * num_directions, B, hs); the last layer's states are the final rows
            return torch.cat([h_n[-2], h_n[-1]], dim=-1) if self.bidirectional else h_n[-1]
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=input_ids.shape[1])  # (B, T, D)
        mask = (
            torch.arange(input_ids.shape[1], device=x.device)[None, :] < lengths.to(x.device)[:, None]
        ).float()
        return (out * mask.unsqueeze(-1)).sum(1) / mask.sum(1, keepdim=True)

    def forward(self, input_ids: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """Class logits, shape (B, num_classes)."""
        return self.classifier(self.dropout(self.encode(input_ids, lengths)))


class LSTMLanguageModel(nn.Module):
    """A left-to-right language model: embeddings -> LSTM -> a linear layer over the vocabulary.

    At position t it sees tokens 0..t only, and is trained to predict token t+1.

    Args:
        vocab_size: V.
        embed_dim: size of the word vectors.
        hidden_dim: size of the LSTM state.
        num_layers: stacked LSTM layers.
        pad_id: the padding id (ignored by the loss).
        dropout: dropout on embeddings and outputs.
        forget_bias: initial forget-gate bias (see :func:`init_forget_bias`); None keeps PyTorch's.
    """

    def __init__(
        self,
        vocab_size: int,
        embed_dim: int,
        hidden_dim: int,
        num_layers: int = 1,
        pad_id: int = 0,
        dropout: float = 0.0,
        forget_bias: float | None = 1.0,
    ):
        super().__init__()
        _check_sizes(vocab_size=vocab_size, embed_dim=embed_dim, hidden_dim=hidden_dim, num_layers=num_layers)
        if not 0 <= pad_id < vocab_size:
            raise ValueError(f"pad_id={pad_id} is outside the vocabulary (size {vocab_size})")
        self.pad_id = pad_id
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=pad_id)
        self.lstm = nn.LSTM(embed_dim, hidden_dim, num_layers=num_layers, batch_first=True)
        if forget_bias is not None:
            init_forget_bias(self.lstm, forget_bias)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_dim, vocab_size)

    def forward(
        self, input_ids: torch.Tensor, state=None
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """Next-token logits.

        Args:
            input_ids: (B, T) token ids.
            state: the LSTM's ``(h, c)`` from a previous call, to continue a sequence.

        Returns:
            ``(logits, state)`` with logits of shape (B, T, V).
        """
        _check_ids(input_ids, self.embedding)
        out, state = self.lstm(self.dropout(self.embedding(input_ids)), state)  # (B, T, hidden)
        return self.head(self.dropout(out)), state

    def loss(self, input_ids: torch.Tensor) -> torch.Tensor:
        """Mean cross-entropy of predicting token t+1 from tokens 0..t (padding ignored)."""
        _check_ids(input_ids, self.embedding)
        if input_ids.shape[1] < 2:
            raise ValueError(
                f"loss needs sequences of at least 2 tokens (one to read, one to predict), got T={input_ids.shape[1]}"
            )
        logits, _ = self(input_ids[:, :-1])
        targets = input_ids[:, 1:]
        return F.cross_entropy(
            logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=self.pad_id
        )

    @torch.no_grad()
    def generate(
        self,
        prefix_ids: Sequence[int],
        max_new_tokens: int = 20,
        eos_id: int | None = None,
        temperature: float = 1.0,
        seed: int = 0,
    ) -> list[int]:
        """Sample a continuation of ``prefix_ids`` (one sequence) token by token.

        Returns:
            ``prefix_ids`` followed by the sampled ids (stops after ``eos_id`` if given).
        """
        if len(prefix_ids) == 0:
            raise ValueError("generate needs at least one prefix id (e.g. the <bos> id)")
        if not temperature > 0 or temperature == float("inf"):  # also catches NaN
            raise ValueError(f"temperature must be a positive finite number, got {temperature}")
        if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, int) or max_new_tokens < 0:
            raise ValueError(f"max_new_tokens={max_new_tokens!r} must be an int >= 0")
        check_token_ids(list(prefix_ids), self.embedding.num_embeddings, name="prefix_ids")
        device = model_device(self)
        gen = torch.Generator(device="cpu").manual_seed(seed)
        out = list(prefix_ids)
        with eval_mode(self):
            logits, state = self(torch.tensor([out], device=device))
            for _ in range(max_new_tokens):
                probs = F.softmax(logits[0, -1].float().cpu() / temperature, dim=-1)
                nxt = int(torch.multinomial(probs, 1, generator=gen))
                out.append(nxt)
                if eos_id is not None and nxt == eos_id:
                    break
                logits, state = self(torch.tensor([[nxt]], device=device), state)
        return out


# --------------------------------------------------------------------------------------------------
# Training the classifiers with the course's training loop
# --------------------------------------------------------------------------------------------------

ClassifierData = tuple[Sequence[Sequence[int]], Sequence[int]]  # (id lists, labels)


class WithCrossEntropy(nn.Module):
    """A classifier called as ``model(input_ids, lengths) -> logits``, made to fit the training loop.

    :func:`course_utils.train.train` calls ``model(**batch).loss``; this wrapper computes the
    cross-entropy of the wrapped classifier's logits against ``batch["labels"]``. It holds no
    parameters of its own, so training it trains the classifier.
    """

    def __init__(self, classifier: nn.Module):
        super().__init__()
        self.classifier = classifier

    def forward(self, input_ids: torch.Tensor, lengths: torch.Tensor, labels: torch.Tensor) -> ModelOutput:
        logits = self.classifier(input_ids, lengths)  # (B, num_classes)
        C = logits.shape[-1]
        if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= C):
            bad = int(labels.min()) if int(labels.min()) < 0 else int(labels.max())
            # cross_entropy would only say "Target 5 is out of bounds"
            raise ValueError(f"label {bad} is not a class id of this model (0..{C - 1}, num_classes={C})")
        return ModelOutput(loss=F.cross_entropy(logits, labels), logits=logits)


def classifier_loader(data: ClassifierData, batch_size: int, shuffle: bool, pad_id: int = 0) -> DataLoader:
    """Batches of ``{"input_ids", "lengths", "labels"}`` from ``data = (id lists, labels)``, padded per batch."""
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise TypeError(
            "data must be a pair (id lists, labels), e.g. ([vocab.encode(t) for t in tokens], labels); "
            f"got {type(data).__name__} of length {len(data) if hasattr(data, '__len__') else '?'}"
        )
    ids, labels = data
    if len(ids) != len(labels):
        raise ValueError(f"got {len(ids)} sequences but {len(labels)} labels")
    if len(ids) == 0:
        raise ValueError("the data set is empty")

    def collate(indices: list[int]) -> dict[str, torch.Tensor]:
        input_ids, lengths = pad_batch([ids[i] for i in indices], pad_id=pad_id)
        return {
            "input_ids": input_ids,
            "lengths": lengths,
            "labels": torch.tensor([labels[i] for i in indices]),
        }

    return DataLoader(range(len(ids)), batch_size=batch_size, shuffle=shuffle, collate_fn=collate)


def evaluate_classifier(
    model: nn.Module, data: ClassifierData, batch_size: int = 256, device: torch.device | str | None = None
) -> float:
    """Accuracy of ``model(input_ids, lengths)`` on ``data = (id lists, labels)``."""
    loader = classifier_loader(data, batch_size, shuffle=False, pad_id=getattr(model, "pad_id", 0))
    return accuracy(WithCrossEntropy(model), loader, device)


def train_classifier(
    model: nn.Module,
    train_data: ClassifierData,
    val_data: ClassifierData | None = None,
    epochs: int = 5,
    lr: float = 1e-3,
    batch_size: int = 32,
    device: torch.device | str | None = None,
    seed: int = 0,
    clip: float | None = 1.0,
    progress: bool = False,
) -> dict[str, list[float]]:
    """Train a classifier called as ``model(input_ids, lengths) -> logits`` with the course's loop.

    It is :func:`course_utils.train.train` (AdamW, warmup then linear decay, clipping) on batches padded
    per batch, with the validation accuracy measured after every epoch.

    Args:
        model: e.g. an :class:`LSTMClassifier`.
        train_data: ``(id lists, labels)``.
        val_data: the same for validation (accuracy measured after each epoch), or None.
        epochs: passes over the training data.
        lr: peak learning rate.
        batch_size: sequences per step (padded per batch).
        device: where to train (default: :func:`course_utils.utils.get_device`).
        seed: seeds the shuffling order (and the random state of the run).
        clip: clip the gradient norm to this value (None: no clipping).
        progress: show a progress bar.

    Returns:
        One entry per epoch: ``train_loss`` (mean over the epoch's steps) and ``val_acc``.
    """
    pad_id = getattr(model, "pad_id", 0)
    loader = classifier_loader(train_data, batch_size, shuffle=True, pad_id=pad_id)
    val_loader = None if val_data is None else classifier_loader(val_data, 256, shuffle=False, pad_id=pad_id)

    def val_accuracy(wrapped: nn.Module, loader: DataLoader, device: torch.device) -> dict[str, float]:
        return {"accuracy": accuracy(wrapped, loader, device)}

    history = train(
        WithCrossEntropy(model),
        loader,
        epochs=epochs,
        lr=lr,
        max_grad_norm=clip,
        device=device,
        eval_loader=val_loader,
        eval_every=len(loader),
        eval_fn=None if val_data is None else val_accuracy,
        seed=seed,
        progress=progress,
    )
    per_epoch = [history.train_loss[i : i + len(loader)] for i in range(0, len(history), len(loader))]
    return {
        "train_loss": [sum(losses) / len(losses) for losses in per_epoch],
        "val_acc": history.eval_metric("accuracy")[1],
    }


# --------------------------------------------------------------------------------------------------
# Span tasks: a BiLSTM that labels every token (named entities) or scores answer spans (QA)
# --------------------------------------------------------------------------------------------------


class _TokenBiLSTM(nn.Module):
    """Embeddings (+ segment embeddings) -> BiLSTM -> one vector per token, shape (B, T, 2 * hidden_dim).

    It takes the batches made for BERT (``input_ids``, ``attention_mask``, ``token_type_ids``), so the
    span tasks train it with the same loaders and functions as BERT (:mod:`course_utils.spans`).
    Sequences are packed, so neither direction reads the padding.
    """

    def __init__(self, vocab_size: int, embed_dim: int, hidden_dim: int, pad_id: int, dropout: float):
        super().__init__()
        _check_sizes(vocab_size=vocab_size, embed_dim=embed_dim, hidden_dim=hidden_dim)
        if not 0 <= pad_id < vocab_size:
            raise ValueError(f"pad_id={pad_id} is outside the vocabulary (size {vocab_size})")
        self.pad_id = pad_id
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=pad_id)
        self.segment = nn.Embedding(2, embed_dim)  # question (0) or context (1), as BERT's token types
        self.lstm = nn.LSTM(embed_dim, hidden_dim, batch_first=True, bidirectional=True)
        init_forget_bias(self.lstm)
        self.dropout = nn.Dropout(dropout)

    def token_vectors(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None,
        token_type_ids: torch.Tensor | None,
    ) -> torch.Tensor:
        _check_ids(input_ids, self.embedding)
        if attention_mask is None:
            lengths = _lengths_from_ids(input_ids, self.pad_id)
        else:
            lengths = attention_mask.sum(1)
            _check_lengths(lengths, input_ids)
        if token_type_ids is None:  # one segment, as BERT assumes
            token_type_ids = torch.zeros_like(input_ids)
        x = self.embedding(input_ids) + self.segment(token_type_ids)  # (B, T, E)
        packed = pack_padded_sequence(self.dropout(x), lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, _ = self.lstm(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=input_ids.shape[1])  # (B, T, 2h)
        return self.dropout(out)


class BiLSTMTagger(_TokenBiLSTM):
    """A BiLSTM that scores every tag at every token: the pre-BERT named-entity tagger (without a CRF).

    Called like ``BertForTokenClassification``: ``model(input_ids, attention_mask, token_type_ids,
    labels)`` returns ``.logits`` (B, T, num_labels) and, with labels (B, T) (-100 = ignore), ``.loss``.

    Args:
        vocab_size: V (``len(tokenizer)`` when the batches come from BERT's tokenizer).
        embed_dim, hidden_dim: sizes of the token vectors and of the LSTM state per direction.
        num_labels: number of tags.
        pad_id: the padding id.
        dropout: on the embeddings and the LSTM outputs.
    """

    def __init__(
        self,
        vocab_size: int,
        embed_dim: int,
        hidden_dim: int,
        num_labels: int,
        pad_id: int = 0,
        dropout: float = 0.1,
    ):
        super().__init__(vocab_size, embed_dim, hidden_dim, pad_id, dropout)
        _check_sizes(num_labels=num_labels)
        self.classifier = nn.Linear(2 * hidden_dim, num_labels)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
    ) -> ModelOutput:
        logits = self.classifier(self.token_vectors(input_ids, attention_mask, token_type_ids))  # (B, T, C)
        loss = None
        if labels is not None:
            if labels.shape != input_ids.shape:
                raise ValueError(
                    f"labels have shape {tuple(labels.shape)}, expected {tuple(input_ids.shape)}"
                )
            loss = F.cross_entropy(logits.flatten(0, 1), labels.flatten(), ignore_index=-100)
        return ModelOutput(loss=loss, logits=logits)


class LSTMSpanExtractor(_TokenBiLSTM):
    """A BiLSTM over ``[CLS] question [SEP] context [SEP]`` with a start score and an end score per token.

    Called like ``BertForQuestionAnswering``: ``model(input_ids, attention_mask, token_type_ids,
    start_positions, end_positions)`` returns ``.start_logits`` and ``.end_logits`` (B, T) (padding gets
    -inf) and, with both positions (B,), ``.loss``: the mean of the start and end cross-entropies. Only
    the left-to-right direction has read the question when it reaches the context.

    Args: as :class:`BiLSTMTagger`, without ``num_labels``.
    """

    def __init__(
        self, vocab_size: int, embed_dim: int, hidden_dim: int, pad_id: int = 0, dropout: float = 0.1
    ):
        super().__init__(vocab_size, embed_dim, hidden_dim, pad_id, dropout)
        self.qa_outputs = nn.Linear(2 * hidden_dim, 2)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        start_positions: torch.Tensor | None = None,
        end_positions: torch.Tensor | None = None,
    ) -> ModelOutput:
        vectors = self.token_vectors(input_ids, attention_mask, token_type_ids)
        start_logits, end_logits = self.qa_outputs(vectors).unbind(-1)  # (B, T) each
        padding = input_ids == self.pad_id if attention_mask is None else attention_mask == 0
        start_logits = start_logits.masked_fill(padding, float("-inf"))
        end_logits = end_logits.masked_fill(padding, float("-inf"))
        loss = None
        if start_positions is not None and end_positions is not None:
            loss = (
                F.cross_entropy(start_logits, start_positions) + F.cross_entropy(end_logits, end_positions)
            ) / 2
        return ModelOutput(loss=loss, start_logits=start_logits, end_logits=end_logits)
