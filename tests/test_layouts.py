"""Every array-taking entry point gives the same result for every memory layout and input dtype.

Layouts: C-contiguous, Fortran-ordered, strided row/column views, negative
strides, read-only, ``np.memmap`` and ``np.load(mmap_mode="r")``, nested lists
and pandas DataFrames.  Dtypes: float32/float64/uint8/int/bool on 0/1 data,
which every dtype represents exactly, so results must be *identical*.
Conversions copy at most once (checked with ``np.shares_memory`` and the peak
memory seen by ``tracemalloc``).  Bad kinds of input raise TypeError/ValueError.
"""
import tracemalloc
import warnings

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_array_equal

from fastnn import Network
from fastnn._validation import UnscaledInputWarning, check_array, check_targets
from fastnn.linear import LinearRegression, LogisticRegression
from fastnn.perceptron import Perceptron
from fastnn.sklearn import MLPClassifier, MLPRegressor

N_IN, N_OUT = 6, 3
LAYOUTS = ["C", "F", "rows_strided", "cols_strided", "negative", "readonly", "memmap",
           "npy_mmap", "list", "dataframe"]
DTYPES = [np.float64, np.float32, np.uint8, np.int64, np.int32, np.int8, np.bool_]


def make_data(n=40, binary=False, seed=0):
    """Rows of real numbers (or of 0/1 values, exact in every dtype) and int labels."""
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 2, (n, N_IN)).astype(np.float64) if binary else rng.random((n, N_IN))
    return X, rng.integers(0, N_OUT, n)


def layout(X, kind, tmp_path):
    """The values of C-contiguous ``X`` in memory layout ``kind``."""
    if kind == "C":
        return X.copy()
    if kind == "F":
        return np.asfortranarray(X)
    if kind == "rows_strided":  # every other row of a bigger array (X[:, ::1][::2] style)
        big = np.zeros((2 * X.shape[0], X.shape[1]), X.dtype)
        big[::2] = X
        return big[:, ::1][::2]
    if kind == "cols_strided":  # non-unit column stride
        big = np.zeros((X.shape[0], 3 * X.shape[1]), X.dtype)
        big[:, ::3] = X
        return big[:, ::3]
    if kind == "negative":
        return np.ascontiguousarray(X[::-1, ::-1])[::-1, ::-1]
    if kind == "readonly":
        ro = X.copy()
        ro.flags.writeable = False
        return ro
    if kind == "memmap":
        mm = np.memmap(tmp_path / "x.dat", dtype=X.dtype, mode="w+", shape=X.shape)
        mm[:] = X
        return mm
    if kind == "npy_mmap":
        np.save(tmp_path / "x.npy", X)
        return np.load(tmp_path / "x.npy", mmap_mode="r")
    if kind == "list":
        return X.tolist()
    if kind == "dataframe":
        return pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    raise AssertionError(kind)


def check_layout_variant(X, V):
    """The variant holds the same values as ``X`` (guards the helper itself)."""
    assert_array_equal(np.asarray(V, dtype=np.float64), X)


# -- fastnn.Network ------------------------------------------------------------------

def network_outputs(X, y, *, dtype="float64", X_pred=None):
    """Everything the array entry points of a Network return after fit/SGD on (X, y)."""
    X_pred = X if X_pred is None else X_pred
    net = Network([N_IN, 5, N_OUT], seed=1, dtype=dtype).fit(X, y, epochs=2, mini_batch_size=7)
    book = Network([N_IN, 5, N_OUT], seed=1, dtype=dtype)
    book.SGD((X, y), 2, 7, 3.0, evaluation_data=(X, y), monitor_evaluation_cost=True)
    return {
        "fit_weights": np.concatenate([w.ravel() for w in net.weights]),
        "predict_proba": net.predict_proba(X_pred),
        "predict": net.predict(X_pred),
        "score": net.score(X_pred, y),
        "feedforward": net.feedforward(np.asarray(X_pred, dtype=np.float64).T.copy()),
        "sgd_weights": np.concatenate([w.ravel() for w in book.weights]),
        "evaluate": book.evaluate((X_pred, y)),
        "accuracy": book.accuracy((X_pred, y)),
        "total_cost": book.total_cost((X_pred, y), 0.1),
    }


