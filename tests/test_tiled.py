"""The fast kernels of :mod:`fastnn.kernels.tiled` (what the jit engine runs) against
:mod:`fastnn.kernels.mlp` (the plain per-sample kernels, themselves tested against the NumPy
reference in tests/test_kernels.py).

Only the public functions are called, ``tiled.sgd_epoch`` and ``tiled.feedforward_batch``, over
shapes that hit every remainder of any register blocking by 4 or 8: layer widths and sample
counts below, at and off multiples of 4 and 8, a single-neuron layer, a single input, deep nets,
mini-batches 1..9, 16, 33, 100 (larger than the data), a batch of the chunk size of inference
(256) plus one.

Tolerances (max abs difference, parameters of size ~1, float64): one mini-batch step <= 1e-12
(STEP_TOL), one epoch <= 1e-9 (EPOCH_TOL), outputs of a forward pass <= 1e-12.  float32 (both
kernels in float32; measured differences 3e-8 .. 5e-7, a few float32 ulps): one step <= 4e-6,
an epoch of mini-batches >= 4 <= 1e-5, outputs <= 1e-6.  (An epoch of 37 single-sample steps
at eta = 3 amplifies float32 rounding to ~1e-3, as much as float32 differs from float64 there.)
"""
import numpy as np
import pytest

from fastnn import _params
from fastnn.kernels import mlp, tiled

from conftest import EPOCH_TOL, STEP_TOL

# widths off the 4/8 grid, exact multiples of 4 and 8, one neuron, one input, deep
SHAPES = [[5, 7, 3], [8, 12, 4], [9, 13, 1], [1, 6, 2], [13, 1, 11], [11, 9, 6, 5, 3],
          [17, 33, 10], [16, 24, 8, 9]]
MINI_BATCHES = [1, 2, 3, 4, 5, 6, 7, 8, 9, 16, 33, 100]
ETA = 3.0
FLOAT32_TOL = {"step": 4e-6, "epoch": 1e-5, "forward": 1e-6}


def flat_net(sizes, dtype=np.float64, seed=0):
    """Random N(0, 1) parameters in the flat layout: (theta, w_off, b_off, sizes)."""
    sizes, w_off, b_off, n = _params.layout(sizes)
    theta = np.random.default_rng(seed).standard_normal(n).astype(dtype)
    return theta, w_off, b_off, sizes


def samples(sizes, n, dtype=np.float64, seed=1):
    """n inputs in [0, 1) and targets in [0, 1) (any real targets, not only one-hot)."""
    rng = np.random.default_rng(seed)
    return rng.random((n, sizes[0])).astype(dtype), rng.random((n, sizes[-1])).astype(dtype)


def train_both(sizes, X, Y, order, mb, decay, cost, dtype=np.float64):
    """The same epoch by tiled.sgd_epoch and mlp.sgd_epoch from the same parameters."""
    theta, w_off, b_off, sizes = flat_net(sizes, dtype)
    fast, plain = theta.copy(), theta.copy()
    decay = theta.dtype.type(decay)
    tiled.sgd_epoch(fast, w_off, b_off, sizes, X, Y, order, mb, ETA, decay, cost)
    mlp.sgd_epoch(plain, w_off, b_off, sizes, X, Y, order, mb, ETA, decay, cost)
    assert not np.array_equal(plain, theta)  # it trained
    return fast, plain


def max_diff(a, b):
    return float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64))))


@pytest.mark.parametrize("decay", [1.0, 1 - ETA * 0.5 / 40])
@pytest.mark.parametrize("cost", [mlp.QUADRATIC, mlp.CROSS_ENTROPY])
@pytest.mark.parametrize("sizes", SHAPES, ids=str)
def test_one_step_matches_mlp(sizes, cost, decay):
    """One mini-batch of m samples (a shuffled chunk, not the first rows of X): one step."""
    for m in MINI_BATCHES:
        X, Y = samples(sizes, m + 5)
        order = np.random.default_rng(m).permutation(m + 5)[:m]
        for mb in (m, m + 3):  # mini_batch_size == m, or larger than the chunk
            fast, plain = train_both(sizes, X, Y, order, mb, decay, cost)
            assert max_diff(fast, plain) <= STEP_TOL, (m, mb)
        # the step is mlp.update_mini_batch's: w -> decay w - (eta / m) nabla_w
        theta, w_off, b_off, sizes_arr = flat_net(sizes)
        mlp.update_mini_batch(theta, w_off, b_off, sizes_arr, X, Y, order, ETA / m, decay, cost)
        assert max_diff(fast, theta) <= STEP_TOL, m


