"""The course's exercises, one ``check_…`` per exercise: each runs the learner's
function on cases chosen to catch the usual mistakes (overflow, a wrong sum, a swapped
argument) and answers with ``checker.Feedback``, never with the expected value.
"""

from __future__ import annotations

from collections.abc import Callable
from unittest import mock

import torch

# check_choice and check_number are the notebooks' questions, used from here
from .checker import (  # noqa: F401
    Case,
    Feedback,
    check_choice,
    check_function,
    check_number,
)


def _bird_cases():
    g = torch.Generator().manual_seed(1)
    return [
        Case(
            "the slide's bird logits",
            (torch.tensor([5.0, 2.2, -1.1, 0.3], dtype=torch.float64),),
        ),
        Case(
            "a batch of random logits",
            (torch.randn(5, 7, generator=g, dtype=torch.float64),),
        ),
        Case(
            "large logits [1000, 1000, 999]",
            (torch.tensor([1000.0, 1000.0, 999.0], dtype=torch.float64),),
        ),
        Case(
            "very negative logits [-1000, -1001]",
            (torch.tensor([-1000.0, -1001.0], dtype=torch.float64),),
        ),
    ]


def _without_torch_logsumexp(fn: Callable) -> Callable:
    """``fn`` run with torch's own log-sum-exp switched off (the exercise)."""

    def refuse(*args, **kwargs):
        raise RuntimeError(
            "this exercise asks you to write log-sum-exp yourself, "
            "without torch.logsumexp"
        )

    def run(*args):
        with (
            mock.patch.object(torch, "logsumexp", refuse),
            mock.patch.object(torch.Tensor, "logsumexp", refuse),
            mock.patch.object(torch.special, "logsumexp", refuse),
        ):
            return fn(*args)

    return run if callable(fn) else fn


def check_logsumexp(fn: Callable) -> Feedback:
    """Notebook 01: a log Σ_k exp(s_k) over the last dimension that neither overflows
    nor underflows.
    """
    cases = _bird_cases() + [
        # shifting by the first score, the row mean or the row minimum overflows
        Case("scores [0, 1000]", (torch.tensor([0.0, 1000.0], dtype=torch.float64),)),
        Case(
            "scores [1000, -1000]",
            (torch.tensor([1000.0, -1000.0], dtype=torch.float64),),
        ),
        # shifting every row by the batch-wide maximum underflows the second row
        Case(
            "a batch [[1000, 999], [-1000, -1001]]",
            (torch.tensor([[1000.0, 999.0], [-1000.0, -1001.0]], dtype=torch.float64),),
        ),
    ]
    return check_function(
        _without_torch_logsumexp(fn),
        lambda s: torch.logsumexp(s, dim=-1),
        cases,
        name="my_logsumexp",
        hint=(
            "exp(1000) overflows; log Σ exp(s) = m + log Σ exp(s − m) for any m. Which "
            "m keeps every exponent ≤ 0?"
        ),
    )


def check_kl_divergence(fn: Callable) -> Feedback:
    """Notebook 01: KL(p ‖ q) = Σ p log(p / q) over the last dimension, with 0 · log 0 =
    0.
    """
    g = torch.Generator().manual_seed(2)
    p, q = torch.softmax(torch.randn(2, 4, 5, generator=g, dtype=torch.float64), dim=-1)
    one_hot = torch.tensor([1.0, 0.0, 0.0, 0.0], dtype=torch.float64)
    birds = torch.softmax(
        torch.tensor([5.0, 2.2, -1.1, 0.3], dtype=torch.float64), dim=-1
    )
    cases = [
        Case("two random distributions", (p, q)),
        Case("KL(e_y ‖ p) for the bird logits", (one_hot, birds)),
        Case("KL(p ‖ p)", (birds, birds)),
        # q = 0 where p > 0: the divergence is +inf, and must stay inf
        Case(
            "p = [0.5, 0.5], q = [1, 0]",
            (
                torch.tensor([0.5, 0.5], dtype=torch.float64),
                torch.tensor([1.0, 0.0], dtype=torch.float64),
            ),
        ),
    ]
    return check_function(
        fn,
        lambda a, b: (torch.xlogy(a, a) - torch.xlogy(a, b)).sum(-1),
        cases,
        name="my_kl",
        hint="a one-hot p has zeros, and 0 · log(0 / q) is NaN in floating point "
        "but 0 by convention: treat the p = 0 terms separately.",
    )


