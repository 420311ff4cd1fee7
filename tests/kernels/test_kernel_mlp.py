"""Each kernel against a slow, obviously-correct NumPy computation (the stumpy pattern)."""
import decimal
import warnings

import numba
import numpy as np
import pytest

from fastnn import _params
from fastnn.kernels import activations, mlp
from fastnn.reference import network_np


def exact_sigmoid(z):
    """1 / (1 + e^-z) in 60-digit decimal arithmetic, rounded once to float64."""
    with decimal.localcontext() as ctx:
        ctx.prec = 60
        return float(1 / (1 + decimal.Decimal(-z).exp()))


# deep negative z: subnormal results (-709 .. -745) and underflow to 0 (below -745.13)
@pytest.mark.parametrize("z", [-1000.0, -745.2, -745.0, -740.0, -720.5, -708.0, -30.0, -1.5, 0.0,
                               1e-9, 2.5, 36.0, 37.0, 1000.0])
def test_sigmoid_matches_formula_without_warnings(z):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = activations.sigmoid(z)
    exact = exact_sigmoid(z)
    # within 2 units in the last place of the exact value, also where it is subnormal
    # (np.spacing(0.0) is the smallest subnormal, so 0 must come out as 0 or 5e-324)
    assert abs(s - exact) <= 2 * np.spacing(exact), (s, exact)
    assert 0.0 <= s <= 1.0


def test_sigmoid_exact_limits():
    assert activations.sigmoid(np.inf) == 1.0
    assert activations.sigmoid(-np.inf) == 0.0
    assert activations.sigmoid(0.0) == 0.5
    assert activations.sigmoid_prime(0.0) == 0.25
    assert activations.sigmoid_prime(800.0) == 0.0


def test_sigmoid_keeps_float32():
    z = np.float32(0.3)
    if numba.config.DISABLE_JIT:  # plain Python (no dispatcher to introspect): the type shows
        assert type(activations.sigmoid(z)) is np.float32
        return
    assert isinstance(activations.sigmoid(z), float)  # numba returns a Python float ...
    assert activations.sigmoid.nopython_signatures  # ... from a compiled signature:
    assert any(str(sig.return_type) == "float32" for sig in activations.sigmoid.nopython_signatures)


def test_sigmoid_prime_matches_finite_difference():
    for z in (-3.0, -0.2, 0.0, 0.7, 4.0):
        h = 1e-6
        fd = (activations.sigmoid(z + h) - activations.sigmoid(z - h)) / (2 * h)
        assert activations.sigmoid_prime(z) == pytest.approx(fd, rel=1e-8)


def _random_net(sizes, seed=0):
    rng = np.random.default_rng(seed)
    sizes_arr, w_off, b_off, n = _params.layout(sizes)
    theta = rng.standard_normal(n)
    weights = _params.weight_views(theta, sizes_arr, w_off)
    biases = _params.bias_views(theta, sizes_arr, b_off)
    return theta, sizes_arr, w_off, b_off, weights, biases


@pytest.mark.parametrize("sizes", [[3, 2], [5, 4, 3], [6, 5, 4, 3, 2]])
def test_layout_views_share_memory(sizes):
    theta, sizes_arr, w_off, b_off, weights, biases = _random_net(sizes)
    assert [w.shape for w in weights] == [(o, i) for i, o in zip(sizes[:-1], sizes[1:])]
    assert [b.shape for b in biases] == [(o, 1) for o in sizes[1:]]
    weights[-1][0, 0] = 123.0
    assert theta[w_off[-1]] == 123.0
    assert sum(w.size + b.size for w, b in zip(weights, biases)) == theta.size


@pytest.mark.parametrize("sizes", [[4, 3], [7, 5, 3], [6, 5, 4, 3, 2]])
def test_feedforward_batch_matches_naive(sizes):
    theta, sizes_arr, w_off, b_off, weights, biases = _random_net(sizes)
    X = np.random.default_rng(1).random((9, sizes[0]))
    out = np.empty((9, sizes[-1]))
    mlp.feedforward_batch(theta, w_off, b_off, sizes_arr, X, out)
    naive = np.stack([network_np.feedforward(weights, biases, x[:, None]).ravel() for x in X])
    np.testing.assert_allclose(out, naive, rtol=0, atol=1e-14)


@pytest.mark.parametrize("cost", [mlp.QUADRATIC, mlp.CROSS_ENTROPY])
@pytest.mark.parametrize("sizes", [[4, 3], [7, 5, 3], [6, 5, 4, 3, 2]])
def test_backprop_matches_reference(sizes, cost):
    theta, sizes_arr, w_off, b_off, weights, biases = _random_net(sizes)
    rng = np.random.default_rng(2)
    x, y = rng.random(sizes[0]), rng.random(sizes[-1])
    nabla = np.full_like(theta, np.nan)  # the kernel must overwrite every entry
    mlp.backprop(theta, w_off, b_off, sizes_arr, x, y, cost, nabla)
    name = network_np.CROSS_ENTROPY if cost == mlp.CROSS_ENTROPY else network_np.QUADRATIC
    nb, nw = network_np.backprop(weights, biases, x[:, None], y[:, None], name)
    got_b, got_w = _params.split(nabla, sizes_arr, w_off, b_off)
    for g, r in zip(got_w + got_b, nw + nb):
        np.testing.assert_allclose(g, r, rtol=0, atol=1e-14)


@pytest.mark.parametrize("m", [1, 3, 8])
def test_update_mini_batch_matches_reference(m):
    sizes = [6, 5, 4, 3]
    theta, sizes_arr, w_off, b_off, weights, biases = _random_net(sizes)
    rng = np.random.default_rng(3)
    X, Y = rng.random((m, sizes[0])), rng.random((m, sizes[-1]))
    ref_w, ref_b = network_np.update_mini_batch(
        [w.copy() for w in weights], [b.copy() for b in biases],
        [(x[:, None], y[:, None]) for x, y in zip(X, Y)], 3.0, lmbda=0.5, n=40)
    mlp.update_mini_batch(theta, w_off, b_off, sizes_arr, X, Y, np.arange(m), 3.0 / m,
                          1 - 3.0 * (0.5 / 40), mlp.QUADRATIC)
    for g, r in zip(weights + biases, ref_w + ref_b):
        np.testing.assert_allclose(g, r, rtol=0, atol=1e-13)


def test_sgd_epoch_partial_last_batch_matches_reference():
    sizes = [5, 4, 3]
    theta, sizes_arr, w_off, b_off, weights, biases = _random_net(sizes)
    rng = np.random.default_rng(4)
    X, Y = rng.random((23, 5)), rng.random((23, 3))
    order = rng.permutation(23)
    ref_w, ref_b = network_np.sgd_epoch([w.copy() for w in weights], [b.copy() for b in biases],
                                        X, Y, order, 7, 3.0)
    mlp.sgd_epoch(theta, w_off, b_off, sizes_arr, X, Y, order, 7, 3.0, 1.0, mlp.QUADRATIC)
    for g, r in zip(weights + biases, ref_w + ref_b):
        np.testing.assert_allclose(g, r, rtol=0, atol=1e-13)
