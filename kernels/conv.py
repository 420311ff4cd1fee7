"""Numba kernels for chapter 6's networks (``network3.py``): conv-pool, fully connected, softmax.

Imported only by :mod:`fastnn.network3`; the sigmoid network of chapters 1-3
(:mod:`fastnn.kernels.mlp`, :mod:`fastnn.kernels.tiled`) never loads or
compiles this module.

**Parameters.**  Every weight and bias lives in one flat buffer ``theta`` in
the book's order (``Network.params``: ``w`` then ``b`` of each layer), each
array row-major in the book's shape:

* conv-pool layer: ``w`` of shape ``(F, C, fh, fw)``, read as an ``(F, Q)``
  matrix with ``Q = C*fh*fw`` (``w[f, q]``, ``q = (c*fh + k)*fw + l``); ``b`` of
  shape ``(F,)``;
* fully connected and softmax layers: ``w`` of shape ``(n_in, n_out)``
  (``x w``, as Theano's ``T.dot(inpt, w)``), ``b`` of shape ``(n_out,)``.

**Layer table.**  ``spec[l]`` (int64) describes layer ``l`` with the field
indices below (``KIND``, ``ACT``, ...); ``keep[l]`` is ``1 - p_dropout`` in
theta's dtype.  One compiled signature serves every architecture.

**The algorithm** is the book's: for every mini-batch, each sample's forward
pass (the training path: dropout masks on the inputs of the fully connected
and softmax layers, no rescaling) and backward pass use the parameters at the
mini-batch's start; the per-sample gradients of ``-log a_y`` are summed, and
``param -> param - eta * (sum / m + lmbda * w / num_training_batches)`` (the
L2 term for weights only).  Inference (:func:`predict_proba`) scales ``x w``,
not ``b``, by ``keep``.

**Convolution** as Theano's ``conv2d`` (the filter is flipped):
``z[f, i, j] = sum_{c,k,l} x[c, i+k, j+l] w[f, c, fh-1-k, fw-1-l]``.  The
kernel gathers each output position's ``Q`` inputs, in the flipped order,
into a row of ``cols`` (``cols[p, q] = x[c, i+fh-1-k, j+fw-1-l]`` with
``p = i*OW + j``; an explicit copy loop), so that ``z[f, p] = sum_q w[f, q]
cols[p, q]``: dot products over the contiguous index ``q``, computed 2 filters
x 4 positions at a time (8 running sums).  A layer with few inputs per output
(``Q < DIRECT_MAX_Q``, such as the first layer's 1x5x5) convolves directly
instead, one filter at a time, each weight one long contiguous update of the
output (:func:`conv_direct`), and gathers ``cols`` only for its backward pass.

**Threads.**  One kernel per job serves every thread count (``numba.set_num_threads``):
:func:`sgd_chunk` runs the samples' conv forward passes in parallel, then the
conv layers' weight gradients with the *filters* split between threads (each
gradient element still receives the samples' terms in sample order), then the
samples' input gradients in parallel; :func:`predict_proba` splits the rows.
No sum is split between threads, so every result is bit-identical for any
thread count, and equal to the plain per-sample kernels' (:func:`accumulate_gradient`).

**Max-pooling** over ``ph x pw`` blocks, ignoring rows and columns that do
not fill a block.  The forward pass records each block's argmax: its *first*
maximum in row-major order, which receives the block's whole gradient (tie
rule; Theano gives the gradient to every tied element, PyTorch to one).

**Backward** (the chain rule through ``a = f(pooled + b)``), for one sample,
with ``delta = dC/d(pooled + b)``:

* ``dC/db[f] = sum_{pi,pj} delta[f, pi, pj]``;
* pooling routes ``delta[f, pi, pj]`` to ``g[f, p*]``, ``p*`` the block's argmax
  (all other ``g`` are 0, so only pooled positions are visited);
* ``dC/dw[f, q] = sum_p g[f, p] cols[p, q]`` (the input correlated with
  ``g``; the flip is in ``cols``);
* ``dC/dx``: ``dcols[p, q] = sum_f g[f, p] w[f, q]``, added back to
  ``x[c, i+fh-1-k, j+fw-1-l]`` (the full convolution of ``g`` with ``w``).

Fully connected / softmax: ``dC/db = delta``, ``dC/dw[k, j] = x_k delta_j``
(``x`` after the mask), ``dC/dx_k = mask_k sum_j w[k, j] delta_j``; the
previous layer's delta is that times ``f'`` written with its output
(sigmoid ``a(1-a)``, tanh ``1-a^2``, ReLU ``[a > 0]``, linear 1).  The softmax
with the log-likelihood cost gives ``delta = a - onehot(y)``.

All constants are made in theta's dtype (``zero_like`` / ``one_like``), so
float32 stays float32; loops compile with fastmath's ``reassoc``/``contract``
(not ``nnan``/``ninf``) so the dot products vectorise.
"""
import math

import numpy as np
from numba import njit, prange

from .activations import one_like, sigmoid, zero_like

