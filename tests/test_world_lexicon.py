"""Tests of the word lists (``world/lexicon.json``, read by ``world/lexicon.py``): shipped and well formed."""

from __future__ import annotations

import json
import tomllib
from fnmatch import fnmatch
from importlib.resources import files
from pathlib import Path

from course_utils.world import lexicon

ROOT = Path(__file__).resolve().parents[1]


def test_the_word_lists_are_declared_as_package_data_and_installed():
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    data_files = sorted((ROOT / "course_utils" / "world").glob("*.json"))
    assert data_files, "the world's word lists are missing"
    for path in data_files:
        relative = path.relative_to(ROOT / "course_utils").as_posix()
        assert any(fnmatch(relative, p) for p in patterns["course_utils"]), (
            f"{relative} is not in [tool.setuptools.package-data] of pyproject.toml: it would not be installed"
        )
    assert files("course_utils.world").joinpath("lexicon.json").is_file()
    assert lexicon.LEXICON_PATH.name == "lexicon.json"


def test_every_list_is_used_and_lists_have_no_repeats():
    raw = json.loads(lexicon.LEXICON_PATH.read_text(encoding="utf-8"))
    assert set(raw) == {"about", "story_world", "sentiment", "ner", "translation"}
    for name, words in raw["story_world"].items():
        assert getattr(lexicon, name) == lexicon._frozen(words), f"{name} is not a constant of lexicon.py"
        if name != "PLACES":
            assert len(set(map(str, words))) == len(words), f"{name} repeats a word"
    for place, spec in raw["story_world"]["PLACES"].items():
        assert set(spec) == {"features", "activities"}, place
        assert len(spec["features"]) >= 2, f"an event needs two features of {place}"


def test_helpers():
    assert lexicon.cap("the mOon") == "The mOon"
    assert lexicon.with_article("orange") == "an orange" and lexicon.with_article("red") == "a red"
