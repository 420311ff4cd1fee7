"""The parts of the chapter-6 kernels that :mod:`fastnn.kernels.conv` builds on: the layer
table's codes and columns, the activations, the buffer sizes, and the convolution itself
(gathering each output's inputs, the dot products, and the direct form for small layers).
The equations they implement are in :mod:`fastnn.kernels.conv`'s docstring."""
import math

import numpy as np
from numba import njit

from .activations import one_like, sigmoid, zero_like

FASTMATH = {"reassoc", "contract", "arcp", "nsz"}
"""LLVM flags: vectorised sums and FMA, NaN/inf semantics kept."""

# layer kinds and activations (codes in the layer table)
CONV, FC, SOFTMAX = 0, 1, 2
SIGMOID, TANH, RELU, LINEAR = 0, 1, 2, 3

# fields of a row of the layer table
KIND, ACT, C, H, W, F, FH, FW, PH, PW, OH, OW, PHN, PWN, N_IN, N_OUT, W_OFF, B_OFF, IN_OFF, OUT_OFF, \
    MASK_OFF, ARG_OFF, COLS_OFF = range(23)
NSPEC = 23
"""Columns of the layer table.  ``OH, OW``: conv output size; ``PHN, PWN``: pooled size;
``N_IN, N_OUT``: values per sample in and out; ``IN_OFF, OUT_OFF``: where they sit in a
sample's activation buffer; ``MASK_OFF``: the layer's columns in the mask rows (-1: no
dropout); ``ARG_OFF``: the conv layer's argmax records in a sample's argmax buffer;
``COLS_OFF``: its gathered inputs in a sample's ``cols`` buffer (kept from the forward pass
for the backward pass)."""


# --------------------------------------------------------------------------- activations
@njit(cache=True)
def activate(code, z):
    """f(z) for activation ``code`` (sigmoid is the overflow-free one of chapter 1)."""
    if code == SIGMOID:
        return sigmoid(z)
    if code == TANH:
        return math.tanh(z)
    if code == RELU:
        return z if z > zero_like(z) else zero_like(z)
    return z


@njit(cache=True)
def derivative_from_output(code, a):
    """f'(z) from a = f(z): sigmoid a(1-a), tanh 1-a^2, ReLU 1 if a > 0 else 0, linear 1."""
    one = one_like(a)
    if code == SIGMOID:
        return a * (one - a)
    if code == TANH:
        return one - a * a
    if code == RELU:
        return one if a > zero_like(a) else zero_like(a)
    return one


# --------------------------------------------------------------------------- sizes of buffers
@njit(cache=True)
def buffer_sizes(spec):
    """Lengths of the per-sample buffers: activations, argmax records, cols (all conv layers),
    dcols (the input gradient's scratch of the largest conv layer: permuted filters, one row of
    dcols and a channel-last dx), the widest vector."""
    last = spec.shape[0] - 1
    act_len = spec[last, OUT_OFF] + spec[last, N_OUT]
    arg_len = 0
    cols_len = 1
    dcols_len = 1
    widest = 1
    for l in range(spec.shape[0]):
        widest = max(widest, spec[l, N_IN], spec[l, N_OUT])
        if spec[l, KIND] == CONV:
            arg_len = max(arg_len, spec[l, ARG_OFF] + spec[l, N_OUT])
            q_len = spec[l, C] * spec[l, FH] * spec[l, FW]
            size = spec[l, OH] * spec[l, OW] * q_len
            cols_len = max(cols_len, spec[l, COLS_OFF] + size)
            dcols_len = max(dcols_len, (spec[l, F] + 1) * q_len + spec[l, N_IN])
            widest = max(widest, spec[l, F] * spec[l, OH] * spec[l, OW],
                         (spec[l, OH] - 1) * spec[l, W] + spec[l, OW])  # conv_direct's span
    return act_len, arg_len, cols_len, dcols_len, widest


