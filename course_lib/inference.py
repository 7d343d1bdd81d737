"""Adaptive inference: spend compute only where it is needed.

Two answers to "the model is too expensive" besides compressing it (research overview,
part II):

- a **cascade**: a cheap first model answers every input, and a deferral rule sends a
  fraction r of them to an expensive second model (Narasimhan et al., NeurIPS 2022,
  "Post-hoc estimators for learning to defer"; Jitkrittum et al., NeurIPS 2023, "When
  does confidence-based cascade deferral suffice?");
- **early exit**: one deep model with a classifier after each block stops at the first
  block that is confident enough, with the threshold calibrated so that its answers
  agree with the full model's (Schuster et al., NeurIPS 2022, "Confident Adaptive
  Language Modeling", CALM).

Costs are counted in multiply-adds, from the layer sizes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from . import _validate as check
from .losses import softmax_cross_entropy
from .training import MLP, fit, predict

# ---------------------------------------------------------------------------------
# cost


def multiply_adds(sizes: Sequence[int]) -> int:
    """Multiply-adds of one input's pass through dense layers of ``sizes``:
    Σ_l sizes[l] · sizes[l + 1] (biases and activations are not counted).

    The cost unit of a cascade (Jitkrittum et al. 2023) and of early exit (CALM counts
    decoder layers, each the same cost).
    """
    if len(sizes) < 2:
        raise ValueError(f"sizes must list at least two layer sizes, got {list(sizes)}")
    for s in sizes:
        check.count(s, "sizes")
    return sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))


def cascade_cost(first_cost: float, second_cost: float, budget: float) -> float:
    """Average cost per input of a two-model cascade that defers a fraction ``budget``
    = r of the inputs: c₁ + r · c₂ (the first model always runs).
    """
    first_cost = check.number(first_cost, "first_cost")
    second_cost = check.number(second_cost, "second_cost")
    if first_cost < 0 or second_cost < 0:
        raise ValueError("first_cost and second_cost must be >= 0")
    return first_cost + check.unit_interval(budget, "budget") * second_cost


# ---------------------------------------------------------------------------------
# deferral rules: a score per input, the highest scores are deferred first


def confidence_score(probs: torch.Tensor) -> torch.Tensor:
    """Confidence deferral's score: −max_k p₁(k | x), so the least confident inputs
    are deferred first (Chow's rule; the baseline of Jitkrittum et al. 2023).
    """
    check.probabilities(probs, "probs")
    return -probs.max(-1).values


def oracle_score(first_right: torch.Tensor, second_right: torch.Tensor) -> torch.Tensor:
    """The oracle's score 1[second right] − 1[first right]: it defers exactly the
    inputs the second model gets right and the first gets wrong first (the best any
    rule can do at any budget; Jitkrittum et al. 2023, the Bayes-optimal rule with
    known correctness).
    """
    check.same_length(first_right, second_right, "first_right", "second_right")
    return second_right.double() - first_right.double()


def fit_posthoc_rule(
    probs: torch.Tensor,
    first_right: torch.Tensor,
    second_right: torch.Tensor,
    *,
    seed: int = 0,
    hidden: int = 16,
    epochs: int = 100,
) -> MLP:
    """Post-hoc deferral (Narasimhan et al. 2022; Jitkrittum et al. 2023): an MLP
    g(φ(p₁(x))) fitted by squared error, on a held-out split, to the gain
    1[second right] − 1[first right] from the first model's probabilities. Defer the
    inputs with the largest g (``posthoc_score``). The rule runs on every input: its
    cost, ``multiply_adds(rule.sizes)``, adds to the first model's.
    """
    check.probabilities(probs, "probs")
    check.same_length(first_right, second_right, "first_right", "second_right")
    check.same_length(probs, first_right, "probs", "first_right")
    gain = oracle_score(first_right, second_right).float()[:, None]

    features = _posthoc_features(probs)
    sizes = [features.shape[1], hidden, 1]
    mse = nn.functional.mse_loss
    return fit(sizes, features, gain, mse, epochs=epochs, seed=seed, lr=3e-3)


def posthoc_score(rule: MLP, probs: torch.Tensor) -> torch.Tensor:
    """The fitted post-hoc rule's predicted gain of deferring each input:
    g(φ(p₁(x))) with φ(p) = [p, p₍₁₎, p₍₁₎ − p₍₂₎] (the probabilities, the largest
    and the margin to the second largest), an estimate of
    E[1[second right] − 1[first right] | x] (Narasimhan et al. 2022).
    """
    check.probabilities(probs, "probs")
    return predict(rule, _posthoc_features(probs))[:, 0].double()


def _posthoc_features(probs: torch.Tensor) -> torch.Tensor:
    """The first model's probabilities, sorted confidences appended (max and margin)."""
    top = probs.topk(2, dim=-1).values
    return torch.cat([probs, top[:, :1], top[:, :1] - top[:, 1:]], dim=-1).float()


def random_score(n: int, seed: int) -> torch.Tensor:
    """Random deferral's score: u_i ~ Uniform(0, 1), independent of the input, so
    ``defer`` sends a uniformly random round(r · n) of the inputs. Its expected
    cascade accuracy is (1 − r) · acc₁ + r · acc₂, the straight line any useful rule
    must lie above (the trivial baseline of Jitkrittum et al. 2023).
    """
    check.count(n, "n")
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, generator=g, dtype=torch.float64)


