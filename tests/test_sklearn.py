"""scikit-learn conformance of fastnn.sklearn: estimator checks, pipelines, joblib, pickling."""
import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_blobs
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from fastnn import Network
from fastnn.sklearn import TARGET_HIGH, TARGET_LOW, MLPClassifier, MLPRegressor

# Checks that cannot pass, per estimator class, with the reason (also listed in
# docs/guide/sklearn.md).  Empty: every check of scikit-learn 1.9 passes.  (sklearn
# itself skips check_array_api_input unless SCIPY_ARRAY_API=1 is set; the
# estimators do not declare array-API support.)
EXPECTED_FAILED_CHECKS = {
    "MLPClassifier": {},
    "MLPRegressor": {},
}

CHECKED = [
    MLPClassifier(random_state=0),
    MLPRegressor(random_state=0),
    # the other engine/cost/dtype paths, kept quick: no hidden layer, few epochs
    MLPClassifier((), epochs=10, cost="cross-entropy", dtype="float32", engine="matrix", random_state=0),
]


def _expected_failed_checks(estimator):
    return EXPECTED_FAILED_CHECKS[type(estimator).__name__]


# Integer sample weights equal repeated rows only within one mini-batch: with
# mini-batches, SGD meets a repeated row in several batches (and a permutation
# of another length).  scikit-learn runs this check on its own MLPRegressor with
# solver="sgd" and batch_size="auto" (one batch for its 15 rows), and so do we:
# one mini-batch per epoch, where the weighted step equals the repeated-rows step
# up to the order of a sum.  In float64: the check compares predict_proba at
# rtol=1e-7, which float32 sums in another order miss (they differ in the 7th
# digit), so a float32 instance runs it in float64 (test_sample_weight.py checks
# float32 at a float32 tolerance).
FULL_BATCH_CHECKS = {"check_sample_weight_equivalence_on_dense_data"}


@parametrize_with_checks(CHECKED, expected_failed_checks=_expected_failed_checks)
def test_sklearn_estimator_checks(estimator, check):
    if check.func.__name__ in FULL_BATCH_CHECKS:
        estimator = clone(estimator).set_params(mini_batch_size=1000, dtype="float64")
    check(estimator)


@pytest.fixture(scope="module")
def small_digits(digits):
    """600 digits rows (float64 in [0, 1]) and labels: quick to train on."""
    X, y = digits
    return X[:600], y[:600]


def test_same_run_as_network_with_the_same_seed(small_digits):
    X, y = small_digits
    est = MLPClassifier((20,), epochs=2, random_state=3).fit(X, y)
    net = Network([64, 20, 10], seed=3).fit(X, y, epochs=2)
    for a, b in zip(est.network_.weights + est.network_.biases, net.weights + net.biases):
        np.testing.assert_array_equal(a, b)


def test_predict_proba_rows_sum_to_one_and_rank_like_predict(small_digits):
    X, y = small_digits
    est = MLPClassifier(epochs=3, random_state=0).fit(X, y)
    proba = est.predict_proba(X)
    assert proba.shape == (len(X), 10)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    assert (proba >= 0).all()
    np.testing.assert_array_equal(est.classes_[proba.argmax(axis=1)], est.predict(X))
    # normalised sigmoid outputs: proportional to the network's output activations
    raw = est.network_.predict_proba(X)
    np.testing.assert_allclose(proba, raw / raw.sum(axis=1, keepdims=True), rtol=1e-12)


def test_string_labels():
    X, y = make_blobs(n_samples=150, centers=3, cluster_std=0.5, random_state=0)
    names = np.array(["owl", "cat", "bee"])[y]
    est = make_pipeline(StandardScaler(), MLPClassifier(epochs=20, random_state=0)).fit(X, names)
    clf = est[-1]
    np.testing.assert_array_equal(clf.classes_, ["bee", "cat", "owl"])
    pred = est.predict(X)
    assert pred.dtype == names.dtype
    assert np.mean(pred == names) > 0.95


def test_pipeline_with_standard_scaler(digits_split):
    X_train, y_train, X_test, y_test = digits_split
    pipe = make_pipeline(StandardScaler(), MLPClassifier(epochs=10, init="default", random_state=0))
    pipe.fit(X_train * 16, y_train)  # raw 0..16 pixels: the scaler does the work
    assert pipe.score(X_test * 16, y_test) > 0.9


def test_grid_search_parallel_equals_serial(small_digits):
    X, y = small_digits
    grid = {"eta": [0.5, 3.0], "hidden_layer_sizes": [(10,), (20,)]}
    est = MLPClassifier(epochs=3, random_state=0)
    serial = GridSearchCV(est, grid, cv=3, n_jobs=1).fit(X, y)
    parallel = GridSearchCV(est, grid, cv=3, n_jobs=2).fit(X, y)
    np.testing.assert_array_equal(parallel.cv_results_["mean_test_score"],
                                  serial.cv_results_["mean_test_score"])
    assert parallel.best_params_ == serial.best_params_
    np.testing.assert_array_equal(parallel.predict(X), serial.predict(X))