__all__ = ["activate", "derivative_from_output", "buffer_sizes", "im2col", "permute_filters", "dot_rows",
           "conv_direct", "pool_filter", "pool_filter_2x2", "conv_pool_forward", "dense_forward", "forward_sample",
           "filter_gradient", "input_gradient", "conv_pool_backward", "dense_backward", "backward_sample",
           "record_metrics", "accumulate_gradient", "batch_buffers", "forward_convs", "dense_forward_batch",
           "dense_backward_batch", "conv_backward_block", "batch_forward_dense", "batch_backward",
           "batch_gradient", "apply_step", "sgd_chunk", "predict_block", "predict_proba",
           "FASTMATH", "NSPEC", "DIRECT_MAX_Q", "INFER_BLOCK", "TRAIN_BLOCK"]

from .conv_parts import (FASTMATH, CONV, FC, SOFTMAX, SIGMOID, TANH, RELU, LINEAR, KIND, ACT, C, H,
    W, F, FH, FW, PH, PW, OH, OW, PHN, PWN, N_IN, N_OUT, W_OFF, B_OFF, IN_OFF, OUT_OFF, MASK_OFF,
    ARG_OFF, COLS_OFF, NSPEC, activate, derivative_from_output, buffer_sizes, im2col, permute_filters,
    dot_rows, DIRECT_MAX_Q, conv_direct)


@njit(cache=True)
def pool_filter(theta, spec_l, f, zf, stride, act, args):
    """Max-pool filter f's convolution output (``zf[i*stride + j]``), add b[f], apply the activation.

    Writes a = f(pooled + b) at ``act[OUT_OFF:]`` and each block's argmax p* = i*OW + j
    (its first maximum in row-major order: the comparisons are strict) at ``args[ARG_OFF:]``.
    2x2 blocks (the book's) take a path written out for them; the numbers are the same.
    """
    ph, pw = spec_l[PH], spec_l[PW]
    if ph == 2 and pw == 2:
        pool_filter_2x2(theta, spec_l, f, zf, stride, act, args)
        return
    ow, phn, pwn = spec_l[OW], spec_l[PHN], spec_l[PWN]
    out0, arg0, code = spec_l[OUT_OFF], spec_l[ARG_OFF], spec_l[ACT]
    bias = theta[spec_l[B_OFF] + f]
    for pi in range(phn):
        for pj in range(pwn):
            best_i = pi * ph
            best_j = pj * pw
            best = zf[best_i * stride + best_j]
            for u in range(ph):
                for v in range(pw):
                    i = pi * ph + u
                    j = pj * pw + v
                    val = zf[i * stride + j]
                    # strict and branch-free (selects, no mispredicted jumps): ties keep the first
                    better = val > best
                    best_i = i if better else best_i
                    best_j = j if better else best_j
                    best = val if better else best
            o = (f * phn + pi) * pwn + pj
            args[arg0 + o] = best_i * ow + best_j
            act[out0 + o] = activate(code, best + bias)


@njit(cache=True)
def pool_filter_2x2(theta, spec_l, f, zf, stride, act, args):
    """:func:`pool_filter` for 2x2 blocks: the four elements compared in row-major order,
    strictly (a tie keeps the first), as selects."""
    ow, phn, pwn = spec_l[OW], spec_l[PHN], spec_l[PWN]
    out0, arg0, code = spec_l[OUT_OFF], spec_l[ARG_OFF], spec_l[ACT]
    bias = theta[spec_l[B_OFF] + f]
    for pi in range(phn):
        r0 = 2 * pi * stride
        r1 = r0 + stride
        o0 = (f * phn + pi) * pwn
        p0 = 2 * pi * ow
        for pj in range(pwn):
            j = 2 * pj
            best = zf[r0 + j]
            at = p0 + j
            val = zf[r0 + j + 1]
            better = val > best
            at = p0 + j + 1 if better else at
            best = val if better else best
            val = zf[r1 + j]
            better = val > best
            at = p0 + ow + j if better else at
            best = val if better else best
            val = zf[r1 + j + 1]
            better = val > best
            at = p0 + ow + j + 1 if better else at
            best = val if better else best
            args[arg0 + o0 + pj] = at
            act[out0 + o0 + pj] = activate(code, best + bias)


@njit(cache=True)
def conv_pool_forward(theta, spec_l, act, cols, zc, args):
    """Conv (Theano's flipped 'valid' convolution), max-pool with argmax record, bias, activation.

    Reads the input at ``act[IN_OFF:]``, writes a = f(pooled + b) at ``act[OUT_OFF:]``
    and the argmax p* = i*OW + j of every pooled element at ``args[ARG_OFF:]``.
    Layers with few inputs per output (``C*fh*fw < DIRECT_MAX_Q``) convolve directly,
    one filter at a time, each pooled at once (a small working set); the others gather
    their inputs into ``cols`` (kept for the backward pass) and compute all filters'
    dot products.
    """
    nf = spec_l[F]
    q_len = spec_l[C] * spec_l[FH] * spec_l[FW]
    p_len = spec_l[OH] * spec_l[OW]
    if q_len < DIRECT_MAX_Q:
        for f in range(nf):
            conv_direct(theta, spec_l, act, f, zc)
            pool_filter(theta, spec_l, f, zc, spec_l[W], act, args)
        return
    im2col(act, spec_l[IN_OFF], spec_l, cols)
    # z[f, p] = sum_q w[f, q] cols[p, q]
    c0 = spec_l[COLS_OFF]
    dot_rows(theta, spec_l[W_OFF], nf, cols[c0:c0 + p_len * q_len], p_len, q_len, zc, p_len)
    for f in range(nf):
        pool_filter(theta, spec_l, f, zc[f * p_len:(f + 1) * p_len], spec_l[OW], act, args)


