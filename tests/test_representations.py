"""course_lib.representations (notebook 10): the nested loss against the sum of its
per-prefix losses, heads that read only their prefix, PCA, cosine nearest neighbours and
the shortlist-then-re-rank funnel against hand computations, validation, and the two
exercises' checkers.
"""

import math

import pytest
import torch

from course_lib import exercises, losses
from course_lib import representations as mrl

G = torch.Generator


def rand(*shape, seed=0):
    return torch.randn(*shape, generator=G().manual_seed(seed), dtype=torch.float64)


# ---------------------------------------------------------------------------------
# the nested loss


def test_nested_loss_equals_the_sum_of_the_per_prefix_losses():
    logits = rand(5, 7, 4)  # prefixes, batch, classes
    labels = torch.randint(0, 4, (7,), generator=G().manual_seed(1))
    per_prefix = [losses.softmax_cross_entropy(block, labels) for block in logits]
    nested = mrl.nested_cross_entropy(logits, labels)
    torch.testing.assert_close(nested, sum(per_prefix))
    # the weights c_m scale each prefix's loss
    c = torch.tensor([0.0, 1.0, 2.0, 0.5, 1.0])
    weighted = sum(w * loss for w, loss in zip(c, per_prefix))
    torch.testing.assert_close(mrl.nested_cross_entropy(logits, labels, c), weighted)


def test_nested_loss_of_heads_on_prefixes_is_the_sum_over_the_heads():
    z, labels = rand(6, 8), torch.tensor([0, 1, 2, 0, 1, 2])
    heads = mrl.NestedHeads(8, 3, init_seeds=[3], nested_sizes=(2, 4, 8)).double()
    by_hand = sum(
        losses.softmax_cross_entropy(z[:, :m] @ w[0] + b[0], labels)
        for m, w, b in zip((2, 4, 8), heads.weights, heads.biases)
    )
    got = mrl.nested_cross_entropy(heads(z), labels[None])
    torch.testing.assert_close(got, by_hand)


def test_nested_loss_averages_over_members_and_is_log_c_per_prefix_at_zero_logits():
    logits = torch.zeros(3, 5, 4, 10)  # members, prefixes, batch, classes
    labels = torch.zeros(3, 4, dtype=torch.long)
    loss = mrl.nested_cross_entropy(logits, labels)
    assert loss.item() == pytest.approx(5 * math.log(10))
    # per-member weights: member k counts only prefix k
    c = torch.eye(5)[:3]
    assert mrl.nested_cross_entropy(logits, labels, c).item() == pytest.approx(
        math.log(10)
    )


def test_prefix_weights():
    assert mrl.prefix_weights().tolist() == [1, 1, 1, 1, 1]
    assert mrl.prefix_weights((2, 4, 8), train_at=4).tolist() == [0, 1, 0]


# ---------------------------------------------------------------------------------
# heads and the model


def test_a_head_reads_only_its_prefix():
    heads = mrl.NestedHeads(8, 3, init_seeds=[0, 1], nested_sizes=(2, 4, 8))
    z = torch.randn(2, 5, 8, generator=G().manual_seed(0))
    changed = z.clone()
    changed[..., 4:] += 10.0  # coordinates 5..8: only the head of m = 8 sees them
    a, b = heads(z), heads(changed)
    assert a.shape == (2, 3, 5, 3)
    torch.testing.assert_close(a[:, :2], b[:, :2])
    assert not torch.allclose(a[:, 2], b[:, 2])
    # a (B, D) batch is shared by the members; member k uses its own weights
    shared = heads(z[0])
    torch.testing.assert_close(shared[0], a[0])


def test_a_model_trained_for_one_size_never_moves_the_coordinates_past_it():
    x = torch.randn(40, 6, generator=G().manual_seed(0))
    y = (x[:, 0] > 0).long()
    model = mrl.MatryoshkaMLP([6, 16, 8], 2, init_seeds=[0, 1], nested_sizes=(2, 4, 8))
    before = model.encoder.weights[-1].detach().clone()  # (members, 16, 8)
    c = torch.stack([mrl.prefix_weights((2, 4, 8)), mrl.prefix_weights((2, 4, 8), 2)])
    mrl.fit_nested(model, x, y, c, epochs=3, seed=[0, 1], batch_size=8)
    after = model.encoder.weights[-1].detach()
    assert torch.equal(after[1, :, 2:], before[1, :, 2:])  # trained for m = 2
    assert not torch.equal(after[1, :, :2], before[1, :, :2])
    assert not torch.equal(after[0, :, 2:], before[0, :, 2:])  # Matryoshka: all
    assert mrl.embed(model, x).shape == (2, 40, 8)


