"""The fast kernels of :mod:`fastnn.kernels.tiled` (what every jit ``fit`` and ``predict`` runs)
against :mod:`fastnn.kernels.mlp` (the plain per-sample kernels, themselves tested against the
NumPy reference in tests/kernels/test_kernel_mlp.py).

Only the public functions are called, ``tiled.sgd_epoch`` and ``tiled.feedforward_batch``
(plus the cost term of the running metrics), over shapes that hit every remainder of the
kernel's register blocks of 2 rows x 5 samples and of 4 rows x 5 samples (both blocks on every
machine, whatever block the CPU gets by default): layer widths odd and even (the odd last row),
a single-neuron layer, a single input, deep nets; mini-batches 1..11 (a group of 5 samples,
less, several groups with a short last one), 16, and larger than the data; inference around its
chunk of ``INFER_CHUNK`` samples.

Tolerances (max abs difference, parameters of size ~1, float64): one mini-batch step <= 1e-12
(STEP_TOL), one epoch <= 1e-9 (EPOCH_TOL), outputs of a forward pass <= 1e-12.  float32 (both
kernels in float32; measured differences 3e-8 .. 5e-7, a few float32 ulps): one step <= 4e-6,
an epoch of mini-batches >= 4 <= 1e-5, outputs <= 1e-6.  (An epoch of 37 single-sample steps
at eta = 3 amplifies float32 rounding to ~1e-3, as much as float32 differs from float64 there.)

Sample weights and the running metrics (``sgd_epoch(..., sample_weight=, metrics=)``) are
checked against a direct computation: each mini-batch's outputs by ``mlp.feedforward_batch``
and costs by ``fastnn.training.sample_costs`` before its step, the step built in NumPy from the
per-sample gradients of ``mlp.backprop`` weighted as documented.
"""
import os

import numpy as np
import pytest

from fastnn import _params, training
from fastnn.kernels import mlp, panels, tiled

from conftest import EPOCH_TOL, STEP_TOL

# odd widths (the odd last row of a layer), even widths, one neuron, one input, deep
SHAPES = [[5, 7, 3], [8, 12, 4], [9, 13, 1], [1, 6, 2], [13, 1, 11], [11, 9, 6, 5, 3],
          [17, 33, 10], [16, 24, 8, 9]]
MINI_BATCHES = list(range(1, 12)) + [16, 100]
ETA = 3.0
DECAY = 1 - ETA * 0.5 / 40
FLOAT32_TOL = {"step": 4e-6, "epoch": 1e-5, "forward": 1e-6}
# (block_rows, panels): both register blocks with the first layer by blocks, and the panels
# (kernels/panels.py) for the first layer whatever the mini-batch size
ENGINES = [(2, False), (4, False), (2, True)]
ENGINE_IDS = ["blocks2", "blocks4", "panels"]
COST_NAMES = {mlp.QUADRATIC: "quadratic", mlp.CROSS_ENTROPY: "cross-entropy"}


def shape_id(sizes):
    """Test id of a network shape: ``11x9x6x5x3`` (selectable with ``-k``)."""
    return "x".join(map(str, sizes))


def flat_net(sizes, dtype=np.float64, seed=0):
    """Random N(0, 1) parameters in the flat layout: (theta, w_off, b_off, sizes)."""
    sizes, w_off, b_off, n = _params.layout(sizes)
    theta = np.random.default_rng(seed).standard_normal(n).astype(dtype)
    return theta, w_off, b_off, sizes


def samples(sizes, n, dtype=np.float64, seed=1):
    """n inputs in [0, 1) and targets in [0, 1) (any real targets, not only one-hot)."""
    rng = np.random.default_rng(seed)
    return rng.random((n, sizes[0])).astype(dtype), rng.random((n, sizes[-1])).astype(dtype)


def train_both(sizes, X, Y, order, mb, decay, cost, dtype=np.float64, block_rows=None, panels=None):
    """The same epoch by tiled.sgd_epoch (register blocks of ``block_rows`` rows, default the
    CPU's; the first layer as panels or not, default by the mini-batch size) and mlp.sgd_epoch
    from the same parameters."""
    theta, w_off, b_off, sizes = flat_net(sizes, dtype)
    fast, plain = theta.copy(), theta.copy()
    decay = theta.dtype.type(decay)
    tiled.sgd_epoch(fast, w_off, b_off, sizes, X, Y, order, mb, ETA, decay, cost, block_rows=block_rows,
                    panels=panels)
    mlp.sgd_epoch(plain, w_off, b_off, sizes, X, Y, order, mb, ETA, decay, cost)
    assert not np.array_equal(plain, theta)  # it trained
    return fast, plain


def max_diff(a, b):
    return float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64))))


def is_weight(w_off, b_off, sizes, n):
    """Boolean mask of the weights (not the biases) in a flat parameter vector of length n."""
    mask = np.zeros(n, dtype=bool)
    for l in range(len(sizes) - 1):
        mask[w_off[l]:w_off[l] + sizes[l + 1] * sizes[l]] = True
    return mask


