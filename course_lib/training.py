"""The course's one model family and one training loop.

Randomness has three separate sources, each with its own seed, so each can be switched on alone
(slide "Churn from model training"): ``init_seed`` (the weights), ``data_seed`` (the order of the
mini-batches) and ``dropout_seed`` (the dropout masks).
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from torch import nn

Targets = torch.Tensor | dict[str, torch.Tensor]


class MLP(nn.Module):
    """A multi-layer perceptron: Linear → ReLU → (dropout) … → Linear, initialised from ``init_seed``.

    Weights and biases are uniform in ±1/√fan_in (PyTorch's default for Linear), drawn from a generator
    of their own. Dropout masks come from ``dropout_generator`` when it is set (the training loop sets it).
    """

    def __init__(self, sizes: Sequence[int], dropout: float = 0.0, init_seed: int = 0):
        super().__init__()
        if len(sizes) < 2 or any(int(s) < 1 for s in sizes):
            raise ValueError(f"sizes must list at least an input and an output size, all >= 1, got {list(sizes)}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.dropout = dropout
        self.dropout_generator: torch.Generator | None = None
        g = torch.Generator().manual_seed(init_seed)
        with torch.no_grad():
            for layer in self.layers:
                bound = 1 / math.sqrt(layer.in_features)
                layer.weight.uniform_(-bound, bound, generator=g)
                layer.bias.uniform_(-bound, bound, generator=g)

    def hidden(self, x: torch.Tensor) -> torch.Tensor:
        """The last hidden layer's activations (the "embedding" that hint-based distillation matches)."""
        for layer in self.layers[:-1]:
            x = torch.relu(layer(x))
            if self.training and self.dropout > 0:
                keep = torch.empty_like(x).bernoulli_(1 - self.dropout, generator=self.dropout_generator)
                x = x * keep / (1 - self.dropout)
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.last_hidden = self.hidden(x)  # kept for losses that match representations (hints, relations)
        return self.layers[-1](self.last_hidden)


def train(
    model: nn.Module,
    inputs: torch.Tensor,
    targets: Targets,
    loss_fn: Callable[[torch.Tensor, Targets], torch.Tensor],
    *,
    epochs: int,
    batch_size: int = 64,
    lr: float = 1e-2,
    weight_decay: float = 0.0,
    data_seed: int = 0,
    dropout_seed: int = 0,
    extra_params: Sequence[torch.Tensor] = (),
    optimiser: type[torch.optim.Optimizer] = torch.optim.Adam,
) -> list[float]:
    """Train ``model`` with Adam on mini-batches of (inputs, targets); return the mean loss of each epoch.

    ``targets`` is a tensor or a dict of tensors indexed like ``inputs`` (labels, teacher logits, …);
    ``loss_fn(logits, batch_targets)`` sees the matching rows. ``optimiser`` is Adam unless a model needs
    another (Adagrad takes the sparse gradients of a large label-embedding table). The model is left in
    eval mode.
    """
    if epochs < 1 or batch_size < 1:
        raise ValueError(f"epochs and batch_size must be >= 1, got {epochs} and {batch_size}")
    n = len(inputs)
    if n == 0:
        raise ValueError("inputs is empty: nothing to train on")
    for name, t in (targets.items() if isinstance(targets, dict) else [("targets", targets)]):
        if len(t) != n:
            raise ValueError(f"{name} has {len(t)} rows but inputs has {n}")
    order_g = torch.Generator().manual_seed(data_seed)
    if hasattr(model, "dropout_generator"):
        model.dropout_generator = torch.Generator().manual_seed(dropout_seed)
    optimiser = optimiser(list(model.parameters()) + list(extra_params), lr=lr, weight_decay=weight_decay)
    history = []
    model.train()
    for _ in range(epochs):
        total = 0.0
        for batch in torch.randperm(n, generator=order_g).split(batch_size):
            batch_targets = {k: v[batch] for k, v in targets.items()} if isinstance(targets, dict) else targets[batch]
            loss = loss_fn(model(inputs[batch]), batch_targets)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            total += loss.item() * len(batch)
        history.append(total / n)
    model.eval()
    return history


@torch.no_grad()
def predict(model: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    """The model's logits on ``inputs``, in eval mode (no dropout)."""
    model.eval()
    return model(inputs)


def accuracy(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction of rows whose arg-max logit is the label."""
    if logits.shape[:-1] != labels.shape:
        raise ValueError(f"labels has shape {tuple(labels.shape)} but logits has shape {tuple(logits.shape)}")
    return (logits.argmax(-1) == labels).double().mean().item()
