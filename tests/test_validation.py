"""fastnn._validation's helpers at their edges (the entry points' messages are in
test_bad_input.py and test_layouts.py): the blocked finiteness check of big arrays, the sign
rules of numbers, the tuples of positive ints, the uint8 warning, dtype names."""
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
    with pytest.raises(ValueError, match="X contains NaN or infinity") as info:
        v.check_finite(X)
    assert "must also fit" not in str(info.value)  # said only of values cast from another dtype
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
    for value in (0.0, -1.0):
        with pytest.raises(ValueError, match=f"x must be > 0, got {value}"):
            v.check_float(value, "x", positive=True)
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


def test_positive_int_tuples_take_1_and_refuse_0_and_below():
    assert v.check_hidden_sizes([1, 30, np.int64(2)]) == (1, 30, 2) and v.check_hidden_sizes(()) == ()
    assert v.check_hidden_sizes(7, allow_int=True) == (7,)
    for bad in (0, -3):
        with pytest.raises(ValueError, match=f"hidden_layer_sizes entries must be >= 1 \\(positive layer "
                                             f"sizes\\), got {bad} in \\[5, {bad}\\]"):
            v.check_hidden_sizes([5, bad])
    with pytest.raises(ValueError, match=r"steps entries must be >= 1 \(steps in pixels\), got 0"):
        v.check_positive_ints((0,), "steps", items="steps in pixels", example="(4, 16)", meaning="steps in pixels")
    with pytest.raises(TypeError, match=r"steps must be a tuple of steps in pixels such as \(4, 16\), got '4'"):
        v.check_positive_ints("4", "steps", items="steps in pixels", example="(4, 16)", meaning="steps in pixels")
    with pytest.raises(TypeError, match=r"hidden_layer_sizes must be a tuple of layer sizes such as \(30,\) or "
                                        r"an int, got 'x'"):
        v.check_hidden_sizes("x", allow_int=True)
    with pytest.raises(TypeError, match=r"must contain integers, got True in \[True\]"):
        v.check_hidden_sizes([True])


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
                                               ((2, 2), 1, False), ((), 2, False)])
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
    with pytest.raises(ValueError, match=r"got \[-1.0, -2.0, -3.0, -4.0, -5.0\]$"):  # at most five
        v.check_sample_weight([-1, -2, -3, -4, -5, -6], 6)
    with pytest.raises(ValueError, match=r"must have shape \(3,\), one weight per sample, got shape \(2,\)"):
        v.check_sample_weight([1, 2], 3)
    with pytest.raises(ValueError, match="NaN or infinity"):
        v.check_sample_weight([1, np.nan], 2)
    with pytest.raises(ValueError, match="zero for every sample"):
        v.check_sample_weight([0, 0], 2)


def test_float_labels_must_be_finite_integers():
    Y, labels = v.check_targets(np.array([2.0, 0.0]), 2, 3)
    assert labels.tolist() == [2, 0] and labels.dtype == np.int64
    assert Y.tolist() == [[0, 0, 1], [1, 0, 0]]
    with pytest.raises(ValueError, match="integer class labels, got non-integer values"):
        v.check_targets(np.array([0.5, 1.0]), 2, 3)
    with pytest.raises(ValueError, match="y contains NaN or infinity"):
        v.check_targets(np.array([np.nan, 1.0]), 2, 3)


def test_at_most_five_bad_labels_are_listed():
    with pytest.raises(ValueError, match=r"\): \[-1, 3, 4, 5, 6\]$"):
        v.check_targets(np.array([-1, 3, 4, 5, 6, 7, 0]), 7, 3)


def test_target_rows_give_their_argmax_as_labels():
    Y = np.array([[0.1, 0.9, 0.0], [0.8, 0.1, 0.1], [0.0, 0.2, 0.7], [0.3, 0.3, 0.3]])
    out, labels = v.check_targets(Y, 4, 3)
    np.testing.assert_array_equal(out, Y)
    assert labels.tolist() == [1, 0, 2, 0]


def test_at_most_five_non_numeric_columns_are_named():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({f"c{i}": ["x"] for i in range(6)} | {"ok": [1.0]})
    with pytest.raises(TypeError, match=r"non-numeric columns \['c0', 'c1', 'c2', 'c3', 'c4'\];"):
        v.check_array(frame)


def test_complex_numbers_are_named_as_such():
    with pytest.raises(TypeError, match="X has complex dtype complex128; expected real numbers"):
        v.check_array(np.zeros((2, 2), dtype=complex))
    with pytest.raises(TypeError, match="y has complex dtype complex128; expected labels"):
        v.check_targets(np.zeros(2, dtype=complex), 2, 3)


def test_object_arrays_are_named_as_such():
    with pytest.raises(TypeError, match="X has dtype object; expected numbers"):
        v.check_array(np.array([[1, "a"]], dtype=object))


def test_an_array_like_with_toarray_but_no_nnz_is_not_taken_for_sparse():
    class Dense:
        def __array__(self, dtype=None, copy=None):
            return np.ones((2, 3))

        def toarray(self):
            return np.ones((2, 3))

    np.testing.assert_array_equal(v.check_array(Dense()), np.ones((2, 3)))


def test_widths_beyond_small_integers():
    """784 inputs or 300 outputs (CPython shares int objects only up to 256: compared by value)."""
    assert v.check_array(np.ones((2, 784)), n_features=784).shape == (2, 784)
    Y, labels = v.check_targets(np.eye(300)[[5, 299]], 2, 300)
    assert Y.shape == (2, 300) and labels.tolist() == [5, 299]


def test_target_rows_for_another_number_of_samples_are_refused():
    with pytest.raises(ValueError, match="different numbers of samples: 3 and 4"):
        v.check_targets(np.zeros((4, 2)), 3, 2)


def test_an_array_like_with_to_numpy_but_no_dtypes_is_not_taken_for_pandas():
    class Table:
        def __array__(self, dtype=None, copy=None):
            return np.ones((2, 3))

        def to_numpy(self):
            raise AssertionError("not a DataFrame: np.asarray is enough")

    np.testing.assert_array_equal(v.check_array(Table()), np.ones((2, 3)))


def test_the_fit_note_only_for_values_cast_to_another_dtype():
    with pytest.raises(ValueError, match=r"NaN or infinity; clean or impute it first$"):
        v.check_array(np.array([[np.nan, 1.0]]))
    with pytest.raises(ValueError, match=r"\(values must also fit in float32\)"):
        v.check_array(np.array([[1e39, 1.0]]), dtype=np.float32)


def test_empty_arrays_are_finite():
    v.check_finite(np.empty((0, 3)))
    v.check_finite(np.empty(0))


def test_targets_of_three_dimensions_are_refused():
    with pytest.raises(ValueError, match=r"must be integer labels of shape \(2,\) or targets of shape \(2, 3\)"):
        v.check_targets(np.zeros((2, 3, 1)), 2, 3)
