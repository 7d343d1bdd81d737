import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # tests/notebook_files.py


@pytest.fixture(scope="session")
def built_book(tmp_path_factory):
    """The website, built by `make book` (warnings are errors) into a temporary
    folder; returns the folder of its HTML."""
    root = Path(__file__).resolve().parent.parent
    out = tmp_path_factory.mktemp("book")
    result = subprocess.run(
        ["make", "--no-print-directory", "book", f"BOOK_OUT={out}"],
        capture_output=True,
        text=True,
        cwd=root,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return out / "_build" / "html"
