"""The chapter-6 kernels at their edges (found by kernels/conv.py's mutation run): a direct
convolution with the most inputs per output (DIRECT_MAX_Q - 1, filters one column wide), and
networks where only some dense layers have dropout, on both the per-sample and the
whole-mini-batch paths, and a step of a network of more than 256 layers.  Small shapes: tools/mutation.py runs these without the compiler."""
import numpy as np
import pytest

from fastnn import network3 as n3
from fastnn.kernels import conv as K
from fastnn.reference import network3_np as ref

from network3_helpers import check_apply_step, reference_layers, reference_params, split_masks, max_param_diff


def train_both_ways(net, X, y, m, eta=0.3, lmbda=0.2):
    """One epoch by sgd_chunk (whole mini-batches, 2 threads) and by the per-sample kernels;
    returns both parameter vectors, the reference's epoch and the masks."""
    n = X.shape[0]
    masks = net._draw_masks(n)
    ntb = n // m
    layers, params = reference_layers(net), reference_params(net)
    plain = net._theta.copy()
    nabla = np.zeros_like(plain)
    for start in range(0, ntb * m, m):
        K.accumulate_gradient(plain, net._spec, net._keep, X, y, np.arange(start, start + m), masks, start, nabla,
                              np.zeros(0))
        K.apply_step(plain, nabla, net._spec, eta / m, eta * lmbda / ntb)
    fast = net._theta.copy()
    K.sgd_chunk(fast, net._spec, net._keep, X, y, np.arange(n), masks, m, eta, eta * lmbda / ntb, np.zeros(0), 2)
    expected = ref.sgd_epoch(layers, params, X, y, m, eta, split_masks(net, masks), lmbda)
    return plain, fast, expected


def check_epoch(net, X, y, m):
    plain, fast, expected = train_both_ways(net, X, y, m)
    np.testing.assert_array_equal(fast, plain)
    start = net._theta.copy()
    net._theta[...] = fast
    assert max_param_diff(net, expected) <= 1e-10
    assert np.abs(fast - start).max() > 1e-3


def test_a_direct_layer_with_63_inputs_per_output_gathers_them_for_its_backward_pass():
    # 7 channels x 9 x 1 filters: Q = 63, one below DIRECT_MAX_Q, convolved directly (the
    # inputs are gathered for the weight gradients only), first and second layer; and one
    # channel of 9 x 7 filters (first layer)
    assert 7 * 9 * 1 == 1 * 9 * 7 == K.DIRECT_MAX_Q - 1
    first = n3.ConvPoolLayer((3, 7, 9, 1), (5, 7, 10, 4), poolsize=(2, 2), activation_fn=n3.tanh)  # -> (3, 1, 2)
    second = n3.ConvPoolLayer((4, 7, 9, 1), (5, 7, 9, 3), poolsize=(1, 3), activation_fn=n3.tanh)  # -> (4, 1, 1)
    for layers, n_in in (([first], 280), ([n3.ConvPoolLayer((7, 1, 2, 2), (5, 1, 10, 4), poolsize=(1, 1),
                                                            activation_fn=n3.tanh), second], 40)):
        net = n3.Network(layers + [n3.SoftmaxLayer(layers[-1].n_out, 3)], 5, seed=1)
        net.layers[-1].w = np.random.default_rng(2).normal(0, 0.8, net.layers[-1].w.shape)
        rng = np.random.default_rng(3)
        X, y = rng.random((10, n_in)) - 0.4, rng.integers(0, 3, 10)
        check_epoch(net, X, y, 5)
    net = n3.Network([n3.ConvPoolLayer((2, 1, 9, 7), (5, 1, 10, 8), poolsize=(2, 2), activation_fn=n3.tanh),
                      n3.SoftmaxLayer(2, 3)], 5, seed=1)
    net.layers[-1].w = np.random.default_rng(2).normal(0, 0.8, net.layers[-1].w.shape)
    rng = np.random.default_rng(4)
    check_epoch(net, rng.random((10, 80)) - 0.4, rng.integers(0, 3, 10), 5)


@pytest.mark.parametrize("p_fc,p_softmax", [(0.0, 0.5), (0.5, 0.0), (0.4, 0.3)])
def test_dropout_on_some_dense_layers_only(p_fc, p_softmax):
    # a layer without dropout reads no mask columns, whatever the other layers' masks hold
    conv = n3.ConvPoolLayer((4, 1, 3, 3), (6, 1, 8, 8), poolsize=(2, 2), activation_fn=n3.ReLU)  # -> (4, 3, 3)
    layers = [conv, n3.FullyConnectedLayer(36, 9, n3.sigmoid, p_dropout=p_fc),
              n3.FullyConnectedLayer(9, 8, n3.tanh, p_dropout=0.0), n3.SoftmaxLayer(8, 5, p_dropout=p_softmax)]
    net = n3.Network(layers, 6, seed=4)
    net.layers[-1].w = np.random.default_rng(5).normal(0, 0.8, net.layers[-1].w.shape)
    rng = np.random.default_rng(6)
    X, y = rng.random((18, 64)), rng.integers(0, 5, 18)
    check_epoch(net, X, y, 6)


def test_a_hidden_layer_of_one_unit():
    # n_out = 1: each weight row of the layer is one value (the slices of one row end where the
    # next begins), and its input gradient is that single weight times delta
    conv = n3.ConvPoolLayer((3, 1, 3, 3), (4, 1, 7, 7), poolsize=(2, 2), activation_fn=n3.tanh)  # -> (3, 2, 2)
    layers = [conv, n3.FullyConnectedLayer(12, 1, n3.sigmoid), n3.FullyConnectedLayer(1, 5, n3.tanh),
              n3.SoftmaxLayer(5, 3)]
    net = n3.Network(layers, 4, seed=7)
    net.layers[-1].w = np.random.default_rng(8).normal(0, 0.8, net.layers[-1].w.shape)
    net.layers[1].w = net.layers[1].w * 4.0
    rng = np.random.default_rng(9)
    X, y = rng.random((12, 49)), rng.integers(0, 3, 12)
    check_epoch(net, X, y, 4)


def test_a_step_of_a_network_of_more_than_256_layers():
    # the last layer's biases end at theta's end: the step finds that end by comparing l + 1
    # with the layer count, values above 256 (where CPython's ints stop being shared)
    layers = [n3.FullyConnectedLayer(2, 2, n3.tanh) for _ in range(299)] + [n3.SoftmaxLayer(2, 3)]
    net = n3.Network(layers, 1, seed=2)
    assert net._spec.shape[0] == 300
    check_apply_step(net, seed=4)
