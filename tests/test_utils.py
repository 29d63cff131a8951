"""course_utils.utils: device choice, seeding, mixed precision, show_source."""

from __future__ import annotations

import random
import warnings

import numpy as np
import pytest
import torch

from course_utils import autocast, count_parameters, environment_report, get_device, set_seed, show_source


def test_get_device_prefers_cuda_then_mps_then_cpu(monkeypatch):
    monkeypatch.delenv("COURSE_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert get_device() == torch.device("cpu")
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert get_device() == torch.device("mps")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert get_device() == torch.device("cuda")


def test_get_device_override_and_environment_variable(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert get_device("cpu") == torch.device("cpu")
    monkeypatch.setenv("COURSE_DEVICE", "cpu")
    assert get_device() == torch.device("cpu")
    with pytest.raises(ValueError, match="'tpu' is not one of"):
        get_device("tpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        get_device("cuda")


def test_set_seed_repeats_every_generator():
    set_seed(7)
    first = (random.random(), np.random.rand(), torch.rand(3))
    set_seed(7)
    second = (random.random(), np.random.rand(), torch.rand(3))
    assert first[0] == second[0] and first[1] == second[1]
    assert torch.equal(first[2], second[2])
    with pytest.raises(ValueError, match="non-negative int"):
        set_seed(-1)


def test_autocast_is_bf16_on_cuda_and_a_no_op_on_cpu():
    with autocast("cpu"):
        y = torch.ones(2, 2) @ torch.ones(2, 2)
    assert y.dtype == torch.float32
    with warnings.catch_warnings():  # without a GPU torch warns that CUDA autocast is disabled
        warnings.simplefilter("ignore")
        ctx = autocast(torch.device("cuda"))
    assert isinstance(ctx, torch.autocast) and ctx.fast_dtype == torch.bfloat16


def test_show_source_returns_code_with_the_source():
    code = show_source(set_seed)
    assert "def set_seed" in code.data
    with pytest.raises(TypeError, match="cannot show the source"):
        show_source(42)


def test_count_parameters_counts_shared_tensors_once():
    lin = torch.nn.Linear(3, 4)
    tied = torch.nn.Sequential(lin, lin)
    assert count_parameters(tied) == 16
    lin.bias.requires_grad_(False)
    assert count_parameters(tied, trainable_only=True) == 12


def test_environment_report_names_versions():
    report = environment_report()
    assert report["torch"] == torch.__version__
    assert report["device"] in {"cpu", "cuda", "mps"}
