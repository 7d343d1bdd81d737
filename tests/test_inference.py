"""course_lib.inference: cascades (deferral rules, accuracy and cost curves) and
calibrated early exit, against hand computations; the exercise checkers of notebook 09.
"""

import math

import pytest
import torch

from course_lib import _validate, exercises, inference


def cascade_case(n=300, seed=0):
    """First model's probabilities and which examples each model gets right."""
    g = torch.Generator().manual_seed(seed)
    probs = torch.softmax(3 * torch.randn(n, 5, generator=g, dtype=torch.float64), -1)
    first_right = torch.rand(n, generator=g) < 0.7
    second_right = torch.rand(n, generator=g) < 0.9
    return probs, first_right, second_right


def test_multiply_adds_counts_every_dense_layer():
    assert inference.multiply_adds([16, 10]) == 160
    assert inference.multiply_adds([64, 64, 10]) == 64 * 64 + 64 * 10
    assert inference.cascade_cost(160, 4736, 0.0) == 160
    assert inference.cascade_cost(160, 4736, 0.25) == 160 + 4736 / 4


def test_cascade_accuracy_at_no_and_full_deferral_is_each_models():
    probs, r1, r2 = cascade_case()
    scores = inference.confidence_score(probs)
    curve = inference.cascade_curve(scores, r1, r2, [0.0, 1.0])
    assert curve[0] == pytest.approx(r1.double().mean().item())
    assert curve[1] == pytest.approx(r2.double().mean().item())


def test_defer_takes_the_highest_scores_and_the_budget_rounds():
    scores = torch.tensor([0.3, 0.9, 0.1, 0.5])
    assert inference.defer(scores, 0.5).tolist() == [False, True, False, True]
    assert inference.defer(scores, 0.0).sum() == 0
    assert inference.defer(scores, 1.0).all()
    # confidence deferral: the least confident rows go first
    probs = torch.tensor([[0.9, 0.1], [0.55, 0.45], [0.7, 0.3]])
    mask = inference.defer(inference.confidence_score(probs), 1 / 3)
    assert mask.tolist() == [False, True, False]


@pytest.mark.parametrize("seed", range(4))
def test_the_oracle_is_never_worse_than_either_rule(seed):
    probs, r1, r2 = cascade_case(seed=seed)
    budgets = [k / 20 for k in range(21)]
    oracle = inference.cascade_curve(inference.oracle_score(r1, r2), r1, r2, budgets)
    rule = inference.fit_posthoc_rule(probs, r1, r2, seed=seed, epochs=5)
    for scores in (
        inference.confidence_score(probs),
        inference.posthoc_score(rule, probs),
    ):
        curve = inference.cascade_curve(scores, r1, r2, budgets)
        assert (oracle >= curve - 1e-12).all()


def test_random_score_is_seeded_and_random_deferral_lies_near_the_straight_line():
    assert torch.equal(inference.random_score(50, 3), inference.random_score(50, 3))
    assert not torch.equal(inference.random_score(50, 3), inference.random_score(50, 4))
    _, r1, r2 = cascade_case(n=4000)
    acc = inference.cascade_curve(inference.random_score(4000, 0), r1, r2, [0.5])
    line = 0.5 * (r1.double().mean() + r2.double().mean())  # (1 − r) acc₁ + r acc₂
    assert abs(acc[0] - line) < 0.02


def test_defer_above_never_spends_the_budget_on_scores_at_or_below_it():
    scores = torch.tensor([1.0, 0.0, -1.0, 1.0])
    assert inference.defer(scores, 1.0, above=0.0).tolist() == [
        True,
        False,
        False,
        True,
    ]
    assert inference.defer(scores, 0.25, above=0.0).tolist() == [
        True,
        False,
        False,
        False,
    ]
    assert inference.defer(scores, 1.0).all()  # the default: the whole budget


@pytest.mark.parametrize("seed", range(3))
def test_the_oracle_with_above_zero_is_the_best_at_every_cost(seed):
    """Charged its own cost, no rule rises above the oracle that defers gains only;
    without ``above`` the oracle spends a large budget on losses and is beaten."""
    _, r1, r2 = cascade_case(seed=seed)
    budgets = [k / len(r1) for k in range(len(r1) + 1)]
    gains = inference.oracle_score(r1, r2)
    best = inference.cascade_curve(gains, r1, r2, budgets, above=0.0)
    spent = inference.cascade_curve(gains, r1, r2, budgets)
    assert (best[1:] >= best[:-1]).all() and best[-1] > spent[-1]
    rule = inference.cascade_curve(
        inference.random_score(len(r1), seed), r1, r2, budgets
    )
    for r, acc in zip(budgets, rule.tolist()):
        cost = min(10 + 3 + r * 100, 110)  # the rule's own cost: 3
        assert acc <= inference.accuracy_at_cost(best, budgets, 10, 100, cost) + 1e-12


