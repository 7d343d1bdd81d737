"""course_lib.data and course_lib.training: splits, the three separate sources of
randomness, the loop.
"""

import pytest
import torch

from course_lib import data, losses
from course_lib.training import MLP, accuracy, predict, train


def small_task(n=120, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 5, generator=g)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).long()
    return x, y


def fit(init_seed=0, data_seed=0, dropout_seed=0, dropout=0.0, epochs=5):
    x, y = small_task()
    model = MLP([5, 16, 2], dropout=dropout, init_seed=init_seed)
    history = train(
        model,
        x,
        y,
        losses.softmax_cross_entropy,
        epochs=epochs,
        batch_size=16,
        data_seed=data_seed,
        dropout_seed=dropout_seed,
    )
    return model, history


def same_weights(a, b):
    return all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


def test_digits_split_is_deterministic_and_centred():
    a, b, c = data.digits(0), data.digits(0), data.digits(1)
    assert (
        a.x_train.shape == (1297, 64)
        and a.x_test.shape == (500, 64)
        and a.num_classes == 10
    )
    assert torch.equal(a.x_train, b.x_train) and torch.equal(a.y_test, b.y_test)
    assert not torch.equal(a.y_test, c.y_test)
    assert a.x_train.mean(0).abs().max() < 1e-5
    with pytest.raises(ValueError, match="test_size"):
        data.digits(0, test_size=0)


def test_images_are_the_raw_pixels():
    split = data.digits(0)
    from sklearn.datasets import load_digits

    raw = torch.tensor(load_digits().data, dtype=torch.float32) / 16
    images = split.images(split.x_test[:3])
    assert images.shape == (3, 8, 8) and images.min() >= -1e-6 and images.max() <= 1
    # every test image is one of the bundled images, pixel for pixel
    for image in images:
        assert (raw - image.reshape(64)).abs().amax(1).min() < 1e-6


def test_labelled_subset_and_flips():
    y = data.digits(0).y_train
    chosen = data.labelled_subset(y, per_class=10, seed=3)
    assert torch.equal(torch.bincount(y[chosen], minlength=10), torch.full((10,), 10))
    assert torch.equal(chosen, data.labelled_subset(y, per_class=10, seed=3))
    noisy = data.flip_labels(y, 0.3, 10, seed=0)
    flipped = noisy != y
    assert 0.25 < flipped.double().mean() < 0.35 and torch.equal(
        data.flip_labels(y, 0.0, 10, 0), y
    )
    with pytest.raises(ValueError, match="per_class"):
        data.labelled_subset(y, per_class=10_000, seed=0)
    with pytest.raises(ValueError, match="fraction"):
        data.flip_labels(y, 1.5, 10, 0)


def test_same_seeds_same_model():
    (a, ha), (b, hb) = fit(), fit()
    assert same_weights(a, b) and ha == hb


@pytest.mark.parametrize("source", ["init_seed", "data_seed"])
def test_each_source_alone_changes_the_model(source):
    base, _ = fit()
    other, _ = fit(**{source: 1})
    assert not same_weights(base, other)


def test_dropout_seed_matters_only_with_dropout():
    # no dropout: the seed is unused
    assert same_weights(fit(dropout_seed=0)[0], fit(dropout_seed=1)[0])
    a, b = fit(dropout=0.3, dropout_seed=0)[0], fit(dropout=0.3, dropout_seed=1)[0]
    assert not same_weights(a, b)
    assert same_weights(a, fit(dropout=0.3, dropout_seed=0)[0])


def test_training_learns_and_predict_is_eval_mode():
    model, history = fit(dropout=0.3, epochs=30)
    x, y = small_task()
    assert history[-1] < history[0]
    assert accuracy(predict(model, x), y) > 0.9
    # no dropout at prediction time
    assert torch.equal(predict(model, x), predict(model, x))
    logits, hidden = model.logits_and_hidden(x)
    assert hidden.shape == (len(x), 16) and torch.equal(logits, model(x))


def test_bad_inputs():
    x, y = small_task()
    with pytest.raises(ValueError, match="sizes"):
        MLP([5])
    with pytest.raises(ValueError, match="dropout"):
        MLP([5, 2], dropout=1.0)
    with pytest.raises(ValueError, match="targets"):
        train(MLP([5, 2]), x, y[:-1], losses.softmax_cross_entropy, epochs=1)
    with pytest.raises(ValueError, match="teacher"):
        train(
            MLP([5, 2]),
            x,
            {"labels": y, "teacher": y[:3]},
            losses.softmax_cross_entropy,
            epochs=1,
        )
    with pytest.raises(ValueError, match="epochs"):
        train(MLP([5, 2]), x, y, losses.softmax_cross_entropy, epochs=0)
    with pytest.raises(ValueError, match="labels"):
        accuracy(torch.zeros(3, 2), torch.zeros(4, dtype=torch.long))


ON = [
    "cpu",
    pytest.param(
        "cuda",
        marks=pytest.mark.skipif(
            not torch.cuda.is_available(), reason="no CUDA device here"
        ),
    ),
]


@pytest.mark.parametrize("where", ON)
def test_every_training_entry_point_runs_on_a_device(where):
    from course_lib import distillation, floating_point, training

    x, y = small_task()
    ce, fit = losses.softmax_cross_entropy, dict(epochs=2, device=where)
    single = training.fit([5, 16, 2], x, y, ce, dropout=0.2, **fit)
    ensemble = training.fit_ensemble([5, 16, 2], x, y, ce, init_seeds=[0, 1], **fit)
    teacher = predict(single, x)
    goal = distillation.objective(
        y, teacher, alpha=0.5, match="relation", teacher_hidden=x
    )
    student = training.fit([5, 16, 2], x, **goal, **fit)
    twins = floating_point.train_twins(
        [5, 16, 2], x, y, ce, init_seeds=[0, 0], nudges={0: "strongest"}, **fit
    )
    for model in (single, ensemble, student, twins.first):
        assert next(model.parameters()).device.type == where
        assert predict(model, x).device.type == "cpu"  # logits come back to the CPU
    assert accuracy(predict(single, x), y) > 0.5
    if where == "cpu":  # the default is the CPU: the same model, to the bit
        again = training.fit([5, 16, 2], x, y, ce, dropout=0.2, epochs=2)
        assert same_weights(single, again)
