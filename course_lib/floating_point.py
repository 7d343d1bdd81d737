"""One-ulp twins: does a rounding-sized change of one weight grow into a different
model?

Slide "Churn from computing platform" ("floating-point addition is not associative") and
Summers & Dinneen (2021), *Nondeterminism and Instability in Neural Network
Optimization*: a change of one unit in the last place (ulp) of one weight can send
training somewhere else — if it survives.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from tqdm.auto import tqdm

from .training import EnsembleMLP, Targets, derived_seeds, train

NUDGES = ("strongest", "random", "dead")


def pairwise_sum(values) -> np.float32:
    """Pairwise (tree) summation in float32: sum the first ⌊n/2⌋ values and the rest,
    each recursively, then add the two (Higham 1993). Its error is about log₂ n
    roundings of Σ|x|: small next to a loop's n roundings, but relative to Σ|x|, not to
    the sum, so a sum that cancels can lose every digit.
    """
    x = np.asarray(values, dtype=np.float32)
    if len(x) <= 2:
        return np.float32(x.sum(dtype=np.float32))
    half = len(x) // 2
    return np.float32(pairwise_sum(x[:half]) + pairwise_sum(x[half:]))


def kahan_sum(values) -> np.float32:
    """Kahan's compensated summation in float32: a running correction c carries the
    low-order bits each addition rounds away (t = s + y; c = (t − s) − y), so the error
    stays near one rounding of Σ|x| whatever n is. It still rounds, unlike math.fsum.
    """
    total = correction = np.float32(0)
    for v in np.asarray(values, dtype=np.float32):
        y = np.float32(v - correction)
        t = np.float32(total + y)
        correction = np.float32(np.float32(t - total) - y)
        total = t
    return total


def _check_index(weight: torch.Tensor, index: tuple[int, ...]) -> None:
    if len(index) != weight.dim() or any(
        not 0 <= i < n for i, n in zip(index, weight.shape)
    ):
        raise ValueError(
            f"index {index} is not an entry of a {tuple(weight.shape)} weight"
        )


def nudge_one_ulp(weight: torch.Tensor, index: tuple[int, ...]) -> None:
    """In place, w ← nextafter(w, +∞): the next float up, one ulp away (IEEE 754)."""
    _check_index(weight, index)
    with torch.no_grad():
        weight[index] = torch.nextafter(weight[index], torch.tensor(math.inf))


def pick_input_weight(
    weight: torch.Tensor, inputs: torch.Tensor, how: str, seed: int = 0
) -> tuple[int, int]:
    """Index (i, j) of a first-layer weight w_ij to nudge (``weight`` is (in, out)).

    A nudge changes x_i · w_ij by |x_i| · ulp(w_ij); it reaches the network only where
    that changes the rounding of a pre-activation Σ_i x_i w_ij. "strongest": argmax
    |w_ij| · std(x_i), the most visible nudge; "random": uniform over live inputs
    (x_i not always 0), drawn with ``seed``; "dead": an input that is 0 in every
    example,
    so x_i · w_ij = 0 whatever w_ij is.
    """
    if how not in NUDGES:
        raise ValueError(f"how must be one of {NUDGES}, got {how!r}")
    if weight.dim() != 2 or inputs.dim() != 2 or inputs.shape[1] != weight.shape[0]:
        raise ValueError(
            f"inputs must be (N, {weight.shape[0]}) for a weight of shape "
            f"{tuple(weight.shape)}, got {tuple(inputs.shape)}"
        )
    dead = (inputs == 0).all(0)
    rows = dead.nonzero() if how == "dead" else (~dead).nonzero()
    if len(rows) == 0:
        raise ValueError(f"inputs has no {'dead' if how == 'dead' else 'live'} input")
    if how == "strongest":
        score = weight.abs() * inputs.std(0)[:, None]
        return divmod(int(score.argmax()), weight.shape[1])
    g = torch.Generator().manual_seed(seed)
    i = int(rows[torch.randint(len(rows), (1,), generator=g)])
    return i, int(torch.randint(weight.shape[1], (1,), generator=g))


def visible_fraction(
    weight: torch.Tensor, index: tuple[int, int], inputs: torch.Tensor
) -> float:
    """Fraction of ``inputs`` whose pre-activation z_j = Σ_i x_i w_ij changes when w_ij
    is nudged up by one ulp: elsewhere the difference is under half an ulp of z_j and
    rounds away.
    """
    _check_index(weight, index)
    i, j = index
    nudged = weight[:, j].clone()
    nudge_one_ulp(nudged, (i,))
    return (inputs @ weight[:, j] != inputs @ nudged).double().mean().item()


def parameters_by_member(model: EnsembleMLP) -> torch.Tensor:
    """All of each member's weights and biases as one row: (K, number of parameters)."""
    params = list(model.weights) + list(model.biases)
    return torch.cat([p.detach().reshape(model.members, -1) for p in params], 1)