@njit(cache=True, fastmath=FASTMATH)
def dense_forward(theta, spec_l, act, masks, mrow, scale, xd, z):
    """a = f(scale * (x w) + b) of a fully connected or softmax layer (f = softmax for the latter).

    ``x`` is the layer's input times its dropout mask row ``masks[mrow]`` when
    ``mrow >= 0`` and the layer has one (training); ``scale`` is 1 in training
    and ``keep = 1 - p_dropout`` at inference.
    """
    n_in, n_out = spec_l[N_IN], spec_l[N_OUT]
    in0, out0, w0, b0 = spec_l[IN_OFF], spec_l[OUT_OFF], spec_l[W_OFF], spec_l[B_OFF]
    zero = zero_like(theta[0])
    m0 = spec_l[MASK_OFF]
    for k in range(n_in):
        xd[k] = act[in0 + k]
        if mrow >= 0 and m0 >= 0 and masks[mrow, m0 + k] == 0:
            xd[k] = zero
    for j in range(n_out):
        z[j] = zero
    # z_j = sum_k x_k w_kj, as row updates over the contiguous j
    for k in range(n_in):
        xk = xd[k]
        if xk != zero:
            row = theta[w0 + k * n_out:w0 + (k + 1) * n_out]
            for j in range(n_out):
                z[j] += xk * row[j]
    for j in range(n_out):
        z[j] = scale * z[j] + theta[b0 + j]
    if spec_l[KIND] == SOFTMAX:
        top = z[0]
        for j in range(n_out):
            top = max(top, z[j])
        total = zero
        for j in range(n_out):
            e = math.exp(z[j] - top)
            act[out0 + j] = e
            total += e
        for j in range(n_out):
            act[out0 + j] = act[out0 + j] / total
    else:
        code = spec_l[ACT]
        for j in range(n_out):
            act[out0 + j] = activate(code, z[j])


@njit(cache=True)
def forward_sample(theta, spec, keep, x, act, args, masks, mrow, train, cols, zc, xd, z):
    """One sample's forward pass through every layer (training path if ``train``)."""
    one = one_like(theta[0])
    for k in range(x.shape[0]):
        act[k] = x[k]
    for l in range(spec.shape[0]):
        if spec[l, KIND] == CONV:
            conv_pool_forward(theta, spec[l], act, cols, zc, args)
        else:
            dense_forward(theta, spec[l], act, masks, mrow if train else -1,
                          one if train else keep[l], xd, z)


# --------------------------------------------------------------------------- backward
@njit(cache=True, fastmath=FASTMATH)
def filter_gradient(theta, spec_l, f, args, delta, cols, nabla):
    """Add one sample's dC/dw[f, :] and dC/db[f] of a conv-pool layer to ``nabla``.

    ``delta[f*PHN*PWN + o]`` is dC/d(pooled + b) (``dC/db[f]`` is their sum); only each
    block's argmax p* receives gradient: dw[f, :] += delta * cols[p*, :] (BP4's analogue).
    The nonzero deltas are taken four at a time, so that the row ``dw[f, :]`` is read and
    written once per four rows of ``cols``.
    """
    phn, pwn = spec_l[PHN], spec_l[PWN]
    q_len = spec_l[C] * spec_l[FH] * spec_l[FW]
    w0, b0, arg0, c0 = spec_l[W_OFF], spec_l[B_OFF], spec_l[ARG_OFF], spec_l[COLS_OFF]
    zero = zero_like(theta[0])
    grow = nabla[w0 + f * q_len:w0 + (f + 1) * q_len]
    pending = 0
    d0 = d1 = d2 = zero
    p0 = p1 = p2 = 0
    db = zero  # this sample's dC/db[f], added to nabla once (the threads' filters share cache lines there)
    for o in range(phn * pwn):
        d = delta[f * phn * pwn + o]
        if d == zero:
            continue
        db += d
        p = args[arg0 + f * phn * pwn + o]
        if pending == 0:
            d0, p0, pending = d, p, 1
        elif pending == 1:
            d1, p1, pending = d, p, 2
        elif pending == 2:
            d2, p2, pending = d, p, 3
        else:
            r0 = cols[c0 + p0 * q_len:c0 + (p0 + 1) * q_len]
            r1 = cols[c0 + p1 * q_len:c0 + (p1 + 1) * q_len]
            r2 = cols[c0 + p2 * q_len:c0 + (p2 + 1) * q_len]
            r3 = cols[c0 + p * q_len:c0 + (p + 1) * q_len]
            for q in range(q_len):
                grow[q] += (d0 * r0[q] + d1 * r1[q]) + (d2 * r2[q] + d * r3[q])
            pending = 0
    if pending > 0:
        _add_rows(grow, cols, c0, q_len, pending, d0, p0, d1, p1, d2, p2)
    nabla[b0 + f] += db