def direct_epoch(theta, w_off, b_off, sizes, X, Y, order, mb, decay, cost, weight=None):
    """The epoch as sgd_epoch documents it, computed directly; returns (theta, metrics).

    Per mini-batch: outputs (mlp.feedforward_batch) and costs (training.sample_costs) with the
    parameters before its step, then w -> decay w - (eta / sum of the weights) sum_s w_s grad_s
    and b -> b - (same) sum_s w_s grad_s, the gradients by mlp.backprop, summed in float64;
    a step of 0 when the weights sum to 0.
    """
    theta = theta.copy()
    decays = np.where(is_weight(w_off, b_off, sizes, theta.size), decay, 1.0)
    metrics = np.zeros(3)
    nabla = np.empty_like(theta)
    for start in range(0, len(order), mb):
        batch = order[start:start + mb]
        w = np.ones(len(batch)) if weight is None else weight[batch].astype(theta.dtype).astype(np.float64)
        A = np.empty((len(batch), sizes[-1]), dtype=theta.dtype)
        mlp.feedforward_batch(theta, w_off, b_off, sizes, X[batch], A)
        with np.errstate(over="ignore", invalid="ignore"):  # saturated cross-entropy: huge costs
            metrics += [np.sum(w * training.sample_costs(A, Y[batch], COST_NAMES[cost])),
                        np.sum(np.argmax(A, axis=1) == np.argmax(Y[batch], axis=1)), np.sum(w)]
        gradient = np.zeros(theta.size)
        for ws, i in zip(w, batch):
            mlp.backprop(theta, w_off, b_off, sizes, X[i], Y[i], cost, nabla)
            gradient += ws * nabla
        step = ETA / np.sum(w) if np.sum(w) > 0 else 0.0
        theta = (decays * theta - step * gradient).astype(theta.dtype)
    return theta, metrics


@pytest.mark.parametrize("block_rows, panels", ENGINES, ids=ENGINE_IDS)
@pytest.mark.parametrize("decay", [1.0, DECAY])
@pytest.mark.parametrize("cost", [mlp.QUADRATIC, mlp.CROSS_ENTROPY])
@pytest.mark.parametrize("sizes", SHAPES, ids=shape_id)
def test_one_step_matches_mlp(sizes, cost, decay, block_rows, panels):
    """One mini-batch of m samples (a shuffled chunk, not the first rows of X): one step."""
    for m in MINI_BATCHES:
        X, Y = samples(sizes, m + 5)
        order = np.random.default_rng(m).permutation(m + 5)[:m]
        for mb in (m, m + 3):  # mini_batch_size == m, or larger than the chunk
            fast, plain = train_both(sizes, X, Y, order, mb, decay, cost, block_rows=block_rows, panels=panels)
            assert max_diff(fast, plain) <= STEP_TOL, (m, mb)
        # the step is mlp.update_mini_batch's: w -> decay w - (eta / m) nabla_w
        theta, w_off, b_off, sizes_arr = flat_net(sizes)
        mlp.update_mini_batch(theta, w_off, b_off, sizes_arr, X, Y, order, ETA / m, decay, cost)
        assert max_diff(fast, theta) <= STEP_TOL, m


@pytest.mark.parametrize("block_rows, panels", ENGINES, ids=ENGINE_IDS)
@pytest.mark.parametrize("n", [37, 40])
@pytest.mark.parametrize("decay", [1.0, DECAY])
@pytest.mark.parametrize("cost", [mlp.QUADRATIC, mlp.CROSS_ENTROPY])
@pytest.mark.parametrize("sizes", SHAPES, ids=shape_id)
def test_epoch_matches_mlp(sizes, cost, decay, n, block_rows, panels):
    """Whole epochs: every mini-batch size, a last mini-batch shorter than the others (n = 37)
    or not (n = 40 with mb 1, 2, 4, 5, 8, 10), and mini-batches larger than the data."""
    X, Y = samples(sizes, n)
    order = np.random.default_rng(n).permutation(n)
    for mb in MINI_BATCHES:
        fast, plain = train_both(sizes, X, Y, order, mb, decay, cost, block_rows=block_rows, panels=panels)
        assert max_diff(fast, plain) <= EPOCH_TOL, mb


