"""fastnn.rivals_conv (chapter 6's net in PyTorch) against a plain NumPy forward pass
written here from the book's definitions, and central finite differences of its cost.

Tolerances (float64): forward outputs rtol 1e-12; one SGD step's gradient, recovered as
(w_before - w_after) / eta, within atol 1e-7 + rtol 1e-6 of central differences with
h = 1e-6 (truncation ~h^2, rounding ~1e-16/h).  float32 runs agree with float64 within 1e-4.
Inputs are random floats, so no max-pool window has tied values.
"""
import importlib.util

import numpy as np
import pytest
from numpy.testing import assert_allclose

from fastnn import rivals_conv
from fastnn.rivals_conv import (book_conv_spec, check_spec, forward_torch, init_book_weights, spec_from_layers,
                                train_conv_torch)

# only the rows that run the net need PyTorch (imported inside the functions); the spec, the
# initialisation and the masks are tested without it
needs_torch = pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="PyTorch is not installed")


# --------------------------------------------------------------------------- plain NumPy net
ACT = {"sigmoid": lambda z: 1.0 / (1.0 + np.exp(-z)), "tanh": np.tanh,
       "relu": lambda z: np.maximum(z, 0.0), "linear": lambda z: z}


def conv_valid(x, w):
    """Theano's conv2d: out[b,f,i,j] = sum_{c,k,l} x[b,c,i+k,j+l] * w[f,c,fh-1-k,fw-1-l]."""
    b, c, h, wd = x.shape
    f, _, fh, fw = w.shape
    flipped = w[:, :, ::-1, ::-1]
    out = np.zeros((b, f, h - fh + 1, wd - fw + 1))
    for i in range(h - fh + 1):
        for j in range(wd - fw + 1):
            patch = x[:, None, :, i:i + fh, j:j + fw]           # (b, 1, c, fh, fw)
            out[:, :, i, j] = (patch * flipped[None]).sum(axis=(2, 3, 4))
    return out


