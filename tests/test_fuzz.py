"""Property-based fuzzing of every array entry point (hypothesis).

Valid input must succeed and agree with the reference: the reference engine
for ``Network`` and the scikit-learn estimators, ``fastnn.reference.linear_np``
for the perceptron and every solver of the linear models (tolerances below).
Only input the strategy marks invalid (NaN/inf, labels out of range, wrong
shapes and kinds, a single class) may raise, with the documented type and
message; finite but extreme values (up to the float maximum) may also end in
a documented ``ValueError`` (divergence, overflow).  Nothing crashes, hangs or
returns NaN.

Profiles (registered in tests/conftest.py): "ci" runs 30 derandomized examples
per test; the long run, >= 10,000 examples in total, is::

    pytest -m fuzz                       # or: HYPOTHESIS_PROFILE=long pytest tests/test_fuzz.py

Tolerances, jit vs the per-sample NumPy reference on the same converted input
(max abs difference, relative to max(1, |value|)):
* forward pass and one gradient (backprop): 1e-10 float64, 1e-4 float32;
* training (<= 48 sample-steps, eta <= 3, |x| <= 4): 1e-7 float64, and for
  float32 (<= 12 sample-steps, chaotic beyond) 2e-3.
"""
import warnings

import numpy as np
import pytest
from hypothesis import assume, given, note
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from fastnn import Network
from fastnn._guards import DivergenceError
from fastnn.linear import LinearRegression, LogisticRegression
from fastnn.perceptron import Perceptron
from fastnn.reference import linear_np
from fastnn.sklearn import MLPClassifier, MLPRegressor

pytestmark = [pytest.mark.fuzz, pytest.mark.filterwarnings("ignore")]

CLEAN_ERRORS = (ValueError, TypeError)
TOL = {"float64": {"step": 1e-10, "train": 1e-7}, "float32": {"step": 1e-4, "train": 2e-3}}
SUBNORMALS = [5e-324, -5e-324, 1e-310, -2.2e-308, 0.0, -0.0]

# -- strategies ---------------------------------------------------------------------------

layer_sizes = st.lists(st.integers(1, 8), min_size=2, max_size=4)
float_dtypes = st.sampled_from(["float64", "float32"])
input_dtypes = st.sampled_from([None, np.float32, np.uint8, np.int64, np.int8, np.bool_])
layouts = st.sampled_from(["C", "F", "rows", "cols", "readonly", "negative"])
moderate = st.one_of(st.floats(-4, 4, allow_subnormal=True), st.sampled_from(SUBNORMALS))
wild = st.one_of(st.floats(allow_nan=True, allow_infinity=True, allow_subnormal=True),
                 st.sampled_from(SUBNORMALS + [1.7e308, -1.7e308, 3.4e38, 1e300, np.nan, np.inf]))


def matrix(n, d, elements):
    return hnp.arrays(np.float64, (n, d), elements=elements)


def relayout(X, kind):
    """``X``'s values in another memory layout."""
    if kind == "F":
        return np.asfortranarray(X)
    if kind == "rows":
        big = np.zeros((2 * X.shape[0], X.shape[1]), X.dtype)
        big[::2] = X
        return big[::2]
    if kind == "cols":
        big = np.zeros((X.shape[0], 2 * X.shape[1]), X.dtype)
        big[:, 1::2] = X
        return big[:, 1::2]
    if kind == "readonly":
        X = X.copy()
        X.flags.writeable = False
        return X
    if kind == "negative":
        return X[::-1][::-1]
    return X


def convert(X, dtype):
    """Input in ``dtype`` (ints: rounded and clipped to the type's range), as a user would pass it."""
    if dtype is None:
        return X
    if dtype is np.bool_:
        return X > 0
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return np.clip(np.round(X), info.min, info.max).astype(dtype)
    return X.astype(dtype)


def close(a, b, tol):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return bool(np.all(np.abs(a - b) <= tol * np.maximum(1.0, np.abs(b))))


NOT_FINITE = "NaN or infinity"


def attempt(call):
    """(result, None) or (None, the ValueError/TypeError raised)."""
    try:
        return call(), None
    except CLEAN_ERRORS as exc:
        return None, exc


def assert_refused(exc, *expected):
    """``exc`` is a ValueError whose message contains one of ``expected``."""
    assert isinstance(exc, ValueError), repr(exc)
    assert any(text in str(exc) for text in expected), str(exc)


