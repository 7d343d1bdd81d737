"""The repository's tools/: sync_links reads the address and version from pyproject."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
from sync_links import colab_cell_source, project, repository  # noqa: E402


def version() -> str:
    """pyproject's one version string; its release tag is v<version>."""
    return project()["version"]


__all__ = ["colab_cell_source", "repository", "version"]
