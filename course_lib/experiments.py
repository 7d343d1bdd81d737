"""Repeating an experiment over seeds, with a progress bar, and summarising it as mean ±
std.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable

from tqdm.auto import tqdm


def over_seeds(
    run: Callable[[int], dict], seeds: Iterable[int], desc: str
) -> list[dict]:
    """``[run(seed) for seed in seeds]`` with a progress bar (``tqdm.auto``: a widget
    in Jupyter, text in a terminal).
    """
    seeds = list(seeds)
    if not seeds:
        raise ValueError("seeds is empty: give at least one seed")
    results = []
    for seed in tqdm(seeds, desc=desc, mininterval=0.5):
        results.append(run(seed))
    return results


def summary(results: list[dict], key: str) -> tuple[float, float]:
    """Mean and (sample) standard deviation of ``result[key]`` over the seeds."""
    values = [r[key] for r in results]
    return statistics.fmean(values), (
        statistics.stdev(values) if len(values) > 1 else 0.0
    )


def mean_pm_std(
    results: list[dict], key: str, scale: float = 100.0, digits: int = 1
) -> str:
    """ "mean ± std" of ``result[key]`` × ``scale`` (percentages by default)."""
    mean, std = summary(results, key)
    return f"{scale * mean:.{digits}f} ± {scale * std:.{digits}f}"