def test_accuracy_at_cost_interpolates_on_the_cost_axis():
    curve = torch.tensor([0.5, 0.7, 0.8], dtype=torch.float64)
    budgets = [0.0, 0.5, 1.0]
    assert inference.accuracy_at_cost(curve, budgets, 10, 100, 10) == 0.5
    assert inference.accuracy_at_cost(curve, budgets, 10, 100, 35) == pytest.approx(0.6)
    assert inference.accuracy_at_cost(curve, budgets, 10, 100, 110) == pytest.approx(
        0.8
    )
    # a rule with its own cost (first_cost 30) is worse at the same total cost
    assert inference.accuracy_at_cost(curve, budgets, 30, 100, 60) == pytest.approx(
        0.62
    )


def test_fixed_exit_disagreement_mixes_the_two_nearest_blocks():
    # 3 blocks, 4 inputs: block 1 disagrees with the last on 2, block 2 on 1
    top = torch.tensor([[0, 0, 1, 1], [0, 1, 1, 1], [1, 1, 1, 1]])
    probs = torch.nn.functional.one_hot(top, 2).double() * 0.8 + 0.1
    assert inference.fixed_exit_disagreement(probs, 1) == pytest.approx(0.5)
    assert inference.fixed_exit_disagreement(probs, 1.5) == pytest.approx(0.375)
    assert inference.fixed_exit_disagreement(probs, 2) == pytest.approx(0.25)
    assert inference.fixed_exit_disagreement(probs, 3) == 0.0


def test_posthoc_rule_learns_that_a_specialist_fails_on_some_classes():
    g = torch.Generator().manual_seed(3)
    labels = torch.randint(0, 4, (600,), generator=g)
    logits = 2 * torch.nn.functional.one_hot(labels, 4).double()
    probs = torch.softmax(logits + torch.randn(600, 4, generator=g), -1)
    first_right = torch.rand(600, generator=g) < 0.6
    second_right = labels < 2  # the specialist knows classes 0 and 1 only
    rule = inference.fit_posthoc_rule(probs, first_right, second_right, seed=0)
    deferred = inference.defer(inference.posthoc_score(rule, probs), 0.2)
    assert (labels[deferred] < 2).double().mean() > 0.9


def test_deferred_per_class_counts_the_deferred_labels():
    deferred = torch.tensor([True, False, True, True])
    labels = torch.tensor([2, 2, 0, 2])
    assert inference.deferred_per_class(deferred, labels, 3).tolist() == [1, 0, 2]


@pytest.mark.parametrize(
    "errors, n, epsilon", [(0, 10, 0.1), (3, 50, 0.1), (20, 400, 0.05), (6, 6, 0.3)]
)
def test_binomial_tail_matches_a_direct_sum_with_math_comb(errors, n, epsilon):
    direct = sum(
        math.comb(n, i) * epsilon**i * (1 - epsilon) ** (n - i)
        for i in range(errors + 1)
    )
    assert inference.binomial_tail(errors, n, epsilon) == pytest.approx(
        direct, rel=1e-9
    )


def test_exit_layers_take_the_first_confident_block_or_the_last():
    # 3 blocks, 3 inputs, 2 classes: confident at block 2, block 1, never
    top = torch.tensor([[0.6, 0.95, 0.6], [0.9, 0.6, 0.6], [0.7, 0.7, 0.55]])
    exit_probs = torch.stack([top, 1 - top], -1)
    assert inference.exit_layers(exit_probs, 0.85).tolist() == [2, 1, 3]
    assert inference.early_exit_predictions(exit_probs, 0.85).tolist() == [0, 0, 0]
    assert (inference.exit_layers(exit_probs, 0.5) == 1).all()


def test_calibrated_threshold_keeps_calibration_disagreement_below_epsilon():
    # 3 exits, 2 classes: an exit agrees with the full network's class 98 % of the
    # time when its confidence is >= 0.8, 60 % below
    g = torch.Generator().manual_seed(0)
    full = torch.randint(0, 2, (2000,), generator=g)
    confidence = 0.5 + 0.5 * torch.rand(3, 2000, generator=g, dtype=torch.float64)
    agree = torch.rand(3, 2000, generator=g) < torch.where(confidence >= 0.8, 0.98, 0.6)
    agree[-1] = True
    predicted = torch.where(agree, full, 1 - full)
    exit_probs = torch.stack([1 - confidence, confidence], -1)
    exit_probs = torch.where(
        (predicted == 1)[..., None], exit_probs, exit_probs.flip(-1)
    )
    thresholds = [1 - k / 100 for k in range(50)]
    lam = inference.calibrate_threshold(exit_probs, thresholds, 0.1, 0.1)
    early = inference.early_exit_predictions(exit_probs, lam)
    rate = (early != full).double().mean()
    assert lam < 0.8 and rate <= 0.1
    # a stricter ε never allows a lower threshold
    assert inference.calibrate_threshold(exit_probs, thresholds, 0.02, 0.1) >= lam