def defer(
    scores: torch.Tensor, budget: float, above: float | None = None
) -> torch.Tensor:
    """The deferral mask at ``budget`` r: the round(r · n) inputs with the highest
    scores (ties broken by position, so the mask is deterministic). With ``above``,
    only inputs whose score exceeds it are deferred, so at most round(r · n): the
    oracle with ``above=0`` never spends the budget on an input deferral cannot help.
    """
    check.tensor(scores, "scores", floating=False)
    n, k = len(scores), round(check.unit_interval(budget, "budget") * len(scores))
    order = torch.sort(-scores.double(), stable=True).indices
    mask = torch.zeros(n, dtype=torch.bool)
    mask[order[:k]] = True
    if above is not None:
        mask &= scores.double() > check.number(above, "above")
    return mask


def cascade_accuracy(
    first_right: torch.Tensor, second_right: torch.Tensor, deferred: torch.Tensor
) -> float:
    """Accuracy of the cascade that answers with the second model on ``deferred``
    inputs and the first model elsewhere: mean of 1[deferred] · second_right +
    1[not deferred] · first_right.
    """
    check.same_length(first_right, second_right, "first_right", "second_right")
    check.same_length(first_right, deferred, "first_right", "deferred")
    right = torch.where(
        check.mask(deferred, "deferred"), second_right.bool(), first_right.bool()
    )
    return right.double().mean().item()


def cascade_curve(
    scores: torch.Tensor,
    first_right: torch.Tensor,
    second_right: torch.Tensor,
    budgets: Sequence[float],
    above: float | None = None,
) -> torch.Tensor:
    """Cascade accuracy at each budget r in ``budgets`` when inputs are deferred in the
    order of ``scores`` (highest first): the accuracy–budget curve of a deferral rule
    (``above``: as in ``defer``).
    """
    check.same_length(scores, first_right, "scores", "first_right")
    return torch.tensor(
        [
            cascade_accuracy(first_right, second_right, defer(scores, r, above))
            for r in budgets
        ],
        dtype=torch.float64,
    )


def accuracy_at_cost(
    curve: torch.Tensor,
    budgets: Sequence[float],
    first_cost: float,
    second_cost: float,
    cost: float,
) -> float:
    """A rule's cascade accuracy at an average ``cost`` per input, read off its
    accuracy–budget ``curve`` by linear interpolation on the cost axis
    c(r) = first_cost + r · second_cost (``cascade_cost``; put the rule's own cost in
    ``first_cost``). Comparing rules at equal cost, not equal r, charges a rule for
    its own multiply-adds (Jitkrittum et al. 2023 compare accuracy–cost curves).
    """
    check.tensor(curve, "curve", floating=False)
    if len(curve) != len(budgets) or len(budgets) < 2:
        raise ValueError("curve and budgets must have the same length, at least 2")
    costs = [cascade_cost(first_cost, second_cost, r) for r in budgets]
    if any(b <= a for a, b in zip(costs[:-1], costs[1:])):
        raise ValueError("budgets must increase")
    cost = check.number(cost, "cost")
    if not costs[0] <= cost <= costs[-1]:
        raise ValueError(
            f"cost must be within the rule's costs [{costs[0]:g}, {costs[-1]:g}], "
            f"got {cost:g}"
        )
    c, a = torch.tensor(costs, dtype=torch.float64), curve.double()
    i = min(int(torch.searchsorted(c, torch.tensor([cost], dtype=c.dtype))), len(c) - 1)
    i = max(i, 1)
    t = (cost - c[i - 1]) / (c[i] - c[i - 1])
    return (a[i - 1] + t * (a[i] - a[i - 1])).item()


