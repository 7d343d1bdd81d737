"""Devices, seeds and determinism: where the course's tensors live and how runs are made
repeatable.

Slide "Churn from computing platform": GPU and TPU kernels may add in a different order
from run to run, so the same seed need not give the same model there. These helpers pick
the best device present and switch PyTorch's deterministic algorithms on or off.
"""

from __future__ import annotations

import importlib
import os
import platform
import random

import numpy as np
import torch

_XLA = None  # the torch_xla module once imported, False when it is absent


def _torch_xla():
    """torch_xla if it is installed (Colab TPU runtimes), else None; imported once,
    never at import time.
    """
    global _XLA
    if _XLA is None:
        try:
            _XLA = importlib.import_module("torch_xla")
        except (
            Exception
        ):  # absent, or present but broken: either way there is no TPU to use
            _XLA = False
    return _XLA or None


def pick_device(prefer: str | None = None) -> torch.device:
    """The best device present: CUDA → TPU (``torch_xla.device()``) → Apple MPS → CPU.

    ``prefer`` ("cuda", "xla", "mps" or "cpu") forces one; asking for one that is absent
    is a ValueError.
    """
    available = available_devices()
    if prefer is not None:
        if prefer not in ("cuda", "xla", "mps", "cpu"):
            raise ValueError(
                f"prefer must be 'cuda', 'xla', 'mps', 'cpu' or None, got {prefer!r}"
            )
        if prefer not in available:
            raise ValueError(
                f"prefer={prefer!r} but that device is not available here (found "
                f"{list(available)})"
            )
        return available[prefer]()
    for kind in ("cuda", "xla", "mps", "cpu"):
        if kind in available:
            return available[kind]()
    raise AssertionError("unreachable: the CPU is always available")


def _xla_device() -> torch.device:
    """The TPU, with float32 matmuls at full precision: torch_xla's default computes
    them in bfloat16 passes, ~0.1 away from the CPU's answer on notebook 00's product.
    """
    xla = _torch_xla()
    try:
        backends = importlib.import_module(xla.__name__ + ".backends")
    except ImportError:
        backends = getattr(xla, "backends", None)
    if backends is None or not hasattr(backends, "set_mat_mul_precision"):
        raise RuntimeError(
            "this torch_xla cannot set the matmul precision: pick_device('cpu') instead"
        )
    backends.set_mat_mul_precision("highest")
    return xla.device()


def available_devices() -> dict:
    """Map each device kind present here to a function that returns its torch.device."""
    found = {}
    if torch.cuda.is_available():
        found["cuda"] = lambda: torch.device("cuda")
    xla = _torch_xla()
    if xla is not None and hasattr(xla, "device"):
        found["xla"] = _xla_device
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        found["mps"] = lambda: torch.device("mps")
    found["cpu"] = lambda: torch.device("cpu")
    return found


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python's ``random``, NumPy and PyTorch (CPU and every GPU) with ``seed``.

    Returns a fresh CPU ``torch.Generator`` seeded the same way, for code that keeps its
    own generator (the course uses separate generators for initialisation, data order
    and dropout).
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"seed must be an integer, got {type(seed).__name__}")
    if not 0 <= int(seed) < 2**32:
        raise ValueError(f"seed must be in [0, 2**32), got {seed}")
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device
    return torch.Generator().manual_seed(seed)


def random_draws(seed: int, count: int = 250) -> dict[str, torch.Tensor]:
    """``count`` numbers from each random source that ``seed_everything(seed)`` seeds.

    Seeds with ``seed_everything`` and draws U(0, 1) numbers from Python's ``random``,
    NumPy's global generator, PyTorch's global generator and the returned
    ``torch.Generator``, as float64 tensors keyed by source. Two calls with one seed
    must agree source by source (notebook 00): a ``seed_everything`` that forgot a
    generator shows up as that source differing.
    """
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(f"count must be a positive integer, got {count!r}")
    generator = seed_everything(seed)
    return {
        "random": torch.tensor([random.random() for _ in range(count)]),
        "numpy": torch.from_numpy(np.random.rand(count)),
        "torch (global)": torch.rand(count, dtype=torch.float64),
        "torch (generator)": torch.rand(
            count, generator=generator, dtype=torch.float64
        ),
    }


def set_deterministic(enabled: bool = True, *, warn_only: bool = False) -> None:
    """Switch PyTorch's deterministic algorithms on (or off).

    On: ``torch.use_deterministic_algorithms(True)``, cuDNN deterministic and not
    benchmarking, TF32 off, and ``CUBLAS_WORKSPACE_CONFIG=:4096:8`` so cuBLAS reductions
    repeat. An op with no deterministic implementation then raises (or warns, with
    ``warn_only=True``). Off restores PyTorch's defaults.
    """
    if not isinstance(enabled, bool):
        raise ValueError(f"enabled must be True or False, got {enabled!r}")
    if enabled:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(enabled, warn_only=warn_only)
    torch.backends.cudnn.deterministic = enabled
    torch.backends.cudnn.benchmark = False
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = not enabled


def is_deterministic() -> bool:
    """Whether PyTorch's deterministic algorithms are switched on."""
    return torch.are_deterministic_algorithms_enabled()


def environment_report() -> dict[str, str]:
    """Versions of the course's stack and the device found, for the start-here notebook
    and bug reports.
    """

    def version(module: str) -> str:
        try:
            return importlib.import_module(module).__version__
        except Exception:
            return "not installed"

    device = pick_device()
    report = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "matplotlib": version("matplotlib"),
        "ipywidgets": version("ipywidgets"),
        "device": str(device),
        "devices found": ", ".join(available_devices()),
        "CPU threads (torch)": str(torch.get_num_threads()),
        # AVX512, AVX2, …
        "CPU kernels (torch)": torch.backends.cpu.get_cpu_capability(),
        "running in": "Colab" if _in_colab() else "Jupyter / other",
    }
    if device.type == "cuda":
        report["GPU"] = torch.cuda.get_device_name(device)
    return report


def _in_colab() -> bool:
    import sys

    return "google.colab" in sys.modules
