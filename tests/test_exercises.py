"""course_lib.exercises: right answers pass, wrong ones get a hint, and no message
reveals the answer.
"""

import math

import torch

from course_lib.checker import Case, check_choice, check_function, check_number

CASES = [
    Case("small", (torch.tensor([1.0, 2.0, 3.0]),)),
    Case("large", (torch.tensor([1000.0, 1000.0]),)),
]
REFERENCE = lambda x: torch.logsumexp(x, -1)  # noqa: E731
HINT = "subtract the max first"


def check(fn):
    return check_function(fn, REFERENCE, CASES, name="logsumexp", hint=HINT)


def test_right_function_passes():
    result = check(lambda x: x.max() + torch.log(torch.exp(x - x.max()).sum()))
    assert result and result.status == "correct" and "2 test cases" in repr(result)


def test_naive_function_fails_on_the_large_case_without_the_answer():
    result = check(lambda x: torch.log(torch.exp(x).sum()))
    assert not result and result.status == "wrong"
    assert "large" in result.message and HINT in result.message
    assert "NaN or inf" in result.message
    assert (
        f"{1000 + math.log(2):.4g}" not in result.message
        and "1000.69" not in result.message
    )


def test_wrong_value_says_how_far_not_what():
    result = check(lambda x: x.max())
    assert result.status == "wrong" and "off by" in result.message
    assert f"{math.log(math.e + math.e**2 + math.e**3):.4g}" not in result.message


def test_wrong_shape_and_exceptions_and_todo():
    assert "shape" in check(lambda x: x).message
    assert "ZeroDivisionError" in check(lambda x: 1 / 0).message

    def stub(x):
        raise NotImplementedError

    assert check(stub).status == "todo"


def test_check_number():
    assert check_number(0.0697, 0.06966, name="ce", hint="h")
    wrong = check_number(0.5, 0.06966, name="ce", hint="h")
    assert (
        wrong.status == "wrong"
        and "too large" in wrong.message
        and "0.0697" not in wrong.message
    )
    assert check_number(None, 1.0, name="ce", hint="h").status == "todo"
    assert check_number(float("nan"), 1.0, name="ce", hint="h").status == "wrong"
    assert check_number("abc", 1.0, name="ce", hint="h").status == "wrong"


def test_check_choice():
    assert check_choice(
        "Parrot", "parrot", name="c", hint="h", choices=["Parrot", "Pigeon"]
    )
    wrong = check_choice(
        "Pigeon", "parrot", name="c", hint="h", choices=["Parrot", "Pigeon"]
    )
    assert wrong.status == "wrong" and "parrot" not in wrong.message.lower().replace(
        "pigeon", ""
    )


def test_course_exercises_reject_typical_mistakes():
    from course_lib import exercises

    naive_lse = lambda s: torch.log(torch.exp(s).sum(-1))  # noqa: E731
    assert exercises.check_logsumexp(naive_lse).status == "wrong"
    naive_kl = lambda p, q: (p * torch.log(p / q)).sum(-1)  # noqa: E731  (0 · log 0 is NaN)
    assert "NaN" in exercises.check_kl_divergence(naive_kl).message
    # noqa: E731
    summed = lambda s, y, p_t, a: (
        (1 - a) * torch.nn.functional.cross_entropy(s, y, reduction="sum")
    )
    assert exercises.check_mixture_loss(summed).status == "wrong"


def test_churn_unit_exercises_reject_typical_mistakes():
    import numpy as np

    from course_lib import exercises

    any_churn = lambda old, new, y: (old != new).double().mean()  # noqa: E731  (all churn, not bad churn)
    assert exercises.check_bad_churn(any_churn).status == "wrong"
    float64_sum = lambda x: float(np.sum(np.asarray(x, dtype=np.float64)))  # noqa: E731  (exact-ish, not pairwise float32)
    assert exercises.check_pairwise_sum(float64_sum).status == "wrong"


def test_churn_by_margin_and_update_loss_exercises_reject_typical_mistakes():
    from course_lib import exercises

    def unsorted(a, b, margin, groups):  # groups in the given order, not by margin
        chunks = torch.arange(len(margin)).chunk(groups)
        return torch.stack([(a[i] != b[i]).double().mean() for i in chunks])

    assert exercises.check_churn_by_margin(unsorted).status == "wrong"

    def log_of_softmax(s, y, p_old, lam):  # overflows on large logits
        e_y = torch.nn.functional.one_hot(y, s.shape[-1])
        target = lam * p_old + (1 - lam) * e_y
        return -(target * torch.log(torch.softmax(s, -1))).sum(-1).mean()

    assert "NaN or inf" in exercises.check_update_loss(log_of_softmax).message


