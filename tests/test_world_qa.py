"""Tests of the QA examples (``world/qa.py``): answers are spans of their passage."""

from __future__ import annotations

from collections import Counter

from course_utils.world import SPLITS, qa_examples


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
