"""course_lib.sampling: every strategy returns valid, correctly excluded labels; the
losses by hand.
"""

import math
import time

import pytest
import torch

from course_lib import data, sampling
from course_lib.training import train

G = lambda seed=0: torch.Generator().manual_seed(seed)  # noqa: E731


def test_uniform_negatives_are_distinct_and_in_range():
    negatives = sampling.uniform_negatives(50, 100, G())
    assert negatives.shape == (50,) and len(set(negatives.tolist())) == 50
    assert 0 <= negatives.min() and negatives.max() < 100
    with pytest.raises(ValueError, match="more negatives than"):
        sampling.uniform_negatives(101, 100, G())
    with pytest.raises(ValueError, match="k"):
        sampling.uniform_negatives(0, 100, G())


def test_hard_negatives_are_the_top_wrong_labels():
    scores = torch.tensor([[5.0, 4.0, 3.0, 2.0, 1.0], [1.0, 2.0, 3.0, 4.0, 5.0]])
    labels = torch.tensor([1, 4])
    assert sampling.hard_negatives(scores, labels, 2).tolist() == [[0, 2], [3, 2]]
    with pytest.raises(ValueError, match="more negatives than"):
        sampling.hard_negatives(scores, labels, 5)


def test_mined_negatives_exclude_the_positive_and_come_from_the_pool():
    pool = torch.tensor([7, 3, 9, 1])
    scores_pool = torch.tensor([[0.1, 5.0, 0.3, 0.2], [4.0, 0.0, 3.0, 2.0]])
    labels = torch.tensor([3, 2])
    mined = sampling.mined_negatives(scores_pool, pool, labels, 2)
    assert mined.tolist() == [
        [9, 1],
        [7, 9],
    ]  # row 0: label 3 (score 5) is the positive, never picked
    with pytest.raises(ValueError, match="pool"):
        sampling.mined_negatives(scores_pool[:, :3], pool, labels, 2)


def test_sampled_loss_by_hand_and_accidental_hits():
    pos, neg = torch.tensor([2.0]), torch.tensor([[1.0, 0.0, 2.0]])
    expected = math.log(math.exp(2) + math.exp(1) + math.exp(0) + math.exp(2)) - 2
    assert sampling.sampled_softmax_loss(pos, neg).item() == pytest.approx(expected)
    hit = torch.tensor([[False, False, True]])
    expected_hit = math.log(math.exp(2) + math.exp(1) + math.exp(0)) - 2
    assert sampling.sampled_softmax_loss(pos, neg, hit).item() == pytest.approx(
        expected_hit
    )


def test_log_q_corrected_in_batch_loss_equals_a_hand_computation():
    scores = torch.tensor(
        [[3.0, 1.0, 0.5], [0.2, 2.0, 1.5], [1.0, 0.0, 1.0]], dtype=torch.float64
    )
    labels = torch.tensor([0, 1, 0])  # rows 0 and 2 share a label: an accidental hit
    log_q = torch.log(torch.tensor([0.6, 0.3, 0.1], dtype=torch.float64))[labels]
    hits = labels[:, None] == labels[None, :]
    loss = sampling.sampled_softmax_loss(
        scores.diagonal(), scores, hits, log_q, log_q, reduction="none"
    )
    by_hand = []
    for i in range(3):
        corrected = [
            scores[i, j] - log_q[j]
            for j in range(3)
            if j == i or labels[j] != labels[i]
        ]
        by_hand.append(
            math.log(sum(math.exp(c) for c in corrected)) - (scores[i, i] - log_q[i])
        )
    torch.testing.assert_close(loss, torch.tensor(by_hand, dtype=torch.float64))


def test_every_strategy_trains_and_touches_few_rows():
    task = data.extreme_classification(200, 2000, 500, dim=8, seed=0)
    log_prior = task.label_prior.log()
    for strategy in sampling.STRATEGIES:
        model, g = sampling.Retriever(8, 8, 200), G(1)
        before = sampling.recall_at_1(model, task.x_test, task.y_test).mean()
        train(
            model,
            task.x_train,
            task.y_train,
            lambda q, y: sampling.strategy_loss(
                strategy,
                model,
                q,
                y,
                k=16,
                generator=g,
                log_prior=log_prior,
                pool_size=64,
            ),
            epochs=2,
            batch_size=128,
            lr=0.1,
            optimiser=torch.optim.Adagrad,
        )
        assert (
            sampling.recall_at_1(model, task.x_test, task.y_test).mean() > before + 0.1
        ), strategy
    model = sampling.Retriever(8, 8, 200)
    loss = sampling.strategy_loss(
        "uniform", model, model(task.x_train[:4]), task.y_train[:4], k=5, generator=G()
    )
    loss.backward()
    grad = model.labels.weight.grad
    assert grad.is_sparse and len(grad.coalesce().indices()[0].unique()) <= 4 + 5
    with pytest.raises(ValueError, match="strategy"):
        sampling.strategy_loss(
            "magic",
            model,
            model(task.x_train[:4]),
            task.y_train[:4],
            k=5,
            generator=G(),
        )


