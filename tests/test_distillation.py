"""course_lib.distillation: targets, the T² gradient, dark knowledge, matching losses,
the students' objective.
"""

import pytest
import torch

from course_lib import distillation, losses, training


def probs(seed, shape=(6, 5)):
    return torch.softmax(
        torch.randn(
            *shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64
        ),
        -1,
    )


def test_mixture_target_endpoints_and_normalisation():
    p_t, y = probs(0), torch.tensor([0, 1, 2, 3, 4, 0])
    one_hot = torch.nn.functional.one_hot(y, 5).double()
    torch.testing.assert_close(distillation.mixture_target(y, p_t, 0.0), one_hot)
    torch.testing.assert_close(distillation.mixture_target(y, p_t, 1.0), p_t)
    torch.testing.assert_close(
        distillation.mixture_target(y, p_t, 0.3).sum(-1),
        torch.ones(6, dtype=torch.float64),
    )
    smooth = distillation.uniform_smoothing_target(y, 5, 0.5)
    assert smooth[0, 1].item() == pytest.approx(0.1) and smooth[
        0, 0
    ].item() == pytest.approx(0.6)
    with pytest.raises(ValueError, match="alpha"):
        distillation.mixture_target(y, p_t, 2.0)


@pytest.mark.parametrize("temperature", [1.0, 4.0, 20.0])
def test_soft_gradient_norm_matches_the_closed_form(temperature):
    g = torch.Generator().manual_seed(1)
    s, t = torch.randn(2, 50, 7, generator=g, dtype=torch.float64)
    closed = temperature * (
        torch.softmax(s / temperature, -1) - torch.softmax(t / temperature, -1)
    )
    expected = closed.norm(dim=-1).mean().item()
    assert distillation.soft_gradient_norm(s, t, temperature) == pytest.approx(
        expected, rel=1e-9
    )
    unscaled = distillation.soft_gradient_norm(s, t, temperature, scaled=False)
    assert unscaled == pytest.approx(expected / temperature**2, rel=1e-9)


def test_class_relationships_are_per_class_means():
    p_t, y = probs(2), torch.tensor([0, 0, 1, 1, 1, 4])
    matrix = distillation.class_relationships(p_t, y)
    torch.testing.assert_close(matrix[0], p_t[:2].mean(0))
    torch.testing.assert_close(matrix[1], p_t[2:5].mean(0))
    assert torch.all(matrix[2] == 0)


def test_prior_bias_shift_reaches_the_share():
    logits = torch.randn(1000, 4, generator=torch.Generator().manual_seed(3))
    logits[:, 2] -= 10
    shifted = logits.clone()
    shifted[:, 2] += distillation.prior_bias_shift(logits, 2, share=0.25)
    assert (shifted.argmax(-1) == 2).double().mean().item() == pytest.approx(
        0.25, abs=0.01
    )


def test_matching_losses():
    h = torch.rand(8, 16, generator=torch.Generator().manual_seed(4)) + 0.1
    sim = distillation.similarity_matrix(h)
    torch.testing.assert_close(sim.diagonal(), torch.ones(8))
    # scale-free
    assert distillation.relational_loss(h, 3 * h).item() == pytest.approx(
        0.0, abs=1e-12
    )
    # widths may differ
    assert distillation.relational_loss(h, torch.rand(8, 40)).item() > 0
    projection = torch.nn.Linear(16, 16)
    with torch.no_grad():
        projection.weight.copy_(torch.eye(16))
        projection.bias.zero_()
    assert distillation.hint_loss(h, h, projection).item() == pytest.approx(
        0.0, abs=1e-10
    )


def test_structure_agreement_is_a_correlation_of_the_pairs():
    g = torch.Generator().manual_seed(7)
    h = torch.rand(10, 16, generator=g, dtype=torch.float64) + 0.1
    assert distillation.structure_agreement(h, 3 * h) == pytest.approx(1.0)
    wide = torch.cat([h, torch.zeros(10, 30, dtype=torch.float64)], dim=1)
    assert distillation.structure_agreement(h, wide) == pytest.approx(1.0)
    other = torch.rand(10, 40, generator=g, dtype=torch.float64)
    assert -1 < distillation.structure_agreement(h, other) < 1
    # pairs i < j only: the same as correlating every off-diagonal entry
    i, j = torch.triu_indices(10, 10, offset=1)
    pairs = torch.stack([distillation.similarity_matrix(a)[i, j] for a in (h, other)])
    expected = torch.corrcoef(pairs)[0, 1].item()
    assert distillation.structure_agreement(h, other) == pytest.approx(expected)
    with pytest.raises(ValueError, match="teacher_hidden"):
        distillation.structure_agreement(h, other[:5])
    with pytest.raises(ValueError, match="student_hidden"):
        distillation.structure_agreement(h[0], other)


