"""Fast epoch and batched inference for the sigmoid network: tiled, row-parallel loops.

Same flat parameter layout and the same arithmetic as :mod:`fastnn.kernels.mlp`
(the book's per-sample algorithm), reorganised for speed:

* **Whole mini-batch per layer.**  Each layer's forward pass runs for all
  ``m`` samples of a mini-batch at once, in register blocks of 4 rows of
  ``W^l`` x 4 samples, so a row of weights is read once per 4 samples.
* **Deferred, fused update.**  Mini-batch ``k``'s gradient step (eq. 20-21,
  with the L2 decay of eq. 93) is applied to a block of rows of ``W^l`` just
  before mini-batch ``k + 1`` computes its dot products with those rows, while
  they are still in cache.  Batch ``k + 1`` still sees exactly the weights
  network.py's ``update_mini_batch`` would have produced, and the gradient of
  each weight is summed over the samples in the book's order.
* **Parallel over output rows.**  Blocks of 4 rows are distributed with
  ``prange``; each block is computed by one thread with no shared
  accumulator, so results are bit-identical whatever the thread count.

Every inner loop runs over the contiguous last index (``k`` of ``w_jk``) and
is compiled with fastmath's ``reassoc``/``contract`` (not ``nnan``/``ninf``),
which lets LLVM vectorise the dot products.  Constants are made in theta's
dtype (``zero_like`` / ``one_like``), so float32 stays float32.
"""
import numpy as np
from numba import get_num_threads, njit, prange

from .activations import one_like, sigmoid, zero_like
from .mlp import CROSS_ENTROPY, QUADRATIC  # the cost codes, one definition

FASTMATH = {"reassoc", "contract", "arcp", "nsz"}
"""LLVM flags: allow vectorised sums and FMA, keep NaN/inf semantics."""

BLOCK = 4
"""Rows of ``W^l`` (and samples) per register block."""

PARALLEL_MIN_WORK = 16384
"""Multiply-adds of a layer's step below which it runs serially, outside any
parallel region (starting one costs microseconds, far more on busy cores)."""

INFER_CHUNK = 256
"""Samples per call of the batched forward pass."""

_NO_WEIGHTS = {np.dtype(t): np.empty(0, dtype=t) for t in (np.float64, np.float32)}
"""The empty ``sw`` array of each dtype: "unweighted" (same compiled signature as weighted)."""


# --------------------------------------------------------------------------- forward
# Leaves address flat 1-D buffers by offsets (``buf[row * ld + c + k]``) and take
# 1-D slices of them for the inner loops: indexing a slice by the loop counter
# ``k >= 0`` vectorises to contiguous loads, while ``buf[base + k]`` (possibly
# negative, so numba adds wraparound code) or a row of a 2-D array becomes gathers.
@njit(cache=True)
def _row(buf, start, n):
    """The ``n`` elements of the flat buffer ``buf`` from ``start`` on, as a 1-D view."""
    return buf[start:start + n]


