"""course_lib.routing: token choice (capacity, drops by position), expert choice
(exactly k tokens per expert), permutation equivariance, the balance loss, the MoE layer
on the course's training loop; the exercise checkers of notebook 11.
"""

import math

import pytest
import torch

from course_lib import exercises, routing
from course_lib.training import accuracy, train


def logits(n=64, experts=8, seed=0, scale=2.0):
    g = torch.Generator().manual_seed(seed)
    return scale * torch.randn(n, experts, generator=g)


def test_expert_capacity_is_the_floor_of_top_k_c_n_over_e():
    assert routing.expert_capacity(256, 8, 1.0) == 32
    assert routing.expert_capacity(256, 8, 0.5) == 16
    assert routing.expert_capacity(256, 8, 1.25, top_k=2) == 80
    assert routing.expert_capacity(10, 8, 0.1) == 1  # never an empty buffer


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("c", [0.25, 0.5, 1.0, 2.0, 8.0])
def test_expert_choice_gives_every_expert_exactly_k_tokens(seed, c):
    n, experts = 96, 8
    r = routing.expert_choice(logits(n, experts, seed), c)
    k = routing.expert_capacity(n, experts, c)
    assert routing.load(r).tolist() == [k] * experts
    assert r.dispatch.equal(r.chosen)
    assert routing.experts_per_token(r).sum() == k * experts


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("top_k", [1, 2])
@pytest.mark.parametrize("c", [0.25, 0.5, 1.0, 2.0])
def test_token_choice_never_exceeds_capacity(seed, top_k, c):
    n, experts = 96, 8
    r = routing.token_choice(logits(n, experts, seed), c, top_k)
    capacity = routing.expert_capacity(n, experts, c, top_k)
    assert (routing.load(r) <= capacity).all()
    assert (r.chosen.sum(1) == top_k).all()  # every token asks for top_k experts
    assert not (r.dispatch & ~r.chosen).any()  # only chosen experts are computed
    # an expert drops tokens only when full
    wanted = r.chosen.sum(0)
    assert routing.load(r).equal(wanted.clamp(max=capacity))


def test_token_choice_drops_the_latest_tokens_first_and_weights_are_the_gates():
    lg = torch.zeros(6, 3)
    lg[:, 1] = 5.0  # every token prefers expert 1
    r = routing.token_choice(lg, capacity_factor=1.0)  # capacity ⌊6 / 3⌋ = 2
    assert r.dispatch[:, 1].tolist() == [True, True, False, False, False, False]
    assert routing.drop_rate(r) == pytest.approx(4 / 6)
    gate = torch.softmax(lg, -1)[0, 1]
    assert r.weights[:2, 1].tolist() == pytest.approx([gate.item()] * 2)
    assert r.weights[2:].abs().sum() == 0


def test_top2_gives_first_choices_priority_and_renormalises_the_gates():
    lg = torch.tensor([[3.0, 2.0, -9.0], [2.0, 3.0, -9.0], [3.0, 2.0, -9.0]])
    r = routing.token_choice(lg, capacity_factor=1.0, top_k=2)  # capacity 2
    # expert 0: first choice of tokens 0 and 2 (kept), second choice of token 1
    assert r.dispatch[:, 0].tolist() == [True, False, True]
    assert r.dispatch[:, 1].tolist() == [True, True, False]
    both = r.weights[0]
    assert both.sum().item() == pytest.approx(1.0)  # renormalised over two experts


@pytest.mark.parametrize("seed", range(4))
def test_token_choice_is_permutation_equivariant_where_it_should_be(seed):
    lg = logits(64, 8, seed)
    perm = torch.randperm(64, generator=torch.Generator().manual_seed(seed + 10))
    tight, roomy = (routing.token_choice(lg, c) for c in (0.5, 8.0))
    tight_p, roomy_p = (routing.token_choice(lg[perm], c) for c in (0.5, 8.0))
    # the experts a token asks for are its own business: always equivariant
    assert tight_p.chosen.equal(tight.chosen[perm])
    # no overflow: the whole routing is equivariant
    assert roomy_p.dispatch.equal(roomy.dispatch[perm])
    assert torch.allclose(roomy_p.weights, roomy.weights[perm])
    # with overflow, loads are invariant but WHICH tokens are dropped follows position
    assert routing.load(tight_p).equal(routing.load(tight))
    assert not tight_p.dispatch.equal(tight.dispatch[perm])


