"""Tests of the course world: sizes, determinism, disjoint splits, and the rules each data set promises."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from collections import Counter

import pytest

from course_utils import world
from course_utils.world import (
    AMBIGUOUS_NAMES,
    APTAMER_MOTIF,
    NER_TAGS,
    SENTIMENT_LABELS,
    SPLITS,
    TRANSLATION_DICTIONARY,
    aptamer_rule,
    aptamer_sequences,
    bio_spans,
    find_hairpin,
    load_csv,
    ner_sentences,
    qa_examples,
    reverse_complement,
    sentiment_constructions,
    sentiment_reviews,
    sentiment_rule,
    story_corpus,
    translation_pairs,
)

NAMES = set(world.FEMALE_NAMES + world.MALE_NAMES)


def _keys(name: str, split: str, seed: int = 0) -> list[str]:
    """The text that identifies each example of a data set (what must not cross splits)."""
    if name == "stories":
        return [" ".join(doc) for doc in story_corpus(split, seed)]
    if name == "sentiment":
        return sentiment_reviews(split, seed)[0]
    if name == "ner":
        return [" ".join(words) for words, _ in ner_sentences(split, seed)]
    if name == "qa":
        return [ex["context"] for ex in qa_examples(split, seed)]
    if name == "translation":
        return [en for en, _ in translation_pairs(split, seed)]
    if name == "aptamers":
        return aptamer_sequences(split, seed)[0]
    raise AssertionError(name)


DATASETS = {
    "stories": world.STORY_SIZES,
    "sentiment": world.SENTIMENT_SIZES,
    "ner": world.NER_SIZES,
    "qa": world.QA_SIZES,
    "translation": world.TRANSLATION_SIZES,
    "aptamers": world.APTAMER_SIZES,
}


# --- shared behaviour -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(DATASETS))
def test_sizes_match_the_constants(name):
    for split in SPLITS:
        assert len(_keys(name, split)) == DATASETS[name][split]


@pytest.mark.parametrize("name", list(DATASETS))
def test_splits_are_disjoint_and_examples_distinct(name):
    train = set(_keys(name, "train"))
    for split in ("validation", "test"):
        keys = _keys(name, split)
        assert not train & set(keys), f"{name}: {split} examples also appear in train"
    assert not set(_keys(name, "validation")) & set(_keys(name, "test"))
    if name != "qa":  # a QA passage carries 1-2 questions
        for split in SPLITS:
            keys = _keys(name, split)
            assert len(set(keys)) == len(keys), f"{name}/{split} repeats an example"


@pytest.mark.parametrize("name", list(DATASETS))
def test_same_seed_same_data_other_seed_other_data(name):
    assert _keys(name, "train", 0) == _keys(name, "train", 0)
    assert _keys(name, "train", 1) != _keys(name, "train", 0)
    # a test example of seed 1 is never a train example of seed 0 either
    assert not set(_keys(name, "test", 1)) & set(_keys(name, "train", 0))


def test_results_are_copies_so_callers_cannot_corrupt_the_cache():
    docs = story_corpus("validation")
    docs[0].append("Garbage.")
    docs.clear()
    texts, labels = sentiment_reviews("validation")
    texts[0] = "changed"
    qa = qa_examples("validation")
    qa[0]["answer_text"] = "changed"
    assert story_corpus("validation")[0][-1] != "Garbage."
    assert sentiment_reviews("validation")[0][0] != "changed"
    assert qa_examples("validation")[0]["answer_text"] != "changed"


def test_bad_split_and_seed_are_rejected():
    with pytest.raises(ValueError, match="'train', 'validation', 'test'"):
        story_corpus("dev")
    with pytest.raises(ValueError, match="seed"):
        sentiment_reviews("train", seed=-1)


def test_same_data_in_a_fresh_process_with_another_hash_seed():
    """Nothing may depend on Python's per-process string hashing (set or dict order of strings)."""
    code = (
        "import hashlib, json\n"
        "from course_utils import world as w\n"
        "parts = [w.story_corpus('test'), w.sentiment_reviews('test'), w.ner_sentences('test'),\n"
        "         w.qa_examples('test'), w.translation_pairs('test'), w.aptamer_sequences('test')]\n"
        "print(hashlib.sha256(json.dumps(parts).encode()).hexdigest())\n"
    )
    env = dict(os.environ, PYTHONHASHSEED="12345")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    parts = [
        story_corpus("test"),
        sentiment_reviews("test"),
        ner_sentences("test"),
        qa_examples("test"),
        translation_pairs("test"),
        aptamer_sequences("test"),
    ]
    here = hashlib.sha256(json.dumps(parts).encode()).hexdigest()
    assert out.stdout.strip() == here


