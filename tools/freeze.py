"""`make freeze`: pin the virtual environment into two consistent files.

``requirements.txt`` is the learner's environment: ``LEARNER`` and everything they need,
exactly as installed. ``requirements-dev.txt`` starts with ``-r requirements.txt`` and
pins the rest (tests, lint, the website and the browser tests). The leading comment
lines of each file are kept. Usage: python tools/freeze.py
"""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
# What a learner needs to open, run, present and check the notebooks.
LEARNER = [
    "jupyterlab",
    "jupyterlab-rise",
    "jupyterlab-mathjax3",
    "ipykernel",
    "ipywidgets",
    "jupyterlab-widgets",
    "widgetsnbextension",
    "torch",
    "numpy",
    "matplotlib",
    "scikit-learn",
    "tqdm",
    "papermill",
    "nbval",
]
SKIP = {"pip", "course-lib"}


def norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def installed() -> dict[str, metadata.Distribution]:
    return {norm(d.metadata["Name"]): d for d in metadata.distributions()}


def closure(roots: list[str], dists: dict[str, metadata.Distribution]) -> set[str]:
    """The roots and everything they require here (markers evaluated, no extras)."""
    seen, todo = set(), [norm(r) for r in roots]
    while todo:
        name = todo.pop()
        if name in seen or name not in dists:
            continue
        seen.add(name)
        for spec in dists[name].requires or []:
            req = Requirement(spec)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(norm(req.name))
    return seen


def pin(dist: metadata.Distribution) -> str:
    version = dist.version.split("+")[0]  # torch's local "+cpu": the same release
    return f"{dist.metadata['Name']}=={version}"


def header(path: Path) -> list[str]:
    """The file's leading comment lines (kept from the committed file)."""
    path = ROOT / path.name
    if not path.exists():
        return []
    lines = path.read_text().splitlines()
    first_pin = next((i for i, x in enumerate(lines) if not x.startswith("#")), 0)
    return lines[:first_pin]


def write(path: Path, lines: list[str]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text("\n".join(header(path) + lines) + "\n")
    tmp.replace(path)


def main(out: Path = ROOT) -> None:
    dists = {n: d for n, d in installed().items() if n not in SKIP}
    missing = [r for r in LEARNER if norm(r) not in dists]
    if missing:
        raise SystemExit(f"not installed, cannot freeze: {missing}")
    learner = closure(LEARNER, dists)
    by_name = lambda names: sorted(names, key=str.lower)  # noqa: E731
    write(out / "requirements.txt", [pin(dists[n]) for n in by_name(learner)])
    rest = [pin(dists[n]) for n in by_name(set(dists) - learner)]
    write(out / "requirements-dev.txt", ["-r requirements.txt"] + rest)


if __name__ == "__main__":
    main()
