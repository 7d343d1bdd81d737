"""Calibration: do a model's probabilities mean what they say? (notebook 08)

A teacher's value lies in the quality of its probabilities (Menon et al., ICML 2021, "A
statistical perspective on distillation"), so this module measures that quality: the
reliability diagram and the expected calibration error over equal-width confidence bins
(Naeini et al. 2015; Guo et al., ICML 2017, "On calibration of modern neural networks"),
and temperature scaling, Guo et al.'s one-parameter fix.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from . import _validate as check
from . import losses, training


@dataclass
class Reliability:
    """A reliability diagram's data: for each of ``bins`` equal-width confidence bins
    [i/B, (i+1)/B), the number of examples, their mean confidence and their accuracy
    (NaN for an empty bin)."""

    edges: torch.Tensor  # (B + 1,) from 0 to 1
    counts: torch.Tensor  # (B,)
    confidence: torch.Tensor  # (B,)
    accuracy: torch.Tensor  # (B,)


def reliability(
    probs: torch.Tensor, labels: torch.Tensor, bins: int = 15
) -> Reliability:
    """Bin the examples by confidence c_i = max_k p_ik into ``bins`` equal-width bins
    B_b = [b/B, (b+1)/B) (the last one closed); per bin, |B_b|, conf(B_b) = mean c_i and
    acc(B_b) = mean 1[argmax_k p_ik = y_i] (Guo et al. 2017, section 2). A tie for the
    largest probability predicts the first of the tied classes (``torch.argmax``).
    """
    check.layout(check.probabilities(probs, "probs"), "probs", "N", "C")
    check.labels(labels, probs, scores_name="probs")
    check.count(bins, "bins")
    p = probs.double()
    confidence, predicted = p.max(-1)
    right = (predicted == labels).double()
    index = (confidence * bins).long().clamp(0, bins - 1)
    counts = torch.bincount(index, minlength=bins).double()
    mean = lambda v: torch.bincount(index, v, bins) / counts  # noqa: E731 (NaN if empty)
    edges = torch.linspace(0, 1, bins + 1, dtype=torch.float64)
    return Reliability(edges, counts, mean(confidence), mean(right))


def expected_calibration_error(
    probs: torch.Tensor, labels: torch.Tensor, bins: int = 15
) -> float:
    """ECE = Σ_b (|B_b| / n) · |acc(B_b) − conf(B_b)| over ``bins`` equal-width
    confidence bins (Naeini et al. 2015; Guo et al. 2017, eq. 3): the average gap, in
    probability, between how sure the model is and how often it is right.
    """
    diagram = reliability(probs, labels, bins)
    gaps = (diagram.accuracy - diagram.confidence).abs().nan_to_num(0.0)
    return (diagram.counts * gaps).sum().item() / diagram.counts.sum().item()


def fit_temperature(
    logits: torch.Tensor, labels: torch.Tensor, low: float = 0.05, high: float = 20.0
) -> float:
    """Temperature scaling (Guo et al. 2017): the T in [``low``, ``high``] that
    minimises the NLL −(1/n) Σ_i log softmax(s_i / T)_{y_i} on held-out data.

    The NLL is convex in 1/T, so a golden-section search over 1/T finds the minimum
    (to 1e-6 relative). Dividing by T > 0 keeps every argmax: accuracy is unchanged.
    A minimum at an end of the range is not a fitted temperature (the logits carry no
    usable signal, or separate the labels perfectly): that raises a ValueError.
    """
    check.logits(logits)
    check.labels(labels, logits)
    low, high = check.positive(low, "low"), check.positive(high, "high")
    if not low < high:
        raise ValueError(f"low must be < high, got {low} and {high}")
    s = logits.double()
    nll = lambda beta: losses.softmax_cross_entropy(s * beta, labels).item()  # noqa: E731
    a, b = 1 / high, 1 / low
    ratio = (math.sqrt(5) - 1) / 2
    while b - a > 1e-6 * b:
        c, d = b - ratio * (b - a), a + ratio * (b - a)
        if nll(c) < nll(d):
            b = d
        else:
            a = c
    temperature = 2 / (a + b)
    if temperature > high * (1 - 1e-4) or temperature < low * (1 + 1e-4):
        raise ValueError(
            f"the NLL is smallest at the end of [low, high] = [{low:g}, {high:g}] "
            f"(T = {temperature:.4g}): these logits do not fit a temperature"
        )
    return temperature


def report(logits: torch.Tensor, labels: torch.Tensor, bins: int = 15) -> dict:
    """One model's accuracy, ECE (``bins`` equal-width bins) and NLL on (logits,
    labels): what temperature scaling and label smoothing change, and what not."""
    probs = torch.softmax(logits.double(), -1)
    return {
        "accuracy": training.accuracy(logits, labels),
        "ECE": expected_calibration_error(probs, labels, bins),
        "NLL": losses.softmax_cross_entropy(logits, labels).item(),
    }
