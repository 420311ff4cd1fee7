"""Fast epoch and batched inference for the sigmoid network: register-blocked loops.

Same flat parameter layout and the same algorithm as :mod:`fastnn.kernels.mlp`
(the book's per-sample SGD), reorganised for speed:

* **Register blocks of 2 or 4 rows x 5 samples, chosen per CPU.**  A layer's
  weighted inputs z_sj = sum_k w_jk a_sk (eq. 23) are computed 2 rows of
  ``W^l`` by 5 samples at a time: 10 running sums, each vectorised over the
  contiguous index ``k``, and 7 loads for 10 multiply-adds; ten vector
  accumulators fit the 16 registers of AVX2 with room for the loads.  On a
  CPU with AVX-512 (32 vector registers) the block is 4 rows x 5 samples:
  20 sums for 9 loads (:func:`block_rows_for_cpu`, asked at run time from
  what LLVM reports for the host).  The row count reaches the kernels as the
  *type* of an argument (:func:`row_block`), so each count is a compiled
  specialisation of its own and a process compiles only the one its CPU
  uses; the tests compile and run both on every machine (``block_rows=`` of
  :func:`sgd_epoch`).
* **Chunks of 20 samples outer, row blocks, then groups of 5 samples.**  A
  block's rows of ``W^l`` stay in the L1 cache while the 4 groups of the
  chunk pass over them; the chunk's inputs come from L2 (:data:`CHUNK`).
* **Deferred step, no gradient buffer.**  Mini-batch ``k``'s gradient step
  (eq. 20-21, with the L2 decay of eq. 93) is applied just before mini-batch
  ``k + 1``'s forward pass, group of 5 samples by group, straight into ``W^l``:
  ``w -> decay * w - sum_s (eta/m) delta_sj a_sk`` (BP4).  Batch ``k + 1``
  sees exactly the weights network.py's ``update_mini_batch`` produces (up to
  rounding: the per-sample terms are summed in groups of 5).
* **The first layer as panels at mini-batches of 32 and more** (:mod:`fastnn.kernels.panels`):
  its weights packed into panels of ``W^T`` for the epoch call and multiplied by GEMM-style
  tiles (6 samples or inputs x 8 float64 or 16 float32 rows, vectors along the rows), which
  load far fewer operands per multiply-add than dot products along ``k``; the deeper layers,
  small in the book's networks, keep the blocks.
* **Parallel over output rows.**  Each thread owns a fixed range of row pairs
  of a layer (or of the first layer's panels), so every weight is computed by the
  same code in the same order whatever the thread count: results are
  bit-identical for any number of threads.  A first layer of fewer panels than
  :data:`PANELS_PER_THREAD` per thread is split instead by blocks of inputs (the
  step) and by samples (the forward pass), which keeps every chain the same.
  Small layers run serially, outside any parallel region.
* **Training metrics in the same pass.**  When asked, the epoch also sums each
  sample's cost C_x and counts its correct classifications from the output of
  its own forward pass (before its mini-batch's step), so recording the
  training cost and accuracy needs no second pass over the data.

Every inner loop runs over the contiguous last index (``k`` of ``w_jk``) and
is compiled with fastmath's ``reassoc``/``contract`` (not ``nnan``/``ninf``),
which lets LLVM vectorise the sums; the deltas (BP1, BP2), whose loops are
elementwise, are compiled without fastmath, so that their rounding cannot
depend on which driver they are inlined into.  Constants are made in theta's dtype
(``zero_like`` / ``one_like``), so float32 stays float32.
"""
import math

import numpy as np
from numba import config, get_num_threads, njit, prange

from . import cpu
from . import panels as panel_ops
from . import sync
from . import team as team_ops
from .activations import inf_like, one_like, sigmoid, zero_like
from .mlp import CROSS_ENTROPY, QUADRATIC  # the cost codes, one definition

FASTMATH = {"reassoc", "contract", "arcp", "nsz"}
"""LLVM flags: allow vectorised sums and FMA, keep NaN/inf semantics."""

SAMPLES = 5
"""Samples per register block (the block is ``block_rows`` rows x ``SAMPLES`` samples)."""

BLOCK_ROWS = (2, 4)
"""Rows of a register block the kernels can use: 2 x 5 = 10 vector accumulators fit AVX2's
16 vector registers with the 7 loads; 4 x 5 = 20 with 9 loads fit AVX-512's 32."""

CHUNK = 20
"""Samples of a mini-batch handled row block by row block: for each block of rows, the
register blocks of up to ``CHUNK`` samples (4 groups of ``SAMPLES``) run one after the
other, so the block's rows of ``W^l`` are read (and, in the step, written) from the L1
cache up to 4 times for one pass over L2 or L3.  Only the order of the register blocks
changes: every weight and every z gets the same arithmetic (the same bits).  Measured on
AMD Zen 5 at one thread: 5-10% faster than a pass over all rows per group of 5 samples at
mini-batch 10 and 100; 40 was no better."""

PARALLEL_MIN_WORK = 16384
"""Multiply-adds of a layer's step below which it runs serially, outside any
parallel region (starting one costs microseconds, far more on busy cores)."""

PANELS_PER_THREAD = 2
"""Panels per thread from which the first layer's threads each own whole panels
(``_first_layer_panels``).  With fewer, the step is split by inputs and the forward pass by
samples.  Measured on two threads (Intel Xeon, AVX-512, 16-row panels; docs/performance.md):
[784,30,10]'s 2 panels train 1.13-1.23x faster so at mini-batch 100 and alike at 32.  Split so too,
[784,60,10]'s 4 panels gained 1.03-1.1x at mini-batch 100 and lost 1.1x at 32, [784,100,10]'s 7
were alike at 100 and 1.07x slower at 32: every panel then moves between the cores' caches once
per mini-batch."""

INFER_CHUNK = 800
"""Samples per round of the batched forward pass (a multiple of ``SAMPLES``): large enough
that the rounds' overhead is small, small enough that the round's buffers stay ~0.5 MB
(the measurement: docs/performance.md, "Measurements behind the code")."""

NO_METRICS = np.zeros(0)
"""Pass as ``metrics`` to skip the training cost and accuracy."""


def block_rows_for_cpu(features=None):
    """Rows of the register block for this CPU: 4 if it has AVX-512 (32 vector registers), else 2.

    ``features`` is as in :func:`fastnn.kernels.cpu.features` (default: the features numba
    compiles for).
    """
    return 4 if cpu.has_avx512(features) else 2


def row_block(block_rows=None):
    """The register block of ``block_rows`` rows (2 or 4; None: :func:`block_rows_for_cpu`
    of the host) as the kernels take it: the tuple of its row offsets, ``(0, 1)`` or
    ``(0, 1, 2, 3)``.

    The kernels read the row count as ``len(block)``.  numba compiles a function once per
    argument type, and a tuple's length is part of its type: numba knows ``len(block)``
    before it compiles, removes the branches of the other block (numba's dead branch
    pruning), and compiles a separate specialisation (cached on disk like any other) for
    each count.  A process thus compiles only the block it uses (the 4-row leaves
    ``_dots4`` and ``_descend4`` are never compiled on a CPU without AVX-512),
    and a test can still run both.

    Raises
    ------
    ValueError
        If ``block_rows`` is not 2, 4 or None.
    """
    if block_rows is None:
        block_rows = block_rows_for_cpu(cpu.host_features())
    elif block_rows not in BLOCK_ROWS:
        raise ValueError(f"block_rows must be one of {BLOCK_ROWS}, got {block_rows!r}")
    return tuple(range(block_rows))