@njit(cache=True, fastmath=FASTMATH)
def _add_rows(out, rows, r0, q_len, n, d0, p0, d1, p1, d2, p2):
    """out += d0 * rows[p0] (+ d1 * rows[p1] (+ d2 * rows[p2]) for n = 2, 3): the last
    one to three terms of :func:`filter_gradient` and :func:`input_gradient`; rows of
    ``rows`` are ``q_len`` long from ``r0``."""
    a = rows[r0 + p0 * q_len:r0 + (p0 + 1) * q_len]
    b = rows[r0 + p1 * q_len:r0 + (p1 + 1) * q_len]
    c = rows[r0 + p2 * q_len:r0 + (p2 + 1) * q_len]
    if n == 1:
        for q in range(q_len):
            out[q] += d0 * a[q]
    elif n == 2:
        for q in range(q_len):
            out[q] += d0 * a[q] + d1 * b[q]
    else:
        for q in range(q_len):
            out[q] += (d0 * a[q] + d1 * b[q]) + d2 * c[q]


@njit(cache=True, fastmath=FASTMATH)
def input_gradient(theta, spec_l, args, delta, dcols, dprev):
    """One sample's dC/dx of a conv-pool layer into ``dprev`` (BP2's analogue).

    ``dcols`` (scratch, ``buffer_sizes``' length) starts with the layer's filters permuted
    by :func:`permute_filters` (``F*Q`` values, ``Q = C*fh*fw``; the caller writes them).
    For each output position p* = (i, j) some pooled element routes gradient to, the row
    ``drow[(k*fw + l)*C + c] = sum of delta * w[f, c, fh-1-k, fw-1-l]`` over those pooled
    elements (at most one per filter: the pooling blocks do not overlap), in filter order,
    four filters per pass over the row, is added to a channel-last ``dx[i+k, j+l, c]``
    at once: ``fh`` runs of ``fw*C`` consecutive values (the full convolution of the
    routed delta with the filters); ``dx`` is then transposed into ``dprev`` (C, H, W).
    """
    nf, phn, pwn = spec_l[F], spec_l[PHN], spec_l[PWN]
    nc, nh, nw, fh, fw, ow = spec_l[C], spec_l[H], spec_l[W], spec_l[FH], spec_l[FW], spec_l[OW]
    q_len = nc * fh * fw
    p_len = spec_l[OH] * ow
    arg0 = spec_l[ARG_OFF]
    zero = zero_like(theta[0])
    # the filters (and their deltas) routed to each position p, in filter order
    count = np.zeros(p_len, dtype=np.int64)
    which = np.empty(p_len * nf, dtype=np.int64)
    value = np.empty(p_len * nf, dtype=theta.dtype)
    for f in range(nf):
        for o in range(phn * pwn):
            d = delta[f * phn * pwn + o]
            if d == zero:
                continue
            p = args[arg0 + f * phn * pwn + o]
            t = p * nf + count[p]
            which[t] = f
            value[t] = d
            count[p] += 1
    wperm = dcols[:nf * q_len]
    drow = dcols[nf * q_len:(nf + 1) * q_len]
    dx = dcols[(nf + 1) * q_len:(nf + 1) * q_len + nc * nh * nw]
    for k in range(nc * nh * nw):
        dx[k] = zero
    run = fw * nc
    for p in range(p_len):
        t = p * nf
        stop = t + count[p]
        if t == stop:  # no gradient reaches this position
            continue
        for q in range(q_len):
            drow[q] = zero
        while t + 4 <= stop:
            r0 = wperm[which[t] * q_len:(which[t] + 1) * q_len]
            r1 = wperm[which[t + 1] * q_len:(which[t + 1] + 1) * q_len]
            r2 = wperm[which[t + 2] * q_len:(which[t + 2] + 1) * q_len]
            r3 = wperm[which[t + 3] * q_len:(which[t + 3] + 1) * q_len]
            e0, e1, e2, e3 = value[t], value[t + 1], value[t + 2], value[t + 3]
            for q in range(q_len):
                drow[q] += (e0 * r0[q] + e1 * r1[q]) + (e2 * r2[q] + e3 * r3[q])
            t += 4
        if t < stop:
            n = stop - t
            _add_rows(drow, wperm, 0, q_len, n, value[t], which[t], value[min(t + 1, stop - 1)],
                      which[min(t + 1, stop - 1)], value[min(t + 2, stop - 1)], which[min(t + 2, stop - 1)])
        i = p // ow
        j = p % ow
        for k in range(fh):
            x0 = ((i + k) * nw + j) * nc
            x = dx[x0:x0 + run]
            d = drow[k * run:(k + 1) * run]
            for r in range(run):
                x[r] += d[r]
    hw = nh * nw
    for c in range(nc):
        for yx in range(hw):
            dprev[c * hw + yx] = dx[yx * nc + c]


