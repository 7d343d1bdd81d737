"""Distillation: training a student on a teacher's soft predictions (lecture section
02).

The loss itself is ``losses.distillation_loss``; this module holds what the experiments
around it need: the mixture target, the soft term's gradient, the teacher's
class-relationship matrix, the losses that match more structure (hints, relations), and
``objective``, which turns α, T and a matching choice into the targets and loss of
``training.fit``.
"""

from __future__ import annotations

import torch

from . import _validate as check
from . import losses, training
from .training import MLP


def mixture_target(
    labels: torch.Tensor, teacher_probs: torch.Tensor, alpha: float
) -> torch.Tensor:
    """The distillation target α · p^t + (1 − α) · e_y: per-sample label smoothing
    towards the teacher.

    Slide "Why does distillation help?"; the α-mixture of "Distillation loss function:
    formally" at T = 1 has this as its cross-entropy target.
    """
    check.probabilities(teacher_probs, "teacher_probs")
    check.labels(labels, teacher_probs, scores_name="teacher_probs")
    alpha = check.unit_interval(alpha, "alpha")
    one_hot = torch.nn.functional.one_hot(labels.long(), teacher_probs.shape[-1]).to(
        teacher_probs.dtype
    )
    return alpha * teacher_probs + (1 - alpha) * one_hot


def uniform_smoothing_target(
    labels: torch.Tensor, num_classes: int, epsilon: float
) -> torch.Tensor:
    """Uniform label smoothing (Szegedy et al. 2016): ε / L + (1 − ε) · e_y, the same
    for every example.
    """
    epsilon = check.unit_interval(epsilon, "epsilon")
    one_hot = torch.nn.functional.one_hot(labels.long(), num_classes).double()
    return epsilon / num_classes + (1 - epsilon) * one_hot


def distort(teacher_probs: torch.Tensor, amount: float) -> torch.Tensor:
    """A worse teacher with the same argmax: for ``amount`` a > 0, sharpened towards the
    one-hot of its argmax, (1 − a) · p + a · e_argmax(p) (over-confident; a = 1 keeps
    only the argmax); for a < 0, flattened towards uniform, (1 − |a|) · p + |a| / C
    (under-confident). Menon et al. (2021): a teacher's value is in these probabilities.
    A tie for the top probability is sharpened towards the first tied class.
    """
    check.probabilities(teacher_probs, "teacher_probs")
    amount = check.number(amount, "amount")
    if not -1.0 < amount <= 1.0:
        raise ValueError(f"amount must be in (-1, 1], got {amount}")
    classes = teacher_probs.shape[-1]
    if amount >= 0:
        top = torch.nn.functional.one_hot(teacher_probs.argmax(-1), classes)
        return (1 - amount) * teacher_probs + amount * top.to(teacher_probs.dtype)
    return (1 + amount) * teacher_probs - amount / classes


def soft_gradient_norm(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    temperature: float,
    scaled: bool = True,
) -> float:
    """Mean ‖∂/∂s [c · KL(softmax(t/T) ‖ softmax(s/T))]‖ over examples, with c = T²
    (scaled) or 1.

    The gradient is (c / T) · (softmax(s/T) − softmax(t/T)); for large T it shrinks like
    1/T², which the T² of Hinton et al. (2015) undoes.
    """
    s = student_logits.detach().double().requires_grad_(True)
    soft = losses.distillation_loss(
        s,
        torch.zeros(s.shape[:-1], dtype=torch.long),
        teacher_logits.double(),
        alpha=1.0,
        temperature=temperature,
        reduction="sum",
    )
    (grad,) = torch.autograd.grad(soft if scaled else soft / temperature**2, s)
    return grad.norm(dim=-1).mean().item()


def class_relationships(
    teacher_probs: torch.Tensor, labels: torch.Tensor
) -> torch.Tensor:
    """Matrix M with M[c, k] = mean teacher probability of class k over the examples of
    true class c.

    The slide's "dark knowledge" matrix: off-diagonal mass says which classes the
    teacher finds alike.
    """
    check.probabilities(teacher_probs, "teacher_probs")
    check.labels(labels, teacher_probs, scores_name="teacher_probs")
    L = teacher_probs.shape[-1]
    sums = torch.zeros(L, L, dtype=teacher_probs.dtype).index_add_(
        0, labels.long(), teacher_probs
    )
    counts = torch.bincount(labels.long(), minlength=L).clamp(min=1).unsqueeze(1)
    return sums / counts


def similarity_matrix(hidden: torch.Tensor) -> torch.Tensor:
    """Cosine similarities between the rows of ``hidden``: the B × B structure
    relational distillation matches.
    """
    unit = torch.nn.functional.normalize(hidden, dim=-1)
    return unit @ unit.T


def relational_loss(
    student_hidden: torch.Tensor, teacher_hidden: torch.Tensor
) -> torch.Tensor:
    """Mean squared difference of the two B × B similarity matrices
    (similarity-preserving distillation, Tung & Mori 2019; relational KD, Park et al.
    2019): the student copies how the teacher *relates* examples, whatever the widths of
    the two layers.
    """
    return (
        (similarity_matrix(student_hidden) - similarity_matrix(teacher_hidden))
        .pow(2)
        .mean()
    )


