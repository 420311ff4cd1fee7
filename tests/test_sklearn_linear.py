"""scikit-learn conformance of fastnn.linear: estimator checks, pipelines, joblib, pickling."""
import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.datasets import make_blobs, make_regression
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from fastnn.linear import ConvergenceWarning, LinearRegression, LogisticRegression

# Checks that cannot pass, with the reason (also listed in docs/sklearn.md).  Each
# one is a deliberate fastnn input rule that other tests pin down
# (tests/test_layouts.py::BAD_X, tests/test_linear_regression.py::test_bad_data).
_COMMON_FAILURES = {
    "check_dtype_object": "fastnn refuses X of dtype object with a TypeError ('X has dtype "
                          "object; expected numbers') instead of casting it to float",
    "check_complex_data": "complex X is a wrong type for fastnn, so it raises TypeError "
                          "('complex dtype'), where scikit-learn expects ValueError('Complex data "
                          "not supported')",
    "check_supervised_y_2d": "a column vector y of shape (n, 1) is refused with a ValueError "
                             "('y must be 1-D') instead of being raveled with a "
                             "DataConversionWarning",
}
EXPECTED_FAILED_CHECKS = {
    "LinearRegression": _COMMON_FAILURES,
    "LogisticRegression": _COMMON_FAILURES,
}

# one instance per solver, with small budgets so the checks run in seconds
CHECKED = [
    LinearRegression(),
    LinearRegression(solver="gd", max_iter=300),
    LinearRegression(solver="sgd", loss="l1", max_iter=20, random_state=0),
    LogisticRegression(max_iter=300),
    LogisticRegression(solver="sgd", max_iter=20, random_state=0),
]


def _expected_failed_checks(estimator):
    return EXPECTED_FAILED_CHECKS[type(estimator).__name__]


@pytest.mark.filterwarnings("ignore::fastnn.linear.ConvergenceWarning")  # small budgets
@parametrize_with_checks(CHECKED, expected_failed_checks=_expected_failed_checks)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def regression_data(seed=0):
    X, y = make_regression(n_samples=120, n_features=4, noise=5.0, random_state=seed)
    return X * [1.0, 10.0, 100.0, 0.1] + 50.0, y  # unscaled columns: a job for StandardScaler


def class_data(seed=0):
    X, y = make_blobs(n_samples=150, centers=3, n_features=3, cluster_std=2.0, random_state=seed)
    return X * [1.0, 20.0, 0.05], np.array(["owl", "cat", "bee"])[y]


@pytest.mark.parametrize("Est, bad, exc, match", [
    (LinearRegression, {"solver": "newton"}, ValueError, "solver"),
    (LinearRegression, {"solver": "closed", "loss": "l1"}, ValueError, "closed"),
    (LogisticRegression, {"momentum": 1.5}, ValueError, "momentum"),
    (LogisticRegression, {"random_state": "seed"}, TypeError, "random_state"),
])
def test_init_stores_parameters_verbatim_and_fit_checks_them(Est, bad, exc, match):
    est = Est(**bad)  # no validation in __init__
    assert {k: est.get_params()[k] for k in bad} == bad
    assert Est().get_params()["momentum"] is None  # defaults are resolved in fit, not stored
    X, y = regression_data() if Est is LinearRegression else class_data()
    with pytest.raises(exc, match=match):
        est.fit(X, y)
    fixed = clone(est).set_params(**{k: Est().get_params()[k] for k in bad})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        assert fixed.fit(X, y) is fixed


def test_fit_does_not_change_parameters():
    X, y = class_data()
    est = LogisticRegression(solver="sgd", max_iter=5, random_state=0)
    before = est.get_params()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    assert est.get_params() == before
    assert est.momentum_ == 0.0 and est.momentum is None  # resolved value is a fitted attribute


@pytest.mark.parametrize("est", [LinearRegression(), LogisticRegression()])
def test_unfitted_raises_not_fitted_error(est):
    for method in ("predict", "score", "decision_function", "predict_proba"):
        if hasattr(est, method):
            args = ([[1.0, 2.0]], [1.0]) if method == "score" else ([[1.0, 2.0]],)
            with pytest.raises(NotFittedError, match="not fitted"):
                getattr(est, method)(*args)