@njit(cache=True)
def conv_pool_backward(theta, spec_l, act, args, delta, dprev, nabla, cols, dcols, need_dx):
    """Add one sample's dC/dw, dC/db of a conv-pool layer to ``nabla``; dC/dx into ``dprev``
    if ``need_dx`` (:func:`filter_gradient` for every filter, :func:`input_gradient`)."""
    if spec_l[C] * spec_l[FH] * spec_l[FW] < DIRECT_MAX_Q:  # gathered here: the forward pass convolved directly
        im2col(act, spec_l[IN_OFF], spec_l, cols)
    for f in range(spec_l[F]):
        filter_gradient(theta, spec_l, f, args, delta, cols, nabla)
    if need_dx:
        permute_filters(theta, spec_l, dcols)
        input_gradient(theta, spec_l, args, delta, dcols, dprev)


@njit(cache=True, fastmath=FASTMATH)
def dense_backward(theta, spec_l, act, masks, mrow, delta, dprev, nabla, need_dx):
    """Add one sample's dC/dw = x delta^T and dC/db = delta of a dense layer; dC/dx into ``dprev``.

    ``x`` is the layer's input after the dropout mask; dC/dx_k = mask_k sum_j w_kj delta_j.
    """
    n_in, n_out = spec_l[N_IN], spec_l[N_OUT]
    in0, w0, b0, m0 = spec_l[IN_OFF], spec_l[W_OFF], spec_l[B_OFF], spec_l[MASK_OFF]
    zero = zero_like(theta[0])
    d = delta[:n_out]
    for j in range(n_out):
        nabla[b0 + j] += d[j]
    for k in range(n_in):
        dropped = m0 >= 0 and masks[mrow, m0 + k] == 0
        if dropped:
            if need_dx:
                dprev[k] = zero
            continue
        xk = act[in0 + k]
        grow = nabla[w0 + k * n_out:w0 + (k + 1) * n_out]
        if xk != zero:
            for j in range(n_out):
                grow[j] += xk * d[j]
        if need_dx:
            wrow = theta[w0 + k * n_out:w0 + (k + 1) * n_out]
            s = zero
            for j in range(n_out):
                s += wrow[j] * d[j]
            dprev[k] = s


@njit(cache=True)
def backward_sample(theta, spec, act, args, masks, mrow, label, delta, dprev, nabla, cols, dcols):
    """Add one sample's gradient of -log a_label to ``nabla`` (its forward pass is in ``act``)."""
    last = spec.shape[0] - 1
    out0 = spec[last, OUT_OFF]
    one = one_like(theta[0])
    # softmax with the log-likelihood cost: dC/dz_j = a_j - [j == label]
    for j in range(spec[last, N_OUT]):
        delta[j] = act[out0 + j]
    delta[label] -= one
    for l in range(last, -1, -1):
        need_dx = l > 0
        if spec[l, KIND] == CONV:
            conv_pool_backward(theta, spec[l], act, args, delta, dprev, nabla, cols, dcols, need_dx)
        else:
            dense_backward(theta, spec[l], act, masks, mrow, delta, dprev, nabla, need_dx)
        if not need_dx:
            break
        # delta of layer l-1: dC/da times f'(z) written with a (the layer's input is its output)
        code = spec[l - 1, ACT]
        in0 = spec[l, IN_OFF]
        for k in range(spec[l, N_IN]):
            delta[k] = dprev[k] * derivative_from_output(code, act[in0 + k])


# --------------------------------------------------------------------------- training
@njit(cache=True)
def _scratch(theta, spec):
    act_len, arg_len, cols_len, dcols_len, widest = buffer_sizes(spec)
    act = np.empty(act_len, dtype=theta.dtype)
    args = np.zeros(max(arg_len, 1), dtype=np.int64)
    cols = np.empty(cols_len, dtype=theta.dtype)
    dcols = np.empty(dcols_len, dtype=theta.dtype)
    zc = np.empty(widest, dtype=theta.dtype)
    xd = np.empty(widest, dtype=theta.dtype)
    z = np.empty(widest, dtype=theta.dtype)
    delta = np.empty(widest, dtype=theta.dtype)
    dprev = np.empty(widest, dtype=theta.dtype)
    return act, args, cols, dcols, zc, xd, z, delta, dprev


@njit(cache=True)
def record_metrics(spec, act, label, metrics):
    """If ``metrics`` (float64) has 2 entries, add this sample's cost -log a_label (in
    float64) and whether it was classified correctly (its training-path output in ``act``)."""
    if metrics.shape[0] != 2:
        return
    last = spec.shape[0] - 1
    out0 = spec[last, OUT_OFF]
    best = 0
    for j in range(spec[last, N_OUT]):
        if act[out0 + j] > act[out0 + best]:
            best = j
    # summed in float64, as the reference computes it: the output converted first, so that
    # no float32 value is promoted silently (float32 networks)
    metrics[0] += -math.log(np.float64(act[out0 + label]))
    metrics[1] += 1.0 if best == label else 0.0