def check_mixture_loss(fn: Callable) -> Feedback:
    """Notebook 02: (1 − α) · KL(e_y ‖ p) + α · KL(p_t ‖ p), averaged over the batch, p
    = softmax(logits).
    """
    g = torch.Generator().manual_seed(3)
    logits = 3 * torch.randn(6, 5, generator=g, dtype=torch.float64)
    labels = torch.randint(0, 5, (6,), generator=g)
    teacher = torch.softmax(
        2 * torch.randn(6, 5, generator=g, dtype=torch.float64), dim=-1
    )
    birds = torch.tensor([[5.0, 2.2, -1.1, 0.3]], dtype=torch.float64)
    bird_teacher = torch.tensor([[0.6, 0.3, 0.02, 0.08]], dtype=torch.float64)

    def reference(s, y, p_t, alpha):
        log_p = torch.log_softmax(s, -1)
        hard = -log_p.gather(-1, y[:, None]).squeeze(-1)
        soft = (torch.xlogy(p_t, p_t) - p_t * log_p).sum(-1)
        return ((1 - alpha) * hard + alpha * soft).mean()

    cases = [
        Case("the bird logits, α = 0.5", (birds, torch.tensor([0]), bird_teacher, 0.5)),
        Case("a random batch, α = 0 (plain CE)", (logits, labels, teacher, 0.0)),
        Case(
            "a random batch, α = 1 (pure distillation)", (logits, labels, teacher, 1.0)
        ),
        Case("a random batch, α = 0.3", (logits, labels, teacher, 0.3)),
    ]
    return check_function(
        fn,
        reference,
        cases,
        name="my_mixture_loss",
        hint=(
            "KL(e_y ‖ p) is the cross-entropy −log p_y; KL(p_t ‖ p) = Σ p_t (log p_t − "
            "log p) with 0 · log 0 = 0; average over the batch at the end."
        ),
    )


def check_soft_loss(fn: Callable) -> Feedback:
    """Notebook 02: the soft term with Hinton et al.'s rescaling, T² · KL(softmax(t/T) ‖
    softmax(s/T)), averaged over the batch.
    """
    from .losses import distillation_loss

    g = torch.Generator().manual_seed(6)
    s, t = 3 * torch.randn(2, 6, 10, generator=g, dtype=torch.float64)
    birds = torch.tensor([[5.0, 2.2, -1.1, 0.3]], dtype=torch.float64)
    bird_teacher = torch.tensor([[0.6, 0.3, 0.02, 0.08]], dtype=torch.float64).log()

    def reference(logits, teacher_logits, temperature):
        labels = torch.zeros(len(logits), dtype=torch.long)  # unused at α = 1
        return distillation_loss(logits, labels, teacher_logits, 1.0, temperature)

    cases = [
        Case("the bird logits and teacher, T = 1", (birds, bird_teacher, 1.0)),
        Case("a random batch, T = 4", (s, t, 4.0)),
        Case("a random batch, T = 20", (s, t, 20.0)),
        Case("large logits (± 1000), T = 2", (300 * s, 300 * t, 2.0)),
        Case("the teacher's own logits (a perfect student), T = 3", (t, t, 3.0)),
    ]
    return check_function(
        fn,
        reference,
        cases,
        name="my_soft_loss",
        hint=(
            "divide both logits by T before their (log-)softmax, compare the two with "
            "KL(teacher ‖ student) summed over classes, average over the batch, and "
            "remember the factor that keeps the gradient on scale. log_softmax never "
            "overflows."
        ),
    )


def _hidden_pairs():
    g = torch.Generator().manual_seed(7)
    student = torch.relu(torch.randn(6, 32, generator=g, dtype=torch.float64)) + 0.1
    teacher = torch.relu(torch.randn(6, 256, generator=g, dtype=torch.float64)) + 0.1
    line = torch.tensor([[1.0, 0.0], [0.0, 2.0], [3.0, 3.0]], dtype=torch.float64)
    return student, teacher, line


