"""Copy the repository's address (pyproject.toml, [project.urls] Repository) everywhere
it is needed.

It lands, with the release tag v<version> named after pyproject's one version string, in
each notebook's first cell (the Colab-only install of course_lib at that tag), in the
README's badges (Binder, and "Open in Colab" per notebook, at that tag), in
CITATION.cff, in the website's launch buttons (book/_config.yml) and in
course_lib.__version__.
`python tools/sync_links.py` rewrites them; `--check` only reports, exiting 1 when
anything is out of date (tests/test_repository.py runs it).
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
BADGES = re.compile(r"(<!-- badges:start -->\n).*?(<!-- badges:end -->)", re.S)


def project() -> dict:
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["project"]


def repository() -> str:
    return project()["urls"]["Repository"].rstrip("/")


def citation(text: str, repo: str, version: str) -> str:
    text = re.sub(r"(?m)^repository-code: .*$", f"repository-code: {repo}", text)
    return re.sub(r"(?m)^version: .*$", f"version: {version}", text)


# Hidden on the website ("remove-cell") and in the slideshow ("skip"): it only matters
# inside Colab.
COLAB_CELL_METADATA = {"tags": ["remove-cell"], "slideshow": {"slide_type": "skip"}}


def colab_cell_source(repo: str, version: str) -> str:
    return (
        f"# Colab only: install course_lib v{version} from the course's repository "
        "(Colab keeps\n"
        "# its own torch, ipywidgets and matplotlib). Anywhere else this cell does "
        "nothing.\n"
        "import sys\n"
        "\n"
        'if "google.colab" in sys.modules:\n'
        "    import subprocess\n"
        "\n"
        f'    url = "git+{repo}@v{version}"\n'
        '    pip = [sys.executable, "-m", "pip", "install", url]\n'
        "    done = subprocess.run(pip, capture_output=True, text=True)\n"
        "    print(done.stdout.splitlines()[-1] if done.returncode == 0 else "
        "done.stderr)\n"
        "    if done.returncode != 0:\n"
        '        print("The install failed (pip says why above): is the runtime '
        'online?")'
    )


PLACEHOLDERS = re.compile(r"example|your-|<|>|todo|placeholder|xxx", re.I)


def check_release(repo: str, version: str) -> None:
    """The address must be real and the version a release number: the Colab cells
    install ``@v<version>``, a tag that must exist in that repository."""
    if not repo.startswith("https://github.com/") or PLACEHOLDERS.search(repo):
        raise SystemExit(f"pyproject's Repository {repo!r} is a placeholder")
    if not re.fullmatch(r"\d+\.\d+\.\d+", version):
        raise SystemExit(f"pyproject's version {version!r} is not MAJOR.MINOR.PATCH")


def book_config(text: str, repo: str, version: str) -> str:
    text = re.sub(r"(?m)^(  url: )\S+", lambda m: m.group(1) + repo, text)
    return re.sub(r"(?m)^(  branch: )\S+", lambda m: m.group(1) + f"v{version}", text)


def init_version(text: str, version: str) -> str:
    return re.sub(r'(?m)^__version__ = ".*"$', f'__version__ = "{version}"', text)


def badges(repo: str, notebooks: list[Path], version: str) -> str:
    slug, tag = repo.removeprefix("https://github.com/"), f"v{version}"
    binder = f"https://mybinder.org/v2/gh/{slug}/{tag}?urlpath=lab/tree/notebooks/00_start_here.ipynb"
    lines = [f"[![Binder](https://mybinder.org/badge_logo.svg)]({binder})", ""]
    lines += ["| notebook | Colab |", "|---|---|"]
    for nb in notebooks:
        colab = f"https://colab.research.google.com/github/{slug}/blob/{tag}/notebooks/{nb.name}"
        lines.append(
            f"| [{nb.stem}](notebooks/{nb.name}) | "
            "[![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
            f"({colab}) |"
        )
    return "\n".join(lines) + "\n"


def sync(check: bool) -> list[str]:
    repo, version, stale = repository(), project()["version"], []
    check_release(repo, version)
    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        first = nb.cells[0] if nb.cells else None
        wanted = colab_cell_source(repo, version)
        if (
            first is None
            or first.cell_type != "code"
            or "google.colab" not in first.source
        ):
            first = nbformat.v4.new_code_cell(wanted)
            nb.cells.insert(0, first)
        if first.source != wanted or first.metadata != COLAB_CELL_METADATA:
            stale.append(str(path.relative_to(ROOT)))
            if not check:
                first.source = wanted
                first.metadata = dict(COLAB_CELL_METADATA)
                nbformat.write(nb, path)
    readme = (ROOT / "README.md").read_text()
    new_readme = BADGES.sub(
        lambda m: m.group(1) + badges(repo, notebooks, version) + m.group(2), readme
    )
    if new_readme != readme or "<!-- badges:start -->" not in readme:
        stale.append("README.md")
        if not check:
            (ROOT / "README.md").write_text(new_readme)
    for name, rewrite in (
        ("CITATION.cff", lambda text: citation(text, repo, version)),
        ("book/_config.yml", lambda text: book_config(text, repo, version)),
        ("course_lib/__init__.py", lambda text: init_version(text, version)),
    ):
        text = (ROOT / name).read_text()
        if rewrite(text) != text:
            stale.append(name)
            if not check:
                (ROOT / name).write_text(rewrite(text))
    return stale


if __name__ == "__main__":
    check = "--check" in sys.argv[1:]
    stale = sync(check)
    for name in stale:
        print(f"{'out of date' if check else 'updated'}: {name}")
    sys.exit(1 if check and stale else 0)