def test_calibrate_threshold_returns_inf_when_no_candidate_passes():
    # float32 softmax saturates: max probability exactly 1.0 at exit 1 for input 0,
    # whose class there disagrees with the last exit's
    exit_probs = torch.tensor(
        [[[1.0, 0.0], [0.6, 0.4]], [[0.0, 1.0], [0.6, 0.4]]], dtype=torch.float32
    )
    assert inference.exit_layers(exit_probs, 1.0).tolist() == [1, 2]
    lam = inference.calibrate_threshold(exit_probs, [1.0, 0.9], 0.1, 0.1)
    assert lam == math.inf
    assert inference.exit_layers(exit_probs, lam).tolist() == [2, 2]
    full = exit_probs[-1].argmax(-1)
    assert torch.equal(inference.early_exit_predictions(exit_probs, lam), full)


def test_open_unit_interval_accepts_the_open_interval_only():
    assert _validate.open_unit_interval(0.05, "epsilon") == 0.05
    for bad in (0, 1, -0.5, 2.0):
        with pytest.raises(ValueError, match=r"epsilon must be in \(0, 1\)"):
            _validate.open_unit_interval(bad, "epsilon")


def test_early_exit_network_trains_on_the_course_loop_and_counts_its_costs():
    from course_lib.training import predict, train

    x, y, hard = inference.two_region_task(400, seed=0)
    assert x.shape == (400, 2) and set(y.tolist()) == {0, 1}
    assert 0.35 < hard.double().mean() < 0.65
    net = inference.EarlyExitMLP(2, 8, 3, 2, init_seed=0)
    losses = train(net, x, y, inference.depth_weighted_loss, epochs=3)
    assert predict(net, x).shape == (3, 400, 2) and losses[-1] < losses[0]
    per_block = 8 * 8 * 2 + 8 * 2
    assert net.exit_costs() == [2 * 8 + per_block * b for b in (1, 2, 3)]
    again = inference.EarlyExitMLP(2, 8, 3, 2, init_seed=0)
    assert torch.equal(again(x), inference.EarlyExitMLP(2, 8, 3, 2, init_seed=0)(x))