@pytest.mark.parametrize("panels", [False, True], ids=["blocks", "panels"])
@pytest.mark.parametrize("sizes", SHAPES, ids=shape_id)
def test_chunks_of_whole_mini_batches_equal_one_call(sizes, panels):
    """fit trains an epoch in several calls of whole mini-batches: bit-identical to one call,
    and so are the running metrics summed over the calls (with panels: packed and unpacked
    at every call)."""
    X, Y = samples(sizes, 37)
    order = np.random.default_rng(2).permutation(37)
    for mb in (1, 3, 5, 7, 11):
        theta, w_off, b_off, sizes_arr = flat_net(sizes)
        once, chunked = theta.copy(), theta.copy()
        once_metrics, chunked_metrics = np.zeros(3), np.zeros(3)
        tiled.sgd_epoch(once, w_off, b_off, sizes_arr, X, Y, order, mb, ETA, DECAY, mlp.QUADRATIC,
                        metrics=once_metrics, panels=panels)
        for start in range(0, 37, 2 * mb):
            tiled.sgd_epoch(chunked, w_off, b_off, sizes_arr, X, Y, order[start:start + 2 * mb], mb,
                            ETA, DECAY, mlp.QUADRATIC, metrics=chunked_metrics, panels=panels)
        np.testing.assert_array_equal(chunked, once)
        np.testing.assert_allclose(chunked_metrics, once_metrics, rtol=1e-14)
        assert once_metrics[2] == 37


# ------------------------------------------------------------------------------------ inference
# INFER_CHUNK samples per round: chunk boundaries and a short last group of 5
INFERENCE_SIZES = [1, 2, 3, 4, 5, 6, 7, 11, tiled.INFER_CHUNK - 1, tiled.INFER_CHUNK,
                   tiled.INFER_CHUNK + 1, tiled.INFER_CHUNK + 4, 2 * tiled.INFER_CHUNK + 3]


@pytest.mark.parametrize("block_rows", tiled.BLOCK_ROWS)
@pytest.mark.parametrize("sizes", SHAPES, ids=shape_id)
def test_feedforward_batch_matches_mlp(sizes, block_rows):
    """Every entry written, equal to mlp's within 1e-12 (with numba's threads: the larger
    shapes take the sample-parallel path; tests/test_threads.py forces threads)."""
    theta, w_off, b_off, sizes_arr = flat_net(sizes)
    for n in INFERENCE_SIZES:
        X, _ = samples(sizes, n, seed=n)
        fast = np.full((n, sizes[-1]), np.nan)  # every entry must be written
        plain = np.empty((n, sizes[-1]))
        assert tiled.feedforward_batch(theta, w_off, b_off, sizes_arr, X, fast, block_rows=block_rows) == 0
        mlp.feedforward_batch(theta, w_off, b_off, sizes_arr, X, plain)
        assert max_diff(fast, plain) <= STEP_TOL, n


def test_feedforward_batch_counts_the_non_finite_weighted_inputs_of_the_first_layer():
    """The count feedforward_batch returns: every z of the first layer of a sample with a NaN or
    infinite input (also where the weight is 0: inf * 0 is NaN), inputs that overflow, never
    deeper layers; in every chunk of inference."""
    sizes = [6, 7, 4, 3]
    theta, w_off, b_off, sizes_arr = flat_net(sizes)
    n = 2 * tiled.INFER_CHUNK + 13
    X, _ = samples(sizes, n)
    bad_rows = [0, 4, 5, tiled.INFER_CHUNK - 1, tiled.INFER_CHUNK, n - 1]
    X[bad_rows[0], 2], X[bad_rows[1], 0], X[bad_rows[2], 5] = np.nan, np.inf, -np.inf
    X[bad_rows[3]], X[bad_rows[4], 1:3], X[bad_rows[5], 3] = 1e308, [np.nan, np.inf], np.nan
    W1 = theta[w_off[0]:w_off[0] + 7 * 6].reshape(7, 6)
    W1[...] = np.abs(W1) + 1.0  # 1e308 times weights > 1: every sum overflows to +inf ...
    W1[0] = 0.0  # ... but row 0's (0 * 1e308 = 0, z = b), while 0 * inf is NaN
    out = np.empty((n, 3))
    # 7 for each of the 5 rows with a NaN or inf, 6 for the row of 1e308
    assert tiled.feedforward_batch(theta, w_off, b_off, sizes_arr, X, out) == 5 * 7 + 6
    good = np.setdiff1d(np.arange(n), bad_rows)
    assert np.isfinite(out[good]).all()
    # an overflow in a deeper layer is not counted (the count proves the inputs finite)
    theta[w_off[1]:w_off[1] + 28] = 1e308
    assert tiled.feedforward_batch(theta, w_off, b_off, sizes_arr, X[good], out[:len(good)]) == 0


@pytest.mark.parametrize("block_rows", tiled.BLOCK_ROWS)
def test_sgd_epoch_counts_the_non_finite_weighted_inputs_it_trains_on(block_rows):
    """sgd_epoch returns the first layer's count too (fit relies on it instead of scanning X):
    0 for finite rows, every z of a trained sample with a NaN or inf, nothing for untrained rows."""
    sizes = [6, 7, 3]
    theta0, w_off, b_off, sizes_arr = flat_net(sizes)
    X, Y = samples(sizes, 40)
    order = np.random.default_rng(2).permutation(40)[:30]
    args = (w_off, b_off, sizes_arr, X, Y, order, 10, ETA, DECAY, mlp.QUADRATIC)
    assert tiled.sgd_epoch(theta0.copy(), *args, block_rows=block_rows) == 0
    untrained = np.setdiff1d(np.arange(40), order)[0]
    X[untrained, 1] = np.nan
    assert tiled.sgd_epoch(theta0.copy(), *args, block_rows=block_rows) == 0
    X[order[17], 4] = np.inf
    # its own 7, then the NaN weights of its mini-batch's step poison the later mini-batches
    assert tiled.sgd_epoch(theta0.copy(), *args, block_rows=block_rows) >= 7
    X[order[17], 4] = 0.0
    X[order[29], 0] = -np.inf  # the last sample: nothing trained after it
    assert tiled.sgd_epoch(theta0.copy(), *args, block_rows=block_rows) == 7


