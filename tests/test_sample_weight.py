"""Sample weights: the jit kernel against both NumPy references, and against repeated rows.

A weight scales its sample's gradient; each mini-batch step is eta / (the
batch's weight sum) times the weighted gradient sum, so integer weights train
exactly like repeated rows that fall into the same mini-batch.
"""
import functools

import numba
import numpy as np
import pytest
from sklearn.datasets import load_digits

from fastnn import Network
from fastnn.engines import _decay
from conftest import EPOCH_TOL, SIZES, STEP_TOL, max_param_diff

ENGINES = ["jit", "reference", "matrix"]
F32_TOL = 1e-4
"""float32 after one epoch of 1,797 samples: measured differences are <= 4e-5."""


def _weights(n, seed=0):
    """Positive real weights in [0, 3) with about a fifth of them exactly 0."""
    rng = np.random.default_rng(seed)
    sw = rng.uniform(0, 3, n)
    sw[rng.random(n) < 0.2] = 0.0
    return sw


def _fit(engine, sizes, X, y, *, dtype="float64", **kw):
    net = Network(sizes, seed=2, engine=engine, dtype=dtype, cost=kw.pop("cost", "quadratic"))
    return net.fit(X, y, epochs=1, **kw)


@functools.lru_cache(maxsize=None)
def _reference(sizes, m, eta, lmbda, cost, weight_seed, dtype="float64"):
    """The reference engine's weighted epoch on the digits (slow: computed once per setting)."""
    d = load_digits()
    X, y = d.data / 16.0, d.target
    return _fit("reference", list(sizes), X, y, dtype=dtype, mini_batch_size=m, eta=eta, lmbda=lmbda,
                cost=cost, sample_weight=_weights(len(X), weight_seed))


@pytest.mark.parametrize("engine", ["jit", "matrix"])
@pytest.mark.parametrize("sizes", SIZES)
@pytest.mark.parametrize("m", [7, 10])  # 1797 = 7 * 256 + 5 = 10 * 179 + 7: a short last batch
@pytest.mark.parametrize("cost, eta, lmbda", [("quadratic", 3.0, 0.0), ("cross-entropy", 0.5, 2.0)])
def test_weighted_epoch_matches_reference(digits, engine, sizes, m, cost, eta, lmbda):
    X, y = digits
    kw = dict(mini_batch_size=m, eta=eta, lmbda=lmbda, cost=cost, sample_weight=_weights(len(X)))
    net = _fit(engine, sizes, X, y, **kw)
    assert max_param_diff(_reference(tuple(sizes), m, eta, lmbda, cost, 0), net) <= EPOCH_TOL
    # the weights matter: the unweighted run ends elsewhere
    unweighted = _fit(engine, sizes, X, y, **dict(kw, sample_weight=None))
    assert max_param_diff(unweighted, net) > 1e-3


@pytest.mark.parametrize("sizes", SIZES)
@pytest.mark.parametrize("m", [7, 10])
def test_weighted_float32_epoch_matches_references(digits, sizes, m):
    X, y = digits
    net = _fit("jit", sizes, X, y, dtype="float32", mini_batch_size=m, eta=3.0,
               sample_weight=_weights(len(X), seed=1))
    assert net._theta.dtype == np.float32
    assert max_param_diff(_reference(tuple(sizes), m, 3.0, 0.0, "quadratic", 1, "float32"), net) <= F32_TOL
    assert max_param_diff(_reference(tuple(sizes), m, 3.0, 0.0, "quadratic", 1), net) <= F32_TOL


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_unit_weights_are_bit_identical_to_no_weights(digits, engine, dtype):
    X, y = digits
    X, y = X[:600], y[:600]
    kw = dict(mini_batch_size=7, eta=0.5, lmbda=1.0, cost="cross-entropy", dtype=dtype)
    plain = _fit(engine, [64, 20, 10], X, y, **kw)
    ones = _fit(engine, [64, 20, 10], X, y, sample_weight=np.ones(len(X)), **kw)
    np.testing.assert_array_equal(plain._theta, ones._theta)
    assert plain.history_["training_cost"] == ones.history_["training_cost"]


