"""fastnn.network3: the book's chapter-6 API, the array API, files, Ctrl-C and bad input."""
import copy

import numba
import numpy as np
import pytest

from fastnn import ModelFileError, network3 as n3
from fastnn.kernels import conv as K
from fastnn.reference import network3_np as ref

from network3_helpers import (ACTS, max_param_diff, mnist40, reference_layers, reference_params, small_conv_net,
                              split_masks)


def book_layers(m=10, act=n3.sigmoid, p=0.0):
    """The chapter's CP20 -> CP40 -> FC100 -> softmax net."""
    return [n3.ConvPoolLayer(image_shape=(m, 1, 28, 28), filter_shape=(20, 1, 5, 5), poolsize=(2, 2),
                             activation_fn=act),
            n3.ConvPoolLayer(image_shape=(m, 20, 12, 12), filter_shape=(40, 20, 5, 5), poolsize=(2, 2),
                             activation_fn=act),
            n3.FullyConnectedLayer(n_in=40 * 4 * 4, n_out=100, activation_fn=act, p_dropout=p),
            n3.SoftmaxLayer(n_in=100, n_out=10, p_dropout=p)]


def test_params_in_the_books_shapes_and_order():
    net = n3.Network(book_layers(), 10, seed=0)
    assert [p.shape for p in net.params] == [(20, 1, 5, 5), (20,), (40, 20, 5, 5), (40,), (640, 100), (100,),
                                             (100, 10), (10,)]
    assert net.params[0] is net.layers[0].w and net.params[7] is net.layers[3].b
    assert not net.layers[3].w.any() and not net.layers[3].b.any()  # softmax starts at zero


def test_book_initialisation_scales():
    net = n3.Network(book_layers(), 10, seed=1)
    # conv: N(0, 1/n_out) with n_out = filters*fh*fw // prod(poolsize) = 40*25//4 = 250
    assert net.layers[1].w.std() == pytest.approx(np.sqrt(1 / 250), rel=0.02)
    assert net.layers[2].w.std() == pytest.approx(np.sqrt(1 / 100), rel=0.02)
    assert net.layers[2].b.std() == pytest.approx(1.0, rel=0.3)


def test_seed_makes_parameters_and_training_reproducible():
    X, y = mnist40()
    nets = [small_conv_net(n3.ReLU, 0.5, seed=3) for _ in range(2)]
    for net in nets:
        net.fit(X, y, 2, 10, 0.1, lmbda=0.1)
    for a, b in zip(nets[0].params, nets[1].params):
        np.testing.assert_array_equal(a, b)
    other = small_conv_net(n3.ReLU, 0.5, seed=4)
    assert not np.array_equal(other.params[0], nets[0].params[0])


@pytest.mark.parametrize("act", ACTS, ids=lambda f: f.__name__)
def test_fit_epoch_matches_reference_with_the_networks_masks(act):
    X, y = mnist40()
    net = small_conv_net(act, p=0.5, seed=2)
    layers, params = reference_layers(net), reference_params(net)
    rng = copy.deepcopy(net.rng)
    net.fit(X, y, 1, 10, 0.1, lmbda=0.3)
    masks = (rng.random((40, net._mask_len)) < net._mask_keep).astype(np.uint8)  # the draws fit made
    expected = ref.sgd_epoch(layers, params, X, y, 10, 0.1, split_masks(net, masks), 0.3)
    assert max_param_diff(net, expected) <= 1e-8
    np.testing.assert_allclose(net.predict_proba(X), ref.feedforward(layers, expected, X), atol=1e-8)


def test_leftover_rows_are_dropped():
    X, y = mnist40()
    a, b = small_conv_net(n3.tanh, seed=5), small_conv_net(n3.tanh, seed=5)
    a.fit(X[:37], y[:37], 1, 10, 0.2)
    b.fit(X[:30], y[:30], 1, 10, 0.2)
    for p, q in zip(a.params, b.params):
        np.testing.assert_array_equal(p, q)


def test_sgd_prints_the_books_lines(capsys):
    X, y = mnist40()
    net = small_conv_net(n3.ReLU, seed=0)
    net.SGD((X[:20], y[:20]), 2, 10, 0.1, (X[20:30], y[20:30]), (X[30:], y[30:]), lmbda=0.1)
    lines = capsys.readouterr().out.splitlines()
    acc = [net.history_["validation_accuracy"][e] for e in range(2)]
    assert lines[0] == "Training mini-batch number 0"
    assert lines[1] == f"Epoch 0: validation accuracy {acc[0]:.2%}"
    assert lines[2] == "This is the best validation accuracy to date."
    assert lines[3].startswith("The corresponding test accuracy is ") and lines[3].endswith("%")
    assert lines[4] == f"Epoch 1: validation accuracy {acc[1]:.2%}"
    assert lines[-3] == "Finished training network."
    best = max(acc)
    best_it = 3 if acc[1] >= acc[0] else 1
    assert lines[-2] == f"Best validation accuracy of {best:.2%} obtained at iteration {best_it}"
    assert lines[-1].startswith("Corresponding test accuracy of ")
    assert len(net.history_["epoch"]) == 2


