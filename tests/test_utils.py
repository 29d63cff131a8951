"""course_utils.utils: device choice, seeding, mixed precision, show_source, model helpers, the machine."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch

from course_utils import autocast, count_parameters, get_device, set_seed, show_source
from course_utils.utils import check_seed, eval_mode, machine_description, model_device, peak_resident_mb


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


@pytest.mark.parametrize("seed", [0, 7, np.int64(3), 2**32])
def test_check_seed_accepts_non_negative_integers(seed):
    assert check_seed(seed) == int(seed) and type(check_seed(seed)) is int


@pytest.mark.parametrize("seed", [-1, True, False, 1.0, "0", None])
def test_check_seed_rejects_everything_else_naming_the_argument(seed):
    with pytest.raises(ValueError, match=r"split_seed=.* must be a non-negative integer"):
        check_seed(seed, name="split_seed")


def test_model_device_is_where_the_parameters_are():
    assert model_device(torch.nn.Linear(2, 2)) == torch.device("cpu")
    assert model_device(torch.nn.ReLU()) == torch.device("cpu")  # no parameters: the CPU
    with torch.device("meta"):
        assert model_device(torch.nn.Linear(2, 2)) == torch.device("meta")


def test_eval_mode_switches_then_restores_the_mode_it_found():
    model = torch.nn.Sequential(torch.nn.Dropout(0.5))
    with eval_mode(model) as inside:
        assert inside is model and not model.training
    assert model.training
    model.eval()
    with eval_mode(model):
        pass
    assert not model.training  # a model in eval mode stays in eval mode
    model.train()
    with pytest.raises(RuntimeError), eval_mode(model):
        raise RuntimeError("an error inside the block")
    assert model.training  # restored after an error too


def test_machine_description_names_the_machine(monkeypatch):
    monkeypatch.setenv("COURSE_DEVICE", "cpu")
    info = machine_description()
    assert info["device"] == "cpu" and "gpu" not in info
    assert info["cpu_count"] >= 1 and info["torch_threads"] == torch.get_num_threads()
    assert info["torch"] == torch.__version__ and info["python"].count(".") == 2
    assert info["platform"] and info["processor"]
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device: "Fake GPU")
    assert machine_description(torch.device("cuda"))["gpu"] == "Fake GPU"
    assert machine_description("cuda:0")["device"] == "cuda:0"


def test_set_threads_takes_an_argument_the_environment_or_the_default(monkeypatch):
    from course_utils.utils import DEFAULT_THREADS, set_threads

    before = torch.get_num_threads()
    try:
        monkeypatch.delenv("COURSE_THREADS", raising=False)
        assert set_threads() == DEFAULT_THREADS == torch.get_num_threads()
        assert set_threads(2) == 2 == torch.get_num_threads()
        monkeypatch.setenv("COURSE_THREADS", "3")
        assert set_threads() == 3
        assert set_threads(1) == 1  # an argument wins over the environment
        monkeypatch.setenv("COURSE_THREADS", "many")
        with pytest.raises(ValueError, match="COURSE_THREADS"):
            set_threads()
        for bad in (0, -1, 1.5, True, "two"):
            with pytest.raises(ValueError, match="positive whole number"):
                set_threads(bad)
    finally:
        torch.set_num_threads(before)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="VmHWM is Linux's")
def test_peak_resident_mb_grows_with_what_a_process_held_and_keeps_its_peak():
    script = (
        "import torch; from course_utils.utils import peak_resident_mb as p; a = p(); "
        "block = torch.ones(200 * 2**20, dtype=torch.uint8); b = p(); del block; print(a, b, p())"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    before, holding, after = map(float, done.stdout.split())
    assert holding >= before + 190  # 200 MB written
    assert after == pytest.approx(holding, abs=2)  # the peak stays once the memory is freed (to counter lag)
    assert peak_resident_mb() > 10 and peak_resident_mb(os.getpid()) == pytest.approx(
        peak_resident_mb(), abs=5
    )
    assert peak_resident_mb(2**22 + 7) is None  # no such process
