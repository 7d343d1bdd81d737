"""Claims tables: each notebook ends with what it measured, in two kinds.

- A **check** is an identity or something true by construction (CE = KL(e_y ‖ p), a
  twin that stays bitwise identical). It catches broken code; it is never a finding.
- A **finding** is an empirical sentence from the lecture or a cited paper. It is
  recorded with its **baseline** — the same measurement without the effect, or the fair
  competitor, measured in the same run — and a bar that the finding clears and the
  baseline fails. ``Claims.finding`` refuses (raises ``ClaimRefused``) a finding whose
  baseline passes its own bar: such a table could not tell a learner anything.

A bar is "<op> <number>" (op in >=, <=, >, <) or, for "about the same as", two-sided:
"in [low, high]". ``make sweep`` runs every notebook at SEED = 0…9 (and a few other
seeds and CPU kernel paths) and commits every claim's values in ``claims_sweep.json``
beside this module; the table shows, beside this run's number, how often each finding
held there. ``Claims.finish`` shows the tables, writes them as JSON when ``RESULTS``
is a path, and raises ``ClaimFailed`` if a claim missed its bar, so a notebook whose
claims fail fails its tests.
"""

from __future__ import annotations

import html
import json
import math
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

_OPS = {
    ">=": lambda m, b: m >= b,
    "<=": lambda m, b: m <= b,
    ">": lambda m, b: m > b,
    "<": lambda m, b: m < b,
}

PROFILES = ("quick", "full")
KINDS = ("finding", "not reproduced", "check")
# set by `make test` and `make execute`: a failed claim raises even without RESULTS
STRICT = "COURSE_CLAIMS_STRICT"
SWEEP = Path(__file__).with_name("claims_sweep.json")  # written by `make sweep`
SWEEP_SEEDS = tuple(range(10))  # the seeds every finding must hold at


class ClaimFailed(AssertionError):
    """Raised by ``Claims.finish`` when at least one recorded claim missed its bar."""


class ClaimRefused(ValueError):
    """Raised by ``Claims.finding`` when the baseline passes the finding's own bar."""


@dataclass(frozen=True, repr=False)
class Claim:
    kind: str  # "check" or "finding"
    claim: str
    measured: float
    baseline: float | None  # a finding's baseline, measured in the same run
    against: str | None  # what the baseline is, in words
    bar: str
    passed: bool

    def __repr__(self) -> str:
        if self.kind == "not reproduced":  # no bar: nothing passed or failed
            text = f"– {self.claim}: {self.measured:.4g} (no bar)"
        else:
            mark = "✓" if self.passed else "✗"
            text = f"{mark} {self.claim}: {self.measured:.4g} (bar: {self.bar})"
        if self.kind != "check":
            text += f"; baseline {self.against}: {self.baseline:.4g}"
        return text


def passes(measured: float, bar: str) -> bool:
    """Whether ``measured`` clears ``bar`` ("<op> x" or "in [low, high]"); NaN never."""
    test = _parse_bar(bar)
    return math.isfinite(measured) and test(measured)


