"""Chapter 5's speed of learning: ``Network.layer_speeds`` and ``fit(..., record_layer_speeds=True)``.

The oracle is the book's definition, ``fig/generate_gradient.py``'s ``get_average_gradient``
and ``list_norm``, computed sample by sample in plain NumPy (``fastnn.reference.speeds_np``,
which only uses the reference ``backprop``), on scikit-learn's digits.
"""
import json
import math

import numpy as np
import pytest

from fastnn import Network, datasets
from fastnn.kernels import speeds as speeds_kernel
from fastnn.reference import network_np, speeds_np


@pytest.fixture(scope="module")
def digits():
    X, y, _, _ = datasets.train_test_digits()
    return X[:300], y[:300]


def book_speeds(net, X, y):
    """The book's numbers, written out: per sample backprop, sum, divide by n, norm per hidden layer."""
    Y = np.eye(net.sizes[-1])[y]
    return speeds_np.layer_speeds(net.weights, net.biases, X, Y, net.cost)


@pytest.mark.parametrize("sizes", [[64, 30, 10], [64, 30, 30, 10], [64, 20, 30, 25, 10],
                                   [64, 30, 30, 30, 30, 10]])
@pytest.mark.parametrize("cost", ["quadratic", "cross-entropy"])
@pytest.mark.parametrize("lmbda", [0.0, 5.0])
def test_kernel_equals_the_books_definition(digits, sizes, cost, lmbda):
    X, y = digits
    net = Network(sizes, seed=3, cost=cost, init="default")
    # a few full-batch steps first (with or without L2), so the weights are not just the initial ones
    net.fit(X, y, epochs=2, mini_batch_size=100, eta=0.5, lmbda=lmbda, training_metrics="none")
    got = net.layer_speeds(X, y)
    expected = book_speeds(net, X, y)
    assert got.dtype == np.float64 and got.shape == (len(sizes) - 2,)
    # one pass of float64 sums in the same sample order: equal to rounding (stated: 1e-12 relative)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=0)


def test_reference_engine_gives_the_same_speeds(digits):
    X, y = digits
    fast = Network([64, 30, 30, 10], seed=4, cost="cross-entropy", init="default")
    slow = Network([64, 30, 30, 10], seed=4, cost="cross-entropy", init="default", engine="reference")
    np.testing.assert_allclose(fast.layer_speeds(X, y), slow.layer_speeds(X, y), rtol=1e-12)


def test_lmbda_has_no_direct_part(digits):
    """The L2 term of eq. 85 has no biases: the same weights give the same speeds whatever lmbda
    trained them, and the speeds are those of the unregularised gradient of the biases."""
    X, y = digits
    net = Network([64, 30, 30, 10], seed=5, cost="cross-entropy", init="default")
    by_hand = []
    for l in range(2):
        grads = [network_np.backprop(net.weights, net.biases, x.reshape(-1, 1),
                                     np.eye(10)[t].reshape(-1, 1), "cross-entropy")[0][l] for x, t in zip(X, y)]
        by_hand.append(math.sqrt(float(np.sum((np.sum(grads, axis=0) / len(X)) ** 2))))
    np.testing.assert_allclose(net.layer_speeds(X, y), by_hand, rtol=1e-12)


def test_mean_bias_gradient_includes_the_output_layer(digits):
    X, y = digits
    net = Network([64, 20, 10], seed=6)
    o_off = speeds_kernel.bias_offsets(net._sizes)
    assert list(o_off) == [0, 20, 30]
    out = np.empty(30)
    speeds_kernel.mean_bias_gradient(net._theta, net._w_off, net._b_off, net._sizes, X, np.eye(10)[y], 0, out)
    expected = speeds_np.average_bias_gradient(net.weights, net.biases, X, np.eye(10)[y])
    np.testing.assert_allclose(out, np.concatenate(expected), rtol=1e-12, atol=1e-15)


