"""Every notebook: its structure and committed outputs, its exercises' solutions, and
papermill runs with another SEED whose every recorded claim must pass.
"""

import json
import platform
import re
import subprocess
import sys
import types

import nbformat
import pytest
from notebook_files import NOTEBOOKS
from tools_path import colab_cell_source, repository, version

from course_lib import exercises

IDS = [p.stem for p in NOTEBOOKS]


def load(path):
    return nbformat.read(path, as_version=4)


def code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def test_the_notebooks_are_numbered_in_order_and_every_one_is_on_the_course_map():
    numbers = [int(p.stem[:2]) for p in NOTEBOOKS]
    assert (
        numbers == list(range(len(NOTEBOOKS))) and NOTEBOOKS[0].stem == "00_start_here"
    )
    readme = (NOTEBOOKS[0].parent.parent / "README.md").read_text()
    toc = (NOTEBOOKS[0].parent.parent / "book" / "_toc.yml").read_text()
    for path in NOTEBOOKS:
        assert (
            f"| {path.stem[:2]} | [" in readme and f"](notebooks/{path.name})" in readme
        )
        assert f"- file: notebooks/{path.stem}\n" in toc, path.stem


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_structure(path):
    nb = load(path)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert nb.cells[0].cell_type == "code" and nb.cells[0].source == colab_cell_source(
        repository(), version()
    )
    assert nb.cells[1].cell_type == "markdown" and nb.cells[1].source.startswith(
        f"# {path.stem[:2]} · "
    )
    params = [c for c in code_cells(nb) if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1
    for name in ("SEED", "PROFILE", "RESULTS"):
        assert re.search(rf"^{name} = ", params[0].source, re.M), name
    assert code_cells(nb)[-1].source.strip() == "claims.finish(RESULTS)"
    assert any("widgets.LivePanel" in c.source for c in code_cells(nb)), (
        "every notebook has a widget"
    )
    for cell in code_cells(nb):
        assert len(cell.source.splitlines()) <= 15, (
            f"a code cell of {len(cell.source.splitlines())} lines"
        )
        # nbval reads its markers from cell tags: no test comments on slides or pages
        assert "NBVAL_" not in cell.source, "use the tag nbval-check/ignore-output"
    checked = [
        c for c in code_cells(nb) if "nbval-check-output" in c.metadata.get("tags", [])
    ]
    assert all(c.outputs for c in checked), "a checked cell needs its committed output"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_committed_outputs_are_one_clean_run(path):
    nb = load(path)
    counts = [c.execution_count for c in code_cells(nb)]
    assert counts == list(range(1, len(counts) + 1)), "run `make execute`"
    for cell in code_cells(nb):
        for output in cell.outputs:
            assert output.output_type != "error", cell.source[:80]
            text = json.dumps(output.get("text", "")) + json.dumps(
                output.get("data", {}).get("text/plain", "")
            )
            assert not re.search(
                r"/tmp/|/root/|/work/|/home/| at 0x[0-9a-f]{6,}", text
            ), text[:200]
            assert "application/vnd.jupyter.widget-view+json" not in output.get(
                "data", {}
            ), "widget views are stripped"
            if (
                output.output_type == "execute_result"
            ):  # no stray return values such as [Text(...), ...]
                assert not output.data.get("text/plain", "").startswith(
                    ("[Text(", "(", "[<matplotlib")
                ), text[:80]
    finish = code_cells(nb)[-1].outputs
    assert finish and "✗" not in json.dumps(
        [o.get("data", {}) for o in finish], ensure_ascii=False
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_relative_links_resolve(path):
    for cell in load(path).cells:
        if cell.cell_type == "markdown":
            for target in re.findall(r"\]\(([^)#]+\.ipynb)\)", cell.source):
                assert (path.parent / target).exists(), target


def test_start_here_links_every_notebook():
    start = "\n".join(
        c.source for c in load(NOTEBOOKS[0]).cells if c.cell_type == "markdown"
    )
    for path in NOTEBOOKS[1:]:
        assert f"]({path.name})" in start, path.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_colab_cell_is_silent_outside_colab_and_installs_only_course_lib_inside(
    path, capsys, monkeypatch
):
    source = load(path).cells[0].source
    calls, answer = [], {"code": 0, "out": "Successfully installed course_lib-x\n"}

    def run(cmd, **kwargs):
        calls.append(cmd)
        return subprocess.CompletedProcess(
            cmd, answer["code"], stdout=answer["out"], stderr="ERROR: no network"
        )

    monkeypatch.setattr(subprocess, "run", run)
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    exec(source, {})
    assert calls == [] and capsys.readouterr().out == ""
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    exec(source, {})
    # the release named after pyproject's version, nothing else; pip's last line shown
    url = f"git+{repository()}@v{version()}"
    assert calls == [[sys.executable, "-m", "pip", "install", url]]
    assert capsys.readouterr().out == "Successfully installed course_lib-x\n"
    answer["code"] = 1
    exec(source, {})
    shown = capsys.readouterr().out
    assert "ERROR: no network" in shown and "install failed" in shown


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_exercise_solutions_pass_their_checks(path):
    nb = load(path)
    solutions = [
        block
        for c in nb.cells
        if c.cell_type == "markdown"
        for block in re.findall(r"<details>.*?```python\n(.*?)```", c.source, re.S)
    ]
    checks = [
        m
        for c in code_cells(nb)
        for m in re.findall(r"^exercises\.(\w+)\((\w+)\)$", c.source, re.M)
    ]
    assert len(solutions) == len(checks)
    namespace = {}
    exec(
        "import math\nimport numpy as np\nimport torch\n" + "\n".join(solutions),
        namespace,
    )
    for check, function in checks:
        feedback = getattr(exercises, check)(namespace[function])
        assert feedback, f"{check}: {feedback}"


def claims_under_papermill(path, tmp_path, seed: int) -> dict:
    """Run a notebook with papermill (quick profile, another SEED); its claims JSON."""
    import papermill

    results = tmp_path / "claims.json"
    papermill.execute_notebook(
        str(path),
        str(tmp_path / path.name),
        cwd=str(path.parent),
        kernel_name="python3",
        parameters={"SEED": seed, "PROFILE": "quick", "RESULTS": str(results)},
        progress_bar=False,
    )
    data = json.loads(results.read_text())
    assert (data["notebook"], data["seed"], data["profile"]) == (
        path.stem,
        seed,
        "quick",
    )
    assert data["claims"] and all(c["passed"] for c in data["claims"]), data["claims"]
    return data


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_papermill_with_another_seed_passes_every_claim(path, tmp_path):
    claims_under_papermill(path, tmp_path, seed=1)


# PyTorch picks CPU kernels for the vector instructions it finds, and each path rounds
# in its own order: the claims of the churn unit (which measure rounding effects) and of
# Part II must hold on every path this CPU can take besides its own (its own is the
# SEED = 1 run above).
OTHER_PATHS = sorted(
    (
        {"avx2", "default"}
        if platform.machine().lower() in ("x86_64", "amd64")
        else set()
    )
    | {"default"}
)
PATH_TESTED = [p for p in NOTEBOOKS if p.stem[:2] >= "05"]


def native_path() -> str:
    import torch

    return torch.backends.cpu.get_cpu_capability().lower()


@pytest.mark.parametrize("cpu_path", OTHER_PATHS)
@pytest.mark.parametrize("path", PATH_TESTED, ids=[p.stem for p in PATH_TESTED])
def test_claims_hold_on_another_cpu_path_and_seed(
    path, cpu_path, tmp_path, monkeypatch
):
    if cpu_path == native_path():  # the same kernels as the SEED = 1 run: nothing new
        assert cpu_path == "avx2", "only the AVX2 path can be a machine's own and ours"
        return
    monkeypatch.setenv("ATEN_CPU_CAPABILITY", cpu_path)  # the kernel inherits it
    data = claims_under_papermill(path, tmp_path, seed=2)
    assert data["cpu"] == cpu_path.upper(), "the kernel did not take that CPU path"


def committed_claims(path) -> dict:
    """The claims of the committed run, from the claims table's output metadata."""
    for output in code_cells(load(path))[-1].outputs:
        if "course_claims" in output.get("metadata", {}):
            return output["metadata"]["course_claims"]
    raise AssertionError(f"{path.name}: the claims table has no course_claims metadata")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_the_committed_sweep_is_fresh_and_every_finding_held_at_every_seed(path):
    """`make sweep` wrote course_lib/claims_sweep.json from the notebook as committed:
    the same claims with the same kind, bar and baseline; SEED = 0 gave the committed
    numbers; every finding held at SEED = 0…9 and in the other runs."""
    from course_lib.claims import SWEEP_SEEDS, load_sweep

    committed = committed_claims(path)
    swept = load_sweep().get(path.stem, {})
    rows = {
        c["claim"]: (c["kind"], c["bar"], c["against"]) for c in committed["claims"]
    }
    assert rows == {k: (v["kind"], v["bar"], v["against"]) for k, v in swept.items()}, (
        "run `make sweep NOTEBOOKS=notebooks/" + path.name + "`, then `make execute`"
    )
    for c in committed["claims"]:
        runs = swept[c["claim"]]["runs"]
        seeds = sorted(r["seed"] for r in runs if not r["forced_cpu"])
        assert set(SWEEP_SEEDS) <= set(seeds) and len(runs) > len(SWEEP_SEEDS)
        at_0 = [r for r in runs if r["seed"] == 0 and not r["forced_cpu"]]
        if at_0[0]["cpu"] == committed["cpu"]:
            assert at_0[0]["measured"] == pytest.approx(c["measured"], rel=1e-9), (
                f"{c['claim']!r}: the sweep's SEED = 0 is not the committed run"
            )
        if c["kind"] == "finding":
            missed = [(r["seed"], r["forced_cpu"]) for r in runs if not r["passed"]]
            assert not missed, f"{c['claim']!r} missed its bar at {missed}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_the_committed_claims_table_is_what_the_sweep_shows_today(path):
    """The table's "held over seeds" column is read from the sweep when the notebook
    runs: a sweep or a library change after `make execute` leaves it stale."""
    from course_lib.claims import Claim, Claims

    committed = committed_claims(path)
    table = Claims(committed["notebook"], committed["seed"], committed["profile"])
    table.claims = [Claim(**c) for c in committed["claims"]]
    shown = [
        o for o in code_cells(load(path))[-1].outputs if "course_claims" in o.metadata
    ]
    assert shown[0]["data"]["text/html"] == table._repr_html_(), "run `make execute`"


def test_the_claims_page_is_the_sweep():
    import sweep

    from course_lib.claims import load_sweep

    assert (sweep.PAGE).read_text() == sweep.page(load_sweep()), "run `make sweep`"


SLIDE_TYPES = {"slide", "subslide", "fragment", "-", "skip", "notes"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_slideshow_metadata_makes_a_lecture(path):
    cells = load(path).cells
    kinds = [c.metadata.get("slideshow", {}).get("slide_type") for c in cells]
    assert set(kinds) <= SLIDE_TYPES, "every cell needs metadata.slideshow.slide_type"
    assert kinds.count("slide") >= 6
    assert kinds[0] == "skip" and kinds[1] == "slide"  # Colab cell hidden; title first
    for cell, kind in zip(cells, kinds):
        if cell.cell_type == "markdown" and cell.source.startswith("## "):
            assert kind == "slide", f"section without a slide: {cell.source[:60]!r}"
        if kind == "slide":  # a slide opens with its heading, never with bare code
            assert cell.cell_type == "markdown" and cell.source.startswith("#")
        if "parameters" in cell.metadata.get("tags", []):
            assert kind == "skip", "setup cells stay off the slides"
        assert not re.search(r"\n## ", cell.source), "one ## section per cell"
    last = max(i for i, k in enumerate(kinds) if k == "slide")
    assert "Claims" in cells[last].source, "the claims table is the last slide"
