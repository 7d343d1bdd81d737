"""Full vs sampled softmax training step at L = 10⁴, 10⁵, 10⁶ (d = 64, B = 256, k = 1024
uniform negatives).

Each (L, strategy) runs in a fresh process so its peak memory (VmHWM) is its own.
"""

from __future__ import annotations

import json
import subprocess
import sys

LABELS = (10_000, 100_000, 1_000_000)
CHILD = """
import json, torch
torch.set_num_threads({threads})
from course_lib import sampling
seconds = sampling.step_time(
    {L}, {strategy!r}, dim=64, batch_size=256, k=1024, repeats=3
)
status = open("/proc/self/status").read().splitlines()
peak = next(int(l.split()[1]) for l in status if l.startswith("VmHWM")) / 1024
print(json.dumps({{"seconds": seconds, "peak_mb": peak}}))
"""


def measure(L: int, strategy: str, threads: int) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", CHILD.format(L=L, strategy=strategy, threads=threads)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def run(threads: int = 2) -> list[dict]:
    rows = []
    for L in LABELS:
        full, sampled = (
            measure(L, "full softmax", threads),
            measure(L, "uniform", threads),
        )
        rows.append(
            {
                "L": f"{L:,}",
                "full ms": 1e3 * full["seconds"],
                "sampled ms": 1e3 * sampled["seconds"],
                "speed-up": full["seconds"] / sampled["seconds"],
                "full peak MB": full["peak_mb"],
                "sampled peak MB": sampled["peak_mb"],
            }
        )
    return rows
