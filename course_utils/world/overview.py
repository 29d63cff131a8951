"""The world as a whole: every English text (for the tokenizer) and the baselines of the data card."""

from __future__ import annotations

import re
from collections import Counter

from course_utils.data import NOT_NEXT, make_nsp_pairs
from course_utils.world.aptamers import aptamer_rule, aptamer_sequences
from course_utils.world.corpus import pretraining_corpus
from course_utils.world.lexicon import FEMALE_NAMES, MALE_NAMES
from course_utils.world.ner import bio_spans, ner_sentences
from course_utils.world.pairs import pair_examples
from course_utils.world.qa import qa_examples
from course_utils.world.sentiment import sentiment_reviews, sentiment_rule
from course_utils.world.translation import translate_words, translation_pairs


def english_texts(split: str = "train", seed: int = 0) -> list[str]:
    """All English text of one split, in a fixed order: the pretraining corpus, then the labelled texts
    (reviews, NER, QA, sentence pairs) and the translation sources.

    Used to train the course tokenizer (``python -m course_utils.tokenizer``), as BERT's WordPiece was
    trained on its pretraining text.
    """
    texts = [s for doc in pretraining_corpus(split, seed) for s in doc]
    texts += sentiment_reviews(split, seed)[0]
    texts += [" ".join(words) for words, _ in ner_sentences(split, seed)]
    qa = qa_examples(split, seed)
    texts += list(dict.fromkeys(ex["context"] for ex in qa))
    texts += [ex["question"] for ex in qa]
    texts += [t for ex in pair_examples(split, seed) for t in (ex["premise"], ex["hypothesis"])]
    texts += [en for en, _ in translation_pairs(split, seed)]
    return texts