def check_relational_loss(fn: Callable) -> Feedback:
    """Notebook 03: the mean squared difference of the student's and the teacher's B ×
    B cosine-similarity matrices (layers of any widths).
    """
    from .distillation import relational_loss

    student, teacher, three = _hidden_pairs()
    cases = [
        Case("a 32-unit student and a 256-unit teacher", (student, teacher)),
        Case("the same rows, scaled by 5 and by 1000", (5 * three, 1000 * three)),
        Case(
            "three 2-d student rows, a 3-d teacher",
            (three, torch.tensor([[1.0, 0, 0], [0, 1, 0], [0, 1, 1]]).double()),
        ),
        Case(
            "rows of very different lengths",
            (student * torch.logspace(-3, 3, 6)[:, None], teacher),
        ),
    ]
    return check_function(
        fn,
        relational_loss,
        cases,
        name="my_relational_loss",
        hint=(
            "the two layers have different widths, so compare what they say about "
            "pairs of examples: each layer's B × B matrix of cosines (rows normalised "
            "to length 1), then the mean of the squared differences."
        ),
    )


def check_structure_agreement(fn: Callable) -> Feedback:
    """Notebook 03: the correlation of the off-diagonal pairs (i < j) of two layers'
    cosine-similarity matrices.
    """
    from .distillation import structure_agreement

    student, teacher, three = _hidden_pairs()
    g = torch.Generator().manual_seed(8)
    noisy = student + 0.3 * torch.randn(student.shape, generator=g, dtype=torch.float64)
    four = torch.tensor([[1.0, 0.0], [1.0, 0.2], [0.0, 1.0], [0.3, 1.0]]).double()
    cases = [
        Case("a 32-unit student and a 256-unit teacher", (student, teacher)),
        Case("a student and a noisy copy of it", (student, noisy)),
        Case(
            "four 2-d rows against three-d ones",
            (four, torch.rand(4, 3, generator=g).double()),
        ),
        Case("one layer and itself, scaled by 7", (four, 7 * four)),
    ]
    return check_function(
        fn,
        lambda a, b: torch.tensor(structure_agreement(a, b), dtype=torch.float64),
        cases,
        name="my_structure_agreement",
        hint=(
            "which entries of a cosine-similarity matrix are the same for every layer "
            "whatever it has learnt? Leave them out and correlate the rest, each pair "
            "of examples once (torch.triu_indices gives the pairs i < j)."
        ),
    )


def check_logq_correction(fn: Callable) -> Feedback:
    """Notebook 04: the in-batch sampled softmax loss with the logQ correction, per
    example.

    ``fn(scores, labels, log_q)``: scores (B, B) of query i against the batch's positive
    j, labels (B,), log_q (B,) the log sampling probability of each column's label;
    same-label columns other than the diagonal are accidental hits and are left out.
    """
    from .sampling import sampled_softmax_loss

    g = torch.Generator().manual_seed(5)
    scores = torch.randn(6, 6, generator=g, dtype=torch.float64)
    labels = torch.tensor([0, 1, 0, 2, 3, 1])
    prior = torch.tensor([0.5, 0.25, 0.15, 0.1], dtype=torch.float64)
    distinct = torch.tensor([0, 1, 2, 3])

    def reference(s, y, log_q):
        return sampled_softmax_loss(
            s.diagonal(), s, y[:, None] == y[None, :], log_q, log_q, reduction="none"
        )

    cases = [
        Case("a batch of distinct labels", (scores[:4, :4], distinct, prior.log())),
        Case("a batch with repeated labels", (scores, labels, prior.log()[labels])),
    ]
    return check_function(
        fn,
        reference,
        cases,
        name="my_logq_loss",
        hint=(
            "subtract log_q[j] from every score in column j (the positive too), drop "
            "the columns j ≠ i whose label equals row i's, then take −log softmax at "
            "the diagonal."
        ),
    )