def test_token_choice_with_drops_is_equivariant_for_order_keeping_permutations():
    lg = logits(64, 8, 3)
    tight = routing.token_choice(lg, 0.5)
    # any reordering that keeps the relative order of each expert's tokens
    first = lg.argmax(-1)
    perm = torch.cat([(first == e).nonzero().squeeze(1) for e in range(8)])
    assert routing.token_choice(lg[perm], 0.5).dispatch.equal(tight.dispatch[perm])


@pytest.mark.parametrize("seed", range(4))
def test_expert_choice_is_permutation_equivariant(seed):
    lg = logits(64, 8, seed)
    perm = torch.randperm(64, generator=torch.Generator().manual_seed(seed + 20))
    for c in (0.5, 1.0, 2.0):
        r, r_p = routing.expert_choice(lg, c), routing.expert_choice(lg[perm], c)
        assert r_p.dispatch.equal(r.dispatch[perm])
        assert torch.allclose(r_p.weights, r.weights[perm])


def test_expert_choice_depends_on_later_tokens_and_token_choice_on_order_only():
    model = routing.MixtureOfExperts(8, 8, 3, 4, router="expert choice", init_seed=1)
    g = torch.Generator().manual_seed(0)
    tokens, pool = torch.randn(16, 8, generator=g), torch.randn(200, 8, generator=g)
    groups = [pool[i * 48 : (i + 1) * 48] for i in range(4)]

    def draws(shuffled):
        if shuffled:  # same companions, batch order reshuffled
            seeds = [torch.Generator().manual_seed(i) for i in range(4)]
            return [
                routing.route_among(model, tokens, groups[0], shuffle=s) for s in seeds
            ]
        return [routing.route_among(model, tokens, c) for c in groups]  # new companions

    def moved(routes, what="dispatch"):
        return max(routing.rerouted(routes[0], r, what) for r in routes[1:])

    assert moved(draws(False)) > 0 and moved(draws(True)) == 0
    model.router = "token choice"
    model.capacity_factor = 0.5  # tight: drops happen
    assert moved(draws(False)) == 0  # nothing after a token touches its routing
    assert moved(draws(True)) > 0 and moved(draws(True), "chosen") == 0


def test_route_among_returns_the_tokens_routing_in_their_order():
    model = routing.MixtureOfExperts(8, 8, 3, 4, router="expert choice", init_seed=2)
    g = torch.Generator().manual_seed(1)
    tokens, companions = torch.randn(5, 8, generator=g), torch.randn(27, 8, generator=g)
    batch = torch.cat([tokens, companions])
    r = routing.route_among(model, tokens, companions)
    assert r.dispatch.equal(model.route(batch).dispatch[:5])  # tokens first
    shuffle = torch.Generator().manual_seed(3)
    r = routing.route_among(model, tokens, companions, shuffle=shuffle)
    order = torch.randperm(32, generator=torch.Generator().manual_seed(3))
    whole = model.route(batch[order])
    assert r.dispatch.equal(whole.dispatch[order.argsort()[:5]])


def test_balance_loss_is_one_when_even_and_e_when_collapsed():
    even = torch.full((8, 4), 0.25)
    assert routing.balance_loss(even).item() == pytest.approx(1.0)
    collapsed = torch.zeros(8, 4)
    collapsed[:, 2] = 1.0
    assert routing.balance_loss(collapsed).item() == pytest.approx(4.0)