class Claims:
    """Collects a notebook's claims: ``check`` for identities, ``finding`` for
    empirical sentences with their baseline; ``finish(RESULTS)`` in the last cell.
    """

    def __init__(
        self,
        notebook: str,
        seed: int,
        profile: str,
        sweep: str | os.PathLike | None = SWEEP,
    ):
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
        self._swept = load_sweep(sweep).get(notebook, {}) if sweep else {}

    def check(self, claim: str, measured: float, bar: str) -> Claim:
        """Record an identity or a property true by construction: shown as a check,
        never counted as a finding.
        """
        return self._add("check", claim, measured, bar, None, None)

    def finding(
        self, claim: str, measured: float, bar: str, *, baseline: float, against: str
    ) -> Claim:
        """Record an empirical sentence: ``measured`` must clear ``bar`` and
        ``baseline`` — the same measurement ``against`` the effect's absence or the
        fair competitor, from the same run — must fail it (else ``ClaimRefused``).
        """
        if not isinstance(against, str) or not against.strip():
            raise ValueError("against must say what the baseline is, in words")
        baseline = _as_float(baseline, "baseline")
        if not math.isfinite(baseline):
            raise ValueError(f"baseline must be a finite number, got {baseline}")
        if passes(baseline, bar):
            raise ClaimRefused(
                f"not a finding: {claim!r} — its baseline ({against}) measured "
                f"{baseline:.4g}, which also passes the bar {bar!r}. Choose a bar the "
                "baseline fails, or record an identity with claims.check."
            )
        return self._add("finding", claim, measured, bar, baseline, against)

    def not_reproduced(
        self, claim: str, measured: float, *, baseline: float, against: str
    ) -> Claim:
        """Record an effect from the literature that does not show at this scale: the
        measurement beside its baseline, with no bar — shown in its own table with its
        range over the sweep's seeds, never counted as a finding that held.
        """
        if not isinstance(against, str) or not against.strip():
            raise ValueError("against must say what the baseline is, in words")
        baseline = _as_float(baseline, "baseline")
        return self._add("not reproduced", claim, measured, None, baseline, against)

    def _add(self, kind, claim, measured, bar, baseline, against) -> Claim:
        if not isinstance(claim, str) or not claim.strip():
            raise ValueError("claim must be a non-empty sentence")
        measured = _as_float(measured, "measured")
        if bar is None:  # not reproduced: nothing to pass, only a range to show
            recorded = Claim(kind, claim, measured, baseline, against, "none", True)
        else:
            bar = _normal_bar(bar)
            recorded = Claim(
                kind, claim, measured, baseline, against, bar, passes(measured, bar)
            )
        # a sentence names one row: a cell run again (a learner, a widget) replaces it
        self.claims = [c for c in self.claims if c.claim != claim] + [recorded]
        return recorded

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.claims)

    def held(self, claim: Claim, count: bool = True) -> str:
        """How often this claim held in the committed sweep: "10/10 (range a – b)"
        over SEED = 0…9, plus the other seeds and CPU paths; "not swept" if the sweep
        has no such claim with this bar and baseline.
        """
        if self.profile != "quick":
            return (
                f"not swept (the sweep runs the quick profile, this is {self.profile})"
            )
        entry = self._swept.get(claim.claim)
        if not entry or (entry["bar"], entry.get("against")) != (
            claim.bar,
            claim.against,
        ):
            return "not swept"
        return describe_runs(entry["runs"], count=count)

    def as_dict(self) -> dict:
        """The tables as COURSE.md's JSON, plus the CPU kernel path the numbers were
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
            f"{failed} claim(s) missed the bar at SEED = {self.seed}. The committed "
            "sweep column says how often each held at SEED = 0…9; a measurement close "
            "to its bar can miss it by seed noise. If it misses at SEED = 0 (the "
            "committed run) too, a change to the notebook or to course_lib broke what "
            "it measures."
        )

    def _repr_html_(self) -> str:
        mark = lambda c: "✓" if c.passed else "✗ FAILED"  # noqa: E731
        measured = lambda c: f"{c.measured:.4g}"  # noqa: E731
        base = lambda c: f"{c.baseline:.4g} ({html.escape(c.against)})"  # noqa: E731
        bar = lambda c: html.escape(c.bar)  # noqa: E731
        tables = (  # kind, heading, what it is, first column, then (column, cell)
            ("finding", "Findings", "each beside its baseline, which fails the bar.",
             "finding", [("this run", measured), ("baseline", base), ("bar", bar),
                         ("passed", mark),
                         ("held over seeds", lambda c: html.escape(self.held(c)))]),
            ("not reproduced", "Not reproduced at this scale", "effects from the "
             "literature, measured here beside their baseline, with no bar to pass.",
             "effect", [("this run", measured), ("baseline", base),
                        ("range over seeds",
                         lambda c: html.escape(self.held(c, count=False)))]),
            ("check", "Checks", "identities and properties true by construction; "
             "they catch broken code and are not findings.", "check",
             [("this run", measured), ("bar", bar), ("passed", mark)]),
        )  # fmt: skip
        parts = []
        for kind, heading, what, first, columns in tables:
            rows = [c for c in self.claims if c.kind == kind]
            if rows:
                parts.append(_table(heading, what, first, columns, rows))
        note = self.note()
        body = "".join(parts) + (f"<p><b>{html.escape(note)}</b></p>" if note else "")
        # a long table scrolls inside its slide (1280 × 800) instead of running past it
        return f"<div style='max-height:32em;overflow-y:auto'>{body}</div>"

    def _repr_mimebundle_(self, include=None, exclude=None):
        # the table for people; the claims as data in the output's metadata, where the
        # tests read a committed run (no JSON view for JupyterLab to prefer)
        data = {"text/html": self._repr_html_(), "text/plain": repr(self)}
        return data, {"course_claims": self.as_dict()}

    def __repr__(self) -> str:
        lines = [
            f"Claims of {self.notebook} (seed {self.seed}, profile {self.profile!r}):"
        ]
        for kind in KINDS:
            lines += [
                f"  {kind}: {c!r}; held {self.held(c, count=kind == 'finding')}"
                if kind != "check"
                else f"  {kind}: {c!r}"
                for c in self.claims
                if c.kind == kind
            ]
        return "\n".join(lines + ([self.note()] if self.note() else []))

    def finish(self, results: str | os.PathLike | None = None) -> "Claims":
        """Write the JSON to ``results`` (atomically) when it is set; raise
        ``ClaimFailed`` if a claim failed and ``results`` is set or the environment
        variable ``COURSE_CLAIMS_STRICT`` is (the tests, ``make execute``).

        Returns self, so a notebook's last line ``claims.finish(RESULTS)`` also shows
        the tables — in a learner's session with any failed row marked and a note on
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