@pytest.mark.parametrize("block_rows, panels", ENGINES, ids=ENGINE_IDS)
@pytest.mark.parametrize("sizes", [[5, 7, 3], [9, 13, 1], [11, 9, 6, 5, 3], [17, 33, 10]], ids=shape_id)
def test_float32_matches_mlp_in_float32(sizes, block_rows, panels):
    """The same comparison in float32 (both kernels in float32) at float32-sized tolerances."""
    X, Y = samples(sizes, 37, np.float32)
    order = np.random.default_rng(3).permutation(37)
    for mb in (1, 4, 5, 9, 11, 37):
        fast, plain = train_both(sizes, X, Y, order[:mb], mb, DECAY, mlp.CROSS_ENTROPY, np.float32, block_rows,
                                 panels)
        assert fast.dtype == np.float32 and max_diff(fast, plain) <= FLOAT32_TOL["step"], mb
        if mb > 1:
            fast, plain = train_both(sizes, X, Y, order, mb, 1.0, mlp.QUADRATIC, np.float32, block_rows, panels)
            assert max_diff(fast, plain) <= FLOAT32_TOL["epoch"], mb
    theta, w_off, b_off, sizes_arr = flat_net(sizes, np.float32)
    for n in (37, tiled.INFER_CHUNK + 1):
        X, _ = samples(sizes, n, np.float32)
        fast = np.full((n, sizes[-1]), np.nan, dtype=np.float32)
        plain = np.empty((n, sizes[-1]), dtype=np.float32)
        tiled.feedforward_batch(theta, w_off, b_off, sizes_arr, X, fast, block_rows=block_rows)
        mlp.feedforward_batch(theta, w_off, b_off, sizes_arr, X, plain)
        assert max_diff(fast, plain) <= FLOAT32_TOL["forward"], n


# ------------------------------------------------------------------- weights and running metrics
def weights_for(n, seed):
    """Non-negative sample weights: zeros, integers and fractions."""
    rng = np.random.default_rng(seed)
    return rng.choice([0.0, 0.25, 1.0, 2.0, 3.5], size=n)


@pytest.mark.parametrize("panels", [False, True], ids=["blocks", "panels"])
@pytest.mark.parametrize("cost", [mlp.QUADRATIC, mlp.CROSS_ENTROPY])
@pytest.mark.parametrize("sizes", SHAPES, ids=shape_id)
def test_weighted_epoch_and_running_metrics_match_a_direct_computation(sizes, cost, panels):
    """Sample weights scale each sample's gradient and make the step eta / (sum of the weights);
    the metrics are [sum w C_x, correct, sum w] of each sample's output before its step.
    Without weights the metrics are those of weights 1."""
    n = 37
    X, Y = samples(sizes, n)
    Y[np.arange(n), np.random.default_rng(4).integers(0, sizes[-1], n)] = 1.0  # a clear argmax
    order = np.random.default_rng(5).permutation(n)
    weight = weights_for(n, 6)
    theta, w_off, b_off, sizes_arr = flat_net(sizes)
    for mb in (1, 4, 5, 6, 11, 16):
        for w in (None, weight):
            expected, expected_metrics = direct_epoch(theta, w_off, b_off, sizes_arr, X, Y, order, mb,
                                                      DECAY, cost, w)
            fast, metrics = theta.copy(), np.zeros(3)
            tiled.sgd_epoch(fast, w_off, b_off, sizes_arr, X, Y, order, mb, ETA, DECAY, cost,
                            sample_weight=w, metrics=metrics, panels=panels)
            assert max_diff(fast, expected) <= EPOCH_TOL, (mb, w is None)
            np.testing.assert_allclose(metrics[0], expected_metrics[0], rtol=1e-9)
            assert metrics[1:].tolist() == expected_metrics[1:].tolist(), (mb, w is None)