def test_fit_probes_learns_each_prefix_on_its_own_member_embeddings():
    g = G().manual_seed(0)
    labels = torch.randint(0, 3, (90,), generator=g)
    # member 0: the label is in coordinate 1; member 1: only in coordinate 4
    z = torch.randn(2, 90, 4, generator=g) * 0.1
    z[0, :, 0] += labels.float()
    z[1, :, 3] += labels.float()
    probes = mrl.fit_probes(z, labels, 3, epochs=60, nested_sizes=(1, 4), lr=0.05)
    acc = (probes(z).argmax(-1) == labels).double().mean(-1)  # (members, prefixes)
    assert acc[0].min() > 0.9 and acc[1, 1] > 0.9
    assert acc[1, 0] < 0.6  # the first coordinate of member 1 carries nothing


def test_training_is_deterministic():
    x = torch.randn(30, 5, generator=G().manual_seed(0))
    y = (x[:, 1] > 0).long()

    def run():
        model = mrl.MatryoshkaMLP([5, 8, 4], 2, init_seeds=[7], nested_sizes=(2, 4))
        mrl.fit_nested(model, x, y, torch.ones(1, 2), epochs=2, seed=7)
        return mrl.embed(model, x)

    assert torch.equal(run(), run())


# ---------------------------------------------------------------------------------
# truncation and PCA


def test_truncate_keeps_the_first_m_coordinates():
    z = torch.arange(12.0).view(2, 6)
    assert mrl.truncate(z, 2).tolist() == [[0.0, 1.0], [6.0, 7.0]]


def test_principal_axes_by_hand():
    # variance 9 along the second coordinate, 1 along the first, none along the third
    g = G().manual_seed(0)
    base = torch.randn(4000, 3, generator=g, dtype=torch.float64)
    z = base * torch.tensor([1.0, 3.0, 0.0], dtype=torch.float64) + 5.0
    mean, axes = mrl.principal_axes(z)
    torch.testing.assert_close(mean, z.mean(0, keepdim=True))
    assert axes[:, 0].abs().argmax() == 1 and axes[:, 1].abs().argmax() == 0
    assert (axes.abs().max(0).values == axes.max(0).values).all()  # signed: max > 0
    coords = mrl.pca_coordinates(z, mean, axes)
    var = coords.var(0)
    assert var[0] > var[1] > var[2] and var[2] < 1e-20
    cov = coords.T @ coords / (len(z) - 1)
    torch.testing.assert_close(cov - torch.diag(cov.diag()), torch.zeros(3, 3).double())


def test_principal_axes_are_per_member():
    z = rand(2, 50, 4)
    z[1] = z[0] @ torch.linalg.qr(rand(4, 4, seed=1))[0]  # member 1: member 0 rotated
    mean, axes = mrl.principal_axes(z)
    assert mean.shape == (2, 1, 4) and axes.shape == (2, 4, 4)
    var = [mrl.pca_coordinates(z[k], mean[k], axes[k]).var(0) for k in range(2)]
    torch.testing.assert_close(var[0], var[1])  # a rotation keeps the variances


# ---------------------------------------------------------------------------------
# nearest neighbours and retrieval


def test_cosine_scores_by_hand():
    q = torch.tensor([[1.0, 0.0], [3.0, 4.0]])
    d = torch.tensor([[2.0, 0.0], [0.0, 5.0], [0.0, 0.0]])
    expected = torch.tensor([[1.0, 0.0, 0.0], [0.6, 0.8, 0.0]])
    torch.testing.assert_close(mrl.cosine_scores(q, d), expected)


def test_nearest_neighbour_accuracy_by_hand():
    train = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    train_labels = torch.tensor([0, 1, 2])
    # long vectors still point towards train rows 0, 1, 2, 1 (cosine ignores length)
    test = torch.tensor([[5.0, 1.0], [0.1, 3.0], [-2.0, 0.5], [1.0, 1.1]])
    assert mrl.nearest_neighbour_accuracy(
        train, train_labels, test, torch.tensor([0, 1, 2, 0])
    ) == pytest.approx(0.75)
    per_member = mrl.nearest_neighbour_accuracy(
        torch.stack([train, -train]), train_labels, torch.stack([test, test]),
        torch.tensor([0, 1, 2, 1]),
    )  # fmt: skip
    assert per_member.shape == (2,) and per_member[0] == 1.0