# --- stories --------------------------------------------------------------------------------------


def test_stories_have_4_to_10_sentences_and_a_small_vocabulary():
    docs = story_corpus("train")
    assert all(4 <= len(doc) <= 10 for doc in docs)
    assert all(s[0].isupper() and s.endswith(".") for doc in docs for s in doc)
    assert not any(re.search(r"\b[aA] [aeiou]", s) for doc in docs for s in doc), "'an' before a vowel"
    words = Counter(w.lower() for doc in docs for s in doc for w in re.findall(r"[A-Za-z]+", s))
    assert 600 <= len(words) <= 2000, len(words)
    assert sum(len(doc) for doc in docs) > 20_000


def _time_of(sentence: str) -> int | None:
    marks = [
        ("At night", 4), ("That night", 4), ("In the evening", 3), ("When the sun set", 3),
        ("In the afternoon", 2), ("After lunch", 2), ("At noon", 1), ("morning", 0),
    ]  # fmt: skip
    return next((t for mark, t in marks if mark in sentence), None)


def test_stories_are_coherent_two_characters_and_time_moves_forward():
    for doc in story_corpus("train")[:1000]:
        names = [w for s in doc for w in re.findall(r"[A-Z][a-z]+", s) if w in NAMES]
        assert names and names[0] in doc[0], "the first sentence introduces the hero"
        assert len(set(names)) <= 2, f"a story has its hero and one companion: {doc}"
        times = [t for t in map(_time_of, doc) if t is not None]
        assert times == sorted(times), f"time goes backwards in {doc}"


def test_next_sentence_usually_shares_the_story_but_a_random_one_does_not():
    """The signal that makes NSP learnable: names of a story stay in that story."""
    docs = story_corpus("validation")
    story_names = [{w for s in doc for w in re.findall(r"[A-Z][a-z]+", s) if w in NAMES} for doc in docs]
    foreign = total = 0
    for d in range(len(docs)):
        other = docs[(d + 1) % len(docs)]
        for sentence in other:
            mentioned = {w for w in re.findall(r"[A-Z][a-z]+", sentence) if w in NAMES}
            if mentioned:
                total += 1
                foreign += not mentioned <= story_names[d]
    assert foreign / total > 0.9


# --- sentiment ------------------------------------------------------------------------------------


def test_sentiment_is_balanced_short_and_read_exactly_by_the_rule():
    for split in SPLITS:
        texts, labels = sentiment_reviews(split)
        counts = Counter(labels)
        assert counts[0] == counts[1] == len(texts) // 2
        assert max(len(t.split()) for t in texts) <= 25
        assert all(sentiment_rule(t) == y for t, y in zip(texts, labels)), "labels follow the documented rule"
    assert SENTIMENT_LABELS == ("negative", "positive")


def test_sentiment_rule_on_hand_written_examples():
    assert sentiment_rule("The soup was good.") == 1
    assert sentiment_rule("The soup was not good.") == 0
    assert sentiment_rule("The soup was not bad.") == 1
    assert sentiment_rule("The soup was great, but the staff was slightly awful.") == 0
    assert sentiment_rule("Although the soup was awful, the staff was nice.") == 1
    assert sentiment_rule("The staff was nice, although the soup was awful.") == 1
    assert sentiment_rule("The food was slightly bad and the staff was extremely nice.") == 1
    assert sentiment_rule("The food was extremely bad and the staff was slightly nice.") == 0


def test_sentiment_word_order_matters_same_bag_other_label():
    texts, labels = sentiment_reviews("train")
    kinds = sentiment_constructions("train")
    swapped = 0
    for text, label, kind in zip(texts, labels, kinds):
        if kind != "but":
            continue
        opener, _, review = text.rpartition(". ")  # an optional neutral opening sentence
        first, second = review.rstrip(".").split(", but ")
        flipped = f"{second[0].upper()}{second[1:]}, but {first[0].lower()}{first[1:]}."
        flipped = f"{opener}. {flipped}" if opener else flipped
        assert Counter(re.findall(r"[a-z]+", flipped.lower())) == Counter(re.findall(r"[a-z]+", text.lower()))
        assert sentiment_rule(flipped) == 1 - label, (text, flipped)
        swapped += 1
    assert swapped > 200
    # Swap the modifiers of an "and" review: same words, opposite label.
    assert sentiment_rule("The food was slightly bad and the staff was very nice.") != sentiment_rule(
        "The food was very bad and the staff was slightly nice."
    )
    constructions = Counter(kinds)
    assert set(constructions) == set(world.SENTIMENT_MIX)
    for kind, share in world.SENTIMENT_MIX.items():
        assert abs(constructions[kind] / len(texts) - share) < 0.05, (kind, constructions[kind])


