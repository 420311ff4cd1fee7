"""LinearRegression: closed form, GD and SGD kernels vs NumPy references and oracles."""
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose

import fastnn.linear as linear_mod
from fastnn.kernels import linear as K
from fastnn.linear import ConvergenceWarning, LinearRegression
from fastnn.reference import linear_np as ref

sk_datasets = pytest.importorskip("sklearn.datasets")
sk_linear = pytest.importorskip("sklearn.linear_model")

MODELS = [("l2", K.MODEL_L2), ("l1", K.MODEL_L1)]


def well_conditioned(n=300, d=5, seed=0):
    """Standardised independent features, y linear plus a little noise."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    y = X @ rng.uniform(-2, 2, d) + 1.5 + 0.1 * rng.standard_normal(n)
    return X, y


@pytest.fixture(scope="module")
def diabetes():
    X, y = sk_datasets.load_diabetes(return_X_y=True)
    return (X - X.mean(axis=0)) / X.std(axis=0), y


def test_closed_form_equals_lstsq():
    X, y = well_conditioned()
    m = LinearRegression().fit(X, y)
    beta = np.linalg.lstsq(np.column_stack([X, np.ones(len(y))]), y, rcond=None)[0]
    assert_allclose(m.coef_, beta[:-1], rtol=0, atol=1e-10)
    assert_allclose(m.intercept_, beta[-1], rtol=0, atol=1e-10)


def test_closed_form_with_penalty_equals_ridge(diabetes):
    X, y = diabetes
    m = LinearRegression(lmbda=5.0).fit(X, y)
    r = sk_linear.Ridge(alpha=5.0, solver="svd").fit(X, y)
    assert_allclose(m.coef_, r.coef_, rtol=0, atol=1e-8)
    assert_allclose(m.intercept_, r.intercept_, rtol=0, atol=1e-8)
    w, b = ref.closed_form(X, y, 5.0)
    assert_allclose(m.coef_, w, rtol=0, atol=1e-10)


def test_closed_form_matches_sklearn_on_diabetes(diabetes):
    X, y = diabetes
    for data in (X, sk_datasets.load_diabetes().data):  # standardised and as shipped
        m = LinearRegression().fit(data, y)
        s = sk_linear.LinearRegression().fit(data, y)
        assert_allclose(m.coef_, s.coef_, rtol=0, atol=1e-8)
        assert_allclose(m.intercept_, s.intercept_, rtol=0, atol=1e-8)
        assert_allclose(m.score(data, y), s.score(data, y), rtol=0, atol=1e-12)


def test_gd_reaches_closed_form_with_defaults():
    X, y = well_conditioned()
    closed = LinearRegression().fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # must converge without a warning
        gd = LinearRegression(solver="gd").fit(X, y)
    assert gd.converged_ and gd.n_iter_ < 10_000
    assert_allclose(gd.coef_, closed.coef_, rtol=0, atol=1e-6)
    assert_allclose(gd.intercept_, closed.intercept_, rtol=0, atol=1e-6)
    assert_allclose(gd.loss_history_[-1], closed.loss_history_[0], rtol=1e-12)


def test_plain_gd_without_momentum_also_converges():
    X, y = well_conditioned(seed=1)
    closed = LinearRegression().fit(X, y)
    gd = LinearRegression(solver="gd", momentum=0.0).fit(X, y)
    assert_allclose(gd.coef_, closed.coef_, rtol=0, atol=1e-6)
    assert np.all(np.diff(gd.loss_history_) <= 0)  # plain GD with eta = 1/L is monotone


def test_gd_with_penalty_reaches_ridge():
    X, y = well_conditioned(seed=2)
    gd = LinearRegression(solver="gd", lmbda=30.0).fit(X, y)
    closed = LinearRegression(lmbda=30.0).fit(X, y)
    assert_allclose(gd.coef_, closed.coef_, rtol=0, atol=1e-6)


def test_sgd_defaults_get_close_and_are_seeded():
    X, y = well_conditioned(seed=3)
    closed = LinearRegression().fit(X, y)
    a = LinearRegression(solver="sgd", random_state=7).fit(X, y)
    b = LinearRegression(solver="sgd", random_state=7).fit(X, y)
    c = LinearRegression(solver="sgd", random_state=8).fit(X, y)
    assert a.converged_
    assert_allclose(a.coef_, closed.coef_, rtol=0, atol=0.02)
    assert a.score(X, y) > closed.score(X, y) - 1e-3
    assert_allclose(a.coef_, b.coef_, rtol=0, atol=0)
    assert not np.array_equal(a.coef_, c.coef_)


@pytest.mark.parametrize("solver", ["gd", "sgd"])
def test_l1_reaches_the_least_absolute_deviation_optimum(diabetes, solver):
    X, y = diabetes
    q = sk_linear.QuantileRegressor(quantile=0.5, alpha=0.0, solver="highs").fit(X, y)
    best = np.mean(np.abs(q.predict(X) - y))
    m = LinearRegression(solver=solver, loss="l1", random_state=0).fit(X, y)
    assert np.mean(np.abs(m.predict(X) - y)) <= best * (1 + 0.005)
    # ... and a worse L1 fit than the least-squares one is not what we found
    ls = LinearRegression().fit(X, y)
    assert np.mean(np.abs(m.predict(X) - y)) < np.mean(np.abs(ls.predict(X) - y))


@pytest.mark.parametrize("loss, code", MODELS)
def test_gd_kernel_matches_reference_per_step(loss, code):
    X, y = well_conditioned(n=60, d=4, seed=4)
    W, b = np.zeros((1, 4)), np.zeros(1)
    V, v = np.zeros_like(W), np.zeros_like(b)
    for _ in range(6):  # one kernel call per step, from the same start as the reference
        W_ref, b_ref, V_ref, v_ref, _, _ = ref.step(X, y, W, b, V, v, loss, 2.0, 0.05, 0.0, 60)
        history = np.empty(1)
        K.gd(X, y, W, b, code, 2.0, 0.05, 0.0, 1, 0.0, 1, history)
        assert_allclose(W, W_ref, rtol=1e-12, atol=1e-12)
        assert_allclose(b, b_ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("loss, code", MODELS)
def test_gd_kernel_matches_reference_whole_run(loss, code):
    X, y = well_conditioned(n=80, d=3, seed=5)
    W, b, history = np.zeros((1, 3)), np.zeros(1), np.empty(40)
    n_iter, status = K.gd(X, y, W, b, code, 1.0, 0.1, 0.9, 40, 0.0, 1000, history)
    W_ref, b_ref, h_ref, s_ref = ref.gd(X, y, np.zeros((1, 3)), np.zeros(1), loss, 1.0, 0.1,
                                        0.9, 40, 0.0, 1000)
    assert (n_iter, status) == (len(h_ref), s_ref) == (40, ref.BUDGET)
    assert_allclose(history, h_ref, rtol=1e-12, atol=1e-12)
    assert_allclose(W, W_ref, rtol=1e-12, atol=1e-12)
    assert_allclose(b, b_ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("loss, code", MODELS)
def test_sgd_kernel_matches_reference(loss, code):
    X, y = well_conditioned(n=50, d=3, seed=6)
    rng = np.random.default_rng(0)
    perms = np.array([rng.permutation(50) for _ in range(8)])
    W, b, history = np.zeros((1, 3)), np.zeros(1), np.empty(8)
    VW, vb, state = np.zeros((1, 3)), np.zeros(1), np.array([np.inf, 0.0])
    n_epochs, status = K.sgd(X, y, W, b, code, 0.5, 0.05, 0.5, 7, perms, 0, 0.0, 1000, VW, vb,
                             state, history)
    W_ref, b_ref, h_ref, s_ref = ref.sgd(X, y, np.zeros((1, 3)), np.zeros(1), loss, 0.5, 0.05,
                                         0.5, 7, perms, 0.0, 1000)
    assert (n_epochs, status) == (8, ref.BUDGET)
    assert_allclose(history, h_ref, rtol=1e-12, atol=1e-12)
    assert_allclose(W, W_ref, rtol=1e-12, atol=1e-12)
    assert_allclose(b, b_ref, rtol=1e-12, atol=1e-12)


def test_sgd_fit_is_independent_of_kernel_chunking(monkeypatch):
    X, y = well_conditioned(n=40, d=3, seed=7)
    kw = dict(solver="sgd", random_state=1, max_iter=30, tol=0.0, n_iter_no_change=100)
    with pytest.warns(ConvergenceWarning):
        one_call = LinearRegression(**kw).fit(X, y)
    monkeypatch.setattr(linear_mod, "_PERM_BUDGET", 40 * 4)  # 4 epochs per kernel call
    with pytest.warns(ConvergenceWarning):
        chunked = LinearRegression(**kw).fit(X, y)
    assert_allclose(chunked.coef_, one_call.coef_, rtol=0, atol=0)
    assert_allclose(chunked.loss_history_, one_call.loss_history_, rtol=0, atol=0)
    # and the API reproduces the reference with the same permutations
    rng = np.random.default_rng(1)
    perms = np.array([rng.permutation(40) for _ in range(30)])
    W, b, h, _ = ref.sgd(X, y, np.zeros((1, 3)), np.zeros(1), "l2", 0.0, one_call.eta_,
                         one_call.momentum_, 32, perms, 0.0, 100)
    assert_allclose(one_call.coef_, W[0], rtol=1e-10, atol=1e-10)
    assert_allclose(one_call.loss_history_, h, rtol=1e-10, atol=1e-10)


def test_objective_matches_reference():
    X, y = well_conditioned(n=30, d=3, seed=8)
    W, b = np.array([[0.3, -1.0, 2.0]]), np.array([0.5])
    for loss, code in MODELS:
        assert_allclose(K.objective(X, y, W, b, code, 3.0), ref.objective(X, y, W, b, loss, 3.0),
                        rtol=1e-13)


def test_budget_exhausted_warns_and_history_has_one_value_per_iteration():
    X, y = well_conditioned()
    with pytest.warns(ConvergenceWarning, match="did not converge in 3 iterations"):
        m = LinearRegression(solver="gd", max_iter=3).fit(X, y)
    assert not m.converged_ and m.n_iter_ == 3 and m.loss_history_.shape == (3,)


def test_too_large_eta_is_reported_as_divergence():
    X, y = well_conditioned()
    with pytest.raises(ValueError, match="diverged.*eta"):
        LinearRegression(solver="gd", eta=50.0, momentum=0.0, max_iter=5000).fit(X, y)


def test_predict_and_score():
    X, y = well_conditioned()
    m = LinearRegression().fit(X, y)
    assert_allclose(m.predict(X[:3]), X[:3] @ m.coef_ + m.intercept_)
    assert 0.99 < m.score(X, y) <= 1.0
    assert m.score(X, m.predict(X)) == pytest.approx(1.0)


@pytest.mark.parametrize("kwargs, exc, match", [
    ({"solver": "newton"}, ValueError, "solver"),
    ({"loss": "huber"}, ValueError, "loss"),
    ({"solver": "closed", "loss": "l1"}, ValueError, "closed"),
    ({"solver": "gd", "eta": 0.0}, ValueError, "eta"),
    ({"solver": "gd", "eta": -0.1}, ValueError, "eta"),
    ({"solver": "gd", "max_iter": 0}, ValueError, "max_iter"),
    ({"solver": "gd", "max_iter": 10.0}, TypeError, "max_iter"),
    ({"solver": "sgd", "batch_size": 0}, ValueError, "batch_size"),
    ({"lmbda": -1.0}, ValueError, "lmbda"),
    ({"momentum": 1.0}, ValueError, "momentum"),
    ({"tol": float("nan")}, ValueError, "tol"),
])
def test_bad_hyperparameters(kwargs, exc, match):
    model = LinearRegression(**kwargs)  # scikit-learn convention: parameters are checked in fit
    with pytest.raises(exc, match=match):
        model.fit(*well_conditioned())


@pytest.mark.parametrize("X, y, exc, match", [
    (np.arange(4.0), np.arange(4.0), ValueError, "2D"),
    (np.ones((4, 2)), np.ones(3), ValueError, "different numbers of samples"),
    (np.ones((4, 2)), np.ones((4, 1)), ValueError, "1-D"),
    (np.empty((0, 2)), np.empty(0), ValueError, "empty"),
    ([[1.0, np.nan], [0.0, 1.0]], [1.0, 2.0], ValueError, "NaN"),
    ([[1.0, 2.0], [0.0, 1.0]], [1.0, np.inf], ValueError, "NaN or infinity"),
    ([["a", "b"]], [1.0], TypeError, "non-numeric"),
])
def test_bad_data(X, y, exc, match):
    with pytest.raises(exc, match=match):
        LinearRegression(solver="gd").fit(X, y)


def test_predict_before_fit_and_wrong_width():
    with pytest.raises(ValueError, match="not fitted"):
        LinearRegression().predict([[1.0]])
    m = LinearRegression().fit(*well_conditioned())
    with pytest.raises(ValueError, match="features"):
        m.predict(np.ones((2, 3)))
    with pytest.raises(ValueError, match="2D"):
        m.predict(np.ones(5))
