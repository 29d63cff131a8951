"""Helpers that several test modules import (``from helpers import ...``); fixtures live in conftest.py."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from types import ModuleType

import pytest
import torch

from course_utils.model import BertConfig

ROOT = Path(__file__).resolve().parents[1]

# marks for a test (or a parameter) that needs a CUDA GPU: `pytest -m cuda` selects them; skipped without one
ON_GPU = [pytest.mark.cuda, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")]

# A headless browser, for the tests that look at a page as a learner's browser shows it (None: skip them)
CHROMIUM = next(
    (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None
)
# Headless, no network: every host resolves to nothing and every request goes to a closed proxy
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--proxy-server=http://127.0.0.1:9",
    "--proxy-bypass-list=<-loopback>",
    "--host-resolver-rules=MAP * ~NOTFOUND",
]


def load_tool(name: str) -> ModuleType:
    """Import ``tools/<name>.py``: the maintainers' scripts are neither a package nor installed."""
    spec = importlib.util.spec_from_file_location(f"tools.{name}", ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tiny_bert_config(vocab_size: int, max_position_embeddings: int, **overrides) -> BertConfig:
    """A one-layer BERT small enough to train for a few steps in a unit test."""
    base = dict(
        vocab_size=vocab_size,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=max_position_embeddings,
    )
    return BertConfig(**{**base, **overrides})
