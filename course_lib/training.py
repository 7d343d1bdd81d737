"""The course's one model family and one training loop.

Randomness has three separate sources, each with its own seed, so each can be switched
on alone (slide "Churn from model training"): ``init_seed`` (the weights), ``data_seed``
(the order of the mini-batches) and ``dropout_seed`` (the dropout masks).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from torch import nn

from . import _validate as check

Targets = torch.Tensor | dict[str, torch.Tensor]


def _dropout(
    x: torch.Tensor, p: float, generator: torch.Generator | None
) -> torch.Tensor:
    """Inverted dropout: keep each unit with probability 1 − p, scaled by 1 / (1 − p);
    the mask is drawn from ``generator`` (Srivastava et al. 2014)."""
    keep = torch.empty_like(x).bernoulli_(1 - p, generator=generator)
    return x * keep / (1 - p)


class MLP(nn.Module):
    """A multi-layer perceptron: Linear → ReLU → (dropout) … → Linear, initialised from
    ``init_seed``.

    Weights and biases are uniform in ±1/√fan_in (PyTorch's default for Linear), drawn
    from a generator of their own. Dropout masks come from ``dropout_generator`` when it
    is set (the training loop sets it).
    """

    def __init__(self, sizes: Sequence[int], dropout: float = 0.0, init_seed: int = 0):
        super().__init__()
        if len(sizes) < 2 or any(int(s) < 1 for s in sizes):
            raise ValueError(
                "sizes must list at least an input and an output size, all >= 1, got "
                f"{list(sizes)}"
            )
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.layers = nn.ModuleList(
            nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:])
        )
        self.sizes, self.dropout = list(sizes), dropout
        self.dropout_generator: torch.Generator | None = None
        g = torch.Generator().manual_seed(init_seed)
        with torch.no_grad():
            for layer in self.layers:
                bound = 1 / math.sqrt(layer.in_features)
                layer.weight.uniform_(-bound, bound, generator=g)
                layer.bias.uniform_(-bound, bound, generator=g)

    def hidden(self, x: torch.Tensor) -> torch.Tensor:
        """The last hidden layer's activations (the "embedding" that hint-based
        distillation matches).
        """
        for layer in self.layers[:-1]:
            x = torch.relu(layer(x))
            if self.training and self.dropout > 0:
                x = _dropout(x, self.dropout, self.dropout_generator)
        return x

    def logits_and_hidden(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(logits, last hidden layer) from one pass, for losses that match
        representations."""
        h = self.hidden(x)
        return self.layers[-1](h), h

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.logits_and_hidden(x)[0]


