"""course_lib.losses against PyTorch's own ops, property tests, stability, and bad
inputs.
"""

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib import losses

BIRD_LOGITS = torch.tensor([[5.0, 2.2, -1.1, 0.3]])


def random_case(seed, batch=16, classes=7, dtype=torch.float64, scale=3.0):
    g = torch.Generator().manual_seed(seed)
    logits = scale * torch.randn(batch, classes, generator=g, dtype=dtype)
    labels = torch.randint(0, classes, (batch,), generator=g)
    probs = torch.softmax(torch.randn(batch, classes, generator=g, dtype=dtype), dim=-1)
    return logits, labels, probs


# ---------------------------------------------------------------- the slide's numbers
def test_bird_logits_cross_entropy_and_margin():
    ce = losses.softmax_cross_entropy(BIRD_LOGITS, torch.tensor([0]))
    assert ce.item() == pytest.approx(
        math.log(sum(math.exp(v) for v in (5.0, 2.2, -1.1, 0.3))) - 5.0, abs=1e-6
    )
    assert round(ce.item(), 4) == 0.0697
    assert losses.prediction_margin(
        BIRD_LOGITS, torch.tensor([0])
    ).item() == pytest.approx(2.8, abs=1e-6)


# ---------------------------------------------------------------- against PyTorch
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cross_entropy_matches_torch_index_targets(reduction, seed):
    logits, labels, _ = random_case(seed)
    torch.testing.assert_close(
        losses.softmax_cross_entropy(logits, labels, reduction),
        F.cross_entropy(logits, labels, reduction=reduction),
    )


def test_cross_entropy_handles_extra_batch_dims():
    logits, labels, _ = random_case(3, batch=12)
    logits3, labels3 = logits.reshape(3, 4, -1), labels.reshape(3, 4)
    torch.testing.assert_close(
        losses.softmax_cross_entropy(logits3, labels3, "none"),
        F.cross_entropy(logits, labels, reduction="none").reshape(3, 4),
    )


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_teacher_weighted_ce_matches_torch_probability_targets(reduction):
    logits, _, probs = random_case(4)
    torch.testing.assert_close(
        losses.teacher_weighted_cross_entropy(logits, probs, reduction),
        F.cross_entropy(logits, probs, reduction=reduction),
    )


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_kl_matches_torch_kl_div(reduction):
    _, _, p = random_case(5)
    _, _, q = random_case(6)
    ours = losses.kl_divergence(p, q, reduction)
    theirs = F.kl_div(q.log(), p, reduction="none").sum(-1)
    expected = {"mean": theirs.mean(), "sum": theirs.sum(), "none": theirs}[reduction]
    torch.testing.assert_close(ours, expected)


def test_kl_zero_log_zero_is_zero():
    p = torch.tensor([[1.0, 0.0, 0.0]], dtype=torch.float64)
    q = torch.tensor([[0.5, 0.5, 0.0]], dtype=torch.float64)
    assert losses.kl_divergence(p, q).item() == pytest.approx(math.log(2))
    # q puts mass where p has none: KL is infinite
    assert math.isinf(losses.kl_divergence(q, p).item())


def test_distillation_loss_matches_hinton_formula():
    logits, labels, _ = random_case(7)
    teacher, _, _ = random_case(8)
    alpha, temperature = 0.3, 4.0
    expected = (1 - alpha) * F.cross_entropy(
        logits, labels
    ) + alpha * temperature**2 * F.kl_div(
        F.log_softmax(logits / temperature, -1),
        F.log_softmax(teacher / temperature, -1),
        reduction="batchmean",
        log_target=True,
    )
    torch.testing.assert_close(
        losses.distillation_loss(logits, labels, teacher, alpha, temperature), expected
    )


def test_entropy_of_uniform_is_log_L():
    assert losses.entropy(torch.full((3, 8), 1 / 8)).item() == pytest.approx(
        math.log(8), rel=1e-6
    )
    assert losses.entropy(torch.tensor([[1.0, 0.0]])).item() == 0.0


