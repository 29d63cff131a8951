"""Tests of the NER sentences (``world/ner.py``): valid BIO tags, multi-word entities, ambiguous words."""

from __future__ import annotations

from collections import Counter

from course_utils.world import AMBIGUOUS_NAMES, NER_TAGS, bio_spans, ner_sentences


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