def test_distillation_exercises_reject_typical_mistakes():
    from course_lib import exercises

    def without_t2(s, t, temperature):  # the KL at temperature T, not rescaled
        log_p = torch.log_softmax(s / temperature, -1)
        log_q = torch.log_softmax(t / temperature, -1)
        return (log_q.exp() * (log_q - log_p)).sum(-1).mean()

    assert exercises.check_soft_loss(without_t2).status == "wrong"
    unnormalised = lambda s, t: (s @ s.T - t @ t.T).pow(2).mean()  # noqa: E731
    assert exercises.check_relational_loss(unnormalised).status == "wrong"

    def with_diagonal(s, t):  # the diagonal is 1 in both: it inflates the correlation
        from course_lib.distillation import similarity_matrix

        flat = [similarity_matrix(h).flatten() for h in (s, t)]
        return torch.corrcoef(torch.stack(flat))[0, 1]

    assert exercises.check_structure_agreement(with_diagonal).status == "wrong"


def _shifted_lse(shift):
    """log Σ exp(s) = m + log Σ exp(s − m), with m = shift(s) of shape (..., 1)."""

    def lse(s):
        m = shift(s)
        return (m + torch.log(torch.exp(s - m).sum(-1, keepdim=True))).squeeze(-1)

    return lse


def test_logsumexp_exercise_rejects_every_wrong_shift_and_torch_itself():
    from course_lib import exercises

    row_max = _shifted_lse(lambda s: s.max(-1, keepdim=True).values)
    assert exercises.check_logsumexp(row_max)  # the notebook's solution
    wrong = {
        "the first score": _shifted_lse(lambda s: s[..., :1]),
        "the batch-wide max": _shifted_lse(lambda s: s.max()),
        "the row mean": _shifted_lse(lambda s: s.mean(-1, keepdim=True)),
        "the row min": _shifted_lse(lambda s: s.min(-1, keepdim=True).values),
        "torch.logsumexp": lambda s: torch.logsumexp(s, dim=-1),
        "Tensor.logsumexp": lambda s: s.logsumexp(-1),
        "torch.special.logsumexp": lambda s: torch.special.logsumexp(s, -1),
    }
    for name, fn in wrong.items():
        assert exercises.check_logsumexp(fn).status == "wrong", name
    assert torch.logsumexp(torch.zeros(2), 0) > 0  # switched back on afterwards


def test_kl_exercise_keeps_an_infinite_divergence_infinite():
    from course_lib import exercises

    where = lambda p, q: torch.where(p > 0, p * torch.log(p / q), 0).sum(-1)  # noqa: E731
    xlogy = lambda p, q: (torch.xlogy(p, p) - torch.xlogy(p, q)).sum(-1)  # noqa: E731
    assert exercises.check_kl_divergence(where) and exercises.check_kl_divergence(xlogy)
    patched = lambda p, q: (p * torch.log(p / q)).nan_to_num().sum(-1)  # noqa: E731
    feedback = exercises.check_kl_divergence(patched)
    assert feedback.status == "wrong" and "q = [1, 0]" in feedback.message


def test_compare_accepts_inf_only_where_inf_is_expected():
    cases = [Case("x", (torch.tensor([1.0, 0.0]),))]
    inv = lambda x: 1 / x  # noqa: E731  [1, inf]
    assert check_function(inv, inv, cases, name="f", hint="h")
    neg = lambda x: torch.where(x > 0, 1 / x, -1 / x)  # noqa: E731  [1, -inf]
    assert check_function(neg, inv, cases, name="f", hint="h").status == "wrong"
    big = lambda x: (1 / x).nan_to_num()  # noqa: E731  [1, 3.4e38]
    assert check_function(big, inv, cases, name="f", hint="h").status == "wrong"
    nan = lambda x: x / x  # noqa: E731  [1, nan] where [1, 1] is expected
    assert (
        "NaN" in check_function(nan, lambda x: x**0, cases, name="f", hint="h").message
    )


def test_hardest_in_pool_rejects_masking_by_position_or_not_at_all():
    from course_lib import exercises

    def by_position(scores_pool, pool, labels, k):  # masks the diagonal, not the label
        mask = torch.zeros_like(scores_pool, dtype=torch.bool)
        mask[torch.arange(len(labels)), torch.arange(len(labels))] = True
        return pool[scores_pool.masked_fill(mask, float("-inf")).topk(k, -1).indices]

    def unmasked(scores_pool, pool, labels, k):
        return pool[scores_pool.topk(k, -1).indices]

    def right(scores_pool, pool, labels, k):
        is_positive = pool[None, :] == labels[:, None]
        top = scores_pool.masked_fill(is_positive, float("-inf")).topk(k, -1).indices
        return pool[top]

    def masked_with_zero(scores_pool, pool, labels, k):  # 0 beats negative scores
        is_positive = pool[None, :] == labels[:, None]
        return pool[scores_pool.masked_fill(is_positive, 0.0).topk(k, -1).indices]

    assert exercises.check_hardest_in_pool(right).status == "correct"
    for wrong in (by_position, unmasked, masked_with_zero):
        feedback = exercises.check_hardest_in_pool(wrong)
        assert feedback.status == "wrong"
