"""Bad input to the classic text tools, models, metrics, plots and DNA helpers: a table of cases.

Each row of ``CASES`` is ``(id, call, error type, phrase the message must contain)``; adding a case is
one line. ``BEHAVIOUR`` holds input that must not raise but must be handled right (each call asserts).
"""

from __future__ import annotations

import functools

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from course_utils import dna, metrics, plots  # noqa: E402
from course_utils.classic import (  # noqa: E402
    BagOfWordsClassifier,
    LSTMClassifier,
    LSTMLanguageModel,
    NGramLM,
    WithCrossEntropy,
    classifier_loader,
)
from course_utils.history import History  # noqa: E402
from course_utils.seq2seq import Seq2SeqTransformer, build_vocabs, translate  # noqa: E402
from course_utils.text import Vocab, ngrams, pad_batch, remove_stopwords, simple_tokenize  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_thread")

VOCAB = Vocab(["the", "cat", "sat"])  # ids 4, 5, 6 after the specials
IDS = torch.tensor([[4, 5, 6], [4, 5, 0]])
PAIRS = [("the cat", "le chat"), ("the dog", "le chien")]
HISTORY = History(steps=[1, 2], train_loss=[2.0, 1.5], lr=[1e-3] * 2, grad_norm=[1.0] * 2)


@functools.cache
def lstm() -> LSTMClassifier:
    return LSTMClassifier(vocab_size=10, embed_dim=4, hidden_dim=4, num_classes=2)


@functools.cache
def lm() -> LSTMLanguageModel:
    return LSTMLanguageModel(vocab_size=10, embed_dim=4, hidden_dim=4)


@functools.cache
def s2s() -> Seq2SeqTransformer:
    return Seq2SeqTransformer(10, 10, d_model=8, nhead=2, dim_feedforward=8, max_len=8)


@functools.cache
def bow() -> BagOfWordsClassifier:
    texts = ["good film", "bad film", "great", "awful", "fine", "boring"]
    return BagOfWordsClassifier().fit(texts, [1, 0, 1, 0, 2, 2])


def fitted_lm() -> NGramLM:
    return NGramLM(2).fit([["the", "cat"], ["the", "dog"]])