def check_hardest_in_pool(fn: Callable) -> Feedback:
    """Notebook 04: the k highest-scoring labels of a uniform pool, never the row's own
    positive (any order).
    """
    from .sampling import mined_negatives

    g = torch.Generator().manual_seed(6)
    pool = torch.randperm(50, generator=g)[:20]
    scores_pool = torch.randn(5, 20, generator=g)
    # three rows whose positive is in the pool
    labels = torch.cat([pool[:3], torch.tensor([49, 48])])
    # the positive is its row's top score, at a pool position other than the row's
    # index: catches masking by position (the diagonal) instead of by label
    where = torch.tensor([3, 7, 0, 12, 5])
    top_labels = pool[where]
    top_scores = scores_pool.clone()
    top_scores[torch.arange(5), where] = 10.0
    cases = [
        Case("k = 1", (scores_pool, pool, labels, 1)),
        Case("k = 4", (scores_pool, pool, labels, 4)),
        Case("the positive is the pool's top score", (top_scores, pool, top_labels, 2)),
        # every score negative: masking the positive with 0 instead of −inf picks it
        Case("every score negative", (scores_pool.abs().neg() - 5, pool, labels, 3)),
    ]
    return check_function(
        lambda *a: fn(*a).sort(-1).values,
        lambda *a: mined_negatives(*a).sort(-1).values,
        cases,
        name="my_hardest",
        hint="mask the pool entries equal to the row's positive with −inf, "
        "then take the top-k scores and map their positions to labels.",
    )


def check_pairwise_sum(fn: Callable) -> Feedback:
    """Notebook 06: sum a float32 vector by pairwise (tree) summation: split in halves,
    sum each, add.
    """
    import numpy as np

    from .floating_point import pairwise_sum

    rng = np.random.default_rng(8)
    values = (rng.standard_normal(1000) * 10.0 ** rng.uniform(-3, 3, 1000)).astype(
        np.float32
    )

    cases = [
        Case("four numbers", (np.array([1e8, 1.0, -1e8, 1.0], dtype=np.float32),)),
        Case("1,000 numbers of very different sizes", (values,)),
        Case("one number", (values[:1],)),
    ]
    return check_function(
        fn,
        pairwise_sum,  # the same order of additions, so the same float32 result
        cases,
        name="my_pairwise_sum",
        atol=0.0,
        rtol=0.0,
        hint=(
            "recursion: below three numbers add them directly (in float32); otherwise "
            "sum the first len // 2 and the rest separately, then add the two float32 "
            "results."
        ),
    )


def check_bad_churn(fn: Callable) -> Feedback:
    """Notebook 07: "bad churn", the fraction of examples the old model got right and
    the new one gets wrong.
    """
    g = torch.Generator().manual_seed(9)
    labels, old, new = torch.randint(0, 3, (3, 300), generator=g)
    cases = [
        Case("random predictions", (old, new, labels)),
        Case("a perfect new model", (old, labels.clone(), labels)),
        Case("identical models", (old, old.clone(), labels)),
    ]
    return check_function(
        fn,
        lambda o, n, y: ((o == y) & (n != y)).double().mean(),
        cases,
        name="my_bad_churn",
        hint=(
            "two boolean conditions per example, combined with &, then the mean as a "
            "float."
        ),
    )


def check_churn_by_margin(fn: Callable) -> Feedback:
    """Notebook 05: where churn lives. ``fn(preds_a, preds_b, margin, groups)``: sort
    the examples by ``margin`` (smallest first), cut them into ``groups`` equal groups
    and return the churn within each, shape (groups,).
    """
    from .churn import churn_by_bucket

    g = torch.Generator().manual_seed(11)
    preds_a, preds_b = torch.randint(0, 3, (2, 60), generator=g)
    margin = torch.rand(60, generator=g, dtype=torch.float64)
    # churn concentrated where the margin is small, as in the notebook
    near = margin.argsort()[:15]
    close_b = preds_a.clone()
    close_b[near] = (preds_a[near] + 1) % 3
    a = torch.tensor([0, 1, 0, 0, 0, 0])
    b = torch.tensor([1, 0, 0, 0, 0, 0])
    cases = [
        Case("six images, 3 groups", (a, b, torch.tensor([0.1, 0.2, 5, 6, 7, 8.0]), 3)),
        Case("churn at the smallest margins, 4 groups", (preds_a, close_b, margin, 4)),
        Case("random predictions, 5 groups", (preds_a, preds_b, margin, 5)),
        Case("one group", (preds_a, preds_b, margin, 1)),
    ]
    return check_function(
        fn,
        churn_by_bucket,
        cases,
        name="my_churn_by_margin",
        hint=(
            "the margins come in no particular order: order the examples by margin "
            "first (smallest first), then cut that order into equal groups and take "
            "the fraction of disagreements inside each group."
        ),
    )