def test_statistics_on_a_hand_example():
    dispatch = torch.tensor([[1, 1, 0], [0, 0, 0], [0, 1, 0], [0, 0, 0]]).bool()
    r = routing.Routing(dispatch, dispatch, dispatch.float())
    assert routing.load(r).tolist() == [1, 2, 0]
    assert routing.experts_per_token(r).tolist() == [2, 0, 1, 0]
    assert routing.drop_rate(r) == 0.5
    moved = dispatch.clone()
    moved[2] = torch.tensor([True, False, False])  # token 2 changes expert
    other = routing.Routing(moved, moved, moved.float())
    assert routing.rerouted(r, other) == 0.25
    moved[1, 2] = True  # token 1 gains an expert
    moved[0] = torch.tensor([False, False, True])  # token 0 loses one
    other = routing.Routing(moved, moved, moved.float())
    assert routing.how_rerouted(r, other).tolist() == [2, 2, 1, 0]
    assert routing.REROUTES[1] == "other experts, as many"


def test_the_moe_layer_is_the_gate_weighted_sum_of_its_experts():
    model = routing.MixtureOfExperts(6, 5, 3, 4, capacity_factor=0.5, init_seed=0)
    x = torch.randn(16, 6, generator=torch.Generator().manual_seed(0))
    out = model(x)
    r = model.last_routing
    for i in range(16):
        expected = sum(
            r.weights[i, e]
            * (torch.relu(x[i] @ model.w1[e] + model.b1[e, 0]) @ model.w2[e]
               + model.b2[e, 0])
            for e in range(4)
        )  # fmt: skip
        assert torch.allclose(out[i], torch.as_tensor(expected), atol=1e-6)
    dropped = routing.experts_per_token(r) == 0
    assert dropped.any() and out[dropped].abs().sum() == 0  # zero output when dropped
    assert model.aux_loss.requires_grad and model.aux_loss.item() > 0


def test_the_skip_path_carries_a_dropped_token_to_the_shared_head():
    kind = dict(capacity_factor=0.5, init_seed=0)
    plain = routing.MixtureOfExperts(6, 5, 3, 4, **kind)
    skip = routing.MixtureOfExperts(6, 5, 3, 4, skip=True, **kind)
    assert skip.w1.equal(plain.w1) and skip.gate.equal(plain.gate)  # same experts
    x = torch.randn(16, 6, generator=torch.Generator().manual_seed(0))
    head = x @ skip.skip_w + skip.skip_b
    assert torch.allclose(skip(x), plain(x) + head, atol=1e-6)
    dropped = routing.experts_per_token(skip.last_routing) == 0
    assert dropped.any() and torch.allclose(skip(x)[dropped], head[dropped])
    assert len(list(skip.parameters())) == len(list(plain.parameters())) + 2


@pytest.mark.parametrize("router", routing.ROUTERS)
def test_the_course_loop_trains_both_routers_and_evaluate_agrees(router):
    task = routing.zipf_token_task(dim=8, clusters=4, classes=3, spread=1.0, seed=0)
    g = torch.Generator().manual_seed(1)
    x, y, _ = task.sample(512, g)
    model = routing.MixtureOfExperts(8, 16, 3, 4, router=router, init_seed=0)
    history = train(model, x, y, routing.moe_loss(model, 0.1), epochs=8, batch_size=64)
    assert history[-1] < history[0]
    result = routing.evaluate(model, x, y, batch_size=64)
    assert result.accuracy > 0.5 and 0 <= result.drop_rate < 1
    assert result.load.shape == (4,) and result.experts_per_token.shape == (512,)
    assert result.loads.shape == result.wanted.shape == (8, 4)
    assert (result.loads <= result.wanted).all()
    assert result.asked.shape == (4,) and result.asked.sum() == 512 / 8
    histogram = result.experts_histogram(most=2)
    assert histogram.shape == (3,) and histogram.sum().item() == pytest.approx(1.0)
    assert histogram[0].item() == pytest.approx(result.drop_rate)
    # evaluate is forward batch by batch, scored by the course's accuracy
    logits = torch.cat([model(b) for b in x.split(64)])
    assert result.logits.equal(logits)
    assert result.accuracy == pytest.approx(accuracy(logits, y))
    kept = result.experts_per_token > 0
    share = kept.double().mean().item()
    parts = share * result.accuracy_where(True)
    if share < 1:
        parts += (1 - share) * result.accuracy_where(False)
    else:
        assert math.isnan(result.accuracy_where(False))
    assert parts == pytest.approx(result.accuracy)
    if router == "expert choice":
        assert (result.loads == 16).all() and result.wanted.equal(result.loads)


