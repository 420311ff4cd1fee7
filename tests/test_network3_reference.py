"""The chapter-6 NumPy reference (fastnn.reference.network3_np) against central finite differences."""
import numpy as np
import pytest

from fastnn.reference import network3_np as ref

ACTS = ref.ACTIVATIONS


def tiny_net(act, p=0.0, seed=0, fc_first=False):
    """Conv(2 filters 3x3 on 1x8x7) -> pool 2x2 -> conv(3, 2x2) -> pool(1, 2) -> fc -> softmax."""
    rng = np.random.default_rng(seed)
    if fc_first:
        layers = [("fc", 12, 5, act, p), ("softmax", 5, 3, p)]
    else:
        layers = [("conv", (2, 1, 3, 3), (1, 8, 7), (2, 2), act),   # -> (2, 3, 2)
                  ("conv", (3, 2, 2, 2), (2, 3, 2), (1, 1), act),   # -> (3, 2, 1)
                  ("fc", 6, 4, act, p), ("softmax", 4, 3, p)]
    params = []
    for layer in layers:
        if layer[0] == "conv":
            w = rng.normal(0, 0.7, layer[1])
            b = rng.normal(0, 0.5, layer[1][0])
        else:
            w = rng.normal(0, 0.7, (layer[1], layer[2]))
            b = rng.normal(0, 0.5, layer[2])
        params.append((w, b))
    n_in = 12 if fc_first else 56
    X = rng.random((3, n_in))
    y = rng.integers(0, 3, 3)
    masks = [None if l[0] == "conv" or (l[4] if l[0] == "fc" else l[3]) == 0 else
             (rng.random((3, l[1])) >= (l[4] if l[0] == "fc" else l[3])).astype(float) for l in layers]
    return layers, params, X, y, masks


def numeric_gradient(layers, params, X, y, masks, lmbda, ntb, h=1e-6):
    grads = []
    for l, (w, b) in enumerate(params):
        pair = []
        for which, arr in ((0, w), (1, b)):
            g = np.zeros_like(arr)
            for idx in np.ndindex(arr.shape):
                vals = []
                for sign in (1, -1):
                    p2 = [(ww.copy(), bb.copy()) for ww, bb in params]
                    p2[l][which][idx] += sign * h
                    vals.append(ref.cost(layers, p2, X, y, masks, lmbda, ntb))
                g[idx] = (vals[0] - vals[1]) / (2 * h)
            pair.append(g)
        grads.append(tuple(pair))
    return grads


def assert_grads_close(analytic, numeric):
    for (gw, gb), (nw, nb) in zip(analytic, numeric):
        for a, n in ((gw, nw), (gb, nb)):
            scale = max(np.abs(n).max(), 1e-3)
            # relative to the largest entry of the layer's gradient: central differences with h=1e-6
            # are accurate to ~1e-9 absolute here
            assert np.abs(a - n).max() <= 1e-6 * scale, (np.abs(a - n).max(), scale)


@pytest.mark.parametrize("act", ACTS)
def test_conv_net_gradient_matches_finite_differences(act):
    layers, params, X, y, masks = tiny_net(act)
    if act == "relu":  # keep every pre-activation away from the kink at 0
        X = X + 0.5
    assert_grads_close(ref.gradient(layers, params, X, y), numeric_gradient(layers, params, X, y, None, 0.0, 1))


@pytest.mark.parametrize("act", ["sigmoid", "tanh"])
def test_dropout_and_l2_gradient_matches_finite_differences(act):
    layers, params, X, y, masks = tiny_net(act, p=0.4, seed=3)
    assert any(m is not None and (m == 0).any() for m in masks)
    g = ref.gradient(layers, params, X, y, masks, lmbda=0.7, num_training_batches=3)
    assert_grads_close(g, numeric_gradient(layers, params, X, y, masks, 0.7, 3))


@pytest.mark.parametrize("act", ACTS)
def test_fully_connected_net_gradient_with_dropout(act):
    layers, params, X, y, masks = tiny_net(act, p=0.3, seed=1, fc_first=True)
    g = ref.gradient(layers, params, X, y, masks, lmbda=0.2, num_training_batches=2)
    assert_grads_close(g, numeric_gradient(layers, params, X, y, masks, 0.2, 2))


def test_convolution_flips_the_filter():
    rng = np.random.default_rng(0)
    x, w = rng.random((2, 6, 5)), rng.random((3, 2, 3, 2))
    out = ref.conv_valid(x, w)
    assert out.shape == (3, 4, 4)
    np.testing.assert_allclose(out, ref.conv_valid_check(x, w), rtol=1e-13)
    # one explicit element: z[f,i,j] = sum x[c,i+k,j+l] w[f,c,fh-1-k,fw-1-l]
    expected = sum(x[c, 1 + k, 2 + l] * w[1, c, 2 - k, 1 - l] for c in range(2) for k in range(3) for l in range(2))
    assert out[1, 1, 2] == pytest.approx(expected, rel=1e-13)


def test_max_pool_ignores_border_and_takes_first_maximum():
    z = np.array([[[1., 3., 3., 0., 9.],
                   [3., 2., 1., 1., 9.],
                   [5., 5., 5., 5., 9.]]])
    pooled, rows, cols = ref.max_pool(z, (2, 2))
    assert pooled.shape == (1, 1, 2)
    np.testing.assert_array_equal(pooled[0, 0], [3., 3.])
    # block 0 has 3 at (0,1) and (1,0): the first in row-major order is (0,1)
    assert (rows[0, 0, 0], cols[0, 0, 0]) == (0, 1)
    assert (rows[0, 0, 1], cols[0, 0, 1]) == (0, 2)


def test_inference_scales_xw_not_b_by_keep_probability():
    layers = [("softmax", 2, 2, 0.25)]
    w = np.array([[1.0, -1.0], [2.0, 0.5]])
    b = np.array([0.3, -0.2])
    x = np.array([[1.0, 2.0]])
    z = 0.75 * (x @ w) + b
    expected = np.exp(z) / np.exp(z).sum()
    np.testing.assert_allclose(ref.feedforward(layers, [(w, b)], x), expected, rtol=1e-14)


def test_sgd_step_is_param_minus_eta_grad_with_l2_per_batch():
    layers, params, X, y, masks = tiny_net("tanh", p=0.0, seed=2, fc_first=True)
    g = ref.gradient(layers, params, X, y)
    new = ref.sgd_step(layers, params, X, y, eta=0.5, lmbda=0.6, num_training_batches=4)
    for (w, b), (gw, gb), (nw, nb) in zip(params, g, new):
        np.testing.assert_allclose(nw, w - 0.5 * (gw + 0.6 * w / 4), rtol=1e-13)
        np.testing.assert_allclose(nb, b - 0.5 * gb, rtol=1e-13)