def test_depth_weighted_loss_weighs_deeper_exits_more():
    labels = torch.tensor([0, 1])
    good = torch.tensor([[5.0, -5.0], [-5.0, 5.0]])
    bad = -good
    shallow_wrong = inference.depth_weighted_loss(torch.stack([bad, good]), labels)
    deep_wrong = inference.depth_weighted_loss(torch.stack([good, bad]), labels)
    assert deep_wrong > shallow_wrong


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: inference.defer(torch.rand(5), 1.5), "budget"),
        (lambda: inference.defer(torch.rand(5), -0.1), "budget"),
        (lambda: inference.cascade_cost(1, 2, 2.0), "budget"),
        (lambda: inference.binomial_tail(1, 10, 0.0), "epsilon"),
        (lambda: inference.binomial_tail(1, 10, 1.0), "epsilon"),
        (lambda: inference.binomial_tail(11, 10, 0.1), "errors"),
        (
            lambda: inference.calibrate_threshold(
                torch.full((2, 4, 2), 0.5), [0.9], 0.1, 1.0
            ),
            "delta",
        ),
        (
            lambda: inference.calibrate_threshold(
                torch.full((2, 4, 2), 0.5), [0.9], 1.2, 0.1
            ),
            "epsilon",
        ),
        (
            lambda: inference.cascade_accuracy(
                torch.ones(3, dtype=torch.bool),
                torch.ones(4, dtype=torch.bool),
                torch.ones(3, dtype=torch.bool),
            ),
            "second_right",
        ),
        (
            lambda: inference.cascade_curve(
                torch.rand(4),
                torch.ones(3, dtype=torch.bool),
                torch.ones(3, dtype=torch.bool),
                [0.5],
            ),
            "first_right",
        ),
        (lambda: inference.confidence_score(torch.rand(3, 4) + 1), "probs"),
        (lambda: inference.multiply_adds([16]), "sizes"),
        (lambda: inference.two_region_task(0, seed=0), "n"),
        (
            lambda: inference.cascade_accuracy(
                torch.ones(3, dtype=torch.bool),
                torch.ones(3, dtype=torch.bool),
                torch.tensor([1, 0, 1]),
            ),
            "deferred",
        ),
        (
            lambda: inference.deferred_per_class(
                torch.tensor([1.0, 0.0]), torch.tensor([0, 1]), 2
            ),
            "deferred",
        ),
        (
            lambda: inference.calibrate_threshold(
                torch.full((4, 2), 0.5), [0.9], 0.1, 0.1
            ),
            "exit_probs",
        ),
        (
            lambda: inference.calibrate_threshold(
                torch.full((2, 4, 2), 0.5), [0.9, 1.5], 0.1, 0.1
            ),
            "thresholds",
        ),
        (lambda: inference.exit_layers(torch.full((2, 4, 2), 0.5), 1.5), "threshold"),
        (lambda: inference.exit_layers(torch.full((2, 4, 2), 0.5), -0.1), "threshold"),
        (
            lambda: inference.depth_weighted_loss(torch.zeros(4, 2), torch.zeros(4)),
            "logits",
        ),
        (
            lambda: inference.depth_weighted_loss(
                torch.zeros(3, 4, 2), torch.tensor([0, 1, 2, 0])
            ),
            "labels",
        ),
        (
            lambda: inference.depth_weighted_loss(
                torch.zeros(3, 4, 2), torch.tensor([0, 1, 1])
            ),
            "labels",
        ),
        (lambda: inference.random_score(0, seed=0), "n"),
        (lambda: inference.defer(torch.rand(5), 0.5, above=float("nan")), "above"),
        (
            lambda: inference.accuracy_at_cost(torch.rand(3), [0, 0.5, 1], 1, 2, 5.0),
            "cost",
        ),
        (
            lambda: inference.accuracy_at_cost(torch.rand(3), [0, 1], 1, 2, 2.0),
            "budgets",
        ),
        (
            lambda: inference.fixed_exit_disagreement(torch.full((3, 4, 2), 0.5), 3.5),
            "blocks",
        ),
        (lambda: _validate.open_unit_interval(0.0, "delta"), "delta"),
        (lambda: _validate.open_unit_interval(float("nan"), "epsilon"), "epsilon"),
    ],
)
def test_bad_inputs_raise_a_value_error_naming_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_check_confidence_deferral_passes_a_right_answer_and_hints_a_wrong_one():
    def right(probs, budget):
        mask = torch.zeros(len(probs), dtype=torch.bool)
        mask[probs.max(-1).values.argsort()[: round(budget * len(probs))]] = True
        return mask

    def most_confident(probs, budget):  # the typical slip: the wrong end
        mask = torch.zeros(len(probs), dtype=torch.bool)
        order = probs.max(-1).values.argsort(descending=True)
        mask[order[: round(budget * len(probs))]] = True
        return mask

    def truncated(probs, budget):  # int(13.5) = 13: one input short
        mask = torch.zeros(len(probs), dtype=torch.bool)
        mask[probs.max(-1).values.argsort()[: int(budget * len(probs))]] = True
        return mask

    def rounded_up(probs, budget):  # ceil: right at 13.5, one too many at 12.4
        mask = torch.zeros(len(probs), dtype=torch.bool)
        k = math.ceil(budget * len(probs))
        mask[probs.max(-1).values.argsort()[:k]] = True
        return mask

    def as_numbers(probs, budget):  # the right inputs, but 0/1 floats, not a mask
        return right(probs, budget).float()

    assert exercises.check_confidence_deferral(right)
    feedback = exercises.check_confidence_deferral(rounded_up)
    assert not feedback and "12.4" in feedback.message
    feedback = exercises.check_confidence_deferral(as_numbers)
    assert not feedback and "bool tensor" in feedback.message
    feedback = exercises.check_confidence_deferral(most_confident)
    assert not feedback and "LOWEST" in feedback.message
    feedback = exercises.check_confidence_deferral(truncated)
    assert not feedback and "round" in feedback.message


def test_check_binomial_tail_passes_a_right_answer_and_hints_a_wrong_one():
    def right(errors, n, epsilon):
        return sum(
            math.comb(n, i) * epsilon**i * (1 - epsilon) ** (n - i)
            for i in range(errors + 1)
        )

    def one_short(errors, n, epsilon):  # the typical slip: stops before `errors`
        return right(errors, n, epsilon) - math.comb(n, errors) * epsilon**errors * (
            1 - epsilon
        ) ** (n - errors)

    assert exercises.check_binomial_tail(right)
    feedback = exercises.check_binomial_tail(one_short)
    assert not feedback and "including" in feedback.message