# --------------------------------------------------------------------------- convolution
LITERAL_FW = 5
"""Filter width compiled as a constant into :func:`im2col` and :func:`col2im_add` (the book's
5x5 filters): their innermost loops then unroll, 3x faster than with the width read from
the layer table.  Other widths take the same code with the width as a variable."""


@njit(cache=True)
def im2col(src, x0, spec_l, cols):
    """Gather the inputs of every output position, flipped: cols[p, q] = x[c, i+fh-1-k, j+fw-1-l].

    ``src[x0:]`` holds the layer's input (C, H, W) row-major; p = i*OW + j,
    q = (c*fh + k)*fw + l; ``cols`` starts at the layer's ``COLS_OFF``.  Loops
    run over one input row at a time (a 1-D slice), the order that was fastest.
    """
    if spec_l[FW] == LITERAL_FW:
        _gather(src, x0, spec_l, cols, LITERAL_FW)
    else:
        _gather(src, x0, spec_l, cols, spec_l[FW])


@njit(inline="always")
def _gather(src, x0, spec_l, cols, fw):
    """:func:`im2col` with the filter width ``fw`` given (a constant at the call above)."""
    nc, nh, nw = spec_l[C], spec_l[H], spec_l[W]
    fh, oh, ow = spec_l[FH], spec_l[OH], spec_l[OW]
    q_len = nc * fh * fw
    c0 = spec_l[COLS_OFF]
    for c in range(nc):
        for k in range(fh):
            q0 = (c * fh + k) * fw
            for i in range(oh):
                r0 = x0 + (c * nh + i + fh - 1 - k) * nw
                srow = src[r0:r0 + nw]
                for j in range(ow):
                    d0 = c0 + (i * ow + j) * q_len + q0
                    d = cols[d0:d0 + fw]
                    for l in range(fw):
                        d[l] = srow[j + fw - 1 - l]


@njit(cache=True)
def permute_filters(theta, spec_l, wperm):
    """The layer's filters in the order of a channel-last input, flip undone:
    ``wperm[f, k, l, c] = w[f, c, fh-1-k, fw-1-l]`` (``wperm`` flat, ``F*C*fh*fw`` values).

    With it, the input gradient of output position (i, j) touches, for each filter row k,
    ``fw*C`` consecutive values ``dx[i+k, j:j+fw, :]`` of a channel-last ``dx`` (see
    :func:`fastnn.kernels.conv.input_gradient`) instead of ``C`` runs of ``fw``.
    """
    nf, nc, fh, fw = spec_l[F], spec_l[C], spec_l[FH], spec_l[FW]
    q_len = nc * fh * fw
    w0 = spec_l[W_OFF]
    for f in range(nf):
        for c in range(nc):
            for k in range(fh):
                for l in range(fw):
                    wperm[f * q_len + ((fh - 1 - k) * fw + fw - 1 - l) * nc + c] = \
                        theta[w0 + f * q_len + (c * fh + k) * fw + l]


