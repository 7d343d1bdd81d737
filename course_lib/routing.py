"""Mixture-of-experts routing: which expert processes which token.

Two routers over the same gate probabilities p(x) = softmax(x W_g) (one per expert):

- **token choice** (Switch Transformer, Fedus et al., JMLR 2022: top-1; GShard, Lepikhin
  et al., ICLR 2021: top-2): each token picks its top experts; an expert takes at most
  C = ⌊top_k · c · n / E⌋ tokens of a batch of n, the rest overflow and are dropped;
  an auxiliary balance loss pushes the router toward even loads;
- **expert choice** (Zhou et al., NeurIPS 2022): each expert picks its top k = ⌊c · n /
  E⌋ tokens of the batch: every load is exactly k, a token gets 0 to E experts, and a
  token's routing depends on the other tokens of its batch.

The MoE layer computes every expert densely and masks the result (a simulation of
conditional compute that costs nothing at this scale). A token no expert processes gets
zero from the experts: in a Transformer the residual connection carries it on unchanged;
here the layer's optional ``skip`` path (a shared linear head every token gets) plays
that part, and without it a dropped token's logits are all zero.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from . import _validate as check
from .losses import softmax_cross_entropy
from .training import accuracy

ROUTERS = ("token choice", "expert choice")


@dataclass(frozen=True)
class Routing:
    """A routing of n tokens to E experts.

    ``chosen`` (n, E): the experts each token asked for (token choice) or was picked by
    (expert choice); ``dispatch`` (n, E): the (token, expert) pairs actually computed
    (token choice: ``chosen`` minus capacity overflow); ``weights`` (n, E): the gate
    values that scale each expert's output, zero off ``dispatch``.
    """

    chosen: torch.Tensor
    dispatch: torch.Tensor
    weights: torch.Tensor

    def rows(self, index: torch.Tensor) -> Routing:
        """The routing of the tokens ``index`` (a subset or a reordering)."""
        return Routing(self.chosen[index], self.dispatch[index], self.weights[index])


def expert_capacity(
    num_tokens: int, num_experts: int, capacity_factor: float, top_k: int = 1
) -> int:
    """Tokens an expert may take from a batch: ⌊top_k · c · n / E⌋, at least 1.

    Switch (top-1) and GShard (top-2) size each expert's buffer this way; expert choice
    (Zhou et al., NeurIPS 2022) lets every expert take exactly k = ⌊c · n / E⌋ tokens.
    """
    check.count(num_tokens, "num_tokens")
    check.count(num_experts, "num_experts")
    check.count(top_k, "top_k")
    c = check.positive(capacity_factor, "capacity_factor")
    return max(1, int(top_k * c * num_tokens / num_experts))


def _router_logits(router_logits: torch.Tensor) -> torch.Tensor:
    check.logits(router_logits, "router_logits")
    return check.layout(router_logits, "router_logits", "tokens", "experts")


def token_choice(
    router_logits: torch.Tensor, capacity_factor: float, top_k: int = 1
) -> Routing:
    """Each token picks its ``top_k`` experts by gate p(x) = softmax(router_logits);
    each expert keeps the first C = ⌊top_k · c · n / E⌋ tokens that picked it, the
    rest overflow (dropped).

    Buffer slots go to all first choices before any second choice, and within a choice
    by position in the batch (GShard, Lepikhin et al., ICLR 2021). For top_k = 1 a
    token's routing depends only on itself and the tokens BEFORE it; for top_k > 1 its
    second slot also depends on the LATER tokens' first choices, which fill the buffers
    first (logits [[2, 1], [0, 3]] vs [[2, 1], [3, 0]] at c = 0.5, top_k = 2: token 0
    gets experts [0] vs [0, 1]). The weights are the gates p_e(x)
    (Switch, Fedus et al., JMLR 2022) for top-1, and the gates renormalised over the
    chosen experts for top_k > 1 (GShard).
    """
    n, num_experts = _router_logits(router_logits).shape
    check.count(top_k, "top_k")
    if top_k > num_experts:
        raise ValueError(f"top_k must be <= the {num_experts} experts, got {top_k}")
    capacity = expert_capacity(n, num_experts, capacity_factor, top_k)
    probs = torch.softmax(router_logits, -1)
    picks = probs.detach().topk(top_k, dim=-1).indices  # (n, top_k)
    chosen = torch.zeros(n, num_experts, dtype=torch.bool, device=probs.device)
    chosen.scatter_(1, picks, True)
    dispatch = torch.zeros_like(chosen)
    used = torch.zeros(num_experts, dtype=torch.long)  # buffer slots taken
    for rank in range(top_k):
        wants = nn.functional.one_hot(picks[:, rank], num_experts).bool()
        slot = wants.long().cumsum(0) - 1 + used.to(wants.device)  # place in buffer
        kept = wants & (slot < capacity)
        dispatch |= kept
        used += kept.sum(0).cpu()
    gates = probs * chosen
    if top_k > 1:
        gates = gates / gates.sum(-1, keepdim=True)
    return Routing(chosen, dispatch, gates * dispatch)


def even_drop_rate(num_tokens: int, num_experts: int, capacity_factor: float) -> float:
    """Share of tokens a perfectly even top-1 router drops: each token picks an expert
    uniformly at random, so an expert's load is B ~ Bin(n, 1/E), and the expected drop
    rate is E · E[max(B − C, 0)] / n with C = ⌊c · n / E⌋ (``expert_capacity``).

    The floor that skew and imbalance add to: at c = 1 and n / E = 32 it is 6.6 %,
    why Switch (Fedus et al., JMLR 2022) trains at c = 1 to 1.25 and not below.
    """
    n, e = (
        check.count(num_tokens, "num_tokens"),
        check.count(num_experts, "num_experts"),
    )
    capacity = expert_capacity(n, e, capacity_factor)
    p = 1.0 / e
    excess = sum(
        math.comb(n, b) * p**b * (1 - p) ** (n - b) * (b - capacity)
        for b in range(capacity + 1, n + 1)
    )
    return e * excess / n


def expert_choice(router_logits: torch.Tensor, capacity_factor: float) -> Routing:
    """Each expert picks the k = ⌊c · n / E⌋ tokens with the largest gate p_e(x) =
    softmax(router_logits)_e (Zhou et al., NeurIPS 2022, "Mixture-of-Experts with Expert
    Choice Routing"): every expert's load is exactly k, a token may get 0 to E experts.

    The top-k runs over the batch, so a token's experts depend on its companions: fine
    for training and batched encoding, impossible for causal (token-by-token) decoding.
    """
    n, num_experts = _router_logits(router_logits).shape
    if check.positive(capacity_factor, "capacity_factor") > num_experts:
        raise ValueError(
            f"capacity_factor must be <= the {num_experts} experts (k <= n), got "
            f"{capacity_factor}"
        )
    k = expert_capacity(n, num_experts, capacity_factor)
    probs = torch.softmax(router_logits, -1)
    picks = probs.detach().topk(k, dim=0).indices  # (k, E)
    dispatch = torch.zeros(n, num_experts, dtype=torch.bool, device=probs.device)
    dispatch.scatter_(0, picks, True)
    return Routing(dispatch, dispatch, probs * dispatch)


def route(
    router: str,
    router_logits: torch.Tensor,
    capacity_factor: float,
    top_k: int | None = None,
) -> Routing:
    """``token_choice`` (top_k experts per token, 1 unless given) or ``expert_choice``
    (no top_k: a token gets as many experts as pick it) by name (one of ``ROUTERS``)."""
    if router == "token choice":
        return token_choice(router_logits, capacity_factor, top_k or 1)
    if router == "expert choice":
        if top_k is not None:
            raise ValueError(
                f"top_k is for token choice; expert choice gives each token a variable "
                f"number of experts, so leave top_k None (got {top_k})"
            )
        return expert_choice(router_logits, capacity_factor)
    raise ValueError(f"router must be one of {ROUTERS}, got {router!r}")


def balance_loss(router_probs: torch.Tensor) -> torch.Tensor:
    """Switch Transformer's auxiliary load-balancing loss E · Σ_e f_e · P_e (Fedus et
    al., JMLR 2022, eq. 4): f_e the fraction of tokens whose first choice is expert e,
    P_e the mean gate p_e(x). It is 1 for a perfectly even router and up to E when one
    expert takes everything; only P carries a gradient.
    """
    check.probabilities(router_probs, "router_probs")
    num_experts = router_probs.shape[-1]
    first = nn.functional.one_hot(router_probs.detach().argmax(-1), num_experts)
    f = first.float().mean(0)
    return num_experts * (f * router_probs.mean(0)).sum()


class MixtureOfExperts(nn.Module):
    """A mixture-of-experts layer: a linear router x ↦ x W_g, E experts (each an MLP
    ``dim`` → ``hidden`` → ``out``), output y(x) = Σ_e w_e(x) · expert_e(x) with w from
    ``route`` (Shazeer et al., ICLR 2017; Switch; expert choice). With ``skip``, a
    shared linear head every token gets is added: y(x) = x W_s + b_s + Σ_e …, so a
    token no expert processes still gets the head's prediction (the part the residual
    connection plays in Switch, which carries a dropped token on unchanged).

    ``top_k`` (token choice only; 1 unless given) is the experts each token asks for.
    ``forward`` keeps the batch's routing in ``last_routing`` and the balance loss in
    ``aux_loss`` (for ``moe_loss``). Weights are uniform in ±1/√fan_in from
    ``init_seed``, like the course's MLP (the experts' do not depend on ``skip``).
    """

    def __init__(
        self,
        dim: int,
        hidden: int,
        out: int,
        num_experts: int,
        *,
        router: str = "token choice",
        capacity_factor: float = 1.0,
        top_k: int | None = None,
        skip: bool = False,
        init_seed: int = 0,
    ):
        super().__init__()
        for name, value in (("dim", dim), ("hidden", hidden), ("out", out)):
            check.count(value, name)
        check.count(num_experts, "num_experts", minimum=2)
        route(router, torch.zeros(num_experts, num_experts), capacity_factor, top_k)
        self.router, self.capacity_factor, self.top_k = router, capacity_factor, top_k
        self.sizes, self.num_experts = [dim, hidden, out], num_experts
        g = torch.Generator().manual_seed(init_seed)

        def uniform(*shape, fan_in):
            bound = fan_in**-0.5
            return nn.Parameter((2 * torch.rand(*shape, generator=g) - 1) * bound)

        self.gate = uniform(dim, num_experts, fan_in=dim)
        self.w1 = uniform(num_experts, dim, hidden, fan_in=dim)
        self.b1 = uniform(num_experts, 1, hidden, fan_in=dim)
        self.w2 = uniform(num_experts, hidden, out, fan_in=hidden)
        self.b2 = uniform(num_experts, 1, out, fan_in=hidden)
        self.skip_w = uniform(dim, out, fan_in=dim) if skip else None
        self.skip_b = uniform(out, fan_in=dim) if skip else None
        self.last_routing: Routing | None = None
        self.aux_loss = torch.zeros(())

    def tokens(self, x: torch.Tensor, name: str = "x") -> torch.Tensor:
        """Check that ``x`` is a batch of tokens, shape exactly (n, dim)."""
        check.tensor(x, name, min_dim=2)
        if x.dim() != 2 or x.shape[1] != self.sizes[0]:
            raise ValueError(
                f"{name} must be (tokens, {self.sizes[0]}), got shape {tuple(x.shape)}"
            )
        return x

    def route(self, x: torch.Tensor, capacity_factor: float | None = None) -> Routing:
        """The routing of the batch ``x`` (n, dim), at the layer's capacity factor
        unless another is given."""
        c = self.capacity_factor if capacity_factor is None else capacity_factor
        return route(self.router, self.tokens(x) @ self.gate, c, self.top_k)

    def experts(self, x: torch.Tensor) -> torch.Tensor:
        """Every expert on every token: (E, n, out)."""
        h = torch.relu(
            torch.baddbmm(self.b1, x.expand(self.num_experts, -1, -1), self.w1)
        )
        return torch.baddbmm(self.b2, h, self.w2)

    def forward(
        self, x: torch.Tensor, capacity_factor: float | None = None
    ) -> torch.Tensor:
        """y(x) for the batch ``x`` (n, dim), routed at the layer's capacity factor
        unless another is given."""
        routing = self.route(x, capacity_factor)
        self.last_routing = routing
        self.aux_loss = balance_loss(torch.softmax(x @ self.gate, -1))
        y = torch.einsum("ne,eno->no", routing.weights, self.experts(x))
        return y if self.skip_w is None else y + x @ self.skip_w + self.skip_b


def moe_loss(model: MixtureOfExperts, aux_weight: float = 0.0) -> Callable:
    """A ``loss_fn(logits, labels)`` for ``training.train``: cross-entropy + α · the
    model's balance loss of the same batch (Switch uses α = 0.01).
    """
    if check.number(aux_weight, "aux_weight") < 0:
        raise ValueError(f"aux_weight must be >= 0, got {aux_weight}")

    def loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return softmax_cross_entropy(logits, labels) + aux_weight * model.aux_loss

    return loss


def load(routing: Routing) -> torch.Tensor:
    """Tokens each expert processes: Σ_i dispatch[i, e], shape (E,)."""
    return routing.dispatch.sum(0)


def experts_per_token(routing: Routing) -> torch.Tensor:
    """Experts that process each token: Σ_e dispatch[i, e], shape (n,)."""
    return routing.dispatch.sum(1)


def drop_rate(routing: Routing) -> float:
    """Fraction of tokens no expert processes (token choice: capacity drops; expert
    choice: tokens no expert picked)."""
    return (experts_per_token(routing) == 0).double().mean().item()


def rerouted(a: Routing, b: Routing, what: str = "dispatch") -> float:
    """Fraction of tokens whose set of experts differs between two routings of the same
    tokens; ``what`` compares the experts processing them ("dispatch") or the experts
    asked for ("chosen")."""
    if what not in ("dispatch", "chosen"):
        raise ValueError(f"what must be 'dispatch' or 'chosen', got {what!r}")
    x, y = getattr(a, what), getattr(b, what)
    check.same_shape(x, y, "a", "b")
    return (x != y).any(-1).double().mean().item()


REROUTES = ("same experts", "other experts, as many", "more or fewer experts")


def how_rerouted(a: Routing, b: Routing) -> torch.Tensor:
    """How each token's experts (``dispatch``) differ between two routings of the same
    tokens, (n,) codes into ``REROUTES``: 0 the same set, 1 as many experts but not the
    same ones (swapped), 2 a different number (gained or lost one, to or from none)."""
    check.same_shape(a.dispatch, b.dispatch, "a", "b")
    moved = (a.dispatch != b.dispatch).any(-1)
    recount = experts_per_token(a) != experts_per_token(b)
    return moved.long() + recount.long()


def route_among(
    model: MixtureOfExperts,
    tokens: torch.Tensor,
    companions: torch.Tensor,
    capacity_factor: float | None = None,
    *,
    shuffle: torch.Generator | None = None,
) -> Routing:
    """Route ``tokens`` followed by ``companions`` as one batch; return the routing of
    ``tokens`` (in their own order).

    The tokens come first, so under top-1 token choice no companion can take their
    buffer slots: new companions change only expert choice's routing, whose top-k sees
    the whole batch (Zhou et al., NeurIPS 2022, on causal decoding), and top-2 token
    choice's second slots, which go after every first choice of the batch. With
    ``shuffle`` the batch is put in a random order first: token choice's drops follow
    position."""
    tokens = model.tokens(tokens, "tokens")
    batch = torch.cat([tokens, model.tokens(companions, "companions")])
    order = torch.arange(len(batch))
    if shuffle is not None:
        order = torch.randperm(len(batch), generator=shuffle)
    routing = model.route(batch[order], capacity_factor)
    return routing.rows(order.argsort()[: len(tokens)])


@dataclass(frozen=True)
class RoutingStats:
    """Routing statistics over several batches: ``loads`` and ``wanted`` (batches, E),
    the tokens each expert processed and was asked for in each batch (equal under
    expert choice), and ``experts_per_token`` (N,), each token's number of experts."""

    loads: torch.Tensor
    wanted: torch.Tensor
    experts_per_token: torch.Tensor

    @property
    def load(self) -> torch.Tensor:
        """Mean tokens per expert and batch, (E,)."""
        return self.loads.double().mean(0)

    @property
    def asked(self) -> torch.Tensor:
        """Mean tokens per expert and batch that asked for it, (E,)."""
        return self.wanted.double().mean(0)

    @property
    def drop_rate(self) -> float:
        """Fraction of the tokens that no expert processed."""
        return (self.experts_per_token == 0).double().mean().item()

    def experts_histogram(self, most: int = 4) -> torch.Tensor:
        """Share of the tokens with 0, 1, …, ``most`` or more experts, (most + 1,)."""
        counts = self.experts_per_token.clamp(max=check.count(most, "most"))
        return torch.bincount(counts, minlength=most + 1).double() / len(counts)


