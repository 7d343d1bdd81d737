"""course_lib.churn: the slide's definition, the pairwise matrix, and bad inputs."""

import pytest
import torch

from course_lib.churn import churn, pairwise_churn


def test_churn_is_the_fraction_of_disagreements():
    a = torch.tensor([0, 1, 2, 3, 4])
    b = torch.tensor([0, 1, 0, 3, 0])
    assert churn(a, b) == pytest.approx(2 / 5)
    assert churn(a, a) == 0.0


def test_same_accuracy_can_disagree():
    """The slide's "60% and 60%" picture: equal accuracy, different mistakes."""
    labels = torch.tensor([0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
    a = torch.tensor([0, 0, 0, 0, 0, 0, 1, 1, 1, 1])
    b = torch.tensor([1, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    assert (a == labels).double().mean() == (b == labels).double().mean() == 0.6
    assert churn(a, b) == pytest.approx(0.8)


def test_pairwise_churn_matrix():
    preds = torch.randint(0, 3, (4, 50), generator=torch.Generator().manual_seed(0))
    matrix = pairwise_churn(preds)
    assert matrix.shape == (4, 4)
    torch.testing.assert_close(matrix, matrix.T)
    assert torch.all(matrix.diagonal() == 0)
    for i in range(4):
        for j in range(4):
            assert matrix[i, j].item() == pytest.approx(churn(preds[i], preds[j]))
    torch.testing.assert_close(pairwise_churn(list(preds)), matrix)


@pytest.mark.parametrize(
    "call,argument",
    [
        (lambda: churn(torch.tensor([0, 1]), torch.tensor([0, 1, 2])), "preds_a"),
        (lambda: churn(torch.tensor([0.0, 1.0]), torch.tensor([0, 1])), "preds_a"),
        (
            lambda: churn(torch.tensor([0, 1]), torch.tensor([], dtype=torch.long)),
            "preds_b",
        ),
        (lambda: pairwise_churn([]), "preds"),
        (lambda: pairwise_churn(torch.tensor([0, 1, 2])), "preds"),
        (lambda: pairwise_churn([torch.tensor([0, 1]), torch.tensor([0])]), "preds"),
    ],
)
def test_bad_inputs(call, argument):
    with pytest.raises(ValueError, match=argument):
        call()


def test_decomposition_and_bounds_on_the_slide_example():
    labels = torch.zeros(10, dtype=torch.long)
    a = torch.tensor([0, 0, 0, 0, 0, 0, 1, 1, 1, 1])
    b = torch.tensor([1, 1, 1, 1, 0, 0, 0, 0, 0, 2])
    from course_lib.churn import churn_bounds, churn_decomposition

    parts = churn_decomposition(a, b, labels)
    assert parts["only_a_wrong"] == pytest.approx(0.3) and parts[
        "only_b_wrong"
    ] == pytest.approx(0.4)
    assert parts["both_wrong"] == pytest.approx(0.1)
    assert parts["churn"] == pytest.approx(
        parts["only_a_wrong"] + parts["only_b_wrong"] + parts["both_wrong"]
    )
    low, high = churn_bounds(a, b, labels)
    assert (
        low <= parts["churn"] <= high
        and low == pytest.approx(0.1)
        and high == pytest.approx(0.9)
    )


def test_bounds_hold_for_random_predictions():
    from course_lib.churn import churn_bounds

    g = torch.Generator().manual_seed(1)
    for _ in range(50):
        labels, a, b = torch.randint(0, 4, (3, 40), generator=g)
        low, high = churn_bounds(a, b, labels)
        assert low - 1e-12 <= churn(a, b) <= high + 1e-12


def test_churn_by_bucket():
    from course_lib.churn import churn_by_bucket

    a = torch.tensor([0, 1, 0, 0, 0, 0])
    b = torch.tensor([1, 0, 0, 0, 0, 0])
    margins = torch.tensor([0.1, 0.2, 5.0, 6.0, 7.0, 8.0])
    torch.testing.assert_close(
        churn_by_bucket(a, b, margins, buckets=3),
        torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64),
    )
    with pytest.raises(ValueError, match="buckets"):
        churn_by_bucket(a, b, margins, buckets=0)
    with pytest.raises(ValueError, match="scores"):
        churn_by_bucket(a, b, margins[:3])


def test_agreement_table_on_the_slide_example_and_its_picture():
    from course_lib import plots
    from course_lib.churn import agreement_table, churn_bounds, churn_decomposition

    labels = torch.zeros(10, dtype=torch.long)
    a = torch.tensor([0, 0, 0, 0, 0, 0, 1, 1, 1, 1])
    b = torch.tensor([1, 1, 1, 1, 0, 0, 0, 0, 0, 2])
    table = agreement_table(a, b, labels)
    expected = torch.tensor([[0.2, 0.4], [0.3, 0.1]], dtype=torch.float64)
    torch.testing.assert_close(table, expected)
    parts = churn_decomposition(a, b, labels)
    low, high = churn_bounds(a, b, labels)
    one_right = (table[0, 1] + table[1, 0]).item()
    assert low <= one_right <= parts["churn"]
    assert one_right + 2 * table[1, 1].item() == pytest.approx(high)  # err_a + err_b
    assert parts["churn"] <= high + 1e-12
    fig, ax = plots.figure()
    plots.churn_table(ax, table, both_wrong_differ=parts["both_wrong"])
    assert ax.texts[3].get_text() == "10.0 %\n(10.0 % differ)"
    assert len(ax.patches) == 2 and len(fig.axes) == 2  # framed churn cells, colour bar
    with pytest.raises(ValueError, match="labels"):
        agreement_table(a, b, labels[:5])
    with pytest.raises(ValueError, match="table"):
        plots.churn_table(ax, [[1.0, 0.0]])


def test_update_heatmap_rewrites_values_and_title():
    from course_lib import plots

    fig, ax = plots.figure()
    image = plots.heatmap(
        ax,
        [[0.0, 5.0], [5.0, 0.0]],
        ["a", "b"],
        ["a", "b"],
        xlabel="x",
        ylabel="y",
        fmt="{:.1f}",
        vmin=0,
        vmax=10,
    )
    plots.update_heatmap(image, [[0.0, 9.0], [9.0, 0.0]], "{:.1f}", title="init")
    assert [t.get_text() for t in ax.texts] == ["0.0", "9.0", "9.0", "0.0"]
    assert ax.get_title() == "init" and image.get_clim() == (0, 10)
    assert ax.texts[1].get_color() == "white" and ax.texts[0].get_color() == "black"


def test_flip_share_by_bucket_counts_every_pair_of_models():
    from course_lib.churn import flip_share_by_bucket

    preds = torch.tensor([[0, 1, 0, 0], [1, 1, 0, 0], [2, 0, 0, 1]])
    scores = torch.tensor([0.1, 0.2, 5.0, 6.0])
    # disagreeing pairs per example: 3, 2, 0, 2 (of 7)
    share = flip_share_by_bucket(preds, scores, buckets=2)
    torch.testing.assert_close(share, torch.tensor([5 / 7, 2 / 7], dtype=torch.float64))
    reversed_share = flip_share_by_bucket(preds, -scores, buckets=2)
    torch.testing.assert_close(reversed_share, share.flip(0))
    assert flip_share_by_bucket(preds, scores, buckets=4).sum().item() == pytest.approx(
        1
    )
    with pytest.raises(ValueError, match="buckets"):
        flip_share_by_bucket(preds, scores, buckets=5)
    with pytest.raises(ValueError, match="scores"):
        flip_share_by_bucket(preds, scores[:3])
    with pytest.raises(ValueError, match="preds"):
        flip_share_by_bucket(preds[:1], scores)
    with pytest.raises(ValueError, match="never disagree"):
        flip_share_by_bucket(preds[[0, 0]], scores, buckets=2)