def test_shortlist_then_rerank_by_hand():
    # first coordinate shortlists rows 0 and 1; the full cosine prefers row 1
    database = torch.tensor([[1.0, -1.0], [1.0, 1.0], [-1.0, 1.0], [0.2, 1.0]])
    query = torch.tensor([[1.0, 0.9]])
    assert mrl.shortlist_then_rerank(query, database, 1, 2).tolist() == [1]
    # a shortlist of 1 keeps row 0 or 1 (both cos = 1 on the first coordinate);
    # exhaustive search finds row 1 too
    assert mrl.shortlist_then_rerank(query, database, 2, 4).tolist() == [1]


def test_the_funnel_spans_prefix_search_to_exhaustive_search():
    q, d = rand(20, 6), rand(50, 6, seed=1)
    exact = mrl.cosine_scores(q, d).argmax(-1)
    prefix = mrl.cosine_scores(q[:, :2], d[:, :2]).argmax(-1)
    assert torch.equal(mrl.shortlist_then_rerank(q, d, 2, 50), exact)
    assert torch.equal(mrl.shortlist_then_rerank(q, d, 2, 1), prefix)
    assert torch.equal(mrl.shortlist_then_rerank(q, d, 6, 3), exact)


def test_funnel_recall_agrees_with_shortlist_then_rerank():
    q, d = rand(2, 30, 6), rand(2, 40, 6, seed=1)  # two members
    ks = [1, 3, 10, 40]
    recall = mrl.funnel_recall(q, d, 2, ks)
    assert recall.shape == (2, 4) and (recall[:, -1] == 1).all()
    exact = mrl.cosine_scores(q, d).argmax(-1)
    for i, k in enumerate(ks):
        found = mrl.shortlist_then_rerank(q, d, 2, k)
        expected = (found == exact).double().mean(-1)
        torch.testing.assert_close(recall[:, i], expected)
    assert (recall.diff(dim=-1) >= 0).all()  # a longer shortlist never loses


def test_funnel_recall_builds_the_shortlist_from_another_view_when_given_one():
    q, d = rand(2, 30, 6), rand(2, 40, 6, seed=1)
    ks, perm = [1, 3, 10], [5, 4, 0, 1, 2, 3]  # a view whose first 2 are coords 5, 4
    viewed = mrl.funnel_recall(q, d, 2, ks, shortlist=(q[..., perm], d[..., perm]))
    # the re-rank's cosine on all 6 coordinates ignores their order
    torch.testing.assert_close(
        viewed, mrl.funnel_recall(q[..., perm], d[..., perm], 2, ks)
    )
    assert not torch.equal(viewed, mrl.funnel_recall(q, d, 2, ks))  # another shortlist


def test_retrieval_cost_by_hand():
    assert mrl.retrieval_cost(1000, 32, 2, 10) == 1000 * 2 + 10 * 32
    assert mrl.retrieval_cost(1000, 32, 32, 1) == 32_000 + 32
    assert mrl.retrieval_cost(1000, 32, 2, 0) == 1000 * 2  # the shortlist stage alone


def test_euclidean_scores_and_1nn_keep_the_length_a_cosine_drops():
    q = torch.tensor([[3.0, 4.0]])
    d = torch.tensor([[0.0, 0.0], [6.0, 8.0], [3.0, 3.0]])
    torch.testing.assert_close(
        mrl.euclidean_scores(q, d), torch.tensor([[-5.0, -5.0, -1.0]])
    )
    # two points on one ray: the cosine cannot tell them apart, the distance can
    train, train_labels = torch.tensor([[1.0, 1.0], [10.0, 10.0]]), torch.tensor([0, 1])
    test, test_labels = torch.tensor([[9.0, 9.0], [2.0, 2.0]]), torch.tensor([1, 0])
    euclid = mrl.nearest_neighbour_accuracy(train, train_labels, test, test_labels,
                                            "euclidean")  # fmt: skip
    cosine = mrl.nearest_neighbour_accuracy(train, train_labels, test, test_labels)
    assert euclid == 1.0 and cosine == 0.5


