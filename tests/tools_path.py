"""The repository's tools/: sync_links reads the repository address from pyproject."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
from sync_links import colab_cell_source, repository  # noqa: E402

__all__ = ["colab_cell_source", "repository"]