# --------------------------------------------------------------------------- leaves
# Leaves address flat 1-D buffers by offsets (``buf[row * stride + col + k]``) and take
# 1-D slices of them for the inner loops: indexing a slice by the loop counter
# ``k >= 0`` vectorises to contiguous loads, while ``buf[base + k]`` (possibly
# negative, so numba adds wraparound code) or a row of a 2-D array becomes gathers.
@njit(cache=True)
def _row(buf, start, n):
    """The ``n`` elements of the flat buffer ``buf`` from ``start`` on, as a 1-D view."""
    return buf[start:start + n]


@njit(cache=True, inline="always")
def _block(theta, w_start, n_in, j, src, src_stride, rows, src_col, s0):
    """The operands of a full register block: rows j, j+1 of ``W^l`` and the inputs
    of samples s0..s0+4, as 1-D views of length ``n_in``."""
    return (_row(theta, w_start + j * n_in, n_in), _row(theta, w_start + (j + 1) * n_in, n_in),
            _row(src, rows[s0] * src_stride + src_col, n_in),
            _row(src, rows[s0 + 1] * src_stride + src_col, n_in),
            _row(src, rows[s0 + 2] * src_stride + src_col, n_in),
            _row(src, rows[s0 + 3] * src_stride + src_col, n_in),
            _row(src, rows[s0 + 4] * src_stride + src_col, n_in))


@njit(fastmath=FASTMATH, cache=True)
def _dots(theta, w_start, n_in, j, n_rows, src, src_stride, rows, src_col, s0, n_samples,
          out, out_stride, out_col):
    """z_sj = sum_k w_jk a_sk (eq. 23 without the bias) for rows j..j+n_rows-1
    (n_rows <= 2) and samples s0..s0+n_samples-1 (n_samples <= SAMPLES).

    Row ``j`` of ``W^l`` is ``theta[w_start + j * n_in:]``; sample ``s``'s input
    is ``src[rows[s] * src_stride + src_col:]`` (``src_stride`` elements per row
    of ``src``, the layer's input from column ``src_col``) and its output goes to
    ``out[s * out_stride + out_col + j]``.
    """
    zero = zero_like(theta[0])
    if n_rows == 2 and n_samples == SAMPLES:
        r0, r1, x0, x1, x2, x3, x4 = _block(theta, w_start, n_in, j, src, src_stride, rows, src_col, s0)
        a00 = a01 = a02 = a03 = a04 = zero
        a10 = a11 = a12 = a13 = a14 = zero
        for k in range(n_in):
            v0 = r0[k]
            v1 = r1[k]
            u0 = x0[k]
            u1 = x1[k]
            u2 = x2[k]
            u3 = x3[k]
            u4 = x4[k]
            a00 += v0 * u0
            a01 += v0 * u1
            a02 += v0 * u2
            a03 += v0 * u3
            a04 += v0 * u4
            a10 += v1 * u0
            a11 += v1 * u1
            a12 += v1 * u2
            a13 += v1 * u3
            a14 += v1 * u4
        o = s0 * out_stride + out_col + j
        out[o] = a00
        out[o + 1] = a10
        out[o + out_stride] = a01
        out[o + out_stride + 1] = a11
        out[o + 2 * out_stride] = a02
        out[o + 2 * out_stride + 1] = a12
        out[o + 3 * out_stride] = a03
        out[o + 3 * out_stride + 1] = a13
        out[o + 4 * out_stride] = a04
        out[o + 4 * out_stride + 1] = a14
    elif n_rows == 2:
        # fewer than SAMPLES samples left: 2 rows x 1 sample
        r0 = _row(theta, w_start + j * n_in, n_in)
        r1 = _row(theta, w_start + (j + 1) * n_in, n_in)
        for s in range(s0, s0 + n_samples):
            x = _row(src, rows[s] * src_stride + src_col, n_in)
            a0 = zero
            a1 = zero
            for k in range(n_in):
                u = x[k]
                a0 += r0[k] * u
                a1 += r1[k] * u
            out[s * out_stride + out_col + j] = a0
            out[s * out_stride + out_col + j + 1] = a1
    else:
        # the last row of a layer with an odd number of rows
        r0 = _row(theta, w_start + j * n_in, n_in)
        for s in range(s0, s0 + n_samples):
            x = _row(src, rows[s] * src_stride + src_col, n_in)
            a0 = zero
            for k in range(n_in):
                a0 += r0[k] * x[k]
            out[s * out_stride + out_col + j] = a0


@njit(fastmath=FASTMATH, cache=True)
def _descend(theta, w_start, n_in, j, n_rows, src, src_stride, rows, src_col, s0, n_samples,
             delta, delta_stride, delta_col, step, decay):
    """w_jk -> decay * w_jk - step * sum_s delta_sj a_sk for rows j..j+n_rows-1
    (n_rows <= 2) and the samples s0..s0+n_samples-1 (n_samples <= SAMPLES) of
    the previous mini-batch.

    BP4 (dC/dw_jk = a_k delta_j) and the step of eq. 20 (with eq. 93's decay
    for the first group of a mini-batch, ``decay`` 1 for the others).  The
    inputs a_sk are read as in :func:`_dots`; delta_sj is
    ``delta[s * delta_stride + delta_col + j]``.
    """
    if n_rows == 2 and n_samples == SAMPLES:
        r0, r1, x0, x1, x2, x3, x4 = _block(theta, w_start, n_in, j, src, src_stride, rows, src_col, s0)
        e = s0 * delta_stride + delta_col + j
        c00 = step * delta[e]
        c01 = step * delta[e + delta_stride]
        c02 = step * delta[e + 2 * delta_stride]
        c03 = step * delta[e + 3 * delta_stride]
        c04 = step * delta[e + 4 * delta_stride]
        c10 = step * delta[e + 1]
        c11 = step * delta[e + delta_stride + 1]
        c12 = step * delta[e + 2 * delta_stride + 1]
        c13 = step * delta[e + 3 * delta_stride + 1]
        c14 = step * delta[e + 4 * delta_stride + 1]
        for k in range(n_in):
            u0 = x0[k]
            u1 = x1[k]
            u2 = x2[k]
            u3 = x3[k]
            u4 = x4[k]
            r0[k] = decay * r0[k] - (c00 * u0 + c01 * u1 + c02 * u2 + c03 * u3 + c04 * u4)
            r1[k] = decay * r1[k] - (c10 * u0 + c11 * u1 + c12 * u2 + c13 * u3 + c14 * u4)
    else:
        # leftover samples or the odd last row: one row and one sample at a time
        one = one_like(theta[0])
        for jj in range(j, j + n_rows):
            r = _row(theta, w_start + jj * n_in, n_in)
            if decay != one:
                for k in range(n_in):
                    r[k] = decay * r[k]
            for s in range(s0, s0 + n_samples):
                x = _row(src, rows[s] * src_stride + src_col, n_in)
                cs = step * delta[s * delta_stride + delta_col + jj]
                for k in range(n_in):
                    r[k] -= cs * x[k]


