"""fastnn.network3 (the compiled chapter-6 net) against the independent PyTorch net of
fastnn.rivals_conv: same initial weights, same mini-batches, same dropout masks.

Float64 tolerance: parameters after one epoch (8 mini-batches) within rtol 1e-10 / atol 1e-12
(measured: at most 6e-15);
float32 within rtol/atol 2e-4.  Random-float inputs, so no max-pool window has tied values.
Skipped without PyTorch (an optional dependency).
"""
import numpy as np
import pytest
from numpy.testing import assert_allclose

network3 = pytest.importorskip("fastnn.network3")
pytest.importorskip("torch")
from fastnn.rivals_conv import spec_from_layers, train_conv_torch  # noqa: E402

M = 5  # mini-batch size
ACTIVATIONS = {"sigmoid": "sigmoid", "tanh": "tanh", "relu": "ReLU", "linear": "linear"}


def make_net(activation, p_dropout, dtype):
    fn = getattr(network3, ACTIVATIONS[activation])
    layers = [
        network3.ConvPoolLayer((3, 1, 5, 5), (M, 1, 13, 12), poolsize=(2, 2), activation_fn=fn),  # -> 3x4x4
        network3.ConvPoolLayer((4, 3, 3, 2), (M, 3, 4, 4), poolsize=(2, 1), activation_fn=fn),   # -> 4x1x3
        network3.FullyConnectedLayer(12, 7, activation_fn=fn, p_dropout=p_dropout),
        network3.SoftmaxLayer(7, 4, p_dropout=p_dropout),
    ]
    net = network3.Network(layers, M, seed=1, dtype=dtype)
    rng = np.random.default_rng(2)
    net.layers[-1].w = rng.normal(0, 0.3, (7, 4))  # not the zero init, to exercise its gradient
    net.layers[-1].b = rng.normal(0, 0.3, 4)
    return net


def same_masks_as(net, seed, spec):
    """The network's masks: per mini-batch one uniform draw per (row, dropout input), layer order."""
    net.rng = np.random.default_rng(seed)
    rng = np.random.default_rng(seed)
    dropout = [i for i, layer in enumerate(spec) if layer["kind"] != "conv" and layer["p_dropout"] > 0]
    widths = [spec[i]["n_in"] for i in dropout]
    keep = np.concatenate([np.full(spec[i]["n_in"], 1.0 - spec[i]["p_dropout"]) for i in dropout] or [[]])
    current = {}

    def masks(step, i):
        if i not in dropout:
            return None
        if current.get("step") != step:
            u = rng.random((M, int(sum(widths))))
            parts = np.split((u < keep).astype(np.float64), np.cumsum(widths)[:-1], axis=1)
            current.update(step=step, masks=dict(zip(dropout, parts)))
        return current["masks"][i]

    return masks


@pytest.mark.parametrize("activation, p_dropout, lmbda", [
    ("sigmoid", 0.0, 0.0), ("tanh", 0.0, 0.3), ("relu", 0.0, 0.3), ("linear", 0.0, 0.0),
    ("relu", 0.3, 0.3), ("tanh", 0.5, 0.0),
])
def test_one_epoch_float64_matches_pytorch(activation, p_dropout, lmbda):
    net = make_net(activation, p_dropout, "float64")
    spec = spec_from_layers(net.layers)
    before = [(layer.w.copy(), layer.b.copy()) for layer in net.layers]
    rng = np.random.default_rng(3)
    X, y = rng.random((8 * M + 2, 13 * 12)), rng.integers(0, 4, 8 * M + 2)   # 2 leftover rows
    masks = same_masks_as(net, 11, spec)
    net.fit(X, y, epochs=1, mini_batch_size=M, eta=0.2, lmbda=lmbda)
    torch_net = train_conv_torch(spec, before, X, y, mini_batch_size=M, eta=0.2, lmbda=lmbda,
                                 masks=masks)
    for layer, (w, b) in zip(net.layers, torch_net["weights"]):
        assert_allclose(layer.w, w, rtol=1e-10, atol=1e-12)
        assert_allclose(layer.b, b, rtol=1e-10, atol=1e-12)


def test_one_epoch_float32_matches_pytorch():
    net = make_net("relu", 0.0, "float32")
    spec = spec_from_layers(net.layers)
    before = [(layer.w.copy(), layer.b.copy()) for layer in net.layers]
    rng = np.random.default_rng(4)
    X, y = rng.random((8 * M, 13 * 12)).astype(np.float32), rng.integers(0, 4, 8 * M)
    net.fit(X, y, epochs=1, mini_batch_size=M, eta=0.2, lmbda=0.3)
    torch_net = train_conv_torch(spec, before, X, y, mini_batch_size=M, eta=0.2, lmbda=0.3,
                                 dtype="float32")
    for layer, (w, b) in zip(net.layers, torch_net["weights"]):
        assert layer.w.dtype == np.float32 and w.dtype == np.float32
        assert_allclose(layer.w, w, rtol=2e-4, atol=2e-4)
        assert_allclose(layer.b, b, rtol=2e-4, atol=2e-4)
