"""Bad input anywhere in course_lib is a ValueError naming the argument (issue 9's
probe), and importing the library changes nothing global.
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from course_lib import churn, data, distillation, losses, sampling, training

NAN = float("nan")
G = torch.Generator
LIB = Path(__file__).resolve().parent.parent / "course_lib"


def labels(*values):
    return torch.tensor(values)


def fit_on(inputs, **kwargs):
    """A [5, 2] MLP trained for one epoch on ``inputs`` and four labels."""
    ce = losses.softmax_cross_entropy
    return training.fit([5, 2], inputs, labels(0, 1, 0, 1), ce, epochs=1, **kwargs)


CASES = {
    "churn_by_bucket, NaN scores": (
        "scores",
        lambda: churn.churn_by_bucket(
            labels(0, 1), labels(0, 0), torch.tensor([NAN, 1])
        ),
    ),
    "churn of two 2-d arrays": (
        "preds_a",
        lambda: churn.churn(
            torch.zeros(2, 3, dtype=torch.long), torch.zeros(2, 3).long()
        ),
    ),
    "hard_negatives, NaN scores": (
        "scores",
        lambda: sampling.hard_negatives(torch.tensor([[NAN, 0.0, 1.0]]), labels(0), 1),
    ),
    "mined_negatives, inf scores": (
        "scores_pool",
        lambda: sampling.mined_negatives(
            torch.tensor([[float("inf"), 0.0]]), labels(3, 4), labels(0), 1
        ),
    ),
    "sampled_softmax_loss, NaN positive": (
        "positive_scores",
        lambda: sampling.sampled_softmax_loss(torch.tensor([NAN]), torch.zeros(1, 2)),
    ),
    "sampled_softmax_loss, NaN negative": (
        "negative_scores",
        lambda: sampling.sampled_softmax_loss(
            torch.zeros(1), torch.tensor([[0.0, NAN]])
        ),
    ),
    "sampled_softmax_loss, bad reduction": (
        "reduction",
        lambda: sampling.sampled_softmax_loss(
            torch.zeros(1), torch.zeros(2), None, None, None, "avg"
        ),
    ),
    "head_labels, negative prior": (
        "label_prior",
        lambda: sampling.head_labels(torch.tensor([0.7, 0.5, -0.2])),
    ),
    "choose_negatives, unknown strategy": (
        "strategy",
        lambda: sampling.choose_negatives(
            "random walk", labels(0), None, k=1, num_labels=3, generator=G()
        ),
    ),
    "flip_labels, label >= num_classes": (
        "labels",
        lambda: data.flip_labels(labels(0, 12), 0.5, num_classes=10, seed=0),
    ),
    "flip_labels, fraction > 1": (
        "fraction",
        lambda: data.flip_labels(labels(0, 1), 1.5, num_classes=10, seed=0),
    ),
    "labelled_subset, float labels": (
        "labels",
        lambda: data.labelled_subset(torch.zeros(4), per_class=1, seed=0),
    ),
    "extreme_classification, negative noise": (
        "noise",
        lambda: data.extreme_classification(10, 5, 5, noise=-1.0),
    ),
    "prior_bias_shift, class out of range": (
        "cls",
        lambda: distillation.prior_bias_shift(torch.zeros(4, 3), 3, share=0.1),
    ),
    "train, inputs of the wrong width": (
        "inputs",
        lambda: fit_on(torch.zeros(4, 6)),
    ),
    "train, integer inputs": (
        "inputs",
        lambda: fit_on(torch.zeros(4, 5).long()),
    ),
    "train, a fractional batch size": (
        "batch_size",
        lambda: fit_on(torch.zeros(4, 5), batch_size=2.5),
    ),
    "member_seeds, no members": ("members", lambda: training.member_seeds("init", 0)),
    "accuracy, NaN logits": (
        "logits",
        lambda: training.accuracy(torch.tensor([[NAN, 0.0]]), labels(0)),
    ),
    "teacher-weighted CE, inf logits": (
        "student_logits",
        lambda: losses.teacher_weighted_cross_entropy(
            torch.tensor([[float("-inf"), 0.0]]), torch.tensor([[0.5, 0.5]])
        ),
    ),
}


@pytest.mark.parametrize("argument, call", CASES.values(), ids=CASES.keys())
def test_bad_input_is_a_value_error_naming_the_argument(argument, call):
    with pytest.raises(ValueError, match=argument):
        call()


def test_accuracy_is_per_member_for_an_ensemble():
    logits = torch.tensor([[[1.0, 0.0], [0.0, 1.0]], [[1.0, 0.0], [1.0, 0.0]]])
    y = labels(0, 1)
    assert training.accuracy(logits[0], y) == 1.0
    assert torch.equal(training.accuracy(logits, y), torch.tensor([1.0, 0.5]).double())


def test_importing_the_library_leaves_warnings_and_torch_settings_alone():
    probe = (
        "import warnings, torch; before = list(warnings.filters); "
        "threads = torch.get_num_threads(); "
        "import course_lib.sampling, course_lib.training, course_lib.widgets, "
        "course_lib.distillation; "
        "assert warnings.filters == before, 'a warnings filter was added'; "
        "assert torch.get_num_threads() == threads"
    )
    subprocess.run([sys.executable, "-c", probe], check=True)


def imports(module: str) -> set[str]:
    tree = ast.parse((LIB / f"{module}.py").read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            found |= {node.module} if node.module else {a.name for a in node.names}
    return found


def test_the_import_graph_has_no_cycle_and_concepts_import_no_tools():
    modules = [p.stem for p in LIB.glob("*.py") if p.stem != "__init__"]
    graph = {m: imports(m) & set(modules) for m in modules}
    tools = {"claims", "checker", "exercises", "experiments", "plots", "widgets"}
    for concept in ("losses", "churn", "distillation", "sampling", "training"):
        assert not graph[concept] & tools, (concept, graph[concept] & tools)
    assert "distillation" not in graph["training"]
    assert "_validate" in graph["churn"]
    done, visiting = set(), []

    def visit(m):
        assert m not in visiting, f"import cycle: {visiting + [m]}"
        if m not in done:
            visiting.append(m)
            for n in graph[m]:
                visit(n)
            visiting.pop()
            done.add(m)

    for m in modules:
        visit(m)


def test_the_shared_shape_checks_name_the_argument():
    from course_lib import _validate as check

    with pytest.raises(ValueError, match=r"probs must be \(N, C\), got shape \(3,\)"):
        check.layout(torch.ones(3), "probs", "N", "C")
    with pytest.raises(ValueError, match="scores has 2 rows but labels has 3"):
        check.same_length(torch.ones(2), torch.ones(3), "scores", "labels")
    with pytest.raises(ValueError, match="deferred must be a bool tensor"):
        check.mask(torch.ones(3), "deferred")
    with pytest.raises(ValueError, match=r"labels has shape \(2,\): expected \(3,\)"):
        check.labels_per_row(torch.zeros(2).long(), 3, "labels", "embeddings")
    assert check.mask(torch.ones(2).bool(), "deferred").dtype == torch.bool