@njit(fastmath=FASTMATH, cache=True)
def _dots4(theta, w_start, n_in, j, src, src_stride, rows, src_col, s0, out, out_stride, out_col):
    """:func:`_dots` for a full block of 4 rows (j..j+3) x ``SAMPLES`` samples (s0..s0+4):
    20 running sums and 9 loads per k (for CPUs with 32 vector registers)."""
    zero = zero_like(theta[0])
    r0, r1, x0, x1, x2, x3, x4 = _block(theta, w_start, n_in, j, src, src_stride, rows, src_col, s0)
    r2 = _row(theta, w_start + (j + 2) * n_in, n_in)
    r3 = _row(theta, w_start + (j + 3) * n_in, n_in)
    a00 = a01 = a02 = a03 = a04 = zero
    a10 = a11 = a12 = a13 = a14 = zero
    a20 = a21 = a22 = a23 = a24 = zero
    a30 = a31 = a32 = a33 = a34 = zero
    for k in range(n_in):
        u0 = x0[k]
        u1 = x1[k]
        u2 = x2[k]
        u3 = x3[k]
        u4 = x4[k]
        v = r0[k]
        a00 += v * u0
        a01 += v * u1
        a02 += v * u2
        a03 += v * u3
        a04 += v * u4
        v = r1[k]
        a10 += v * u0
        a11 += v * u1
        a12 += v * u2
        a13 += v * u3
        a14 += v * u4
        v = r2[k]
        a20 += v * u0
        a21 += v * u1
        a22 += v * u2
        a23 += v * u3
        a24 += v * u4
        v = r3[k]
        a30 += v * u0
        a31 += v * u1
        a32 += v * u2
        a33 += v * u3
        a34 += v * u4
    o = s0 * out_stride + out_col + j
    out[o] = a00
    out[o + 1] = a10
    out[o + 2] = a20
    out[o + 3] = a30
    o += out_stride
    out[o] = a01
    out[o + 1] = a11
    out[o + 2] = a21
    out[o + 3] = a31
    o += out_stride
    out[o] = a02
    out[o + 1] = a12
    out[o + 2] = a22
    out[o + 3] = a32
    o += out_stride
    out[o] = a03
    out[o + 1] = a13
    out[o + 2] = a23
    out[o + 3] = a33
    o += out_stride
    out[o] = a04
    out[o + 1] = a14
    out[o + 2] = a24
    out[o + 3] = a34


@njit(fastmath=FASTMATH, cache=True)
def _descend4(theta, w_start, n_in, j, src, src_stride, rows, src_col, s0, delta, delta_stride,
              delta_col, step, decay):
    """:func:`_descend` for a full block of 4 rows x ``SAMPLES`` samples (each weight gets
    the same arithmetic as in the 2-row block)."""
    r0, r1, x0, x1, x2, x3, x4 = _block(theta, w_start, n_in, j, src, src_stride, rows, src_col, s0)
    r2 = _row(theta, w_start + (j + 2) * n_in, n_in)
    r3 = _row(theta, w_start + (j + 3) * n_in, n_in)
    e = s0 * delta_stride + delta_col + j
    c00 = step * delta[e]
    c01 = step * delta[e + delta_stride]
    c02 = step * delta[e + 2 * delta_stride]
    c03 = step * delta[e + 3 * delta_stride]
    c04 = step * delta[e + 4 * delta_stride]
    c10 = step * delta[e + 1]
    c11 = step * delta[e + delta_stride + 1]
    c12 = step * delta[e + 2 * delta_stride + 1]
    c13 = step * delta[e + 3 * delta_stride + 1]
    c14 = step * delta[e + 4 * delta_stride + 1]
    c20 = step * delta[e + 2]
    c21 = step * delta[e + delta_stride + 2]
    c22 = step * delta[e + 2 * delta_stride + 2]
    c23 = step * delta[e + 3 * delta_stride + 2]
    c24 = step * delta[e + 4 * delta_stride + 2]
    c30 = step * delta[e + 3]
    c31 = step * delta[e + delta_stride + 3]
    c32 = step * delta[e + 2 * delta_stride + 3]
    c33 = step * delta[e + 3 * delta_stride + 3]
    c34 = step * delta[e + 4 * delta_stride + 3]
    for k in range(n_in):
        u0 = x0[k]
        u1 = x1[k]
        u2 = x2[k]
        u3 = x3[k]
        u4 = x4[k]
        r0[k] = decay * r0[k] - (c00 * u0 + c01 * u1 + c02 * u2 + c03 * u3 + c04 * u4)
        r1[k] = decay * r1[k] - (c10 * u0 + c11 * u1 + c12 * u2 + c13 * u3 + c14 * u4)
        r2[k] = decay * r2[k] - (c20 * u0 + c21 * u1 + c22 * u2 + c23 * u3 + c24 * u4)
        r3[k] = decay * r3[k] - (c30 * u0 + c31 * u1 + c32 * u2 + c33 * u3 + c34 * u4)


@njit(fastmath=FASTMATH, cache=True)
def _layer_rows(theta, w_start, b_start, n_in, j_lo, j_hi, src, src_stride, prev_rows, prev_col, prev_m,
                delta, act_stride, delta_col, step, decay, rows, src_col, m, out, out_col, block):
    """Rows j_lo..j_hi-1 of one layer: the previous mini-batch's deferred step
    (``prev_m`` > 0 samples), then this mini-batch's forward pass (``m`` > 0 samples).

    The step reads the previous mini-batch's inputs at ``src[prev_rows[s] *
    src_stride + prev_col:]`` and its deltas at ``delta[s * act_stride +
    delta_col + j]``; the forward pass reads this mini-batch's inputs at
    ``src[rows[s] * src_stride + src_col:]``.  ``act_stride`` is the row length
    of both buffers, ``delta`` and ``out`` (the activation buffers).

    Step: b_j -> b_j - step * sum_s delta_sj (BP3, eq. 21) and :func:`_descend`
    by groups of ``SAMPLES`` samples.  Forward: :func:`_dots` by groups, then
    a_sj = sigma(z_sj + b_j) (eq. 23), written to ``out[s * act_stride + out_col + j]``.
    Rows go by blocks of ``block_rows = len(block)`` (2 or 4, known when numba compiles:
    :func:`row_block`; :func:`_dots4` / :func:`_descend4` for full
    4 x 5 blocks, pairs and single rows for the rest).  Returns how many weighted inputs z_sj were not finite (NaN or +-inf: a
    non-finite input, or an overflow).
    """
    block_rows = len(block)  # a constant of the compiled specialisation (row_block)
    one = one_like(theta[0])
    if prev_m > 0:
        _bias_step(theta, b_start, j_lo, j_hi, delta, act_stride, delta_col, prev_m, step)
        for c0 in range(0, prev_m, CHUNK):
            for jb in range(j_lo, j_hi, block_rows):
                for s0 in range(c0, min(prev_m, c0 + CHUNK), SAMPLES):
                    n_samples = min(SAMPLES, prev_m - s0)
                    d = decay if s0 == 0 else one
                    if block_rows == 4 and jb + 4 <= j_hi and n_samples == SAMPLES:
                        _descend4(theta, w_start, n_in, jb, src, src_stride, prev_rows, prev_col, s0,
                                  delta, act_stride, delta_col, step, d)
                        continue
                    for j in range(jb, min(jb + block_rows, j_hi), 2):
                        _descend(theta, w_start, n_in, j, min(2, j_hi - j), src, src_stride, prev_rows,
                                 prev_col, s0, n_samples, delta, act_stride, delta_col, step, d)
    if m > 0:
        for c0 in range(0, m, CHUNK):
            for jb in range(j_lo, j_hi, block_rows):
                for s0 in range(c0, min(m, c0 + CHUNK), SAMPLES):
                    n_samples = min(SAMPLES, m - s0)
                    if block_rows == 4 and jb + 4 <= j_hi and n_samples == SAMPLES:
                        _dots4(theta, w_start, n_in, jb, src, src_stride, rows, src_col, s0, out, act_stride,
                               out_col)
                        continue
                    for j in range(jb, min(jb + block_rows, j_hi), 2):
                        _dots(theta, w_start, n_in, j, min(2, j_hi - j), src, src_stride, rows, src_col,
                              s0, n_samples, out, act_stride, out_col)
    if m == 0:
        return 0
    return _activate(theta, b_start, j_lo, j_hi, m, out, act_stride, out_col, out, act_stride, out_col)