def structure_agreement(
    student_hidden: torch.Tensor, teacher_hidden: torch.Tensor
) -> float:
    """How alike two layers relate the same B examples: the Pearson correlation of
    the pairs (i < j) of their cosine-similarity matrices (what relational distillation
    matches; 1 when one structure is the other's up to scale and shift).

    The diagonal is left out (every row's similarity with itself is 1 in both layers,
    which says nothing about structure), and so is the lower triangle, its mirror.
    """
    check.tensor(student_hidden, "student_hidden", min_dim=2)
    check.tensor(teacher_hidden, "teacher_hidden", min_dim=2)
    if len(student_hidden) != len(teacher_hidden) or len(student_hidden) < 3:
        raise ValueError(
            "student_hidden and teacher_hidden must hold the same B >= 3 examples, "
            f"got {len(student_hidden)} and {len(teacher_hidden)} rows"
        )
    upper = torch.triu_indices(len(student_hidden), len(student_hidden), offset=1)
    pairs = [
        similarity_matrix(h)[upper[0], upper[1]]
        for h in (student_hidden, teacher_hidden)
    ]
    return torch.corrcoef(torch.stack(pairs))[0, 1].item()


def hint_loss(
    student_hidden: torch.Tensor,
    teacher_hidden: torch.Tensor,
    projection: torch.nn.Linear,
) -> torch.Tensor:
    """‖W h_s − h_t‖² averaged: a learnt projection of the student's hidden layer
    regresses the teacher's (FitNets' "hints", Romero et al. 2015; the slide's "match
    embeddings").
    """
    return (projection(student_hidden) - teacher_hidden).pow(2).sum(-1).mean()


MATCHES = (None, "hint", "relation")


def objective(
    labels: torch.Tensor | None = None,
    teacher_logits: torch.Tensor | None = None,
    *,
    alpha: float = 0.0,
    temperature: float = 1.0,
    match: str | None = None,
    teacher_hidden: torch.Tensor | None = None,
    match_weight: float = 1.0,
    hidden_width: int | None = None,
) -> dict:
    """A student's training objective as keyword arguments of ``training.fit``:
    ``targets``, ``loss_fn`` (``losses.distillation_loss`` with α and T, plus
    ``match_weight`` × the hint or relational loss against ``teacher_hidden`` when
    ``match`` is "hint" or "relation"), and for a hint the projection of the student's
    ``hidden_width`` units to train with it.

    α = 0 needs only ``labels`` (plain CE); α = 1 only ``teacher_logits`` (pure
    distillation, e.g. on unlabelled inputs); in between needs both.
    """
    alpha = check.unit_interval(alpha, "alpha")
    if labels is None and alpha < 1:
        raise ValueError("labels are needed unless alpha = 1 (pure distillation)")
    if teacher_logits is None and alpha > 0:
        raise ValueError("teacher_logits are needed when alpha > 0")
    if match not in MATCHES:
        raise ValueError(f"match must be one of {MATCHES}, got {match!r}")
    if match is not None and teacher_hidden is None:
        raise ValueError(f"match={match!r} needs teacher_hidden (the teacher's layer)")
    if match == "hint" and hidden_width is None:
        raise ValueError("match='hint' needs hidden_width, the student's hidden size")
    if labels is None:
        labels = torch.zeros(len(teacher_logits), dtype=torch.long)  # unused at α = 1
    targets = {"labels": labels}
    targets |= {"teacher_logits": teacher_logits} if alpha > 0 else {}
    targets |= {"teacher_hidden": teacher_hidden} if match else {}
    projection = None
    if match == "hint":
        projection = torch.nn.Linear(hidden_width, teacher_hidden.shape[-1])

    def loss_fn(logits, batch, hidden=None):
        if alpha == 0:
            loss = losses.softmax_cross_entropy(logits, batch["labels"])
        else:
            loss = losses.distillation_loss(
                logits,
                batch["labels"],
                batch["teacher_logits"],
                alpha,
                temperature,
            )
        if match == "hint":
            return loss + match_weight * hint_loss(
                hidden, batch["teacher_hidden"], projection
            )
        if match == "relation":
            return loss + match_weight * relational_loss(
                hidden, batch["teacher_hidden"]
            )
        return loss

    extra = list(projection.parameters()) if projection else []
    return {
        "targets": targets,
        "loss_fn": loss_fn,
        "extra_params": extra,
        "with_hidden": match is not None,
    }


def prior_bias_shift(logits: torch.Tensor, cls: int, share: float) -> float:
    """The bias to add to class ``cls``'s logit so that it wins on a ``share`` of the
    rows of ``logits``.

    Hinton et al. (2015) raised the bias of the class missing from the transfer set by
    hand; this picks the shift from the class's known prior alone (no labels needed:
    ``logits`` are on unlabelled inputs).
    """
    check.logits(logits)
    share = check.unit_interval(share, "share")
    if not 0 <= cls < logits.shape[-1]:
        raise ValueError(
            f"cls must be a class in [0, {logits.shape[-1] - 1}], got {cls}"
        )
    others = logits.clone()
    others[..., cls] = float("-inf")
    # per row: the shift at which cls starts to win
    needed = others.amax(-1) - logits[..., cls]
    return torch.quantile(needed.double(), share).item()


def self_distill(
    sizes,
    inputs,
    labels,
    generations: int,
    *,
    alpha: float,
    temperature: float,
    epochs: int,
    seed: int,
) -> list[MLP]:
    """Born-again generations (Furlanello et al. 2018): generation 0 is trained on the
    labels, generation k on the labels and generation k − 1's soft predictions (α, T),
    all of the same architecture ``sizes``. Generation k uses seed + k. Returns the
    models, generation 0 first.
    """
    check.count(generations, "generations")
    models = [
        training.fit(sizes, inputs, **objective(labels), epochs=epochs, seed=seed)
    ]
    for k in range(1, generations):
        teacher = training.predict(models[-1], inputs)
        soft = objective(labels, teacher, alpha=alpha, temperature=temperature)
        models.append(training.fit(sizes, inputs, **soft, epochs=epochs, seed=seed + k))
    return models
