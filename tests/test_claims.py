"""course_lib.claims: checks and findings, bars (one- and two-sided), baselines that
must fail, the JSON of COURSE.md, the sweep column, and failing loudly."""

import json

import pytest
import torch

from course_lib.claims import ClaimFailed, ClaimRefused, Claims, describe_runs, passes


def claims_of(**kwargs):
    return Claims("05_churn", seed=3, profile="quick", sweep=None, **kwargs)


def test_a_finding_and_a_check_are_written_as_json(tmp_path):
    claims = claims_of()
    claims.finding(
        "churn exceeds the std of accuracy",
        11.8,
        ">= 5",
        baseline=0.0,
        against="a rerun with every seed fixed",
    )
    claims.check("CE equals KL", torch.tensor(1e-12, dtype=torch.float64), "<= 1e-9")
    out = tmp_path / "sub" / "claims.json"
    assert claims.finish(out) is claims
    data = json.loads(out.read_text())
    assert data == {
        "notebook": "05_churn",
        "seed": 3,
        "profile": "quick",
        "cpu": torch.backends.cpu.get_cpu_capability(),
        "claims": [
            {
                "kind": "finding",
                "claim": "churn exceeds the std of accuracy",
                "measured": 11.8,
                "baseline": 0.0,
                "against": "a rerun with every seed fixed",
                "bar": ">= 5",
                "passed": True,
            },
            {
                "kind": "check",
                "claim": "CE equals KL",
                "measured": 1e-12,
                "baseline": None,
                "against": None,
                "bar": "<= 1e-09",
                "passed": True,
            },
        ],
    }


def test_findings_and_checks_are_shown_in_separate_tables():
    claims = claims_of()
    claims.finding("f", 2.0, ">= 1", baseline=0.5, against="no nudge")
    claims.check("c", 0.0, "<= 0")
    page = claims._repr_html_()
    assert page.index("Findings") < page.index("no nudge") < page.index("Checks")
    assert "held over seeds" in page and "not swept" in page
    data, metadata = claims._repr_mimebundle_()
    assert data["text/html"] == page and metadata["course_claims"] == claims.as_dict()
    assert "finding: ✓ f" in repr(claims) and "check: ✓ c" in repr(claims)


def test_a_finding_whose_baseline_passes_its_bar_is_refused():
    claims = claims_of()
    with pytest.raises(ClaimRefused, match="baseline.*also passes"):
        claims.finding("ratio", 0.6, "<= 0.75", baseline=0.74, against="α = 0")
    with pytest.raises(ClaimRefused):  # two-sided: a baseline inside the range
        claims.finding("same", 1.0, "in [0.5, 2]", baseline=1.9, against="reseed")
    assert claims.claims == []


@pytest.mark.parametrize("baseline", [float("nan"), float("inf"), "x"])
def test_a_finding_needs_a_finite_baseline(baseline):
    with pytest.raises(ValueError, match="baseline"):
        claims_of().finding("f", 1.0, ">= 0.5", baseline=baseline, against="none")


def test_a_finding_says_what_its_baseline_is():
    with pytest.raises(ValueError, match="against"):
        claims_of().finding("f", 1.0, ">= 0.5", baseline=0.0, against=" ")


def test_two_sided_bars():
    assert passes(1.0, "in [0.5, 2]") and passes(0.5, "in [0.5, 2]")
    assert not passes(2.01, "in [0.5, 2]") and not passes(0.4, "in [0.5, 2]")
    claims = claims_of()
    row = claims.finding("same size", 0.9, "in [0.5, 2.0]", baseline=0, against="x")
    assert row.passed and row.bar == "in [0.5, 2]"
    low = claims.finding("same size, low", 0.3, "in [0.5, 2]", baseline=9, against="x")
    assert not low.passed


def test_failed_claim_raises_after_writing(tmp_path):
    claims = claims_of()
    claims.check("holds", 1.0, ">= 0.5")
    claims.check("does not hold", 0.1, ">= 0.5")
    out = tmp_path / "claims.json"
    with pytest.raises(ClaimFailed, match="does not hold"):
        claims.finish(out)
    assert [c["passed"] for c in json.loads(out.read_text())["claims"]] == [True, False]


def test_a_learners_failed_claim_is_a_marked_row_and_a_note_not_a_crash(monkeypatch):
    monkeypatch.delenv("COURSE_CLAIMS_STRICT", raising=False)
    claims = claims_of()
    claims.finding("holds", 1.0, ">= 0.5", baseline=0.0, against="none")
    claims.finding("does not hold", 0.1, ">= 0.5", baseline=0.0, against="none")
    assert claims.finish() is claims  # interactive: no RESULTS, not strict
    text, page = repr(claims), claims._repr_html_()
    assert "✗ does not hold" in text and "SEED = 3" in text and "seed noise" in text
    assert "✗ FAILED" in page and "seed noise" in page
    monkeypatch.setenv("COURSE_CLAIMS_STRICT", "1")  # the tests and make execute
    with pytest.raises(ClaimFailed, match="does not hold"):
        claims.finish()