@njit(fastmath=FASTMATH, cache=True)
def _bias_step(theta, b_start, j_lo, j_hi, delta, act_stride, delta_col, prev_m, step):
    """b_j -> b_j - step * sum_s delta_sj (BP3, eq. 21) for rows j_lo..j_hi-1 and the previous
    mini-batch's ``prev_m`` samples, delta_sj at ``delta[s * act_stride + delta_col + j]``."""
    for j in range(j_lo, j_hi):
        gb = zero_like(theta[0])
        for s in range(prev_m):
            gb += delta[s * act_stride + delta_col + j]
        theta[b_start + j] = theta[b_start + j] - step * gb


@njit(fastmath=FASTMATH, cache=True)
def _biased_sigmoid(z, b, inf):
    """sigma(z + b) (eq. 23), and 1 if z + b is not finite (NaN or +-inf), else 0."""
    zb = z + b
    # not math.isfinite: numba computes it as z - z == 0, which LLVM folds to True under
    # reassoc + nsz; an ordered comparison is false for NaN and inf
    return sigmoid(zb), 0 if abs(zb) < inf else 1


@njit(fastmath=FASTMATH, cache=True)
def _activate(theta, b_start, j_lo, j_hi, m, z, z_stride, z_col, out, act_stride, out_col):
    """a_sj = sigma(z_sj + b_j) (eq. 23) for rows j_lo..j_hi-1 and ``m`` samples: z_sj without the
    bias read at ``z[s * z_stride + z_col + j]``, a_sj written to ``out[s * act_stride + out_col + j]``
    (``z`` may be ``out``).  Returns how many z_sj + b_j were not finite (NaN or +-inf)."""
    bad = 0
    inf = inf_like(theta[0])
    bias = theta[b_start + j_lo:b_start + j_hi]
    # the blocks' layers pass z = out at the same place
    in_place = z.ctypes.data == out.ctypes.data and z_stride == act_stride and z_col == out_col
    # one sample's row at a time, through views indexed from 0, and in place through one view
    # only, so that LLVM vectorises the loop (given z and out at the same place, its check
    # that they do not overlap failed, and the loop ran scalar)
    for s in range(m):
        a_row = out[s * act_stride + out_col + j_lo:s * act_stride + out_col + j_hi]
        if in_place:
            for i in range(j_hi - j_lo):
                a, nonfinite = _biased_sigmoid(a_row[i], bias[i], inf)
                a_row[i] = a
                bad += nonfinite
        else:
            z_row = z[s * z_stride + z_col + j_lo:s * z_stride + z_col + j_hi]
            for i in range(j_hi - j_lo):
                a, nonfinite = _biased_sigmoid(z_row[i], bias[i], inf)
                a_row[i] = a
                bad += nonfinite
    return bad


# --------------------------------------------------------------------------- backward
@njit(cache=True)
def _cross_entropy_term(a, t):
    """network2.py's ``nan_to_num(-y ln a - (1 - y) ln(1 - a))`` for one output (eq. 63), in float64."""
    if 0.0 < a < 1.0:
        return -t * math.log(a) - (1.0 - t) * math.log(1.0 - a)
    if a == 0.0:
        factor = t  # of ln(0) in -t ln a
    elif a == 1.0:
        factor = 1.0 - t  # of ln(0) in -(1 - t) ln(1 - a)
    else:
        return 0.0  # NaN (or outside [0, 1]): nan_to_num gives 0
    if factor == 0.0:
        return 0.0  # 0 * inf is NaN, which nan_to_num makes 0
    return math.copysign(1.7976931348623157e308, factor)  # +-inf -> the largest float


@njit(cache=True)
def _score(a_out, y, cost):
    """Cost C_x of one sample with outputs ``a_out`` (network2.py's ``fn``: eq. 6, or
    eq. 63 with ``nan_to_num``) and 1.0 if its most active output is the target's
    argmax (0.0 otherwise; the first maximum of each), both in float64 as the
    references compute them.  The running maxima are kept as values, so that no
    comparison waits for a load that depends on the previous one."""
    c = 0.0
    best = 0
    target = 0
    a_best = a_out[0]
    y_best = y[0]
    for j in range(a_out.shape[0]):
        a = np.float64(a_out[j])
        t = np.float64(y[j])
        if cost == CROSS_ENTROPY:
            c += _cross_entropy_term(a, t)
        else:
            c += 0.5 * (a - t) * (a - t)
        if a_out[j] > a_best:
            best = j
            a_best = a_out[j]
        if y[j] > y_best:
            target = j
            y_best = y[j]
    return c, 1.0 if best == target else 0.0