def _table(heading: str, what: str, first: str, columns: list, rows: list) -> str:
    """One HTML table of claims: the sentence, then one cell per (column, cell)."""
    head = "".join(f"<th>{name}</th>" for name, _ in columns)
    body = "".join(
        f"<tr><td style='text-align:left'>{html.escape(c.claim)}</td>"
        + "".join(f"<td>{cell(c)}</td>" for _, cell in columns)
        + "</tr>"
        for c in rows
    )
    return (
        f"<p><b>{heading}</b> ({len(rows)}): {what}</p><table><thead><tr>"
        f"<th style='text-align:left'>{first}</th>{head}</tr></thead>"
        f"<tbody>{body}</tbody></table>"
    )


def load_sweep(path: str | os.PathLike = SWEEP) -> dict:
    """The committed sweep: {notebook: {claim: {kind, bar, against, runs}}}; each run
    {seed, cpu, measured, baseline, passed}. Empty when there is no file.
    """
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        return {}
    return json.loads(text)["notebooks"]


def describe_runs(runs: list[dict], count: bool = True) -> str:
    """ "10/10 (0.710 – 0.930); SEED 10 and 11, and SEED 0 on ATen's default CPU
    kernels: 3/3 (0.705 – 0.910)" for a claim's sweep runs: the count and range over
    SEED = 0…9 on the machine's own CPU path, then the other runs, named, with theirs.
    Without ``count`` (a row with no bar) it gives the range of measured − baseline at
    SEED = 0…9 and at how many seeds it was above 0 instead of a count.
    """
    main = [r for r in runs if r["seed"] in SWEEP_SEEDS and not r.get("forced_cpu")]
    other = [r for r in runs if r not in main]
    values = [r["measured"] for r in main]
    text = f"{sum(r['passed'] for r in main)}/{len(main)}" if count else ""
    if values:
        spread = _spread(values)
        text += f" ({spread})" if count else f"SEED 0–{SWEEP_SEEDS[-1]}: {spread}"
    gaps = [
        r["measured"] - r["baseline"] for r in main if r.get("baseline") is not None
    ]
    if gaps and not count:  # no bar: the paired gap says which way each seed went
        above = sum(g > 0 for g in gaps)
        text += f"; minus the baseline {_spread(gaps)}, above it at {above}/{len(gaps)}"
    if other:
        seeds = [str(r["seed"]) for r in other if not r.get("forced_cpu")]
        paths = [
            f"SEED {r['seed']} on ATen's {r['forced_cpu']} CPU kernels"
            for r in other
            if r.get("forced_cpu")
        ]
        parts = ([f"SEED {' and '.join(seeds)}"] if seeds else []) + paths
        named = ", and ".join(parts)  # "SEED 10 and 11, and SEED 0 on ATen's …"
        spread = _spread([r["measured"] for r in other])
        passed = f"{sum(r['passed'] for r in other)}/{len(other)} " if count else ""
        text += f"; {named}: {passed}({spread})"
    return text


def _spread(values: list[float]) -> str:
    """ "a – b", the range of ``values`` (one value when they are all equal)."""
    low, high = _figures(min(values)), _figures(max(values))
    return low if low == high else f"{low} – {high}"


def _figures(value: float) -> str:
    """Three significant figures, trailing zeros kept (0.0290, 1.00, 25.2, 0)."""
    if value == 0 or abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:#.3g}".rstrip(".")


def _as_float(x, name: str) -> float:
    try:
        return float(x.item() if hasattr(x, "item") else x)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {type(x).__name__}") from None


def _parse_bar(bar: str):
    """A bar as a test: "<op> x" or "in [low, high]"."""
    text = bar.strip() if isinstance(bar, str) else ""
    if text.startswith("in [") and text.endswith("]"):
        try:
            low, high = (float(v) for v in text[4:-1].split(","))
        except ValueError:
            raise ValueError(
                f"bar's range must be 'in [low, high]' with two numbers, got {bar!r}"
            ) from None
        if not low < high:
            raise ValueError(f"bar's range needs low < high, got {bar!r}")
        return lambda m: low <= m <= high
    parts = text.split()
    if len(parts) != 2 or parts[0] not in _OPS:
        raise ValueError(
            f"bar must look like '>= 5', '<= 1e-9' (op in {list(_OPS)}) or "
            f"'in [0.5, 2]', got {bar!r}"
        )
    try:
        threshold = float(parts[1])
    except ValueError:
        raise ValueError(
            f"bar's threshold must be a number, got {parts[1]!r}"
        ) from None
    op = _OPS[parts[0]]
    return lambda m: op(m, threshold)


def _normal_bar(bar: str) -> str:
    """The bar written one way ("<= 1e-09", "in [0.5, 2]"), so sweeps compare equal."""
    _parse_bar(bar)
    text = bar.strip()
    if text.startswith("in ["):
        low, high = (float(v) for v in text[4:-1].split(","))
        return f"in [{low:g}, {high:g}]"
    op, threshold = text.split()
    return f"{op} {float(threshold):g}"


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
