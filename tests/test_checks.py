"""The package-level argument checks, and the one-way imports they allow (data never loads an engine)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from backproplab.checks import (
    check_features,
    check_labels,
    check_non_negative_float,
    check_positive_float,
    check_positive_int,
)


def test_the_data_layer_does_not_import_either_engine():
    code = (
        "import sys, backproplab.datasets, backproplab.datasets.mnist, backproplab.datasets.idx;"
        "print(sorted(m for m in sys.modules if m.startswith(('backproplab.scratch', 'backproplab.dcn', 'torch'))))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("bad", [0, -3, 2.0, True, "4", None])
def test_positive_int(bad):
    assert check_positive_int(np.int32(5), "n") == 5
    with pytest.raises(ValueError, match=r"n must be a positive whole number, got"):
        check_positive_int(bad, "n")


@pytest.mark.parametrize("bad", [0, -1e-9, float("nan"), float("inf"), True, "0.1"])
def test_positive_and_non_negative_floats(bad):
    assert check_positive_float(3, "lr") == 3.0
    assert check_non_negative_float(0, "reg") == 0.0
    with pytest.raises(ValueError, match="lr must be a positive number"):
        check_positive_float(bad, "lr")
    if bad != 0:
        with pytest.raises(ValueError, match=r"reg must be a number >= 0"):
            check_non_negative_float(bad, "reg")


def test_features_and_labels():
    X = check_features([[1, 2], [3, 4]], 2)
    assert X.dtype == np.float64 and X.shape == (2, 2)
    with pytest.raises(ValueError, match=r"X must have shape \(N, 3\).*got shape \(2, 2\)"):
        check_features(X, 3)
    with pytest.raises(ValueError, match="1 NaN or infinite"):
        check_features([[1.0, np.nan]], 2)
    assert check_labels(np.array([0.0, 2.0]), 2, 3).tolist() == [0, 2]
    with pytest.raises(ValueError, match=r"labels must be in \[0, 1\]"):
        check_labels([0, 2], 2, 2)
    with pytest.raises(ValueError, match="non-integer"):
        check_labels([0.5, 1.0], 2, 2)


@pytest.mark.parametrize(
    ("check", "predicate", "bad"),
    [
        (check_positive_int, "positive_int", 0),
        (check_positive_float, "positive_float", float("inf")),
        (check_non_negative_float, "non_negative_float", -1.0),
    ],
)
def test_one_vocabulary_for_arguments_and_settings(check, predicate, bad):
    """An argument check says what the setting check of the same rule says, naming the argument."""
    from backproplab import settings

    with pytest.raises(settings.Invalid) as reason:
        getattr(settings, predicate)(bad)
    with pytest.raises(ValueError) as error:
        check(bad, "x")
    assert str(error.value) == f"x {reason.value}, got {bad!r}"
