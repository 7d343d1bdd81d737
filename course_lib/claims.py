"""Claims tables: each notebook ends with the lecture's claims, the number it measured,
and the bar it had to clear.

A claim is one sentence from the lecture (or a cited paper) plus a measured number and a
bar such as "<= 1e-09" or ">= 5". ``Claims.finish`` shows the table, writes it as JSON
when ``RESULTS`` is a path, and raises ``ClaimFailed`` if any claim missed its bar, so a
notebook whose claims fail fails its tests.
"""

from __future__ import annotations

import html
import json
import math
import os
import tempfile
from dataclasses import asdict, dataclass

_OPS = {
    ">=": lambda m, b: m >= b,
    "<=": lambda m, b: m <= b,
    ">": lambda m, b: m > b,
    "<": lambda m, b: m < b,
}


PROFILES = ("quick", "full")
# set by `make test` and `make execute`: a failed claim raises even without RESULTS
STRICT = "COURSE_CLAIMS_STRICT"


class ClaimFailed(AssertionError):
    """Raised by ``Claims.finish`` when at least one recorded claim missed its bar."""


@dataclass(frozen=True, repr=False)
class Claim:
    claim: str
    measured: float
    bar: str
    passed: bool

    def __repr__(self) -> str:
        mark = "✓" if self.passed else "✗"
        return f"{mark} {self.claim}: {self.measured:.4g} (bar: {self.bar})"


class Claims:
    """Collects a notebook's claims. ``record`` one per measured sentence;
    ``finish(RESULTS)`` in the last cell.
    """

    def __init__(self, notebook: str, seed: int, profile: str):
        if not notebook:
            raise ValueError(
                "notebook must be the notebook's name, e.g. '01_softmax_margin_kl'"
            )
        if profile not in PROFILES:
            raise ValueError(
                f"profile must be one of {PROFILES} (the PROFILE parameter), got "
                f"{profile!r}"
            )
        self.notebook, self.seed, self.profile = notebook, seed, profile
        self.claims: list[Claim] = []

    def record(self, claim: str, measured: float, bar: str) -> Claim:
        """Record that ``claim`` was measured as ``measured`` against ``bar`` ("<op>
        <number>", op in >=, <=, >, <).
        """
        if not isinstance(claim, str) or not claim.strip():
            raise ValueError("claim must be a non-empty sentence")
        measured = _as_float(measured)
        op, threshold = _parse_bar(bar)
        passed = math.isfinite(measured) and _OPS[op](measured, threshold)
        recorded = Claim(claim, measured, f"{op} {threshold:g}", bool(passed))
        self.claims.append(recorded)
        return recorded

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.claims)

    def as_dict(self) -> dict:
        """The table as COURSE.md's JSON, plus the CPU kernel path the numbers were
        measured on.
        """
        import torch

        return {
            "notebook": self.notebook,
            "seed": self.seed,
            "profile": self.profile,
            "cpu": torch.backends.cpu.get_cpu_capability(),
            "claims": [asdict(c) for c in self.claims],
        }

    def note(self) -> str:
        """One sentence for a learner whose run missed a bar; empty when all passed."""
        failed = sum(not c.passed for c in self.claims)
        if not failed:
            return ""
        return (
            f"{failed} claim(s) missed the bar at SEED = {self.seed}. Bars are set to "
            "hold for any reasonable seed, but a measurement close to its bar can miss "
            "it by seed noise: run the notebook again with SEED = 0 (the committed "
            "run). If it misses there too, a change to the notebook or to course_lib "
            "broke what it measures."
        )

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td style='text-align:left'>{html.escape(c.claim)}</td>"
            f"<td>{c.measured:.4g}</td><td>{html.escape(c.bar)}</td>"
            f"<td>{'✓' if c.passed else '✗ FAILED'}</td></tr>"
            for c in self.claims
        )
        return (
            "<table><thead><tr><th "
            "style='text-align:left'>claim</th><th>measured</th><th>bar</th>"
            f"<th>passed</th></tr></thead><tbody>{rows}</tbody></table>"
            + (f"<p><b>{html.escape(self.note())}</b></p>" if self.note() else "")
        )

    def __repr__(self) -> str:
        lines = [
            f"Claims of {self.notebook} (seed {self.seed}, profile {self.profile!r}):"
        ]
        lines += [f"  {c!r}" for c in self.claims]
        return "\n".join(lines + ([self.note()] if self.note() else []))

    def finish(self, results: str | os.PathLike | None = None) -> "Claims":
        """Write the JSON to ``results`` (atomically) when it is set; raise
        ``ClaimFailed`` if a claim failed and ``results`` is set or the environment
        variable ``COURSE_CLAIMS_STRICT`` is (the tests, ``make execute``).

        Returns self, so a notebook's last line ``claims.finish(RESULTS)`` also shows
        the table — in a learner's session with any failed row marked and a note on
        what it means.
        """
        if not self.claims:
            raise ClaimFailed(f"{self.notebook}: no claims were recorded")
        if results is not None:
            _write_json_atomically(os.fspath(results), self.as_dict())
        failed = [c for c in self.claims if not c.passed]
        if failed and (results is not None or os.environ.get(STRICT)):
            listing = "; ".join(
                f"{c.claim!r} measured {c.measured:.4g}, bar {c.bar}" for c in failed
            )
            raise ClaimFailed(
                f"{len(failed)} claim(s) of {self.notebook} failed: {listing}"
            )
        return self


def _as_float(x) -> float:
    try:
        return float(x.item() if hasattr(x, "item") else x)
    except (TypeError, ValueError):
        raise ValueError(f"measured must be a number, got {type(x).__name__}") from None


def _parse_bar(bar: str) -> tuple[str, float]:
    parts = bar.split() if isinstance(bar, str) else []
    if len(parts) != 2 or parts[0] not in _OPS:
        raise ValueError(
            f"bar must look like '>= 5' or '<= 1e-9' (op in {list(_OPS)}), got {bar!r}"
        )
    try:
        threshold = float(parts[1])
    except ValueError:
        raise ValueError(
            f"bar's threshold must be a number, got {parts[1]!r}"
        ) from None
    return parts[0], threshold


def _write_json_atomically(path: str, payload: dict) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".claims-", suffix=".json")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(payload, f, indent=2, ensure_ascii=False)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