# ---------------------------------------------------------------------------------
# validation

Z = torch.zeros(4, 3)


def fit_two_members(weights, **kwargs):  # a 2-member model fitted on the rows of Z
    model = mrl.MatryoshkaMLP([3, 4, 2], 2, [0, 1], (1, 2))
    return mrl.fit_nested(model, Z, torch.zeros(4).long(), weights, epochs=1, **kwargs)


BAD = {
    "nested_sizes not increasing": (
        "nested_sizes",
        lambda: mrl.NestedHeads(8, 3, [0], nested_sizes=(4, 2)),
    ),
    "nested size above the embedding": (
        "nested_sizes",
        lambda: mrl.NestedHeads(8, 3, [0], nested_sizes=(2, 16)),
    ),
    "train_at not a nested size": ("train_at", lambda: mrl.prefix_weights((2, 4), 3)),
    "train_at not an integer": ("train_at", lambda: mrl.prefix_weights((2, 4), "4")),
    "train_at a float": ("train_at", lambda: mrl.prefix_weights((2, 4), 4.0)),
    "nested loss, 2-d logits": (
        "logits",
        lambda: mrl.nested_cross_entropy(torch.zeros(4, 3), torch.zeros(4).long()),
    ),
    "nested loss, labels of the wrong shape": (
        "labels",
        lambda: mrl.nested_cross_entropy(torch.zeros(2, 4, 3), torch.zeros(3).long()),
    ),
    "nested loss, NaN logits": (
        "logits",
        lambda: mrl.nested_cross_entropy(
            torch.full((2, 4, 3), float("nan")), torch.zeros(4).long()
        ),
    ),
    "nested loss, negative weights": (
        "weights",
        lambda: mrl.nested_cross_entropy(
            torch.zeros(2, 4, 3), torch.zeros(4).long(), torch.tensor([1.0, -1.0])
        ),
    ),
    "nested loss, one weight too many": (
        "weights",
        lambda: mrl.nested_cross_entropy(
            torch.zeros(2, 4, 3), torch.zeros(4).long(), torch.ones(3)
        ),
    ),
    "nested loss, weights of the wrong leading shape": (
        "weights",
        lambda: mrl.nested_cross_entropy(
            torch.zeros(3, 2, 4, 5), torch.zeros(3, 4).long(), torch.ones(2, 2)
        ),
    ),
    "nested loss, weights with an extra dimension": (
        "weights",
        lambda: mrl.nested_cross_entropy(
            torch.zeros(2, 4, 3), torch.zeros(4).long(), torch.ones(1, 2)
        ),
    ),
    "fit_nested, a seed per member": (
        "seed",
        lambda: fit_two_members(torch.ones(2, 2), seed=[0, 1, 2]),
    ),
    "fit_nested, a weight row per member": (
        "weights",
        lambda: fit_two_members(torch.ones(3, 2)),
    ),
    "fit_probes, 2-d embeddings": (
        "train_embeddings",
        lambda: mrl.fit_probes(Z, torch.zeros(4).long(), 2, epochs=1),
    ),
    "fit_probes, label out of range": (
        "labels",
        lambda: mrl.fit_probes(
            torch.zeros(1, 4, 2),
            torch.tensor([0, 1, 2, 5]),
            3,
            epochs=1,
            nested_sizes=(1, 2),
        ),
    ),  # fmt: skip
    "truncate to more coordinates than there are": ("m", lambda: mrl.truncate(Z, 4)),
    "truncate to 0": ("m", lambda: mrl.truncate(Z, 0)),
    "PCA of inf": (
        "embeddings",
        lambda: mrl.principal_axes(torch.tensor([[float("inf"), 0.0], [0, 1]])),
    ),
    "PCA coordinates, wrong size": (
        "axes",
        lambda: mrl.pca_coordinates(Z, torch.zeros(1, 2), torch.eye(2)),
    ),
    "cosine, sizes differ": (
        "queries",
        lambda: mrl.cosine_scores(Z, torch.zeros(5, 2)),
    ),
    "cosine, integer database": (
        "database",
        lambda: mrl.cosine_scores(Z, torch.zeros(5, 3, dtype=torch.long)),
    ),
    "1-NN, a label per test row": (
        "test_labels",
        lambda: mrl.nearest_neighbour_accuracy(
            Z, torch.zeros(4).long(), Z, torch.zeros(3).long()
        ),
    ),
    "1-NN, float labels": (
        "train_labels",
        lambda: mrl.nearest_neighbour_accuracy(Z, torch.zeros(4), Z, torch.zeros(4)),
    ),
    "funnel, shortlist longer than the database": (
        "shortlist_size",
        lambda: mrl.shortlist_then_rerank(Z, Z, 2, 5),
    ),
    "funnel, shortlist on too many coordinates": (
        "shortlist_dims",
        lambda: mrl.shortlist_then_rerank(Z, Z, 4, 2),
    ),
    "funnel, queries a list": (
        "queries",
        lambda: mrl.shortlist_then_rerank([[1.0, 0.0]], Z[:, :2], 1, 1),
    ),
    "funnel, database a list": (
        "database",
        lambda: mrl.shortlist_then_rerank(Z, [[1.0, 0.0, 0.0]], 1, 1),
    ),
    "recall, queries a list": (
        "queries",
        lambda: mrl.funnel_recall([[1.0, 0.0]], Z[:, :2], 1, [1]),
    ),
    "recall, coordinates differ": (
        "queries",
        lambda: mrl.funnel_recall(Z, Z[:, :2], 1, [1]),
    ),
    "recall, a shortlist view of other rows": (
        "shortlist",
        lambda: mrl.funnel_recall(Z, Z, 1, [1], shortlist=(Z[:2], Z)),
    ),
    "1-NN, unknown metric": (
        "metric",
        lambda: mrl.nearest_neighbour_accuracy(
            Z, torch.zeros(4).long(), Z, torch.zeros(4).long(), "manhattan"
        ),
    ),
    "euclidean, sizes differ": (
        "queries",
        lambda: mrl.euclidean_scores(Z, torch.zeros(5, 2)),
    ),
    "cost, shortlist longer than the database": (
        "shortlist_size",
        lambda: mrl.retrieval_cost(100, 8, 2, 101),
    ),
    "recall, shortlist size 0": (
        "shortlist_sizes",
        lambda: mrl.funnel_recall(Z, Z, 2, [0, 1]),
    ),
    "cost, shortlist_dims above dim": (
        "shortlist_dims",
        lambda: mrl.retrieval_cost(100, 8, 9, 1),
    ),
    "cost, empty database": ("database_size", lambda: mrl.retrieval_cost(0, 8, 2, 1)),
}