class EnsembleMLP(nn.Module):
    """K MLPs of one architecture trained at once: layer weights stacked as (K, in,
    out), batched matmuls.

    Member k starts from exactly the weights of ``MLP(sizes, dropout,
    init_seed=init_seeds[k])`` and draws its dropout masks from its own generator, so
    training the ensemble with per-member data and dropout seeds gives (up to float
    rounding) the K models a Python loop over seeds would give, several times faster.
    Inputs are (K, B, in), or (B, in) shared by every member; outputs are (K, B, out).
    """

    def __init__(
        self, sizes: Sequence[int], init_seeds: Sequence[int], dropout: float = 0.0
    ):
        super().__init__()
        if len(init_seeds) < 1:
            raise ValueError("init_seeds must give one seed per member (at least one)")
        singles = [MLP(sizes, dropout=dropout, init_seed=seed) for seed in init_seeds]
        self.weights = nn.ParameterList(
            nn.Parameter(torch.stack([m.layers[i].weight.detach().T for m in singles]))
            for i in range(len(sizes) - 1)
        )
        self.biases = nn.ParameterList(
            nn.Parameter(
                torch.stack([m.layers[i].bias.detach()[None] for m in singles])
            )
            for i in range(len(sizes) - 1)
        )
        self.sizes, self.dropout, self.members = list(sizes), dropout, len(init_seeds)
        self.dropout_generators: list[torch.Generator] | None = None

    def hidden(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 2:
            x = x.expand(self.members, -1, -1)
        for w, b in zip(self.weights[:-1], self.biases[:-1]):
            x = torch.relu(torch.baddbmm(b, x, w))
            if self.training and self.dropout > 0:
                gens = self.dropout_generators or [None] * self.members
                x = torch.stack(
                    [_dropout(x[k], self.dropout, g) for k, g in enumerate(gens)]
                )
        return x

    def logits_and_hidden(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.hidden(x)
        return torch.baddbmm(self.biases[-1], h, self.weights[-1]), h

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.logits_and_hidden(x)[0]

    def member(self, k: int) -> MLP:
        """Member k as a stand-alone MLP (a copy)."""
        single = MLP(self.sizes, dropout=self.dropout)
        with torch.no_grad():
            for layer, w, b in zip(single.layers, self.weights, self.biases):
                layer.weight.copy_(w[k].T)
                layer.bias.copy_(b[k, 0])
        return single


def _per_member(seed: int | Sequence[int], members: int, name: str) -> list[int]:
    seeds = [seed] * members if isinstance(seed, int) else list(seed)
    if len(seeds) != members:
        raise ValueError(
            f"{name} must be one seed or one per member ({members}), got {len(seeds)}"
        )
    return seeds


def own_targets(batch_targets: torch.Tensor) -> torch.Tensor:
    """Each member's own targets, for an ensemble trained on per-member targets.

    Give ``train`` targets of shape (N, K, …), row n holding every member's target for
    input n; a (K, b) batch of rows picks (K, b, K, …) of them, and member k's loss
    needs only its own slice [k, :, k]: returns (K, b, …).
    """
    members = batch_targets.shape[0]
    if batch_targets.dim() < 3 or batch_targets.shape[2] != members:
        raise ValueError(
            "batch_targets must be (K, b, K, …): targets of shape (N, K, …) indexed by "
            f"a (K, b) batch, got shape {tuple(batch_targets.shape)}"
        )
    k = torch.arange(members, device=batch_targets.device)
    return batch_targets[k, :, k]


def train(
    model: nn.Module,
    inputs: torch.Tensor,
    targets: Targets,
    loss_fn: Callable[..., torch.Tensor],
    *,
    epochs: int,
    batch_size: int = 64,
    lr: float = 1e-2,
    weight_decay: float = 0.0,
    data_seed: int | Sequence[int] = 0,
    dropout_seed: int | Sequence[int] = 0,
    extra_params: Sequence[torch.Tensor] = (),
    with_hidden: bool = False,
    optimiser: type[torch.optim.Optimizer] = torch.optim.Adam,
    on_epoch: Callable[[int], None] | None = None,
    device: str | torch.device = "cpu",
) -> list[float]:
    """Train ``model`` with Adam on mini-batches of (inputs, targets); return the mean
    loss of each epoch.

    ``targets`` is a tensor or a dict of tensors indexed like ``inputs`` (labels,
    teacher logits, …); ``loss_fn(logits, batch_targets)`` sees the matching rows, and
    with ``with_hidden`` also the model's last hidden layer as a third argument (losses
    that match representations). ``extra_params`` are trained too (a hint's
    projection). ``optimiser`` is Adam unless a model needs another (Adagrad takes the
    sparse gradients of a large label-embedding table). The model is left in eval mode.
    ``on_epoch(epoch)``, if given, is called after each epoch. ``device`` is where the
    model, the data and the dropout masks live (moved there once); batch orders are
    drawn on the CPU, so a seed gives the same batches everywhere.

    For an ``EnsembleMLP`` of K members, ``data_seed`` and ``dropout_seed`` may give one
    seed per member: each member draws its own batch order, batches are (K, b) and
    ``loss_fn`` sees (K, b, C) logits; its mean is scaled by K so that each member gets
    the gradient of its own mean loss.
    """
    check.count(epochs, "epochs")
    check.count(batch_size, "batch_size")
    check.tensor(inputs, "inputs", min_dim=2)
    n, sizes = len(inputs), getattr(model, "sizes", None)
    if sizes and inputs.shape[-1] != sizes[0]:
        raise ValueError(
            f"inputs has {inputs.shape[-1]} features per row but the model takes "
            f"{sizes[0]} (sizes {sizes})"
        )
    for name, t in (
        targets.items() if isinstance(targets, dict) else [("targets", targets)]
    ):
        if len(t) != n:
            raise ValueError(f"{name} has {len(t)} rows but inputs has {n}")
    device = torch.device(device)
    model.to(device)
    inputs = inputs.to(device)
    if isinstance(targets, dict):
        targets = {name: t.to(device) for name, t in targets.items()}
    else:
        targets = targets.to(device)
    members = getattr(model, "members", 0)
    order_gs = [
        torch.Generator().manual_seed(s)
        for s in _per_member(data_seed, max(members, 1), "data_seed")
    ]
    dropout_gs = [
        torch.Generator(device=device).manual_seed(s)
        for s in _per_member(dropout_seed, max(members, 1), "dropout_seed")
    ]
    if members:
        model.dropout_generators = dropout_gs
    elif hasattr(model, "dropout_generator"):
        model.dropout_generator = dropout_gs[0]
    optimiser = optimiser(
        list(model.parameters()) + list(extra_params), lr=lr, weight_decay=weight_decay
    )
    history = []
    model.train()
    for _ in range(epochs):
        total = 0.0
        # (K or 1, n)
        orders = torch.stack([torch.randperm(n, generator=g) for g in order_gs])
        orders = orders.to(device)
        for batch in orders.split(batch_size, dim=1):
            batch = batch if members else batch[0]
            batch_targets = (
                {k: v[batch] for k, v in targets.items()}
                if isinstance(targets, dict)
                else targets[batch]
            )
            if with_hidden:
                logits, hidden = model.logits_and_hidden(inputs[batch])
                loss = loss_fn(logits, batch_targets, hidden)
            else:
                loss = loss_fn(model(inputs[batch]), batch_targets)
            optimiser.zero_grad(set_to_none=True)
            (loss * members if members else loss).backward()
            # sparse gradients (a label table): skip PyTorch's invariant checks, and
            # say so, which keeps it from warning about it
            with torch.sparse.check_sparse_tensor_invariants(enable=False):
                optimiser.step()
            total += loss.item() * batch.shape[-1]
        history.append(total / n)
        if on_epoch is not None:
            on_epoch(len(history))
    model.eval()
    return history


@torch.no_grad()
def predict(model: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    """The model's logits on ``inputs``, in eval mode (no dropout), computed on the
    model's device and returned on the CPU.
    """
    model.eval()
    device = next(model.parameters()).device
    return model(inputs.to(device)).cpu()


def accuracy(logits: torch.Tensor, labels: torch.Tensor) -> float | torch.Tensor:
    """Fraction of rows whose arg-max logit is the label: a float for one model's
    (N, C) logits, a (K,) tensor (one per member) for an ensemble's (K, N, C).
    """
    check.logits(logits)
    if logits.shape[-2:-1] != labels.shape:
        raise ValueError(
            f"labels has shape {tuple(labels.shape)} but logits has shape "
            f"{tuple(logits.shape)}: expected ({logits.shape[-2]},)"
        )
    per_model = (logits.argmax(-1) == labels).double().mean(-1)
    return per_model.item() if logits.dim() == 2 else per_model


def derived_seeds(init_seeds: Sequence[int]) -> dict[str, list[int]]:
    """The course's seed rule: a model's data-order and dropout seeds are its init seed
    + 1 and + 2, as keyword arguments of ``train``."""
    return {
        "data_seed": [s + 1 for s in init_seeds],
        "dropout_seed": [s + 2 for s in init_seeds],
    }


SOURCES = ("all", "init", "data order", "dropout", "none")


def member_seeds(source: str, members: int, seed: int = 0) -> dict[str, list[int]]:
    """Per-member seeds that switch on one source of randomness alone (slide "Churn from
    model training").

    "init", "data order" or "dropout": only that seed differs between members; "all":
    every one differs; "none": every member gets identical seeds (so, on a CPU,
    identical models). Returns the keyword arguments ``init_seeds``, ``data_seed`` and
    ``dropout_seed`` of ``fit_ensemble``.
    """
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}, got {source!r}")
    check.count(members, "members")
    varied = [seed + 1000 * (k + 1) for k in range(members)]
    pick = lambda name: varied if source in ("all", name) else [seed] * members  # noqa: E731
    return {
        "init_seeds": pick("init"),
        "data_seed": derived_seeds(pick("data order"))["data_seed"],
        "dropout_seed": derived_seeds(pick("dropout"))["dropout_seed"],
    }


def fit(
    sizes: Sequence[int],
    inputs: torch.Tensor,
    targets: Targets,
    loss_fn: Callable[..., torch.Tensor],
    *,
    epochs: int,
    seed: int = 0,
    dropout: float = 0.0,
    **train_kwargs,
) -> MLP:
    """An MLP of ``sizes`` from ``seed``, trained on the course's loop (data order and
    dropout from ``derived_seeds``) and left in eval mode. ``train_kwargs`` go to
    ``train`` (batch_size, lr, weight_decay, extra_params, with_hidden, …).
    """
    model = MLP(sizes, dropout=dropout, init_seed=seed)
    seeds = {k: v[0] for k, v in derived_seeds([seed]).items()}
    train(model, inputs, targets, loss_fn, epochs=epochs, **seeds, **train_kwargs)
    return model


def fit_ensemble(
    sizes: Sequence[int],
    inputs: torch.Tensor,
    targets: Targets,
    loss_fn: Callable[..., torch.Tensor],
    *,
    init_seeds: Sequence[int],
    epochs: int,
    dropout: float = 0.2,
    **train_kwargs,
) -> EnsembleMLP:
    """An EnsembleMLP with one member per init seed, trained on the course's loop and
    left in eval mode. ``data_seed`` and ``dropout_seed`` default to ``derived_seeds``;
    ``member_seeds`` gives all three for one source of randomness.
    """
    model = EnsembleMLP(sizes, list(init_seeds), dropout=dropout)
    train_kwargs = derived_seeds(init_seeds) | train_kwargs
    train(model, inputs, targets, loss_fn, epochs=epochs, **train_kwargs)
    return model
