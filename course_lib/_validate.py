"""Input checks shared by the course's modules: every bad input becomes a ValueError
naming the argument.
"""

from __future__ import annotations

import math

import torch

REDUCTIONS = ("mean", "sum", "none")


def tensor(
    x: torch.Tensor, name: str, *, floating: bool = True, min_dim: int = 1
) -> torch.Tensor:
    """Check that `x` is a non-empty tensor (floating point when `floating`) with at
    least `min_dim` dims.
    """
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if floating and not x.is_floating_point():
        raise ValueError(f"{name} must be a floating-point tensor, got dtype {x.dtype}")
    if x.dim() < min_dim:
        raise ValueError(
            f"{name} must have at least {min_dim} dimension(s), got shape "
            f"{tuple(x.shape)}"
        )
    if x.numel() == 0:
        raise ValueError(
            f"{name} is empty (shape {tuple(x.shape)}): an empty batch has no loss"
        )
    return x


def finite(x: torch.Tensor, name: str) -> float:
    """Raise when `x` holds NaN or ±inf: one pass (min and max propagate NaN and reach
    ±inf), no copy. Returns the smallest entry.
    """
    lowest, highest = torch.aminmax(x.detach())
    if not (math.isfinite(lowest.item()) and math.isfinite(highest.item())):
        raise ValueError(f"{name} contains NaN or inf")
    return lowest.item()


def nonnegative(x: torch.Tensor, name: str) -> torch.Tensor:
    """Finite entries, all >= 0 (probabilities, frequencies)."""
    if finite(x, name) < 0:
        raise ValueError(f"{name} has negative entries: they must be >= 0")
    return x


def logits(x: torch.Tensor, name: str = "logits") -> torch.Tensor:
    """Finite, floating, non-empty scores with the classes on the last dimension."""
    tensor(x, name)
    if x.shape[-1] < 1:
        raise ValueError(
            f"{name} has no classes on its last dimension (shape {tuple(x.shape)})"
        )
    finite(x, name)
    return x


def predictions(y: torch.Tensor, name: str) -> torch.Tensor:
    """A non-empty tensor of integer class indices (predicted or true labels)."""
    if not isinstance(y, torch.Tensor):
        raise ValueError(
            f"{name} must be a torch.Tensor of class indices, got {type(y).__name__}"
        )
    if y.is_floating_point() or y.is_complex() or y.dtype == torch.bool:
        raise ValueError(
            f"{name} must hold integer class indices (take .argmax(-1) of logits), "
            f"got dtype {y.dtype}"
        )
    if y.numel() == 0:
        raise ValueError(f"{name} is empty: give at least one example")
    return y


def labels(
    y: torch.Tensor,
    scores: torch.Tensor,
    name: str = "labels",
    scores_name: str = "logits",
) -> torch.Tensor:
    """Integer class indices of shape scores.shape[:-1], each in [0, L)."""
    predictions(y, name)
    if y.shape != scores.shape[:-1]:
        raise ValueError(
            f"{name} has shape {tuple(y.shape)} but {scores_name} has shape "
            f"{tuple(scores.shape)}: "
            f"expected {name} of shape {tuple(scores.shape[:-1])}"
        )
    return in_range(y, scores.shape[-1], name)


def in_range(y: torch.Tensor, num_classes: int, name: str) -> torch.Tensor:
    """Every class index in [0, num_classes)."""
    if int(y.min()) < 0 or int(y.max()) >= num_classes:
        raise ValueError(
            f"{name} out of range: every label must be in [0, {num_classes - 1}]"
        )
    return y