@njit(cache=True)
def accumulate_gradient(theta, spec, keep, X, y, rows, masks, first, nabla, metrics):
    """Add the gradients of -log a_y of the samples ``X[rows]`` to ``nabla`` (no step).

    ``masks[first + s]`` is the dropout mask row of ``rows[s]`` (1 keeps an
    input, 0 drops it; not read by layers without dropout).  ``metrics``: see
    :func:`record_metrics`.  The plain version: one sample at a time through
    every layer (:func:`forward_sample`, :func:`backward_sample`);
    :func:`batch_gradient` computes the same numbers, bit for bit, faster.
    """
    act, args, cols, dcols, zc, xd, z, delta, dprev = _scratch(theta, spec)
    for s in range(rows.shape[0]):
        i = rows[s]
        forward_sample(theta, spec, keep, X[i], act, args, masks, first + s, True, cols, zc, xd, z)
        record_metrics(spec, act, y[i], metrics)
        backward_sample(theta, spec, act, args, masks, first + s, y[i], delta, dprev, nabla, cols, dcols)


# --------------------------------------------------------------------------- whole mini-batches
# The fully connected layers' weights (1.6 million in the chapter's dropout network, more than
# any cache) are read once per mini-batch instead of once per sample: their forward and backward
# passes run over all the mini-batch's samples for each weight row.  Every gradient element still
# receives the samples' terms in sample order, so the results equal the per-sample kernels' bit
# for bit.  The network's layers are conv-pool layers first, then dense ones (the API checks it).

@njit(cache=True)
def batch_buffers(theta, spec, m, threads):
    """Buffers of ``m`` samples' passes: one row per sample (``dcols``: one per thread)."""
    act_len, arg_len, cols_len, dcols_len, widest = buffer_sizes(spec)
    act = np.empty((m, act_len), dtype=theta.dtype)
    args = np.zeros((m, max(arg_len, 1)), dtype=np.int64)
    cols = np.empty((m, cols_len), dtype=theta.dtype)
    zc = np.empty((m, widest), dtype=theta.dtype)
    xd = np.empty((m, widest), dtype=theta.dtype)
    z = np.empty((m, widest), dtype=theta.dtype)
    delta = np.empty((m, widest), dtype=theta.dtype)
    dprev = np.empty((m, widest), dtype=theta.dtype)
    dcols = np.empty((max(threads, 1), dcols_len), dtype=theta.dtype)
    return act, args, cols, zc, xd, z, delta, dprev, dcols


@njit(cache=True)
def forward_convs(theta, spec, x, act, args, cols, zc):
    """One sample's input copied into ``act``, then its passes through the leading conv layers."""
    for k in range(x.shape[0]):
        act[k] = x[k]
    for l in range(spec.shape[0]):
        if spec[l, KIND] != CONV:
            break
        conv_pool_forward(theta, spec[l], act, cols, zc, args)


@njit(cache=True, fastmath=FASTMATH)
def dense_forward_batch(theta, spec_l, act, n, masks, first, train, scale, xd, z):
    """:func:`dense_forward` for the ``n`` samples of the rows of ``act``, each weight row once.

    z_sj = scale * sum_k x_sk w_kj + b_j: for each row ``w[k, :]``, every sample's
    running sums are updated (row updates over the contiguous ``j``).
    """
    n_in, n_out = spec_l[N_IN], spec_l[N_OUT]
    in0, out0, w0, b0, m0 = spec_l[IN_OFF], spec_l[OUT_OFF], spec_l[W_OFF], spec_l[B_OFF], spec_l[MASK_OFF]
    zero = zero_like(theta[0])
    for s in range(n):
        for k in range(n_in):
            xd[s, k] = act[s, in0 + k]
            if train and m0 >= 0 and masks[first + s, m0 + k] == 0:
                xd[s, k] = zero
        for j in range(n_out):
            z[s, j] = zero
    for k in range(n_in):
        row = theta[w0 + k * n_out:w0 + (k + 1) * n_out]
        for s in range(n):
            xk = xd[s, k]
            if xk != zero:
                zs = z[s, :n_out]
                for j in range(n_out):
                    zs[j] += xk * row[j]
    code = spec_l[ACT]
    for s in range(n):
        for j in range(n_out):
            z[s, j] = scale * z[s, j] + theta[b0 + j]
        if spec_l[KIND] == SOFTMAX:
            top = z[s, 0]
            for j in range(n_out):
                top = max(top, z[s, j])
            total = zero
            for j in range(n_out):
                e = math.exp(z[s, j] - top)
                act[s, out0 + j] = e
                total += e
            for j in range(n_out):
                act[s, out0 + j] = act[s, out0 + j] / total
        else:
            for j in range(n_out):
                act[s, out0 + j] = activate(code, z[s, j])