def test_sgd_prints_every_thousandth_mini_batch(capsys):
    rng = np.random.default_rng(0)
    X, y = rng.random((2600, 12)), rng.integers(0, 3, 2600)
    net = n3.Network([n3.FullyConnectedLayer(12, 4), n3.SoftmaxLayer(4, 3)], 1, seed=0)
    net.SGD((X, y), 1, 1, 0.01, (X[:5], y[:5]), None)
    out = capsys.readouterr().out.splitlines()
    assert [l for l in out if l.startswith("Training")] == [f"Training mini-batch number {k}" for k in
                                                           (0, 1000, 2000)]
    assert "Corresponding test accuracy" not in "\n".join(out)


def test_predict_score_and_history():
    X, y = mnist40()
    net = small_conv_net(n3.ReLU, seed=0)
    net.fit(X, y, 2, 10, 0.1, validation_data=(X, y))
    P = net.predict_proba(X)
    np.testing.assert_allclose(P.sum(axis=1), 1.0, atol=1e-12)
    assert np.array_equal(net.predict(X), P.argmax(axis=1))
    assert net.score(X, y) == pytest.approx(np.mean(net.predict(X) == y))
    h = net.history_
    assert h["epoch"] == [0, 1] and len(h["training_cost"]) == 2
    assert h["validation_accuracy"][-1] == pytest.approx(net.score(X, y))
    assert h["training_cost"][1] < h["training_cost"][0]


def test_float32_network_is_float32_end_to_end():
    X, y = mnist40()
    net = small_conv_net(n3.sigmoid, 0.3, dtype="float32")
    net.fit(X, y, 1, 10, 0.1)
    assert all(p.dtype == np.float32 for p in net.params)
    assert net.predict_proba(X).dtype == np.float32


def test_assigning_parameters_copies_and_checks():
    net = n3.Network(book_layers(), 10, seed=0, dtype="float32")
    new = np.ones((20, 1, 5, 5))
    net.layers[0].w = new
    new[...] = 2
    assert net.layers[0].w.dtype == np.float32 and (net.layers[0].w == 1).all()
    assert net.params[0] is net.layers[0].w and (net._theta[:500] == 1).all()  # the kernels see it
    with pytest.raises(ValueError, match=r"must have shape \(20, 1, 5, 5\), got \(20, 5, 5\)"):
        net.layers[0].w = np.ones((20, 5, 5))
    with pytest.raises(ValueError, match="NaN"):
        net.layers[1].b = np.full(40, np.nan)
    with pytest.raises(TypeError, match="real numbers"):
        net.layers[2].b = np.array(["a"] * 100)


def test_save_load_round_trip(tmp_path):
    X, y = mnist40()
    layers = [n3.ConvPoolLayer((3, 1, 5, 5), (8, 1, 28, 28), poolsize=(3, 2), activation_fn=n3.tanh),
              n3.FullyConnectedLayer(3 * 8 * 12, 7, activation_fn=n3.linear, p_dropout=0.25),
              n3.SoftmaxLayer(7, 10, p_dropout=0.1)]
    net = n3.Network(layers, 8, seed=9, dtype="float32")
    net.fit(X, y, 1, 8, 0.05, lmbda=0.2)
    path = tmp_path / "net3.npz"
    net.save(path)
    back = n3.Network.load(path)
    assert repr(back) == repr(net) and back.dtype == np.float32
    for a, b in zip(net.params, back.params):
        np.testing.assert_array_equal(a, b)
    assert back.history_ == net.history_ and back.epochs_done_ == 1 and back.fit_params_ == net.fit_params_
    assert back.layers[0].poolsize == (3, 2) and back.layers[1].p_dropout == 0.25
    assert back.seed == 9
    # the RNG state travels: both continue identically
    net.fit(X, y, 1, 8, 0.05)
    back.fit(X, y, 1, 8, 0.05)
    for a, b in zip(net.params, back.params):
        np.testing.assert_array_equal(a, b)