def check_update_loss(fn: Callable) -> Feedback:
    """Notebook 07: the model-update loss, the batch mean of the cross-entropy against
    the target λ · p_old + (1 − λ) · e_y = (1 − λ) · CE(y, s) + λ · CE(p_old, s).
    """
    g = torch.Generator().manual_seed(12)
    logits = 3 * torch.randn(6, 4, generator=g, dtype=torch.float64)
    labels = torch.randint(0, 4, (6,), generator=g)
    p_old = torch.softmax(2 * torch.randn(6, 4, generator=g, dtype=torch.float64), -1)

    def reference(s, y, p, lam):
        log_p = torch.log_softmax(s, -1)
        hard = -log_p.gather(-1, y[:, None]).squeeze(-1)
        return ((1 - lam) * hard - lam * (p * log_p).sum(-1)).mean()

    cases = [
        Case("λ = 0 (labels only)", (logits, labels, p_old, 0.0)),
        Case("λ = 1 (the old model only)", (logits, labels, p_old, 1.0)),
        Case("λ = 0.75", (logits, labels, p_old, 0.75)),
        Case("large logits (±300), λ = 0.5", (100 * logits, labels, p_old, 0.5)),
    ]
    return check_function(
        fn,
        reference,
        cases,
        name="my_update_loss",
        hint=(
            "a cross-entropy against a distribution q is −Σ q log p, with log p from "
            "torch.log_softmax (log of softmax overflows); λ weighs the old model's "
            "probabilities, 1 − λ the label; average over the batch."
        ),
    )


def check_ece(fn: Callable) -> Feedback:
    """Notebook 08: the expected calibration error over equal-width confidence bins,
    ECE = Σ_b (|B_b| / n) · |acc(B_b) − conf(B_b)|.
    """
    from .calibration import expected_calibration_error

    g = torch.Generator().manual_seed(8)
    probs = torch.softmax(3 * torch.randn(40, 4, generator=g, dtype=torch.float64), -1)
    labels = torch.randint(0, 4, (40,), generator=g)
    sure = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.2, 0.8]], dtype=torch.float64)
    cases = [
        Case("one bin (bins = 1)", (probs, labels, 1)),
        Case("40 random predictions, 10 bins", (probs, labels, 10)),
        Case("15 bins, some of them empty", (probs, labels, 15)),
        Case("a confidence of exactly 1", (sure, torch.tensor([1, 1, 1]), 5)),
    ]
    return check_function(
        fn,
        expected_calibration_error,
        cases,
        name="my_ece",
        hint=(
            "the confidence is the largest probability; bin b holds confidences in "
            "[b/bins, (b+1)/bins), and a confidence of 1 goes to the last bin; weigh "
            "each non-empty bin's |accuracy − mean confidence| by its share of the "
            "examples."
        ),
    )


def check_fit_temperature(fn: Callable) -> Feedback:
    """Notebook 08: temperature scaling, the T > 0 minimising the mean NLL of
    softmax(logits / T) (checked to 1 %).
    """
    from .calibration import fit_temperature

    g = torch.Generator().manual_seed(9)
    logits = torch.randn(300, 5, generator=g, dtype=torch.float64)
    labels = torch.multinomial(torch.softmax(logits, -1), 1, generator=g).squeeze(-1)
    cases = [
        Case("calibrated logits (T near 1)", (logits, labels)),
        Case("over-confident logits (× 4)", (4 * logits, labels)),
        Case("under-confident logits (× 0.3)", (0.3 * logits, labels)),
    ]
    return check_function(
        fn,
        fit_temperature,
        cases,
        name="my_fit_temperature",
        hint=(
            "compute the mean cross-entropy of logits / T for many T (say 2,000 "
            "values log-spaced between 0.05 and 20) and return the T where it is "
            "smallest; over-confident logits need T > 1."
        ),
        atol=0.0,
        rtol=1e-2,
    )


