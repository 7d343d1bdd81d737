"""Model compression: what a model costs to keep and to run, and what it costs to make
it cheaper (slides "Why (not) increase model size?" and "Idea: model compression": "many
options: quantisation, architecture optimisation, distillation").

A model is measured by its parameter count, its size on disk (the bytes of its saved
``state_dict``), the time it takes to predict a batch on one CPU thread, and its test
accuracy. ``quantize_int8`` gives the quantised version of a model; the smaller
architecture and the distilled student are trained with ``training.fit`` (notebook 02).
"""

from __future__ import annotations

import io
import statistics
import time
import warnings

import torch
from torch import nn

from . import _validate as check
from . import training

_DYNAMIC_LINEAR = torch.ao.nn.quantized.dynamic.Linear


def parameter_count(model: nn.Module) -> int:
    """The number of weights and biases, Σ_layers (fan_in · fan_out + fan_out) for an
    MLP; the int8 layers of ``quantize_int8`` count theirs too (they keep them packed,
    outside ``parameters()``).
    """
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    total = sum(p.numel() for p in model.parameters())
    for layer in model.modules():
        if isinstance(layer, _DYNAMIC_LINEAR):
            bias = layer.bias()
            total += layer.weight().numel() + (0 if bias is None else bias.numel())
    return total


def state_dict_bytes(model: nn.Module) -> int:
    """The model's size on disk: the bytes ``torch.save(model.state_dict())`` writes
    (4 bytes per float32 number, 1 per int8 weight, plus scales and the file's own
    overhead).
    """
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    return buffer.getbuffer().nbytes


def quantize_int8(model: nn.Module) -> nn.Module:
    """A copy of ``model`` whose ``nn.Linear`` layers keep int8 weights: PyTorch's
    dynamic quantisation (``torch.ao.quantization.quantize_dynamic``; Jacob et al.
    2018).

    Each weight matrix is stored as w ≈ scale · (q − zero_point) with q an 8-bit
    integer and one scale per layer; at prediction time each batch of activations is
    quantised on the fly, multiplied in integers and scaled back. No calibration data
    and no retraining are needed. PyTorch 2.13 marks ``torch.ao.quantization`` as
    deprecated in favour of torchao: that warning is silenced here, and only here.
    """
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not any(isinstance(layer, nn.Linear) for layer in model.modules()):
        raise ValueError("model has no nn.Linear layer to quantise")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.filterwarnings("ignore", message=r"torch\.quantize_per_tensor")
        quantised = torch.ao.quantization.quantize_dynamic(
            model, {nn.Linear}, dtype=torch.qint8
        )
    return quantised.eval()


@torch.no_grad()
def prediction_seconds(
    model: nn.Module, inputs: torch.Tensor, repeats: int = 5
) -> float:
    """Median wall-clock seconds of one forward pass over all of ``inputs`` on one CPU
    thread, over ``repeats`` passes after a warm-up pass (the median ignores a pass
    slowed by something else on the machine). Compare models by the ratio of their
    times measured in one run; the seconds themselves depend on the machine.
    """
    check.tensor(inputs, "inputs", min_dim=2)
    check.count(repeats, "repeats")
    model.eval()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model(inputs)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            model(inputs)
            times.append(time.perf_counter() - start)
    finally:
        torch.set_num_threads(threads)
    return statistics.median(times)


def compare(
    models: dict[str, nn.Module],
    inputs: torch.Tensor,
    labels: torch.Tensor,
    *,
    timing_inputs: torch.Tensor,
    repeats: int = 5,
) -> dict[str, dict[str, float]]:
    """One row per model: ``parameters``, ``bytes`` (``state_dict_bytes``),
    ``seconds`` to predict ``timing_inputs`` (``prediction_seconds``) and test
    ``accuracy`` on (``inputs``, ``labels``).
    """
    if not models:
        raise ValueError("models is empty: give at least one named model")
    check.tensor(inputs, "inputs", min_dim=2)
    rows = {}
    for name, model in models.items():
        with torch.no_grad():
            logits = model.eval()(inputs)
        rows[name] = {
            "parameters": parameter_count(model),
            "bytes": state_dict_bytes(model),
            "seconds": prediction_seconds(model, timing_inputs, repeats),
            "accuracy": training.accuracy(logits, labels),
        }
    return rows


def mean_rows(tables: list[dict[str, dict[str, float]]]) -> dict[str, dict[str, float]]:
    """The tables of several seeds (same models, same columns) as one table of means,
    plus ``accuracy_std``, the standard deviation of the accuracy over the seeds.
    """
    if not tables:
        raise ValueError("tables is empty: give the table of at least one seed")
    means = {}
    for name in tables[0]:
        rows = [table[name] for table in tables]
        means[name] = {col: statistics.fmean(r[col] for r in rows) for col in rows[0]}
        accuracies = [r["accuracy"] for r in rows]
        spread = statistics.stdev(accuracies) if len(rows) > 1 else 0.0
        means[name]["accuracy_std"] = spread
    return means


def format_table(rows: dict[str, dict[str, float]], images: int) -> str:
    """``mean_rows`` as a text table: parameters, size on disk (kB), milliseconds to
    predict ``images`` images, test accuracy (%) as mean ± std over the seeds.
    """
    head = f"{'':26}{'parameters':>11}{'size (kB)':>11}"
    head += f"{f'ms / {images:,} images':>21}{'test accuracy (%)':>20}"
    lines = [head]
    for name, r in rows.items():
        accuracy = f"{100 * r['accuracy']:.1f} ± {100 * r['accuracy_std']:.1f}"
        lines.append(
            f"{name:26}{r['parameters']:>11,.0f}{r['bytes'] / 1000:>11.1f}"
            f"{1000 * r['seconds']:>21.2f}{accuracy:>20}"
        )
    return "\n".join(lines)