def pair(sizes, dtype, seed, cost="quadratic"):
    """Twin networks (same parameters): the jit engine and the per-sample reference."""
    return [Network(sizes, seed=seed, dtype=dtype, cost=cost, engine=e) for e in ("jit", "reference")]


def valid_outputs(out, n, n_out, dtype):
    assert out.shape == (n, n_out) and out.dtype == np.dtype(dtype)
    assert np.isfinite(out).all() and (out >= 0).all() and (out <= 1).all()


# -- the network: agreement with the reference ------------------------------------------

@st.composite
def training_case(draw):
    sizes = draw(layer_sizes)
    dtype = draw(float_dtypes)
    budget = 48 if dtype == "float64" else 12  # sample-steps: float32 SGD is chaotic beyond
    n = draw(st.integers(1, budget))
    epochs = draw(st.integers(1, max(1, min(2, budget // n))))
    X = draw(matrix(n, sizes[0], moderate))
    one_hot = draw(st.booleans())
    labels = draw(hnp.arrays(np.int64, n, elements=st.integers(0, sizes[-1] - 1)))
    y = np.eye(sizes[-1])[labels] if one_hot else labels
    return dict(sizes=sizes, dtype=dtype, X=X, y=y, epochs=epochs,
                mb=draw(st.integers(1, n + 2)), eta=draw(st.floats(0.05, 3.0)),
                lmbda=draw(st.sampled_from([0.0, 0.1, 2.0])),
                cost=draw(st.sampled_from(["quadratic", "cross-entropy"])),
                seed=draw(st.integers(0, 2**16)), layout=draw(layouts), in_dtype=draw(input_dtypes))


@given(training_case())
def test_fit_agrees_with_reference(case):
    X = relayout(convert(case["X"], case["in_dtype"]), case["layout"])
    jit, ref = pair(case["sizes"], case["dtype"], case["seed"], case["cost"])
    kw = dict(epochs=case["epochs"], mini_batch_size=case["mb"], eta=case["eta"], lmbda=case["lmbda"])
    for net in (jit, ref):  # valid input of moderate values: training must succeed
        net.fit(X, case["y"], **kw)
    tol = TOL[case["dtype"]]["train"]
    note(f"max diff {np.abs(jit._theta.astype(float) - ref._theta).max():.3g}")
    assert close(jit._theta, ref._theta, tol)
    out = jit.predict_proba(X)
    valid_outputs(out, len(case["X"]), case["sizes"][-1], case["dtype"])
    assert close(out, ref.predict_proba(X), tol)
    labels = case["y"].argmax(axis=1) if case["y"].ndim == 2 else case["y"]
    assert jit.score(X, case["y"]) == np.mean(jit.predict(X) == labels)


@given(sizes=layer_sizes, dtype=float_dtypes, seed=st.integers(0, 2**16), data=st.data(),
       cost=st.sampled_from(["quadratic", "cross-entropy"]))
def test_forward_and_gradient_agree_with_reference(sizes, dtype, seed, data, cost):
    n = data.draw(st.integers(1, 12))
    X = data.draw(matrix(n, sizes[0], moderate))
    jit, ref = pair(sizes, dtype, seed, cost)
    tol = TOL[dtype]["step"]
    assert close(jit.predict_proba(X), ref.predict_proba(X), tol)
    column = X[0].reshape(-1, 1)
    assert close(jit.feedforward(column), ref.feedforward(column), tol)
    target = data.draw(st.integers(0, sizes[-1] - 1))
    for gj, gr in zip(jit.backprop(column, target), ref.backprop(column, target)):
        for a, b in zip(gj, gr):
            assert close(a, b, tol)
    batch = [(x.reshape(-1, 1), int(t)) for x, t in zip(X, data.draw(
        hnp.arrays(np.int64, n, elements=st.integers(0, sizes[-1] - 1))))]
    for net in (jit, ref):
        net.update_mini_batch(batch, 1.5, lmbda=0.5, n=n)
    assert close(jit._theta, ref._theta, tol)


@given(sizes=layer_sizes, seed=st.integers(0, 2**16), n=st.integers(1, 10),
       epochs=st.integers(1, 2), mb=st.integers(1, 6), data=st.data())
def test_book_sgd_equals_fit(sizes, seed, n, epochs, mb, data):
    """SGD on book-style (x, y) column pairs = fit on arrays; evaluate counts predictions."""
    X = data.draw(matrix(n, sizes[0], moderate))
    labels = data.draw(hnp.arrays(np.int64, n, elements=st.integers(0, sizes[-1] - 1)))
    book = Network(sizes, seed=seed)
    pairs = [(x.reshape(-1, 1), np.eye(sizes[-1])[t].reshape(-1, 1)) for x, t in zip(X, labels)]
    book.SGD(pairs, epochs, mb, 3.0)
    arrays = Network(sizes, seed=seed).fit(X, labels, epochs=epochs, mini_batch_size=mb, eta=3.0)
    np.testing.assert_array_equal(book._theta, arrays._theta)
    test = [(x.reshape(-1, 1), int(t)) for x, t in zip(X, labels)]
    assert book.evaluate(test) == int(np.sum(arrays.predict(X) == labels))


# -- the network: anything else is refused cleanly -----------------------------------------

@given(sizes=layer_sizes, dtype=float_dtypes, seed=st.integers(0, 2**16), data=st.data(),
       layout=layouts)
def test_predict_any_values(sizes, dtype, seed, data, layout):
    """Wild values (NaN, inf, huge, subnormal): a ValueError, or finite outputs in [0, 1]."""
    n = data.draw(st.integers(1, 10))
    X = relayout(data.draw(matrix(n, sizes[0], wild)), layout)
    net = Network(sizes, seed=seed, dtype=dtype)
    finite = np.isfinite(X).all() and (dtype == "float64" or np.isfinite(X.astype(np.float32)).all())
    for call in (net.predict_proba, net.predict, lambda A: net.feedforward(np.asarray(A).T),
                 lambda A: net.score(A, np.zeros(len(A), int))):
        try:
            out = call(X)
        except CLEAN_ERRORS as exc:
            assert "not finite" in str(exc) or "NaN or infinity" in str(exc), exc
            continue
        assert finite, "non-finite input accepted"
        out = np.asarray(out, dtype=np.float64)
        assert np.isfinite(out).all()


@given(sizes=layer_sizes, dtype=float_dtypes, seed=st.integers(0, 2**16), data=st.data(),
       eta=st.one_of(st.floats(1e-3, 1e6), st.sampled_from([1e-300, 1e300])),
       mb=st.integers(1, 12), lmbda=st.sampled_from([0.0, 1.0, 1e300]))
def test_fit_any_values(sizes, dtype, seed, data, eta, mb, lmbda):
    """Wild inputs, labels and learning rates: a clean error, or finite parameters and outputs."""
    n = data.draw(st.integers(1, 16))
    X = data.draw(matrix(n, sizes[0], wild))
    y = data.draw(st.one_of(
        hnp.arrays(np.int64, n, elements=st.integers(-1, sizes[-1])),
        hnp.arrays(np.float64, (n, sizes[-1]), elements=wild)))
    net = Network(sizes, seed=seed, dtype=dtype)
    before = net._theta.copy()
    try:
        net.fit(X, y, epochs=2, mini_batch_size=mb, eta=eta, lmbda=lmbda)
    except CLEAN_ERRORS as exc:
        if valid_network_input(X, y, sizes[-1], dtype):
            assert isinstance(exc, DivergenceError), repr(exc)  # the only refusal of valid input
        else:
            assert_refused(exc, NOT_FINITE, "labels outside")
        assert np.isfinite(net._theta).all()  # refused input, or divergence restored
        if net.epochs_done_ == 0:
            np.testing.assert_array_equal(net._theta, before)
        return
    assert np.isfinite(net._theta).all()
    try:
        valid_outputs(net.predict_proba(X), n, sizes[-1], dtype)
    except CLEAN_ERRORS as exc:  # finite parameters, but sums of huge inputs overflow
        assert "not finite" in str(exc)


def valid_network_input(X, y, n_out, dtype):
    """Finite in ``dtype``, and labels in 0..n_out-1 or finite targets of n_out columns."""
    with np.errstate(over="ignore"):
        finite = np.isfinite(X.astype(dtype)).all()
        if y.ndim == 1:
            return finite and bool(((y >= 0) & (y < n_out)).all())
        return finite and np.isfinite(y.astype(dtype)).all()


BAD_KINDS = st.sampled_from([np.float64, np.float32, np.float16, np.int32, np.uint8, np.bool_,
                             np.complex128, object, "U3", "S2", "datetime64[s]", "timedelta64[s]"])


@given(dtype=BAD_KINDS, shape=hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=5),
       n_in=st.integers(1, 5))
def test_any_shape_and_kind(dtype, shape, n_in):
    """Arrays of any dimension and dtype: accepted exactly when they are valid input."""
    X = np.zeros(shape, dtype=dtype) if dtype not in ("U3", "S2") else np.full(shape, "1", dtype=dtype)
    net = Network([n_in, 2], seed=0)
    numeric = np.dtype(dtype).kind in "biuf"
    valid = numeric and X.ndim == 2 and X.shape[1] == n_in and X.shape[0] > 0
    try:
        out = net.predict_proba(X)
    except TypeError:
        assert not numeric
        return
    except ValueError:
        assert not valid
        return
    assert valid
    valid_outputs(out, X.shape[0], 2, "float64")


# -- the other models and the estimators -----------------------------------------------------
#
# Valid input (finite "moderate" values) must succeed and agree with the NumPy reference (or the
# reference engine); the only refusals allowed there are those the reference itself decides
# (one class for a classifier, a least-squares solution or a descent that overflows).  "wild"
# input with NaN/inf must be refused with a ValueError naming it; finite but extreme input may
# succeed with finite results or be refused with a ValueError (overflow, divergence).

def check_wild_outcome(exc, X, finite_results):
    """Extreme input: NaN/inf refused as such; finite values give finite results or a ValueError."""
    if not np.isfinite(X).all():
        assert exc is not None, "NaN/inf input accepted"
        assert_refused(exc, NOT_FINITE, "NaN", "infinity")
    elif exc is not None:
        assert isinstance(exc, ValueError), repr(exc)
    else:
        assert finite_results()


def check_perceptron(X, y, values):
    d = X.shape[1]
    per, exc = attempt(lambda: Perceptron(np.zeros(d)).fit(X, y, max_epochs=3))
    if values == "wild":
        check_wild_outcome(exc, X, lambda: np.isfinite(per.weights).all()
                           and set(np.unique(per.predict(X))) <= {0, 1})
        return
    assert exc is None, exc
    # quarter-integers: every w . x + b is exact, so the summation order cannot break a tie
    # (general floats near z == 0, and huge ones overflowing, depend on the order)
    Xq = np.round(X * 4) / 4
    per = Perceptron(np.zeros(d)).fit(Xq, y, max_epochs=3)
    w, b, _, _ = linear_np.perceptron_fit(Xq, y.astype(float), np.zeros(d), 0.0, 1.0, 3)
    np.testing.assert_array_equal(per.weights, w)
    assert per.bias == b


LINEAR_MODELS = {
    "closed": lambda: LinearRegression(),
    "gd": lambda: LinearRegression(solver="gd", max_iter=30),
    "gd-l1": lambda: LinearRegression(solver="gd", loss="l1", max_iter=30),
    "sgd": lambda: LinearRegression(solver="sgd", max_iter=3, random_state=0),
    "logistic": lambda: LogisticRegression(max_iter=30),
    "logistic-sgd": lambda: LogisticRegression(solver="sgd", max_iter=3, random_state=0),
}


def reference_linear(kind, model, X, t):
    """linear_np's (W, b, status) for the fitted model's own eta, momentum and number of
    iterations (the kernels' stopping rules are tested elsewhere; here the arithmetic)."""
    n, d = X.shape
    if kind == "closed":
        with np.errstate(all="ignore"):
            w, b = linear_np.closed_form(X, t)
        return w[None, :], np.array([b]), linear_np.CONVERGED
    W0 = np.zeros((1, d))
    if kind.startswith("logistic"):
        classes, codes = np.unique(t, return_inverse=True)
        W0, t = np.zeros((1 if len(classes) == 2 else len(classes), d)), codes.astype(np.float64)
    b0 = np.zeros(W0.shape[0])
    cost = "logistic" if kind.startswith("logistic") else model.loss
    args = (cost, model.lmbda, model.eta_, model.momentum_)
    with np.errstate(all="ignore"):
        if kind.endswith("sgd"):
            rng = np.random.default_rng(0)
            perms = [rng.permutation(n) for _ in range(model.n_iter_)]
            W, b, _, status = linear_np.sgd(X, t, W0, b0, *args, min(model.batch_size, n), perms,
                                            0.0, 10**9)
        else:
            W, b, _, status = linear_np.gd(X, t, W0, b0, *args, model.n_iter_, 0.0, 10**9)
    return W, b, status


def check_linear_model(kind, X, t, values):
    model = LINEAR_MODELS[kind]()
    fitted, exc = attempt(lambda: model.fit(X, t))
    if values == "wild":
        check_wild_outcome(exc, X, lambda: np.isfinite(model.coef_).all()
                           and np.isfinite(model.intercept_).all())
        return
    if kind.startswith("logistic") and len(np.unique(t)) < 2:
        assert_refused(exc, "at least 2 classes")  # invalid: one class
        return
    if exc is not None:  # only what the reference itself reports: overflow or divergence
        assert_refused(exc, "overflowed", "diverged")
        W, b, status = reference_linear(kind, model, X, t)
        assert status == linear_np.DIVERGED or not (np.isfinite(W).all() and np.isfinite(b).all())
        return
    W, b, status = reference_linear(kind, model, X, t)
    assert status != linear_np.DIVERGED
    coef = np.reshape(model.coef_, W.shape)
    if kind == "closed":
        scale = 1 + np.abs(X).max() * (1 + np.abs(W).max())
        assert np.abs(X @ model.coef_ + model.intercept_ - (X @ W[0] + b[0])).max() <= 1e-6 * scale
    else:
        assert close(coef, W, 1e-9) and close(model.intercept_, b, 1e-9), (coef, W, model.intercept_, b)
    assert np.isfinite(model.predict(X)).all()


@given(data=st.data(), d=st.integers(1, 5), n=st.integers(1, 20),
       values=st.sampled_from(["moderate", "wild"]))
def test_simple_models(data, d, n, values):
    X = data.draw(matrix(n, d, moderate if values == "moderate" else wild))
    y_bin = data.draw(hnp.arrays(np.int64, n, elements=st.integers(0, 1)))
    y_real = data.draw(hnp.arrays(np.float64, n, elements=moderate))
    check_perceptron(X, y_bin, values)
    for kind in LINEAR_MODELS:
        check_linear_model(kind, X, y_bin if kind.startswith("logistic") else y_real, values)


def fit_outputs(estimator, X, target):
    """Fit, then the classifier's probabilities or the regressor's predictions for ``X``."""
    estimator.fit(X, target)
    return estimator.predict_proba(X) if isinstance(estimator, MLPClassifier) else estimator.predict(X)


@given(data=st.data(), d=st.integers(1, 4), dtype=float_dtypes, in_dtype=input_dtypes,
       layout=layouts, values=st.sampled_from(["moderate", "wild"]))
def test_estimators(data, d, dtype, in_dtype, layout, values):
    """MLPClassifier/MLPRegressor against twins on the reference engine (same seed)."""
    n = data.draw(st.integers(2, 16 if dtype == "float64" else 6))  # float32: <= 12 sample-steps
    X = data.draw(matrix(n, d, moderate if values == "moderate" else wild))
    if values == "moderate":
        X = relayout(convert(X, in_dtype), layout)
    labels = data.draw(hnp.arrays(np.int64, n, elements=st.integers(0, 2)))
    y = np.array(["a", "b", "c"])[labels]
    tol = TOL[dtype]["train"]
    for make, target in ((MLPClassifier, y), (MLPRegressor, labels * 1.5)):
        est, twin = (make((3,), epochs=2, dtype=dtype, random_state=0, engine=e) for e in ("jit", "reference"))
        out, exc = attempt(lambda: fit_outputs(est, X, target))
        if values == "wild":
            check_wild_outcome(exc, X, lambda: np.isfinite(out).all())
            continue
        assert exc is None, exc
        twin.fit(X, target)
        if make is MLPClassifier:
            assert np.isfinite(out).all() and np.allclose(out.sum(axis=1), 1)
            assert close(out, twin.predict_proba(X), tol)
            assert set(est.predict(X)) <= set(y)
        else:
            assert close(out, twin.predict(X), tol * 2.0)  # targets span 3.0, scaled into 0.8