# --- NER ------------------------------------------------------------------------------------------


def test_ner_tags_are_valid_bio_with_multiword_entities_and_ambiguity():
    sentences = ner_sentences("train")
    multiword: Counter = Counter()
    tags_of_ambiguous: dict[str, set[str]] = {}
    for words, tags in sentences:
        assert len(words) == len(tags) > 0
        assert set(tags) <= set(NER_TAGS)
        for prev, tag in zip(["O"] + tags, tags):
            if tag.startswith("I-"):
                assert prev[2:] == tag[2:] and prev != "O", f"I- without B-: {list(zip(words, tags))}"
        for kind, start, end in bio_spans(tags):
            multiword[kind] += end - start > 1
        for w, t in zip(words, tags):
            if w in AMBIGUOUS_NAMES:
                tags_of_ambiguous.setdefault(w, set()).add(t[2:])
    assert all(multiword[k] > 50 for k in ("PER", "LOC", "ORG")), multiword
    assert any({"PER", "LOC"} <= kinds for kinds in tags_of_ambiguous.values())


def test_bio_spans():
    assert bio_spans(["B-PER", "I-PER", "O", "B-LOC", "B-LOC", "I-ORG"]) == [
        ("PER", 0, 2),
        ("LOC", 3, 4),
        ("LOC", 4, 5),
        ("ORG", 5, 6),
    ]
    assert bio_spans(["O", "O"]) == []


# --- QA -------------------------------------------------------------------------------------------


def test_qa_answers_are_spans_of_the_context():
    kinds: Counter = Counter()
    for split in SPLITS:
        for ex in qa_examples(split):
            assert set(ex) == {"context", "question", "answer_text", "answer_start"}
            start, text = ex["answer_start"], ex["answer_text"]
            assert text and ex["context"][start : start + len(text)] == text
            assert ex["question"].endswith("?")
            assert 2 <= ex["context"].count(". ") + 1 <= 4
            kinds[ex["question"].split()[0]] += 1
    assert {"Who", "Where", "When", "What", "How"} <= set(kinds)


# --- translation ----------------------------------------------------------------------------------


def test_translation_uses_a_fixed_dictionary_and_another_word_order():
    pairs = translation_pairs("train")
    english_vocab = {w for en, _ in pairs for w in en.split()}
    assert 60 <= len(english_vocab) <= 120
    assert len(set(TRANSLATION_DICTIONARY.values())) == len(TRANSLATION_DICTIONARY)  # one to one
    reordered = 0
    for en, li in pairs:
        words = en.split()
        assert 3 <= len(words) <= 8
        assert not re.search(r"\ba [aeiou]", en), "'an' before a vowel"
        translated = [TRANSLATION_DICTIONARY[w] for w in words]
        assert sorted(translated) == sorted(li.split()), "same words, only the order changes"
        reordered += translated != li.split()
        (verb,) = [w for w in words if w in world.TR_TRANSITIVE + world.TR_INTRANSITIVE]
        assert li.split()[-1] == TRANSLATION_DICTIONARY[verb], "Lindish is verb-final"
    assert reordered == len(pairs), "word by word in English order is never right"


# --- aptamers -------------------------------------------------------------------------------------


def test_reverse_complement_and_hairpin_by_hand():
    assert reverse_complement("AACG") == "CGTT"
    stem, loop = "GACCT", "CACACACACACACA"  # the loop pairs with neither end
    assert find_hairpin(stem + loop + reverse_complement(stem)) == (0, 5, 14)
    longer = stem + "G" + loop[:-2] + "C" + reverse_complement(stem)  # the next bases pair too: a stem of 6
    assert find_hairpin(longer) == (0, 6, 12)
    assert find_hairpin(stem + loop + "AGCTC") is None  # revcomp is AGGTC: one mismatch in the middle
    assert find_hairpin(stem + "TT" + reverse_complement(stem)) is None  # a loop of 2 is too short
    assert find_hairpin(stem + "TTTT" + reverse_complement(stem)) == (0, 5, 4)  # never grows below 3
    assert find_hairpin("CC" + stem + loop + reverse_complement(stem)) is None  # the ends must pair
    hairpin = stem + loop[:4] + APTAMER_MOTIF + loop[10:] + reverse_complement(stem)
    assert aptamer_rule(hairpin) == 1
    assert aptamer_rule(stem + loop + reverse_complement(stem)) == 0  # no motif
    assert aptamer_rule("A" + hairpin[1:]) == 0  # "A" does not pair with the last base "C"


