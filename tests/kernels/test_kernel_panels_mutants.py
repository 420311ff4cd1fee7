"""Tests written against what a mutation run (tools/mutation.py kernels/panels.py) and deliberate
bugs left unseen in the panel path of the first layer (kernels/panels.py, and its drivers in
kernels/tiled.py: ``_panel_step_part``, ``_panel_forward_part``, their parallel splits and
``_first_layer_panels``).

The count of non-finite weighted inputs that ``sgd_epoch`` returns (fit relies on it instead of
scanning ``X``) was tested on the register blocks only (mini-batches below ``MIN_BATCH``): the
panel path could return 0 for a NaN or infinite input and every test passed.  Here it is compared
with a plain NumPy count (``X[rows] @ W^T + b`` not finite; every z of a sample with an infinite
input is infinite or NaN whatever the finite weights, so the initial weights give the same count
as the trained ones) and with the blocks' count, serially and for 2 and 3 parts between threads.

``step_panels`` was tested with its inputs at column 0 only, as the epoch passes them (the first
layer reads ``X`` from column 0), and with all its panels at once: its inputs (the last
``n_in % 6`` of them, in the version the mutation run saw) could be read from the wrong column.
It is tested here as documented, its inputs packed by ``pack_inputs`` from column ``src_col`` of a
wider buffer (as the forward test reads them) a block at a time, all panels at once, one panel
at a time and one block of inputs at a time, against the step computed in NumPy.
"""
import numpy as np
import pytest

from fastnn import _params
from fastnn.kernels import mlp, panels, tiled

DTYPES = [np.float64, np.float32]
TOL = {np.float64: 1e-12, np.float32: 2e-4}  # as test_kernel_panels.py: a few ulps of sums of ~1
SIZES = [40, 33, 3]  # 33 rows: 5 panels of 8 (float64) or 3 of 16 (float32), padding rows in the last
MB = 32  # panels by default; 40 * 33 * 32 multiply-adds: above PARALLEL_MIN_WORK, so the parts run


def net(dtype):
    sizes, w_off, b_off, n = _params.layout(SIZES)
    theta = np.random.default_rng(0).standard_normal(n).astype(dtype)
    rng = np.random.default_rng(1)
    X = rng.random((80, SIZES[0])).astype(dtype)
    Y = rng.random((80, SIZES[-1])).astype(dtype)
    order = rng.permutation(80)[:70]  # mini-batches of 32, 32 and 6; 10 rows never trained
    return theta, w_off, b_off, sizes, X, Y, order


def panel_count(theta, w_off, b_off, sizes, X, Y, order, threads):
    """tiled._run's count through the panels, the first layer split into ``threads`` parts
    (numba runs them on however many threads it has)."""
    dtype = theta.dtype
    panels.compile_tiles(dtype)
    assert tiled.PARALLEL_MIN_WORK <= SIZES[0] * SIZES[1] * MB
    return tiled._run(theta.copy(), w_off, b_off, sizes, X, Y, order, MB, 3.0, dtype.type(0.99),
                      mlp.CROSS_ENTROPY, threads, theta[:0], tiled.NO_METRICS,
                      np.empty((0, SIZES[-1]), dtype), tiled.row_block(2), panels.panel_tile(dtype),
                      *tiled.no_team(theta))


def numpy_count(theta, w_off, b_off, X, rows):
    """Non-finite z = W a + b of the first layer for the samples ``rows``, in NumPy (float64)."""
    W = theta[w_off[0]:w_off[0] + SIZES[1] * SIZES[0]].reshape(SIZES[1], SIZES[0]).astype(np.float64)
    b = theta[b_off[0]:b_off[0] + SIZES[1]].astype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        z = X[rows].astype(np.float64) @ W.T + b
    return int(np.count_nonzero(~np.isfinite(z)))


@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_panel_epoch_counts_the_non_finite_weighted_inputs(dtype, threads):
    theta, w_off, b_off, sizes, X, Y, order = net(dtype)
    args = (theta, w_off, b_off, sizes, X, Y, order)
    assert panel_count(*args, threads) == 0
    untrained = np.setdiff1d(np.arange(80), order)[0]
    X[untrained, 3] = np.nan  # never read: not counted
    assert panel_count(*args, threads) == 0
    # two samples of the last mini-batch (nothing is trained after their step): every one of
    # their z, none of the padding rows of the last panel
    last = order[64:]
    X[last[1], 0], X[last[4], 39] = np.inf, -np.inf
    expected = numpy_count(theta, w_off, b_off, X, last)
    assert expected == 2 * SIZES[1]
    assert panel_count(*args, threads) == expected
    # an infinite input in the first mini-batch: its NaN step poisons the later mini-batches;
    # the same count as the register blocks give
    X[order[5], 7] = np.inf
    blocks = tiled.sgd_epoch(theta.copy(), w_off, b_off, sizes, X, Y, order, MB, 3.0, dtype(0.99),
                             mlp.CROSS_ENTROPY, panels=False)
    assert blocks > expected
    assert panel_count(*args, threads) == blocks


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sgd_epoch_through_the_panels_returns_the_count(dtype):
    """The public call (the default at MB, numba's own thread count) returns the same count."""
    theta, w_off, b_off, sizes, X, Y, order = net(dtype)
    last = order[64:]
    X[last[2], 11] = np.nan
    expected = numpy_count(theta, w_off, b_off, X, last)
    assert expected == SIZES[1]
    got = tiled.sgd_epoch(theta.copy(), w_off, b_off, sizes, X, Y, order, MB, 3.0, dtype(0.99), mlp.QUADRATIC)
    assert got == expected