@njit(cache=True, fastmath=FASTMATH)
def dense_backward_batch(theta, spec_l, act, n, masks, first, delta, dprev, nabla, need_dx):
    """:func:`dense_backward` for ``n`` samples: each row ``w[k, :]`` and its gradient row
    are visited once, and every sample's terms added to them in sample order."""
    n_in, n_out = spec_l[N_IN], spec_l[N_OUT]
    in0, w0, b0, m0 = spec_l[IN_OFF], spec_l[W_OFF], spec_l[B_OFF], spec_l[MASK_OFF]
    zero = zero_like(theta[0])
    for s in range(n):
        for j in range(n_out):
            nabla[b0 + j] += delta[s, j]
    for k in range(n_in):
        grow = nabla[w0 + k * n_out:w0 + (k + 1) * n_out]
        wrow = theta[w0 + k * n_out:w0 + (k + 1) * n_out]
        for s in range(n):
            d = delta[s, :n_out]
            if m0 >= 0 and masks[first + s, m0 + k] == 0:
                if need_dx:
                    dprev[s, k] = zero
                continue
            xk = act[s, in0 + k]
            if xk != zero:
                for j in range(n_out):
                    grow[j] += xk * d[j]
            if need_dx:
                acc = zero
                for j in range(n_out):
                    acc += wrow[j] * d[j]
                dprev[s, k] = acc


@njit(cache=True)
def batch_forward_dense(theta, spec, keep, act, n, masks, first, train, xd, z):
    """The dense layers' passes of ``n`` samples whose conv layers are done (:func:`forward_convs`)."""
    one = one_like(theta[0])
    for l in range(spec.shape[0]):
        if spec[l, KIND] != CONV:
            dense_forward_batch(theta, spec[l], act, n, masks, first, train, one if train else keep[l], xd, z)