def test_load_rejects_bad_files(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"")
    with pytest.raises(ModelFileError, match="empty"):
        n3.Network.load(bad)
    net = n3.Network([n3.SoftmaxLayer(4, 2)], 2, seed=0)
    good = tmp_path / "good.npz"
    net.save(good)
    arrays = dict(np.load(good))
    arrays["w_0"] = arrays["w_0"][:2]
    np.savez(bad, **arrays)
    with pytest.raises(ModelFileError, match="w_0 has shape"):
        n3.Network.load(bad)
    with pytest.raises(FileNotFoundError):
        n3.Network.load(tmp_path / "missing.npz")


def test_ctrl_c_keeps_whole_mini_batches(monkeypatch):
    X, y = mnist40()
    X, y = np.tile(X, (5, 1)), np.tile(y, 5)  # 200 rows: the first compiled chunk is 70 of them
    net = small_conv_net(n3.ReLU, 0.5, seed=6)
    real = K.sgd_chunk
    calls = []

    def interrupted(theta, spec, keep, X, y, rows, *args):
        real(theta, spec, keep, X, y, rows, *args)
        calls.append(len(rows))
        if len(calls) == 1:  # the first chunk is 7 mini-batches (ChunkSizer first=64)
            raise KeyboardInterrupt  # as if Ctrl-C arrived while the compiled call ran

    monkeypatch.setattr(n3._kernels, "sgd_chunk", interrupted)
    with pytest.raises(KeyboardInterrupt):
        net.fit(X, y, 3, 10, 0.1)
    monkeypatch.undo()
    assert net.interrupted_ and net.epochs_done_ == 0 and net.history_["epoch"] == []
    done = sum(calls)
    assert done % 10 == 0 and 0 < done < 200
    twin = small_conv_net(n3.ReLU, 0.5, seed=6)
    twin.fit(X[:done], y[:done], 1, 10, 0.1)  # the same mini-batches and masks, uninterrupted
    for a, b in zip(net.params, twin.params):
        np.testing.assert_array_equal(a, b)


def test_bad_architectures_are_refused_clearly():
    with pytest.raises(ValueError, match=r"expects images of shape \(20, 12, 12\).*outputs \(20, 13, 13\)"):
        n3.Network([n3.ConvPoolLayer((20, 1, 3, 3), (10, 1, 28, 28)),
                    n3.ConvPoolLayer((40, 20, 5, 5), (10, 20, 12, 12)), n3.SoftmaxLayer(640, 10)], 10)
    with pytest.raises(ValueError, match="larger than the 28x28 image"):
        n3.ConvPoolLayer((20, 1, 29, 5), (10, 1, 28, 28))
    with pytest.raises(ValueError, match="mini_batch_size is 20"):
        n3.Network([n3.ConvPoolLayer((2, 1, 5, 5), (10, 1, 28, 28)), n3.SoftmaxLayer(288, 10)], 20)
    with pytest.raises(ValueError, match="use n_in=640"):
        n3.Network([n3.ConvPoolLayer((40, 1, 5, 5), (10, 1, 12, 12)), n3.SoftmaxLayer(600, 10)], 10)
    with pytest.raises(ValueError, match="expects 2 input feature maps"):
        n3.ConvPoolLayer((4, 2, 3, 3), (10, 1, 28, 28))
    with pytest.raises(ValueError, match="last layer must be a SoftmaxLayer"):
        n3.Network([n3.FullyConnectedLayer(4, 3)], 10)
    with pytest.raises(ValueError, match="only the last layer"):
        n3.Network([n3.SoftmaxLayer(4, 4), n3.SoftmaxLayer(4, 2)], 10)
    with pytest.raises(ValueError, match="put the convolutional layers first"):
        n3.Network([n3.FullyConnectedLayer(784, 784), n3.ConvPoolLayer((2, 1, 5, 5), (10, 1, 28, 28)),
                    n3.SoftmaxLayer(288, 10)], 10)
    with pytest.raises(TypeError, match="activation_fn must be one of"):
        n3.FullyConnectedLayer(4, 3, activation_fn=np.tanh)
    with pytest.raises(ValueError, match="p_dropout must be in"):
        n3.SoftmaxLayer(4, 3, p_dropout=1.0)
    with pytest.raises(TypeError, match="filter_shape must be a tuple of 4"):
        n3.ConvPoolLayer((2, 1, 5), (10, 1, 28, 28))
    layers = [n3.SoftmaxLayer(4, 2)]
    n3.Network(layers, 2)
    with pytest.raises(ValueError, match="already belongs to another Network"):
        n3.Network(layers, 2)


