"""The repository's promises: links in sync, Colab's stack accepted, Binder pinned like
the rest.
"""

import json
import re
import subprocess
import sys
import tomllib

import pytest
from notebook_files import ROOT
from packaging.requirements import Requirement
from packaging.version import Version

# What Colab ships (late 2026): course_lib's ranges must accept it, so installing there
# adds nothing.
COLAB = {
    "python": "3.13",
    "torch": "2.11.0",
    "ipywidgets": "7.7.1",
    "matplotlib": "3.10.0",
    "numpy": "2.0.2",
    "tqdm": "4.67.1",
    "scikit-learn": "1.6.1",
}


def pyproject():
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["project"]


def pins(path):
    found = {}
    for line in (ROOT / path).read_text().splitlines():
        if "==" in line and not line.startswith(("#", "-")):
            name, version = line.split("==")
            found[name.lower().replace("_", "-")] = version.split("+")[0]
    return found


def test_links_are_in_sync_with_pyproject():
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "sync_links.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout


def test_citation_names_this_version_and_repository():
    import yaml

    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert cff["cff-version"] == "1.2.0" and cff["authors"] and cff["title"]
    assert str(cff["version"]) == pyproject()["version"]
    assert cff["repository-code"] == pyproject()["urls"]["Repository"].rstrip("/")
    assert cff["license"] == "MIT" and "MIT License" in (ROOT / "LICENSE").read_text()


def test_dependency_ranges_accept_colab_and_our_pins():
    project = pyproject()
    assert (
        Version(COLAB["python"])
        in Requirement("python" + project["requires-python"]).specifier
    )
    ours = pins("requirements.txt")
    for spec in project["dependencies"]:
        requirement = Requirement(spec)
        assert Version(COLAB[requirement.name]) in requirement.specifier, spec
        assert Version(ours[requirement.name]) in requirement.specifier, spec


BINDER_ONLY = {"notebook"}  # repo2docker's own; pinned to accept our JupyterLab


def test_binder_pins_match_requirements():
    ours, binder = pins("requirements.txt"), pins("binder/requirements.txt")
    assert binder["torch"] == ours["torch"]
    for name, version in binder.items():
        assert name in BINDER_ONLY or ours[name] == version, name
    assert "python-3." in (ROOT / "binder" / "runtime.txt").read_text()
    post_build = (ROOT / "binder" / "postBuild").read_text()
    assert "pip install --no-deps ." in post_build
    assert "rm -rf build course_lib.egg-info" in post_build


def test_binder_requirements_resolve_without_conflict(tmp_path):
    """pip's resolver on Binder's pins, notebook included (the CPU wheel's index is
    swapped for the same torch version from the ordinary index)."""
    lines = (ROOT / "binder" / "requirements.txt").read_text().splitlines()
    wanted = [
        line.replace("+cpu", "") for line in lines if "==" in line and line[0] != "#"
    ]
    (tmp_path / "r.txt").write_text("\n".join(wanted) + "\n")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed"]
        + ["--quiet", "--report", str(tmp_path / "report.json")]
        + ["-r", str(tmp_path / "r.txt")],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads((tmp_path / "report.json").read_text())
    chosen = {
        i["metadata"]["name"].lower(): i["metadata"]["version"]
        for i in report["install"]
    }
    assert chosen["jupyterlab"] == pins("binder/requirements.txt")["jupyterlab"]


def test_the_readmes_two_commands_are_real_make_targets_and_ci_runs_the_test_one():
    readme = (ROOT / "README.md").read_text()
    for command in ("make lab", "make test"):
        assert command in readme
        # a dry run resolves the whole target graph: a missing target or rule fails
        dry = subprocess.run(
            command.split() + ["-n", "-C", str(ROOT)], capture_output=True, text=True
        )
        assert dry.returncode == 0, dry.stderr
    dry_test = subprocess.run(
        ["make", "-n", "-C", str(ROOT), "test"], capture_output=True, text=True
    ).stdout
    for part in ("lint", "test-unit", "test-notebooks", "test-browser"):
        assert part in dry_test
    assert re.search(r"^\s*make test\b", (ROOT / ".ci" / "run").read_text(), re.M)


def test_every_module_is_listed_where_a_newcomer_looks():
    modules = sorted(p.stem for p in (ROOT / "course_lib").glob("[a-z_]*.py"))
    modules.remove("__init__")
    readme = (ROOT / "README.md").read_text()
    where = next(
        line for line in readme.splitlines() if line.startswith("| `course_lib/`")
    )
    package = (ROOT / "course_lib" / "__init__.py").read_text()
    for module in modules:
        assert f"`{module}`" in where, module
        assert f"``{module}``" in package, module
        if not module.startswith("_"):
            assert module in pyproject()["description"], module


def test_the_readme_states_the_python_range_of_pyproject():
    readme = (ROOT / "README.md").read_text()
    stated = re.search(r"Python (3\.\d+) or newer", readme).group(1)
    assert pyproject()["requires-python"] == f">={stated}"
    assert (ROOT / "binder" / "runtime.txt").read_text().strip() >= f"python-{stated}"


def test_execute_keeps_a_panels_text_and_drops_progress_bars():
    import nbformat
    import tools_path  # noqa: F401  (puts tools/ on the path)
    from execute_notebooks import WIDGET_VIEW, strip_widget_views

    view = {WIDGET_VIEW: {"model_id": "x"}}
    cell = nbformat.v4.new_code_cell("")
    cell.outputs = [
        nbformat.v4.new_output(
            "display_data", {**view, "text/plain": "seeds:   0%|     | 0/3"}
        ),
        nbformat.v4.new_output("display_data", {**view, "text/plain": "Move me"}),
        nbformat.v4.new_output("stream", name="stdout", text="done\n"),
    ]
    nb = nbformat.v4.new_notebook(cells=[cell])
    strip_widget_views(nb)
    assert [
        o.get("data", {}).get("text/plain", o.get("text")) for o in cell.outputs
    ] == [
        "Move me",
        "done\n",
    ]


def test_freeze_reproduces_both_requirement_files(tmp_path):
    """The learner's file is closed under its own requirements; the dev file adds the
    rest: make freeze on this environment writes exactly what is committed."""
    import tools_path  # noqa: F401  (puts tools/ on the path)
    from freeze import LEARNER, main, norm

    main(tmp_path)
    for name in ("requirements.txt", "requirements-dev.txt"):
        assert (tmp_path / name).read_text() == (ROOT / name).read_text(), name
    learner, dev = pins("requirements.txt"), pins("requirements-dev.txt")
    assert not set(learner) & set(dev)
    assert {norm(n) for n in LEARNER} <= set(learner)
    assert "ruff" in dev and "playwright" in dev and "torch" in learner
    assert (ROOT / "requirements-dev.txt").read_text().count("-r requirements.txt") == 1


def test_a_placeholder_address_or_a_non_release_version_stops_make_sync():
    import tools_path  # noqa: F401  (puts tools/ on the path)
    from sync_links import check_release

    check_release(pyproject()["urls"]["Repository"], pyproject()["version"])
    for repo, version in (
        ("https://github.com/your-org/course", "0.1.0"),
        ("https://example.com/course", "0.1.0"),
        (pyproject()["urls"]["Repository"], "0.1"),
    ):
        with pytest.raises(SystemExit):
            check_release(repo, version)
