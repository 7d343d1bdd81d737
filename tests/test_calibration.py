"""course_lib.calibration and the other pieces of notebook 08: ECE against hand
computations, temperature scaling, the Bayes task, distorted teachers, per-member
targets and the two exercises.
"""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib import calibration, data, distillation, exercises, losses, training


def test_ece_and_reliability_by_hand():
    # confidences 0.9 and 0.8 fall in the bin [0.75, 1], 0.6 and 0.55 in [0.5, 0.75)
    probs = torch.tensor([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.55, 0.45]])
    labels = torch.tensor([0, 0, 0, 1])  # right, wrong, right, wrong
    diagram = calibration.reliability(probs, labels, bins=4)
    # bins [0, .25), [.25, .5), [.5, .75), [.75, 1]
    assert diagram.counts.tolist() == [0, 0, 2, 2]
    assert diagram.accuracy[2:].tolist() == [0.5, 0.5]
    torch.testing.assert_close(
        diagram.confidence[2:], torch.tensor([0.575, 0.85], dtype=torch.float64)
    )
    assert math.isnan(diagram.accuracy[0])
    ece = calibration.expected_calibration_error(probs, labels, bins=4)
    assert ece == pytest.approx(0.5 * 0.075 + 0.5 * 0.35)
    # one bin: |overall accuracy − mean confidence|
    one = calibration.expected_calibration_error(probs, labels, bins=1)
    assert one == pytest.approx(abs(0.5 - (0.9 + 0.8 + 0.6 + 0.55) / 4))


def test_a_confidence_of_one_falls_in_the_last_bin():
    probs = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    diagram = calibration.reliability(probs, torch.tensor([0, 1]), bins=10)
    assert diagram.counts[-1] == 2
    assert calibration.expected_calibration_error(probs, torch.tensor([0, 1])) == 0


def test_ece_of_a_calibrated_predictor_vanishes_as_n_grows():
    g = torch.Generator().manual_seed(0)
    eces = []
    for n in (200, 2000, 50000):
        probs = torch.softmax(2 * torch.randn(n, 4, generator=g), -1)
        labels = torch.multinomial(probs, 1, generator=g).squeeze(-1)  # y ~ p
        eces.append(calibration.expected_calibration_error(probs, labels))
    assert eces[-1] < 0.01 and eces[-1] < eces[0]
    # an over-confident predictor: labels drawn from a flatter distribution than p
    over = torch.softmax(8 * torch.randn(n, 4, generator=g), -1)
    labels = torch.multinomial(
        over.pow(0.3) / over.pow(0.3).sum(-1, True), 1, generator=g
    )
    assert calibration.expected_calibration_error(over, labels.squeeze(-1)) > 0.1


def test_fit_temperature_recovers_the_temperature_of_the_data():
    g = torch.Generator().manual_seed(1)
    logits = 2 * torch.randn(20000, 5, generator=g, dtype=torch.float64)
    labels = torch.multinomial(torch.softmax(logits, -1), 1, generator=g).squeeze(-1)
    assert calibration.fit_temperature(3 * logits, labels) == pytest.approx(3, rel=0.05)
    t = calibration.fit_temperature(logits, labels)
    nll = lambda temp: losses.softmax_cross_entropy(logits / temp, labels).item()  # noqa: E731
    assert nll(t) <= min(nll(t * 1.01), nll(t / 1.01))  # a minimum


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(-50, 50), min_size=12, max_size=12),
    st.floats(0.05, 20),
)
def test_temperature_scaling_never_changes_the_argmax(values, temperature):
    logits = torch.tensor(values, dtype=torch.float64).view(4, 3)
    labels = torch.tensor([0, 1, 2, 0])
    assert torch.equal((logits / temperature).argmax(-1), logits.argmax(-1))
    before = calibration.report(logits, labels)["accuracy"]
    assert calibration.report(logits / temperature, labels)["accuracy"] == before


def test_fit_temperature_refuses_a_minimum_at_the_end_of_its_range():
    logits = torch.tensor([[2.0, 0.0], [0.0, 2.0]], dtype=torch.float64)
    with pytest.raises(ValueError, match="end of"):  # separable: T → 0
        calibration.fit_temperature(logits, torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="end of"):  # anti-informative: T → ∞
        calibration.fit_temperature(logits, torch.tensor([1, 0]))


def test_calibration_rejects_bad_input_naming_the_argument():
    probs, labels = torch.tensor([[0.7, 0.3]]), torch.tensor([0])
    with pytest.raises(ValueError, match="probs must sum to 1"):
        calibration.expected_calibration_error(torch.tensor([[0.7, 0.7]]), labels)
    with pytest.raises(ValueError, match="bins"):
        calibration.expected_calibration_error(probs, labels, bins=0)
    with pytest.raises(ValueError, match="probs is empty"):
        calibration.reliability(torch.zeros(0, 2), torch.zeros(0, dtype=torch.long))
    with pytest.raises(ValueError, match="labels"):
        calibration.reliability(probs, torch.tensor([2]))
    with pytest.raises(ValueError, match="logits contains NaN"):
        calibration.fit_temperature(torch.tensor([[float("nan"), 0.0]]), labels)
    with pytest.raises(ValueError, match="low must be < high"):
        calibration.fit_temperature(torch.tensor([[1.0, 0.0]]), labels, 2.0, 1.0)


