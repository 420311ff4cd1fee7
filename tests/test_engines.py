"""The jit and matrix engines against the book's per-sample reference engine, and the jit
engine's fast paths (tiled, row-parallel, float32 kernels) through ``Network.fit``.  Nothing
here is timed.

Tolerances: one mini-batch step <= 1e-12 (``STEP_TOL``), an epoch <= 1e-9 (``EPOCH_TOL``);
float32 vs float64 after an epoch at mini-batch 10: 2e-3 (``FLOAT32_TOL``).
"""
import numba
import numpy as np
import pytest

from fastnn import Network
from conftest import EPOCH_TOL, SIZES, STEP_TOL, max_param_diff

FLOAT32_TOL = 2e-3


def _pair(sizes, engine, seed=3):
    return Network(sizes, seed=seed, engine="reference"), Network(sizes, seed=seed, engine=engine)


@pytest.mark.parametrize("engine", ["jit", "matrix"])
@pytest.mark.parametrize("sizes", SIZES)
@pytest.mark.parametrize("m", [7, 10])
def test_one_update_mini_batch_matches_reference(digits, engine, sizes, m):
    X, y = digits
    ref, net = _pair(sizes, engine)
    assert max_param_diff(ref, net) == 0.0  # identical start
    batch = [(x.reshape(-1, 1), np.eye(10)[t].reshape(-1, 1)) for x, t in zip(X[:m], y[:m])]
    ref.update_mini_batch(batch, 3.0)
    net.update_mini_batch(batch, 3.0)
    assert 0 < max_param_diff(ref, Network(sizes, seed=3))  # the step changed something
    assert max_param_diff(ref, net) <= STEP_TOL


@pytest.mark.parametrize("engine", ["jit", "matrix"])
@pytest.mark.parametrize("sizes", SIZES)
@pytest.mark.parametrize("m", [7, 10])
def test_one_epoch_matches_reference(digits, engine, sizes, m):
    X, y = digits  # 1,797 real images; 1797 = 7 * 256 + 5 leaves a partial last batch at m=7
    ref, net = _pair(sizes, engine)
    ref.fit(X, y, epochs=1, mini_batch_size=m, eta=3.0)
    net.fit(X, y, epochs=1, mini_batch_size=m, eta=3.0)
    assert max_param_diff(ref, net) <= EPOCH_TOL
    np.testing.assert_array_equal(ref.predict(X), net.predict(X))


@pytest.mark.parametrize("engine", ["jit", "matrix"])
def test_mini_batch_size_one_first_hundred_samples(digits, engine):
    # mb 1 with eta 3 is chaotic over thousands of steps; 100 steps stay comparable.
    X, y = digits
    ref, net = _pair([64, 30, 10], engine)
    ref.fit(X[:100], y[:100], epochs=1, mini_batch_size=1, eta=3.0)
    net.fit(X[:100], y[:100], epochs=1, mini_batch_size=1, eta=3.0)
    assert max_param_diff(ref, net) <= EPOCH_TOL


@pytest.mark.parametrize("engine", ["jit", "matrix"])
def test_same_seed_same_shuffle_over_epochs(digits, engine):
    X, y = digits
    ref, net = _pair([64, 20, 10], engine, seed=11)
    ref.fit(X[:1000], y[:1000], epochs=3, mini_batch_size=10, eta=3.0)
    net.fit(X[:1000], y[:1000], epochs=3, mini_batch_size=10, eta=3.0)
    assert max_param_diff(ref, net) <= EPOCH_TOL


@pytest.mark.parametrize("engine", ["jit", "reference", "matrix"])
def test_backprop_matches_finite_differences(engine):
    """backprop vs a central difference of C_x = ||a - y||^2 / 2, relative 1e-7."""
    net = Network([5, 4, 3], seed=7, engine=engine)
    rng = np.random.default_rng(8)
    x, y = rng.random((5, 1)), rng.random((3, 1))
    nabla_b, nabla_w = net.backprop(x, y)

    def cost():
        return 0.5 * float(np.sum((net.feedforward(x) - y) ** 2))

    h = 1e-6
    for params, grads in ((net.weights, nabla_w), (net.biases, nabla_b)):
        for p, g in zip(params, grads):
            assert g.shape == p.shape
            for idx in np.ndindex(p.shape):
                old = p[idx]
                p[idx] = old + h
                up = cost()
                p[idx] = old - h
                down = cost()
                p[idx] = old
                fd = (up - down) / (2 * h)
                assert abs(g[idx] - fd) <= 1e-7 * max(abs(fd), 1e-3), (idx, g[idx], fd)


@pytest.mark.parametrize("engine", ["jit", "reference", "matrix"])
def test_digits_accuracy_book_settings(digits_split, engine):
    """[64,30,10], 30 epochs, mb 10, eta 3: >= 93% test accuracy in every engine."""
    X_tr, y_tr, X_te, y_te = digits_split
    net = Network([64, 30, 10], seed=0, engine=engine)
    net.fit(X_tr, y_tr, epochs=30, mini_batch_size=10, eta=3.0)
    assert net.score(X_te, y_te) >= 0.93


