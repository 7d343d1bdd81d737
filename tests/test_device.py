"""course_lib.device: device choice, seeding and determinism switches (CPU here; GPU
paths need a GPU).
"""

import random
import sys

import numpy as np
import pytest
import torch

from course_lib import device


def test_pick_device_on_this_machine_is_a_real_device():
    chosen = device.pick_device()
    assert isinstance(chosen, torch.device)
    assert torch.ones(2, device=chosen).sum().item() == 2.0
    assert device.pick_device("cpu") == torch.device("cpu")


def test_pick_device_order_prefers_cuda_then_xla_at_full_precision(monkeypatch):
    precision = []

    class FakeXla:
        __name__ = "fake_torch_xla"

        class backends:
            set_mat_mul_precision = staticmethod(precision.append)

        @staticmethod
        def device():
            return "xla:0"

    monkeypatch.setattr(device, "_XLA", FakeXla)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert device.pick_device() == "xla:0"
    assert precision == ["highest"]  # no bfloat16 passes for float32 matmuls
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert device.pick_device() == torch.device("cuda")


def test_import_safe_without_torch_xla(monkeypatch):
    monkeypatch.setattr(device, "_XLA", None)
    # makes `import torch_xla` raise ImportError
    monkeypatch.setitem(sys.modules, "torch_xla", None)
    assert "xla" not in device.available_devices()
    assert device.pick_device().type in ("cpu", "cuda", "mps")


def test_pick_device_rejects_unknown_or_absent():
    with pytest.raises(ValueError, match="prefer"):
        device.pick_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="prefer"):
            device.pick_device("cuda")


def test_seed_everything_repeats_every_generator():
    g1 = device.seed_everything(123)
    first = (
        random.random(),
        np.random.rand(),
        torch.rand(3),
        torch.rand(2, generator=g1),
    )
    g2 = device.seed_everything(123)
    second = (
        random.random(),
        np.random.rand(),
        torch.rand(3),
        torch.rand(2, generator=g2),
    )
    assert first[0] == second[0] and first[1] == second[1]
    assert torch.equal(first[2], second[2]) and torch.equal(first[3], second[3])
    device.seed_everything(124)
    assert not torch.equal(torch.rand(3), first[2])


@pytest.mark.parametrize("seed", [-1, 2**32, 1.5, "0", True])
def test_seed_everything_rejects_bad_seeds(seed):
    with pytest.raises(ValueError, match="seed"):
        device.seed_everything(seed)


def test_determinism_switch_round_trips():
    try:
        device.set_deterministic(True)
        assert device.is_deterministic() and torch.backends.cudnn.deterministic
        device.set_deterministic(False)
        assert not device.is_deterministic() and not torch.backends.cudnn.deterministic
    finally:
        device.set_deterministic(False)
    with pytest.raises(ValueError, match="enabled"):
        device.set_deterministic("yes")


def test_environment_report_names_versions_and_device():
    report = device.environment_report()
    assert report["torch"] == torch.__version__
    assert report["device"] == str(device.pick_device())
    assert (
        report["CPU kernels (torch)"] == torch.backends.cpu.get_cpu_capability() != ""
    )


def test_random_draws_catch_a_seed_everything_that_forgot_a_generator(monkeypatch):
    first, second = device.random_draws(5, 10), device.random_draws(5, 10)
    assert list(first) == ["random", "numpy", "torch (global)", "torch (generator)"]
    assert all(torch.equal(first[k], second[k]) for k in first)
    other = device.random_draws(6, 10)
    assert not any(torch.equal(first[k], other[k]) for k in first)
    for forgotten in ("random.seed", "numpy.random.seed", "torch.manual_seed"):
        with monkeypatch.context() as patched:
            patched.setattr(forgotten, lambda seed: None)
            device.random_draws(5, 10)  # move the forgotten source on
            again = device.random_draws(5, 10)
        assert sum(not torch.equal(first[k], again[k]) for k in first) == 1, forgotten


@pytest.mark.parametrize("count", [0, -3, 2.5, True])
def test_random_draws_rejects_bad_counts(count):
    with pytest.raises(ValueError, match="count"):
        device.random_draws(0, count)