@pytest.mark.parametrize("n", [37, 40])
@pytest.mark.parametrize("decay", [1.0, 1 - ETA * 0.5 / 40])
@pytest.mark.parametrize("cost", [mlp.QUADRATIC, mlp.CROSS_ENTROPY])
@pytest.mark.parametrize("sizes", SHAPES, ids=str)
def test_epoch_matches_mlp(sizes, cost, decay, n):
    """Whole epochs: every mini-batch size, a last mini-batch shorter than the others (n = 37)
    or not (n = 40 with mb 1, 2, 4, 5, 8), and mini-batches larger than the data."""
    X, Y = samples(sizes, n)
    order = np.random.default_rng(n).permutation(n)
    for mb in MINI_BATCHES:
        fast, plain = train_both(sizes, X, Y, order, mb, decay, cost)
        assert max_diff(fast, plain) <= EPOCH_TOL, mb


@pytest.mark.parametrize("sizes", SHAPES, ids=str)
def test_chunks_of_whole_mini_batches_equal_one_call(sizes):
    """fit trains an epoch in several calls of whole mini-batches: bit-identical to one call."""
    X, Y = samples(sizes, 37)
    order = np.random.default_rng(2).permutation(37)
    decay = 1 - ETA * 0.5 / 37
    for mb in (1, 3, 4, 7, 9):
        theta, w_off, b_off, sizes_arr = flat_net(sizes)
        once, chunked = theta.copy(), theta.copy()
        tiled.sgd_epoch(once, w_off, b_off, sizes_arr, X, Y, order, mb, ETA, decay, mlp.QUADRATIC)
        for start in range(0, 37, 2 * mb):
            tiled.sgd_epoch(chunked, w_off, b_off, sizes_arr, X, Y, order[start:start + 2 * mb], mb,
                            ETA, decay, mlp.QUADRATIC)
        np.testing.assert_array_equal(chunked, once)


@pytest.mark.parametrize("sizes", SHAPES, ids=str)
def test_feedforward_batch_matches_mlp(sizes):
    theta, w_off, b_off, sizes_arr = flat_net(sizes)
    for n in [1, 2, 3, 4, 5, 6, 7, 8, 9, 17, 256, 257, 300]:
        X, _ = samples(sizes, n, seed=n)
        fast = np.full((n, sizes[-1]), np.nan)  # every entry must be written
        plain = np.empty((n, sizes[-1]))
        tiled.feedforward_batch(theta, w_off, b_off, sizes_arr, X, fast)
        mlp.feedforward_batch(theta, w_off, b_off, sizes_arr, X, plain)
        assert max_diff(fast, plain) <= STEP_TOL, n


@pytest.mark.parametrize("sizes", [[5, 7, 3], [9, 13, 1], [11, 9, 6, 5, 3], [17, 33, 10]], ids=str)
def test_float32_matches_mlp_in_float32(sizes):
    """The same comparison in float32 (both kernels in float32) at float32-sized tolerances."""
    X, Y = samples(sizes, 37, np.float32)
    order = np.random.default_rng(3).permutation(37)
    for mb in (1, 4, 5, 9, 37):
        fast, plain = train_both(sizes, X, Y, order[:mb], mb, 1 - ETA * 0.5 / 37, mlp.CROSS_ENTROPY,
                                 np.float32)
        assert fast.dtype == np.float32 and max_diff(fast, plain) <= FLOAT32_TOL["step"], mb
        if mb > 1:
            fast, plain = train_both(sizes, X, Y, order, mb, 1.0, mlp.QUADRATIC, np.float32)
            assert max_diff(fast, plain) <= FLOAT32_TOL["epoch"], mb
    theta, w_off, b_off, sizes_arr = flat_net(sizes, np.float32)
    fast = np.full((37, sizes[-1]), np.nan, dtype=np.float32)
    plain = np.empty((37, sizes[-1]), dtype=np.float32)
    tiled.feedforward_batch(theta, w_off, b_off, sizes_arr, X, fast)
    mlp.feedforward_batch(theta, w_off, b_off, sizes_arr, X, plain)
    assert max_diff(fast, plain) <= FLOAT32_TOL["forward"]