def _groups_of_constant_weight(n_groups, m, seed):
    """Integer weights (0 included) whose every group of ``m`` consecutive rows sums to ``m``,
    then a last, shorter group of weight 3 (so the repeated rows form a last batch of 3)."""
    rng = np.random.default_rng(seed)
    groups = []
    for _ in range(n_groups):
        cuts = np.sort(rng.integers(0, m + 1, m - 1))
        groups.append(np.diff(np.concatenate([[0], cuts, [m]])))
    return np.concatenate(groups + [np.array([2, 0, 1])])


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("dtype, tol", [("float64", STEP_TOL), ("float32", F32_TOL)])
@pytest.mark.parametrize("sizes", [[64, 10], [64, 20, 15, 10]])
def test_integer_weights_equal_repeated_rows(digits, engine, dtype, tol, sizes):
    """Weighted mini-batches of m rows and weight m == the repeated rows in batches of m."""
    X, y = digits
    m = 5
    sw = _groups_of_constant_weight(40, m, seed=4)
    X, Y = X[:len(sw)], np.eye(10)[y[:len(sw)]]
    X_rep, Y_rep = np.repeat(X, sw, axis=0), np.repeat(Y, sw, axis=0)
    assert len(X_rep) == 40 * m + 3 and (sw == 0).any()
    weighted = Network(sizes, seed=5, engine=engine, dtype=dtype, cost="cross-entropy")
    repeated = Network(sizes, seed=5, engine=engine, dtype=dtype, cost="cross-entropy")
    n = 1000  # the L2 term's training-set size, the same for both
    cast = weighted.dtype.type
    weighted._engine.epoch(weighted, X.astype(cast), Y.astype(cast), np.arange(len(X)), m, 0.5, 2.0, n,
                           sw.astype(cast))
    repeated._engine.epoch(repeated, X_rep.astype(cast), Y_rep.astype(cast), np.arange(len(X_rep)), m,
                           0.5, 2.0, n)
    assert max_param_diff(weighted, Network(sizes, seed=5)) > 0.01
    assert max_param_diff(weighted, repeated) <= tol


@pytest.mark.parametrize("engine", ENGINES)
def test_integer_weights_equal_repeated_rows_through_fit(digits, engine):
    X, y = digits
    sw = _groups_of_constant_weight(60, 4, seed=6)
    X, y = X[:len(sw)], y[:len(sw)]
    weighted = Network([64, 16, 10], seed=1, engine=engine).fit(
        X, y, epochs=2, mini_batch_size=4, sample_weight=sw, shuffle=False)
    repeated = Network([64, 16, 10], seed=1, engine=engine).fit(
        np.repeat(X, sw, axis=0), np.repeat(y, sw), epochs=2, mini_batch_size=4, shuffle=False)
    assert max_param_diff(weighted, repeated) <= STEP_TOL
    # the weighted mean cost over the rows is the mean over the repeated rows
    np.testing.assert_allclose(weighted.history_["training_cost"], repeated.history_["training_cost"],
                               rtol=1e-12)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_batch_of_zero_weight_only_decays(engine):
    """No gradient step from a batch whose weights sum to 0; the L2 decay (eq. 93) still applies."""
    net = Network([6, 5, 3], seed=0, engine=engine)
    w0 = [w.copy() for w in net.weights]
    b0 = [b.copy() for b in net.biases]
    rng = np.random.default_rng(0)
    X, Y = rng.random((8, 6)), np.eye(3)[rng.integers(0, 3, 8)]
    eta, lmbda, n = 0.7, 3.0, 50
    net._engine.epoch(net, X, Y, np.arange(8), 8, eta, lmbda, n, np.zeros(8))
    for w, w_start in zip(net.weights, w0):
        np.testing.assert_array_equal(w, _decay(eta, lmbda, n) * w_start)
    for b, b_start in zip(net.biases, b0):
        np.testing.assert_array_equal(b, b_start)
    assert np.isfinite(net._theta).all()


