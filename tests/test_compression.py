"""course_lib.compression: parameter counts, sizes on disk, int8 weights, timings and
the comparison table of notebook 02.
"""

import subprocess
import sys
import warnings

import pytest
import torch

from course_lib import compression, training


def mlp(sizes=(8, 16, 4), seed=0):
    return training.MLP(list(sizes), init_seed=seed).eval()


def test_parameter_count_is_weights_plus_biases_also_after_int8():
    model = mlp((64, 256, 256, 10))
    assert compression.parameter_count(model) == 64 * 256 + 256 + 256 * 256 + 256 + 2570
    assert compression.parameter_count(compression.quantize_int8(model)) == 85_002
    assert compression.parameter_count(mlp((64, 32, 10))) == 2_410


def test_state_dict_bytes_follow_the_bytes_per_weight():
    small, large = mlp((64, 32, 10)), mlp((64, 256, 256, 10))
    float32 = compression.state_dict_bytes(large)
    assert 4 * 85_002 <= float32 <= 4 * 85_002 + 10_000  # 4 bytes each, small overhead
    int8 = compression.state_dict_bytes(compression.quantize_int8(large))
    assert 85_002 <= int8 <= 0.3 * float32  # 1 byte per weight, biases and scales
    assert compression.state_dict_bytes(small) < float32 / 10


def test_quantize_int8_copies_keeps_predictions_and_warns_nothing():
    model = mlp((8, 32, 4))
    x = torch.randn(50, 8, generator=torch.Generator().manual_seed(1))
    before = [p.clone() for p in model.parameters()]
    filters = list(warnings.filters)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        quantised = compression.quantize_int8(model)
        quantised(x)
    assert caught == [], [str(w.message)[:80] for w in caught]
    assert warnings.filters == filters
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))
    assert isinstance(model.layers[0], torch.nn.Linear)  # the original is untouched
    with torch.no_grad():
        error = (quantised(x) - model(x)).abs().max().item()
    assert 0 < error < 0.05  # rounded weights: close, not equal


def test_prediction_seconds_is_positive_and_restores_the_thread_count():
    threads = torch.get_num_threads()
    seconds = compression.prediction_seconds(mlp(), torch.randn(100, 8), repeats=3)
    assert seconds > 0 and torch.get_num_threads() == threads


def test_compare_and_mean_rows():
    g = torch.Generator().manual_seed(2)
    x, y = torch.randn(40, 8, generator=g), torch.randint(0, 4, (40,), generator=g)
    models = {"a": mlp(), "a, int8": compression.quantize_int8(mlp())}
    tables = [
        compression.compare(models, x, y, timing_inputs=x, repeats=2) for _ in range(2)
    ]
    assert list(tables[0]) == ["a", "a, int8"]
    row = tables[0]["a"]
    assert row["parameters"] == 8 * 16 + 16 + 16 * 4 + 4
    expected = training.accuracy(models["a"](x), y)
    assert row["accuracy"] == pytest.approx(expected)
    means = compression.mean_rows(tables)
    assert means["a"]["accuracy"] == pytest.approx(expected)
    assert means["a"]["accuracy_std"] == 0.0
    text = compression.format_table(means, images=40)
    assert (
        "a, int8" in text and "ms / 40 images" in text and len(text.splitlines()) == 3
    )


def test_bad_input_is_a_value_error_naming_the_argument():
    with pytest.raises(ValueError, match="model"):
        compression.state_dict_bytes("not a model")
    with pytest.raises(ValueError, match="nn.Linear"):
        compression.quantize_int8(torch.nn.ReLU())
    with pytest.raises(ValueError, match="repeats"):
        compression.prediction_seconds(mlp(), torch.randn(4, 8), repeats=0)
    with pytest.raises(ValueError, match="inputs"):
        compression.prediction_seconds(mlp(), torch.randn(8), repeats=1)
    with pytest.raises(ValueError, match="models"):
        compression.compare({}, torch.randn(4, 8), torch.zeros(4).long(),
                            timing_inputs=torch.randn(4, 8))  # fmt: skip
    with pytest.raises(ValueError, match="tables"):
        compression.mean_rows([])


def test_importing_compression_leaves_warnings_alone():
    probe = (
        "import warnings, torch; before = list(warnings.filters); "
        "import course_lib.compression; "
        "assert warnings.filters == before, 'a warnings filter was added'"
    )
    subprocess.run([sys.executable, "-W", "error::DeprecationWarning", "-c", probe],
                   check=True)  # fmt: skip