def routing_stats(routings: Sequence[Routing]) -> RoutingStats:
    """The ``RoutingStats`` of the routings of several batches."""
    if not routings:
        raise ValueError("routings must hold at least one batch's Routing")
    return RoutingStats(
        torch.stack([load(r) for r in routings]),
        torch.stack([r.chosen.sum(0) for r in routings]),
        torch.cat([experts_per_token(r) for r in routings]),
    )


@dataclass(frozen=True)
class RoutedEval(RoutingStats):
    """``RoutingStats`` on test batches plus the layer's ``logits`` (N, C) for their
    tokens and the ``labels`` (N,): accuracy over all tokens, and apart over the tokens
    some expert processed and those none did (without a skip path their logits are
    zero, so they all predict class 0)."""

    logits: torch.Tensor
    labels: torch.Tensor

    @property
    def accuracy(self) -> float:
        """Accuracy over all the tokens."""
        return accuracy(self.logits, self.labels)

    def accuracy_where(self, processed: bool) -> float:
        """Accuracy over the tokens some expert processed (``processed``) or none did;
        nan when there are no such tokens."""
        rows = (self.experts_per_token > 0) == processed
        if not rows.any():
            return float("nan")
        return accuracy(self.logits[rows], self.labels[rows])


@torch.no_grad()
def evaluate(
    model: MixtureOfExperts,
    inputs: torch.Tensor,
    labels: torch.Tensor,
    batch_size: int,
    capacity_factor: float | None = None,
) -> RoutedEval:
    """Route and predict ``inputs`` in consecutive batches of ``batch_size`` (routing
    depends on the batch, so evaluate at the batch size the model trained with)."""
    check.count(batch_size, "batch_size")
    check.tensor(inputs, "inputs", min_dim=2)
    check.in_range(check.predictions(labels, "labels"), model.sizes[-1], "labels")
    if len(labels) != len(inputs):
        raise ValueError(f"labels has {len(labels)} rows but inputs has {len(inputs)}")
    model.eval()
    logits, routings = [], []
    for x in inputs.split(batch_size):
        logits.append(model(x, capacity_factor))
        routings.append(model.last_routing)
    stats = routing_stats(routings)
    return RoutedEval(
        stats.loads, stats.wanted, stats.experts_per_token, torch.cat(logits), labels
    )