def test_zipf_task_draws_clusters_by_zipf_law_and_repeats_per_seed():
    task = routing.zipf_token_task(clusters=4, skew=1.0, seed=3)
    x, y, clusters = task.sample(20_000, torch.Generator().manual_seed(0))
    share = torch.bincount(clusters, minlength=4) / 20_000
    zipf = torch.tensor([1, 1 / 2, 1 / 3, 1 / 4])
    assert torch.allclose(share, zipf / zipf.sum(), atol=0.01)
    _, _, flat = task.sample(20_000, torch.Generator().manual_seed(0), skew=0.0)
    assert torch.allclose(
        torch.bincount(flat) / 20_000, torch.full((4,), 0.25), atol=0.01
    )
    again = routing.zipf_token_task(clusters=4, skew=1.0, seed=3)
    first, second = (again.sample(10, torch.Generator().manual_seed(5)) for _ in "ab")
    assert all(a.equal(b) for a, b in zip(first, second))
    assert x.shape == (20_000, 16) and int(y.max()) < 4


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: routing.token_choice(torch.zeros(4), 1.0), "router_logits"),
        (
            lambda: routing.token_choice(torch.full((4, 2), float("nan")), 1.0),
            "router_logits",
        ),
        (lambda: routing.token_choice(torch.zeros(4, 2), 0.0), "capacity_factor"),
        (lambda: routing.token_choice(torch.zeros(4, 2), 1.0, top_k=3), "top_k"),
        (lambda: routing.expert_choice(torch.zeros(4, 2), 3.0), "capacity_factor"),
        (lambda: routing.route("random", torch.zeros(4, 2), 1.0), "router"),
        (lambda: routing.expert_capacity(0, 2, 1.0), "num_tokens"),
        (lambda: routing.balance_loss(torch.ones(3, 2)), "router_probs"),
        (lambda: routing.MixtureOfExperts(4, 4, 2, 1), "num_experts"),
        (lambda: routing.MixtureOfExperts(4, 4, 2, 4, router="x"), "router"),
        (
            lambda: routing.MixtureOfExperts(
                4, 4, 2, 4, router="expert choice", top_k=2
            ),
            "top_k",
        ),
        (lambda: routing.route("expert choice", torch.zeros(4, 2), 1.0, 1), "top_k"),
        (lambda: routing.MixtureOfExperts(4, 4, 2, 2)(torch.zeros(2, 3, 4)), "x"),
        (lambda: routing.MixtureOfExperts(4, 4, 2, 2)(torch.zeros(3, 5)), "x"),
        (lambda: routing.MixtureOfExperts(4, 4, 2, 2).route(torch.zeros(4)), "x"),
        (
            lambda: routing.route_among(
                routing.MixtureOfExperts(4, 4, 2, 2),
                torch.zeros(2, 4),
                torch.zeros(3, 5),
            ),
            "companions",
        ),
        (
            lambda: routing.route_among(
                routing.MixtureOfExperts(4, 4, 2, 2), torch.zeros(2, 4), torch.zeros(3)
            ),
            "companions",
        ),
        (
            lambda: routing.how_rerouted(
                routing.expert_choice(torch.zeros(4, 2), 1.0),
                routing.expert_choice(torch.zeros(5, 2), 1.0),
            ),
            "a",
        ),
        (lambda: routing.moe_loss(None, -0.1), "aux_weight"),
        (lambda: routing.zipf_token_task(skew=-1.0), "skew"),
        (lambda: routing.routing_stats([]), "routings"),
        (lambda: routing.zipf_token_task(spread=0.0), "spread"),
        (
            lambda: routing.rerouted(
                *[routing.expert_choice(torch.zeros(4, 2), 1.0)] * 2, "x"
            ),
            "what",
        ),
    ],
)
def test_bad_inputs_raise_value_errors_naming_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_evaluate_checks_its_labels():
    model = routing.MixtureOfExperts(4, 4, 2, 2)
    with pytest.raises(ValueError, match="labels"):
        routing.evaluate(model, torch.zeros(6, 4), torch.tensor([0, 1, 2, 0, 1, 0]), 3)
    with pytest.raises(ValueError, match="labels"):
        routing.evaluate(model, torch.zeros(6, 4), torch.zeros(5, dtype=torch.long), 3)