def baselines(seed: int = 0) -> dict[str, float]:
    """Simple baselines on the test splits (numbers quoted in ``DATA_CARD.md``).

    Returns:
        A dict of test scores (fractions in [0, 1]):
        ``sentiment_bow_logreg``, ``sentiment_majority``, ``sentiment_rule``,
        ``aptamer_kmer3_logreg``, ``aptamer_kmer6_logreg``, ``aptamer_rule``,
        ``ner_most_frequent_tag_accuracy``, ``ner_most_frequent_tag_entity_f1``,
        ``qa_first_name_exact_match``, ``nsp_shared_name_heuristic`` (on the pretraining corpus),
        ``pairs_majority``, ``pairs_bow_logreg`` (premise and hypothesis as one bag of words),
        ``pairs_word_overlap_logreg`` (the share of hypothesis words found in the premise),
        ``translation_word_by_word_exact_match``.
    """
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression

    out: dict[str, float] = {}

    # Sentiment: unigram counts + logistic regression
    x_tr, y_tr = sentiment_reviews("train", seed)
    x_te, y_te = sentiment_reviews("test", seed)
    vec = CountVectorizer(lowercase=True, token_pattern=r"[a-z]+")
    clf = LogisticRegression(max_iter=2000, C=1.0).fit(vec.fit_transform(x_tr), y_tr)
    out["sentiment_bow_logreg"] = float((clf.predict(vec.transform(x_te)) == y_te).mean())
    out["sentiment_majority"] = max(Counter(y_te).values()) / len(y_te)
    out["sentiment_rule"] = sum(sentiment_rule(t) == y for t, y in zip(x_te, y_te)) / len(y_te)

    # Aptamers: k-mer counts + logistic regression
    for k in (3, 6):
        out[f"aptamer_kmer{k}_logreg"] = kmer_bag_accuracy(k, seed)
    s_te, a_te = aptamer_sequences("test", seed)
    out["aptamer_rule"] = sum(aptamer_rule(s) == y for s, y in zip(s_te, a_te)) / len(a_te)

    # NER: most frequent tag of each word in train (unknown words -> O)
    counts: dict[str, Counter] = {}
    for words, tags in ner_sentences("train", seed):
        for w, t in zip(words, tags):
            counts.setdefault(w, Counter())[t] += 1
    best = {w: c.most_common(1)[0][0] for w, c in counts.items()}
    correct = total = 0
    gold_spans = pred_spans = hit_spans = 0
    for words, tags in ner_sentences("test", seed):
        pred = [best.get(w, "O") for w in words]
        correct += sum(p == t for p, t in zip(pred, tags))
        total += len(tags)
        g, p = set(bio_spans(tags)), set(bio_spans(pred))
        gold_spans, pred_spans, hit_spans = gold_spans + len(g), pred_spans + len(p), hit_spans + len(g & p)
    out["ner_most_frequent_tag_accuracy"] = correct / total
    precision, recall = hit_spans / max(pred_spans, 1), hit_spans / max(gold_spans, 1)
    out["ner_most_frequent_tag_entity_f1"] = 2 * precision * recall / max(precision + recall, 1e-12)

    # QA: answer with the first name in the passage
    names = set(FEMALE_NAMES + MALE_NAMES)
    qa = qa_examples("test", seed)
    first = [next(w for w in re.findall(r"[A-Za-z]+", ex["context"]) if w in names) for ex in qa]
    out["qa_first_name_exact_match"] = sum(f == ex["answer_text"] for f, ex in zip(first, qa)) / len(qa)

    # NSP: IsNext unless both sentences name characters and share none (documents keep their cast)
    pairs_nsp = make_nsp_pairs(pretraining_corpus("test", seed), seed=seed)
    cast = lambda s: {w for w in re.findall(r"[A-Z][a-z]+", s) if w in names}  # noqa: E731
    guess = [
        NOT_NEXT if cast(a) and cast(b) and not cast(a) & cast(b) else 1 - NOT_NEXT for a, b, _ in pairs_nsp
    ]
    out["nsp_shared_name_heuristic"] = sum(g == y for g, (_, _, y) in zip(guess, pairs_nsp)) / len(pairs_nsp)

    # Sentence pairs: one bag of words for both sentences; the share of hypothesis words in the premise
    p_tr, p_te = pair_examples("train", seed), pair_examples("test", seed)
    y_tr, y_te = [r["label"] for r in p_tr], [r["label"] for r in p_te]
    out["pairs_majority"] = max(Counter(y_te).values()) / len(y_te)
    both = lambda r: r["premise"] + " " + r["hypothesis"]  # noqa: E731
    vec = CountVectorizer(lowercase=True, token_pattern=r"[a-z]+")
    clf = LogisticRegression(max_iter=2000).fit(vec.fit_transform([both(r) for r in p_tr]), y_tr)
    out["pairs_bow_logreg"] = float((clf.predict(vec.transform([both(r) for r in p_te])) == y_te).mean())

    def overlap(r: dict) -> list[float]:
        premise = set(re.findall(r"[a-z]+", r["premise"].lower()))
        hypothesis = re.findall(r"[a-z]+", r["hypothesis"].lower())
        return [sum(w in premise for w in hypothesis) / len(hypothesis)]

    clf = LogisticRegression().fit([overlap(r) for r in p_tr], y_tr)
    out["pairs_word_overlap_logreg"] = float((clf.predict([overlap(r) for r in p_te]) == y_te).mean())

    # Translation: word-by-word dictionary lookup in English order
    pairs = translation_pairs("test", seed)
    out["translation_word_by_word_exact_match"] = sum(
        " ".join(translate_words(en.split())) == li for en, li in pairs
    ) / len(pairs)
    return out


def kmer_bag_accuracy(k: int = 6, seed: int = 0) -> float:
    """Test accuracy of a bag of k-mers + logistic regression on :func:`aptamer_sequences`.

    The baseline the aptamer unit's BERT must beat: overlapping k-mer counts of each sequence (a
    bag, so the order of the k-mers is lost), a logistic regression fitted on the train split.

    Args:
        k: bases per k-mer.
        seed: the data seed.

    Returns:
        The fraction of test sequences classified correctly.
    """
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression

    s_tr, y_tr = aptamer_sequences("train", seed)
    s_te, y_te = aptamer_sequences("test", seed)
    vec = CountVectorizer(analyzer="char", ngram_range=(k, k), lowercase=False)
    clf = LogisticRegression(max_iter=3000).fit(vec.fit_transform(s_tr), y_tr)
    return float((clf.predict(vec.transform(s_te)) == y_te).mean())
