"""`make sweep`: every notebook at SEED = 0…9 (quick profile), plus other seeds and the
portable CPU kernel path, and the claims of every run in one committed file.

Writes ``course_lib/claims_sweep.json`` (the notebooks' claims tables read it: "held
at n/10 seeds, range min–max") and ``book/claims.md`` (the website's page of every
finding, its baseline and its range). Runs two kernels at a time on two cores. A
notebook named on the command line is swept alone and merged into the file (under a
lock, so two sweeps may run at once). Usage:

    python tools/sweep.py [notebooks/NN_name.ipynb ...] [--jobs 2]
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from course_lib.claims import SWEEP, SWEEP_SEEDS, describe_runs  # noqa: E402

PAGE = ROOT / "book" / "claims.md"
# beyond SEED = 0…9 on this machine's own path: two more seeds, and seed 0 on the
# portable kernels every x86 CPU has (each CPU path rounds in its own order)
EXTRA = [(10, None), (11, None), (0, "default")]


def runs_for() -> list[tuple[int, str | None]]:
    return [(seed, None) for seed in SWEEP_SEEDS] + EXTRA


def run_one(notebook: Path, seed: int, cpu: str | None, folder: Path) -> dict:
    """One papermill run; its claims JSON, with the forced CPU path (if any)."""
    results = folder / f"{notebook.stem}-{seed}-{cpu or 'native'}.json"
    env = {k: v for k, v in os.environ.items() if k != "COURSE_CLAIMS_STRICT"}
    if cpu:
        env["ATEN_CPU_CAPABILITY"] = cpu
    command = [
        sys.executable,
        "-m",
        "papermill",
        str(notebook),
        str(results.with_suffix(".ipynb")),
        "--cwd",
        str(notebook.parent),
        "-k",
        "python3",
        "-p",
        "SEED",
        str(seed),
        "-p",
        "PROFILE",
        "quick",
        "-r",
        "RESULTS",
        str(results),
        "--no-progress-bar",
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if not results.exists():  # a claim refused or a crash: the run's own error
        tail = (done.stderr or done.stdout)[-3000:]
        raise RuntimeError(f"{notebook.name} at SEED = {seed} ({cpu}):\n{tail}")
    data = json.loads(results.read_text())
    data["forced_cpu"] = cpu
    return data


def collect(results: list[dict]) -> dict:
    """{claim: {kind, bar, against, runs: [...]}} for one notebook's runs."""
    table: dict[str, dict] = {}
    for data in sorted(results, key=lambda d: (bool(d["forced_cpu"]), d["seed"])):
        for c in data["claims"]:
            entry = table.setdefault(
                c["claim"],
                {"kind": c["kind"], "bar": c["bar"], "against": c["against"]},
            )
            entry.setdefault("runs", []).append(
                {
                    "seed": data["seed"],
                    "cpu": data["cpu"],
                    "forced_cpu": data["forced_cpu"],
                    "measured": c["measured"],
                    "baseline": c["baseline"],
                    "passed": c["passed"],
                }
            )
    return table


def page(notebooks: dict) -> str:
    """The website's page: every finding, its baseline and how often it held."""
    lines = [
        "# The claims and how often they hold",
        "",
        "Every finding of the course, beside its baseline — the same measurement "
        "without the effect, or the fair competitor, from the same run — and the bar "
        "the finding clears and the baseline fails. `make sweep` ran every notebook at "
        f"SEED = 0…{SWEEP_SEEDS[-1]} (quick profile); *held* counts those runs, the "
        "range is the finding's over them, and the last column adds two more seeds and "
        "SEED = 0 on the portable `default` CPU kernels. Checks (identities, "
        "properties true by construction) are in each notebook's own table and are not "
        "listed here. An effect from the literature that does not show at this scale "
        "is listed with its range and no bar.",
        "",
    ]
    for name, table in sorted(notebooks.items()):
        findings = {k: v for k, v in table.items() if v["kind"] != "check"}
        if not findings:
            continue
        lines += [
            f"## [{name}](../notebooks/{name}.ipynb)",
            "",
            "| finding | bar | baseline (range) | held (range) |",
            "|---|---|---|---|",
        ]
        for claim, entry in findings.items():
            base = [r["baseline"] for r in entry["runs"]]
            cells = [
                _escape(claim),
                entry["bar"] if entry["kind"] == "finding" else "not reproduced here",
                f"{_escape(entry['against'])}: {min(base):.3g} – {max(base):.3g}",
                describe_runs(entry["runs"], count=entry["kind"] == "finding"),
            ]
            lines.append("| " + " | ".join(c.replace("\n", " ") for c in cells) + " |")
        lines.append("")
    return "\n".join(lines)


def _escape(text: str) -> str:
    """Markdown's special characters as literals: the page shows the sentence as is."""
    for char in "\\`*_[]<>|$":
        text = text.replace(char, "\\" + char)
    return text.replace("\n", " ")


def merge(swept: dict[str, dict]) -> None:
    """Merge notebooks' tables into the committed file and rewrite the page, locked."""
    with open(SWEEP.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        current = json.loads(SWEEP.read_text()) if SWEEP.exists() else {}
        notebooks = current.get("notebooks", {}) | swept
        present = {p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")}
        notebooks = {k: v for k, v in sorted(notebooks.items()) if k in present}
        payload = {
            "profile": "quick",
            "seeds": list(SWEEP_SEEDS),
            "extra": [{"seed": s, "forced_cpu": c} for s, c in EXTRA],
            "notebooks": notebooks,
        }
        for path, text in (
            (SWEEP, json.dumps(payload, indent=1, ensure_ascii=False) + "\n"),
            (PAGE, page(notebooks)),
        ):
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".sweep-")
            with os.fdopen(fd, "w") as f:
                f.write(text)
            os.replace(tmp, path)
    SWEEP.with_suffix(".lock").unlink(missing_ok=True)


def sweep(notebooks: list[Path], jobs: int) -> None:
    """Sweep each notebook in turn and merge its runs as soon as they are done, so that
    a notebook that fails loses only its own runs.
    """
    for notebook in notebooks:
        sweep_one(notebook, jobs)


def sweep_one(notebook: Path, jobs: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        tasks = [(notebook, s, c) for s, c in runs_for()]
        start = time.perf_counter()

        def one(task):
            data = run_one(*task, Path(folder))
            nb, seed, cpu = task
            failed = [c["claim"] for c in data["claims"] if not c["passed"]]
            print(
                f"{nb.stem} SEED = {seed} {cpu or data['cpu']}: "
                f"{len(data['claims']) - len(failed)}/{len(data['claims'])} held"
                + "".join(f"\n    ✗ {c}" for c in failed)
                + f"  [{time.perf_counter() - start:.0f} s]",
                flush=True,
            )
            return data

        with ThreadPoolExecutor(jobs) as pool:
            results = list(pool.map(one, tasks))
    merge({notebook.stem: collect(results)})


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    chosen = [p.resolve() for p in args.notebooks] or sorted(
        (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")
    )
    sweep(chosen, args.jobs)
