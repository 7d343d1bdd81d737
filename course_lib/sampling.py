"""Negative sampling for extreme classification (lecture section 03).

With L labels the full softmax needs all B × L scores. Sampled softmax contrasts the
positive label with a few *negative* labels instead (slides "Negative sampling" →
"Finding hard-negatives"). Here: how to choose the negatives (in-batch, uniform, exact
hard, hardest within a uniform pool), how to drop accidental hits, and the sampled loss
with the logQ correction (Bengio & Senécal 2008; Yi et al. 2019,
"Sampling-bias-corrected neural modeling").
"""

from __future__ import annotations

import time
from collections.abc import Callable

import torch

from . import _validate as check
from .losses import reduce


def _check_k(k: int, available: int, name: str = "k") -> int:
    if check.count(k, name) > available:
        raise ValueError(
            f"{name}={k} is more negatives than the {available} labels available"
        )
    return k


def uniform_negatives(
    k: int, num_labels: int, generator: torch.Generator
) -> torch.Tensor:
    """k labels drawn uniformly without replacement, shared by the batch: shape (k,).

    Slide "Solution #2": easy, not biased towards any label, but mostly uninformative.
    """
    _check_k(k, num_labels)
    if 4 * k > num_labels:
        return torch.randperm(num_labels, generator=generator)[:k]
    # k ≪ L: a randperm of all L labels would cost O(L) per step. Draw with replacement
    # and keep the first k distinct labels in draw order: a uniform k-subset (sequential
    # sampling without replacement).
    drawn = torch.empty(0, dtype=torch.long)
    while True:
        drawn = torch.cat(
            [drawn, torch.randint(num_labels, (2 * k + 16,), generator=generator)]
        )
        distinct, inverse = torch.unique(drawn, return_inverse=True)
        if len(distinct) >= k:
            first = torch.full(
                (len(distinct),), len(drawn), dtype=torch.long
            ).scatter_reduce(0, inverse, torch.arange(len(drawn)), reduce="amin")
            return drawn[first.sort().values[:k]]


def in_batch_negatives(labels: torch.Tensor) -> torch.Tensor:
    """The batch's own positives as everyone's negatives: shape (B,), with Q(label) ∝
    label frequency.

    Slide "Solution #1": free (their embeddings are computed anyway) but frequent labels
    appear as negatives far more often, so they are over-penalised unless
    logQ-corrected.
    """
    if labels.dim() != 1 or labels.numel() == 0:
        raise ValueError(
            f"labels must be a non-empty 1-d tensor, got shape {tuple(labels.shape)}"
        )
    return labels


def hard_negatives(scores: torch.Tensor, labels: torch.Tensor, k: int) -> torch.Tensor:
    """Exact hard negatives: the k highest-scoring wrong labels over *all* L labels,
    shape (B, k).

    Slide "Solution #3": maximally informative, but needs every score, which is what
    sampling avoids.
    """
    check.logits(scores, "scores")
    check.labels(labels, scores, scores_name="scores")
    _check_k(k, scores.shape[-1] - 1)
    masked = scores.detach().scatter(-1, labels.long().unsqueeze(-1), float("-inf"))
    return masked.topk(k, dim=-1).indices


def mined_negatives(
    scores_pool: torch.Tensor, pool: torch.Tensor, labels: torch.Tensor, k: int
) -> torch.Tensor:
    """Stochastic negative mining: the k hardest labels within a uniform ``pool`` of m
    labels, shape (B, k).

    Slide "Finding hard-negatives": approximate the hardest labels by the hardest within
    a large uniformly sampled batch. ``scores_pool`` (B, m) are the scores of the
    ``pool`` labels; a pool label equal to the row's positive is never picked.
    """
    check.logits(scores_pool, "scores_pool")
    if scores_pool.shape[-1] != len(pool):
        raise ValueError(
            f"scores_pool has {scores_pool.shape[-1]} columns but pool has {len(pool)} "
            "labels"
        )
    _check_k(k, len(pool) - 1)
    hits = pool.unsqueeze(0) == labels.unsqueeze(1)
    masked = scores_pool.detach().masked_fill(hits, float("-inf"))
    return pool[masked.topk(k, dim=-1).indices]