# Without fastmath: inlined into the different compiled drivers, its loops would otherwise be
# free to round differently in each (a checkpoint compiled after other kernels in one process
# differed from a fresh process's by 1.8e-15 when it had FASTMATH); as written, every caller
# gets the same bits.
@njit(cache=True)
def _deltas(theta, w_off, sizes, act_off, act, Y, order, m, cost, delta, buf, weight, metrics):
    """delta^l of every layer for the ``m`` samples of the mini-batch (BP1, BP2).

    sigma'(z) is a (1 - a) since a = sigma(z).  BP1 (and the metrics) go sample
    by sample; BP2's (W^{l+1})^T delta^{l+1} then goes layer by layer, each
    sample's sum written as row updates over W^{l+1} (contiguous inner loop),
    every array view made once per layer or per sample, never per row: views
    made in the inner loops cost more than the BP2 products themselves (measured
    on AMD Zen 5: 300 -> 125 ns per sample of [784,30,10], in float32 and float64
    alike, so it was a fifth of the float32 epoch).  With sample weights
    (``weight`` not empty), sample ``s``'s output delta is scaled by its weight,
    and so is its whole gradient (BP2-BP4 are linear in it).  ``metrics`` (if
    not empty) accumulates each sample's cost and correctness.
    """
    one = one_like(theta[0])
    zero = zero_like(theta[0])
    last = sizes.shape[0] - 2
    n_last = sizes[last + 1]
    out_col = act_off[last]
    for s in range(m):
        y = Y[order[s]]
        w = weight[order[s]] if weight.size else one
        a_out = act[s, out_col:out_col + n_last]
        d_out = delta[s, out_col:out_col + n_last]
        if metrics.size:
            cs, correct = _score(a_out, y, cost)
            metrics[0] += np.float64(w) * cs
            metrics[1] += correct
            metrics[2] += np.float64(w)
        # BP1; for cross-entropy sigma' cancels (eq. 66)
        if cost == CROSS_ENTROPY:
            for j in range(n_last):
                d_out[j] = w * (a_out[j] - y[j])
        else:
            for j in range(n_last):
                a = a_out[j]
                d_out[j] = w * ((a - y[j]) * a * (one - a))
    # BP2 down to the first hidden layer: W^{l+1} as a 2-D view, made once per layer
    for l in range(last, 0, -1):
        n_prev = sizes[l]
        n_next = sizes[l + 1]
        prev_col = act_off[l - 1]
        next_col = act_off[l]
        w_next = theta[w_off[l]:w_off[l] + n_next * n_prev].reshape((n_next, n_prev))
        acc = buf[:n_prev]
        for s in range(m):
            for k in range(n_prev):
                acc[k] = zero
            for j in range(n_next):
                d = delta[s, next_col + j]
                for k in range(n_prev):
                    acc[k] += w_next[j, k] * d
            a_prev = act[s, prev_col:prev_col + n_prev]
            d_prev = delta[s, prev_col:prev_col + n_prev]
            for k in range(n_prev):
                a = a_prev[k]
                d_prev[k] = acc[k] * a * (one - a)