def test_classes_are_arbitrary_labels_and_n_features_in():
    X, y = class_data()
    clf = LogisticRegression().fit(X / X.std(axis=0), y)
    assert_array_equal(clf.classes_, ["bee", "cat", "owl"])
    assert clf.n_features_in_ == 3
    pred = clf.predict(X / X.std(axis=0))
    assert pred.dtype == y.dtype and set(pred) <= set(y)
    assert np.mean(pred == y) > 0.9
    proba = clf.predict_proba(X / X.std(axis=0))
    assert_array_equal(clf.classes_[proba.argmax(axis=1)], pred)
    # object arrays of labels work like string arrays
    obj = LogisticRegression().fit(X / X.std(axis=0), y.astype(object))
    assert_array_equal(obj.predict(X / X.std(axis=0)), pred)
    with pytest.raises(ValueError, match="X has 2 features, but LogisticRegression is expecting 3"):
        clf.predict(X[:, :2])


def test_feature_names_in_from_dataframe():
    pd = pytest.importorskip("pandas")
    X, y = regression_data()
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    reg = LinearRegression().fit(frame, y)
    assert_array_equal(reg.feature_names_in_, ["a", "b", "c", "d"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # X without names: warned, still predicted
        assert_allclose(reg.predict(frame), reg.predict(X), rtol=0, atol=0)
    with pytest.warns(UserWarning, match="feature names"):
        LinearRegression().fit(X, y).predict(frame)


def test_pipeline_grid_search_parallel_equals_serial():
    Xr, yr = regression_data()
    Xc, yc = class_data()
    searches = [
        (make_pipeline(StandardScaler(), LinearRegression(solver="gd", max_iter=500)),
         {"linearregression__lmbda": [0.0, 50.0], "linearregression__loss": ["l2", "l1"]},
         Xr, yr, 0.9),
        (make_pipeline(StandardScaler(), LogisticRegression(solver="sgd", max_iter=30,
                                                            random_state=0)),
         {"logisticregression__lmbda": [0.1, 10.0], "logisticregression__batch_size": [8, 32]},
         Xc, yc, 0.9),
    ]
    for pipe, grid, X, y, least in searches:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            serial = GridSearchCV(pipe, grid, cv=3, n_jobs=1).fit(X, y)
            parallel = GridSearchCV(pipe, grid, cv=3, n_jobs=2).fit(X, y)
        assert_array_equal(parallel.cv_results_["mean_test_score"],
                           serial.cv_results_["mean_test_score"])
        assert parallel.best_params_ == serial.best_params_
        assert_array_equal(parallel.predict(X), serial.predict(X))
        assert parallel.best_score_ > least


@pytest.mark.parametrize("est, data", [
    (LinearRegression(), regression_data),
    (LinearRegression(solver="sgd", max_iter=50, random_state=0), regression_data),
    (LogisticRegression(max_iter=200), class_data),
])
def test_pickle_round_trip(est, data):
    X, y = data()
    X = StandardScaler().fit_transform(X)
    unfitted = pickle.loads(pickle.dumps(est))
    assert unfitted.get_params() == est.get_params()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    blob = pickle.dumps(est)
    back = pickle.loads(blob)
    assert type(back) is type(est) and back.get_params() == est.get_params()
    assert_array_equal(back.predict(X), est.predict(X))
    assert_array_equal(back.coef_, est.coef_)
    assert back.n_features_in_ == est.n_features_in_
    assert b"Dispatcher" not in blob  # plain arrays, no compiled kernel


def test_import_fastnn_does_not_load_sklearn():
    code = ("import sys, fastnn; assert 'sklearn' not in sys.modules; "
            "m = fastnn.LinearRegression; assert 'sklearn.base' in sys.modules; "
            "assert m is sys.modules['fastnn.linear'].LinearRegression; "
            "assert fastnn.ConvergenceWarning is sys.modules['fastnn.linear'].ConvergenceWarning")
    subprocess.run([sys.executable, "-c", code], check=True)