@pytest.mark.parametrize("argument, call", BAD.values(), ids=list(BAD))
def test_bad_input_is_a_value_error_naming_the_argument(argument, call):
    with pytest.raises(ValueError, match=argument):
        call()


# ---------------------------------------------------------------------------------
# the exercises' checkers


def nested_loss(embeddings, heads, labels):
    total = 0.0
    for w, b in heads:
        log_p = torch.log_softmax(embeddings[:, : w.shape[0]] @ w + b, dim=-1)
        total = total + (-log_p.gather(-1, labels[:, None])).mean()
    return total


def test_check_nested_loss():
    assert exercises.check_nested_loss(nested_loss)

    def untouched(embeddings, heads, labels):
        raise NotImplementedError

    assert exercises.check_nested_loss(untouched).status == "todo"

    def averaged(embeddings, heads, labels):  # the mean over heads, not the sum
        return nested_loss(embeddings, heads, labels) / len(heads)

    def overflowing(embeddings, heads, labels):  # log of softmax
        total = 0.0
        for w, b in heads:
            p = torch.exp(embeddings[:, : w.shape[0]] @ w + b)
            p = p / p.sum(-1, keepdim=True)
            total = total - torch.log(p.gather(-1, labels[:, None])).mean()
        return total

    for wrong in (averaged, overflowing):
        feedback = exercises.check_nested_loss(wrong)
        assert not feedback and "Hint:" in feedback.message
        assert "ADD" in feedback.message


def shortlist_rerank(queries, database, shortlist_dims, shortlist_size):
    def cosines(q, d):
        return (q / q.norm(dim=-1, keepdim=True)) @ (d / d.norm(dim=-1, keepdim=True)).T

    m = shortlist_dims
    candidates = cosines(queries[:, :m], database[:, :m]).topk(shortlist_size).indices
    winners = [
        rows[cosines(q[None], database[rows])[0].argmax()]
        for q, rows in zip(queries, candidates)
    ]
    return torch.stack(winners)