@pytest.mark.parametrize("engine", ["jit", "reference", "matrix"])
def test_user_edits_of_parameters_take_effect(engine):
    net = Network([4, 3, 2], seed=1, engine=engine)
    x = np.linspace(0, 1, 4)
    before = net.feedforward(x)
    net.weights[0] *= 0.0  # in place
    net.biases[0][:] = 0.0
    after_inplace = net.feedforward(x)
    assert not np.allclose(before, after_inplace)
    hidden = np.full((3, 1), 0.5)
    expected = 1 / (1 + np.exp(-(net.weights[1] @ hidden + net.biases[1])))
    np.testing.assert_allclose(after_inplace, expected.ravel(), atol=1e-15)
    net.weights[1] = np.ones((2, 3))  # element assignment of a new array
    net.biases = [np.zeros((3, 1)), np.array([0.0, 1.0])]  # whole list, (out,) accepted
    np.testing.assert_allclose(net.feedforward(x), 1 / (1 + np.exp(-np.array([1.5, 2.5]))), atol=1e-15)
    assert net.biases[1].shape == (2, 1)


def test_float32_network_stays_float32(digits):
    X, y = digits
    net = Network([64, 30, 10], seed=0, dtype="float32")
    net.fit(X[:500], y[:500], epochs=1)
    assert all(w.dtype == np.float32 for w in net.weights + net.biases)
    assert net.predict_proba(X[:5]).dtype == np.float32
    ref = Network([64, 30, 10], seed=0)
    ref.fit(X[:500], y[:500], epochs=1)
    assert max_param_diff(ref, net) <= 1e-3



def _train(X, y, sizes, *, engine="jit", threads=None, dtype="float64", cost="quadratic",
           mini_batch_size=7, epochs=1, eta=3.0, lmbda=0.0, seed=3):
    net = Network(sizes, seed=seed, engine=engine, dtype=dtype, cost=cost, threads=threads)
    return net.fit(X, y, epochs=epochs, mini_batch_size=mini_batch_size, eta=eta, lmbda=lmbda)


def _params(net):
    return np.concatenate([a.ravel() for a in net.weights + net.biases])


def test_parallel_sized_network_matches_the_reference(digits):
    # [64, 48, 10] at mini-batch 7 is above the size from which a layer's row blocks are
    # split across threads (bit-identity across thread counts: tests/test_threads.py);
    # 1297 % 7 != 0 leaves a partial last mini-batch.
    X, y = digits[0][:1297], digits[1][:1297]
    jit = _train(X, y, [64, 48, 10], threads=numba.config.NUMBA_NUM_THREADS)
    ref = _train(X, y, [64, 48, 10], engine="reference")
    assert max_param_diff(jit, ref) <= EPOCH_TOL


@pytest.mark.parametrize("cost, lmbda", [("quadratic", 0.0), ("cross-entropy", 5.0)])
def test_deep_network_matches_reference(digits, cost, lmbda):
    X, y = digits[0][:400], digits[1][:400]
    kw = dict(cost=cost, lmbda=lmbda, mini_batch_size=9, eta=0.5)
    jit = _train(X, y, [64, 13, 9, 10], **kw)
    ref = _train(X, y, [64, 13, 9, 10], engine="reference", **kw)
    assert max_param_diff(jit, ref) <= EPOCH_TOL
    np.testing.assert_allclose(jit.predict_proba(X), ref.predict_proba(X), rtol=0, atol=EPOCH_TOL)


def test_mini_batch_one_and_larger_than_data_match_reference(digits):
    X, y = digits[0][:60], digits[1][:60]
    for mb in (1, 100):
        jit = _train(X, y, [64, 6, 10], mini_batch_size=mb, eta=0.5)
        ref = _train(X, y, [64, 6, 10], engine="reference", mini_batch_size=mb, eta=0.5)
        assert max_param_diff(jit, ref) <= EPOCH_TOL


def test_two_runs_are_bit_identical(digits):
    X, y = digits
    a = _train(X, y, [64, 30, 10], epochs=2)
    b = _train(X, y, [64, 30, 10], epochs=2)
    assert np.array_equal(_params(a), _params(b))
    c = _train(X, y, [64, 30, 10], epochs=2, seed=4)
    assert not np.array_equal(_params(a), _params(c))


def test_float32_stays_float32_and_agrees_with_float64(digits):
    X, y = digits
    f32 = _train(X, y, [64, 30, 10], dtype="float32", mini_batch_size=10)
    f64 = _train(X, y, [64, 30, 10], dtype="float64", mini_batch_size=10)
    assert all(a.dtype == np.float32 for a in f32.weights + f32.biases)
    proba = f32.predict_proba(X)
    assert proba.dtype == np.float32
    assert 0 < max_param_diff(f32, f64) <= FLOAT32_TOL
    np.testing.assert_allclose(proba, f64.predict_proba(X), rtol=0, atol=FLOAT32_TOL)


@pytest.mark.parametrize("threads, error", [(0, ValueError), (10**6, ValueError), (1.5, TypeError),
                                            ("2", TypeError)])
def test_bad_threads_raise(threads, error):
    with pytest.raises(error, match="threads"):
        Network([4, 3, 2], threads=threads)