def test_softmax_with_temperature():
    logits, _, _ = random_case(9)
    torch.testing.assert_close(
        losses.softmax(logits, 2.0), torch.softmax(logits / 2, -1)
    )


# ---------------------------------------------------------------- properties
# (hypothesis)
def distributions(classes):
    return (
        st.lists(st.floats(0.0, 1.0), min_size=classes, max_size=classes)
        .filter(lambda v: sum(v) > 1e-3)
        .map(lambda v: torch.tensor(v, dtype=torch.float64) / sum(v))
    )


logit_vectors = st.integers(2, 9).flatmap(
    lambda L: st.lists(st.floats(-30, 30), min_size=L, max_size=L).map(
        lambda v: torch.tensor([v], dtype=torch.float64)
    )
)


@settings(max_examples=60, deadline=None)
@given(
    st.integers(2, 8).flatmap(lambda L: st.tuples(distributions(L), distributions(L)))
)
def test_kl_is_nonnegative_and_zero_iff_equal(pq):
    p, q = pq
    kl = losses.kl_divergence(p[None], q[None]).item()
    assert kl >= -1e-12
    assert losses.kl_divergence(p[None], p[None]).item() == pytest.approx(
        0.0, abs=1e-12
    )
    if (p - q).abs().max() > 1e-3:
        assert kl > 0


@settings(max_examples=60, deadline=None)
@given(logit_vectors, st.data())
def test_teacher_weighted_ce_with_one_hot_teacher_is_ce(logits, data):
    y = data.draw(st.integers(0, logits.shape[-1] - 1))
    one_hot = F.one_hot(torch.tensor([y]), logits.shape[-1]).double()
    torch.testing.assert_close(
        losses.teacher_weighted_cross_entropy(logits, one_hot),
        losses.softmax_cross_entropy(logits, torch.tensor([y])),
    )


