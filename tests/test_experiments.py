"""course_lib.experiments: repeating a run over seeds and summarising it."""

import pytest

from course_lib import experiments


def test_experiments_helpers(capsys):
    results = experiments.over_seeds(
        lambda s: {"acc": 0.5 + 0.1 * s}, [0, 1, 2], desc="t"
    )
    assert [r["acc"] for r in results] == [0.5, 0.6, 0.7]
    mean, std = experiments.summary(results, "acc")
    assert mean == pytest.approx(0.6) and std == pytest.approx(0.1)
    assert experiments.mean_pm_std(results, "acc") == "60.0 ± 10.0"
    with pytest.raises(ValueError, match="seeds"):
        experiments.over_seeds(lambda s: {}, [], desc="t")