def test_teacher_to_student_picture():
    from course_lib import plots

    image, names = torch.rand(8, 8), [str(d) for d in range(10)]
    t, s = probs(8, (10,)), probs(9, (10,))
    fig = plots.teacher_to_student(
        image, t, s, names, temperature=4, label=3, title="nutshell"
    )
    digit, teacher, student = fig.axes
    assert [b.get_height() for b in teacher.patches] == pytest.approx(t.tolist())
    assert [b.get_height() for b in student.patches] == pytest.approx(s.tolist())
    assert "label 3" in digit.get_title() and teacher.get_ylim()[0] == 0
    assert len(plots.to_png(fig)) > 1000
    with pytest.raises(ValueError, match="one value per name"):
        plots.teacher_to_student(image, t[:4], s, names, temperature=4)


def test_objective_paths_and_errors():
    g = torch.Generator().manual_seed(5)
    x, y = torch.randn(40, 6, generator=g), torch.randint(0, 3, (40,), generator=g)
    teacher_logits, teacher_hidden = (
        torch.randn(40, 3, generator=g),
        torch.randn(40, 12, generator=g),
    )
    hidden = dict(teacher_hidden=teacher_hidden, hidden_width=8)
    out = {}
    for name, kwargs in {
        "soft": {"alpha": 0.5, "temperature": 2.0},
        "hint": {"alpha": 0.5, "temperature": 2.0, "match": "hint", **hidden},
        "relation": {"alpha": 0.5, "temperature": 2.0, "match": "relation", **hidden},
    }.items():
        goal = distillation.objective(y, teacher_logits, **kwargs)
        before = [p.clone() for p in goal["extra_params"]]
        out[name] = training.fit([6, 8, 3], x, **goal, epochs=2)(x)
        # a hint's projection is trained with the student
        assert all(not torch.equal(a, b) for a, b in zip(before, goal["extra_params"]))
        assert len(before) == (2 if name == "hint" else 0)
    assert not torch.equal(out["soft"], out["hint"])
    assert not torch.equal(out["soft"], out["relation"])
    # α = 0 is the plain cross-entropy, to the bit
    plain = training.fit([6, 8, 3], x, **distillation.objective(y), epochs=2)
    ce = training.fit([6, 8, 3], x, y, losses.softmax_cross_entropy, epochs=2)
    assert torch.equal(plain(x), ce(x))
    pure = distillation.objective(None, teacher_logits, alpha=1.0)
    assert torch.isfinite(training.fit([6, 8, 3], x, **pure, epochs=2)(x)).all()
    with pytest.raises(ValueError, match="labels"):
        distillation.objective(None, teacher_logits, alpha=0.5)
    with pytest.raises(ValueError, match="teacher_logits"):
        distillation.objective(y, None, alpha=0.5)
    with pytest.raises(ValueError, match="teacher_hidden"):
        distillation.objective(y, teacher_logits, alpha=0.5, match="hint")
    with pytest.raises(ValueError, match="hidden_width"):
        distillation.objective(y, match="hint", teacher_hidden=teacher_hidden)
    with pytest.raises(ValueError, match="match"):
        distillation.objective(y, match="everything")


def test_self_distill_generations():
    g = torch.Generator().manual_seed(6)
    x, y = torch.randn(30, 4, generator=g), torch.randint(0, 3, (30,), generator=g)
    models = distillation.self_distill(
        [4, 8, 3], x, y, 3, alpha=0.5, temperature=2.0, epochs=2, seed=0
    )
    assert len(models) == 3 and len({id(m) for m in models}) == 3
    ce = losses.softmax_cross_entropy
    first = training.fit([4, 8, 3], x, y, ce, epochs=2, seed=0)
    assert all(
        torch.equal(p, q) for p, q in zip(first.parameters(), models[0].parameters())
    )
    with pytest.raises(ValueError, match="generations"):
        distillation.self_distill(
            [4, 3], x, y, 0, alpha=0.5, temperature=2.0, epochs=1, seed=0
        )