@njit(fastmath=FASTMATH, cache=True)
def _forward_rows(theta, w0, b0, n_in, j0, nr, src, ld, rows, c, m, out, old, oc):
    """a^l_j = sigma(sum_k w^l_jk a^{l-1}_k + b^l_j) (eq. 23) for rows j0..j0+nr-1.

    The input of sample ``s`` is ``src[rows[s] * ld + c + k]``; its output
    ``out[s * old + oc + j]``.  ``nr == 4`` runs the 4 x 4 register block
    (4 rows x 4 samples), else one row at a time.
    """
    zero = zero_like(theta[0])
    if nr == BLOCK:
        r0 = _row(theta, w0 + j0 * n_in, n_in)
        r1 = _row(theta, w0 + (j0 + 1) * n_in, n_in)
        r2 = _row(theta, w0 + (j0 + 2) * n_in, n_in)
        r3 = _row(theta, w0 + (j0 + 3) * n_in, n_in)
        s = 0
        while s + BLOCK <= m:
            x0 = _row(src, rows[s] * ld + c, n_in)
            x1 = _row(src, rows[s + 1] * ld + c, n_in)
            x2 = _row(src, rows[s + 2] * ld + c, n_in)
            x3 = _row(src, rows[s + 3] * ld + c, n_in)
            a00 = a01 = a02 = a03 = zero
            a10 = a11 = a12 = a13 = zero
            a20 = a21 = a22 = a23 = zero
            a30 = a31 = a32 = a33 = zero
            for k in range(n_in):
                v0 = r0[k]
                v1 = r1[k]
                v2 = r2[k]
                v3 = r3[k]
                u0 = x0[k]
                u1 = x1[k]
                u2 = x2[k]
                u3 = x3[k]
                a00 += v0 * u0
                a01 += v0 * u1
                a02 += v0 * u2
                a03 += v0 * u3
                a10 += v1 * u0
                a11 += v1 * u1
                a12 += v1 * u2
                a13 += v1 * u3
                a20 += v2 * u0
                a21 += v2 * u1
                a22 += v2 * u2
                a23 += v2 * u3
                a30 += v3 * u0
                a31 += v3 * u1
                a32 += v3 * u2
                a33 += v3 * u3
            o = s * old + oc + j0
            out[o] = a00
            out[o + old] = a01
            out[o + 2 * old] = a02
            out[o + 3 * old] = a03
            out[o + 1] = a10
            out[o + old + 1] = a11
            out[o + 2 * old + 1] = a12
            out[o + 3 * old + 1] = a13
            out[o + 2] = a20
            out[o + old + 2] = a21
            out[o + 2 * old + 2] = a22
            out[o + 3 * old + 2] = a23
            out[o + 3] = a30
            out[o + old + 3] = a31
            out[o + 2 * old + 3] = a32
            out[o + 3 * old + 3] = a33
            s += BLOCK
        # leftover samples: 4 rows x 1 sample
        while s < m:
            x0 = _row(src, rows[s] * ld + c, n_in)
            a0 = a1 = a2 = a3 = zero
            for k in range(n_in):
                u = x0[k]
                a0 += r0[k] * u
                a1 += r1[k] * u
                a2 += r2[k] * u
                a3 += r3[k] * u
            o = s * old + oc + j0
            out[o] = a0
            out[o + 1] = a1
            out[o + 2] = a2
            out[o + 3] = a3
            s += 1
    else:
        for j in range(j0, j0 + nr):
            r = _row(theta, w0 + j * n_in, n_in)
            for s in range(m):
                x = _row(src, rows[s] * ld + c, n_in)
                a = zero
                for k in range(n_in):
                    a += r[k] * x[k]
                out[s * old + oc + j] = a
    # a = sigma(z) with z = (w . a_prev) + b, summed in the references' (W a) + b order
    for s in range(m):
        for j in range(j0, j0 + nr):
            out[s * old + oc + j] = sigmoid(out[s * old + oc + j] + theta[b0 + j])


