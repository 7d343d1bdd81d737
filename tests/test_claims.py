"""course_lib.claims: recording, bars, the JSON of COURSE.md, and failing loudly."""

import json

import pytest
import torch

from course_lib.claims import ClaimFailed, Claims


def test_record_and_write_json(tmp_path):
    claims = Claims("05_churn", seed=3, profile="quick")
    claims.record("churn exceeds the std of accuracy", 11.8, ">= 5")
    claims.record("CE equals KL", torch.tensor(1e-12, dtype=torch.float64), "<= 1e-9")
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
                "claim": "churn exceeds the std of accuracy",
                "measured": 11.8,
                "bar": ">= 5",
                "passed": True,
            },
            {
                "claim": "CE equals KL",
                "measured": 1e-12,
                "bar": "<= 1e-09",
                "passed": True,
            },
        ],
    }
    assert "✓" in repr(claims) and "<table>" in claims._repr_html_()


def test_failed_claim_raises_after_writing(tmp_path):
    claims = Claims("x", 0, "quick")
    claims.record("holds", 1.0, ">= 0.5")
    claims.record("does not hold", 0.1, ">= 0.5")
    out = tmp_path / "claims.json"
    with pytest.raises(ClaimFailed, match="does not hold"):
        claims.finish(out)
    assert [c["passed"] for c in json.loads(out.read_text())["claims"]] == [True, False]


def test_a_learners_failed_claim_is_a_marked_row_and_a_note_not_a_crash(monkeypatch):
    monkeypatch.delenv("COURSE_CLAIMS_STRICT", raising=False)
    claims = Claims("x", 3, "quick")
    claims.record("holds", 1.0, ">= 0.5")
    claims.record("does not hold", 0.1, ">= 0.5")
    assert claims.finish() is claims  # interactive: no RESULTS, not strict
    text, page = repr(claims), claims._repr_html_()
    assert "✗ does not hold" in text and "SEED = 3" in text and "seed noise" in text
    assert "✗ FAILED" in page and "seed noise" in page
    monkeypatch.setenv("COURSE_CLAIMS_STRICT", "1")  # the tests and make execute
    with pytest.raises(ClaimFailed, match="does not hold"):
        claims.finish()


def test_a_passing_run_has_no_note(monkeypatch):
    monkeypatch.setenv("COURSE_CLAIMS_STRICT", "1")
    claims = Claims("x", 0, "quick")
    claims.record("holds", 1.0, ">= 0.5")
    assert claims.finish() is claims and claims.note() == ""
    assert "seed noise" not in repr(claims) + claims._repr_html_()


def test_nan_never_passes():
    claims = Claims("x", 0, "quick")
    assert not claims.record("nan", float("nan"), "<= 1").passed
    assert not claims.passed


def test_no_claims_is_a_failure():
    with pytest.raises(ClaimFailed):
        Claims("x", 0, "quick").finish()


@pytest.mark.parametrize("bar", ["5", "=> 5", ">= five", ""])
def test_bad_bars(bar):
    with pytest.raises(ValueError, match="bar"):
        Claims("x", 0, "quick").record("c", 1.0, bar)


def test_bad_measured():
    with pytest.raises(ValueError, match="measured"):
        Claims("x", 0, "quick").record("c", "lots", ">= 1")


def test_unknown_profile():
    with pytest.raises(ValueError, match="profile"):
        Claims("x", 0, "fast")