@njit(cache=True, fastmath=FASTMATH)
def dot_rows(a, a0, m_rows, b, n_rows, k_len, out, ldo):
    """out[m*ldo + n] = sum_k a[a0 + m*k_len + k] * b[n*k_len + k] for m < m_rows, n < n_rows.

    Register block of 2 rows of ``a`` x 4 rows of ``b`` (8 running sums); each
    inner loop runs over the contiguous index ``k`` of 1-D slices, so it vectorises.
    """
    zero = zero_like(a[0])
    m = 0
    while m < m_rows:
        two = m + 1 < m_rows
        r0 = a[a0 + m * k_len:a0 + (m + 1) * k_len]
        r1 = a[a0 + (m + 1) * k_len:a0 + (m + 2) * k_len] if two else r0
        n = 0
        while n + 4 <= n_rows:
            c0 = b[n * k_len:(n + 1) * k_len]
            c1 = b[(n + 1) * k_len:(n + 2) * k_len]
            c2 = b[(n + 2) * k_len:(n + 3) * k_len]
            c3 = b[(n + 3) * k_len:(n + 4) * k_len]
            s00 = zero
            s01 = zero
            s02 = zero
            s03 = zero
            s10 = zero
            s11 = zero
            s12 = zero
            s13 = zero
            for k in range(k_len):
                x0 = r0[k]
                x1 = r1[k]
                s00 += x0 * c0[k]
                s01 += x0 * c1[k]
                s02 += x0 * c2[k]
                s03 += x0 * c3[k]
                s10 += x1 * c0[k]
                s11 += x1 * c1[k]
                s12 += x1 * c2[k]
                s13 += x1 * c3[k]
            out[m * ldo + n] = s00
            out[m * ldo + n + 1] = s01
            out[m * ldo + n + 2] = s02
            out[m * ldo + n + 3] = s03
            if two:
                out[(m + 1) * ldo + n] = s10
                out[(m + 1) * ldo + n + 1] = s11
                out[(m + 1) * ldo + n + 2] = s12
                out[(m + 1) * ldo + n + 3] = s13
            n += 4
        while n < n_rows:
            c0 = b[n * k_len:(n + 1) * k_len]
            s00 = zero
            s10 = zero
            for k in range(k_len):
                s00 += r0[k] * c0[k]
                s10 += r1[k] * c0[k]
            out[m * ldo + n] = s00
            if two:
                out[(m + 1) * ldo + n] = s10
            n += 1
        m += 2


DIRECT_MAX_Q = 64
"""Conv layers with fewer than this many inputs per output (``C*fh*fw``; the first layer's
1x5x5 = 25) compute the convolution directly from the image (:func:`conv_direct`): dot
products that short do not vectorise well."""


@njit(cache=True, fastmath=FASTMATH)
def conv_direct(theta, spec_l, src, f, zf):
    """Filter f's output z[f, i, j] = sum_{c,k,l} w[f, c, k, l] x[c, i+fh-1-k, j+fw-1-l] into ``zf``.

    ``zf`` is written with the input's row stride W (``zf[i*W + j]``; the columns
    j >= OW are computed and ignored), so that each weight is one long update over
    a contiguous run of the image: ``zf[t] += w * x[c, fh-1-k, fw-1-l + t]`` for
    t < (OH-1)*W + OW.  Filters ``LITERAL_FW`` wide update ``zf`` once per filter row
    (the row's five terms summed first), others once per weight.
    """
    nc, nh, nw = spec_l[C], spec_l[H], spec_l[W]
    fh, fw, oh, ow = spec_l[FH], spec_l[FW], spec_l[OH], spec_l[OW]
    x0, w0 = spec_l[IN_OFF], spec_l[W_OFF]
    span = (oh - 1) * nw + ow
    zero = zero_like(theta[0])
    z = zf[:span]
    for t in range(span):
        z[t] = zero
    for c in range(nc):
        for k in range(fh):
            wk = w0 + ((f * nc + c) * fh + k) * fw  # w[f, c, k, :]
            r0 = x0 + (c * nh + fh - 1 - k) * nw  # x[c, fh-1-k, :]
            if fw == LITERAL_FW:
                # a whole filter row per pass over z: one store per five multiply-adds
                a0, a1, a2, a3, a4 = theta[wk], theta[wk + 1], theta[wk + 2], theta[wk + 3], theta[wk + 4]
                x4 = src[r0:r0 + span]  # x[c, fh-1-k, t + fw-1-l] for l = 4 ... 0
                x3 = src[r0 + 1:r0 + 1 + span]
                x2 = src[r0 + 2:r0 + 2 + span]
                x1 = src[r0 + 3:r0 + 3 + span]
                x0_ = src[r0 + 4:r0 + 4 + span]
                for t in range(span):
                    z[t] += (a0 * x0_[t] + a1 * x1[t]) + (a2 * x2[t] + a3 * x3[t]) + a4 * x4[t]
                continue
            for l in range(fw):
                wv = theta[wk + l]
                x = src[r0 + fw - 1 - l:r0 + fw - 1 - l + span]
                for t in range(span):
                    z[t] += wv * x[t]
