"""The per-sample kernels of :mod:`fastnn.kernels.mlp` against a slow, obviously-correct NumPy
computation (the stumpy pattern): the parameter layout, the forward pass, backprop, one
mini-batch step and an epoch, against :mod:`fastnn.reference.network_np`."""
import numpy as np
import pytest

from fastnn import _params
from fastnn.kernels import mlp
from fastnn.reference import network_np


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
