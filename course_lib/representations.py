"""Matryoshka representations: one embedding whose prefixes are embeddings too.

Kusupati et al., NeurIPS 2022, "Matryoshka Representation Learning" (MRL): train an
encoder z = f(x) ∈ R^D with a classifier on each nested prefix z_{1:m}, m ∈ M = {2, 4,
…, D}, so that a deployment may keep only the first m coordinates. On ImageNet
(ResNet-50) the first 8 of 2,048 coordinates keep 66.6 % top-1 where a model trained
for 8 dimensions gets 65.3 % and an SVD of an ordinary embedding 2.3 %; at full size
76.8 % vs 76.9 %.

The baselines of the paper, at digits scale: **truncating** an ordinary embedding,
**PCA** of it (the paper's SVD) with a **refitted linear probe**, and a model trained
**separately** for each size. Accuracy is read with a linear head and with cosine
1-nearest-neighbour. **Adaptive retrieval** (the paper's "funnel"): shortlist the
database with a short prefix, re-rank the shortlist with all D coordinates; its cost
is counted in multiply-adds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from . import _validate as check
from .losses import softmax_cross_entropy
from .training import EnsembleMLP, derived_seeds, own_targets, train

NESTED_SIZES = (2, 4, 8, 16, 32)  # the prefixes m ∈ M of the digits experiments


def _nested_sizes(nested_sizes: Sequence[int], dim: int) -> tuple[int, ...]:
    """Strictly increasing whole numbers in [1, dim]."""
    sizes = tuple(nested_sizes)
    if not sizes:
        raise ValueError("nested_sizes must list at least one prefix size")
    for m in sizes:
        check.count(m, "nested_sizes")
    if list(sizes) != sorted(set(sizes)) or sizes[-1] > dim:
        raise ValueError(
            f"nested_sizes must increase strictly and stay <= {dim} (the embedding's "
            f"size), got {list(sizes)}"
        )
    return sizes


def _prefix(m: int, dim: int, name: str) -> int:
    """A prefix size in [1, dim]."""
    check.count(m, name)
    if m > dim:
        raise ValueError(f"{name} must be <= {dim} (the embedding's size), got {m}")
    return m


# ---------------------------------------------------------------------------------
# the nested loss and the model


def prefix_weights(
    nested_sizes: Sequence[int] = NESTED_SIZES, train_at: int | None = None
) -> torch.Tensor:
    """The weights c_m of the nested loss, one per prefix: 1 at every m (Matryoshka,
    Kusupati et al. 2022 use c_m = 1), or 1 only at m = ``train_at`` (a model trained
    for that one size; ``train_at`` = D is the ordinary model).
    """
    sizes = _nested_sizes(nested_sizes, max(nested_sizes, default=1))
    if train_at is None:
        return torch.ones(len(sizes))
    if check.count(train_at, "train_at") not in sizes:
        raise ValueError(f"train_at must be one of nested_sizes {list(sizes)}")
    return torch.tensor([float(m == train_at) for m in sizes])


def nested_cross_entropy(
    logits: torch.Tensor, labels: torch.Tensor, weights: torch.Tensor | None = None
) -> torch.Tensor:
    """The Matryoshka loss L = Σ_{m ∈ M} c_m · (1/B) Σ_i CE(y_i, W_m z_i[:m] + b_m)
    (Kusupati et al. 2022, eq. 1): the cross-entropy of each prefix's head, summed.

    ``logits`` are (…, P, B, C), one (B, C) block per prefix; ``labels`` are (…, B)
    (the same leading dims, e.g. one row per ensemble member, or none); ``weights``
    c_m ≥ 0 are (P,) or (…, P), default 1. Returns the weighted sum, averaged over the
    leading dims (the members).
    """
    check.logits(logits)
    check.predictions(labels, "labels")
    if logits.dim() < 3:
        raise ValueError(
            f"logits must be (…, P, B, C), one block per prefix, got shape "
            f"{tuple(logits.shape)}"
        )
    if labels.shape != logits.shape[:-3] + logits.shape[-2:-1]:
        expected = tuple(logits.shape[:-3] + logits.shape[-2:-1])
        raise ValueError(
            f"labels has shape {tuple(labels.shape)} but logits has shape "
            f"{tuple(logits.shape)}: expected labels of shape {expected}"
        )
    per_prefix = softmax_cross_entropy(
        logits, labels.unsqueeze(-2).expand(logits.shape[:-1]), "none"
    ).mean(-1)  # (…, P)
    if weights is None:
        weights = torch.ones(logits.shape[-3], device=logits.device)
    check.nonnegative(check.tensor(weights, "weights"), "weights")
    if weights.shape not in (per_prefix.shape[-1:], per_prefix.shape):
        raise ValueError(
            f"weights has shape {tuple(weights.shape)} but logits has shape "
            f"{tuple(logits.shape)}: expected ({logits.shape[-3]},), one c_m per "
            f"prefix, or {tuple(per_prefix.shape)}, one row per member"
        )
    return (weights.to(per_prefix) * per_prefix).sum(-1).mean()


class NestedHeads(nn.Module):
    """One linear classifier per prefix, for K members: logits_m = z[:m] W_m + b_m
    (Kusupati et al. 2022, MRL with a separate head per size).

    ``forward(z)`` takes embeddings (K, B, D), or (B, D) shared by every member, or
    (K, B, K, D): the rows of per-member embeddings (N, K, D) picked by a (K, b) batch
    of ``train``, of which member k keeps its own (``training.own_targets``). Returns
    logits (K, P, B, C). Weights are uniform in ±1/√m (PyTorch's Linear default),
    member k's from ``init_seeds[k]``.
    """

    def __init__(
        self,
        dim: int,
        num_classes: int,
        init_seeds: Sequence[int],
        nested_sizes: Sequence[int] = NESTED_SIZES,
    ):
        super().__init__()
        check.count(num_classes, "num_classes")
        self.nested_sizes = _nested_sizes(nested_sizes, check.count(dim, "dim"))
        if len(init_seeds) < 1:
            raise ValueError("init_seeds must give one seed per member (at least one)")
        gens = [torch.Generator().manual_seed(s) for s in init_seeds]
        draw = lambda shape, bound: torch.stack(  # noqa: E731
            [(2 * torch.rand(shape, generator=g) - 1) * bound for g in gens]
        )
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for m in self.nested_sizes:
            self.weights.append(nn.Parameter(draw((m, num_classes), 1 / math.sqrt(m))))
            self.biases.append(nn.Parameter(draw((1, num_classes), 1 / math.sqrt(m))))
        self.sizes, self.members = [dim, num_classes], len(init_seeds)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if z.dim() == 4:
            z = own_targets(z)
        if z.dim() == 2:
            z = z.expand(self.members, -1, -1)
        blocks = [
            torch.baddbmm(b, z[..., :m], w)
            for m, w, b in zip(self.nested_sizes, self.weights, self.biases)
        ]
        return torch.stack(blocks, 1)


class MatryoshkaMLP(nn.Module):
    """K encoders trained at once (an ``EnsembleMLP`` of ``sizes`` whose last, linear
    layer is the D-dimensional embedding z) with ``NestedHeads`` on its prefixes.

    ``embed(x)`` is z, (K, B, D); ``forward(x)`` the logits of every prefix, (K, P, B,
    C). Trained with ``nested_cross_entropy`` and per-member weights c_m, one ensemble
    holds Matryoshka models, ordinary models and models trained for one size m (the
    coordinates past m then get no gradient: an m-dimensional model).
    """

    def __init__(
        self,
        sizes: Sequence[int],
        num_classes: int,
        init_seeds: Sequence[int],
        nested_sizes: Sequence[int] = NESTED_SIZES,
    ):
        super().__init__()
        self.encoder = EnsembleMLP(sizes, list(init_seeds), dropout=0.0)
        heads_seeds = [s + 10_000 for s in init_seeds]  # heads: a stream of their own
        self.heads = NestedHeads(sizes[-1], num_classes, heads_seeds, nested_sizes)
        self.sizes, self.members = list(sizes), len(init_seeds)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.heads(self.embed(x))


def fit_nested(
    model: nn.Module,
    inputs: torch.Tensor,
    labels: torch.Tensor,
    weights: torch.Tensor,
    *,
    epochs: int,
    seed: int | Sequence[int] = 0,
    **train_kwargs,
) -> nn.Module:
    """Train a ``MatryoshkaMLP`` or ``NestedHeads`` on the nested loss Σ_m c_m ·
    CE(y, head_m(z[:m])) (``nested_cross_entropy``, Kusupati et al. 2022) with
    per-member weights c of shape (K, P), on the course's loop (``training.train``;
    data order from ``derived_seeds(seed)``), and return it in eval mode.
    """
    members = model.members
    weights = check.tensor(weights, "weights", min_dim=2)
    if weights.shape[0] != members:
        raise ValueError(
            f"weights has {weights.shape[0]} rows but the model has {members} members"
        )
    seeds = [seed] * members if isinstance(seed, int) else list(seed)
    if len(seeds) != members:
        raise ValueError(
            f"seed gives {len(seeds)} seeds but the model has {members} members"
        )
    data_seed = derived_seeds(seeds)["data_seed"]

    def loss(logits, batch_labels):
        return nested_cross_entropy(logits, batch_labels, weights)

    train(
        model, inputs, labels, loss, epochs=epochs, data_seed=data_seed, **train_kwargs
    )
    return model


def fit_probes(
    train_embeddings: torch.Tensor,
    labels: torch.Tensor,
    num_classes: int,
    *,
    epochs: int,
    seed: int = 0,
    nested_sizes: Sequence[int] = NESTED_SIZES,
    **train_kwargs,
) -> NestedHeads:
    """A linear classifier refitted on each prefix of fixed embeddings (K, N, D), one
    set per member: the paper's linear probe on SVD features (Kusupati et al. 2022,
    fig. 2), trained with cross-entropy on the course's loop.
    """
    check.tensor(train_embeddings, "train_embeddings", min_dim=3)
    members, n, dim = train_embeddings.shape
    check.labels_per_row(labels, n, "labels", "train_embeddings")
    check.in_range(labels, check.count(num_classes, "num_classes"), "labels")
    seeds = [seed + k for k in range(members)]
    heads = NestedHeads(dim, num_classes, seeds, nested_sizes)
    weights = torch.ones(members, len(heads.nested_sizes))
    rows = train_embeddings.detach().transpose(0, 1).contiguous()  # (N, K, D)
    return fit_nested(
        heads, rows, labels, weights, epochs=epochs, seed=seeds, **train_kwargs
    )


@torch.no_grad()
def embed(model: MatryoshkaMLP, inputs: torch.Tensor) -> torch.Tensor:
    """The K members' embeddings z = f(x) of ``inputs``, (K, N, D), in eval mode: the
    vector a deployment stores and truncates (Kusupati et al. 2022).
    """
    model.eval()
    return model.embed(inputs)


# ---------------------------------------------------------------------------------
# truncation and PCA


def truncate(embeddings: torch.Tensor, m: int) -> torch.Tensor:
    """The first m coordinates z[:m] (Kusupati et al. 2022): what a deployment keeps."""
    check.tensor(embeddings, "embeddings")
    return embeddings[..., : _prefix(m, embeddings.shape[-1], "m")]


def principal_axes(
    embeddings: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """PCA of (…, N, D) training embeddings: their mean μ (…, 1, D) and the principal
    axes V (…, D, D), the covariance's eigenvectors by decreasing variance, each signed
    so that its largest entry is positive (one answer per data set). PCA coordinates
    (z − μ) V, truncated to m, are the best m-dimensional linear view of z in squared
    error: the paper's SVD baseline (Kusupati et al. 2022).
    """
    z = check.tensor(embeddings, "embeddings", min_dim=2).double()
    check.finite(z, "embeddings")
    mean = z.mean(-2, keepdim=True)
    centred = z - mean
    covariance = centred.transpose(-1, -2) @ centred / max(z.shape[-2] - 1, 1)
    _, axes = torch.linalg.eigh(covariance)  # ascending eigenvalues
    axes = axes.flip(-1)
    top = axes.abs().argmax(-2, keepdim=True)
    axes = axes * axes.gather(-2, top).sign()
    return mean.to(embeddings.dtype), axes.to(embeddings.dtype)


def pca_coordinates(
    embeddings: torch.Tensor, mean: torch.Tensor, axes: torch.Tensor
) -> torch.Tensor:
    """(z − μ) V: embeddings in the principal axes of ``principal_axes`` (truncate
    them to keep the m directions of largest variance).
    """
    check.tensor(embeddings, "embeddings")
    if axes.shape[-1] != embeddings.shape[-1] or mean.shape[-1] != axes.shape[-1]:
        raise ValueError(
            f"axes has shape {tuple(axes.shape)} but embeddings has "
            f"{embeddings.shape[-1]} coordinates"
        )
    return (embeddings - mean) @ axes


# ---------------------------------------------------------------------------------
# nearest neighbours and retrieval


def _search(queries: torch.Tensor, database: torch.Tensor) -> None:
    """Float (…, Q, D) queries and (…, N, D) database rows with the same D."""
    check.tensor(queries, "queries", min_dim=2)
    check.tensor(database, "database", min_dim=2)
    if queries.shape[-1] != database.shape[-1]:
        raise ValueError(
            f"queries have {queries.shape[-1]} coordinates but database rows have "
            f"{database.shape[-1]}"
        )


def cosine_scores(queries: torch.Tensor, database: torch.Tensor) -> torch.Tensor:
    """cos(q, d) = q·d / (‖q‖ ‖d‖) for every query and database row: (…, Q, N) from
    (…, Q, D) and (…, N, D). A zero vector scores 0. The same normalisation as
    ``distillation.similarity_matrix`` (a batch against itself, for relational
    distillation); here two sets, with leading dims for the members.
    """
    _search(queries, database)
    unit = lambda x: torch.nn.functional.normalize(x, dim=-1)  # noqa: E731
    return unit(queries) @ unit(database).transpose(-1, -2)


def euclidean_scores(queries: torch.Tensor, database: torch.Tensor) -> torch.Tensor:
    """−‖q − d‖ for every query and database row, (…, Q, N): higher is nearer, so the
    nearest neighbour is the arg-max, as with ``cosine_scores``. Unlike a cosine it
    keeps the lengths: with m = 2 coordinates a cosine reads one angle only.
    """
    _search(queries, database)
    return -torch.cdist(queries, database)


SCORES = {"cosine": cosine_scores, "euclidean": euclidean_scores}


def nearest_neighbour_accuracy(
    train_embeddings: torch.Tensor,
    train_labels: torch.Tensor,
    test_embeddings: torch.Tensor,
    test_labels: torch.Tensor,
    metric: str = "cosine",
) -> float | torch.Tensor:
    """1-nearest-neighbour accuracy: ŷ(q) = y_n with n = argmax_n s(q, d_n) over the
    training embeddings, averaged 1[ŷ = y]; s is cos(q, d) (``metric`` "cosine", the
    paper's 1-NN evaluation, Kusupati et al. 2022) or −‖q − d‖ ("euclidean"). A float
    for (N, D) embeddings, a (K,) tensor for (K, N, D).
    """
    if metric not in SCORES:
        raise ValueError(f"metric must be one of {sorted(SCORES)}, got {metric!r}")
    scores = SCORES[metric](test_embeddings, train_embeddings)
    check.labels_per_row(
        train_labels, scores.shape[-1], "train_labels", "train_embeddings"
    )
    check.labels_per_row(
        test_labels, scores.shape[-2], "test_labels", "test_embeddings"
    )
    right = (train_labels[scores.argmax(-1)] == test_labels).double().mean(-1)
    return right.item() if right.dim() == 0 else right


def shortlist_then_rerank(
    queries: torch.Tensor,
    database: torch.Tensor,
    shortlist_dims: int,
    shortlist_size: int,
) -> torch.Tensor:
    """Adaptive retrieval (Kusupati et al. 2022, §5.2, the "funnel"): rank the database
    by cos(q[:m], d[:m]) with m = ``shortlist_dims``, keep the top k =
    ``shortlist_size``, re-rank those k by cos(q, d) on all D coordinates. Returns the
    index of each query's winner, (…, Q).
    """
    _search(queries, database)
    _prefix(shortlist_dims, queries.shape[-1], "shortlist_dims")
    short = cosine_scores(queries[..., :shortlist_dims], database[..., :shortlist_dims])
    k = _prefix(shortlist_size, short.shape[-1], "shortlist_size")
    candidates = short.topk(k, dim=-1).indices  # (…, Q, k)
    # full scores of the candidates only (a deployment computes just these k)
    full = cosine_scores(queries, database).gather(-1, candidates)
    return candidates.gather(-1, full.argmax(-1, keepdim=True)).squeeze(-1)


def funnel_recall(
    queries: torch.Tensor,
    database: torch.Tensor,
    shortlist_dims: int,
    shortlist_sizes: Sequence[int],
    shortlist: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> torch.Tensor:
    """Recall of the funnel against exhaustive search: for each shortlist size k, the
    fraction of queries whose re-ranked winner is as close (cosine, all D coordinates)
    as the exact nearest neighbour. (…, len(shortlist_sizes)); the same winners as
    ``shortlist_then_rerank``, for every k from one sort (a running maximum).
    ``shortlist``, if given, is another view (queries, database) of the same rows, e.g.
    PCA coordinates, whose first ``shortlist_dims`` coordinates build the shortlist.
    """
    _search(queries, database)
    _prefix(shortlist_dims, queries.shape[-1], "shortlist_dims")
    full = cosine_scores(queries, database)
    view_q, view_db = (queries, database) if shortlist is None else shortlist
    if (
        view_q.shape[:-1] != queries.shape[:-1]
        or view_db.shape[:-1] != database.shape[:-1]
    ):
        raise ValueError(
            "shortlist must view the same rows as queries and database: got shapes "
            f"{tuple(view_q.shape)} and {tuple(view_db.shape)}"
        )
    _prefix(shortlist_dims, view_q.shape[-1], "shortlist_dims")
    short = cosine_scores(view_q[..., :shortlist_dims], view_db[..., :shortlist_dims])
    ks = [_prefix(k, full.shape[-1], "shortlist_sizes") for k in shortlist_sizes]
    order = short.argsort(dim=-1, descending=True, stable=True)
    best_so_far = full.gather(-1, order).cummax(-1).values  # best of the top k
    found = best_so_far[..., [k - 1 for k in ks]]
    return (found >= full.max(-1, keepdim=True).values).double().mean(-2)


def retrieval_cost(
    database_size: int, dim: int, shortlist_dims: int, shortlist_size: int
) -> int:
    """Multiply-adds per query of the funnel: N·m to score the whole database on m =
    ``shortlist_dims`` coordinates, plus k·D to re-rank k = ``shortlist_size`` rows on
    all D (exhaustive search: N·D; Kusupati et al. 2022, §5.2); k = 0 gives the
    shortlist stage alone. Norms and the top-k selection are not counted.
    """
    n = check.count(database_size, "database_size")
    m = _prefix(shortlist_dims, check.count(dim, "dim"), "shortlist_dims")
    k = check.count(shortlist_size, "shortlist_size", minimum=0)
    if k > n:
        raise ValueError(f"shortlist_size must be <= {n} (database_size), got {k}")
    return n * m + k * dim
