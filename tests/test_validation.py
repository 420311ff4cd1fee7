"""fastnn._validation's helpers at their edges (the entry points' messages are in
test_bad_input.py and test_layouts.py): the blocked finiteness check of big arrays, the sign
rules of numbers, the uint8 warning, dtype names."""
import warnings

import numpy as np
import pytest

from fastnn import _validation as v
from fastnn.exceptions import UnscaledInputWarning


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of 12 elements, so that an 11 x 4 array is checked 3 rows at a time (rows 0-2,
    3-5, 6-8 and the 2 left over) as an array of more than 2**22 elements would be."""
    monkeypatch.setattr(v, "_FINITE_BLOCK", 12)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("where", [(0, 0), (4, 2), (9, 3), (10, 1)], ids=str)
def test_the_blocked_finiteness_check_sees_every_row(small_blocks, where, bad):
    X = np.ones((11, 4))
    X[where] = bad
    with pytest.raises(ValueError, match="X contains NaN or infinity"):
        v.check_finite(X)
    X[where] = 1.0
    v.check_finite(X)


def test_one_row_bigger_than_a_block(small_blocks):
    X = np.ones((3, 20))
    v.check_finite(X)
    X[2, 19] = np.nan
    with pytest.raises(ValueError, match="NaN or infinity"):
        v.check_finite(X)


def test_check_float_sign_rules():
    assert v.check_float(-1.5, "x") == -1.5  # no sign asked for: negatives are fine
    assert v.check_float(0.0, "x", nonnegative=True) == 0.0
    assert v.check_float(1e-300, "x", positive=True) == 1e-300
    with pytest.raises(ValueError, match="x must be >= 0, got -1e-300"):
        v.check_float(-1e-300, "x", nonnegative=True)
    with pytest.raises(ValueError, match="x must be > 0, got 0.0"):
        v.check_float(0.0, "x", positive=True)
    with pytest.raises(ValueError, match="x must be finite"):
        v.check_float(np.inf, "x")
    for value in (True, "1", None):
        with pytest.raises(TypeError, match="x must be a real number"):
            v.check_float(value, "x")


def test_check_int_minimum_and_type():
    assert v.check_int(np.int64(3), "n", 3) == 3 and type(v.check_int(np.int64(3), "n", 3)) is int
    with pytest.raises(ValueError, match="n must be >= 3, got 2"):
        v.check_int(2, "n", 3)
    for value in (3.0, True, "3"):
        with pytest.raises(TypeError, match="n must be an integer"):
            v.check_int(value, "n", 1)


@pytest.mark.parametrize("values, warns", [([[0, 0]], False), ([[0, 1]], False), ([[1, 2]], True),
                                           ([[255]], True), (np.zeros((0, 3)), False)],
                         ids=["zeros", "zeros-and-ones", "two", "255", "empty"])
def test_the_uint8_warning_comes_only_above_one(values, warns):
    X = np.array(values, dtype=np.uint8)
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        v._warn_unscaled(X, "X")
    assert any(issubclass(w.category, UnscaledInputWarning) for w in rec) == warns


@pytest.mark.parametrize("dtype", ["nonsense", np.float16, int, "complex128"])
def test_check_dtype_refuses_all_but_float32_and_float64(dtype):
    with pytest.raises(TypeError, match="dtype must be 'float64' or 'float32'"):
        v.check_dtype(dtype)


@pytest.mark.parametrize("dtype, expected", [("float64", np.float64), (np.float32, np.float32),
                                             (np.dtype("f4"), np.float32), (float, np.float64)])
def test_check_dtype_accepts_float32_and_float64_spelled_any_way(dtype, expected):
    assert v.check_dtype(dtype) is expected


@pytest.mark.parametrize("shape, ndim, hint", [((3,), 2, True), ((2, 2, 2), 2, False), ((3,), 3, False),
                                               ((2, 2), 1, False)])
def test_the_reshape_hint_is_given_for_one_sample_given_as_a_vector(shape, ndim, hint):
    with pytest.raises(ValueError, match=f"Expected {ndim}D array for X, got {len(shape)}D") as info:
        v.check_array(np.ones(shape), ndim=ndim)
    assert ("X.reshape(1, -1)" in str(info.value)) == hint


def test_label_messages_name_the_valid_range():
    with pytest.raises(TypeError, match=r"integer labels 0\.\.2 or one-hot"):
        v.check_targets(np.array(["a", "b"]), 2, 3)
    with pytest.raises(ValueError, match=r"outside 0\.\.2 \(the network has 3 outputs\): \[3\]"):
        v.check_targets(np.array([0, 3]), 2, 3)


@pytest.mark.parametrize("n_labels", [2, 4])
def test_labels_for_another_number_of_samples_are_refused(n_labels):
    with pytest.raises(ValueError, match=f"different numbers of samples: 3 and {n_labels}"):
        v.check_targets(np.zeros(n_labels, dtype=int), 3, 2)


def test_sample_weights():
    np.testing.assert_array_equal(v.check_sample_weight(2.5, 3), [2.5, 2.5, 2.5])  # a scalar: everyone
    sw = v.check_sample_weight([1, 0, 2], 3, np.float32)
    assert sw.dtype == np.float32 and sw.tolist() == [1.0, 0.0, 2.0]
    assert v.check_sample_weight(None, 3) is None
    with pytest.raises(ValueError, match=r"must be non-negative, got \[-1.0, -2.0\]"):
        v.check_sample_weight([1, -1, 0, -2], 4)
    with pytest.raises(ValueError, match="NaN or infinity"):
        v.check_sample_weight([1, np.nan], 2)
    with pytest.raises(ValueError, match="zero for every sample"):
        v.check_sample_weight([0, 0], 2)
