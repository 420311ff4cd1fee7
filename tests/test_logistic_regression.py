"""LogisticRegression: kernels vs NumPy references, gradient check, sklearn oracle, digits."""
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from fastnn.kernels import linear as K
from fastnn.linear import ConvergenceWarning, LogisticRegression
from fastnn.reference import linear_np as ref

sk_datasets = pytest.importorskip("sklearn.datasets")
sk_linear = pytest.importorskip("sklearn.linear_model")


def standardise(X, mean=None, std=None):
    mean = X.mean(axis=0) if mean is None else mean
    std = X.std(axis=0) if std is None else std
    return (X - mean) / np.where(std > 0, std, 1.0), mean, std


def blobs(n=120, d=4, classes=2, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, n)
    centres = rng.standard_normal((classes, d)) * 1.5
    return rng.standard_normal((n, d)) + centres[labels], labels


@pytest.fixture(scope="module")
def cancer():
    X, y = sk_datasets.load_breast_cancer(return_X_y=True)
    return standardise(X)[0], y


@pytest.mark.parametrize("lmbda", [1.0, 10.0])
def test_breast_cancer_matches_sklearn(cancer, lmbda):
    X, y = cancer
    s = sk_linear.LogisticRegression(C=1.0 / lmbda, tol=1e-12, max_iter=10_000).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # default settings must converge
        m = LogisticRegression(lmbda=lmbda, tol=1e-10).fit(X, y)
    assert m.converged_
    assert m.coef_.shape == s.coef_.shape == (1, 30)
    assert_allclose(m.coef_, s.coef_, rtol=0, atol=1e-4)
    assert_allclose(m.intercept_, s.intercept_, rtol=0, atol=1e-4)
    assert_allclose(m.predict_proba(X), s.predict_proba(X), rtol=0, atol=1e-5)


def test_breast_cancer_default_fit_is_accurate(cancer):
    X, y = cancer
    m = LogisticRegression().fit(X, y)
    assert m.converged_ and m.score(X, y) > 0.97
    assert_array_equal(m.classes_, [0, 1])


def test_digits_multiclass_accuracy():
    X, y = sk_datasets.load_digits(return_X_y=True)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(y))
    train, test = order[:1350], order[1350:]
    Xtr, mean, std = standardise(X[train])
    Xte = standardise(X[test], mean, std)[0]
    m = LogisticRegression(solver="sgd", random_state=0, max_iter=40)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        m.fit(Xtr, y[train])
    assert m.coef_.shape == (10, 64) and m.intercept_.shape == (10,)
    assert m.score(Xte, y[test]) >= 0.93
    gd = LogisticRegression(max_iter=150)
    with pytest.warns(ConvergenceWarning):
        gd.fit(Xtr, y[train])
    assert gd.score(Xte, y[test]) >= 0.93


def test_multiclass_matches_sklearn_multinomial():
    X, y = blobs(n=150, d=3, classes=3, seed=1)
    s = sk_linear.LogisticRegression(C=0.5, tol=1e-12, max_iter=10_000).fit(X, y)
    m = LogisticRegression(lmbda=2.0, tol=1e-11).fit(X, y)
    assert_allclose(m.coef_, s.coef_, rtol=0, atol=1e-5)
    assert_allclose(m.intercept_, s.intercept_, rtol=0, atol=1e-5)