@settings(max_examples=60, deadline=None)
@given(logit_vectors, st.data())
def test_teacher_weighted_ce_is_kl_plus_teacher_entropy(logits, data):
    teacher = data.draw(distributions(logits.shape[-1]))[None]
    p = torch.softmax(logits, -1)
    lhs = losses.teacher_weighted_cross_entropy(logits, teacher)
    rhs = losses.kl_divergence(teacher, p) + losses.entropy(teacher)
    assert lhs.item() == pytest.approx(rhs.item(), abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(logit_vectors, logit_vectors, st.data())
def test_distillation_loss_endpoints(student, teacher, data):
    if student.shape != teacher.shape:
        teacher = teacher[..., :1].expand_as(student) + 0.0
    y = torch.tensor([data.draw(st.integers(0, student.shape[-1] - 1))])
    at_zero = losses.distillation_loss(
        student, y, teacher, alpha=0.0, temperature=data.draw(st.floats(0.5, 10))
    )
    torch.testing.assert_close(at_zero, losses.softmax_cross_entropy(student, y))
    at_one = losses.distillation_loss(student, y, teacher, alpha=1.0, temperature=1.0)
    torch.testing.assert_close(
        at_one,
        losses.kl_divergence(torch.softmax(teacher, -1), torch.softmax(student, -1)),
    )


@settings(max_examples=60, deadline=None)
@given(logit_vectors, st.data())
def test_cross_entropy_gradient_is_p_minus_one_hot(logits, data):
    y = torch.tensor([data.draw(st.integers(0, logits.shape[-1] - 1))])
    logits = logits.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(
        losses.softmax_cross_entropy(logits, y, "sum"), logits
    )
    expected = (
        torch.softmax(logits.detach(), -1) - F.one_hot(y, logits.shape[-1]).double()
    )
    torch.testing.assert_close(grad, expected)


@settings(max_examples=60, deadline=None)
@given(logit_vectors, st.data())
def test_margin_bounds_hold(logits, data):
    y = torch.tensor([data.draw(st.integers(0, logits.shape[-1] - 1))])
    ce = losses.softmax_cross_entropy(logits, y, "none")
    lower, upper = losses.ce_bounds(logits, y)
    assert bool((lower <= ce + 1e-12).all() and (ce <= upper + 1e-12).all())


# ---------------------------------------------------------------- stability and low
# precision
@pytest.mark.parametrize("magnitude", [1e2, 1e3, 1e4])
def test_stable_for_large_logits_in_float32(magnitude):
    logits = torch.tensor(
        [[magnitude, -magnitude, 0.0, magnitude - 1.0]], dtype=torch.float32
    )
    labels = torch.tensor([3])
    ce = losses.softmax_cross_entropy(logits, labels)
    assert torch.isfinite(ce).all()
    # log(e^1 + e^0) − 0
    assert ce.item() == pytest.approx(math.log1p(math.e), rel=1e-5)
    logits.requires_grad_(True)
    (grad,) = torch.autograd.grad(losses.softmax_cross_entropy(logits, labels), logits)
    assert torch.isfinite(grad).all()
    teacher = torch.softmax(logits.detach().flip(-1), -1)
    assert torch.isfinite(
        losses.teacher_weighted_cross_entropy(logits.detach(), teacher)
    ).all()
    assert torch.isfinite(
        losses.distillation_loss(
            logits.detach(), labels, logits.detach().flip(-1), 0.5, 4.0
        )
    ).all()


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_inputs(dtype):
    logits, labels, probs = random_case(10, dtype=torch.float32)
    expected = F.cross_entropy(logits.to(dtype).float(), labels)
    ce = losses.softmax_cross_entropy(logits.to(dtype), labels)
    assert ce.dtype == torch.float32
    torch.testing.assert_close(ce, expected)
    big = torch.tensor([[1e4, -1e4, 0.0]], dtype=dtype)
    assert torch.isfinite(losses.softmax_cross_entropy(big, torch.tensor([1]))).all()
    assert torch.isfinite(
        losses.kl_divergence(probs.to(dtype), torch.softmax(logits, -1).to(dtype))
    ).all()
    assert torch.isfinite(
        losses.distillation_loss(
            logits.to(dtype), labels, logits.flip(0).to(dtype), 0.5, 2.0
        )
    ).all()
    assert torch.isfinite(losses.entropy(probs.to(dtype))).all()
    half_logits = logits.to(dtype).requires_grad_(True)
    (grad,) = torch.autograd.grad(
        losses.softmax_cross_entropy(half_logits, labels), half_logits
    )
    assert grad.dtype == dtype and torch.isfinite(grad).all()


# ---------------------------------------------------------------- bad inputs: a
# ValueError naming the argument
GOOD_LOGITS, GOOD_LABELS, GOOD_PROBS = random_case(11, dtype=torch.float32)


def with_value(tensor, value):
    bad = tensor.clone()
    bad[0, 1] = value
    return bad


BAD_CALLS = {
    "labels shape mismatch": (
        lambda: losses.softmax_cross_entropy(GOOD_LOGITS, GOOD_LABELS[:-1]),
        "labels",
    ),
    "labels too large": (
        lambda: losses.softmax_cross_entropy(GOOD_LOGITS, GOOD_LABELS * 0 + 7),
        "labels",
    ),
    "labels negative": (
        lambda: losses.prediction_margin(GOOD_LOGITS, GOOD_LABELS * 0 - 1),
        "labels",
    ),
    "labels float": (
        lambda: losses.softmax_cross_entropy(GOOD_LOGITS, GOOD_LABELS.float()),
        "labels",
    ),
    "logits NaN": (
        lambda: losses.softmax_cross_entropy(
            with_value(GOOD_LOGITS, float("nan")), GOOD_LABELS
        ),
        "logits",
    ),
    "logits +inf": (
        lambda: losses.softmax_cross_entropy(
            with_value(GOOD_LOGITS, float("inf")), GOOD_LABELS
        ),
        "logits",
    ),
    "logits -inf": (
        lambda: losses.prediction_margin(
            with_value(GOOD_LOGITS, float("-inf")), GOOD_LABELS
        ),
        "logits",
    ),
    "logits empty batch": (
        lambda: losses.softmax_cross_entropy(GOOD_LOGITS[:0], GOOD_LABELS[:0]),
        "logits",
    ),
    "logits integer": (
        lambda: losses.softmax_cross_entropy(GOOD_LOGITS.long(), GOOD_LABELS),
        "logits",
    ),
    "logits not a tensor": (
        lambda: losses.softmax_cross_entropy([[1.0, 2.0]], GOOD_LABELS),
        "logits",
    ),
    "reduction unknown": (
        lambda: losses.softmax_cross_entropy(GOOD_LOGITS, GOOD_LABELS, "avg"),
        "reduction",
    ),
    "p does not sum to 1": (
        lambda: losses.kl_divergence(GOOD_PROBS * 2, GOOD_PROBS),
        "p",
    ),
    "q negative": (
        lambda: losses.kl_divergence(GOOD_PROBS, with_value(GOOD_PROBS, -0.1)),
        "q",
    ),
    "q NaN": (
        lambda: losses.kl_divergence(GOOD_PROBS, with_value(GOOD_PROBS, float("nan"))),
        "q",
    ),
    "p and q shapes": (lambda: losses.kl_divergence(GOOD_PROBS, GOOD_PROBS[:-1]), "p"),
    "probs do not sum to 1": (lambda: losses.entropy(GOOD_PROBS + 0.1), "probs"),
    "student_logits -inf": (
        lambda: losses.teacher_weighted_cross_entropy(
            with_value(GOOD_LOGITS, float("-inf")), GOOD_PROBS
        ),
        "student_logits",
    ),
    "student_logits -inf, teacher 0": (
        lambda: losses.teacher_weighted_cross_entropy(
            with_value(GOOD_LOGITS, float("-inf")),
            torch.nn.functional.one_hot(GOOD_PROBS.argmax(-1) * 0, 7).float(),
        ),
        "student_logits",
    ),
    "student_logits NaN": (
        lambda: losses.teacher_weighted_cross_entropy(
            with_value(GOOD_LOGITS, float("nan")), GOOD_PROBS
        ),
        "student_logits",
    ),
    "teacher_probs sum": (
        lambda: losses.teacher_weighted_cross_entropy(GOOD_LOGITS, GOOD_PROBS * 0.5),
        "teacher_probs",
    ),
    "teacher_probs shape": (
        lambda: losses.teacher_weighted_cross_entropy(GOOD_LOGITS, GOOD_PROBS[:, :3]),
        "teacher_probs",
    ),
    "alpha above 1": (
        lambda: losses.distillation_loss(GOOD_LOGITS, GOOD_LABELS, GOOD_LOGITS, 1.5),
        "alpha",
    ),
    "alpha negative": (
        lambda: losses.distillation_loss(GOOD_LOGITS, GOOD_LABELS, GOOD_LOGITS, -0.1),
        "alpha",
    ),
    "alpha NaN": (
        lambda: losses.distillation_loss(
            GOOD_LOGITS, GOOD_LABELS, GOOD_LOGITS, float("nan")
        ),
        "alpha",
    ),
    "temperature zero": (
        lambda: losses.distillation_loss(
            GOOD_LOGITS, GOOD_LABELS, GOOD_LOGITS, 0.5, 0.0
        ),
        "temperature",
    ),
    "temperature negative": (lambda: losses.softmax(GOOD_LOGITS, -1.0), "temperature"),
    "teacher_logits shape": (
        lambda: losses.distillation_loss(
            GOOD_LOGITS, GOOD_LABELS, GOOD_LOGITS[:, :2], 0.5
        ),
        "teacher_logits",
    ),
    "teacher_logits inf": (
        lambda: losses.distillation_loss(
            GOOD_LOGITS, GOOD_LABELS, with_value(GOOD_LOGITS, float("inf")), 0.5
        ),
        "teacher_logits",
    ),
    "margin needs two classes": (
        lambda: losses.prediction_margin(GOOD_LOGITS[:, :1], GOOD_LABELS * 0),
        "logits",
    ),
}


@pytest.mark.parametrize("case", list(BAD_CALLS))
def test_bad_input_raises_value_error_naming_the_argument(case):
    call, argument = BAD_CALLS[case]
    with pytest.raises(ValueError, match=argument):
        call()