def test_weighted_training_cost_in_history(digits):
    X, y = digits
    sw = _weights(len(X), seed=3)
    net = Network([64, 12, 10], seed=0, cost="cross-entropy").fit(X, y, epochs=1, lmbda=0.5, sample_weight=sw,
                                                                  training_metrics="exact")
    A = net.predict_proba(X)
    Y = np.eye(10)[y]
    per_sample = np.sum(np.nan_to_num(-Y * np.log(A) - (1 - Y) * np.log(1 - A)), axis=1)
    penalty = sum(float(np.sum(w ** 2)) for w in net.weights)
    expected = np.sum(sw * per_sample) / np.sum(sw) + 0.5 * (0.5 / len(X)) * penalty
    assert net.history_["training_cost"][0] == pytest.approx(expected, rel=1e-12)


def test_scalar_weight_is_the_same_weight_for_every_sample(digits):
    X, y = digits
    a = Network([64, 10], seed=0).fit(X[:300], y[:300], epochs=1, sample_weight=2.5)
    b = Network([64, 10], seed=0).fit(X[:300], y[:300], epochs=1)
    assert max_param_diff(a, b) <= STEP_TOL


@pytest.mark.parametrize("sample_weight, exc, match", [
    (np.ones(9), ValueError, r"shape \(10,\)"),
    (np.ones((10, 1)), ValueError, r"shape \(10,\)"),
    (np.r_[np.ones(9), -1.0], ValueError, "non-negative"),
    (np.r_[np.ones(9), np.nan], ValueError, "NaN or infinity"),
    (np.r_[np.ones(9), np.inf], ValueError, "NaN or infinity"),
    (np.zeros(10), ValueError, "zero for every sample"),
    (np.array(["a"] * 10), TypeError, "sample_weight"),
    (np.full(10, 1e39), ValueError, "NaN or infinity"),  # overflows float32
])
def test_invalid_sample_weight_raises(sample_weight, exc, match):
    X = np.random.default_rng(0).random((10, 4))
    net = Network([4, 3, 2], seed=0, dtype="float32")
    before = net._theta.copy()
    with pytest.raises(exc, match=match):
        net.fit(X, np.arange(10) % 2, epochs=1, sample_weight=sample_weight)
    np.testing.assert_array_equal(net._theta, before)


def test_sample_weight_is_not_modified(digits):
    X, y = digits
    sw = _weights(200)
    keep = sw.copy()
    Network([64, 10], seed=0).fit(X[:200], y[:200], epochs=1, sample_weight=sw)
    np.testing.assert_array_equal(sw, keep)


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs NUMBA_NUM_THREADS >= 2")
def test_weighted_epoch_is_the_same_on_one_and_two_threads(digits):
    # [64, 48, 10] at mini-batch 7 is above the kernel's parallel threshold
    X, y = digits
    sw = _weights(len(X), seed=5)
    runs = [Network([64, 48, 10], seed=3, threads=t).fit(X, y, epochs=1, mini_batch_size=7, sample_weight=sw)
            for t in (1, 2)]
    np.testing.assert_array_equal(runs[0]._theta, runs[1]._theta)


@pytest.mark.parametrize("cost", ["quadratic", "cross-entropy"])
def test_weighted_running_cost_matches_the_reference(digits, cost):
    # the running cost (each sample measured in its own mini-batch's forward pass) is the
    # weighted mean; the jit kernel sums it, the reference engine feeds each mini-batch
    # forward before its step
    X, y = digits
    sw = _weights(len(X), seed=4)
    runs = [Network([64, 12, 10], seed=1, cost=cost, engine=e).fit(X, y, epochs=1, lmbda=0.5, sample_weight=sw)
            for e in ("jit", "reference")]
    jit, ref = (r.history_ for r in runs)
    assert jit["training_cost"][0] == pytest.approx(ref["training_cost"][0], rel=1e-10)
    assert jit["training_accuracy"][0] == ref["training_accuracy"][0]
