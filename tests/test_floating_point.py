"""One-ulp twins: nudges, which weight to nudge, and the two-run experiment of notebook
06.
"""

import math

import numpy as np
import pytest
import torch

from course_lib import floating_point as fp
from course_lib import losses


def test_nudge_moves_a_weight_up_by_exactly_one_ulp():
    w = torch.tensor([[0.12, -0.5], [1.0, 0.0]])
    before = w.clone()
    fp.nudge_one_ulp(w, (0, 0))
    assert w[0, 0] > before[0, 0]
    # ulp of 0.12 in float32
    assert (w[0, 0] - before[0, 0]).item() == pytest.approx(2.0**-27)
    assert torch.equal(w.flatten()[1:], before.flatten()[1:])
    assert w[0, 0] == torch.nextafter(before[0, 0], torch.tensor(math.inf))


def _inputs():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(50, 5, generator=g)
    x[:, 2] = 0.0  # a dead input
    x[:, 4] *= 10.0  # the most variable input
    return x


def test_pick_input_weight_strongest_random_and_dead():
    x = _inputs()
    w = torch.full((5, 3), 0.1)
    w[4, 1] = 0.3
    w[2, 0] = 5.0  # large, but on the dead input
    assert fp.pick_input_weight(w, x, "strongest") == (4, 1)
    assert fp.pick_input_weight(w, x, "dead")[0] == 2
    picks = {fp.pick_input_weight(w, x, "random", seed=s) for s in range(40)}
    # live inputs only, and varied
    assert all(i != 2 for i, _ in picks) and len(picks) > 5
    assert fp.pick_input_weight(w, x, "random", seed=3) == fp.pick_input_weight(
        w, x, "random", seed=3
    )


def test_pick_input_weight_rejects_bad_arguments():
    x, w = _inputs(), torch.zeros(5, 3)
    with pytest.raises(ValueError, match="how"):
        fp.pick_input_weight(w, x, "largest")
    with pytest.raises(ValueError, match="inputs"):
        fp.pick_input_weight(w, x[:, :4], "strongest")
    with pytest.raises(ValueError, match="dead"):
        fp.pick_input_weight(w, torch.ones(4, 5), "dead")


def test_visible_fraction_counts_changed_pre_activations():
    x = _inputs()
    w = torch.full((5, 3), 0.1)
    assert fp.visible_fraction(w, (2, 0), x) == 0.0  # a dead input never shows
    assert fp.visible_fraction(torch.tensor([[0.5]]), (0, 0), torch.ones(3, 1)) == 1.0
    # beside a large sum, one ulp of a small weight is under half an ulp of the sum
    big = torch.tensor([[1e-3], [1.0]])
    assert fp.visible_fraction(big, (0, 0), torch.tensor([[1.0, 1000.0]])) == 0.0


def test_train_twins_controls_stay_identical_and_dead_nudges_stay_one_weight_apart():
    x = _inputs()
    y = (x[:, 0] > 0).long() + (x[:, 4] > 0).long()
    twins = fp.train_twins(
        [5, 8, 3],
        x,
        y,
        losses.softmax_cross_entropy,
        init_seeds=[0, 0, 1],
        nudges={0: "strongest", 1: "dead"},
        epochs=3,
        batch_size=16,
        lr=0.05,
    )
    assert twins.distance.shape == twins.differing.shape == (4, 3)
    # control
    assert twins.distance[:, 2].eq(0).all() and twins.differing[:, 2].eq(0).all()
    assert (
        twins.differing[:, 1].eq(1).all() and twins.fate(1) == "still one weight apart"
    )
    assert twins.distance[-1, 1] == twins.distance[0, 1] > 0
    assert twins.nudged[1][0] == 2 and twins.visible[1] == 0.0
    assert twins.fate(2) == "rounded away"  # identical runs read as "nothing left"
    assert twins.fate(0, 0) == "still one weight apart"
    first, second = (fp.parameters_by_member(m) for m in (twins.first, twins.second))
    assert torch.equal(first[2], second[2]) and not torch.equal(first[1], second[1])


def test_train_twins_rejects_a_member_that_does_not_exist():
    x = _inputs()
    with pytest.raises(ValueError, match="nudges"):
        fp.train_twins(
            [5, 3],
            x,
            torch.zeros(50, dtype=torch.long),
            losses.softmax_cross_entropy,
            init_seeds=[0],
            nudges={1: "strongest"},
            epochs=1,
        )


def test_a_nudge_outside_the_weight_is_a_clear_error():
    w = torch.zeros(5, 3)
    for bad in [(5, 0), (0, 3), (-1, 0), (0,)]:
        with pytest.raises(ValueError, match="index"):
            fp.nudge_one_ulp(w, bad)
        with pytest.raises(ValueError, match="index"):
            fp.visible_fraction(w, bad, _inputs())


def test_pairwise_and_kahan_sums_and_where_they_fail():
    cancel = np.array([1e8, 1.0, -1e8, 1.0], dtype=np.float32)
    # the tree adds (1e8 + 1) + (−1e8 + 1): both 1s are rounded away, exact sum 2
    assert fp.pairwise_sum(cancel) == 0.0 and fp.kahan_sum(cancel) == 1.0
    assert math.fsum(cancel.astype(np.float64)) == 2.0
    rng = np.random.default_rng(0)
    values = (rng.standard_normal(4096) * 10.0 ** rng.uniform(-3, 3, 4096)).astype(
        np.float32
    )
    exact = math.fsum(values.astype(np.float64))
    loop = np.cumsum(values, dtype=np.float32)[-1]
    for total in (fp.pairwise_sum(values), fp.kahan_sum(values)):
        assert total.dtype == np.float32
        assert abs(total - exact) <= abs(loop - exact)
    assert (
        fp.pairwise_sum(values[:0]) == 0.0 and fp.pairwise_sum(values[:1]) == values[0]
    )