def check_confidence_deferral(fn: Callable) -> Feedback:
    """Notebook 09: ``fn(probs, budget)``, the boolean mask of the round(budget · n)
    inputs whose largest probability is smallest (confidence deferral).
    """
    from .inference import confidence_score, defer

    g = torch.Generator().manual_seed(13)
    probs = torch.softmax(3 * torch.randn(62, 5, generator=g, dtype=torch.float64), -1)
    cases = [
        Case("n = 40, budget 0.25", (probs[:40], 0.25)),
        Case("n = 40, budget 0.6", (probs[:40], 0.6)),
        Case("n = 45, budget 0.3 (13.5 inputs: round to 14)", (probs[:45], 0.3)),
        Case("n = 62, budget 0.2 (12.4 inputs: round to 12)", (probs, 0.2)),
        Case("budget 0 (defer nothing)", (probs, 0.0)),
        Case("budget 1 (defer everything)", (probs, 1.0)),
    ]

    def as_mask(mask):  # a bool tensor, as the exercise asks, not 0/1 numbers
        if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool:
            kind = mask.dtype if isinstance(mask, torch.Tensor) else type(mask).__name__
            raise TypeError(f"the mask must be a bool tensor, got {kind}")
        return mask.double()

    return check_function(
        lambda p, r: as_mask(fn(p, r)),
        lambda p, r: defer(confidence_score(p), r).double(),
        cases,
        name="my_confidence_deferral",
        hint=(
            "the confidence of an input is its largest probability; defer the "
            "round(budget · n) inputs with the LOWEST confidence (Python's round, "
            "not int: 13.5 -> 14), and return a bool tensor with one entry per input."
        ),
    )


def check_binomial_tail(fn: Callable) -> Feedback:
    """Notebook 09: ``fn(errors, n, epsilon)`` = P(Binomial(n, ε) ≤ errors), the
    p-value of CALM's threshold test.
    """
    from .inference import binomial_tail

    cases = [
        Case("no error in 10, ε = 0.1", (0, 10, 0.1)),
        Case("3 errors in 50, ε = 0.1", (3, 50, 0.1)),
        Case("20 errors in 400, ε = 0.05", (20, 400, 0.05)),
        Case("every input wrong, n = 6", (6, 6, 0.3)),
    ]
    return check_function(
        fn,
        binomial_tail,
        cases,
        name="my_binomial_tail",
        atol=1e-9,
        rtol=1e-6,
        hint=(
            "sum the binomial probabilities C(n, i) εⁱ (1 − ε)ⁿ⁻ⁱ for every i from 0 "
            "up to AND including errors (math.comb gives C(n, i))."
        ),
    )


def _router_cases(seed: int) -> list[tuple[str, torch.Tensor]]:
    """Router probabilities (n, E) for the routing exercises of notebook 11."""
    g = torch.Generator().manual_seed(seed)
    favourite = torch.tensor([2.0, 0.0, 0.0, 0.0])
    skewed = torch.softmax(torch.randn(16, 4, generator=g) + favourite, -1)
    wide = torch.softmax(2 * torch.randn(40, 8, generator=g), -1)
    return [
        ("12 tokens, 4 experts", torch.softmax(torch.randn(12, 4, generator=g), -1)),
        ("16 tokens that mostly want expert 0", skewed),
        ("40 tokens, 8 experts", wide),
    ]


def check_expert_choice(fn: Callable) -> Feedback:
    """Notebook 11: ``fn(router_probs, k)`` → the (n, E) bool dispatch of expert choice,
    each expert taking the k tokens with its largest gate (Zhou et al., NeurIPS 2022).
    """

    def reference(probs, k):
        picks = probs.topk(k, dim=0).indices
        return torch.zeros(probs.shape, dtype=torch.bool).scatter(0, picks, True)

    cases = [Case(name, (p, k)) for (name, p), k in zip(_router_cases(11), (3, 4, 5))]
    return check_function(
        fn,
        reference,
        cases,
        name="my_expert_choice",
        hint=(
            "here the EXPERTS choose: for each expert (a column), the k tokens (rows) "
            "with the largest probability in that column; every column ends up with "
            "exactly k True entries."
        ),
    )