# fmt: off
CASES = [
    # --- text ------------------------------------------------------------------------------------------
    ("tokenize-list", lambda: simple_tokenize(["a", "b"]), TypeError, "expects a str"),
    ("tokenize-none", lambda: simple_tokenize(None), TypeError, "expects a str"),
    ("stopwords-string", lambda: remove_stopwords("the cat"), TypeError, "token list"),
    ("ngrams-zero", lambda: ngrams(["a", "b"], 0), ValueError, "n must be a positive int"),
    ("ngrams-bool", lambda: ngrams(["a", "b"], True), ValueError, "n must be a positive int"),
    ("ngrams-float", lambda: ngrams(["a", "b"], 2.0), ValueError, "n must be a positive int"),
    ("ngrams-string", lambda: ngrams("the cat", 2), TypeError, "token list"),
    ("vocab-string", lambda: Vocab("cat"), TypeError, "list of tokens"),
    ("vocab-duplicates", lambda: Vocab(["a", "a"]), ValueError, "appears twice"),
    ("vocab-non-string", lambda: Vocab(["a", 3]), TypeError, "token 1 is int"),
    ("build-flat-list", lambda: Vocab.build(["a", "b"]), TypeError, "list of token lists"),
    ("build-generator-of-strings", lambda: Vocab.build(s for s in ["a b", "c"]), TypeError, "list of token lists"),
    ("build-min-freq-zero", lambda: Vocab.build([["a"]], min_freq=0), ValueError, "min_freq"),
    ("build-max-size-str", lambda: Vocab.build([["a"]], max_size="10"), ValueError, "max_size='10'"),
    ("build-max-size-small", lambda: Vocab.build([["a"]], max_size=4), ValueError, "max_size=4"),
    ("encode-string", lambda: VOCAB.encode("the cat"), TypeError, "simple_tokenize"),
    ("encode-ids", lambda: VOCAB.encode([4, 5]), TypeError, "token 0 is int"),
    ("decode-out-of-range", lambda: VOCAB.decode([4, 99]), IndexError, "outside the vocabulary"),
    ("decode-string", lambda: VOCAB.decode("the"), TypeError, "decode expects ids"),
    ("decode-float", lambda: VOCAB.decode([4.5]), TypeError, "id 0 is 4.5"),
    ("decode-2d-tensor", lambda: VOCAB.decode(IDS), TypeError, "one sequence"),
    ("pad-batch-empty", lambda: pad_batch([]), ValueError, "no sequences"),
    ("pad-batch-empty-sequence", lambda: pad_batch([[1], []]), ValueError, "empty sequence"),
    ("pad-batch-max-len-zero", lambda: pad_batch([[1, 2]], max_len=0), ValueError, "max_len=0"),
    ("pad-batch-max-len-negative", lambda: pad_batch([[1, 2]], max_len=-1), ValueError, "max_len=-1"),
    ("pad-batch-pad-none", lambda: pad_batch([[1, 2]], pad_id=None), TypeError, "pad_id"),
    ("pad-batch-strings", lambda: pad_batch([["the", "cat"]]), TypeError, "sequence 0"),
    ("pad-batch-floats", lambda: pad_batch([[1.5, 2.0]]), TypeError, "sequence 0"),
    ("pad-batch-string", lambda: pad_batch("the cat"), TypeError, "id lists"),
    # --- classic models --------------------------------------------------------------------------------
    ("ngram-n-zero", lambda: NGramLM(0), ValueError, "n must be an int >= 1"),
    ("ngram-n-bool", lambda: NGramLM(True), ValueError, "n must be an int >= 1"),
    ("ngram-smoothing", lambda: NGramLM(2, smoothing="kneser-ney"), ValueError, "smoothing='kneser-ney'"),
    ("ngram-k-string", lambda: NGramLM(2, k="1"), ValueError, "k must be"),
    ("ngram-lam-nan", lambda: NGramLM(2, smoothing="interpolation", lam=float("nan")), ValueError, "lam"),
    ("ngram-fit-strings", lambda: NGramLM(2).fit(["the cat"]), TypeError, "list of token lists"),
    ("ngram-fit-empty", lambda: NGramLM(2).fit([]), TypeError, "non-empty list"),
    ("ngram-prob-unfitted", lambda: NGramLM(2).prob("cat"), RuntimeError, "fit"),
    ("ngram-sample-seed", lambda: fitted_lm().sample(seed="x"), ValueError, "seed='x'"),
    ("ngram-sample-max-len", lambda: fitted_lm().sample(max_len=-1), ValueError, "max_len=-1"),
    ("bow-length-mismatch", lambda: BagOfWordsClassifier().fit(["a", "b"], [0]), ValueError, "2 texts but 1 labels"),
    ("bow-one-string", lambda: BagOfWordsClassifier().fit("good film", [1]), TypeError, "not a single string"),
    ("bow-score-mismatch", lambda: bow().score(["good", "bad"], [1]), ValueError, "2 texts but 1 labels"),
    ("bow-score-empty", lambda: bow().score([], []), ValueError, "empty"),
    ("bow-top-terms-3-classes", lambda: bow().top_terms(), ValueError, "two classes"),
    ("lstm-classes-zero", lambda: LSTMClassifier(10, 4, 4, 0), ValueError, "num_classes=0"),
    ("lstm-vocab-float", lambda: LSTMClassifier(10.0, 4, 4, 2), ValueError, "vocab_size=10.0"),
    ("lstm-pad-outside", lambda: LSTMClassifier(10, 4, 4, 2, pad_id=10), ValueError, "pad_id=10"),
    ("lstm-pooling", lambda: LSTMClassifier(10, 4, 4, 2, pooling="max"), ValueError, "pooling='max'"),
    ("lstm-dropout", lambda: LSTMClassifier(10, 4, 4, 2, dropout=1.5), ValueError, "dropout"),
    ("lstm-ids-1d", lambda: lstm()(IDS[0]), ValueError, "shape (B, T)"),
    ("lstm-ids-float", lambda: lstm()(IDS.float()), TypeError, "integer ids"),
    ("lstm-ids-out-of-range", lambda: lstm()(IDS + 10), ValueError, "outside the vocabulary [0, 10)"),
    ("lstm-all-padding", lambda: lstm()(torch.zeros(2, 3, dtype=torch.long)), ValueError, "all padding"),
    ("lstm-lengths-shape", lambda: lstm()(IDS, torch.tensor([3])), ValueError, "lengths"),
    ("lstm-lengths-too-long", lambda: lstm()(IDS, torch.tensor([3, 5])), ValueError, "lengths"),
    ("lstm-lm-ids-out-of-range", lambda: lm()(IDS + 10), ValueError, "outside the vocabulary [0, 10)"),
    ("lstm-lm-loss-one-token", lambda: lm().loss(IDS[:, :1]), ValueError, "at least 2 tokens"),
    ("lstm-lm-temperature-nan", lambda: lm().generate([2], temperature=float("nan")), ValueError, "temperature"),
    ("lstm-lm-prefix-out-of-range", lambda: lm().generate([20]), ValueError, "prefix_ids"),
    ("loss-labels-out-of-range", lambda: WithCrossEntropy(lstm())(IDS, torch.tensor([3, 3]), torch.tensor([0, 5])), ValueError, "label 5"),
    ("loader-not-a-pair", lambda: classifier_loader([([4, 5], 0), ([6], 1), ([4], 0)], 2, False), TypeError, "(id lists, labels)"),
    ("loader-mismatch", lambda: classifier_loader(([[4, 5], [6]], [0]), 2, False), ValueError, "2 sequences but 1 labels"),
    # --- seq2seq ---------------------------------------------------------------------------------------
    ("s2s-heads-zero", lambda: Seq2SeqTransformer(10, 10, d_model=8, nhead=0), ValueError, "nhead=0"),
    ("s2s-heads-divide", lambda: Seq2SeqTransformer(10, 10, d_model=10, nhead=4), ValueError, "not divisible"),
    ("s2s-vocab-small", lambda: Seq2SeqTransformer(3, 10), ValueError, "src_vocab_size=3 is too small"),
    ("s2s-max-len-zero", lambda: Seq2SeqTransformer(10, 10, max_len=0), ValueError, "max_len=0"),
    ("s2s-src-1d", lambda: s2s()(IDS[0], IDS), ValueError, "shape (B, T)"),
    ("s2s-src-float", lambda: s2s()(IDS.float(), IDS), TypeError, "integer ids"),
    ("s2s-src-out-of-range", lambda: s2s()(IDS + 10, IDS), ValueError, "outside the vocabulary [0, 10)"),
    ("s2s-batch-mismatch", lambda: s2s()(IDS, IDS[:1]), ValueError, "batch"),
    ("s2s-too-long", lambda: s2s()(torch.full((1, 9), 4), IDS), ValueError, "exceeds max_len=8"),
    ("s2s-decode-max-len", lambda: s2s().greedy_decode(IDS, max_len=0), ValueError, "max_len must be between"),
    ("s2s-pairs-empty", lambda: build_vocabs([]), TypeError, "non-empty list"),
    ("s2s-pairs-non-string", lambda: build_vocabs([("a", 1)]), TypeError, "pair 0"),
    ("s2s-translate-string", lambda: translate(s2s(), "the cat", VOCAB, VOCAB), TypeError, "list of sentences"),
    ("s2s-translate-batch-zero", lambda: translate(s2s(), ["the cat"], VOCAB, VOCAB, batch_size=0), ValueError, "batch_size=0"),
    # --- metrics ---------------------------------------------------------------------------------------
    ("metrics-length-mismatch", lambda: metrics.accuracy([0, 1, 1], [0, 1]), ValueError, "y_true has 3 labels but y_pred has 2"),
    ("metrics-empty", lambda: metrics.accuracy([], []), ValueError, "empty"),
    ("metrics-logits", lambda: metrics.accuracy([0, 1], np.zeros((2, 3))), ValueError, "argmax"),
    ("metrics-none", lambda: metrics.accuracy(None, [0]), ValueError, "y_true must be a flat sequence"),
    ("metrics-probabilities", lambda: metrics.accuracy([0, 1], [0.2, 0.9]), ValueError, "probabilities"),
    ("f1-average", lambda: metrics.f1([0, 1], [0, 1], average="binary"), ValueError, "average='binary'"),
    ("f1-labels-absent", lambda: metrics.f1([0, 1], [0, 1], labels=["neg", "pos"]), ValueError, "labels=['neg', 'pos']"),
    ("confusion-true-not-in-labels", lambda: metrics.confusion([0, 2], [0, 1], labels=[0, 1]), ValueError, "y_true holds labels [2]"),
    ("confusion-pred-not-in-labels", lambda: metrics.confusion([0, 1], [0, 2], labels=[0, 1]), ValueError, "y_pred holds labels [2]"),
    ("report-names-mismatch", lambda: metrics.classification_report_dict([0, 1], [0, 1], labels=[0, 1], target_names=["a"]), ValueError, "1 target_names for 2 labels"),
    ("qa-mismatch", lambda: metrics.qa_scores(["a", "b"], ["a"]), ValueError, "2 predictions but 1"),
    ("qa-string", lambda: metrics.qa_scores("a", "a"), TypeError, "not single strings"),
    ("qa-gold-none", lambda: metrics.qa_scores(["a"], [None]), TypeError, "NoneType"),
    ("qa-empty-golds", lambda: metrics.qa_scores(["a"], [[]]), ValueError, "question 0"),
    # --- plots -----------------------------------------------------------------------------------------
    ("smooth-weight-one", lambda: plots.smooth([1, 2], 1.0), ValueError, "weight=1.0"),
    ("smooth-weight-nan", lambda: plots.smooth([1, 2], float("nan")), ValueError, "weight=nan"),
    ("smooth-string", lambda: plots.smooth("abc"), TypeError, "numbers"),
    ("history-int", lambda: plots.plot_history(3), TypeError, "history must be"),
    ("history-empty", lambda: plots.plot_history(History()), ValueError, "empty"),
    ("history-foreign-dict", lambda: plots.plot_history({"loss": [1.0, 0.5]}), TypeError, "History"),
    ("history-metric-missing", lambda: plots.plot_history(HISTORY, metrics=["f1"]), KeyError, "f1"),
    ("attention-shape", lambda: plots.plot_attention(torch.rand(3, 3), ["a", "b"]), ValueError, "2 query tokens"),
    ("attention-batch", lambda: plots.plot_attention(torch.rand(2, 2, 3, 3), list("abc")), ValueError, "batch of 2"),
    ("attention-5d", lambda: plots.plot_attention(torch.rand(1, 1, 1, 3, 3), list("abc")), ValueError, "attention must be"),
    ("attention-head", lambda: plots.plot_attention(torch.rand(2, 3, 3), list("abc"), head=5), IndexError, "head=5"),
    ("attention-layer", lambda: plots.plot_attention((torch.rand(1, 2, 3, 3),), list("abc"), layer=3), IndexError, "layer=3"),
    ("attention-tokens-string", lambda: plots.plot_attention(torch.rand(3, 3), "abc"), TypeError, "list of tokens"),
    ("confusion-not-square", lambda: plots.plot_confusion(np.ones((2, 3))), ValueError, "square"),
    ("confusion-labels", lambda: plots.plot_confusion(np.ones((2, 2), int), ["a", "b", "c"]), ValueError, "3 labels"),
    ("confusion-fractions", lambda: plots.plot_confusion(np.full((2, 2), 0.25)), ValueError, "normalize=True"),
    ("confusion-both", lambda: plots.plot_confusion(np.ones((2, 2)), y_true=[0], y_pred=[0]), ValueError, "either cm"),
    # --- dna -------------------------------------------------------------------------------------------
    ("dna-kmer-bad-base", lambda: dna.kmer_tokens("ACGN"), ValueError, "A, C, G, T"),
    ("dna-kmer-lowercase", lambda: dna.kmer_tokens("acgt"), ValueError, ".upper()"),
    ("dna-kmer-k-zero", lambda: dna.kmer_tokens("ACGT", k=0), ValueError, "k=0"),
    ("dna-kmer-too-short", lambda: dna.kmer_tokens("AC", k=3), ValueError, "fewer than k=3"),
    ("dna-kmer-not-string", lambda: dna.kmer_tokens(["ACG"]), ValueError, "string of A, C, G, T"),
    ("dna-revcomp-bad-base", lambda: dna.reverse_complement("ACGN"), ValueError, "A, C, G, T"),
    ("dna-revcomp-lowercase", lambda: dna.reverse_complement("acgt"), ValueError, ".upper()"),
    ("dna-hairpin-bad-base", lambda: dna.find_hairpin("AAGGCXXXXGCCTT"), ValueError, "A, C, G, T"),
    ("dna-hairpin-stem-float", lambda: dna.find_hairpin("AAGGCTTTGCCTT", 2.5), ValueError, "min_stem=2.5"),
    ("dna-vocab-k-zero", lambda: dna.build_kmer_vocab(0), ValueError, "from 1 to 8"),
    ("dna-encode-empty", lambda: dna.encode_kmers([], dna.build_kmer_vocab(1)), ValueError, "seqs is empty"),
    ("dna-encode-string", lambda: dna.encode_kmers("ACGT", dna.build_kmer_vocab(1)), TypeError, "list of sequences"),
    ("dna-encode-wrong-k", lambda: dna.encode_kmers(["ACGT"], dna.build_kmer_vocab(3), k=1), ValueError, "build_kmer_vocab(k=1)"),
]
# fmt: on