def sampled_softmax_loss(
    positive_scores: torch.Tensor,
    negative_scores: torch.Tensor,
    accidental_hits: torch.Tensor | None = None,
    log_q_positive: torch.Tensor | None = None,
    log_q_negative: torch.Tensor | None = None,
    reduction: str = "mean",
) -> torch.Tensor:
    """Softmax CE of the positive against the sampled negatives only:

        −s_y + log( exp(s_y) + Σ_{j ∈ negatives} exp(s_j) ),  with s ← s − log Q(label)
        under the logQ correction.

    ``positive_scores`` (B,), ``negative_scores`` (B, k) (or (k,) shared, broadcast).
    ``accidental_hits`` (B, k) marks negatives that are the row's positive: they are
    removed (score −inf). ``log_q_*`` are the log sampling probabilities of the labels,
    subtracted from their scores (Yi et al. 2019).
    """
    check.logits(positive_scores, "positive_scores")
    check.logits(negative_scores, "negative_scores")
    if positive_scores.dim() != 1:
        raise ValueError(
            f"positive_scores must have shape (B,), got {tuple(positive_scores.shape)}"
        )
    if negative_scores.dim() > 2 or (
        negative_scores.dim() == 2 and len(negative_scores) != len(positive_scores)
    ):
        raise ValueError(
            f"negative_scores must have shape (k,) or (B, k) with B = "
            f"{len(positive_scores)}, got {tuple(negative_scores.shape)}"
        )
    negatives = negative_scores.expand(len(positive_scores), -1)
    positives = positive_scores
    if log_q_positive is not None:
        positives = positives - log_q_positive
    if log_q_negative is not None:
        negatives = negatives - log_q_negative
    if accidental_hits is not None:
        negatives = negatives.masked_fill(accidental_hits, float("-inf"))
    logits = torch.cat([positives.unsqueeze(-1), negatives], dim=-1)
    return reduce(torch.logsumexp(logits, dim=-1) - positives, reduction)


STRATEGIES = (
    "full softmax",
    "in-batch",
    "in-batch + logQ",
    "uniform",
    "exact hard",
    "mined (hardest in pool)",
)


class Retriever(torch.nn.Module):
    """Query tower + label table: score(x, l) = ⟨W x, e_l⟩. The table is an
    ``nn.Embedding`` with sparse gradients, so a sampled step touches only the rows it
    uses and its cost does not grow with L.
    """

    def __init__(
        self, input_dim: int, embed_dim: int, num_labels: int, init_seed: int = 0
    ):
        super().__init__()
        g = torch.Generator().manual_seed(init_seed)
        self.query = torch.nn.Linear(input_dim, embed_dim, bias=False)
        self.labels = torch.nn.Embedding(num_labels, embed_dim, sparse=True)
        with torch.no_grad():
            self.query.weight.normal_(0, input_dim**-0.5, generator=g)
            self.labels.weight.normal_(0, embed_dim**-0.5, generator=g)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.query(x)

    def all_scores(self, queries: torch.Tensor) -> torch.Tensor:
        """The B × L scores of the full softmax."""
        return queries @ self.labels.weight.T

    def scores(self, queries: torch.Tensor, label_ids: torch.Tensor) -> torch.Tensor:
        """Scores of chosen labels: ``label_ids`` (k,) shared → (B, k); (B, k) per row →
        (B, k).
        """
        table = self.labels(label_ids)
        return (
            queries @ table.T
            if label_ids.dim() == 1
            else torch.einsum("bd,bkd->bk", queries, table)
        )