@dataclass(frozen=True)
class ZipfTokenTask:
    """Tokens from K clusters whose frequencies follow Zipf's law, p(cluster r) ∝
    r^(−skew); each cluster has its own linear rule over ``classes`` labels, so an
    expert that specialises in a few clusters does well."""

    centres: torch.Tensor  # (K, d)
    rules: torch.Tensor  # (K, d, classes)
    skew: float

    def sample(
        self, n: int, generator: torch.Generator, skew: float | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``n`` tokens (x, labels, clusters): cluster r ~ Zipf(skew), x = centre_r +
        N(0, I), label = argmax_j (x − centre_r) · rule_r[:, j]."""
        check.count(n, "n")
        s = self.skew if skew is None else skew
        if check.number(s, "skew") < 0:
            raise ValueError(f"skew must be >= 0, got {s}")
        ranks = torch.arange(1, len(self.centres) + 1, dtype=torch.float64)
        clusters = torch.multinomial(
            ranks.pow(-s), n, replacement=True, generator=generator
        )
        noise = torch.randn(n, self.centres.shape[1], generator=generator)
        x = self.centres[clusters] + noise
        labels = torch.einsum("nd,ndc->nc", noise, self.rules[clusters]).argmax(-1)
        return x, labels, clusters


def zipf_token_task(
    dim: int = 16,
    clusters: int = 8,
    classes: int = 4,
    *,
    skew: float = 1.0,
    spread: float = 1.0,
    seed: int = 0,
) -> ZipfTokenTask:
    """A ``ZipfTokenTask`` in R^dim: cluster centres with N(0, spread²) coordinates,
    unit Gaussian noise around them, rules with N(0, 1) entries, all from ``seed``."""
    for name, value in (("dim", dim), ("classes", classes)):
        check.count(value, name, minimum=2)
    check.count(clusters, "clusters")
    if check.number(skew, "skew") < 0:
        raise ValueError(f"skew must be >= 0, got {skew}")
    spread = check.positive(spread, "spread")
    g = torch.Generator().manual_seed(seed)
    centres = spread * torch.randn(clusters, dim, generator=g)
    rules = torch.randn(clusters, dim, classes, generator=g)
    return ZipfTokenTask(centres, rules, float(skew))