def max_pool(z, ph, pw):
    """Non-overlapping max over ph x pw windows, border rows/columns dropped."""
    b, f, h, w = z.shape
    z = z[:, :, :h // ph * ph, :w // pw * pw]
    return z.reshape(b, f, h // ph, ph, w // pw, pw).max(axis=(3, 5))


def numpy_forward(spec, weights, X, masks=None):
    """Softmax output; training (dropout masks, no scaling) if masks is a list, else inference."""
    a = X
    m = X.shape[0]
    for i, (layer, (w, b)) in enumerate(zip(spec, weights)):
        if layer["kind"] == "conv":
            a = a.reshape((m,) + layer["image_shape"])
            z = max_pool(conv_valid(a, w), *layer["poolsize"]) + b[None, :, None, None]
            a = ACT[layer["activation"]](z)
            continue
        a = a.reshape(m, layer["n_in"])
        if masks is not None:
            z = (a * masks[i] if masks[i] is not None else a) @ w + b
        else:
            z = (1.0 - layer["p_dropout"]) * (a @ w) + b
        if layer["kind"] == "fc":
            a = ACT[layer["activation"]](z)
        else:
            e = np.exp(z - z.max(axis=1, keepdims=True))
            a = e / e.sum(axis=1, keepdims=True)
    return a


def numpy_cost(spec, weights, X, y, masks, lmbda, num_training_batches):
    out = numpy_forward(spec, weights, X, masks)
    l2 = sum((w ** 2).sum() for w, _ in weights)
    return -np.mean(np.log(out[np.arange(len(y)), y])) + 0.5 * lmbda * l2 / num_training_batches


def finite_difference_grads(spec, weights, X, y, masks, lmbda, ntb, h=1e-6):
    grads = []
    for w, b in weights:
        pair = []
        for p in (w, b):
            g = np.zeros_like(p)
            for idx in np.ndindex(p.shape):
                old = p[idx]
                p[idx] = old + h
                up = numpy_cost(spec, weights, X, y, masks, lmbda, ntb)
                p[idx] = old - h
                down = numpy_cost(spec, weights, X, y, masks, lmbda, ntb)
                p[idx] = old
                g[idx] = (up - down) / (2 * h)
            pair.append(g)
        grads.append(pair)
    return grads


def tiny_spec(activation, p_dropout=0.0):
    """1x10x9 images -> CP(2, 3x3), pool 2 -> CP(3, 2x2), pool 2 -> FC(6, 4) -> softmax(4, 3)."""
    return check_spec([
        {"kind": "conv", "filter_shape": (2, 1, 3, 3), "image_shape": (1, 10, 9), "poolsize": (2, 2),
         "activation": activation},                       # conv 8x7 -> pool 4x3 (border column dropped)
        {"kind": "conv", "filter_shape": (3, 2, 2, 2), "image_shape": (2, 4, 3), "poolsize": (1, 2),
         "activation": activation},                       # conv 3x2 -> pool 3x1
        {"kind": "fc", "n_in": 9, "n_out": 4, "activation": activation, "p_dropout": p_dropout},
        {"kind": "softmax", "n_in": 4, "n_out": 3, "p_dropout": p_dropout},
    ])


def tiny_weights(spec, seed):
    rng = np.random.default_rng(seed)
    weights = init_book_weights(spec, seed=seed)
    # the book's softmax starts at zero; random values test its gradient better
    weights[-1] = (rng.normal(0, 0.5, weights[-1][0].shape), rng.normal(0, 0.5, weights[-1][1].shape))
    return weights


# --------------------------------------------------------------------------- tests
@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu", "linear"])
@pytest.mark.parametrize("p_dropout", [0.0, 0.3])
@needs_torch
def test_forward_matches_numpy(activation, p_dropout):
    spec = tiny_spec(activation, p_dropout)
    weights = tiny_weights(spec, 1)
    X = np.random.default_rng(2).random((7, 90))
    want = numpy_forward(spec, weights, X)
    assert_allclose(forward_torch(spec, weights, X), want, rtol=1e-12, atol=1e-15)
    assert_allclose(forward_torch(spec, weights, X, mini_batch_size=3), want, rtol=1e-12, atol=1e-15)
    out32 = forward_torch(spec, weights, X, dtype="float32")
    assert out32.dtype == np.float32
    assert_allclose(out32, want, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("activation, p_dropout, lmbda", [
    ("sigmoid", 0.0, 0.0), ("tanh", 0.0, 0.5), ("relu", 0.25, 0.5), ("linear", 0.5, 0.0),
])
@needs_torch
def test_one_sgd_step_matches_finite_differences(activation, p_dropout, lmbda):
    spec = tiny_spec(activation, p_dropout)
    weights = tiny_weights(spec, 3)
    rng = np.random.default_rng(4)
    X, y = rng.random((6, 90)), rng.integers(0, 3, 6)
    m, eta = 3, 0.5
    masks = [None, None] + [(rng.random((m, layer["n_in"])) < 1 - p_dropout).astype(float)
                            if p_dropout else None for layer in spec[2:]]
    result = train_conv_torch(spec, weights, X, y, mini_batch_size=m, eta=eta, lmbda=lmbda,
                              n_batches=1, masks=lambda step, i: masks[i])
    # the book's L2 divides by the number of training batches: 6 // 3 = 2
    grads = finite_difference_grads(spec, [(w.copy(), b.copy()) for w, b in weights], X[:m], y[:m],
                                    masks, lmbda, 2)
    for (w0, b0), (w1, b1), (gw, gb) in zip(weights, result["weights"], grads):
        assert w1.shape == w0.shape and b1.shape == b0.shape      # the book's shapes back
        assert_allclose((w0 - w1) / eta, gw, rtol=1e-6, atol=1e-7)
        assert_allclose((b0 - b1) / eta, gb, rtol=1e-6, atol=1e-7)
    assert result["epoch_seconds"] and result["dtype"] == "float64"


@needs_torch
def test_epochs_run_batches_in_order_and_drop_the_leftover():
    spec = tiny_spec("tanh")
    weights = tiny_weights(spec, 5)
    rng = np.random.default_rng(6)
    X, y = rng.random((7, 90)), rng.integers(0, 3, 7)
    two_epochs = train_conv_torch(spec, weights, X, y, mini_batch_size=3, eta=0.1, epochs=2)
    # the same as four single steps on rows 0:3, 3:6, 0:3, 3:6 (row 6 never used)
    w = weights
    for rows in (slice(0, 3), slice(3, 6), slice(0, 3), slice(3, 6)):
        w = train_conv_torch(spec, w, X[rows], y[rows], mini_batch_size=3, eta=0.1,
                             num_training_batches=2)["weights"]
    for (a, b), (c, d) in zip(two_epochs["weights"], w):
        assert_allclose(a, c, rtol=0, atol=1e-14)
        assert_allclose(b, d, rtol=0, atol=1e-14)
    assert len(two_epochs["epoch_seconds"]) == 2


@needs_torch
def test_float32_training_stays_float32_and_near_float64():
    spec = tiny_spec("relu")
    weights = tiny_weights(spec, 7)
    rng = np.random.default_rng(8)
    X, y = rng.random((9, 90)), rng.integers(0, 3, 9)
    r64 = train_conv_torch(spec, weights, X, y, mini_batch_size=3, eta=0.1, lmbda=0.1,
                           eval_data=(X, y))
    r32 = train_conv_torch(spec, weights, X, y, mini_batch_size=3, eta=0.1, lmbda=0.1,
                           dtype="float32")
    for (a, b), (c, d) in zip(r64["weights"], r32["weights"]):
        assert c.dtype == np.float32 and d.dtype == np.float32
        assert_allclose(c, a, rtol=1e-4, atol=1e-5)
        assert_allclose(d, b, rtol=1e-4, atol=1e-5)
    assert r64["accuracy"] and 0.0 <= r64["accuracy"][0] <= 1.0


@needs_torch
def test_default_masks_are_seeded():
    spec = tiny_spec("sigmoid", 0.5)
    weights = tiny_weights(spec, 9)
    X, y = np.random.default_rng(1).random((6, 90)), np.array([0, 1, 2, 0, 1, 2])
    a = train_conv_torch(spec, weights, X, y, mini_batch_size=3, eta=0.2)["weights"]
    b = train_conv_torch(spec, weights, X, y, mini_batch_size=3, eta=0.2)["weights"]
    c = train_conv_torch(spec, weights, X, y, mini_batch_size=3, eta=0.2,
                         masks=lambda step, i: np.ones((3, spec[i]["n_in"])))["weights"]
    assert all(np.array_equal(p, q) for (p, _), (q, _) in zip(a, b))
    assert not np.array_equal(a[2][0], c[2][0])
    masks = rivals_conv.bernoulli_masks(spec, 3, seed=1)
    first = masks(0, 2)
    assert masks(0, 2) is first and masks(0, 0) is None          # same step: same mask
    assert set(np.unique(first)) <= {0.0, 1.0} and first.shape == (3, 9)
    assert not np.array_equal(masks(1, 2), first)


def test_book_spec_and_init():
    spec = check_spec(book_conv_spec())
    weights = init_book_weights(spec, seed=0, dtype="float32")
    assert [w.shape for w, _ in weights] == [(20, 1, 5, 5), (40, 20, 5, 5), (640, 100), (100, 10)]
    assert [b.shape for _, b in weights] == [(20,), (40,), (100,), (10,)]
    assert all(w.dtype == np.float32 for w, _ in weights)
    assert not weights[3][0].any() and not weights[3][1].any()  # softmax starts at zero
    # conv std: sqrt(1 / n_out), n_out = 20*5*5/4 = 125, so 0.0894; 500 draws: within ~10%
    assert abs(weights[0][0].std() - np.sqrt(1 / 125)) < 0.01


class _Conv:
    def __init__(self):
        self.filter_shape, self.image_shape, self.poolsize = (2, 1, 3, 3), (5, 1, 10, 9), (2, 2)
        self.activation_fn = np.tanh


class _FC:
    n_in, n_out, p_dropout = 24, 4, 0.5

    @staticmethod
    def activation_fn(z):
        return z


class SoftmaxLayer:
    n_in, n_out, p_dropout = 4, 3, 0.0


def test_spec_from_book_like_layers():
    _FC.activation_fn.__name__ = "ReLU"
    spec = spec_from_layers([_Conv(), _FC(), SoftmaxLayer()])
    assert [layer["kind"] for layer in spec] == ["conv", "fc", "softmax"]
    assert spec[0]["image_shape"] == (1, 10, 9) and spec[0]["activation"] == "tanh"
    assert spec[1]["activation"] == "relu" and spec[1]["p_dropout"] == 0.5
    with pytest.raises(TypeError, match="layer 1 .* is not a conv"):
        spec_from_layers([_Conv(), object()])


@pytest.mark.parametrize("change, match", [
    (lambda s: s.__setitem__(1, {**s[1], "image_shape": (2, 5, 3)}), r"does not match the previous layer's output"),
    (lambda s: s.__setitem__(0, {**s[0], "filter_shape": (2, 1, 11, 3)}), r"larger than the 10x9 image"),
    (lambda s: s.__setitem__(0, {**s[0], "filter_shape": (2, 3, 3, 3)}), r"expects 3 input channels"),
    (lambda s: s.__setitem__(2, {**s[2], "n_in": 8}), r"n_in=8 but the previous layer gives 9"),
    (lambda s: s.__setitem__(2, {**s[2], "p_dropout": 1.0}), r"p_dropout in \[0, 1\)"),
    (lambda s: s.__setitem__(2, {**s[2], "activation": "softplus"}), r"unknown activation 'softplus'"),
    (lambda s: s.__setitem__(2, {**s[2], "kind": "dense"}), r"kind must be one of"),
    (lambda s: s.pop(), r"last layer must be a softmax"),
    (lambda s: s.insert(3, dict(s[0])), r"a conv layer cannot follow a fc layer"),
])
def test_bad_specs(change, match):
    spec = [dict(layer) for layer in tiny_spec("relu")]
    change(spec)
    with pytest.raises(ValueError, match=match):
        check_spec(spec)


@needs_torch
def test_bad_training_arguments():
    spec = tiny_spec("relu", 0.5)
    weights = tiny_weights(spec, 0)
    X, y = np.random.default_rng(0).random((6, 90)), np.zeros(6, dtype=int)
    with pytest.raises(ValueError, match=r"layer 1: expected w of shape \(3, 2, 2, 2\)"):
        train_conv_torch(spec, [weights[0], (weights[1][0][:, :1], weights[1][1])] + weights[2:], X, y,
                         mini_batch_size=3, eta=0.1)
    with pytest.raises(ValueError, match=r"X must have shape \(n, 90\)"):
        train_conv_torch(spec, weights, X[:, :80], y, mini_batch_size=3, eta=0.1)
    with pytest.raises(ValueError, match=r"labels in 0..2"):
        train_conv_torch(spec, weights, X, y + 3, mini_batch_size=3, eta=0.1)
    with pytest.raises(ValueError, match=r"mini_batch_size must be in 1..6"):
        train_conv_torch(spec, weights, X, y, mini_batch_size=7, eta=0.1)
    with pytest.raises(ValueError, match=r"mask for layer 2 at step 0 has shape \(3, 5\)"):
        train_conv_torch(spec, weights, X, y, mini_batch_size=3, eta=0.1,
                         masks=lambda step, i: np.ones((3, 5)))
    with pytest.raises(ValueError, match="mini_batch_size must be a positive int"):
        forward_torch(spec, weights, X, mini_batch_size=0)
    with pytest.raises(ValueError, match="dtype must be 'float64' or 'float32'"):
        train_conv_torch(spec, weights, X, y, mini_batch_size=3, eta=0.1, dtype="float16")


def test_module_imports_no_torch_at_import_time():
    assert "torch" not in rivals_conv.__dict__
