import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # tests/notebook_files.py


@pytest.fixture(scope="session")
def built_book(tmp_path_factory):
    """The website, built as `make book` builds it (warnings are errors) into a
    temporary folder; returns the folder of its HTML."""
    root = Path(__file__).resolve().parent.parent
    out = tmp_path_factory.mktemp("book")
    jupyter_book = shutil.which("jupyter-book", path=str(Path(sys.executable).parent))
    config = ["--config", "book/_config.yml", "--toc", "book/_toc.yml"]
    result = subprocess.run(
        [jupyter_book, "build", ".", *config, "--path-output", str(out)]
        + ["--warningiserror", "--keep-going"],
        capture_output=True,
        text=True,
        cwd=root,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return out / "_build" / "html"