def test_check_shortlist_rerank():
    assert exercises.check_shortlist_rerank(shortlist_rerank)

    def normalised_once(queries, database, shortlist_dims, shortlist_size):
        q = queries / queries.norm(dim=-1, keepdim=True)
        d = database / database.norm(dim=-1, keepdim=True)
        m = shortlist_dims
        short = (q[:, :m] @ d[:, :m].T).topk(shortlist_size).indices
        return torch.stack([r[(q[i] @ d[r].T).argmax()] for i, r in enumerate(short)])

    def positions(queries, database, shortlist_dims, shortlist_size):
        found = shortlist_rerank(queries, database, shortlist_dims, shortlist_size)
        m = shortlist_dims
        short = mrl.cosine_scores(queries[:, :m], database[:, :m]).topk(shortlist_size)
        return (short.indices == found[:, None]).long().argmax(-1)  # index in the list

    def dot_products(queries, database, shortlist_dims, shortlist_size):
        m = shortlist_dims
        short = (queries[:, :m] @ database[:, :m].T).topk(shortlist_size).indices
        return torch.stack(
            [r[(queries[i] @ database[r].T).argmax()] for i, r in enumerate(short)]
        )

    for wrong in (normalised_once, positions, dot_products):
        feedback = exercises.check_shortlist_rerank(wrong)
        assert not feedback and "Hint:" in feedback.message, wrong.__name__
        # indices are counted as wrong queries, not as a distance between indices
        assert "queries get a wrong database index" in feedback.message
        assert "off by" not in feedback.message


def test_check_shortlist_rerank_counts_the_wrong_queries():
    def one_off(queries, database, shortlist_dims, shortlist_size):
        found = shortlist_rerank(queries, database, shortlist_dims, shortlist_size)
        found[0] = (found[0] + 1) % len(database)  # the first query only
        return found

    feedback = exercises.check_shortlist_rerank(one_off)
    assert not feedback and "1 of 8 queries get a wrong database index" in str(
        feedback.message
    )
    as_list = exercises.check_shortlist_rerank(
        lambda *args: shortlist_rerank(*args).tolist()
    )
    assert as_list  # a list of the right indices is right too
    short = exercises.check_shortlist_rerank(lambda *args: shortlist_rerank(*args)[:3])
    assert not short and "shape" in short.message


# ---------------------------------------------------------------------------------
# the notebook's pictures (appended to course_lib.plots)


def test_seed_curves_draw_the_mean_of_the_seeds():
    from course_lib import plots

    fig, ax = plots.figure()
    groups = {"a": [[0.5, 0.7], [0.7, 0.9]], "b": torch.tensor([[0.1, 0.2]])}
    lines = plots.seed_curves(ax, [2, 4], groups, xlabel="m", ylabel="%")
    assert [line.get_label() for line in lines] == ["a", "b"]
    assert list(lines[0].get_ydata()) == pytest.approx([60.0, 80.0])
    assert ax.get_xscale() == "log"
    with pytest.raises(ValueError, match="groups"):
        plots.seed_curves(ax, [2, 4, 8], groups, xlabel="m", ylabel="%")


def test_scatters_refuse_points_and_labels_of_the_wrong_shape():
    from course_lib import plots

    fig, ax = plots.figure()
    with pytest.raises(ValueError, match="points"):
        plots.class_scatter(ax, torch.zeros(3, 3), torch.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match="labels"):
        plots.class_scatter(ax, torch.zeros(3, 2), torch.tensor([0, 1]))
    drawn = plots.class_scatter(ax, torch.zeros(3, 2), torch.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match="points"):
        plots.update_scatter(ax, drawn, torch.zeros(4, 2))
    with pytest.raises(ValueError, match="points"):
        plots.update_scatter(ax, drawn, torch.full((3, 2), float("nan")))


def test_update_scatter_moves_the_points_and_the_axes():
    from course_lib import plots

    fig, ax = plots.figure()
    drawn = plots.class_scatter(ax, torch.zeros(3, 2), torch.tensor([0, 1, 2]))
    points = torch.tensor([[0.0, 0.0], [10.0, -5.0], [4.0, 5.0]])
    plots.update_scatter(ax, drawn, points, title="moved")
    assert drawn.get_offsets().tolist() == points.tolist()
    low, high = ax.get_xlim()
    assert low < 0 < 10 < high and ax.get_title() == "moved"