# --------------------------------------------------------------------------- update
@njit(fastmath=FASTMATH, cache=True)
def _update_rows(theta, nabla, w0, b0, n_in, j0, nr, src, ld, rows, c, m, delta, dld, dc, step, decay):
    """The gradient step of the previous mini-batch for rows j0..j0+nr-1 of ``W^l``, ``b^l``.

    BP3/BP4: nabla b_j = sum_s delta_sj and nabla w_jk = sum_s delta_sj a^{l-1}_sk,
    summed over the mini-batch's samples in order into ``nabla``; then
    w -> decay * w - step * nabla w, b -> b - step * nabla b (eq. 20-21, 93).
    delta_sj is ``delta[s * dld + dc + j]``, the input ``src[rows[s] * ld + c + k]``.
    """
    zero = zero_like(theta[0])
    # bias gradient (BP3) and step
    for j in range(j0, j0 + nr):
        gb = zero
        for s in range(m):
            gb += delta[s * dld + dc + j]
        theta[b0 + j] = theta[b0 + j] - step * gb
    if nr == BLOCK:
        # BP4 for 4 rows, adding the samples 4 at a time (one pass over the
        # 4 gradient rows per 4 samples), in the book's order
        g0 = _row(nabla, w0 + j0 * n_in, n_in)
        g1 = _row(nabla, w0 + (j0 + 1) * n_in, n_in)
        g2 = _row(nabla, w0 + (j0 + 2) * n_in, n_in)
        g3 = _row(nabla, w0 + (j0 + 3) * n_in, n_in)
        for k in range(n_in):
            g0[k] = zero
            g1[k] = zero
            g2[k] = zero
            g3[k] = zero
        s = 0
        while s + BLOCK <= m:
            x0 = _row(src, rows[s] * ld + c, n_in)
            x1 = _row(src, rows[s + 1] * ld + c, n_in)
            x2 = _row(src, rows[s + 2] * ld + c, n_in)
            x3 = _row(src, rows[s + 3] * ld + c, n_in)
            e = s * dld + dc + j0
            d00 = delta[e]
            d01 = delta[e + dld]
            d02 = delta[e + 2 * dld]
            d03 = delta[e + 3 * dld]
            d10 = delta[e + 1]
            d11 = delta[e + dld + 1]
            d12 = delta[e + 2 * dld + 1]
            d13 = delta[e + 3 * dld + 1]
            d20 = delta[e + 2]
            d21 = delta[e + dld + 2]
            d22 = delta[e + 2 * dld + 2]
            d23 = delta[e + 3 * dld + 2]
            d30 = delta[e + 3]
            d31 = delta[e + dld + 3]
            d32 = delta[e + 2 * dld + 3]
            d33 = delta[e + 3 * dld + 3]
            for k in range(n_in):
                u0 = x0[k]
                u1 = x1[k]
                u2 = x2[k]
                u3 = x3[k]
                g0[k] = g0[k] + d00 * u0 + d01 * u1 + d02 * u2 + d03 * u3
                g1[k] = g1[k] + d10 * u0 + d11 * u1 + d12 * u2 + d13 * u3
                g2[k] = g2[k] + d20 * u0 + d21 * u1 + d22 * u2 + d23 * u3
                g3[k] = g3[k] + d30 * u0 + d31 * u1 + d32 * u2 + d33 * u3
            s += BLOCK
        while s < m:
            x0 = _row(src, rows[s] * ld + c, n_in)
            e = s * dld + dc + j0
            d0 = delta[e]
            d1 = delta[e + 1]
            d2 = delta[e + 2]
            d3 = delta[e + 3]
            for k in range(n_in):
                u = x0[k]
                g0[k] += d0 * u
                g1[k] += d1 * u
                g2[k] += d2 * u
                g3[k] += d3 * u
            s += 1
    else:
        for j in range(j0, j0 + nr):
            g = _row(nabla, w0 + j * n_in, n_in)
            for k in range(n_in):
                g[k] = zero
            for s in range(m):
                x = _row(src, rows[s] * ld + c, n_in)
                d = delta[s * dld + dc + j]
                for k in range(n_in):
                    g[k] += d * x[k]
    for j in range(j0, j0 + nr):
        w = _row(theta, w0 + j * n_in, n_in)
        g = _row(nabla, w0 + j * n_in, n_in)
        for k in range(n_in):
            w[k] = decay * w[k] - step * g[k]


# --------------------------------------------------------------------------- backward
@njit(fastmath=FASTMATH, cache=True)
def _deltas(theta, w_off, sizes, act_off, act, Y, order, m, cost, delta, buf, sw):
    """delta^l of every layer for the ``m`` samples of the mini-batch (BP1, BP2).

    sigma'(z) is a (1 - a) since a = sigma(z).  BP2's (W^{l+1})^T delta^{l+1}
    is written as row updates over W^{l+1} (contiguous inner loop).  With
    sample weights (``sw`` not empty) sample ``i``'s delta^L is multiplied by
    ``sw[i]``; BP2-BP4 are linear in delta^L, so its whole gradient is scaled.
    """
    one = one_like(theta[0])
    zero = zero_like(theta[0])
    last = sizes.shape[0] - 2
    n_last = sizes[last + 1]
    oc = act_off[last]
    for s in range(m):
        y = Y[order[s]]
        # BP1; for cross-entropy sigma' cancels (eq. 66)
        for j in range(n_last):
            a = act[s, oc + j]
            if cost == CROSS_ENTROPY:
                delta[s, oc + j] = a - y[j]
            else:
                delta[s, oc + j] = (a - y[j]) * a * (one - a)
        if sw.shape[0] > 0:
            weight = sw[order[s]]
            for j in range(n_last):
                delta[s, oc + j] *= weight
        # BP2 down to the first hidden layer
        for l in range(last, 0, -1):
            n_prev = sizes[l]
            pc = act_off[l - 1]
            dc = act_off[l]
            for k in range(n_prev):
                buf[k] = zero
            for j in range(sizes[l + 1]):
                d = delta[s, dc + j]
                r = w_off[l] + j * n_prev
                for k in range(n_prev):
                    buf[k] += theta[r + k] * d
            for k in range(n_prev):
                a = act[s, pc + k]
                delta[s, pc + k] = buf[k] * a * (one - a)


