"""`make bench`: the course's measured performance figures, printed as tables.

- course_lib losses vs PyTorch built-ins, forward + backward (target: ratio <= 1.2);
- K = 8 MLPs trained as one batched ensemble vs a Python loop (target >= 3x);
- a full vs a sampled softmax training step at L = 10^4, 10^5, 10^6 (target: >= 200x
  faster at 10^6);
- every notebook on a fresh kernel: wall time (target <= 60 s; 00 and 01 <= 20 s), peak
  kernel memory
  (target <= 1.5 GB), widget callback median (target <= 100 ms).

"""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_ensemble  # noqa: E402
import bench_losses  # noqa: E402
import bench_notebooks  # noqa: E402
import bench_sampling  # noqa: E402


def table(rows: list[dict]) -> str:
    head = list(rows[0])

    def fmt(v) -> str:
        return f"{v:.2f}" if isinstance(v, float) else ("-" if v is None else str(v))

    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(fmt(r[k]) for k in head) + " |" for r in rows]
    return "\n".join(lines)


if __name__ == "__main__":
    start = time.perf_counter()
    print(
        f"## Losses, forward + backward, B = {bench_losses.B}, L = {bench_losses.L} "
        f"(median of {bench_losses.REPEATS})\n"
    )
    print(table(bench_losses.run()), "\n", flush=True)
    print(
        f"## Batched ensemble vs a loop over seeds, K = {bench_ensemble.K} (target: "
        "speed-up >= 3x)\n"
    )
    print(table(bench_ensemble.run()), "\n", flush=True)
    print(
        "## Full vs sampled softmax step, d = 64, B = 256, k = 1024 (target: speed-up "
        ">= 200x at 10^6)\n"
    )
    print(table(bench_sampling.run()), "\n", flush=True)
    print("## Notebooks on a fresh kernel (quick profile)\n")
    print(table(bench_notebooks.run()), "\n")
    print(f"(benchmarks took {time.perf_counter() - start:.0f} s)")
