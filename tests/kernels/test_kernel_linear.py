"""The kernels of :mod:`fastnn.kernels.linear` against :mod:`fastnn.reference.linear_np`, directly.

Tiny data and a few iterations (fast, also under ``NUMBA_DISABLE_JIT=1``: the default tests of
``tools/mutation.py kernels/linear.py``); the estimators' own tests train to convergence.
Tolerance: 1e-12 relative (the kernels sum in another order).
"""
import math

import numpy as np
import pytest

from fastnn.kernels import linear as k
from fastnn.reference import linear_np as ref

MODELS = {"l2": k.MODEL_L2, "l1": k.MODEL_L1, "logistic": k.MODEL_LOGISTIC}
CASES = [("l2", 1), ("l1", 1), ("logistic", 1), ("logistic", 3)]
TOL = 1e-12


def problem(model, K, n=13, d=3, seed=0):
    """Standard-normal X, targets for ``model`` (K classes for logistic), random W, b."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    if model == "logistic":
        y = rng.integers(0, max(K, 2), n).astype(np.float64)
    else:
        y = rng.standard_normal(n) * 3
    return X, y, rng.standard_normal((K, d)), rng.standard_normal(K)


def assert_close(a, b):
    np.testing.assert_allclose(a, b, rtol=TOL, atol=TOL)


@pytest.mark.parametrize("model, K", CASES)
def test_sample_cost_and_gradient(model, K):
    X, y, W, b = problem(model, K)
    Z = X @ W.T + b
    Z[0] *= 400  # far into the tails: softplus / softmax must not overflow
    costs, D = ref.costs_and_deltas(Z, y, model)
    for i in range(len(y)):
        delta = np.full(K, np.nan)
        assert_close(k.sample_cost(Z[i].copy(), y[i], MODELS[model], delta), costs[i])
        assert_close(delta, D[i])


@pytest.mark.parametrize("big", [0, 1, 2, 3])
def test_softmax_shifts_by_the_largest_logit_wherever_it_is(big):
    """A logit of 1000 in any position (exp(1000) overflows unless shifted by the maximum)."""
    z = np.zeros(4)
    z[big] = 1000.0
    for label in (big, (big + 1) % 4):
        delta = np.full(4, np.nan)
        cost = k.sample_cost(z.copy(), float(label), k.MODEL_LOGISTIC, delta)
        costs, D = ref.costs_and_deltas(z[None, :], np.array([float(label)]), "logistic")
        assert np.isfinite(cost) and np.isfinite(delta).all()
        assert_close(cost, costs[0])
        assert_close(delta, D[0])


@pytest.mark.parametrize("z, target, expected", [(2.0, 2.0, 0.0), (2.5, 2.0, 1.0), (1.5, 2.0, -1.0)])
def test_l1_subgradient_is_the_sign_and_zero_at_an_exact_fit(z, target, expected):
    delta = np.full(1, np.nan)
    assert k.sample_cost(np.array([z]), target, k.MODEL_L1, delta) == abs(z - target)
    assert delta[0] == expected


@pytest.mark.parametrize("solver", ["gd", "sgd"])
def test_descent_stops_at_the_first_non_finite_objective(solver):
    """DIVERGED is returned at once, not after the whole budget (and the error names when)."""
    X, y, W, b = problem("l2", 1, n=13, d=3, seed=1)
    X *= 1e3
    history = np.full(50, -1.0)
    if solver == "gd":
        ran, status = k.gd(X, y, W, b, k.MODEL_L2, 0.0, 10.0, 0.0, 50, 1e-12, 5, history)
    else:
        perms = np.tile(np.arange(13), (50, 1))
        ran, status = k.sgd(X, y, W, b, k.MODEL_L2, 0.0, 10.0, 0.0, 1, perms, 0, 1e-12, 5,
                            np.zeros_like(W), np.zeros_like(b), np.array([np.inf, 0.0]), history)
    assert status == k.DIVERGED
    assert ran < 50 and not np.isfinite(history[ran - 1])
    assert np.isfinite(history[:ran - 1]).all() and (history[ran:] == -1.0).all()


@pytest.mark.parametrize("z", [-800.0, -30.0, -1e-3, 0.0, 1e-3, 30.0, 800.0])
def test_softplus(z):
    exact = max(z, 0.0) + math.log1p(math.exp(-abs(z)))
    assert k._softplus(z) == pytest.approx(exact, rel=1e-15, abs=0)


@pytest.mark.parametrize("model, K", CASES)
@pytest.mark.parametrize("lmbda", [0.0, 0.7])
def test_objective(model, K, lmbda):
    X, y, W, b = problem(model, K)
    assert_close(k.objective(X, y, W, b, MODELS[model], lmbda), ref.objective(X, y, W, b, model, lmbda))
    assert_close(k._penalty(W, lmbda, 13), 0.5 * lmbda / 13 * np.sum(W ** 2))


@pytest.mark.parametrize("model, K", CASES)
def test_batch_gradient_is_the_sum_over_the_batch(model, K):
    X, y, W, b = problem(model, K)
    idx = np.random.default_rng(1).permutation(13)
    gW, gb = np.full_like(W, np.nan), np.full_like(b, np.nan)  # overwritten, not added to
    cost = k.batch_gradient(X, y, idx, 3, 11, W, b, MODELS[model], gW, gb)
    batch = idx[3:11]
    costs, D = ref.costs_and_deltas(X[batch] @ W.T + b, y[batch], model)
    assert_close(cost, costs.sum())
    assert_close(gW, D.T @ X[batch])
    assert_close(gb, D.sum(axis=0))


def test_apply_step_is_the_momentum_update():
    X, y, W, b = problem("logistic", 3)
    VW, vb = np.random.default_rng(2).standard_normal(W.shape), np.random.default_rng(3).standard_normal(3)
    batch = np.arange(2, 10)
    gW, gb = np.empty_like(W), np.empty_like(b)
    k.batch_gradient(X, y, batch, 0, 8, W, b, k.MODEL_LOGISTIC, gW, gb)
    W_ref, b_ref, V_ref, v_ref, _, biggest = ref.step(X[batch], y[batch], W, b, VW, vb, "logistic",
                                                      0.7, 0.3, 0.5, 13)
    got = k.apply_step(W, b, gW, gb, 8, 0.3, 0.7, 13, 0.5, VW, vb)
    for a, r in ((W, W_ref), (b, b_ref), (VW, V_ref), (vb, v_ref), (got, biggest)):
        assert_close(a, r)


def test_max_abs():
    W = np.array([[1.0, -7.0], [3.0, 2.0]])
    assert k._max_abs(W, np.array([-5.0, 4.0])) == 7.0
    assert k._max_abs(W, np.array([-9.0, 4.0])) == 9.0
    assert k._max_abs(-W, np.array([6.0, 0.5])) == 7.0


@pytest.mark.parametrize("model, K", CASES)
@pytest.mark.parametrize("mu", [0.0, 0.6])
def test_gd_matches_reference(model, K, mu):
    X, y, W0, b0 = problem(model, K)
    for max_iter, tol in ((7, 0.0), (400, 1e-2)):  # the budget runs out; the stopping rule stops
        W, b, history = W0.copy(), b0.copy(), np.full(max_iter, np.nan)
        n_iter, status = k.gd(X, y, W, b, MODELS[model], 0.4, 0.2, mu, max_iter, tol, 3, history)
        W_ref, b_ref, h_ref, s_ref = ref.gd(X, y, W0.copy(), b0.copy(), model, 0.4, 0.2, mu, max_iter,
                                            tol, 3)
        assert (n_iter, status) == (len(h_ref), s_ref)
        assert_close(W, W_ref)
        assert_close(b, b_ref)
        assert_close(history[:n_iter], h_ref)
    assert status == k.CONVERGED and n_iter < 400


@pytest.mark.parametrize("model, K", CASES)
def test_sgd_matches_reference(model, K):
    X, y, W0, b0 = problem(model, K)
    rng = np.random.default_rng(4)
    perms = np.array([rng.permutation(13) for _ in range(6)])
    for n_iter_no_change, tol in ((100, 0.0), (2, 0.5)):  # runs all epochs; stalls and stops
        W, b, history = W0.copy(), b0.copy(), np.full(6, np.nan)
        VW, vb, state = np.zeros_like(W), np.zeros_like(b), np.array([np.inf, 0.0])
        # two calls, as the estimators make them: epochs 1-2, then 3-6 (epoch0 = 2)
        ran1, s1 = k.sgd(X, y, W, b, MODELS[model], 0.4, 0.1, 0.3, 4, perms[:2], 0, tol,
                         n_iter_no_change, VW, vb, state, history)
        ran2, s2 = (0, s1) if s1 != k.RUNNING else k.sgd(
            X, y, W, b, MODELS[model], 0.4, 0.1, 0.3, 4, perms[2:], 2, tol, n_iter_no_change, VW, vb,
            state, history)
        W_ref, b_ref, h_ref, s_ref = ref.sgd(X, y, W0.copy(), b0.copy(), model, 0.4, 0.1, 0.3, 4, perms,
                                             tol, n_iter_no_change)
        assert ran1 + ran2 == len(h_ref) and s2 == s_ref
        assert_close(W, W_ref)
        assert_close(b, b_ref)
        assert_close(history[:len(h_ref)], h_ref)


def test_stop_status_rules():
    state = np.array([np.inf, 0.0])
    assert k._stop_status(np.nan, 0.1, 1.0, 1e-3, True, state, 3) == k.DIVERGED
    assert k._stop_status(1.0, np.inf, 1.0, 1e-3, True, state, 3) == k.DIVERGED
    # smooth: step <= tol * max(1, scale), equality included
    assert k._stop_status(1.0, 2e-3, 2.0, 1e-3, True, state, 3) == k.CONVERGED
    assert k._stop_status(1.0, 2.1e-3, 2.0, 1e-3, True, state, 3) == k.RUNNING
    assert k._stop_status(1.0, 1e-3, 0.5, 1e-3, True, state, 3) == k.CONVERGED
    assert k._stop_status(1.0, 1.1e-3, 0.5, 1e-3, True, state, 3) == k.RUNNING
    # stall rule: J must beat the best by more than tol * max(1, |J|) to reset the count
    state = np.array([10.0, 2.0])
    steps = [(6.0, k.RUNNING, [6.0, 0.0]),    # 6 < 10 - 0.5 * 6: improvement
             (4.0, k.RUNNING, [4.0, 1.0]),    # 4 < 6 - 0.5 * 4 is false (a tie): no improvement
             (4.5, k.RUNNING, [4.0, 2.0]),
             (3.0, k.CONVERGED, [3.0, 3.0])]  # the third check without improvement
    for J, status, after in steps:
        assert k._stop_status(J, 0.0, 0.0, 0.5, False, state, 3) == status, J
        assert list(state) == after, J
    state = np.array([1.0, 1.0])  # |J| < 1: the threshold is tol itself
    assert k._stop_status(0.4, 0.0, 0.0, 0.5, False, state, 3) == k.RUNNING
    assert list(state) == [0.4, 0.0]
    state = np.array([1.0, 1.0])  # 0.6 < 1 - 0.5 is false (tol * |J| would be 0.3: an improvement)
    assert k._stop_status(0.6, 0.0, 0.0, 0.5, False, state, 3) == k.RUNNING
    assert list(state) == [0.6, 2.0]