def test_aptamers_follow_the_rule_balanced_and_gc_matched():
    for split in SPLITS:
        seqs, labels = aptamer_sequences(split)
        assert Counter(labels)[0] == Counter(labels)[1]
        assert all(set(s) <= set("ACGT") and len(s) == world.APTAMER_LENGTH for s in seqs)
        assert all(aptamer_rule(s) == y for s, y in zip(seqs, labels))
    seqs, labels = aptamer_sequences("train")
    negatives = [s for s, y in zip(seqs, labels) if y == 0]
    motif = sum(APTAMER_MOTIF in s for s in negatives) / len(negatives)
    hairpin = sum(find_hairpin(s) is not None for s in negatives) / len(negatives)
    assert 0.4 < motif < 0.6, "half the non-binders carry the motif: the motif alone is not enough"
    assert hairpin > 0.2, "nor a hairpin alone"
    near = sum(APTAMER_MOTIF in s and s[-1] == reverse_complement(s[0]) for s in negatives) / len(negatives)
    assert near > 0.2, "decoys with the motif and a stem broken in the middle"
    gc = {
        y: [(s.count("G") + s.count("C")) / len(s) for s, yy in zip(seqs, labels) if yy == y] for y in (0, 1)
    }
    assert abs(sum(gc[0]) / len(gc[0]) - sum(gc[1]) / len(gc[1])) < 0.03


# --- baselines (the numbers of the data card) -------------------------------------------------------


@pytest.fixture(scope="module")
def scores():
    return world.baselines()


def test_bag_of_words_is_clearly_beaten_by_the_rule(scores):
    assert 0.62 <= scores["sentiment_bow_logreg"] <= 0.80
    assert scores["sentiment_rule"] == 1.0
    assert scores["sentiment_majority"] == 0.5


def test_other_baselines_leave_room_to_learn(scores):
    assert scores["aptamer_rule"] == 1.0
    assert 0.55 <= scores["aptamer_kmer3_logreg"] <= 0.75  # the motif, not the pairing of the ends
    assert 0.55 <= scores["aptamer_kmer6_logreg"] <= 0.75
    assert 0.85 <= scores["ner_most_frequent_tag_accuracy"] < 0.99
    assert scores["ner_most_frequent_tag_entity_f1"] < 0.9
    assert scores["qa_first_name_exact_match"] < 0.3
    assert scores["translation_word_by_word_exact_match"] == 0.0
    assert 0.5 < scores["nsp_shared_name_heuristic"] < 0.95


# --- load_csv -------------------------------------------------------------------------------------


def _write(tmp_path, text: str, name: str = "data.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_load_csv_reads_names_and_ids(tmp_path):
    path = _write(tmp_path, 'text,label\n"Great, really.",positive\nAwful.,negative\nFine.,positive\n')
    texts, ids, names = load_csv(path)
    assert texts == ["Great, really.", "Awful.", "Fine."]
    assert names == ["negative", "positive"] and ids == [1, 0, 1]
    texts, ids, names = load_csv(path, labels=SENTIMENT_LABELS)
    assert ids == [1, 0, 1] and names == list(SENTIMENT_LABELS)
    numeric = _write(tmp_path, "review,stars\nok,10\nbad,2\ngood,10\n", "n.csv")
    texts, ids, names = load_csv(numeric, text_column="review", label_column="stars")
    assert names == ["2", "10"] and ids == [1, 0, 1]  # numeric order, not "10" < "2"
    assert load_csv(_write(tmp_path, "text,label\na,1\nb,0\n", "i.csv"), labels=["neg", "pos"])[1] == [1, 0]


def test_load_csv_errors_are_clear(tmp_path):
    with pytest.raises(FileNotFoundError, match="no CSV file"):
        load_csv(tmp_path / "missing.csv")
    with pytest.raises(ValueError, match="empty"):
        load_csv(_write(tmp_path, "", "e.csv"))
    with pytest.raises(ValueError, match="no data rows"):
        load_csv(_write(tmp_path, "text,label\n", "h.csv"))
    with pytest.raises(ValueError, match=r"no column 'text'.*\['review', 'label'\]"):
        load_csv(_write(tmp_path, "review,label\nok,1\n", "c.csv"))
    with pytest.raises(ValueError, match="line 3.*empty"):
        load_csv(_write(tmp_path, "text,label\nok,1\n  ,0\n", "t.csv"))
    with pytest.raises(ValueError, match=r"\['neutral'\] are not in labels"):
        load_csv(_write(tmp_path, "text,label\nok,positive\nmeh,neutral\n", "l.csv"), labels=SENTIMENT_LABELS)