# --------------------------------------------------------------------------- driver
@njit(fastmath=FASTMATH, cache=True)
def _rows_step(theta, nabla, w0, b0, n_in, j0, n_out, src, ld, prows, pc, pm, delta, dld, dc,
               step, decay, rows, c, m, out, oc):
    """One row block of a layer: the previous batch's deferred step (``pm`` > 0
    samples), then this batch's forward pass (``m`` > 0 samples) through those rows."""
    nr = min(BLOCK, n_out - j0)
    if pm > 0:
        _update_rows(theta, nabla, w0, b0, n_in, j0, nr, src, ld, prows, pc, pm, delta, dld, dc, step, decay)
    if m > 0:
        _forward_rows(theta, w0, b0, n_in, j0, nr, src, ld, rows, c, m, out, dld, oc)


@njit(cache=True)
def _weighted_rate(eta, sw, rows, m):
    """eta / (sum of the weights of the batch's samples ``rows[:m]``), in float64;
    0 when they sum to 0 (the batch has no gradient; the L2 decay still applies).
    The sum is taken in float64, so weights of 1 give exactly eta / m."""
    total = 0.0
    for s in range(m):
        total += sw[rows[s]]
    if total > 0.0:
        return eta / total
    return 0.0


@njit(cache=True)
def _act_offsets(sizes):
    """Column of each layer's output in the (samples, sum(sizes[1:])) activation buffers."""
    off = np.zeros(sizes.shape[0], dtype=np.int64)
    for l in range(1, sizes.shape[0]):
        off[l] = off[l - 1] + sizes[l]
    return off