def test_cross_val_score_matches_manual_folds(small_digits):
    X, y = small_digits
    est = MLPClassifier(epochs=3, random_state=0)
    scores = cross_val_score(est, X, y, cv=3)
    manual = [clone(est).fit(X[tr], y[tr]).score(X[te], y[te])
              for tr, te in StratifiedKFold(3).split(X, y)]
    np.testing.assert_array_equal(scores, manual)
    assert scores.min() > 0.5


@pytest.mark.parametrize("Est", [MLPClassifier, MLPRegressor])
def test_pickle_round_trip(Est, small_digits):
    X, y = small_digits
    est = Est((15,), epochs=2, random_state=0).fit(X, y)
    blob = pickle.dumps(est)
    back = pickle.loads(blob)
    np.testing.assert_array_equal(back.predict(X), est.predict(X))
    # parameters travel as arrays: the restored network is a working Network (its
    # weights lists follow training) that continues the same random stream
    net = back.network_
    est.network_.fit(X, y % est.network_.sizes[-1], epochs=1)
    net.fit(X, y % net.sizes[-1], epochs=1)
    for a, b in zip(est.network_.weights, net.weights):
        np.testing.assert_array_equal(a, b)
    assert b"fastnn.kernels" not in blob and b"Dispatcher" not in blob


def test_pickle_unfitted_and_fitted_attributes_are_kept():
    est = MLPClassifier(epochs=1, random_state=0)
    assert pickle.loads(pickle.dumps(est)).get_params() == est.get_params()
    X = np.random.default_rng(0).random((20, 3))
    est.fit(X, np.arange(20) % 2)
    pickle.dumps(est)
    assert hasattr(est, "network_")  # pickling must not strip the live estimator


def test_regressor_1d_and_2d_targets():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(300, 2))
    y1 = 50.0 + 20.0 * np.sin(2 * X[:, 0]) + 5.0 * X[:, 1]
    Y = np.column_stack([y1, -0.01 * y1 + 3.0])
    reg = MLPRegressor((20,), epochs=60, eta=1.0, init="default", random_state=0)
    pred1 = reg.fit(X, y1).predict(X)
    assert pred1.shape == (300,)
    assert reg.score(X, y1) > 0.9
    assert reg.n_outputs_ == 1
    pred2 = clone(reg).fit(X, Y).predict(X)
    assert pred2.shape == (300, 2)
    for j in range(2):
        assert 1 - np.sum((pred2[:, j] - Y[:, j]) ** 2) / np.sum((Y[:, j] - Y[:, j].mean()) ** 2) > 0.9


def test_regressor_scaling_is_inverted_exactly():
    X = np.random.default_rng(1).random((30, 3))
    y = np.linspace(-7.0, 13.0, 30)
    reg = MLPRegressor((4,), epochs=1, random_state=0).fit(X, y)
    np.testing.assert_allclose(reg.y_min_, [-7.0])
    np.testing.assert_allclose(reg.y_range_, [20.0])
    out = reg.network_.predict_proba(X)[:, 0]
    np.testing.assert_allclose(reg.predict(X), -7.0 + (out - TARGET_LOW) / (TARGET_HIGH - TARGET_LOW) * 20.0)
    # bounded by the sigmoid: at most 12.5 % of the range beyond the training range
    assert (reg.predict(X) > -7.0 - 0.125 * 20 - 1e-9).all() and (reg.predict(X) < 13.0 + 0.125 * 20 + 1e-9).all()


def test_regressor_constant_target():
    X = np.random.default_rng(2).random((20, 2))
    reg = MLPRegressor((3,), epochs=20, random_state=0).fit(X, np.full(20, 4.0))
    np.testing.assert_allclose(reg.predict(X), 4.0, atol=0.1)


def test_dataframe_feature_names():
    pd = pytest.importorskip("pandas")
    X = pd.DataFrame(np.random.default_rng(0).random((40, 3)), columns=["a", "b", "c"])
    est = MLPClassifier((4,), epochs=1, random_state=0).fit(X, np.arange(40) % 2)
    np.testing.assert_array_equal(est.feature_names_in_, ["a", "b", "c"])
    assert est.n_features_in_ == 3


def test_random_state_instance_is_reproducible(small_digits):
    X, y = small_digits
    a = MLPClassifier((10,), epochs=1, random_state=np.random.RandomState(5)).fit(X, y)
    b = MLPClassifier((10,), epochs=1, random_state=np.random.RandomState(5)).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))


@pytest.mark.parametrize("hidden, exc, match", [
    ("30", TypeError, "hidden_layer_sizes"),
    ((30, 2.5), TypeError, "integers"),
    ((30, 0), ValueError, "positive"),
])
def test_bad_hidden_layer_sizes_raise_at_fit(hidden, exc, match):
    est = MLPClassifier(hidden)  # no validation in __init__
    with pytest.raises(exc, match=match):
        est.fit(np.zeros((4, 2)), [0, 1, 0, 1])


def test_bad_dtype_and_continuous_target_raise():
    X = np.zeros((4, 2))
    with pytest.raises(TypeError, match="dtype"):
        MLPClassifier(dtype="int32").fit(X, [0, 1, 0, 1])
    with pytest.raises(ValueError, match="Unknown label type"):
        MLPClassifier().fit(X, [0.5, 1.5, 0.2, 0.1])