def test_float32_stays_float32(digits):
    X, y = digits
    net = Network([64, 30, 30, 10], seed=7, dtype="float32", cost="cross-entropy")
    o_off = speeds_kernel.bias_offsets(net._sizes)
    out = np.empty(int(o_off[-1]), dtype=np.float32)
    X32 = X.astype(np.float32)
    speeds_kernel.mean_bias_gradient(net._theta, net._w_off, net._b_off, net._sizes, X32,
                                     np.eye(10, dtype=np.float32)[y], 1, out)
    assert out.dtype == np.float32
    # float32 sums of 300 samples against the float64 book computation on the same weights
    w64 = [w.astype(np.float64) for w in net.weights]
    b64 = [b.astype(np.float64) for b in net.biases]
    np.testing.assert_allclose(net.layer_speeds(X, y),
                               speeds_np.layer_speeds(w64, b64, X32.astype(np.float64), np.eye(10)[y],
                                                      "cross-entropy"), rtol=1e-4)


def test_recording_leaves_training_bit_identical(digits, tmp_path):
    X, y = digits
    kwargs = dict(epochs=4, mini_batch_size=10, eta=0.5, lmbda=1.0)
    plain = Network([64, 30, 30, 10], seed=8, cost="cross-entropy", init="default").fit(X, y, **kwargs)
    measured = Network([64, 30, 30, 10], seed=8, cost="cross-entropy", init="default")
    measured.fit(X, y, record_layer_speeds=True, **kwargs)
    for a, b in zip(plain.weights + plain.biases, measured.weights + measured.biases):
        assert np.array_equal(a, b)
    assert plain.history_["training_cost"] == measured.history_["training_cost"]
    assert plain.history_["layer_speeds"] == [None] * 4
    rows = measured.history_["layer_speeds"]
    assert len(rows) == 4 and all(len(r) == 2 for r in rows)
    # row j is measured before epoch j's first step: row 0 is the initial network's speeds
    fresh = Network([64, 30, 30, 10], seed=8, cost="cross-entropy", init="default")
    np.testing.assert_allclose(rows[0], fresh.layer_speeds(X, y), rtol=1e-12)
    # and the rows survive saving (JSON) and loading
    measured.save(tmp_path / "net.npz")
    assert Network.load(tmp_path / "net.npz").history_["layer_speeds"] == rows
    json.dumps(rows)


def test_the_book_measures_before_each_step(digits):
    """Full-batch training, as generate_gradient.py: epoch j's row is the network after j steps."""
    X, y = digits
    net = Network([64, 30, 30, 10], seed=9, cost="cross-entropy", init="default")
    copy = Network([64, 30, 30, 10], seed=9, cost="cross-entropy", init="default")
    net.fit(X, y, epochs=3, mini_batch_size=len(X), eta=0.1, lmbda=5.0, record_layer_speeds=True,
            training_metrics="none")
    for row in net.history_["layer_speeds"]:
        np.testing.assert_allclose(row, copy.layer_speeds(X, y), rtol=1e-12)
        copy.fit(X, y, epochs=1, mini_batch_size=len(X), eta=0.1, lmbda=5.0, training_metrics="none")


def test_bad_input_is_refused(digits):
    X, y = digits
    with pytest.raises(ValueError, match="hidden layer"):
        Network([64, 10], seed=0).layer_speeds(X, y)
    with pytest.raises(ValueError, match="hidden layer"):
        Network([64, 10], seed=0).fit(X, y, epochs=1, record_layer_speeds=True)
    with pytest.raises(TypeError, match="record_layer_speeds"):
        Network([64, 30, 10], seed=0).fit(X, y, epochs=1, record_layer_speeds="yes")
    with pytest.raises(ValueError, match="features"):
        Network([64, 30, 10], seed=0).layer_speeds(X[:, :10], y)
    with pytest.raises(ValueError):
        Network([64, 30, 10], seed=0).layer_speeds(X, y[:-1])
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        Network([64, 30, 10], seed=0).layer_speeds(bad, y)


def test_old_histories_without_speeds_still_load():
    from fastnn.training import check_history

    old = {k: [1] for k in ("epoch", "eta", "seconds", "training_cost", "training_accuracy",
                            "validation_cost", "validation_accuracy")}
    assert check_history(old)["layer_speeds"] == [None]