@pytest.mark.parametrize(("call", "error", "phrase"), [pytest.param(*c[1:], id=c[0]) for c in CASES])
def test_bad_input_gets_a_clear_error(call, error, phrase):
    try:
        with pytest.raises(error) as info:
            call()
        assert phrase in str(info.value)
    finally:
        plt.close("all")


def _integer_valued_float_matrix_is_drawn():
    fig = plots.plot_confusion(np.array([[3.0, 1.0], [0.0, 2.0]]), ["a", "b"])
    assert [t.get_text() for t in fig.axes[0].texts] == ["3", "1", "0", "2"]
    plt.close("all")


def _lstm_given_lengths_ignores_padding():
    with torch.no_grad():
        a = lstm()(torch.tensor([[4, 5, 0, 0]]), torch.tensor([2]))
        b = lstm()(torch.tensor([[4, 5]]))
    torch.testing.assert_close(a, b)


# fmt: off
BEHAVIOUR = [
    ("confusion-whole-float-counts", _integer_valued_float_matrix_is_drawn),
    ("lstm-lengths-given", _lstm_given_lengths_ignores_padding),
]
# fmt: on


@pytest.mark.parametrize("check", [pytest.param(c, id=i) for i, c in BEHAVIOUR])
def test_odd_but_valid_input_is_handled(check):
    check()
