"""The chapter-6 kernels (fastnn.kernels.conv) against the NumPy reference, on real 28x28 images.

Tolerances (max abs difference of any parameter, float64): one mini-batch step
1e-10, one epoch 1e-8; gradients 1e-12.  float32 kernels against the float64
reference: 2e-5 after one step.
"""
import numba
import numpy as np
import pytest

from fastnn import network3 as n3
from fastnn.kernels import conv as K
from fastnn.reference import network3_np as ref

from network3_helpers import (ACTS, mnist40, max_param_diff, reference_layers, reference_params, small_conv_net,
                              split_masks)

STEP_TOL = 1e-10
EPOCH_TOL = 1e-8


def kernel_gradient(net, X, y, masks):
    nabla = np.zeros_like(net._theta)
    K.accumulate_gradient(net._theta, net._spec, net._keep, X, y, np.arange(X.shape[0]), masks, 0, nabla,
                          np.zeros(0))
    return nabla / X.shape[0]


@pytest.mark.parametrize("act", ACTS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("p", [0.0, 0.5])
def test_gradient_matches_reference(act, p):
    X, y = mnist40()
    net = small_conv_net(act, p)
    masks = net._draw_masks(10)
    g = kernel_gradient(net, X[:10], y[:10], masks)
    expected = ref.gradient(reference_layers(net), reference_params(net), X[:10], y[:10], split_masks(net, masks))
    flat = np.concatenate([a.ravel() for pair in expected for a in pair])
    assert np.abs(g - flat).max() <= 1e-12 * max(1.0, np.abs(flat).max())
    assert np.abs(flat).max() > 1e-3  # a gradient that means something


@pytest.mark.parametrize("act", ACTS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("p", [0.0, 0.5])
@pytest.mark.parametrize("lmbda", [0.0, 0.5])
def test_step_and_epoch_match_reference(act, p, lmbda):
    X, y = mnist40()
    net = small_conv_net(act, p)
    layers, params = reference_layers(net), reference_params(net)
    masks = net._draw_masks(40)
    eta, m = 0.1, 10
    ntb = 4
    # one step
    step = net._theta.copy()
    K.sgd_chunk(step, net._spec, net._keep, X, y, np.arange(10), masks, m, eta, eta * lmbda / ntb, np.zeros(0), 1)
    expected = ref.sgd_step(layers, params, X[:10], y[:10], eta, [None if k is None else k[:10] for k in
                                                                  split_masks(net, masks)], lmbda, ntb)
    stepped = small_conv_net(act, p)
    stepped._theta[...] = step
    assert max_param_diff(stepped, expected) <= STEP_TOL
    assert max_param_diff(stepped, params) > 1e-4  # the step moved the parameters
    # one epoch (4 mini-batches)
    K.sgd_chunk(net._theta, net._spec, net._keep, X, y, np.arange(40), masks, m, eta, eta * lmbda / ntb,
                np.zeros(0), 2)
    expected = ref.sgd_epoch(layers, params, X, y, m, eta, split_masks(net, masks), lmbda)
    assert max_param_diff(net, expected) <= EPOCH_TOL


def test_inference_matches_reference_with_dropout_scaling():
    X, y = mnist40()
    net = small_conv_net(n3.ReLU, 0.3)
    out = np.empty((40, 10))
    K.predict_proba(net._theta, net._spec, net._keep, X, out, 1)
    expected = ref.feedforward(reference_layers(net), reference_params(net), X)
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-14)


def test_float32_kernels_stay_float32_and_match_reference():
    X, y = mnist40(np.float32)
    net = small_conv_net(n3.sigmoid, 0.5, dtype="float32")
    masks = net._draw_masks(10)
    layers, params = reference_layers(net), reference_params(net)
    theta = net._theta.copy()
    K.sgd_chunk(theta, net._spec, net._keep, X, y, np.arange(10), masks, 10, np.float32(0.1),
                np.float32(0.01), np.zeros(0), 1)
    assert theta.dtype == np.float32
    expected = ref.sgd_step(layers, params, X[:10].astype(np.float64), y[:10], 0.1,
                            [None if k is None else k[:10] for k in split_masks(net, masks)], 0.4, 4)
    net._theta[...] = theta
    assert max_param_diff(net, expected) <= 2e-5
    out = np.empty((40, 10), dtype=np.float32)
    K.predict_proba(net._theta, net._spec, net._keep, X, out, 1)
    np.testing.assert_allclose(out, ref.feedforward(layers, reference_params(net), X.astype(np.float64)),
                               atol=2e-6)
    if not numba.config.DISABLE_JIT:  # every compiled signature of float32 input is all float32
        sigs = [s for s in K.sgd_chunk.nopython_signatures if "float32" in str(s.args[0])]
        assert sigs and all("float64" not in str(a) for s in sigs for a in s.args[:4])
        # the scalar helpers return float32 for float32 (no 1.0/0.0 literal promotes them)
        for code in (K.SIGMOID, K.TANH, K.RELU, K.LINEAR):
            K.activate(code, np.float32(0.3))
            K.derivative_from_output(code, np.float32(0.3))
        for fn in (K.activate, K.derivative_from_output):
            ret = [str(s.return_type) for s in fn.nopython_signatures if str(s.args[1]) == "float32"]
            assert ret == ["float32"]


def test_pool_tie_gives_the_whole_gradient_to_the_first_maximum():
    # a 1-filter, 1x1 "convolution" with w = 1: the pooled map is the input's block maximum,
    # and the 2x2 block [[2, 5], [5, 1]] has a tie between (0, 1) and (1, 0)
    m = 1
    layers = [n3.ConvPoolLayer((1, 1, 1, 1), (m, 1, 2, 2), poolsize=(2, 2), activation_fn=n3.linear),
              n3.SoftmaxLayer(1, 2)]
    net = n3.Network(layers, m, seed=0)
    net.layers[0].w = np.ones((1, 1, 1, 1))
    net.layers[0].b = np.zeros(1)
    net.layers[1].w = np.array([[1.0, -1.0]])
    x = np.array([[2.0, 5.0, 5.0, 1.0]])
    masks = np.zeros((1, 0), dtype=np.uint8)
    nabla = np.zeros_like(net._theta)
    K.accumulate_gradient(net._theta, net._spec, net._keep, x, np.array([0]), np.arange(1), masks, 0, nabla,
                          np.zeros(0))
    # dC/dw of the conv layer = delta * x at the routed position = delta * 5 (from (0, 1) alone,
    # not 2 * delta * 5 as Theano, which routes to both tied elements)
    delta = nabla[1]  # dC/db (= delta, one pooled output)
    assert delta != 0
    assert nabla[0] == pytest.approx(5.0 * delta, rel=1e-15)
    args = np.zeros(1, dtype=np.int64)
    act = np.empty(1 + 4 + 2)
    act[:4] = x[0]
    cols = np.empty(4)
    zc = np.empty(4)
    K.conv_pool_forward(net._theta, net._spec[0], act, cols, zc, args)
    assert args[0] == 1  # position (0, 1): the first maximum in row-major order
    # the reference follows the same rule
    g = ref.gradient(reference_layers(net), reference_params(net), x, np.array([0]))
    assert g[0][0][0, 0, 0, 0] == pytest.approx(5.0 * delta, rel=1e-15)


def test_zero_patches_tie_exactly_and_agree_with_reference():
    # MNIST's empty borders give exactly equal (zero) convolution outputs in a pooling block
    X, y = mnist40()
    net = small_conv_net(n3.ReLU)
    X0 = X[:10].copy()
    X0[:, :28 * 6] = 0.0  # six empty rows at the top
    g = kernel_gradient(net, X0, y[:10], net._draw_masks(10))
    expected = ref.gradient(reference_layers(net), reference_params(net), X0, y[:10])
    flat = np.concatenate([a.ravel() for pair in expected for a in pair])
    assert np.abs(g - flat).max() <= 1e-12 * max(1.0, np.abs(flat).max())


def test_dense_only_network_matches_reference():
    X, y = mnist40()
    layers = [n3.FullyConnectedLayer(784, 30, n3.tanh, p_dropout=0.2), n3.SoftmaxLayer(30, 10, p_dropout=0.1)]
    net = n3.Network(layers, 5, seed=4)
    params = reference_params(net)
    masks = net._draw_masks(40)
    K.sgd_chunk(net._theta, net._spec, net._keep, X, y, np.arange(40), masks, 5, 0.3, 0.3 * 0.2 / 8, np.zeros(0), 1)
    expected = ref.sgd_epoch(reference_layers(net), params, X, y, 5, 0.3, split_masks(net, masks), 0.2)
    assert max_param_diff(net, expected) <= EPOCH_TOL


@pytest.mark.parametrize("shape", [((1, 1, 3, 4), (1, 11, 13), (3, 2)), ((5, 3, 2, 3), (3, 7, 8), (2, 3))])
def test_odd_shapes_and_pools_match_reference(shape):
    # non-square filters and pools, borders the pool ignores, a single filter, a direct (q < 64)
    # first layer followed by a gathered one or not
    filt, img, pool = shape
    rng = np.random.default_rng(7)
    layer = n3.ConvPoolLayer(filt, (4,) + img, poolsize=pool, activation_fn=n3.tanh)
    n_out = layer.n_out
    net = n3.Network([layer, n3.FullyConnectedLayer(n_out, 6, n3.sigmoid), n3.SoftmaxLayer(6, 4)], 4, seed=1)
    net.layers[2].w = rng.normal(0, 0.5, (6, 4))
    X = rng.random((8, int(np.prod(img))))
    y = rng.integers(0, 4, 8)
    masks = net._draw_masks(8)
    g = kernel_gradient(net, X, y, masks)
    expected = ref.gradient(reference_layers(net), reference_params(net), X, y)
    flat = np.concatenate([a.ravel() for pair in expected for a in pair])
    assert np.abs(g - flat).max() <= 1e-12 * max(1.0, np.abs(flat).max())
    out = np.empty((8, 4))
    K.predict_proba(net._theta, net._spec, net._keep, X, out, 1)
    np.testing.assert_allclose(out, ref.feedforward(reference_layers(net), reference_params(net), X), atol=1e-14)


@pytest.mark.parametrize("dtype,m", [("float64", 10), ("float32", 10), ("float64", 20)])
def test_batched_dense_layers_equal_the_per_sample_passes_bit_for_bit(dtype, m):
    # sgd_chunk and predict_proba run the dense layers for a whole mini-batch (block) at once;
    # accumulate_gradient and forward_sample are the plain per-sample versions
    X, y = mnist40(dtype)
    net = small_conv_net(n3.sigmoid, 0.5, dtype=dtype)
    masks = net._draw_masks(40)
    fast = net._theta.copy()
    t = np.dtype(dtype).type
    # (mini-batches of 20 run in blocks of K.TRAIN_BLOCK = 10 samples)
    K.sgd_chunk(fast, net._spec, net._keep, X, y, np.arange(40), masks, m, t(0.1), t(0.01), np.zeros(0), 3)
    plain = net._theta.copy()
    nabla = np.zeros_like(plain)
    for start in range(0, 40, m):
        K.accumulate_gradient(plain, net._spec, net._keep, X, y, np.arange(start, start + m), masks, start, nabla,
                              np.zeros(0))
        K.apply_step(plain, nabla, net._spec, t(0.1) / t(m), t(0.01))
    np.testing.assert_array_equal(fast, plain)
    out = np.empty((40, 10), dtype=dtype)
    K.predict_proba(fast, net._spec, net._keep, X, out, 3)
    act, args, cols, dcols, zc, xd, z, delta, dprev = K._scratch(fast, net._spec)
    out0 = net._spec[-1, K.OUT_OFF]
    for i in range(40):
        K.forward_sample(fast, net._spec, net._keep, X[i], act, args, masks, -1, False, cols, zc, xd, z)
        np.testing.assert_array_equal(out[i], act[out0:out0 + 10])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_metrics_are_the_training_path_cost_and_accuracy(dtype):
    # sgd_chunk's running metrics: the sum of -log a_y (in float64) and the count classified
    # correctly, each sample measured on its training-path output (dropout masks, no scaling)
    # before its mini-batch's step
    X, y = mnist40(dtype)
    net = small_conv_net(n3.sigmoid, 0.5, dtype=dtype)
    masks = net._draw_masks(20)
    layers, params = reference_layers(net), reference_params(net)
    t = np.dtype(dtype).type
    metrics = np.zeros(2)
    K.sgd_chunk(net._theta, net._spec, net._keep, X, y, np.arange(20), masks, 10, t(0.5), t(0), metrics, 2)
    cost, correct = 0.0, 0
    for k in range(2):
        rows = slice(10 * k, 10 * k + 10)
        batch_masks = [None if m is None else m[rows] for m in split_masks(net, masks)]
        a = ref.forward(layers, params, X[rows].astype(np.float64), batch_masks, train=True)[-1]["a"]
        cost += float(-np.sum(np.log(a[np.arange(10), y[rows]])))
        correct += int(np.sum(np.argmax(a, axis=1) == y[rows]))
        params = ref.sgd_step(layers, params, X[rows].astype(np.float64), y[rows], 0.5, batch_masks)
    assert metrics.dtype == np.float64
    assert metrics[0] == pytest.approx(cost, rel=1e-12 if dtype == "float64" else 1e-5)
    assert metrics[1] == correct
    assert 0 < correct < 20  # both outcomes occur, so a wrong argmax shows


def test_accuracy_metric_counts_the_most_probable_class():
    # labels set to the net's own training-path predictions: all of them count as correct
    # (and none would if the kernel took the least probable class)
    X, _ = mnist40()
    net = small_conv_net(n3.tanh, 0.5)
    masks = net._draw_masks(10)
    a = ref.forward(reference_layers(net), reference_params(net), X[:10], split_masks(net, masks), train=True)[-1]["a"]
    own = np.argmax(a, axis=1).astype(np.int64)
    metrics = np.zeros(2)
    K.sgd_chunk(net._theta, net._spec, net._keep, X, own, np.arange(10), masks, 10, 0.1, 0.0, metrics, 1)
    assert metrics[1] == 10
    assert metrics[0] == pytest.approx(float(-np.sum(np.log(a[np.arange(10), own]))), rel=1e-12)


def test_permute_filters_is_the_channel_last_order_with_the_flip_undone():
    net = small_conv_net(n3.ReLU)
    spec_l = net._spec[1]
    w = net.layers[1].w  # (F, C, fh, fw) = (8, 6, 5, 5)
    wperm = np.full(w.size + 3, -1.0)
    K.permute_filters(net._theta, spec_l, wperm)
    expected = w[:, :, ::-1, ::-1].transpose(0, 2, 3, 1)  # wperm[f, k, l, c] = w[f, c, fh-1-k, fw-1-l]
    assert np.array_equal(wperm[:w.size].reshape(expected.shape), expected)
    assert np.all(wperm[w.size:] == -1.0)  # nothing written past the filters


@pytest.mark.parametrize("second", [(4, 3, 3, 2), (5, 8, 3, 3)], ids=["direct", "gathered"])
def test_input_gradient_of_a_second_conv_layer_of_odd_shape(second):
    # the channel-last input gradient below a first conv layer, for filters other than 5x5:
    # 3*3*2 = 18 inputs per output (a direct layer) and 8*3*3 = 72 (a gathered one)
    rng = np.random.default_rng(3)
    f2, c2, fh, fw = second
    first = n3.ConvPoolLayer((c2, 1, 3, 3), (4, 1, 14, 13), activation_fn=n3.tanh)  # -> (c2, 6, 5)
    conv2 = n3.ConvPoolLayer((f2, c2, fh, fw), (4, c2, 6, 5), poolsize=(2, 1), activation_fn=n3.sigmoid)
    net = n3.Network([first, conv2, n3.FullyConnectedLayer(conv2.n_out, 6, n3.tanh), n3.SoftmaxLayer(6, 3)], 4,
                     seed=2)
    net.layers[3].w = rng.normal(0, 0.5, (6, 3))
    X = rng.random((8, 14 * 13))
    y = rng.integers(0, 3, 8)
    g = kernel_gradient(net, X, y, net._draw_masks(8))
    expected = ref.gradient(reference_layers(net), reference_params(net), X, y)
    flat = np.concatenate([a.ravel() for pair in expected for a in pair])
    assert np.abs(g - flat).max() <= 1e-12 * max(1.0, np.abs(flat).max())
    assert np.abs(flat[:first.w.size]).max() > 1e-4  # the first layer received gradient through the second