def test_fit_at_min_batch_names_a_nan_input():
    """What the count is for: Network.fit trains at MIN_BATCH through the panels without scanning
    X first, and must still refuse a NaN row as it does below MIN_BATCH (a count of 0 let it
    train on the NaN and report a divergence instead)."""
    from fastnn import Network

    rng = np.random.default_rng(0)
    X = rng.random((200, 8))
    X[57, 2] = np.nan
    net = Network([8, 20, 3], seed=0)
    with pytest.raises(ValueError, match="X contains NaN or infinity"):
        net.fit(X, np.arange(200) % 3, epochs=2, mini_batch_size=panels.MIN_BATCH, eta=1.0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n_in, n_out", [(5, 9), (7, 17), (785, 16)])  # every one with inputs past the tiles
def test_step_panels_read_the_inputs_packed_from_their_column_panel_by_panel(n_in, n_out, dtype):
    """w -> decay w - step sum_s delta_sj a_sk (BP4, eq. 20, eq. 93) with sample s's inputs at
    ``wide[rows[s], 2:]`` (columns 0 and 1 NaN), split by panels, by blocks of inputs (empty ranges
    among them) or not at all, each split bit for bit the whole step; the tolerance of
    test_kernel_panels.py's step test (float64 1e-12, float32 2e-4, times m / 10 past 10 samples)."""
    rng = np.random.default_rng(3)
    theta = rng.standard_normal(3 + n_out * n_in).astype(dtype)  # W after 3 other values
    X = rng.random((40, n_in)).astype(dtype)
    wide = np.hstack([np.full((40, 2), np.nan, dtype), X]).astype(dtype)
    W = theta[3:].reshape(n_out, n_in)
    tile = panels.panel_tile(dtype)
    width = len(tile)
    panels.compile_tiles(dtype)
    n_panels = panels.panel_count(n_out, tile)
    step, decay = dtype(0.37), dtype(0.99)
    assert n_in % panels.SAMPLES  # inputs in a last block padded with zeros
    n_blocks = panels.block_count(n_in)
    for m in (1, 6, 7, 13):
        rows = rng.permutation(40)[:m].astype(np.int64)
        inputs = np.full(n_blocks * panels.SAMPLES * m, np.nan, dtype)
        for kb in range(n_blocks):
            panels.pack_inputs(wide.ravel(), n_in + 2, rows, 2, m, n_in, kb, kb + 1, inputs)
        delta = rng.standard_normal((m, n_out + 4)).astype(dtype)  # delta_sj at column 4 + j
        gradient = delta[:, 4:].astype(np.float64).T @ X[rows].astype(np.float64)
        expected = decay * W.astype(np.float64) - step * gradient
        whole = [(0, n_panels, 0, n_blocks)]
        by_panels = [(q, q + 1, 0, n_blocks) for q in range(n_panels)]
        by_blocks = [(0, n_panels, kb, kb + 1) for kb in range(n_blocks)] + [(0, n_panels, n_blocks, n_blocks)]
        results = []
        for split in (whole, by_panels, by_blocks):
            buf = np.full(n_panels * n_in * width, np.nan, dtype)
            panels.pack(theta, 3, n_out, n_in, buf, tile)
            scaled = np.full(n_panels * m * width, np.nan, dtype)
            for q_lo, q_hi, kb_lo, kb_hi in split:
                panels.step_panels(tile, buf, q_lo, q_hi, kb_lo, kb_hi, n_in, n_out, inputs, m, delta.ravel(),
                                   n_out + 4, 4, step, decay, scaled)
            new = np.zeros_like(theta)
            panels.unpack(buf, new, 3, n_out, n_in, tile)
            np.testing.assert_allclose(new[3:].reshape(n_out, n_in), expected, rtol=0,
                                       atol=TOL[dtype] * max(1, m / 10), err_msg=f"m={m}, split={split}")
            results.append(new)
        np.testing.assert_array_equal(results[1], results[0])
        np.testing.assert_array_equal(results[2], results[0])
        # as the threads of a split by inputs share them: the deltas scaled once, then block by block
        buf = np.full(n_panels * n_in * width, np.nan, dtype)
        panels.pack(theta, 3, n_out, n_in, buf, tile)
        scaled = np.full(n_panels * m * width, np.nan, dtype)
        panels.scale_deltas(tile, 0, n_panels, n_out, m, delta.ravel(), n_out + 4, 4, step, scaled)
        factors = scaled.reshape(n_panels, m, width).transpose(1, 0, 2).reshape(m, -1)
        np.testing.assert_array_equal(factors[:, :n_out], -step * delta[:, 4:])
        assert not factors[:, n_out:].any()  # the padding rows' factors are 0
        for kb in reversed(range(n_blocks)):
            panels.step_scaled(tile, buf, 0, n_panels, kb, kb + 1, n_in, inputs, m, decay, scaled)
        new = np.zeros_like(theta)
        panels.unpack(buf, new, 3, n_out, n_in, tile)
        np.testing.assert_array_equal(new, results[0])