def test_generated_task_is_zipf_and_head_mask():
    task = data.extreme_classification(1000, 20000, 10, seed=0)
    counts = torch.bincount(task.y_train, minlength=1000)
    assert counts[0] > 5 * counts[100] and task.num_labels == 1000
    head = sampling.head_labels(task.label_prior, 0.5)
    assert head[:5].all() and not head[-5:].any()
    assert (
        task.label_prior[head].sum()
        >= 0.5
        > task.label_prior[head].sum() - task.label_prior[head].min()
    )
    with pytest.raises(ValueError, match="num_labels"):
        data.extreme_classification(1, 10, 10)


def test_step_time_is_measured():
    assert 0 < sampling.step_time(500, "uniform", k=16, repeats=1) < 5


def test_step_time_reads_the_clock_it_is_given():
    ticks = iter(range(0, 100, 3))  # each reading 3 s after the last: every step 3 s
    clock = lambda: float(next(ticks))  # noqa: E731
    assert sampling.step_time(500, "uniform", k=16, repeats=3, clock=clock) == 3.0
    cpu = sampling.step_time(500, "uniform", k=16, repeats=1, clock=time.process_time)
    assert 0 < cpu < 5
    with pytest.raises(ValueError, match="clock"):
        sampling.step_time(500, "uniform", k=16, clock=0.5)


def test_uniform_negatives_for_small_k_are_uniform_and_distinct():
    g = G(3)
    counts = torch.zeros(1000)
    for _ in range(400):
        negatives = sampling.uniform_negatives(10, 1000, g)
        assert len(negatives.unique()) == 10
        counts[negatives] += 1
    assert counts.sum() == 4000 and counts.std() < 3 * 2  # binomial(400, 0.01): std ≈ 2


def test_hardest_overlap_counts_shared_hard_negatives():
    labels = torch.tensor([0, 3])
    a = torch.tensor([[9.0, 5.0, 4.0, 3.0, 1.0], [1.0, 2.0, 3.0, 9.0, 4.0]])
    # row 0: hard sets {1, 2} and {1, 4}; row 1: {4, 2} and {4, 2}
    b = torch.tensor([[9.0, 5.0, 0.0, 3.0, 4.5], [0.0, 1.0, 3.0, 9.0, 4.0]])
    overlap = sampling.hardest_overlap(a, b, labels, 2)
    torch.testing.assert_close(overlap, torch.tensor([0.5, 1.0], dtype=torch.float64))
    assert (sampling.hardest_overlap(a, a, labels, 3) == 1).all()
    with pytest.raises(ValueError, match="scores_b"):
        sampling.hardest_overlap(a, b[:1], labels, 2)
    with pytest.raises(ValueError, match="more negatives than"):
        sampling.hardest_overlap(a, b, labels, 5)


def test_score_recorder_keeps_one_snapshot_per_epoch():
    task = data.extreme_classification(50, 400, 50, dim=8, seed=0)
    model = sampling.Retriever(8, 8, 50, init_seed=0)
    snapshots, record = sampling.score_recorder(model, task.x_train[:16])
    record(0)
    g = G()

    def loss_fn(q, y):
        return sampling.strategy_loss("uniform", model, q, y, k=5, generator=g)

    train(
        model,
        task.x_train,
        task.y_train,
        loss_fn,
        epochs=2,
        lr=0.1,
        optimiser=torch.optim.Adagrad,
        on_epoch=record,
    )
    assert len(snapshots) == 3 and snapshots[0].shape == (16, 50)
    assert not torch.equal(snapshots[0], snapshots[-1])  # training moved the scores
    with pytest.raises(ValueError, match="queries"):
        sampling.score_recorder(model, torch.zeros(0, 8))


def test_in_batch_score_matrix_frames_positives_and_marks_accidental_hits():
    from course_lib import plots

    fig, ax = plots.figure()
    scores = torch.randn(4, 4, generator=G())
    plots.in_batch_scores(ax, scores, torch.tensor([3, 1, 3, 0]), ["4", "2", "4", "1"])
    assert len(ax.patches) == 4  # one frame per positive
    assert [t.get_text() for t in ax.texts] == ["×", "×"]  # rows 1 and 3, label 3
    assert len(fig.axes) == 2 and plots.to_png(fig).startswith(b"\x89PNG")
    with pytest.raises(ValueError, match="scores"):
        plots.in_batch_scores(ax, scores[:3], torch.tensor([3, 1, 3, 0]), ["a"] * 4)
