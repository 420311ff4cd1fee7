"""Shared helpers of the chapter-6 tests: real 28x28 images and the reference's view of a network."""
import os

import numpy as np

from fastnn import network3 as n3
from fastnn.kernels import conv as K

HERE = os.path.dirname(__file__)

ACT_NAMES = {n3.sigmoid: "sigmoid", n3.tanh: "tanh", n3.ReLU: "relu", n3.linear: "linear"}
ACTS = [n3.sigmoid, n3.tanh, n3.ReLU, n3.linear]


def mnist40(dtype=np.float64):
    """The first 40 images of the MNIST test set (tests/data, 6.8 kB) in [0, 1], and labels."""
    with np.load(os.path.join(HERE, "data", "mnist_t10k_first40.npz")) as d:
        return (d["images"] / 255.0).astype(dtype), d["labels"].astype(np.int64)


def small_conv_net(act, p=0.0, m=10, seed=0, dtype="float64"):
    """CP(6 of 5x5) -> CP(8 of 5x5) -> FC(128 -> 20) -> softmax(20 -> 10) on 28x28 images."""
    layers = [n3.ConvPoolLayer((6, 1, 5, 5), (m, 1, 28, 28), activation_fn=act),
              n3.ConvPoolLayer((8, 6, 5, 5), (m, 6, 12, 12), activation_fn=act),
              n3.FullyConnectedLayer(8 * 4 * 4, 20, activation_fn=act, p_dropout=p),
              n3.SoftmaxLayer(20, 10, p_dropout=p)]
    net = n3.Network(layers, m, seed=seed, dtype=dtype)
    # the softmax starts at zero (the book's init); give it values so every gradient is non-trivial
    rng = np.random.default_rng(seed + 100)
    net.layers[-1].w = rng.normal(0, 0.3, net.layers[-1].w.shape)
    net.layers[-1].b = rng.normal(0, 0.3, net.layers[-1].b.shape)
    return net


def reference_layers(net):
    """The network as the reference's layer tuples."""
    out = []
    for layer in net.layers:
        if isinstance(layer, n3.ConvPoolLayer):
            out.append(("conv", layer.filter_shape, layer.image_shape[1:], layer.poolsize,
                        ACT_NAMES[layer.activation_fn]))
        elif isinstance(layer, n3.SoftmaxLayer):
            out.append(("softmax", layer.n_in, layer.n_out, layer.p_dropout))
        else:
            out.append(("fc", layer.n_in, layer.n_out, ACT_NAMES[layer.activation_fn], layer.p_dropout))
    return out


def reference_params(net, dtype=np.float64):
    return [(layer.w.astype(dtype), layer.b.astype(dtype)) for layer in net.layers]


def split_masks(net, masks):
    """The kernels' concatenated mask rows as the reference's per-layer float masks."""
    out = []
    for l, layer in enumerate(net.layers):
        off = net._spec[l, K.MASK_OFF]
        out.append(None if off < 0 else masks[:, off:off + layer.n_in].astype(np.float64))
    return out


def max_param_diff(net, params):
    return max(max(np.abs(layer.w - w).max(), np.abs(layer.b - b).max())
               for layer, (w, b) in zip(net.layers, params))


def gathering_pair_epoch_diff(conv1, conv2, n_out_in, seed, w_seed, m=5):
    """Train a net of two conv layers that gather their inputs (``conv1``, ``conv2``: the
    ``(filter_shape, image_shape)`` of each, tanh) and a softmax of ``n_out_in`` inputs for one
    epoch of 20 images, with the softmax weights drawn from ``w_seed``; return the largest
    parameter difference from the reference's epoch."""
    from fastnn.reference import network3_np as ref

    X, y = mnist40()
    net = n3.Network([n3.ConvPoolLayer(*conv1, activation_fn=n3.tanh),
                      n3.ConvPoolLayer(*conv2, activation_fn=n3.tanh),
                      n3.SoftmaxLayer(n_out_in, 10)], m, seed=seed)
    assert all(np.prod(layer.filter_shape[1:]) >= n3._kernels.DIRECT_MAX_Q for layer in net.layers[:2])
    net.layers[-1].w = np.random.default_rng(w_seed).normal(0, 0.5, net.layers[-1].w.shape)
    layers, params = reference_layers(net), reference_params(net)
    net.fit(X[:20], y[:20], 1, m, 0.2)
    expected = ref.sgd_epoch(layers, params, X[:20], y[:20], m, 0.2, [None] * 3, 0.0)
    return max_param_diff(net, expected)


def check_apply_step(net, seed, rate=0.3, decay=0.05):
    """``K.apply_step`` on ``net``'s parameters against the plain formula, bit for bit:
    w -> w - (decay * w + rate * nabla_w), b -> b - rate * nabla_b, and the gradient cleared."""
    theta = net._theta.copy()
    nabla = np.random.default_rng(seed).normal(size=theta.shape)
    expected = theta - rate * nabla
    start = 0
    for layer in net.layers:
        w = slice(start, start + layer.w.size)
        expected[w] = theta[w] - (decay * theta[w] + rate * nabla[w])
        start += layer.w.size + layer.b.size
    assert start == theta.size
    K.apply_step(theta, nabla, net._spec, rate, decay)
    np.testing.assert_array_equal(theta, expected)
    assert np.all(nabla == 0)


def interrupt_after_each_chunk(monkeypatch):
    """Make network3's compiled training chunk raise KeyboardInterrupt once it has run (as a
    Ctrl-C between two chunks would); ``monkeypatch.undo()`` restores it."""
    real = n3._kernels.sgd_chunk

    def interrupted(*args):
        real(*args)
        raise KeyboardInterrupt

    monkeypatch.setattr(n3._kernels, "sgd_chunk", interrupted)
