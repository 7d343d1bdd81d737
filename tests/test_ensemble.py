"""The batched ensemble (course_lib.training.EnsembleMLP) is K separate models, trained
at once.
"""

import pytest
import torch

from course_lib import losses
from course_lib.training import MLP, EnsembleMLP, train

SIZES, SEEDS = [6, 16, 3], [0, 1, 2, 3]


def task(n=96):
    g = torch.Generator().manual_seed(9)
    x = torch.randn(n, 6, generator=g)
    return x, (x[:, 0] > 0).long() + (x[:, 1] > 0.5).long()


def separate(epochs, dropout=0.0, **kw):
    x, y = task()
    models = []
    for k, seed in enumerate(SEEDS):
        m = MLP(SIZES, dropout=dropout, init_seed=seed)
        train(
            m,
            x,
            y,
            losses.softmax_cross_entropy,
            epochs=epochs,
            batch_size=32,
            data_seed=10 + k,
            dropout_seed=20 + k,
            **kw,
        )
        models.append(m)
    return models


def batched(epochs, dropout=0.0, **kw):
    x, y = task()
    ensemble = EnsembleMLP(SIZES, init_seeds=SEEDS, dropout=dropout)
    train(
        ensemble,
        x,
        y,
        losses.softmax_cross_entropy,
        epochs=epochs,
        batch_size=32,
        data_seed=[10 + k for k in range(4)],
        dropout_seed=[20 + k for k in range(4)],
        **kw,
    )
    return ensemble


def assert_same(models, ensemble, atol):
    for k, m in enumerate(models):
        for a, b in zip(m.parameters(), ensemble.member(k).parameters()):
            torch.testing.assert_close(a, b, atol=atol, rtol=0)


def test_members_start_from_the_single_models_weights():
    ensemble = EnsembleMLP(SIZES, init_seeds=SEEDS)
    assert_same([MLP(SIZES, init_seed=s) for s in SEEDS], ensemble, atol=0)
    x = task()[0]
    torch.testing.assert_close(
        ensemble(x)[2], MLP(SIZES, init_seed=2)(x), atol=1e-6, rtol=0
    )


def test_one_step_matches_separate_models():
    x, y = task(32)  # one batch of 32: one optimiser step
    models, ensemble = [], EnsembleMLP(SIZES, init_seeds=SEEDS)
    for k, seed in enumerate(SEEDS):
        m = MLP(SIZES, init_seed=seed)
        train(
            m,
            x,
            y,
            losses.softmax_cross_entropy,
            epochs=1,
            batch_size=32,
            data_seed=10 + k,
        )
        models.append(m)
    train(
        ensemble,
        x,
        y,
        losses.softmax_cross_entropy,
        epochs=1,
        batch_size=32,
        data_seed=[10, 11, 12, 13],
    )
    assert_same(models, ensemble, atol=1e-5)


@pytest.mark.parametrize("dropout", [0.0, 0.3])
def test_training_matches_a_loop_over_seeds(dropout):
    assert_same(separate(3, dropout), batched(3, dropout), atol=1e-4)


def test_per_member_seeds_are_checked():
    x, y = task()
    with pytest.raises(ValueError, match="data_seed"):
        train(
            EnsembleMLP(SIZES, init_seeds=SEEDS),
            x,
            y,
            losses.softmax_cross_entropy,
            epochs=1,
            data_seed=[1, 2],
        )
    with pytest.raises(ValueError, match="init_seeds"):
        EnsembleMLP(SIZES, init_seeds=[])


def test_member_seeds_switch_one_source_at_a_time():
    from course_lib.training import member_seeds

    init_only = member_seeds("init", 3, seed=5)
    assert len(set(init_only["init_seeds"])) == 3
    assert (
        len(set(init_only["data_seed"])) == 1
        and len(set(init_only["dropout_seed"])) == 1
    )
    none = member_seeds("none", 3)
    assert all(len(set(v)) == 1 for v in none.values())
    assert all(len(set(v)) == 3 for v in member_seeds("all", 3).values())
    with pytest.raises(ValueError, match="source"):
        member_seeds("weather", 3)


def test_identical_seeds_give_identical_members():
    from course_lib.training import fit_ensemble, member_seeds

    x, y = task()
    seeds = member_seeds("none", 3, seed=1)
    ce = losses.softmax_cross_entropy
    # member_seeds gives exactly fit_ensemble's keywords
    ensemble = fit_ensemble(SIZES, x, y, ce, epochs=2, dropout=0.3, **seeds)
    out = ensemble(x)
    assert torch.equal(out[0], out[1]) and torch.equal(out[0], out[2])


def test_fit_ensemble_is_the_loop_with_default_seeds():
    from course_lib.training import fit_ensemble

    x, y = task()
    model = fit_ensemble(
        SIZES,
        x,
        y,
        losses.softmax_cross_entropy,
        init_seeds=SEEDS,
        epochs=2,
        dropout=0.3,
        batch_size=32,
    )
    by_hand = EnsembleMLP(SIZES, SEEDS, dropout=0.3)
    train(
        by_hand,
        x,
        y,
        losses.softmax_cross_entropy,
        epochs=2,
        batch_size=32,
        data_seed=[s + 1 for s in SEEDS],
        dropout_seed=[s + 2 for s in SEEDS],
    )
    assert not model.training
    assert all(
        torch.equal(a, b) for a, b in zip(model.parameters(), by_hand.parameters())
    )


def test_derived_seeds_are_the_defaults_of_every_ensemble_run():
    from course_lib.training import derived_seeds

    assert derived_seeds([3, 10]) == {"data_seed": [4, 11], "dropout_seed": [5, 12]}