@pytest.mark.parametrize("classes", [2, 4])
def test_gradient_matches_finite_differences(classes):
    X, labels = blobs(n=40, d=3, classes=classes, seed=2)
    y = labels.astype(float)
    rows = 1 if classes == 2 else classes
    rng = np.random.default_rng(3)
    W, b = rng.standard_normal((rows, 3)), rng.standard_normal(rows)
    lmbda, h = 0.7, 1e-6
    fd_W = np.zeros_like(W)
    for k in range(rows):
        for j in range(3):
            E = np.zeros_like(W)
            E[k, j] = h
            fd_W[k, j] = (ref.objective(X, y, W + E, b, "logistic", lmbda)
                          - ref.objective(X, y, W - E, b, "logistic", lmbda)) / (2 * h)
    fd_b = np.array([(ref.objective(X, y, W, b + h * e, "logistic", lmbda)
                      - ref.objective(X, y, W, b - h * e, "logistic", lmbda)) / (2 * h)
                     for e in np.eye(rows)])
    gW, gb = ref.gradient(X, y, W, b, "logistic", lmbda)
    assert_allclose(gW, fd_W, rtol=1e-6, atol=1e-8)
    assert_allclose(gb, fd_b, rtol=1e-6, atol=1e-8)
    # the kernel's gradient: one plain step with eta = 1 moves the parameters by -grad
    W1, b1 = W.copy(), b.copy()
    K.gd(X, y, W1, b1, K.MODEL_LOGISTIC, lmbda, 1.0, 0.0, 1, 0.0, 1, np.empty(1))
    assert_allclose(W - W1, fd_W, rtol=1e-6, atol=1e-8)
    assert_allclose(b - b1, fd_b, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("classes", [2, 3])
def test_gd_kernel_matches_reference_per_step(classes):
    X, labels = blobs(n=50, d=4, classes=classes, seed=4)
    y = labels.astype(float)
    rows = 1 if classes == 2 else classes
    W, b = np.zeros((rows, 4)), np.zeros(rows)
    V, v = np.zeros_like(W), np.zeros_like(b)
    for _ in range(6):
        W_ref, b_ref, _, _, _, _ = ref.step(X, y, W, b, V, v, "logistic", 1.0, 0.5, 0.0, 50)
        K.gd(X, y, W, b, K.MODEL_LOGISTIC, 1.0, 0.5, 0.0, 1, 0.0, 1, np.empty(1))
        assert_allclose(W, W_ref, rtol=1e-12, atol=1e-12)
        assert_allclose(b, b_ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("classes", [2, 3])
def test_whole_runs_match_reference(classes):
    X, labels = blobs(n=60, d=3, classes=classes, seed=5)
    y = labels.astype(float)
    rows = 1 if classes == 2 else classes
    W, b, history = np.zeros((rows, 3)), np.zeros(rows), np.empty(30)
    n_iter, status = K.gd(X, y, W, b, K.MODEL_LOGISTIC, 0.5, 0.3, 0.9, 30, 0.0, 1, history)
    W_ref, b_ref, h_ref, s_ref = ref.gd(X, y, np.zeros((rows, 3)), np.zeros(rows), "logistic",
                                        0.5, 0.3, 0.9, 30, 0.0, 1)
    assert (n_iter, status) == (30, s_ref)
    assert_allclose(history, h_ref, rtol=1e-12, atol=1e-12)
    assert_allclose(W, W_ref, rtol=1e-12, atol=1e-12)
    rng = np.random.default_rng(0)
    perms = np.array([rng.permutation(60) for _ in range(5)])
    W, b, history = np.zeros((rows, 3)), np.zeros(rows), np.empty(5)
    K.sgd(X, y, W, b, K.MODEL_LOGISTIC, 0.5, 0.3, 0.5, 8, perms, 0, 0.0, 100,
          np.zeros_like(W), np.zeros_like(b), np.array([np.inf, 0.0]), history)
    W_ref, b_ref, h_ref, _ = ref.sgd(X, y, np.zeros((rows, 3)), np.zeros(rows), "logistic", 0.5,
                                     0.3, 0.5, 8, perms, 0.0, 100)
    assert_allclose(history, h_ref, rtol=1e-12, atol=1e-12)
    assert_allclose(W, W_ref, rtol=1e-12, atol=1e-12)
    assert_allclose(b, b_ref, rtol=1e-12, atol=1e-12)


def test_extreme_scores_do_not_overflow():
    X = np.array([[1000.0], [-1000.0]])
    for y, rows in (([1.0, 0.0], 1), ([2.0, 0.0], 3)):
        y = np.array(y)
        W, b = np.full((rows, 1), 5.0), np.zeros(rows)
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            assert_allclose(K.objective(X, y, W, b, K.MODEL_LOGISTIC, 0.0),
                            ref.objective(X, y, W, b, "logistic", 0.0), rtol=1e-12)


def test_arbitrary_labels_and_probabilities():
    X, labels = blobs(n=90, d=2, classes=3, seed=6)
    names = np.array(["cat", "dog", "emu"])[labels]
    m = LogisticRegression().fit(X, names)
    assert_array_equal(m.classes_, ["cat", "dog", "emu"])
    P = m.predict_proba(X)
    assert P.shape == (90, 3)
    assert_allclose(P.sum(axis=1), 1.0)
    assert_array_equal(m.predict(X), m.classes_[P.argmax(axis=1)])
    assert m.score(X, names) == np.mean(m.predict(X) == names)
    s = sk_linear.LogisticRegression().fit(X, names)  # same problem (C = 1/lmbda = 1)
    assert_allclose(P, s.predict_proba(X), rtol=0, atol=1e-4)
    binary = LogisticRegression().fit(X, np.where(labels == 0, -1, 7))
    assert_array_equal(binary.classes_, [-1, 7])
    assert binary.predict_proba(X).shape == (90, 2)
    assert set(binary.predict(X)) <= {-1, 7}


def test_sgd_is_seeded():
    X, y = blobs(seed=7)
    a = LogisticRegression(solver="sgd", random_state=3).fit(X, y)
    b = LogisticRegression(solver="sgd", random_state=3).fit(X, y)
    assert_array_equal(a.coef_, b.coef_)
    assert_array_equal(a.loss_history_, b.loss_history_)
    gd = LogisticRegression().fit(X, y)
    assert_allclose(a.coef_, gd.coef_, rtol=0, atol=0.1)


def test_fit_returns_self_and_sets_fitted_attributes():
    X, y = blobs(seed=8)
    m = LogisticRegression()
    assert not hasattr(m, "coef_")
    assert m.fit(X, y) is m
    for name in ("coef_", "intercept_", "classes_", "loss_history_", "n_iter_", "eta_"):
        assert hasattr(m, name)
    assert m.loss_history_[-1] < m.loss_history_[0]


@pytest.mark.parametrize("kwargs, exc, match", [
    ({"solver": "closed"}, ValueError, "solver"),
    ({"eta": 0}, ValueError, "eta"),
    ({"max_iter": -5}, ValueError, "max_iter"),
    ({"lmbda": float("inf")}, ValueError, "lmbda"),
    ({"random_state": "seed"}, TypeError, "random_state"),
])
def test_bad_hyperparameters(kwargs, exc, match):
    model = LogisticRegression(**kwargs)  # scikit-learn convention: parameters are checked in fit
    with pytest.raises(exc, match=match):
        model.fit(*blobs(seed=9))


@pytest.mark.parametrize("X, y, exc, match", [
    (np.ones(3), [0, 1, 0], ValueError, "2D"),
    (np.ones((3, 2)), [0, 1], ValueError, "different numbers of samples"),
    (np.ones((3, 2)), [1, 1, 1], ValueError, "at least 2 classes"),
    (np.empty((0, 2)), [], ValueError, "empty"),
    ([[0.0, np.nan], [1.0, 1.0]], [0, 1], ValueError, "NaN"),
    (np.ones((2, 2)), [0.0, np.nan], ValueError, "NaN"),
])
def test_bad_data(X, y, exc, match):
    with pytest.raises(exc, match=match):
        LogisticRegression().fit(X, y)


def test_predict_checks_width_and_fitting():
    with pytest.raises(ValueError, match="not fitted"):
        LogisticRegression().predict_proba([[1.0, 2.0]])
    m = LogisticRegression().fit(*blobs(seed=9))
    with pytest.raises(ValueError, match="features"):
        m.predict(np.ones((1, 5)))


def test_defaults_converge_on_standardised_digits():
    """Default gd (no tuning) converges on the standardised 10-class digits, >= 93% accuracy."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    X, y = load_digits(return_X_y=True)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=500, random_state=0, stratify=y)
    scaler = StandardScaler().fit(X_tr)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a ConvergenceWarning fails the test
        model = LogisticRegression().fit(scaler.transform(X_tr), y_tr)
    assert model.converged_ and model.n_iter_ < 10_000
    assert model.score(scaler.transform(X_te), y_te) >= 0.93