def test_bad_training_input_is_refused_clearly():
    X, y = mnist40()
    net = small_conv_net(n3.ReLU)
    with pytest.raises(ValueError, match="mini_batch_size=20 differs from the network's mini_batch_size=10"):
        net.fit(X, y, 1, 20, 0.1)
    with pytest.raises(ValueError, match="mini_batch_size=5 differs"):
        net.SGD((X, y), 1, 5, 0.1, (X, y), (X, y))
    with pytest.raises(ValueError, match="has 28 features per sample, but the network expects 784"):
        net.fit(X[:, :28], y, 1, 10, 0.1)
    with pytest.raises(ValueError, match="Expected 2D array"):
        net.predict(X.reshape(40, 1, 28, 28))
    with pytest.raises(TypeError, match="integer class labels"):
        net.fit(X, y + 0.5, 1, 10, 0.1)
    with pytest.raises(ValueError, match="labels 0..9"):
        net.fit(X, y + 10, 1, 10, 0.1)
    with pytest.raises(ValueError, match="fewer than one mini-batch"):
        net.fit(X[:9], y[:9], 1, 10, 0.1)
    with pytest.raises(ValueError, match="NaN"):
        net.fit(np.full_like(X, np.nan), y, 1, 10, 0.1)
    with pytest.raises(ValueError, match="validation_data has 5 rows, fewer than one mini-batch of 10"):
        net.SGD((X, y), 1, 10, 0.1, (X[:5], y[:5]), None)
    with pytest.raises(TypeError, match="pair"):
        net.SGD((X, y), 1, 10, 0.1, X, None)
    with pytest.raises(ValueError, match="eta must be > 0"):
        net.fit(X, y, 1, 10, -1.0)


def test_load_data_shared_returns_arrays(tmp_path):
    import gzip
    import pickle

    rng = np.random.default_rng(0)
    split = lambda n: (rng.random((n, 784)).astype(np.float32), rng.integers(0, 10, n))  # noqa: E731
    data = (split(6), split(3), split(2))
    path = tmp_path / "mnist.pkl.gz"
    with gzip.open(path, "wb") as f:
        pickle.dump(data, f, protocol=4)  # protocol 2 of Python 3: see mnist_loader
    out = n3.load_data_shared(str(path))
    assert isinstance(out, list) and len(out) == 3
    for (X, y), (X0, y0) in zip(out, data):
        np.testing.assert_array_equal(X, X0)
        np.testing.assert_array_equal(y, y0)


def test_activation_functions_work_on_arrays():
    z = np.array([-800.0, -1.0, 0.0, 2.0])
    np.testing.assert_allclose(n3.sigmoid(z), [0.0, 1 / (1 + np.e), 0.5, 1 / (1 + np.exp(-2))], rtol=1e-15)
    np.testing.assert_array_equal(n3.ReLU(z), [0, 0, 0, 2])
    np.testing.assert_array_equal(n3.linear(z), z)
    np.testing.assert_allclose(n3.tanh(z), np.tanh(z))


def test_dense_network_never_loads_the_conv_kernels():
    import subprocess
    import sys

    code = ("import sys, numpy as np, fastnn\n"
            "net = fastnn.Network([4, 3, 2], seed=0)\n"
            "net.fit(np.random.rand(20, 4), np.arange(20) % 2, epochs=1, mini_batch_size=5, eta=1.0)\n"
            "print('fastnn.kernels.conv' in sys.modules, 'fastnn.network3' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "False"]


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs 2 numba threads")
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_threads_give_bit_identical_results(dtype):
    X, y = mnist40()
    results = []
    for threads in sorted({1, 2, numba.config.NUMBA_NUM_THREADS}):
        net = small_conv_net(n3.ReLU, 0.5, seed=8, dtype=dtype)
        net.threads = threads
        net.fit(X, y, 2, 10, 0.1, lmbda=0.2, validation_data=(X, y))
        results.append((threads, [p.copy() for p in net.params], net.predict_proba(X), net.history_))
    for threads, params, proba, history in results[1:]:
        for a, b in zip(results[0][1], params):
            np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(results[0][2], proba)
        assert history["training_cost"] == results[0][3]["training_cost"]


def test_threads_are_checked():
    with pytest.raises(ValueError, match="threads must be between 1 and"):
        n3.Network([n3.SoftmaxLayer(4, 2)], 2, threads=numba.config.NUMBA_NUM_THREADS + 1)
    with pytest.raises(TypeError, match="threads must be an integer"):
        n3.Network([n3.SoftmaxLayer(4, 2)], 2, threads=1.5)