def assert_same_outputs(got, expected):
    for key, value in expected.items():
        assert_array_equal(got[key], value, err_msg=key)


@pytest.fixture(scope="module")
def network_expected():
    X, y = make_data()
    return network_outputs(X, y)


@pytest.mark.parametrize("kind", LAYOUTS)
def test_network_layouts(kind, tmp_path, network_expected):
    X, y = make_data()
    V = layout(X, kind, tmp_path)
    check_layout_variant(X, V)
    if kind == "list":  # a list in SGD's data is read as book-style (x, y) pairs: fit/predict only
        net = Network([N_IN, 5, N_OUT], seed=1).fit(V, y, epochs=2, mini_batch_size=7)
        assert_array_equal(net.predict_proba(V), network_expected["predict_proba"])
        assert net.score(V, y) == network_expected["score"]
        return
    before = np.array(V, copy=True)
    assert_same_outputs(network_outputs(V, y), network_expected)
    assert_array_equal(np.asarray(V), before)  # input never modified


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("net_dtype", ["float64", "float32"])
def test_network_input_dtypes(dtype, net_dtype):
    X, y = make_data(binary=True)
    expected = network_outputs(X, y, dtype=net_dtype)
    assert_same_outputs(network_outputs(X.astype(dtype), y, dtype=net_dtype), expected)
    assert expected["predict_proba"].dtype == np.dtype(net_dtype)


@pytest.mark.parametrize("label_dtype", [np.int8, np.uint8, np.int16, np.int64, np.uint64,
                                         np.float32, np.float64])
def test_network_label_dtypes(label_dtype):
    X, y = make_data()
    expected = Network([N_IN, 4, N_OUT], seed=2).fit(X, y, epochs=1).weights
    got = Network([N_IN, 4, N_OUT], seed=2).fit(X, y.astype(label_dtype), epochs=1).weights
    for w, e in zip(got, expected):
        assert_array_equal(w, e)


def test_network_label_containers():
    X, y = make_data()
    ref = Network([N_IN, 4, N_OUT], seed=2).fit(X, y, epochs=1).predict_proba(X)
    for labels in (y.tolist(), pd.Series(y), pd.Series(y, dtype="Int64"), np.eye(N_OUT)[y]):
        got = Network([N_IN, 4, N_OUT], seed=2).fit(X, labels, epochs=1).predict_proba(X)
        assert_array_equal(got, ref)


def test_bool_labels_are_classes_0_and_1():
    X, y = make_data()
    b = y > 0
    got = Network([N_IN, 4, 2], seed=2).fit(X, b, epochs=1).predict_proba(X)
    ref = Network([N_IN, 4, 2], seed=2).fit(X, b.astype(int), epochs=1).predict_proba(X)
    assert_array_equal(got, ref)


def test_digit_string_labels_rejected_by_network_with_hint():
    X, y = make_data()
    with pytest.raises(TypeError, match=r"astype\(int\).*MLPClassifier"):
        Network([N_IN, 4, N_OUT]).fit(X, y.astype(str))


# -- copies ----------------------------------------------------------------------------

def test_ready_array_is_not_copied():
    X, _ = make_data()
    assert check_array(X) is X
    X32 = X.astype(np.float32)
    assert check_array(X32, dtype=np.float32) is X32
    mm_like = X.view(np.ndarray)
    assert np.shares_memory(check_array(mm_like), X)