def probabilities(
    p: torch.Tensor, name: str, atol: float | None = None
) -> torch.Tensor:
    """A finite, non-negative tensor whose last dimension sums to 1 (within a
    dtype-aware tolerance).
    """
    nonnegative(tensor(p, name), name)
    if atol is None:
        atol = 1e-2 if p.dtype in (torch.float16, torch.bfloat16) else 1e-4
    sums = p.detach().sum(
        dim=-1, dtype=torch.float32 if p.dtype != torch.float64 else torch.float64
    )
    worst = (sums - 1).abs().max().item()
    if worst > atol:
        raise ValueError(
            f"{name} must sum to 1 over the last dimension (largest deviation "
            f"{worst:.3g})"
        )
    return p


def same_shape(a: torch.Tensor, b: torch.Tensor, name_a: str, name_b: str) -> None:
    if a.shape != b.shape:
        raise ValueError(
            f"{name_a} has shape {tuple(a.shape)} but {name_b} has shape "
            f"{tuple(b.shape)}: they must match"
        )


def reduction(value: str) -> str:
    if value not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {value!r}")
    return value


def count(x: int, name: str, minimum: int = 1) -> int:
    """A whole number >= ``minimum`` (epochs, k, members, buckets)."""
    if isinstance(x, bool) or not isinstance(x, int) or x < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {x!r}")
    return x


def unit_interval(x: float, name: str) -> float:
    x = number(x, name)
    if not 0.0 <= x <= 1.0:
        raise ValueError(f"{name} must be in [0, 1], got {x}")
    return x


def positive(x: float, name: str) -> float:
    x = number(x, name)
    if not x > 0:
        raise ValueError(f"{name} must be > 0, got {x}")
    return x


def number(x: float, name: str) -> float:
    if isinstance(x, torch.Tensor):
        if x.numel() != 1:
            raise ValueError(
                f"{name} must be a single number, got a tensor of shape "
                f"{tuple(x.shape)}"
            )
        x = x.item()
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        raise ValueError(f"{name} must be a number, got {type(x).__name__}")
    x = float(x)
    if not math.isfinite(x):
        raise ValueError(f"{name} must be finite, got {x}")
    return x


def open_unit_interval(x: float, name: str) -> float:
    """A number strictly between 0 and 1 (a tolerance ε, a risk level δ)."""
    x = number(x, name)
    if not 0.0 < x < 1.0:
        raise ValueError(f"{name} must be in (0, 1), got {x}")
    return x


def layout(x: torch.Tensor, name: str, *dims: str) -> torch.Tensor:
    """Exactly len(dims) dimensions, named in the message: layout(p, "probs", "N", "C")
    says "probs must be (N, C)" for any other shape."""
    if x.dim() != len(dims):
        raise ValueError(
            f"{name} must be ({', '.join(dims)}), got shape {tuple(x.shape)}"
        )
    return x


def same_length(a: torch.Tensor, b: torch.Tensor, name_a: str, name_b: str) -> None:
    """Two non-empty tensors with one row per input each, as many rows in both."""
    for x, name in ((a, name_a), (b, name_b)):
        if not isinstance(x, torch.Tensor) or x.dim() < 1 or len(x) == 0:
            raise ValueError(f"{name} must be a non-empty tensor, one row per input")
    if len(a) != len(b):
        raise ValueError(
            f"{name_a} has {len(a)} rows but {name_b} has {len(b)}: they must match"
        )


def mask(x: torch.Tensor, name: str) -> torch.Tensor:
    """A bool tensor (a selection of rows), never 0/1 numbers or scores."""
    if not isinstance(x, torch.Tensor) or x.dtype != torch.bool:
        raise ValueError(
            f"{name} must be a bool tensor (a mask), got "
            f"{x.dtype if isinstance(x, torch.Tensor) else type(x).__name__}"
        )
    return x


def labels_per_row(
    labels: torch.Tensor, rows: int, name: str, rows_name: str
) -> torch.Tensor:
    """Integer class indices, one per row of ``rows_name``: shape (rows,)."""
    predictions(labels, name)
    if labels.shape != (rows,):
        raise ValueError(
            f"{name} has shape {tuple(labels.shape)}: expected ({rows},), one per row "
            f"of {rows_name}"
        )
    return labels