@dataclass(frozen=True)
class Twins:
    """Two runs of one ensemble, the second with nudged weights. ``distance`` and
    ``differing`` have a row before training and one after each epoch, a column per
    member.
    """

    distance: torch.Tensor  # ‖θ_k − θ'_k‖₂ over all of member k's parameters (float64)
    differing: torch.Tensor  # how many of member k's parameters differ between the runs
    nudged: dict[
        int, tuple[int, int]
    ]  # member → (input i, unit j) of the nudged weight
    visible: dict[int, float]  # member → visible_fraction of its nudge on the inputs
    first: EnsembleMLP
    second: EnsembleMLP

    def fate(self, member: int, epoch: int = -1) -> str:
        """What became of member k's nudge by ``epoch``: "spread" (other parameters
        differ too), "still one weight apart" or "rounded away" (the runs are identical
        again).
        """
        differing = int(self.differing[epoch, member])
        if differing == 0:
            return "rounded away"
        return "still one weight apart" if differing == 1 else "spread"


def train_twins(
    sizes: Sequence[int],
    inputs: torch.Tensor,
    targets: Targets,
    loss_fn: Callable[[torch.Tensor, Targets], torch.Tensor],
    *,
    init_seeds: Sequence[int],
    nudges: dict[int, str],
    epochs: int,
    dropout: float = 0.2,
    **train_kwargs,
) -> Twins:
    """Train an ensemble twice from the same seeds; before the second run, nudge one
    first-layer weight of member k up by one ulp, chosen as ``pick_input_weight`` does
    with
    ``how = nudges[k]``.

    Member k sees the same seeds, shapes and memory layout in both runs, so the runs can
    differ only through the nudges: a member without a nudge is a control and must come
    out bitwise identical. (Two members of *one* ensemble also sit at two positions of a
    batched kernel, which a CPU library may round differently.) Data-order and dropout
    seeds default to ``derived_seeds``, as in ``fit_ensemble``.
    """
    if any(not 0 <= k < len(init_seeds) for k in nudges):
        raise ValueError(
            f"nudges must name members 0..{len(init_seeds) - 1}, got {nudges}"
        )
    train_kwargs = derived_seeds(init_seeds) | train_kwargs
    runs = [EnsembleMLP(sizes, list(init_seeds), dropout=dropout) for _ in range(2)]
    nudged, visible = {}, {}
    for k, how in nudges.items():
        weight = runs[1].weights[0].data[k]
        seed = len(init_seeds) * init_seeds[k] + k
        nudged[k] = pick_input_weight(weight, inputs, how, seed=seed)
        visible[k] = visible_fraction(weight, nudged[k], inputs)
        nudge_one_ulp(weight, nudged[k])
    first = [parameters_by_member(runs[0])]  # after each epoch of the first run
    distance, differing = [], []

    def after_epoch(run: int, epoch: int) -> None:
        if run == 0 and epoch > 0:
            first.append(parameters_by_member(runs[0]))
        if run == 1:
            a, b = first[epoch].double(), parameters_by_member(runs[1]).double()
            distance.append((a - b).norm(dim=1))
            differing.append((a != b).sum(1))
        bar.update(epoch > 0)

    bar = tqdm(total=2 * epochs, desc="two runs", mininterval=0.5)
    for run in (0, 1):
        after_epoch(run, 0)
        train(
            runs[run],
            inputs,
            targets,
            loss_fn,
            epochs=epochs,
            on_epoch=lambda epoch, run=run: after_epoch(run, epoch),
            **train_kwargs,
        )
    bar.close()
    return Twins(torch.stack(distance), torch.stack(differing), nudged, visible, *runs)