def expert_choice_solution(probs, k):
    dispatch = torch.zeros(probs.shape, dtype=torch.bool)
    return dispatch.scatter(0, probs.topk(k, dim=0).indices, True)


def token_choice_solution(probs, capacity):
    wants = torch.nn.functional.one_hot(probs.argmax(-1), probs.shape[1]).bool()
    return wants & (wants.long().cumsum(0) <= capacity)


def test_check_expert_choice_passes_a_right_answer_and_hints_on_token_choice():
    assert exercises.check_expert_choice(expert_choice_solution)

    def per_token(probs, k):  # the usual slip: top-k along the experts, per token
        dispatch = torch.zeros(probs.shape, dtype=torch.bool)
        return dispatch.scatter(1, probs.topk(min(k, probs.shape[1]), 1).indices, True)

    feedback = exercises.check_expert_choice(per_token)
    assert not feedback and "EXPERTS choose" in feedback.message


def test_check_token_choice_passes_a_right_answer_and_hints_on_no_capacity():
    assert exercises.check_token_choice(token_choice_solution)

    def no_capacity(probs, capacity):
        return torch.nn.functional.one_hot(probs.argmax(-1), probs.shape[1]).bool()

    feedback = exercises.check_token_choice(no_capacity)
    assert not feedback and "FIRST `capacity` tokens" in feedback.message

    def todo(probs, capacity):
        raise NotImplementedError

    assert exercises.check_token_choice(todo).status == "todo"


def test_grouped_bars_draws_one_container_per_group_side_by_side():
    from course_lib import plots

    fig, ax = plots.figure()
    drawn = plots.grouped_bars(
        ax, {"a": [1, 2, 3], "b": [3, 2, 1]}, ["x", "y", "z"], ylabel="share (%)"
    )
    assert len(drawn) == 2 and [b.get_height() for b in drawn[1]] == [3, 2, 1]
    assert drawn[0][0].get_x() < drawn[1][0].get_x() < drawn[0][1].get_x()
    with pytest.raises(ValueError, match="groups"):
        plots.grouped_bars(ax, {"a": [1, 2]}, ["x", "y", "z"], ylabel="share")


def test_even_drop_rate_matches_a_simulated_uniform_router_and_validates():
    exact = routing.even_drop_rate(256, 8, 1.0)
    assert abs(exact - 0.0658) < 5e-4  # the 6.6 % floor of a perfectly even router
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(1000 * 256, 8, generator=g).split(256)
    simulated = sum(routing.drop_rate(routing.token_choice(x, 1.0)) for x in logits)
    assert abs(simulated / len(logits) - exact) < 3e-3
    assert routing.even_drop_rate(256, 8, 2.0) < 1e-6 < routing.even_drop_rate(8, 8, 1)
    with pytest.raises(ValueError, match="num_tokens"):
        routing.even_drop_rate(0, 8, 1.0)
    with pytest.raises(ValueError, match="capacity_factor"):
        routing.even_drop_rate(256, 8, 0.0)


def test_top2_token_choice_second_slot_depends_on_later_tokens():
    early = torch.tensor([[2.0, 1.0], [0.0, 3.0]])  # token 1 fills expert 1 first
    late = torch.tensor([[2.0, 1.0], [3.0, 0.0]])  # token 1 asks for expert 0
    pick = lambda x, k: routing.token_choice(x, 0.5, k).dispatch[0].tolist()  # noqa: E731
    assert pick(early, 2) == [True, False] and pick(late, 2) == [True, True]
    assert pick(early, 1) == pick(late, 1) == [True, False]  # top-1: only earlier
