"""Model churn: how often two models' predicted labels disagree.

Slide "Churn for classification": Churn(M1, M2) = Pr(M1(x) ≠ M2(x)), estimated on a set
of inputs.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from . import _validate as check


def churn(preds_a: torch.Tensor, preds_b: torch.Tensor) -> float:
    """Churn(M1, M2) = (1/N) Σ_n 1[a_n ≠ b_n], the fraction of examples whose predicted
    labels differ.
    """
    _pair(preds_a, preds_b)
    if preds_a.dim() != 1:
        raise ValueError(
            "preds_a must be one model's labels, shape (N,), got shape "
            f"{tuple(preds_a.shape)}: for K models use pairwise_churn"
        )
    return (preds_a != preds_b).double().mean().item()


def _pair(preds_a: torch.Tensor, preds_b: torch.Tensor) -> None:
    check.predictions(preds_a, "preds_a")
    check.predictions(preds_b, "preds_b")
    if preds_a.shape != preds_b.shape:
        raise ValueError(
            f"preds_a has shape {tuple(preds_a.shape)} but preds_b has shape "
            f"{tuple(preds_b.shape)}"
        )


def pairwise_churn(preds: torch.Tensor | Sequence[torch.Tensor]) -> torch.Tensor:
    """K × K matrix C with C[i, j] = Churn(M_i, M_j) for K models' predicted labels of
    shape (K, N).

    Symmetric with a zero diagonal (slide "Do neural models exhibit churn?": 5 ResNets
    disagree on 15%).
    """
    if isinstance(preds, (list, tuple)):
        if not preds:
            raise ValueError(
                "preds is empty: pass the predicted labels of at least one model"
            )
        for i, p in enumerate(preds):
            check.predictions(p, f"preds[{i}]")
        if len({tuple(p.shape) for p in preds}) > 1:
            raise ValueError(
                "preds: every model's predictions must have the same shape"
            )
        preds = torch.stack(list(preds))
    check.predictions(preds, "preds")
    if preds.dim() != 2:
        raise ValueError(
            f"preds must have shape (K models, N examples), got {tuple(preds.shape)}"
        )
    return (preds[:, None, :] != preds[None, :, :]).double().mean(dim=-1)


def _triple(preds_a: torch.Tensor, preds_b: torch.Tensor, labels: torch.Tensor) -> None:
    _pair(preds_a, preds_b)
    check.predictions(labels, "labels")
    if labels.shape != preds_a.shape:
        raise ValueError(
            f"labels has shape {tuple(labels.shape)} but the predictions have "
            f"{tuple(preds_a.shape)}"
        )


def churn_decomposition(
    preds_a: torch.Tensor, preds_b: torch.Tensor, labels: torch.Tensor
) -> dict[str, float]:
    """Churn split by who is wrong (slide "Churn versus accuracy": churn needs at least
    one wrong model): churn = only_a_wrong + only_b_wrong + both_wrong (both wrong, with
    different labels).
    """
    table, differ = agreement_table(preds_a, preds_b, labels), preds_a != preds_b
    both_wrong = (preds_a != labels) & (preds_b != labels) & differ
    return {
        "only_a_wrong": table[1, 0].item(),
        "only_b_wrong": table[0, 1].item(),
        "both_wrong": both_wrong.double().mean().item(),
        "churn": differ.double().mean().item(),
    }


def churn_bounds(
    preds_a: torch.Tensor, preds_b: torch.Tensor, labels: torch.Tensor
) -> tuple[float, float]:
    """(|acc_a − acc_b|, err_a + err_b): churn always lies between the two. Read off
    ``agreement_table`` t: |t[0, 1] − t[1, 0]| and t[0, 1] + t[1, 0] + 2 · t[1, 1].
    """
    t = agreement_table(preds_a, preds_b, labels)
    return abs(t[0, 1] - t[1, 0]).item(), (t[0, 1] + t[1, 0] + 2 * t[1, 1]).item()


def churn_by_bucket(
    preds_a: torch.Tensor, preds_b: torch.Tensor, scores: torch.Tensor, buckets: int = 5
) -> torch.Tensor:
    """Churn within each of ``buckets`` equal-size groups of examples sorted by
    ``scores`` (e.g. a margin), lowest scores first: where churn lives.
    """
    _pair(preds_a, preds_b)
    check.tensor(scores, "scores")
    check.finite(scores, "scores")
    check.same_shape(scores, preds_a, "scores", "preds_a")
    if check.count(buckets, "buckets") > len(scores):
        raise ValueError(f"buckets must be in [1, {len(scores)}], got {buckets}")
    order = scores.argsort()
    return torch.stack(
        [
            (preds_a[g] != preds_b[g]).double().mean()
            for g in order.tensor_split(buckets)
        ]
    )


def agreement_table(
    preds_a: torch.Tensor, preds_b: torch.Tensor, labels: torch.Tensor
) -> torch.Tensor:
    """The 2 × 2 table of shares of examples by who is right (slide "Churn versus
    accuracy"): [[both right, only a right], [only b right, both wrong]], rows model a
    right / wrong, columns model b right / wrong; the entries sum to 1.

    Churn = the two one-right cells + the part of "both wrong" with different labels,
    so |acc_a − acc_b| ≤ churn ≤ err_a + err_b (``churn_bounds``).
    """
    _triple(preds_a, preds_b, labels)
    a_ok, b_ok = preds_a == labels, preds_b == labels
    cells = [[a_ok & b_ok, a_ok & ~b_ok], [~a_ok & b_ok, ~a_ok & ~b_ok]]
    return torch.stack([torch.stack([m.double().mean() for m in row]) for row in cells])


def flip_share_by_bucket(
    preds: torch.Tensor, scores: torch.Tensor, buckets: int = 5
) -> torch.Tensor:
    """Where the disagreements of K models fall: with d_n = Σ_{i<j} 1[p_i(x_n) ≠
    p_j(x_n)] the number of pairs of models that disagree on example n, the share of
    all disagreements Σ_{n ∈ group b} d_n / Σ_n d_n in each of ``buckets`` equal-size
    groups of examples sorted by ``scores`` (lowest first). The shares sum to 1;
    disagreements blind to the scores would give about 1 / ``buckets`` each (slide
    "Do neural models exhibit churn?": churn lives near the decision boundary).
    Unlike a ratio of two groups' churn it stays bounded when a group has no flips.
    """
    check.predictions(preds, "preds")
    if preds.dim() != 2 or len(preds) < 2:
        raise ValueError(
            "preds must have shape (K ≥ 2 models, N examples), got "
            f"{tuple(preds.shape)}"
        )
    check.tensor(scores, "scores")
    check.finite(scores, "scores")
    if scores.shape != preds.shape[1:]:
        raise ValueError(
            f"scores must have shape ({preds.shape[1]},), one per example, got "
            f"{tuple(scores.shape)}"
        )
    if check.count(buckets, "buckets") > len(scores):
        raise ValueError(f"buckets must be in [1, {len(scores)}], got {buckets}")
    differ = (preds[:, None, :] != preds[None, :, :]).double().sum((0, 1)) / 2
    if differ.sum() == 0:
        raise ValueError("preds: the models never disagree, so there is no share")
    groups = scores.argsort().tensor_split(buckets)
    return torch.stack([differ[g].sum() for g in groups]) / differ.sum()