@njit(cache=True)
def _rows_of_part(part, parts, n_rows, block_rows):
    """Rows ``lo..hi-1`` of a layer of ``n_rows`` rows that part ``part`` of ``parts`` owns in
    training: whole register blocks of ``block_rows`` rows, so that no block depends on the
    number of parts (the parallel region's parts and a team's members split alike)."""
    blocks = (n_rows + block_rows - 1) // block_rows
    return block_rows * (part * blocks // parts), min(n_rows, block_rows * ((part + 1) * blocks // parts))


@njit(fastmath=FASTMATH, cache=True)
def _copy_rows(shared_acts, members, member, set_base, m, width, n_rows, block_rows):
    """Copy the first layer's activations of the members other than ``member`` (their rows,
    :func:`_rows_of_part`) from their rows of ``shared_acts`` into its own: ``m`` samples of the
    buffer set at ``set_base``, ``width`` values a sample."""
    own = shared_acts[member]
    for q in range(members):
        if q == member:
            continue
        lo, hi = _rows_of_part(q, members, n_rows, block_rows)
        theirs = shared_acts[q]
        for s in range(m):
            row = set_base + s * width
            for j in range(lo, hi):
                own[row + j] = theirs[row + j]


# --------------------------------------------------------------------------- drivers
@njit(fastmath=FASTMATH, cache=True, parallel=True)
def _layer_parallel(parts, by_samples, theta, w_start, b_start, n_in, n_out, src, src_stride,
                    prev_rows, prev_col, prev_m, delta, act_stride, delta_col, step, decay,
                    rows, src_col, m, out, out_col, block):
    """:func:`_layer_rows` for one layer, split into ``parts`` tasks under ``prange``.

    Training splits the rows (each thread steps and feeds forward its own rows
    of ``W^l``); inference (``by_samples``, no step) splits the samples in
    whole groups of ``SAMPLES``, each task running every row.  Either way
    every value is computed by the same register block as on one thread.
    The only parallel region, kept this small so that numba compiles it
    quickly.  Returns the count of non-finite z.
    """
    bad = 0
    first = np.int64(0)  # not a literal 0, which numba would compile as a signature of its own
    block_rows = len(block)
    groups = (m + SAMPLES - 1) // SAMPLES
    for t in prange(parts):
        if by_samples:
            s_lo = SAMPLES * (t * groups // parts)
            s_hi = min(m, SAMPLES * ((t + 1) * groups // parts))
            bad += _layer_rows(theta, w_start, b_start, n_in, first, n_out, src, src_stride,
                               prev_rows, prev_col, prev_m, delta, act_stride, delta_col, step, decay,
                               rows[s_lo:s_hi], src_col, s_hi - s_lo, out, out_col + s_lo * act_stride,
                               block)
        else:
            # part t owns whole row blocks, so no register block depends on the number of parts
            lo, hi = _rows_of_part(t, parts, n_out, block_rows)
            bad += _layer_rows(theta, w_start, b_start, n_in, lo, hi, src, src_stride,
                               prev_rows, prev_col, prev_m, delta, act_stride, delta_col, step, decay,
                               rows, src_col, m, out, out_col, block)
    return bad


@njit(fastmath=FASTMATH, cache=True)
def _panel_step_part(tile, panels, q_lo, q_hi, theta, b_start, n_in, n_out, prev_inputs, prev_m, delta, act_stride,
                     delta_col, step, decay, scaled):
    """The previous mini-batch's step for panels q_lo..q_hi-1 of a layer kept as panels
    (:mod:`fastnn.kernels.panels`, ``len(tile)`` rows each): their biases (BP3, eq. 21) and weights
    (BP4, eq. 20 and 93), from the inputs packed in ``prev_inputs``.  ``scaled`` holds
    ``prev_m * len(tile)`` values per panel (each part writes its own panels' share)."""
    _bias_step(theta, b_start, q_lo * len(tile), min(n_out, q_hi * len(tile)), delta, act_stride, delta_col, prev_m,
               step)
    panel_ops.step_panels(tile, panels, q_lo, q_hi, np.int64(0), panel_ops.block_count(n_in), n_in, n_out,
                          prev_inputs, prev_m, delta, act_stride, delta_col, step, decay, scaled)


@njit(fastmath=FASTMATH, cache=True)
def _panel_forward_part(tile, panels, q_lo, q_hi, s_lo, s_hi, kb_lo, kb_hi, theta, b_start, n_in, n_out, src,
                        src_stride, rows, src_col, m, out, act_stride, out_col, z, inputs):
    """This mini-batch's forward pass (eq. 23) for one part of a layer kept as panels: samples
    s_lo..s_hi-1 (``s_lo`` a multiple of ``SAMPLES``, so that no part's padded last tile writes
    another's rows of ``z``) through panels q_lo..q_hi-1, their weighted inputs gathered in ``z`` (one
    row of ``panel_count(n_out, tile) * len(tile)`` per sample) before the bias and the sigmoid; then
    the input blocks kb_lo..kb_hi-1 of all ``m`` samples packed into ``inputs`` for the step.
    Returns the count of non-finite z."""
    z_stride = panel_ops.panel_count(n_out, tile) * len(tile)
    bad = 0
    if s_hi > s_lo:
        panel_ops.forward_panels(tile, panels, q_lo, q_hi, n_in, src, src_stride, rows[s_lo:s_hi], src_col,
                                 s_hi - s_lo, z[s_lo * z_stride:], z_stride)
        bad = _activate(theta, b_start, q_lo * len(tile), min(n_out, q_hi * len(tile)), s_hi - s_lo, z, z_stride,
                        s_lo * z_stride, out, act_stride, out_col + s_lo * act_stride)
    panel_ops.pack_inputs(src, src_stride, rows, src_col, m, n_in, kb_lo, kb_hi, inputs)
    return bad


# the ways _panel_parallel splits the first layer's work between its tasks
_BY_PANELS, _STEP_BY_INPUTS, _FORWARD_BY_SAMPLES = 0, 1, 2


@njit(fastmath=FASTMATH, cache=True, parallel=True)
def _panel_parallel(parts, split, tile, panels, theta, b_start, n_in, n_out, src, src_stride, prev_inputs, prev_m,
                    delta, act_stride, delta_col, step, decay, rows, src_col, m, out, out_col, z, scaled, inputs):
    """The first layer in ``parts`` tasks under ``prange``, split by ``split``: ``_BY_PANELS``,
    each task steps whole panels and runs them forward on every sample; ``_STEP_BY_INPUTS``, each
    steps a share of the input blocks of every panel, ``scaled`` filled beforehand for all of them
    (:func:`fastnn.kernels.panels.scale_deltas`; the task holding the first block steps the biases);
    ``_FORWARD_BY_SAMPLES``, each runs a share of the tiles of ``SAMPLES`` samples through every
    panel.  Every task of a forward pass packs a share of the input blocks.  One parallel function
    for the three (each costs seconds to compile).  Returns the count of non-finite z."""
    bad = 0
    first = np.int64(0)  # not a literal 0, which numba would compile as a signature of its own
    n_panels = panel_ops.panel_count(n_out, tile)
    n_blocks = panel_ops.block_count(n_in)
    tiles = (m + panel_ops.SAMPLES - 1) // panel_ops.SAMPLES
    for t in prange(parts):
        kb_lo, kb_hi = t * n_blocks // parts, (t + 1) * n_blocks // parts
        if split == _STEP_BY_INPUTS:
            if kb_lo == 0 < kb_hi:  # the one task holding the first block (some may hold none)
                _bias_step(theta, b_start, first, n_out, delta, act_stride, delta_col, prev_m, step)
            panel_ops.step_scaled(tile, panels, first, n_panels, kb_lo, kb_hi, n_in, prev_inputs, prev_m, decay,
                                  scaled)
        elif split == _FORWARD_BY_SAMPLES:
            s_lo = min(m, panel_ops.SAMPLES * (t * tiles // parts))
            s_hi = min(m, panel_ops.SAMPLES * ((t + 1) * tiles // parts))
            bad += _panel_forward_part(tile, panels, first, n_panels, s_lo, s_hi, kb_lo, kb_hi, theta, b_start, n_in,
                                       n_out, src, src_stride, rows, src_col, m, out, act_stride, out_col, z, inputs)
        else:
            q_lo, q_hi = t * n_panels // parts, (t + 1) * n_panels // parts
            if prev_m > 0:
                _panel_step_part(tile, panels, q_lo, q_hi, theta, b_start, n_in, n_out, prev_inputs, prev_m, delta,
                                 act_stride, delta_col, step, decay, scaled)
            if m > 0:
                bad += _panel_forward_part(tile, panels, q_lo, q_hi, first, m, kb_lo, kb_hi, theta, b_start, n_in,
                                           n_out, src, src_stride, rows, src_col, m, out, act_stride, out_col, z,
                                           inputs)
    return bad


@njit(fastmath=FASTMATH, cache=True)
def _first_layer_panels(threads, tile, panels, theta, b_start, n_in, n_out, src, src_stride, prev_inputs, prev_m,
                        delta, act_stride, delta_col, step, decay, rows, src_col, m, out, out_col, z, scaled,
                        inputs):
    """The first layer through its panels: the previous mini-batch's step, then this one's forward
    pass and the packing of its inputs, on up to ``threads`` threads (serially when small).  With at
    least :data:`PANELS_PER_THREAD` panels per thread, each thread owns whole panels (one parallel
    region); with fewer, the step is split by inputs and the forward pass by samples (two regions:
    the step must end before the forward pass reads the weights), so that the threads share one or
    two panels evenly.  Every value is computed by the same chain either way.  Returns the count of
    non-finite z."""
    n_panels = panel_ops.panel_count(n_out, tile)
    n_blocks = panel_ops.block_count(n_in)
    first = np.int64(0)
    if threads > 1 and n_in * n_out * max(m, prev_m) >= PARALLEL_MIN_WORK:
        # np.int64, not the module's int: a literal argument would be a signature of its own
        if n_panels >= PANELS_PER_THREAD * threads:
            return _panel_parallel(threads, np.int64(_BY_PANELS), tile, panels, theta, b_start, n_in, n_out, src,
                                   src_stride, prev_inputs, prev_m, delta, act_stride, delta_col, step, decay, rows,
                                   src_col, m, out, out_col, z, scaled, inputs)
        if prev_m > 0:
            panel_ops.scale_deltas(tile, first, n_panels, n_out, prev_m, delta, act_stride, delta_col, step, scaled)
            _panel_parallel(threads, np.int64(_STEP_BY_INPUTS), tile, panels, theta, b_start, n_in, n_out, src,
                            src_stride, prev_inputs, prev_m, delta, act_stride, delta_col, step, decay, rows, src_col,
                            first, out, out_col, z, scaled, inputs)
        if m == 0:
            return 0
        return _panel_parallel(threads, np.int64(_FORWARD_BY_SAMPLES), tile, panels, theta, b_start, n_in, n_out, src,
                               src_stride, prev_inputs, first, delta, act_stride, delta_col, step, decay, rows, src_col,
                               m, out, out_col, z, scaled, inputs)
    if prev_m > 0:
        _panel_step_part(tile, panels, first, n_panels, theta, b_start, n_in, n_out, prev_inputs, prev_m, delta,
                         act_stride, delta_col, step, decay, scaled)
    if m == 0:
        return 0
    return _panel_forward_part(tile, panels, first, n_panels, first, m, first, n_blocks, theta, b_start, n_in, n_out,
                               src, src_stride, rows, src_col, m, out, act_stride, out_col, z, inputs)


@njit(fastmath=FASTMATH, cache=True, nogil=True)
def _run(theta, w_off, b_off, sizes, X, Y, order, mb, eta, decay, cost, threads, weight, metrics, out,
         block, tile, member, members, counters, own_theta, shared_acts):
    """Training epoch (``out`` empty) or batched forward pass (``out`` of shape (n, n_out))
    over ``X[order]`` on ``threads`` threads, with register blocks of ``len(block)`` (2 or 4,
    :func:`row_block`) rows x ``SAMPLES`` samples; with a ``tile`` that is not empty
    (:func:`fastnn.kernels.panels.panel_tile`), the first layer's weights are packed into panels
    at the start, run through the panel tiles and unpacked at the end.  Returns the count of
    non-finite weighted inputs of the first layer.

    Per mini-batch of ``mb`` samples, every layer runs :func:`_layer_rows` over its
    rows: the previous mini-batch's deferred step, then this mini-batch's
    forward pass.  Then BP1/BP2 give this mini-batch's deltas, whose step the
    next mini-batch (or a final round with no samples) applies.  Inference is
    the same loop with no step and the outputs copied to ``out``.

    As member ``member`` of ``members`` > 1 (training by blocks, ``threads`` 1: each member on a
    thread of its own, :mod:`fastnn.kernels.team`), it trains only its share of the first layer's
    row blocks (of ``theta``), writes their activations into its row of ``shared_acts``, waits for
    the others at :func:`fastnn.kernels.sync.barrier` and copies theirs; the deeper layers and the
    deltas it runs whole on ``own_theta`` (``theta`` itself for member 0, a copy for the others).
    First it meets the others (:func:`fastnn.kernels.sync.meet`) and returns -1 if they do not come.
    Otherwise ``members`` is 1, and ``counters``, ``own_theta`` and ``shared_acts`` are not read
    (:func:`no_team`).
    """
    train = out.shape[0] == 0
    block_rows = len(block)
    dt = theta.dtype
    # column of each layer's output in the (samples, sum(sizes[1:])) activation buffers
    act_off = np.zeros(sizes.shape[0], dtype=np.int64)
    for l in range(1, sizes.shape[0]):
        act_off[l] = act_off[l - 1] + sizes[l]
    width = act_off[-1]
    n = order.shape[0]
    mb = min(mb, n)
    if members > 1:
        acts = shared_acts[member].reshape((2, mb, width))
    else:
        own_theta = theta
        acts = np.empty((2, mb, width), dtype=dt)
    # a member's share of the first layer, as _layer_parallel splits it
    own_lo, own_hi = _rows_of_part(member, members, sizes[1], block_rows)
    rounds = 0
    deltas = np.empty((2, mb, width), dtype=dt)
    widest = 0
    for l in range(sizes.shape[0]):
        widest = max(widest, sizes[l])
    buf = np.empty(widest, dtype=dt)
    ident = np.arange(mb)
    # the first layer as panels (tile not empty: a specialisation of its own, see panel_tile)
    if len(tile) > 0:
        n_panels = panel_ops.panel_count(sizes[1], tile)
        panels = np.empty(n_panels * sizes[0] * len(tile), dtype=dt)
        panel_ops.pack(theta, w_off[0], sizes[1], sizes[0], panels, tile)
        tiles_per_batch = (mb + panel_ops.SAMPLES - 1) // panel_ops.SAMPLES
        z = np.empty(tiles_per_batch * panel_ops.SAMPLES * n_panels * len(tile), dtype=dt)
        scaled = np.empty(n_panels * mb * len(tile), dtype=dt)
        # the inputs of the previous and of this mini-batch packed for the step (set as acts)
        packed = np.empty((2, panel_ops.block_count(sizes[0]) * panel_ops.SAMPLES * mb), dtype=dt)
    # a member meets the others once its buffers are made (an allocation that fails raises
    # before anything waits for it), and leaves before it changes anything if they do not come
    if members > 1 and not sync.meet(counters, members):
        return -1
    # flat views for the leaves: X row i at Xf[i * n_x], buffer set p (0 or 1) row s at
    # actf[(p * mb + s) * width]; the previous mini-batch is in set prev_set, this one in cur_set
    n_x = X.shape[1]
    Xf = X.reshape(X.size)
    actf = acts.reshape(acts.size)
    deltaf = deltas.reshape(deltas.size)
    # "previous batch" state (prev_m == 0: nothing pending); np.int64(0), not a literal 0,
    # so that numba compiles the callees once (a literal argument is a signature of its own)
    prev_set = 0
    prev_start = 0
    prev_m = np.int64(0)
    first = np.int64(0)
    step = zero_like(theta[0])
    bad = 0
    for start in range(0, n + mb, mb):
        m = max(min(mb, n - start), 0)
        if prev_m == 0 and m == 0:
            break
        cur_set = 1 - prev_set
        prev_order = order[prev_start:prev_start + prev_m]
        cur_order = order[start:start + m]
        prev_base = prev_set * mb * width
        cur_base = cur_set * mb * width
        for l in range(sizes.shape[0] - 1):
            out_col = cur_base + act_off[l]
            delta_col = prev_base + act_off[l]
            # layer 0 reads X through the order; deeper layers read the activation buffers
            if l == 0:
                src, src_stride, rows, src_col = Xf, n_x, cur_order, act_off[0]
                prev_rows, prev_col = prev_order, act_off[0]
            else:
                src, src_stride, rows, src_col = actf, width, ident, cur_base + act_off[l - 1]
                prev_rows, prev_col = ident, prev_base + act_off[l - 1]
            n_in = sizes[l]
            n_out = sizes[l + 1]
            # training splits a layer's row blocks between threads, inference its sample groups
            parts = min(threads, (n_out + block_rows - 1) // block_rows if train else (m + SAMPLES - 1) // SAMPLES)
            if len(tile) > 0 and l == 0:
                count = _first_layer_panels(threads, tile, panels, theta, b_off[0], n_in, n_out, src, src_stride,
                                            packed[prev_set], prev_m, deltaf, width, delta_col, step, decay,
                                            rows, src_col, m, actf, out_col, z, scaled, packed[cur_set])
            elif parts > 1 and n_in * n_out * max(m, prev_m) >= PARALLEL_MIN_WORK:
                # before the team's branch: numba compiles the callees in the order it meets them,
                # and a first process took 0.7 s less this way (docs/performance.md); a team's
                # members run on one thread each, so parts is 1 for them
                count = _layer_parallel(parts, not train, theta, w_off[l], b_off[l], n_in, n_out,
                                        src, src_stride, prev_rows, prev_col, prev_m, deltaf, width, delta_col,
                                        step, decay, rows, src_col, m, actf, out_col, block)
            elif members > 1 and l == 0:
                count = _layer_rows(theta, w_off[0], b_off[0], n_in, own_lo, own_hi, src, src_stride, prev_rows,
                                    prev_col, prev_m, deltaf, width, delta_col, step, decay, rows, src_col, m, actf,
                                    out_col, block)
                if m > 0:
                    sync.barrier(counters, members, rounds)
                    rounds += 1
                    _copy_rows(shared_acts, members, member, cur_base, m, width, n_out, block_rows)
            else:
                # one thread or a small layer: no parallel region at all (starting
                # one costs microseconds, and far more when the cores are busy)
                count = _layer_rows(theta if l == 0 else own_theta, w_off[l], b_off[l], n_in, first, n_out, src,
                                    src_stride, prev_rows, prev_col, prev_m, deltaf, width, delta_col, step, decay,
                                    rows, src_col, m, actf, out_col, block)
            if l == 0:
                bad += count
        if m == 0:
            break
        if train:
            _deltas(own_theta, w_off, sizes, act_off, acts[cur_set], Y, cur_order, m, cost, deltas[cur_set], buf,
                    weight, metrics)
            prev_set = cur_set
            prev_start = start
            prev_m = m
            # eq. 20's eta / m, or eta / (the sum of the mini-batch's weights)
            total = float(m)
            if weight.size:
                total = 0.0
                for s in range(m):
                    total += weight[cur_order[s]]
            step = dt.type(eta / total) if total > 0.0 else dt.type(0.0)
        else:
            last = act_off[sizes.shape[0] - 2]
            for s in range(m):
                for j in range(out.shape[1]):
                    out[start + s, j] = acts[cur_set, s, last + j]
    if len(tile) > 0 and train:
        panel_ops.unpack(panels, theta, w_off[0], sizes[1], sizes[0], tile)
    return bad


# --------------------------------------------------------------------------- public
def sgd_epoch(theta, w_off, b_off, sizes, X, Y, order, mini_batch_size, eta, decay, cost, *,
              sample_weight=None, metrics=None, block_rows=None, panels=None, team=None):
    """One epoch of mini-batch SGD over ``X[order]``, same contract as ``mlp.sgd_epoch``.

    Mini-batches are ``order[k:k + mini_batch_size]`` (the last one may be
    shorter; each step uses eta / its own size, eq. 20-21).  ``decay`` is
    eq. 93's 1 - eta * lmbda / n in theta's dtype.  Buffers: activations and
    deltas of two mini-batches, and with the panels their inputs packed for the
    step; ``X`` itself is never copied.  Runs on numba's current number of
    threads; the result does not depend on it.

    Parameters
    ----------
    sample_weight : ndarray, shape (len(X),), optional
        Non-negative per-sample weights: each sample's gradient is scaled by
        its weight and a mini-batch's step is eta / (the sum of its weights,
        in float64) instead of eta / m; 0 when they sum to 0 (the L2 decay
        still applies).  Weights of 1 give the unweighted step bit for bit.
    metrics : ndarray of float64, shape (3,), optional
        If given, adds ``[sum of w C_x, number classified correctly, sum of w]``
        over the epoch's samples (w = 1 without weights), each sample measured
        on the output of its own forward pass (before its mini-batch's step).
    block_rows : {2, 4}, optional
        Rows of the register block; default :func:`block_rows_for_cpu` (4 with
        AVX-512, else 2).  Both give the same results up to rounding; each is
        compiled only when first used (:func:`row_block`).
    panels : bool, optional
        Run the first layer through GEMM-style tiles on its weights packed as panels
        (:mod:`fastnn.kernels.panels`); default: when ``mini_batch_size`` is at least
        :data:`fastnn.kernels.panels.MIN_BATCH` and the two mini-batches' inputs packed
        for the step take at most :data:`fastnn.kernels.panels.MAX_PACKED_BYTES`
        (:func:`fastnn.kernels.panels.chooses_panels`).  The same results up to rounding.
    team : bool, optional
        On more than one thread, run the epoch as a team (:mod:`fastnn.kernels.team`): each
        thread trains its share of the first layer's rows for the whole epoch and waits for the
        others at a barrier after each mini-batch's first layer, instead of a parallel region
        started and joined per mini-batch.  None (default): for calls of at least
        :data:`fastnn.kernels.team.MIN_BATCHES` mini-batches where
        :func:`fastnn.kernels.team.suits` (the register blocks, a first layer worth sharing,
        deeper layers small); True: whenever the register blocks run; False: never.  The same
        bits either way.

    Returns
    -------
    int
        How many weighted inputs z of the first layer were not finite, as
        :func:`feedforward_batch` counts them: 0 proves the rows of ``X`` in
        ``order`` finite, so the API need not scan ``X`` before training.

    Raises
    ------
    ValueError
        If ``block_rows`` is not 2, 4 or None.
    """
    block = row_block(block_rows)
    tile = _first_layer_tile(theta.dtype, mini_batch_size, sizes[0], panels)
    weight = theta[:0] if sample_weight is None else np.ascontiguousarray(sample_weight, dtype=theta.dtype)
    metrics = NO_METRICS if metrics is None else metrics
    threads = get_num_threads()
    out = np.empty((0, sizes[-1]), dtype=theta.dtype)
    if threads > 1 and len(tile) == 0 and team is not False and not config.DISABLE_JIT:
        if team or (order.shape[0] >= team_ops.MIN_BATCHES * mini_batch_size
                     and team_ops.suits(sizes, mini_batch_size, len(block), PARALLEL_MIN_WORK)):
            bad = team_ops.run_members(_run, team_ops.members_for(sizes, threads, len(block)), theta, w_off, b_off,
                                       sizes, X, Y, order, mini_batch_size, eta, decay, cost, weight, metrics, out,
                                       block, tile)
            if bad is not None:
                return bad
    return int(_run(theta, w_off, b_off, sizes, X, Y, order, mini_batch_size, eta, decay, cost, threads, weight,
                    metrics, out, block, tile, *no_team(theta)))


def no_team(theta):
    """The last five arguments of ``_run`` outside a team: member 0 of 1 (the others are not
    read, but typed as a team's are: ``theta``'s dtype)."""
    return 0, 1, NO_COUNTERS, theta, theta[:0].reshape((0, 0))


NO_COUNTERS = np.zeros(0, dtype=np.int64)


def _first_layer_tile(dtype, mini_batch_size, n_in, panels):
    """The ``tile`` argument of ``_run``: the panel tile of ``dtype`` (compiled first, with the
    SLP vectorizer: :func:`fastnn.kernels.panels.compile_tiles`) or the empty tuple."""
    if panels is None:
        panels = panel_ops.chooses_panels(mini_batch_size, n_in, dtype)
    if not panels:
        return panel_ops.NO_TILE
    panel_ops.compile_tiles(dtype)
    return panel_ops.panel_tile(dtype)


def feedforward_batch(theta, w_off, b_off, sizes, X, out, *, block_rows=None):
    """Output activations a^L of every row of ``X`` into ``out`` (shape (n, sizes[-1])).

    Chunks of ``INFER_CHUNK`` samples go through the same row-parallel layer
    loops as training (with no step); each value is computed by the same code
    whatever the thread count.

    Returns
    -------
    int
        How many weighted inputs z of the first layer were not finite: every
        one of a sample's z is NaN or infinite if one of its inputs is (an
        infinite input times a zero weight is NaN), so 0 proves ``X`` finite
        (a positive count can also come from an overflow of finite inputs).

    ``block_rows`` is as in :func:`sgd_epoch`.
    """
    block = row_block(block_rows)
    order = np.arange(X.shape[0], dtype=np.int64)
    zero = theta.dtype.type(0)
    return int(_run(theta, w_off, b_off, sizes, X, out, order, INFER_CHUNK, 0.0, zero, QUADRATIC,
                    get_num_threads(), theta[:0], NO_METRICS, out, block, panel_ops.NO_TILE, *no_team(theta)))