def check_token_choice(fn: Callable) -> Feedback:
    """Notebook 11: ``fn(router_probs, capacity)`` → the (n, E) bool dispatch of top-1
    token choice: each token picks its arg-max expert, each expert keeps the first
    ``capacity`` tokens (in batch order) that picked it (Switch, Fedus et al., JMLR
    2022). ``capacity`` is C, a number of tokens, not the library's capacity factor.
    """

    def reference(probs, capacity):
        wants = torch.nn.functional.one_hot(probs.argmax(-1), probs.shape[-1]).bool()
        return wants & (wants.long().cumsum(0) <= capacity)

    cases = [Case(name, (p, c)) for (name, p), c in zip(_router_cases(12), (3, 4, 5))]
    cases.append(Case("capacity larger than the batch", (cases[0].args[0], 20)))
    return check_function(
        fn,
        reference,
        cases,
        name="my_token_choice",
        hint=(
            "each token (a row) picks its arg-max expert; an expert keeps only the "
            "FIRST `capacity` tokens that picked it, counting down the rows (a running "
            "count per column, e.g. cumsum over dim 0), and later ones are dropped."
        ),
    )


def check_nested_loss(fn: Callable) -> Feedback:
    """Notebook 10: ``fn(embeddings, heads, labels)``, the Matryoshka loss Σ_m mean_i
    CE(y_i, z_i[:m] W_m + b_m) for heads [(W_m, b_m), …] with W_m of shape (m, C).
    """
    from .representations import nested_cross_entropy

    def reference(z, heads, labels):
        blocks = [z[:, : w.shape[0]] @ w + b for w, b in heads]
        return nested_cross_entropy(torch.stack(blocks), labels)

    g = torch.Generator().manual_seed(10)
    rand = lambda *shape: torch.randn(*shape, generator=g, dtype=torch.float64)  # noqa: E731
    heads = [(rand(m, 4), rand(4)) for m in (2, 4, 8)]
    odd = [(rand(m, 4), rand(4)) for m in (1, 3)]
    z, labels = rand(6, 8), torch.randint(0, 4, (6,), generator=g)
    cases = [
        Case("three heads, m = 2, 4, 8", (z, heads, labels)),
        Case("one head on all 8 coordinates", (z, heads[-1:], labels)),
        Case("heads m = 1 and 3", (z, odd, labels)),
        Case("large embeddings (× 300)", (300 * z, heads, labels)),
    ]
    return check_function(
        fn,
        reference,
        cases,
        name="my_nested_loss",
        hint=(
            "head (W, b) reads only the first m = W.shape[0] coordinates; take each "
            "head's mean cross-entropy over the batch (torch.log_softmax keeps large "
            "logits finite) and ADD the heads' losses, do not average them."
        ),
    )


def check_shortlist_rerank(fn: Callable) -> Feedback:
    """Notebook 10: ``fn(queries, database, shortlist_dims, shortlist_size)``, the
    database index of each query's winner after a cosine shortlist on the first
    ``shortlist_dims`` coordinates and a cosine re-rank on all of them.
    """
    from .checker import _copy
    from .representations import shortlist_then_rerank

    g = torch.Generator().manual_seed(11)
    queries = torch.randn(8, 6, generator=g, dtype=torch.float64)
    database = torch.randn(40, 6, generator=g, dtype=torch.float64)
    database = database * torch.rand(40, 1, generator=g, dtype=torch.float64) * 10
    cases = [
        Case("a 2-coordinate shortlist of 5", (queries, database, 2, 5)),
        Case("a 3-coordinate shortlist of 10", (queries, database, 3, 10)),
        Case("a shortlist of 1 (no re-ranking)", (queries, database, 2, 1)),
        Case("the whole database shortlisted", (queries, database, 1, 40)),
    ]
    name = "my_shortlist_rerank"
    hint = (
        "the shortlist ranks rows by the cosine of the first m coordinates, "
        "normalised on their own (q[:m] / ‖q[:m]‖); the re-rank scores only the "
        "shortlisted rows on all coordinates; return indices into the database, "
        "not positions in the shortlist."
    )
    # first: not attempted, an error, a wrong shape or type (any index values pass)
    verdict = check_function(
        fn, shortlist_then_rerank, cases, name=name, hint=hint, atol=float("inf")
    )
    for case in cases if verdict else []:  # then: how many queries are wrong
        got = torch.as_tensor(fn(*[_copy(a) for a in case.args]))
        misses = int((got.long() != shortlist_then_rerank(*case.args)).sum())
        if misses:
            return Feedback(
                "wrong",
                f"Not yet: on the case '{case.name}', {misses} of {len(got)} queries "
                f"get a wrong database index. Hint: {hint}",
            )
    return verdict