def test_the_bayes_task_samples_labels_from_its_probabilities():
    task = data.softmax_linear_task(num_features=20, num_classes=5, seed=3)
    x, labels, bayes_probs = task.sample(20000, torch.Generator().manual_seed(0))
    torch.testing.assert_close(bayes_probs, torch.softmax(x @ task.weights, -1))
    frequency = torch.bincount(labels, minlength=5) / 20000.0
    torch.testing.assert_close(frequency, bayes_probs.mean(0), atol=0.01, rtol=0)
    with pytest.raises(ValueError, match="num_classes"):
        data.softmax_linear_task(num_classes=1)
    with pytest.raises(ValueError, match="scale"):
        data.softmax_linear_task(scale=0.0)


def test_a_curved_task_keeps_w_and_is_not_softmax_linear():
    flat = data.softmax_linear_task(seed=3)
    curved = data.softmax_linear_task(seed=3, curvature=1.0)
    assert flat.quadratic is None and torch.equal(flat.weights, curved.weights)
    x = torch.randn(4000, 20, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(flat.posterior(x), torch.softmax(x @ flat.weights, -1))
    phi = (x**2 - 1) / 2**0.5
    expected = torch.softmax(x @ curved.weights + phi @ curved.quadratic, -1)
    torch.testing.assert_close(curved.posterior(x), expected)
    # log-odds against class 0 are not linear in x: least squares leaves a residual
    log_odds = curved.posterior(x).log()
    log_odds = log_odds[:, 1:] - log_odds[:, :1]
    design = torch.cat([x, torch.ones(4000, 1)], 1)
    fit = torch.linalg.lstsq(design, log_odds).solution
    assert (design @ fit - log_odds).pow(2).mean() > 0.3 * log_odds.var()
    with pytest.raises(ValueError, match="curvature"):
        data.softmax_linear_task(curvature=-1.0)
    with pytest.raises(ValueError, match="x must have shape"):
        curved.posterior(torch.zeros(3, 7))


def test_distort_keeps_the_argmax_and_reaches_both_ends():
    g = torch.Generator().manual_seed(4)
    p = torch.softmax(torch.randn(50, 6, generator=g, dtype=torch.float64), -1)
    for amount in (-0.9, -0.5, 0.0, 0.5, 1.0):
        q = distillation.distort(p, amount)
        torch.testing.assert_close(q.sum(-1), torch.ones(50, dtype=torch.float64))
        assert torch.equal(q.argmax(-1), p.argmax(-1))
    top = torch.nn.functional.one_hot(p.argmax(-1), 6).double()
    torch.testing.assert_close(distillation.distort(p, 1.0), top)
    assert torch.equal(distillation.distort(p, 0.0), p)
    sharper = distillation.distort(p, 0.5).max(-1).values
    flatter = distillation.distort(p, -0.5).max(-1).values
    assert (sharper >= p.max(-1).values).all() and (flatter <= p.max(-1).values).all()
    with pytest.raises(ValueError, match="amount"):
        distillation.distort(p, -1.0)


def test_own_targets_trains_each_member_on_its_own_target():
    targets = torch.arange(5 * 3 * 2).float().view(5, 3, 2)  # (N, K, C)
    batch = torch.tensor([[0, 4], [1, 2], [3, 3]])  # (K, b)
    picked = training.own_targets(targets[batch])
    assert picked.shape == (3, 2, 2)
    for k in range(3):
        torch.testing.assert_close(picked[k], targets[batch[k], k])
    with pytest.raises(ValueError, match="batch_targets"):
        training.own_targets(torch.zeros(3, 2, 4, 2))


def test_the_exercises_accept_solutions_and_reject_typical_mistakes():
    assert exercises.check_ece(calibration.expected_calibration_error)

    def unweighted(probs, labels, bins):  # the mean gap over bins, not weighted
        d = calibration.reliability(probs, labels, bins)
        return (d.accuracy - d.confidence).abs().nanmean()

    assert exercises.check_ece(unweighted).status == "wrong"

    def drops_certain(probs, labels, bins):  # confidence 1 falls off the last bin
        keep = probs.max(-1).values < 1
        return calibration.expected_calibration_error(probs[keep], labels[keep], bins)

    assert exercises.check_ece(drops_certain).status == "wrong"
    assert exercises.check_fit_temperature(calibration.fit_temperature)
    inverse = lambda logits, labels: 1 / calibration.fit_temperature(logits, labels)  # noqa: E731
    feedback = exercises.check_fit_temperature(inverse)
    assert feedback.status == "wrong" and "T > 1" in feedback.message
