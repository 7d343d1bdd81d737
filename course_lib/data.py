"""Data for the course's experiments: scikit-learn's bundled digits (real 8 × 8 images,
no download).

Every split is drawn from a seeded ``torch.Generator`` so an experiment repeats exactly
for a seed and changes with it.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from . import _validate as check

DIGIT_NAMES = [str(d) for d in range(10)]


@dataclass(frozen=True)
class Split:
    """Standardised inputs and labels: ``x_train`` (N, 64) with ``y_train`` (N,), and
    the test set likewise.
    """

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    mean: torch.Tensor  # the training mean subtracted from every image

    @property
    def num_classes(self) -> int:
        return int(max(self.y_train.max(), self.y_test.max())) + 1

    def images(self, x: torch.Tensor) -> torch.Tensor:
        """The raw 8 × 8 pixels (in [0, 1]) of standardised inputs ``x``: (…, 8, 8)."""
        return (x + self.mean).reshape(*x.shape[:-1], 8, 8)


def digits(seed: int, test_size: int = 500) -> Split:
    """The 1,797 digits, shuffled by ``seed`` into train and ``test_size`` test images,
    scaled to [0, 1] (pixel / 16) and centred by the training mean.
    """
    from sklearn.datasets import load_digits  # bundled with scikit-learn: no network

    if check.count(test_size, "test_size") >= 1797:
        raise ValueError(f"test_size must be in [1, 1796], got {test_size}")
    raw = load_digits()
    x = torch.tensor(raw.data, dtype=torch.float32) / 16.0
    y = torch.tensor(raw.target, dtype=torch.long)
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))
    test, train = order[:test_size], order[test_size:]
    mean = x[train].mean(0)
    return Split(x[train] - mean, y[train], x[test] - mean, y[test], mean)


def labelled_subset(labels: torch.Tensor, per_class: int, seed: int) -> torch.Tensor:
    """Indices of ``per_class`` examples of every class (class-balanced), drawn with
    ``seed``.

    The rest of the training set is the *unlabelled* pool of the semi-supervised
    experiments.
    """
    check.count(per_class, "per_class")
    check.predictions(labels, "labels")
    g = torch.Generator().manual_seed(seed)
    chosen = []
    for c in labels.unique().tolist():
        members = (labels == c).nonzero().squeeze(1)
        if len(members) < per_class:
            raise ValueError(
                f"per_class={per_class} but class {c} has only {len(members)} examples"
            )
        chosen.append(members[torch.randperm(len(members), generator=g)[:per_class]])
    return torch.cat(chosen).sort().values


def flip_labels(
    labels: torch.Tensor, fraction: float, num_classes: int, seed: int
) -> torch.Tensor:
    """A copy of ``labels`` with ``fraction`` of them replaced by a different, uniformly
    drawn class.
    """
    fraction = check.unit_interval(fraction, "fraction")
    check.count(num_classes, "num_classes", minimum=2)
    check.in_range(check.predictions(labels, "labels"), num_classes, "labels")
    g = torch.Generator().manual_seed(seed)
    noisy = labels.clone()
    flip = torch.rand(len(labels), generator=g) < fraction
    shift = torch.randint(1, num_classes, (int(flip.sum()),), generator=g)
    noisy[flip] = (labels[flip] + shift) % num_classes
    return noisy


@dataclass(frozen=True)
class ExtremeTask:
    """A generated extreme-classification task: inputs around per-label prototypes, Zipf
    label frequencies.

    ``label_prior`` is each label's frequency in the generator (rank r has probability ∝
    r^-exponent); label 0 is the most frequent.
    """

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    label_prior: torch.Tensor

    @property
    def num_labels(self) -> int:
        return len(self.label_prior)


def extreme_classification(
    num_labels: int,
    num_train: int,
    num_test: int,
    dim: int = 32,
    *,
    exponent: float = 1.0,
    noise: float = 0.5,
    seed: int = 0,
) -> ExtremeTask:
    """L labels with Zipf-like frequencies p(rank r) ∝ r^(−exponent); an input is its
    label's random unit prototype plus Gaussian noise of scale ``noise`` per dimension /
    √dim. No download; any L up to 10⁶.
    """
    check.count(num_labels, "num_labels", minimum=2)
    for name, value in (("num_train", num_train), ("num_test", num_test), ("dim", dim)):
        check.count(value, name)
    for name, value in (("exponent", exponent), ("noise", noise)):
        if check.number(value, name) < 0:
            raise ValueError(f"{name} must be >= 0, got {value}")
    g = torch.Generator().manual_seed(seed)
    prior = torch.arange(1, num_labels + 1, dtype=torch.float64).pow(-exponent)
    prior /= prior.sum()
    prototypes = torch.nn.functional.normalize(
        torch.randn(num_labels, dim, generator=g), dim=-1
    )

    def draw(n):
        y = torch.multinomial(prior, n, replacement=True, generator=g)
        return prototypes[y] + noise / dim**0.5 * torch.randn(n, dim, generator=g), y

    (x_train, y_train), (x_test, y_test) = draw(num_train), draw(num_test)
    return ExtremeTask(x_train, y_train, x_test, y_test, prior.float())


@dataclass(frozen=True)
class SoftmaxLinearTask:
    """A task whose true class probabilities are known: x ~ N(0, I_d) and
    p*(y | x) = softmax(x W) (Menon et al. 2021 use such a Bayes teacher); with
    ``quadratic`` weights V, p*(y | x) = softmax(x W + φ(x) V), φ(x) = (x² − 1) / √2
    elementwise, which a linear student of x cannot represent."""

    weights: torch.Tensor  # (d, C)
    quadratic: torch.Tensor | None = None  # (d, C) or None: softmax-linear

    @property
    def num_classes(self) -> int:
        return self.weights.shape[1]

    def posterior(self, x: torch.Tensor) -> torch.Tensor:
        """The Bayes probabilities p*(· | x) of the (n, d) inputs ``x``:
        softmax(x W), plus φ(x) V with φ(x) = (x² − 1) / √2 when the task has
        quadratic weights V (Menon et al. 2021's Bayes teacher)."""
        x = check.tensor(x, "x")
        if x.dim() != 2 or x.shape[1] != self.weights.shape[0]:
            raise ValueError(
                f"x must have shape (n, {self.weights.shape[0]}), got {tuple(x.shape)}"
            )
        logits = x @ self.weights
        if self.quadratic is not None:
            logits = logits + (x**2 - 1) / 2**0.5 @ self.quadratic
        return torch.softmax(logits, -1)

    def sample(
        self, n: int, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``n`` draws (x, labels, bayes_probs): labels ~ p*(· | x), and p*(· | x)
        itself, what a perfect teacher would output."""
        check.count(n, "n")
        x = torch.randn(n, self.weights.shape[0], generator=generator)
        bayes_probs = self.posterior(x)
        labels = torch.multinomial(bayes_probs, 1, generator=generator).squeeze(-1)
        return x, labels, bayes_probs


def softmax_linear_task(
    num_features: int = 20,
    num_classes: int = 5,
    *,
    scale: float = 3.0,
    seed: int = 0,
    curvature: float = 0.0,
) -> SoftmaxLinearTask:
    """Ground truth p*(y | x) = softmax(x W) with W_jk ~ N(0, scale² / d): ``scale``
    sets how separable the classes are (3 gives a Bayes accuracy near 0.74 at d = 20,
    C = 5). ``curvature`` c > 0 adds φ(x) V, V_jk ~ N(0, (c · scale)² / d), drawn
    after W (so W is the same as with c = 0): a posterior that is not softmax-linear
    in x, for a student that cannot represent its teacher (Menon et al. 2021)."""
    check.count(num_features, "num_features")
    check.count(num_classes, "num_classes", minimum=2)
    scale = check.positive(scale, "scale")
    curvature = check.number(curvature, "curvature")
    if curvature < 0:
        raise ValueError(f"curvature must be >= 0, got {curvature}")
    g = torch.Generator().manual_seed(seed)
    weights = torch.randn(num_features, num_classes, generator=g)
    quadratic = None
    if curvature > 0:
        quadratic = torch.randn(num_features, num_classes, generator=g)
        quadratic = quadratic * curvature * scale / num_features**0.5
    return SoftmaxLinearTask(weights * scale / num_features**0.5, quadratic)