@njit(fastmath=FASTMATH, cache=True, parallel=True)
def _run(theta, w_off, b_off, sizes, X, Y, order, mb, eta, decay, cost, sw, out, threads):
    """Training epoch (``out`` empty) or batched forward pass (``out`` of shape (n, n_out))
    on ``threads`` numba threads (``numba.get_num_threads()``, passed in because
    calling it inside the kernel would make it uncacheable).  ``sw``: per-sample
    weights indexed like the rows of ``X``, or empty for the book's unweighted step.

    Per batch of ``mb`` samples, every layer is one loop over its row blocks:
    first the previous batch's deferred step for those rows, then this
    batch's forward pass through them.  Then BP1/BP2 give this batch's deltas,
    whose step the next batch (or a final pass with no samples) applies.
    The row-block loop is a ``prange`` only when ``threads`` > 1 and the
    layer's work reaches ``PARALLEL_MIN_WORK``; otherwise it is a plain loop
    and no parallel region is started at all (so one thread, or the small
    output layer, never waits on the threading layer).  Every block runs the
    same code either way: no value depends on the thread count.
    """
    train = out.shape[0] == 0
    dt = theta.dtype
    zero = zero_like(theta[0])
    act_off = _act_offsets(sizes)
    width = act_off[-1]
    n = order.shape[0]
    mb = min(mb, n)
    acts = np.empty((2, mb, width), dtype=dt)
    deltas = np.empty((2, mb, width), dtype=dt)
    widest = 0
    for l in range(sizes.shape[0]):
        widest = max(widest, sizes[l])
    buf = np.empty(widest, dtype=dt)
    nabla = np.empty_like(theta) if train else theta[:0]
    ident = np.arange(mb)
    # flat views for the leaves: X row i at Xf[i * n_x], buffer set p row s at accf[(p * mb + s) * width]
    n_x = X.shape[1]
    Xf = X.reshape(X.size)
    actf = acts.reshape(acts.size)
    deltaf = deltas.reshape(deltas.size)
    # "previous batch" state (pm == 0: nothing pending)
    p = 0
    pstart = 0
    pm = 0
    step = zero
    for start in range(0, n + mb, mb):
        m = max(min(mb, n - start), 0)
        if pm == 0 and m == 0:
            break
        cur = 1 - p
        porder = order[pstart:pstart + pm]
        corder = order[start:start + m]
        pbase = p * mb * width
        cbase = cur * mb * width
        for l in range(sizes.shape[0] - 1):
            n_in = sizes[l]
            n_out = sizes[l + 1]
            w0 = w_off[l]
            b0 = b_off[l]
            oc = cbase + act_off[l]
            dc = pbase + act_off[l]
            # layer 0 reads X through the order; deeper layers read the activation buffers
            if l == 0:
                src, ld, prows, pc, rows, c = Xf, n_x, porder, act_off[0], corder, act_off[0]
            else:
                src, ld, prows, pc, rows, c = actf, width, ident, pbase + act_off[l - 1], ident, cbase + act_off[l - 1]
            n_blocks = (n_out + BLOCK - 1) // BLOCK
            if threads > 1 and n_in * n_out * max(m, pm) >= PARALLEL_MIN_WORK:
                for blk in prange(n_blocks):
                    _rows_step(theta, nabla, w0, b0, n_in, blk * BLOCK, n_out, src, ld, prows, pc, pm,
                               deltaf, width, dc, step, decay, rows, c, m, actf, oc)
            else:
                # one thread or a small layer: no parallel region at all (starting
                # one costs microseconds, and far more when the cores are busy)
                for blk in range(n_blocks):
                    _rows_step(theta, nabla, w0, b0, n_in, blk * BLOCK, n_out, src, ld, prows, pc, pm,
                               deltaf, width, dc, step, decay, rows, c, m, actf, oc)
        act = acts[cur]
        if m == 0:
            break
        if train:
            _deltas(theta, w_off, sizes, act_off, act, Y, corder, m, cost, deltas[cur], buf, sw)
            p = cur
            pstart = start
            pm = m
            step = dt.type(eta / m) if sw.shape[0] == 0 else dt.type(_weighted_rate(eta, sw, corder, m))
        else:
            last = act_off[sizes.shape[0] - 2]
            for s in range(m):
                for j in range(out.shape[1]):
                    out[start + s, j] = act[s, last + j]


def sgd_epoch(theta, w_off, b_off, sizes, X, Y, order, mini_batch_size, eta, decay, cost,
              sample_weight=None):
    """One epoch of mini-batch SGD over ``X[order]``, same contract as ``mlp.sgd_epoch``.

    Mini-batches are ``order[k:k + mini_batch_size]`` (the last one may be
    shorter; each step uses eta / its own size, eq. 20-21).  ``decay`` is
    eq. 93's 1 - eta * lmbda / n in theta's dtype.  Buffers: activations and
    deltas of two mini-batches and one gradient buffer like ``theta``; ``X``
    is never copied.  Runs on numba's current number of threads.

    ``sample_weight`` (one non-negative weight per row of ``X``, or None)
    scales each sample's gradient by its weight, and each step is then
    eta / (the mini-batch's weight sum) times the weighted gradient sum
    (0 if the batch's weights sum to 0); weights of 1 give the unweighted step.
    """
    sw = _NO_WEIGHTS[theta.dtype] if sample_weight is None else \
        np.ascontiguousarray(sample_weight, dtype=theta.dtype)
    out = np.empty((0, sizes[-1]), dtype=theta.dtype)
    _run(theta, w_off, b_off, sizes, X, Y, order, mini_batch_size, eta, decay, cost, sw, out,
         get_num_threads())


def feedforward_batch(theta, w_off, b_off, sizes, X, out):
    """Output activations a^L of every row of ``X`` into ``out`` (shape (n, sizes[-1])).

    Chunks of ``INFER_CHUNK`` samples go through the same row-parallel layer
    loops as training (with no pending step); ``Y`` is unused.
    """
    order = np.arange(X.shape[0], dtype=np.int64)
    zero = theta.dtype.type(0)
    _run(theta, w_off, b_off, sizes, X, out, order, INFER_CHUNK, 0.0, zero, QUADRATIC,
         _NO_WEIGHTS[theta.dtype], out, get_num_threads())
