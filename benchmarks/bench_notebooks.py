"""Each notebook on a fresh kernel: wall time (kernel start included), peak memory of
the kernel, and the median time of its widget callbacks (the first control of every
LivePanel moved through 20 values).
"""

from __future__ import annotations

import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent

# First cell: remember every LivePanel the notebook creates (the library keeps no list).
RECORD = """
from course_lib import widgets as _w
_PANELS, _init = [], _w.LivePanel.__init__
def _recording_init(self, *args, **kwargs):
    _init(self, *args, **kwargs)
    _PANELS.append(self)
_w.LivePanel.__init__ = _recording_init
"""

PROBE = """
import json, resource, statistics
def _peak_mb():
    # VmHWM: this process's own peak (ru_maxrss would include the parent's)
    try:
        status = open("/proc/self/status").read().splitlines()
        return next(int(l.split()[1]) for l in status if l.startswith("VmHWM")) / 1024
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
_callback = []
for _panel in _PANELS:
    _control = next(iter(_panel.controls.values()))
    _start = len(_panel.timings)
    if hasattr(_control, "options"):
        _values = list(_control.options)
    else:
        _steps = int((_control.max - _control.min) / _control.step) + 1
        _values = [_control.min + k * _control.step for k in range(_steps)]
    for _i in range(20):
        _control.value = _values[(_i * 7 + 1) % len(_values)]
    _callback += _panel.timings[_start:]
_median = 1e3 * statistics.median(_callback) if _callback else None
print(json.dumps({"peak_rss_mb": _peak_mb(), "callback_ms": _median}))
"""


def run_one(path: Path) -> dict:
    nb = nbformat.read(path, as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell(RECORD))
    nb.cells.append(nbformat.v4.new_code_cell(PROBE))
    start = time.perf_counter()
    NotebookClient(
        nb,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    ).execute()
    wall = time.perf_counter() - start
    import json

    probe = json.loads(nb.cells[-1].outputs[-1]["text"])
    return {
        "notebook": path.stem,
        "wall s": wall,
        "peak MB": probe["peak_rss_mb"],
        "callback ms": probe["callback_ms"],
    }


def run() -> list[dict]:
    return [run_one(p) for p in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))]