def deferred_per_class(
    deferred: torch.Tensor, labels: torch.Tensor, num_classes: int
) -> torch.Tensor:
    """How many deferred inputs each true class has: Σ_i 1[deferred_i] 1[y_i = k]."""
    check.same_length(deferred, labels, "deferred", "labels")
    check.in_range(check.predictions(labels, "labels"), num_classes, "labels")
    return torch.bincount(
        labels[check.mask(deferred, "deferred")], minlength=num_classes
    )


# ---------------------------------------------------------------------------------
# a task where depth matters


def two_region_task(
    n: int, seed: int, cells: int = 4, noise: float = 0.0
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """n points uniform in [−1, 1]², two classes: on the easy half (x₁ < 0) the class
    is 1[x₂ > 0.4 · sin(3 x₁)], a smooth boundary; on the hard half (x₁ ≥ 0) it is a
    checkerboard of ``cells`` × ``cells`` rectangles, each 1/cells wide and 2/cells
    tall (0.25 × 0.5 for 4). A fraction ``noise`` of labels is flipped. Returns
    (inputs (n, 2), labels (n,), hard (n,) bool).
    """
    check.count(n, "n")
    check.count(cells, "cells")
    check.unit_interval(noise, "noise")
    g = torch.Generator().manual_seed(seed)
    x = 2 * torch.rand(n, 2, generator=g) - 1
    hard = x[:, 0] >= 0
    smooth = x[:, 1] > 0.4 * torch.sin(3 * x[:, 0])
    square = (torch.floor(x[:, 0] * cells) + torch.floor((x[:, 1] + 1) * cells / 2)) % 2
    y = torch.where(hard, square.bool(), smooth).long()
    flip = torch.rand(n, generator=g) < noise
    return x, torch.where(flip, 1 - y, y), hard


# ---------------------------------------------------------------------------------
# early exit


class EarlyExitMLP(nn.Module):
    """A residual MLP with a classifier after every block (CALM's decoder, in small):
    h₀ = W x (a linear stem), h_b = h_{b−1} + MLP_b(h_{b−1}), exit b's logits =
    head_b(h_b). With a linear stem the first exit has one hidden layer, so depth shows.

    The stem, the blocks (Linear → ReLU → Linear) and the heads are the course's
    ``MLP``; ``forward`` returns every exit's logits, (blocks, N, classes), which
    ``depth_weighted_loss`` trains with the course's ``train``.
    """

    def __init__(
        self, inputs: int, width: int, blocks: int, classes: int, init_seed: int = 0
    ):
        super().__init__()
        for value, name in ((inputs, "inputs"), (width, "width"), (blocks, "blocks")):
            check.count(value, name)
        check.count(classes, "classes", minimum=2)
        self.sizes = [inputs, width, classes]  # the loop checks inputs against sizes[0]
        self.stem = MLP([inputs, width], init_seed=init_seed)
        self.blocks = nn.ModuleList(
            MLP([width, width, width], init_seed=init_seed + 1 + b)
            for b in range(blocks)
        )
        self.heads = nn.ModuleList(
            MLP([width, classes], init_seed=init_seed + 101 + b) for b in range(blocks)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, exits = self.stem(x), []
        for block, head in zip(self.blocks, self.heads):
            h = h + block(h)
            exits.append(head(h))
        return torch.stack(exits)

    def exit_costs(self) -> list[int]:
        """Multiply-adds to reach and read exit b (b = 1 … blocks): the stem, then b
        blocks and b heads (each block's confidence is computed before going on)."""
        stem, width = self.sizes[0] * self.sizes[1], self.sizes[1]
        block = multiply_adds([width, width, width]) + multiply_adds(self.sizes[1:])
        return [stem + (b + 1) * block for b in range(len(self.blocks))]


def depth_weighted_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Σ_b b · CE(y, exit_b) / Σ_b b: every exit learns the task, deeper exits weigh
    more (CALM, Schuster et al. 2022, trains its exits with this weighted
    average). ``logits``: (blocks, N, classes), ``labels``: (N,)."""
    check.layout(
        check.logits(logits, "logits"), "logits", "blocks", "inputs", "classes"
    )
    check.labels(labels, logits[0], "labels", "logits")
    weights = torch.arange(1, len(logits) + 1, dtype=logits.dtype)
    per_exit = torch.stack([softmax_cross_entropy(s, labels) for s in logits])
    return (weights * per_exit).sum() / weights.sum()


def exit_layers(exit_probs: torch.Tensor, threshold: float) -> torch.Tensor:
    """The exit each input takes, 1-based: the first block b with
    max_k p_b(k | x) ≥ ``threshold``, else the last. ``threshold`` is in [0, 1], or
    ``math.inf`` (no early exit: what ``calibrate_threshold`` returns when no
    candidate passes; float32 softmax saturates, so 1.0 still lets some exit).

    CALM's softmax response is the gap between the top two probabilities,
    p₍₁₎ − p₍₂₎, not p₍₁₎. For two classes the gap is 2 p₍₁₎ − 1, the same ranking:
    a threshold λ here is λ_CALM = 2λ − 1 on CALM's scale.
    """
    _exit_probs(exit_probs)
    if threshold != math.inf:
        check.unit_interval(threshold, "threshold")
    confident = exit_probs.max(-1).values >= threshold
    confident[-1] = True
    return confident.double().argmax(0) + 1


def early_exit_predictions(exit_probs: torch.Tensor, threshold: float) -> torch.Tensor:
    """The class each input gets from the exit ``exit_layers`` picks for it."""
    layer = exit_layers(exit_probs, threshold) - 1
    return exit_probs.argmax(-1).gather(0, layer[None])[0]


def fixed_exit_disagreement(exit_probs: torch.Tensor, blocks: float) -> float:
    """Disagreement with the last exit of a fixed-depth exit that uses ``blocks``
    blocks on average: every input exits at ⌊L⌋ or ⌈L⌉ with the fraction L − ⌊L⌋ at
    ⌈L⌉ (chosen independently of the input), so its expected disagreement is
    (⌈L⌉ − L) · d_⌊L⌋ + (L − ⌊L⌋) · d_⌈L⌉, with d_b = mean 1[argmax p_b ≠ argmax
    p_last]. The equal-cost competitor of a per-input exit (CALM's static baseline,
    Schuster et al. 2022): exit costs grow linearly with the block.
    """
    probs = _exit_probs(exit_probs)
    last = len(probs)
    blocks = check.number(blocks, "blocks")
    if not 1 <= blocks <= last:
        raise ValueError(f"blocks must be in [1, {last}], got {blocks:g}")
    d = (probs.argmax(-1) != probs[-1].argmax(-1)).double().mean(-1)
    low = min(int(math.floor(blocks)), last - 1)
    t = blocks - low
    return ((1 - t) * d[low - 1] + t * d[low]).item()


def binomial_tail(errors: int, n: int, epsilon: float) -> float:
    """P(Binomial(n, ε) ≤ errors) = Σ_{i ≤ errors} C(n, i) εⁱ (1 − ε)ⁿ⁻ⁱ: the p-value
    of "the disagreement rate is above ε" after seeing ``errors`` disagreements in n
    calibration inputs (Learn-then-Test, Angelopoulos et al. 2021; as in CALM)."""
    check.count(n, "n")
    check.count(errors, "errors", minimum=0)
    if errors > n:
        raise ValueError(f"errors must be <= n ({n}), got {errors}")
    check.open_unit_interval(epsilon, "epsilon")
    log_terms = [
        math.lgamma(n + 1)
        - math.lgamma(i + 1)
        - math.lgamma(n - i + 1)
        + i * math.log(epsilon)
        + (n - i) * math.log1p(-epsilon)
        for i in range(errors + 1)
    ]
    top = max(log_terms)
    return min(1.0, math.exp(top) * sum(math.exp(t - top) for t in log_terms))


def calibrate_threshold(
    exit_probs: torch.Tensor,
    thresholds: Sequence[float],
    epsilon: float,
    delta: float,
) -> float:
    """CALM's calibrated threshold by fixed-sequence testing: go through
    ``thresholds`` from the highest (safest) down; at each, count the calibration inputs
    whose early-exit prediction disagrees with the last exit's, and keep going while
    ``binomial_tail`` ≤ δ. Returns the lowest threshold passed, or ``math.inf`` (never
    exit early) if the first fails. Guarantee (Learn-then-Test): over the draw of the
    calibration split, Pr(R(λ̂) > ε) ≤ δ, with R(λ) the expected disagreement with
    the last exit on new inputs.
    """
    _exit_probs(exit_probs)
    check.open_unit_interval(epsilon, "epsilon")
    check.open_unit_interval(delta, "delta")
    if len(thresholds) == 0:
        raise ValueError("thresholds must list at least one candidate")
    for lam in thresholds:
        check.unit_interval(lam, "thresholds")
    full = exit_probs[-1].argmax(-1)
    chosen = math.inf
    for lam in sorted(thresholds, reverse=True):
        errors = int((early_exit_predictions(exit_probs, lam) != full).sum())
        if binomial_tail(errors, len(full), epsilon) > delta:
            break
        chosen = lam
    return chosen


def _exit_probs(exit_probs: torch.Tensor) -> torch.Tensor:
    probs = check.probabilities(exit_probs, "exit_probs")
    return check.layout(probs, "exit_probs", "blocks", "inputs", "classes")