@njit(cache=True, parallel=True)
def conv_backward_block(theta, spec, l, act, args, n, delta, dprev, nabla, cols, dcols):
    """Conv-pool layer ``l``'s backward pass for ``n`` samples (deltas in ``delta``).

    Adds dC/dw and dC/db to ``nabla`` with the filters split between threads,
    each filter receiving the samples' terms in sample order (the same sums as
    :func:`conv_pool_backward` sample after sample, whatever the thread
    count); then, unless ``l`` is the first layer, each sample's dC/dx
    (samples split between threads, each with its own ``dcols`` row, which starts with
    the layer's filters in :func:`permute_filters`' order) times
    f' of the layer below, written into ``delta``.
    """
    spec_l = spec[l]
    nf = spec_l[F]
    parts = dcols.shape[0]
    if spec_l[C] * spec_l[FH] * spec_l[FW] < DIRECT_MAX_Q:  # the forward pass convolved directly
        for s in prange(n):
            im2col(act[s], spec_l[IN_OFF], spec_l, cols[s])
    for t in prange(parts):
        for s in range(n):
            for f in range(t * nf // parts, (t + 1) * nf // parts):
                filter_gradient(theta, spec_l, f, args[s], delta[s], cols[s], nabla)
    if l == 0:
        return
    code = spec[l - 1, ACT]
    in0 = spec_l[IN_OFF]
    for t in prange(parts):
        permute_filters(theta, spec_l, dcols[t])
        for s in range(t * n // parts, (t + 1) * n // parts):
            input_gradient(theta, spec_l, args[s], delta[s], dcols[t], dprev[s])
            for k in range(spec_l[N_IN]):
                delta[s, k] = dprev[s, k] * derivative_from_output(code, act[s, in0 + k])


@njit(cache=True)
def batch_backward(theta, spec, act, args, n, masks, first, y, rows, delta, dprev, nabla, cols, dcols):
    """Add the gradients of -log a_y of ``n`` samples (forward passes in ``act``) to ``nabla``.

    Dense layers for all samples at once, each weight row once
    (:func:`dense_backward_batch`); conv layers by :func:`conv_backward_block`.
    """
    last = spec.shape[0] - 1
    out0 = spec[last, OUT_OFF]
    one = one_like(theta[0])
    for s in range(n):
        for j in range(spec[last, N_OUT]):
            delta[s, j] = act[s, out0 + j]  # softmax + log-likelihood: a_j - [j == y]
        delta[s, y[rows[s]]] -= one
    for l in range(last, -1, -1):
        if spec[l, KIND] == CONV:
            conv_backward_block(theta, spec, l, act, args, n, delta, dprev, nabla, cols, dcols)
            continue
        dense_backward_batch(theta, spec[l], act, n, masks, first, delta, dprev, nabla, l > 0)
        if l == 0:
            break
        code = spec[l - 1, ACT]
        in0 = spec[l, IN_OFF]
        for s in range(n):
            for k in range(spec[l, N_IN]):
                delta[s, k] = dprev[s, k] * derivative_from_output(code, act[s, in0 + k])


@njit(cache=True, parallel=True)
def batch_gradient(theta, spec, keep, X, y, rows, masks, first, nabla, metrics, bufs):
    """:func:`accumulate_gradient` (same numbers, bit for bit) for a block of samples.

    The samples' conv forward passes run in parallel (each is the same code on
    the same numbers whichever thread runs it), the dense layers for all the
    samples at once, the conv backward passes by :func:`conv_backward_block`.
    ``bufs``: :func:`batch_buffers` for at least ``len(rows)`` samples.
    """
    act, args, cols, zc, xd, z, delta, dprev, dcols = bufs
    n = rows.shape[0]
    for s in prange(n):
        forward_convs(theta, spec, X[rows[s]], act[s], args[s], cols[s], zc[s])
    batch_forward_dense(theta, spec, keep, act, n, masks, first, True, xd, z)
    for s in range(n):
        record_metrics(spec, act[s], y[rows[s]], metrics)
    batch_backward(theta, spec, act, args, n, masks, first, y, rows, delta, dprev, nabla, cols, dcols)


@njit(cache=True)
def apply_step(theta, nabla, spec, rate, decay_rate):
    """param -> param - eta * grad, then clear ``nabla``.

    grad = nabla / m (+ lmbda * w / num_training_batches for weights):
    w -> w - decay_rate * w - rate * nabla_w with rate = eta / m and
    decay_rate = eta * lmbda / num_training_batches; b -> b - rate * nabla_b.
    """
    for l in range(spec.shape[0]):
        w0 = spec[l, W_OFF]
        b0 = spec[l, B_OFF]
        for i in range(w0, b0):
            theta[i] = theta[i] - (decay_rate * theta[i] + rate * nabla[i])
            nabla[i] = 0
        stop = spec[l + 1, W_OFF] if l + 1 < spec.shape[0] else theta.shape[0]
        for i in range(b0, stop):
            theta[i] = theta[i] - rate * nabla[i]
            nabla[i] = 0


TRAIN_BLOCK = 10
"""Samples of a mini-batch passed through the layers together (a larger mini-batch is done in
blocks of this many, in order, which gives the same sums): the dense layers' weights are read
once per block, and the block's gathered conv inputs (~370 kB per sample for the chapter's net)
stay in the caches.  With 100 samples at once an epoch was 1.5x slower."""


@njit(cache=True)
def sgd_chunk(theta, spec, keep, X, y, rows, masks, mini_batch_size, eta, decay_rate, metrics, threads):
    """Train the whole mini-batches of ``rows`` (len a multiple of ``mini_batch_size``) in one call.

    Mini-batch ``k`` is ``rows[k*m:(k+1)*m]``; ``masks[s]`` goes with ``rows[s]``.
    ``eta`` and ``decay_rate`` (= eta * lmbda / num_training_batches) are in
    theta's dtype.  ``metrics``: see :func:`record_metrics`.  ``threads``: how many
    parts the parallel loops split the work into (numba's thread count,
    ``numba.get_num_threads()``); the results are the same for any count.
    """
    nabla = np.zeros_like(theta)
    m = mini_batch_size
    bufs = batch_buffers(theta, spec, min(m, TRAIN_BLOCK), threads)
    rate = eta / theta.dtype.type(m)
    for start in range(0, rows.shape[0] - m + 1, m):
        for b in range(start, start + m, TRAIN_BLOCK):
            stop = min(b + TRAIN_BLOCK, start + m)
            batch_gradient(theta, spec, keep, X, y, rows[b:stop], masks, b, nabla, metrics, bufs)
        apply_step(theta, nabla, spec, rate, decay_rate)



INFER_BLOCK = 10
"""Rows per block of inference: the dense layers' weights are read once per block (as
``TRAIN_BLOCK``)."""


@njit(cache=True)
def predict_block(theta, spec, keep, X, start, stop, out, bufs):
    """Inference of rows ``start:stop`` (at most the buffers' rows) into ``out``."""
    act, args, cols, zc, xd, z, delta, dprev, dcols = bufs
    last = spec.shape[0] - 1
    out0 = spec[last, OUT_OFF]
    no_masks = np.zeros((1, 1), dtype=np.uint8)
    n = stop - start
    for s in range(n):
        forward_convs(theta, spec, X[start + s], act[s], args[s], cols[s], zc[s])
    batch_forward_dense(theta, spec, keep, act, n, no_masks, 0, False, xd, z)
    for s in range(n):
        for j in range(out.shape[1]):
            out[start + s, j] = act[s, out0 + j]


@njit(cache=True, parallel=True)
def predict_proba(theta, spec, keep, X, out, threads):
    """Inference: the softmax outputs of every row of ``X`` into ``out`` (n, n_classes).

    The rows are split into ``threads`` contiguous ranges (numba's thread
    count, ``numba.get_num_threads()``), each done in
    blocks of ``INFER_BLOCK``; a row's outputs do not depend on the rows it
    is computed with, so the results are the same for any thread count.
    """
    n = X.shape[0]
    parts = max(threads, 1)
    for t in prange(parts):
        bufs = batch_buffers(theta, spec, INFER_BLOCK, 1)
        stop = (t + 1) * n // parts
        for start in range(t * n // parts, stop, INFER_BLOCK):
            predict_block(theta, spec, keep, X, start, min(start + INFER_BLOCK, stop), out, bufs)
