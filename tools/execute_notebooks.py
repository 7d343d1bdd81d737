"""Re-run notebooks in place on a fresh kernel, in order: the committed outputs (`make
execute`).

After the run, widget views are reduced to their text fallback (a saved notebook holds
no widget state, so a reader without a kernel sees that sentence and the static figure
instead of an error). Usage: python tools/execute_notebooks.py [notebooks/NN_name.ipynb
...]   (default: all of them)
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


# the text a tqdm.auto bar leaves beside its widget: its state when first shown ("0%|")
PROGRESS_BAR = re.compile(r"\d+%\|")


def strip_widget_views(nb) -> None:
    """Widget views become their text; progress bars go (their text would say 0%)."""
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        kept = []
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if data.pop(WIDGET_VIEW, None) and PROGRESS_BAR.search(
                str(data.get("text/plain", ""))
            ):
                continue
            kept.append(output)
        if "outputs" in cell:
            cell.outputs = kept


def execute(path: Path) -> float:
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(
        nb,
        timeout=600,
        kernel_name="python3",
        record_timing=False,
        resources={"metadata": {"path": str(path.parent)}},
    ).execute()
    strip_widget_views(nb)
    nbformat.write(nb, path)
    return time.perf_counter() - start


if __name__ == "__main__":
    paths = [Path(p) for p in sys.argv[1:]] or sorted(
        (ROOT / "notebooks").glob("*.ipynb")
    )
    for path in paths:
        print(f"{path.name}: executed in {execute(path):.1f} s", flush=True)