def test_weights_of_one_are_bit_identical_to_no_weights():
    sizes = [11, 9, 6, 5, 3]
    X, Y = samples(sizes, 37)
    order = np.random.default_rng(7).permutation(37)
    for dtype, panels in ((np.float64, False), (np.float32, False), (np.float64, True), (np.float32, True)):
        theta, w_off, b_off, sizes_arr = flat_net(sizes, dtype)
        plain, weighted = theta.copy(), theta.copy()
        Xd, Yd = X.astype(dtype), Y.astype(dtype)
        tiled.sgd_epoch(plain, w_off, b_off, sizes_arr, Xd, Yd, order, 6, ETA, dtype(DECAY), mlp.QUADRATIC,
                        panels=panels)
        tiled.sgd_epoch(weighted, w_off, b_off, sizes_arr, Xd, Yd, order, 6, ETA, dtype(DECAY),
                        mlp.QUADRATIC, sample_weight=np.ones(37), panels=panels)
        np.testing.assert_array_equal(weighted, plain)


@pytest.mark.parametrize("panels", [False, True], ids=["blocks", "panels"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_a_mini_batch_of_zero_weights_only_decays(dtype, panels):
    """Weights summing to 0: step 0, so the weights are multiplied by decay once per mini-batch
    (exactly) and the biases do not move; the other mini-batches train as usual."""
    sizes = [9, 13, 4]
    X, Y = samples(sizes, 20, dtype)
    theta, w_off, b_off, sizes_arr = flat_net(sizes, dtype)
    mask = is_weight(w_off, b_off, sizes_arr, theta.size)
    order = np.arange(20)
    decay = dtype(DECAY)
    zero = theta.copy()
    tiled.sgd_epoch(zero, w_off, b_off, sizes_arr, X, Y, order, 7, ETA, decay, mlp.CROSS_ENTROPY,
                    sample_weight=np.zeros(20), panels=panels)
    expected = theta.copy()
    for _ in range(3):  # mini-batches of 7, 7 and 6
        expected[mask] = decay * expected[mask]
    np.testing.assert_array_equal(zero, expected)
    # the middle mini-batch weighs nothing: the epoch equals the first and last trained around it
    weight = np.ones(20)
    weight[7:14] = 0.0
    fast = theta.copy()
    tiled.sgd_epoch(fast, w_off, b_off, sizes_arr, X, Y, order, 7, ETA, decay, mlp.CROSS_ENTROPY,
                    sample_weight=weight, panels=panels)
    around = theta.copy()
    tiled.sgd_epoch(around, w_off, b_off, sizes_arr, X, Y, order[:7], 7, ETA, decay, mlp.CROSS_ENTROPY,
                    panels=panels)
    around[mask] = decay * around[mask]
    tiled.sgd_epoch(around, w_off, b_off, sizes_arr, X, Y, order[14:], 7, ETA, decay, mlp.CROSS_ENTROPY,
                    panels=panels)
    np.testing.assert_array_equal(fast, around)


@pytest.mark.parametrize("cost", [mlp.QUADRATIC, mlp.CROSS_ENTROPY])
def test_float32_running_metrics_match_a_direct_computation(cost):
    """float32 parameters; the metrics are summed in float64 from the float32 outputs."""
    sizes = [11, 9, 6, 5, 3]
    X, Y = samples(sizes, 37, np.float32)
    theta, w_off, b_off, sizes_arr = flat_net(sizes, np.float32)
    order = np.random.default_rng(8).permutation(37)
    weight = weights_for(37, 9)
    for w in (None, weight):
        _, expected = direct_epoch(theta, w_off, b_off, sizes_arr, X, Y, order, 5, np.float32(DECAY), cost, w)
        metrics = np.zeros(3)
        tiled.sgd_epoch(theta.copy(), w_off, b_off, sizes_arr, X, Y, order, 5, ETA, np.float32(DECAY), cost,
                        sample_weight=w, metrics=metrics)
        np.testing.assert_allclose(metrics[0], expected[0], rtol=1e-5)
        assert metrics[1] == expected[1] and metrics[2] == expected[2]


@pytest.mark.parametrize("sizes, target", [([5, 7, 3], [1.0, 1.0, 0.0]), ([5, 7, 3], [0.0, 1.0, 1.0]),
                                           ([5, 7, 3], [0.5, 0.5, 0.5]), ([5, 7, 1], [0.3])],
                         ids=["tie-01", "tie-12", "all-equal", "one-output"])
def test_running_accuracy_breaks_ties_like_argmax(sizes, target):
    """A sample counts as correct when its output's argmax is the target's argmax, and both take
    the first of equal values (np.argmax, network2.py's accuracy); one mini-batch, so every
    sample is measured with the initial parameters."""
    X, _ = samples(sizes, 12)
    Y = np.tile(np.array(target), (12, 1))
    theta, w_off, b_off, sizes_arr = flat_net(sizes)
    out = np.empty((12, sizes[-1]))
    mlp.feedforward_batch(theta, w_off, b_off, sizes_arr, X, out)
    metrics = np.zeros(3)
    tiled.sgd_epoch(theta.copy(), w_off, b_off, sizes_arr, X, Y, np.arange(12), 12, ETA, 1.0,
                    mlp.QUADRATIC, metrics=metrics)
    assert metrics[1] == np.sum(np.argmax(out, axis=1) == np.argmax(Y, axis=1))


def test_running_accuracy_takes_the_first_of_tied_outputs():
    """Identical output neurons give identical outputs: the prediction is the first of them
    (np.argmax), so only the samples whose target is neuron 0 count as correct: 6 of 12."""
    sizes = [5, 7, 3]
    X, _ = samples(sizes, 12)
    Y = np.eye(3)[[0] * 6 + [1] * 2 + [2] * 4]
    theta, w_off, b_off, sizes_arr = flat_net(sizes)
    W = theta[w_off[1]:w_off[1] + 21].reshape(3, 7)
    W[1:] = W[0]  # every output neuron is a copy of the first
    theta[b_off[1]:b_off[1] + 3] = theta[b_off[1]]
    metrics = np.zeros(3)
    tiled.sgd_epoch(theta.copy(), w_off, b_off, sizes_arr, X, Y, np.arange(12), 12, ETA, 1.0,
                    mlp.QUADRATIC, metrics=metrics)
    assert metrics[1] == 6


def test_running_metrics_are_added_to_the_given_sums():
    sizes = [5, 7, 3]
    X, Y = samples(sizes, 12)
    theta, w_off, b_off, sizes_arr = flat_net(sizes)
    metrics = np.array([1.5, 2.0, 3.0])
    fresh = np.zeros(3)
    tiled.sgd_epoch(theta.copy(), w_off, b_off, sizes_arr, X, Y, np.arange(12), 5, ETA, 1.0,
                    mlp.QUADRATIC, metrics=metrics)
    tiled.sgd_epoch(theta.copy(), w_off, b_off, sizes_arr, X, Y, np.arange(12), 5, ETA, 1.0,
                    mlp.QUADRATIC, metrics=fresh)
    np.testing.assert_allclose(metrics, fresh + [1.5, 2.0, 3.0], rtol=1e-15)


def test_no_floating_point_error_in_a_sane_epoch_and_forward_pass():
    """Under ``NUMBA_DISABLE_JIT`` the kernels compute with NumPy scalars, whose errors NumPy
    reports: on sane data none may occur (a division by the width of a panel that the blocks
    do not have, say: compiled, that division raises ZeroDivisionError).  Compiled, errstate
    has no effect, and the results are checked finite."""
    sizes = [5, 7, 3]
    theta, w_off, b_off, sizes_arr = flat_net(sizes)
    X, Y = samples(sizes, 23)
    out = np.empty((23, 3))
    with np.errstate(all="raise"):
        trained = tiled.sgd_epoch(theta, w_off, b_off, sizes_arr, X, Y, np.arange(23), 4, ETA, 0.99,
                                  mlp.QUADRATIC, panels=False)
        inferred = tiled.feedforward_batch(theta, w_off, b_off, sizes_arr, X, out)
    assert trained == inferred == 0 and np.isfinite(theta).all() and np.isfinite(out).all()


def test_cross_entropy_term_is_network2s_nan_to_num():
    """Each output's cost term in the running metrics, on every branch: inside (0, 1), saturated
    at exactly 0 or 1 (log 0 with a zero or non-zero factor), NaN, outside [0, 1]."""
    values = [0.0, 1e-300, 0.3, 0.5, 1 - 1e-16, 1.0, -0.5, 1.5, np.nan]
    targets = [0.0, 0.25, 1.0, 1.5, -0.5]
    for a in values:
        for t in targets:
            with np.errstate(divide="ignore", invalid="ignore"):
                expected = float(np.nan_to_num(-t * np.log(a) - (1 - t) * np.log(1 - a)))
            got = tiled._cross_entropy_term(a, t)
            assert got == pytest.approx(expected, rel=1e-15, abs=0), (a, t)


# --------------------------------------------------------------------------- splits between threads
def run_on(threads, theta, w_off, b_off, sizes, X, Y, order, mb, cost, weight, out, block_rows=2,
           tile=panels.NO_TILE):
    """tiled._run (the kernel's one entry) told to split layers into ``threads`` parts; numba
    runs the parts on however many threads it has (one is enough), so every partition of a
    layer's rows or panels (training) or sample groups (inference) is exercised on any machine."""
    metrics = np.zeros(3)
    if tile:
        panels.compile_tiles(theta.dtype)
    bad = tiled._run(theta, w_off, b_off, sizes, X, Y, order, mb, ETA, theta.dtype.type(DECAY), cost,
                     threads, weight, metrics, out, tiled.row_block(block_rows), tile, *tiled.no_team(theta))
    return metrics, bad


@pytest.mark.parametrize("n_in, n_hidden", [(40, 33), (19, 70)])
@pytest.mark.parametrize("block_rows, with_panels", ENGINES, ids=ENGINE_IDS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_every_split_between_threads_gives_the_same_bits(dtype, block_rows, with_panels, n_in, n_hidden):
    """Layers above PARALLEL_MIN_WORK split into 1..5 parts (33 rows: an odd pair, or 3 panels of 16
    or 5 of 8, split by samples and inputs on 5 threads; 70 rows: 5 panels of 16 or 9 of 8, owned
    whole on 2 threads; 19 inputs: 4 blocks of 6 for 5 parts; 403 samples: a short last group of 5),
    bit-identical whatever the split and equal to mlp's."""
    tile = panels.panel_tile(dtype) if with_panels else panels.NO_TILE
    sizes = [n_in, n_hidden, 9, 3]
    theta0, w_off, b_off, sizes_arr = flat_net(sizes, dtype)
    # training splits the first layer's rows, inference the first two layers' samples
    assert n_in * n_hidden * 13 >= tiled.PARALLEL_MIN_WORK and n_hidden * 9 * 400 >= tiled.PARALLEL_MIN_WORK
    if with_panels:  # whatever the CPU's panel width: both ways of splitting the first layer
        threads, owned = (2, True) if n_hidden == 70 else (5, False)
        assert (panels.panel_count(n_hidden, tile) >= tiled.PANELS_PER_THREAD * threads) == owned
        assert panels.panel_count(n_hidden, tile) < tiled.PANELS_PER_THREAD * 5  # 70 rows: by samples on 5
    X, Y = samples(sizes, 403, dtype)
    X[[3, 399]] = np.nan
    order = np.random.default_rng(10).permutation(np.arange(100, 160))  # finite rows only
    weight = weights_for(403, 11).astype(dtype)
    trained, outputs = {}, {}
    for threads in (1, 2, 3, 5):
        theta = theta0.copy()
        metrics, _ = run_on(threads, theta, w_off, b_off, sizes_arr, X, Y, order, 13, mlp.CROSS_ENTROPY,
                            weight, np.empty((0, 3), dtype), block_rows, tile)
        # first other inputs of the same shape, on one thread: a sample that the split misses
        # would keep their activations (freed buffers are reused), not by luck the right ones
        other = np.empty((403, 3), dtype)
        run_on(1, theta, w_off, b_off, sizes_arr, X[::-1] * 0.5, other, np.arange(403),
               tiled.INFER_CHUNK, mlp.QUADRATIC, theta[:0], other)
        out = np.full((403, 3), np.nan, dtype)
        _, bad = run_on(threads, theta, w_off, b_off, sizes_arr, X, out, np.arange(403),
                        tiled.INFER_CHUNK, mlp.QUADRATIC, theta[:0], out, block_rows)
        assert bad == 2 * n_hidden, threads
        trained[threads] = (theta, metrics)
        outputs[threads] = out
    for threads in (2, 3, 5):
        np.testing.assert_array_equal(trained[threads][0], trained[1][0])
        np.testing.assert_array_equal(trained[threads][1], trained[1][1])
        np.testing.assert_array_equal(outputs[threads], outputs[1])
    expected, expected_metrics = direct_epoch(theta0, w_off, b_off, sizes_arr, X, Y, order, 13, dtype(DECAY),
                                              mlp.CROSS_ENTROPY, weight)
    tol = EPOCH_TOL if dtype == np.float64 else 1e-4  # float32 against a float64-summed reference
    assert max_diff(trained[1][0], expected) <= tol
    np.testing.assert_allclose(trained[1][1], expected_metrics, rtol=1e-9 if dtype == np.float64 else 1e-5)
    plain = np.empty((403, 3), dtype)
    mlp.feedforward_batch(trained[1][0], w_off, b_off, sizes_arr, X, plain)
    finite = np.isfinite(X).all(axis=1)
    assert max_diff(outputs[1][finite], plain[finite]) <= (STEP_TOL if dtype == np.float64 else 1e-6)


# --------------------------------------------------------------------------- register block per CPU
def test_block_rows_for_cpu_follows_avx512():
    assert tiled.block_rows_for_cpu({"avx512f": True, "avx2": True}) == 4
    assert tiled.block_rows_for_cpu({"avx512f": False, "avx2": True}) == 2
    assert tiled.block_rows_for_cpu({}) == 2
    assert tiled.block_rows_for_cpu("+avx2,+avx512f,+fma") == 4
    assert tiled.block_rows_for_cpu("+avx2,-avx512f") == 2
    assert tiled.block_rows_for_cpu() in tiled.BLOCK_ROWS  # this machine's


def test_block_rows_follow_numba_cpu_features(monkeypatch):
    import numba

    monkeypatch.setattr(numba.config, "CPU_FEATURES", "+avx2,+fma,-avx512f")
    assert tiled.block_rows_for_cpu() == 2
    monkeypatch.setattr(numba.config, "CPU_FEATURES", "+avx2,+fma,+avx512f")
    assert tiled.block_rows_for_cpu() == 4


@pytest.mark.parametrize("block_rows", [0, 3, 8, "4"])
def test_other_block_rows_are_refused(block_rows):
    theta, w_off, b_off, sizes_arr = flat_net([5, 7, 3])
    X, Y = samples([5, 7, 3], 6)
    with pytest.raises(ValueError, match=r"block_rows must be one of \(2, 4\)"):
        tiled.sgd_epoch(theta, w_off, b_off, sizes_arr, X, Y, np.arange(6), 5, ETA, 1.0, mlp.QUADRATIC,
                        block_rows=block_rows)
    with pytest.raises(ValueError, match="block_rows must be one of"):
        tiled.feedforward_batch(theta, w_off, b_off, sizes_arr, X, np.empty((6, 3)), block_rows=block_rows)


def test_row_block_is_the_tuple_of_row_offsets():
    assert tiled.row_block(2) == (0, 1)
    assert tiled.row_block(4) == (0, 1, 2, 3)
    assert tiled.row_block() == tiled.row_block(tiled.block_rows_for_cpu())


def test_a_process_compiles_only_the_block_it_uses(tmp_path):
    """With 2-row blocks, a first process (empty numba cache) never compiles the 4-row leaves,
    and both specialisations live side by side in the cache."""
    import subprocess
    import sys

    code = ("import sys, numpy as np\n"
            "from fastnn import _params\n"
            "from fastnn.kernels import tiled\n"
            "sizes, w_off, b_off, n = _params.layout([9, 11, 3])\n"
            "theta = np.random.default_rng(0).standard_normal(n)\n"
            "X = np.random.default_rng(1).random((23, 9))\n"
            "Y = np.zeros((23, 3))\n"
            "rows = int(sys.argv[1])\n"
            "tiled.sgd_epoch(theta, w_off, b_off, sizes, X, Y, np.arange(23), 10, 3.0, 1.0, 0, block_rows=rows)\n"
            "tiled.feedforward_batch(theta, w_off, b_off, sizes, X, Y, block_rows=rows)\n"
            "print(*[len(f.signatures) for f in (tiled._dots, tiled._descend, tiled._dots4, tiled._descend4)])\n")
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    env.pop("NUMBA_DISABLE_JIT", None)

    def compiled(block_rows):
        out = subprocess.run([sys.executable, "-c", code, str(block_rows)], capture_output=True, text=True,
                             timeout=900, env=env)
        assert out.returncode == 0, out.stderr
        return [int(v) for v in out.stdout.split()]

    assert compiled(2) == [1, 1, 0, 0]  # compiled here (not loaded): the 2-row leaves only
    assert compiled(4) == [1, 1, 1, 1]  # the other specialisation is compiled when asked for
    assert compiled(2) == [0, 0, 0, 0]  # the first one is still loaded from numba's cache


def test_both_blocks_agree_on_a_wide_layer():
    """4-row blocks with every remainder (37 rows: 9 blocks and one row) against 2-row blocks."""
    sizes = [50, 37, 10]
    X, Y = samples(sizes, 60)
    order = np.random.default_rng(4).permutation(60)
    four, plain = train_both(sizes, X, Y, order, 10, DECAY, mlp.QUADRATIC, block_rows=4)
    two, _ = train_both(sizes, X, Y, order, 10, DECAY, mlp.QUADRATIC, block_rows=2)
    assert max_diff(four, two) <= EPOCH_TOL and max_diff(four, plain) <= EPOCH_TOL


def test_the_options_are_keyword_only_and_every_argument_can_be_named():
    """sgd_epoch and feedforward_batch take sample_weight, metrics and block_rows by name only
    (a weight array passed by position is refused), and accept every argument by name."""
    sizes = [5, 7, 3]
    theta, w_off, b_off, sizes_arr = flat_net(sizes)
    X, Y = samples(sizes, 6)
    order = np.arange(6)
    with pytest.raises(TypeError):
        tiled.sgd_epoch(theta.copy(), w_off, b_off, sizes_arr, X, Y, order, 5, ETA, 1.0, mlp.QUADRATIC, np.ones(6))
    with pytest.raises(TypeError):
        tiled.feedforward_batch(theta, w_off, b_off, sizes_arr, X, np.empty((6, 3)), 2)
    named, positional = theta.copy(), theta.copy()
    tiled.sgd_epoch(theta=named, w_off=w_off, b_off=b_off, sizes=sizes_arr, X=X, Y=Y, order=order,
                    mini_batch_size=5, eta=ETA, decay=1.0, cost=mlp.QUADRATIC, block_rows=2)
    tiled.sgd_epoch(positional, w_off, b_off, sizes_arr, X, Y, order, 5, ETA, 1.0, mlp.QUADRATIC, block_rows=2)
    np.testing.assert_array_equal(named, positional)
    assert not np.array_equal(named, theta)  # the step happened
    out_named, out_positional = np.empty((6, 3)), np.empty((6, 3))
    assert tiled.feedforward_batch(theta=theta, w_off=w_off, b_off=b_off, sizes=sizes_arr, X=X, out=out_named,
                                   block_rows=2) == 0
    tiled.feedforward_batch(theta, w_off, b_off, sizes_arr, X, out_positional, block_rows=2)
    np.testing.assert_array_equal(out_named, out_positional)