def test_a_passing_run_has_no_note(monkeypatch):
    monkeypatch.setenv("COURSE_CLAIMS_STRICT", "1")
    claims = claims_of()
    claims.check("holds", 1.0, ">= 0.5")
    assert claims.finish() is claims and claims.note() == ""
    assert "seed noise" not in repr(claims) + claims._repr_html_()


def test_nan_never_passes():
    claims = claims_of()
    assert not claims.check("nan", float("nan"), "<= 1").passed
    assert not claims.check("nan range", float("nan"), "in [0, 1]").passed
    assert not claims.passed


def test_no_claims_is_a_failure():
    with pytest.raises(ClaimFailed):
        claims_of().finish()


def test_a_cell_run_again_replaces_its_row_instead_of_adding_one():
    claims = claims_of()
    claims.check("c", 1.0, "<= 0")
    claims.finding("f", 2.0, ">= 1", baseline=0, against="none")
    claims.check("c", 0.0, "<= 0")
    assert [(c.claim, c.passed) for c in claims.claims] == [("f", True), ("c", True)]


@pytest.mark.parametrize(
    "bar", ["5", "=> 5", ">= five", "", "in [2, 1]", "in [1]", "in [a, b]"]
)
def test_bad_bars(bar):
    with pytest.raises(ValueError, match="bar"):
        claims_of().check("c", 1.0, bar)


def test_bad_measured():
    with pytest.raises(ValueError, match="measured"):
        claims_of().check("c", "lots", ">= 1")


def test_unknown_profile():
    with pytest.raises(ValueError, match="profile"):
        Claims("x", 0, "fast")


def run(seed, measured, passed, forced_cpu=None):
    return {
        "seed": seed,
        "cpu": "AVX2",
        "forced_cpu": forced_cpu,
        "measured": measured,
        "baseline": 0.0,
        "passed": passed,
    }


def test_the_sweep_column_counts_seeds_0_to_9_and_the_other_runs_apart(tmp_path):
    runs = [run(s, 1.0 + s / 10, s != 4) for s in range(10)]
    runs += [run(10, 5.0, True), run(0, 1.0, False, forced_cpu="default")]
    assert describe_runs(runs) == (
        "9/10 (1.00 – 1.90); SEED 10, and SEED 0 on ATen's default CPU kernels: 1/2 "
        "(1.00 – 5.00)"
    )
    entry = {"kind": "finding", "bar": ">= 1", "against": "none", "runs": runs}
    path = tmp_path / "sweep.json"
    path.write_text(json.dumps({"notebooks": {"x": {"f": entry}}}))
    claims = Claims("x", 0, "quick", sweep=path)
    row = claims.finding("f", 1.0, ">= 1", baseline=0, against="none")
    assert claims.held(row).startswith("9/10 (1.00 – 1.90)")
    full = Claims("x", 0, "full", sweep=path)
    assert full.held(full.finding("f", 1.0, ">= 1", baseline=0, against="none")) == (
        "not swept (the sweep runs the quick profile, this is full)"
    )
    moved = claims.finding("f2", 1.0, ">= 1", baseline=0, against="none")
    assert claims.held(moved) == "not swept"  # a claim the sweep has not seen
    other = Claims("x", 0, "quick", sweep=path).finding(
        "f", 1.0, ">= 2", baseline=0, against="none"
    )
    assert Claims("x", 0, "quick", sweep=path).held(other) == "not swept"  # new bar


def test_an_effect_that_does_not_reproduce_is_shown_with_its_range_and_no_bar(tmp_path):
    runs = [run(s, s / 100, True) for s in range(10)] + [run(10, 0.5, True)]
    entry = {"kind": "not reproduced", "bar": "none", "against": "α = 0", "runs": runs}
    path = tmp_path / "sweep.json"
    path.write_text(json.dumps({"notebooks": {"x": {"Switch's α cuts drops": entry}}}))
    claims = Claims("x", 0, "quick", sweep=path)
    row = claims.not_reproduced(
        "Switch's α cuts drops", 0.82, baseline=1.0, against="α = 0"
    )
    assert row.passed and row.kind == "not reproduced" and row.bar == "none"
    page = claims._repr_html_()
    assert "Not reproduced at this scale" in page and "SEED 0–9: 0 – 0.0900" in page
    assert "SEED 10: (0.500)" in page  # the other runs' range is shown too
    # the paired gap measured − baseline (all 0.0 here), and the seeds where it was > 0
    assert "minus the baseline 0 – 0.0900, above it at 9/10" in page
    assert "✓" not in repr(row) and "(no bar)" in repr(row)  # nothing passed
    assert claims.finish() is claims  # nothing to fail, and no finding is needed
    with pytest.raises(ValueError, match="against"):
        claims.not_reproduced("y", 1.0, baseline=0.0, against="")