def test_network_passes_ready_array_to_engine_without_copy():
    X, _ = make_data()
    net = Network([N_IN, 4, N_OUT], seed=0)
    seen = []
    original = net._engine.feedforward_checked
    net._engine.feedforward_checked = lambda n, A: seen.append(A) or original(n, A)
    net.predict_proba(X)
    assert np.shares_memory(seen[0], X)
    net.predict_proba(np.asfortranarray(X))
    assert not np.shares_memory(seen[1], X) and seen[1].flags.c_contiguous


def test_memmap_in_writeable_mode_is_used_in_place(tmp_path):
    X, _ = make_data()
    mm = np.memmap(tmp_path / "x.dat", dtype=np.float64, mode="w+", shape=X.shape)
    mm[:] = X
    out = check_array(mm)
    assert type(out) is np.ndarray and np.shares_memory(out, mm)


def _peak_bytes(fn, *args):
    """Peak bytes allocated (NumPy reports its buffers to tracemalloc) while running ``fn``."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        result = fn(*args)
        return tracemalloc.get_traced_memory()[1] - base, result
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("make", [
    lambda X: np.asfortranarray(X.astype(np.uint8)),   # dtype and layout change: still one copy
    lambda X: np.asfortranarray(X.astype(np.float32)),
    lambda X: X.astype(np.int64)[:, ::1][::2],
], ids=["F-uint8", "F-float32", "strided-int64"])
def test_conversion_copies_once(make):
    X = np.random.default_rng(0).integers(0, 2, (20_000, 50)).astype(np.float64)
    V = make(X)
    peak, out = _peak_bytes(check_array, V)
    assert out.flags.c_contiguous and out.dtype == np.float64
    assert peak < 1.3 * out.nbytes, (peak, out.nbytes)  # two copies would need >= 2x


def test_estimator_conversion_copies_once():
    X = np.random.default_rng(0).integers(0, 2, (20_000, 50)).astype(np.float64)
    y = np.arange(len(X)) % 3
    clf = MLPClassifier((4,), epochs=1, random_state=0).fit(X[:300], y[:300])
    V = np.asfortranarray(X.astype(np.uint8))
    peak, proba = _peak_bytes(clf.predict_proba, V)
    assert peak < 1.3 * X.nbytes + 4 * proba.nbytes, (peak, X.nbytes)


# -- uint8 pixels ------------------------------------------------------------------------

def test_uint8_pixels_are_not_rescaled_and_warn():
    X, y = make_data(binary=True)
    pixels = (X * 255).astype(np.uint8)
    net = Network([N_IN, 4, N_OUT], seed=0)
    with pytest.warns(UnscaledInputWarning, match=r"uint8 with values up to 255.*/ 255"):
        raw = net.predict_proba(pixels)
    assert_array_equal(raw, net.predict_proba(X * 255.0))  # used as the numbers 0..255
    assert not np.allclose(raw, net.predict_proba(X))       # ... not as 0..1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        net.predict_proba(X.astype(np.uint8))  # 0/1 uint8: nothing to warn about


# -- the simple models -------------------------------------------------------------------

def simple_model_outputs(X, y_reg, y_bin):
    lin = LinearRegression(solver="gd", max_iter=50).fit(X, y_reg)
    log = LogisticRegression(max_iter=50).fit(X, y_bin)
    per = Perceptron(np.zeros(N_IN)).fit(X, y_bin, max_epochs=5)
    return {"lin_coef": lin.coef_, "lin_pred": lin.predict(X), "lin_score": lin.score(X, y_reg),
            "log_coef": log.coef_, "log_proba": log.predict_proba(X), "log_pred": log.predict(X),
            "per_w": per.weights, "per_pred": per.predict(X), "per_score": per.score(X, y_bin)}


@pytest.fixture(scope="module")
def simple_expected():
    X, y = make_data(binary=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence warnings: irrelevant for equality
        return simple_model_outputs(X, y * 0.5, y % 2)


@pytest.mark.parametrize("kind", LAYOUTS)
def test_simple_models_layouts(kind, tmp_path, simple_expected):
    X, y = make_data(binary=True)
    V = layout(X, kind, tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert_same_outputs(simple_model_outputs(V, y * 0.5, y % 2), simple_expected)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_simple_models_dtypes(dtype, simple_expected):
    X, y = make_data(binary=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert_same_outputs(simple_model_outputs(X.astype(dtype), y * 0.5, y % 2), simple_expected)


# -- the scikit-learn estimators ---------------------------------------------------------

def estimator_outputs(X, y):
    clf = MLPClassifier((5,), epochs=2, random_state=0).fit(X, y)
    reg = MLPRegressor((5,), epochs=2, random_state=0).fit(X, y * 0.5)
    return {"proba": clf.predict_proba(X), "pred": clf.predict(X), "reg": reg.predict(X)}


@pytest.fixture(scope="module")
def estimator_expected():
    X, y = make_data(binary=True)
    return estimator_outputs(X, y)


@pytest.mark.parametrize("kind", LAYOUTS)
def test_estimator_layouts(kind, tmp_path, estimator_expected):
    X, y = make_data(binary=True)
    assert_same_outputs(estimator_outputs(layout(X, kind, tmp_path), y), estimator_expected)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_estimator_dtypes(dtype, estimator_expected):
    X, y = make_data(binary=True)
    assert_same_outputs(estimator_outputs(X.astype(dtype), y), estimator_expected)


def test_estimator_accepts_digit_string_labels():
    X, y = make_data()
    ref = MLPClassifier((5,), epochs=2, random_state=0).fit(X, y)
    clf = MLPClassifier((5,), epochs=2, random_state=0).fit(X, y.astype(str))
    assert_array_equal(clf.predict_proba(X), ref.predict_proba(X))
    assert_array_equal(clf.predict(X), ref.predict(X).astype(str))


# -- what is refused, by every entry point ----------------------------------------------

# (make bad X from good X, error type, words of fastnn's message, accepted by scikit-learn?)
# The estimators validate with scikit-learn's check_array and so accept what it accepts:
# object arrays of numbers, numeric strings, timedeltas (as numbers), masked arrays (data only).
BAD_X = {
    "object": (lambda X: X.astype(object), TypeError, "dtype object", True),
    "complex": (lambda X: X.astype(complex), TypeError, "complex", False),
    "strings": (lambda X: np.full(X.shape, "a"), TypeError, "non-numeric", False),
    "digit-strings": (lambda X: X.astype(str), TypeError, "non-numeric", True),
    "timedelta": (lambda X: X.astype("timedelta64[s]"), TypeError, "non-numeric", True),
    "ragged": (lambda X: [list(r) for r in X[:-1]] + [list(X[-1][:-1])], ValueError,
               "regular array", False),
    "3d": (lambda X: X[:, :, None], ValueError, "Expected 2D array", False),
    "1d": (lambda X: X[0], ValueError, "Expected 2D array", False),
    "nan": (lambda X: np.where(np.eye(*X.shape) > 0, np.nan, X), ValueError, "NaN or infinity", False),
    "inf": (lambda X: np.where(np.eye(*X.shape) > 0, -np.inf, X), ValueError, "NaN or infinity", False),
    "masked": (lambda X: np.ma.array(X, mask=np.eye(*X.shape) > 0), ValueError, "masked", True),
    "df-strings": (lambda X: pd.DataFrame({"a": ["x"] * len(X), **{f"f{i}": X[:, i] for i in range(1, X.shape[1])}}),
                   TypeError, "non-numeric columns", False),
    "df-NA": (lambda X: pd.DataFrame(X).astype("Float64").mask(np.eye(*X.shape) > 0), ValueError,
              "NaN", False),
}


def _entry_points(X, y):
    """(name, callable) for every public array entry point, fitted where needed."""
    Xg, yg = make_data()
    net = Network([N_IN, 3, N_OUT], seed=0)
    lin = LinearRegression().fit(Xg, yg * 1.0)
    log = LogisticRegression(max_iter=20).fit(Xg, yg)
    clf = MLPClassifier((3,), epochs=1, random_state=0).fit(Xg, yg)
    reg = MLPRegressor((3,), epochs=1, random_state=0).fit(Xg, yg * 1.0)
    return [
        ("Network.fit", lambda: net.fit(X, y, epochs=1)),
        ("Network.predict", lambda: net.predict(X)),
        ("Network.predict_proba", lambda: net.predict_proba(X)),
        ("Network.score", lambda: net.score(X, y)),
        ("Network.SGD", lambda: net.SGD((X, y), 1, 5, 3.0)),
        ("Network.evaluate", lambda: net.evaluate((X, y))),
        ("LinearRegression.fit", lambda: LinearRegression().fit(X, y * 1.0)),
        ("LinearRegression.predict", lambda: lin.predict(X)),
        ("LogisticRegression.fit", lambda: LogisticRegression(max_iter=5).fit(X, y)),
        ("LogisticRegression.predict", lambda: log.predict(X)),
        ("Perceptron.fit", lambda: Perceptron(np.zeros(N_IN)).fit(X, y % 2)),
        ("Perceptron.predict", lambda: Perceptron(np.zeros(N_IN)).predict(X)),
        ("MLPClassifier.fit", lambda: MLPClassifier((3,), epochs=1).fit(X, y)),
        ("MLPClassifier.predict", lambda: clf.predict(X)),
        ("MLPRegressor.fit", lambda: MLPRegressor((3,), epochs=1).fit(X, y * 1.0)),
        ("MLPRegressor.predict", lambda: reg.predict(X)),
    ]


@pytest.mark.parametrize("case", list(BAD_X))
def test_bad_inputs_raise_everywhere(case):
    make_bad, exc, match, sklearn_accepts = BAD_X[case]
    X, y = make_data()
    bad = make_bad(X)
    for name, call in _entry_points(bad, y):
        owner = name.split(".")[0]
        if owner.startswith("MLP") and sklearn_accepts:
            continue
        with pytest.raises((TypeError, ValueError)) as info:
            call()
        if owner.startswith("MLP"):
            continue  # scikit-learn's check_array words its own messages
        if name in ("Network.SGD", "Network.evaluate") and case in ("ragged", "3d", "1d"):
            assert "not an (x, y) pair" in str(info.value), (name, info.value)
            continue  # book-style data: anything but a 2-D (X, y) is read as a list of pairs
        assert isinstance(info.value, exc), (name, info.value)
        assert match in str(info.value), (name, str(info.value))


def test_sparse_input_gets_a_clear_message():
    sparse = pytest.importorskip("scipy.sparse")
    X, y = make_data()
    with pytest.raises(TypeError, match=r"sparse.*toarray"):
        Network([N_IN, 3, N_OUT]).predict(sparse.csr_matrix(X))


@pytest.mark.parametrize("y, exc, match", [
    (np.array([0.5, 1, 0, 1]), ValueError, "non-integer"),
    (np.array([1e30, 1, 0, 1]), ValueError, r"outside 0..1.*1e\+30"),
    (np.array([2**63, 1, 0, 1], dtype=np.uint64), ValueError, "outside 0..1.*9223372036854775808"),
    (np.array([np.nan, 1, 0, 1]), ValueError, "NaN"),
    (np.array(["0", "1", "0", "1"]), TypeError, "astype"),
    (np.array([0, 1, 0, 1], dtype=object), TypeError, "must hold numbers"),
    (np.array([1j, 1, 0, 1]), TypeError, "complex"),
    (np.ones((4, 1)), ValueError, "targets of shape"),
    (np.array([[0, 1], [1]], dtype=object), TypeError, "must hold numbers"),
])
def test_bad_labels(y, exc, match):
    with pytest.raises(exc, match=match):
        check_targets(y, 4, 2)