def choose_negatives(
    strategy: str,
    labels: torch.Tensor,
    score: Callable[[torch.Tensor | None], torch.Tensor],
    *,
    k: int,
    num_labels: int,
    generator: torch.Generator,
    pool_size: int = 0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The negatives of one batch under a sampling ``strategy`` (one of ``STRATEGIES``
    but the full softmax) and their accidental hits: (negatives, hits).

    ``negatives`` is (k,) shared by the batch or (B, k) per row; ``hits`` (B, k) marks
    a negative equal to the row's positive. ``score(label_ids)`` gives the (B, m) scores
    of m labels, or all B × L scores for ``None`` (exact hard negatives need them).
    """
    if strategy in ("in-batch", "in-batch + logQ"):
        negatives = in_batch_negatives(labels)
    elif strategy == "uniform":
        negatives = uniform_negatives(k, num_labels, generator)
    elif strategy == "exact hard":
        negatives = hard_negatives(score(None), labels, k)
    elif strategy == "mined (hardest in pool)":
        _check_k(pool_size, num_labels, "pool_size")
        pool = uniform_negatives(pool_size, num_labels, generator)
        negatives = mined_negatives(score(pool), pool, labels, k)
    else:
        raise ValueError(f"strategy must be one of {STRATEGIES[1:]}, got {strategy!r}")
    return negatives, labels.unsqueeze(1) == negatives.expand(len(labels), -1)


def strategy_loss(
    strategy: str,
    model: Retriever,
    queries: torch.Tensor,
    labels: torch.Tensor,
    *,
    k: int,
    generator: torch.Generator,
    log_prior: torch.Tensor | None = None,
    pool_size: int = 0,
) -> torch.Tensor:
    """The training loss of one step under a negative-sampling ``strategy`` (one of
    ``STRATEGIES``); "in-batch + logQ" subtracts ``log_prior`` from every score.
    """
    if strategy == "full softmax":
        return torch.nn.functional.cross_entropy(model.all_scores(queries), labels)
    negatives, hits = choose_negatives(
        strategy,
        labels,
        lambda ids: (
            model.all_scores(queries) if ids is None else model.scores(queries, ids)
        ),
        k=k,
        num_labels=model.labels.num_embeddings,
        generator=generator,
        pool_size=pool_size,
    )
    positives = (queries * model.labels(labels)).sum(-1)
    log_q = [None, None]
    if strategy == "in-batch + logQ":
        log_q = [log_prior[labels], log_prior[negatives]]
    return sampled_softmax_loss(
        positives, model.scores(queries, negatives), hits, *log_q
    )


def head_labels(label_prior: torch.Tensor, mass: float = 0.5) -> torch.Tensor:
    """Boolean mask of the *head*: the most frequent labels that together carry ``mass``
    of the examples.
    """
    mass = check.unit_interval(mass, "mass")
    check.nonnegative(check.tensor(label_prior, "label_prior"), "label_prior")
    order = label_prior.argsort(descending=True)
    in_head = label_prior[order].cumsum(0) - label_prior[order] < mass
    mask = torch.zeros(len(label_prior), dtype=torch.bool)
    mask[order[in_head]] = True
    return mask


def recall_at_1(
    model: Retriever, inputs: torch.Tensor, labels: torch.Tensor, chunk: int = 4096
) -> torch.Tensor:
    """Per example, 1.0 if the top-scoring label over all L labels is the true one
    (scored in chunks).
    """
    with torch.no_grad():
        hits = [
            model.all_scores(model(x)).argmax(-1) == y
            for x, y in zip(inputs.split(chunk), labels.split(chunk))
        ]
    return torch.cat(hits).double()


def step_time(
    num_labels: int,
    strategy: str,
    *,
    dim: int = 64,
    batch_size: int = 256,
    k: int = 1024,
    repeats: int = 3,
    seed: int = 0,
    clock: Callable[[], float] = time.perf_counter,
) -> float:
    """Median seconds of one training step (forward, backward, Adagrad update) of a
    Retriever with
    ``num_labels`` labels under ``strategy`` ("full softmax" or "uniform"), on random
    data.

    ``clock`` reads the time: wall-clock seconds by default; ``time.process_time``
    counts only this process's CPU seconds, so a step's cost (B × L scores for the full
    softmax, B × (1 + k) sampled; slide "Negative sampling") does not change when
    other programs share the CPU.
    """
    if not callable(clock):
        raise ValueError(
            f"clock must be a function returning seconds, got {type(clock).__name__}"
        )
    g = torch.Generator().manual_seed(seed)
    model = Retriever(dim, dim, num_labels, init_seed=seed)
    optimiser = torch.optim.Adagrad(model.parameters(), lr=0.1)
    x, y = (
        torch.randn(batch_size, dim, generator=g),
        torch.randint(0, num_labels, (batch_size,), generator=g),
    )
    times = []
    for _ in range(repeats + 1):  # the first step warms up
        start = clock()
        loss = strategy_loss(
            strategy, model, model(x), y, k=min(k, num_labels - 1), generator=g
        )
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        with torch.sparse.check_sparse_tensor_invariants(enable=False):  # as train()
            optimiser.step()
        times.append(clock() - start)
    return sorted(times[1:])[len(times[1:]) // 2]


def hardest_overlap(
    scores_a: torch.Tensor, scores_b: torch.Tensor, labels: torch.Tensor, k: int
) -> torch.Tensor:
    """Per query, the share of its k hardest negatives under ``scores_a`` that are also
    among its k hardest under ``scores_b``, shape (B,):

        |H_k(a) ∩ H_k(b)| / k,   H_k(s) = the k highest-scoring wrong labels of s.

    Slide "Finding hard-negatives": "this set changes as training progresses". With the
    scores of two checkpoints, 1 means the same hard negatives, 0 none in common.
    """
    check.same_shape(scores_a, scores_b, "scores_a", "scores_b")
    hard_a = hard_negatives(scores_a, labels, k)
    hard_b = hard_negatives(scores_b, labels, k)
    shared = (hard_a.unsqueeze(-1) == hard_b.unsqueeze(-2)).any(-1)
    return shared.double().sum(-1) / k


def score_recorder(
    model: Retriever, queries: torch.Tensor
) -> tuple[list[torch.Tensor], Callable[[int], None]]:
    """(snapshots, record): ``record(epoch)`` appends the model's B × L scores of
    ``queries`` to ``snapshots``; pass it as ``training.train(..., on_epoch=record)``
    to keep one checkpoint's scores per epoch (and call it once before training).
    """
    check.tensor(queries, "queries", min_dim=2)
    snapshots: list[torch.Tensor] = []

    def record(epoch: int = 0) -> None:
        with torch.no_grad():
            snapshots.append(model.all_scores(model(queries)).clone())

    return snapshots, record
