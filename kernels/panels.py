"""A layer's weights as panels of ``W^T``, multiplied by GEMM-style register tiles (issue 28).

The blocks of :mod:`fastnn.kernels.tiled` take dot products along the input index ``k``: each
multiply-add needs a load of ``W`` or of an input.  For mini-batches of :data:`MIN_BATCH` samples
and more, the first layer runs instead as a GEMM micro-kernel would:

* **Panels.**  ``W`` (``n_out x n_in``) is copied once per epoch call into panels of ``width``
  output rows stored input by input: ``panels[(q * n_in + k) * width + v] = w_jk`` with
  ``j = q * width + v``; the rows past ``n_out`` of the last panel are zeros.  ``width`` is 8 in
  float64 and 16 in float32 (two AVX2 vectors).  :func:`unpack` copies them back at the end.
* **Forward (eq. 23 without the bias):** a tile of ``SAMPLES`` samples x ``width`` rows; each step
  of ``k`` loads one row of the panel and broadcasts the 6 samples' inputs ``a_sk`` into 6 x
  ``width`` running sums (:func:`forward_panel`).
* **Step (BP4, eq. 20 with eq. 93's decay):** a tile of ``SAMPLES`` inputs x ``width`` rows of the
  panel; each step of the previous mini-batch's samples loads ``-(eta/m) delta_sj`` for the panel's
  rows and broadcasts the sample's 6 inputs (:func:`step_panel`).

The tiles themselves are in :mod:`fastnn.kernels._tiles` (generated).  They become vector code
only with LLVM's SLP vectorizer, which numba leaves off by default: :func:`compile_tiles` turns it
on while the tiles, and nothing else, compile.  Every weighted input and every new weight is one
chain of multiply-adds in a fixed order, so the panel a value belongs to, and the thread that
computes it, do not change its bits.
"""
import os

import numpy as np
from numba import config, njit, types

from . import _tiles
from ._tiles import SAMPLES, TILE_FASTMATH
from .activations import zero_like

MIN_BATCH = 32
"""Mini-batch size from which training runs the first layer through panels: below it the tiles'
last group of :data:`SAMPLES` samples is mostly padding and the blocks of
:mod:`fastnn.kernels.tiled` are as fast (measured: docs/performance.md)."""

K_BLOCK = 256
"""Inputs per block of the forward pass: a tile's 6 samples' inputs of a block (12 KB in float64)
stay in the L1 cache while the block's rows of every panel (16 KB each) come from L2."""

NO_TILE = ()
"""The ``tile`` argument that switches the panels off."""


def width_for(dtype):
    """Output rows per panel for ``dtype``: two AVX2 vectors, 8 float64 or 16 float32."""
    return 16 if np.dtype(dtype) == np.float32 else 8


def panel_tile(dtype):
    """The ``tile`` argument of the kernels for ``dtype``: a tuple of :func:`width_for` zeros.

    Its length is part of its type, so numba compiles the panel path as a specialisation of its
    own (as :func:`fastnn.kernels.tiled.row_block` does for the register block) and removes it
    from the kernels given :data:`NO_TILE`.
    """
    return (0,) * width_for(dtype)


def panel_count(n_out, tile):
    """Panels of ``len(tile)`` rows that hold ``n_out`` rows."""
    return (n_out + len(tile) - 1) // len(tile)


# --------------------------------------------------------------------------- layout
@njit(cache=True)
def pack(theta, w_start, n_out, n_in, panels, tile):
    """Copy ``W`` (``theta[w_start:]``, row-major ``n_out x n_in``) into ``panels``; padding rows 0."""
    width = len(tile)
    zero = zero_like(theta[0])
    for q in range((n_out + width - 1) // width):
        for k in range(n_in):
            at = (q * n_in + k) * width
            for v in range(width):
                j = q * width + v
                panels[at + v] = theta[w_start + j * n_in + k] if j < n_out else zero


@njit(cache=True)
def unpack(panels, theta, w_start, n_out, n_in, tile):
    """Copy the panels' rows back into ``W`` (the inverse of :func:`pack`)."""
    width = len(tile)
    for j in range(n_out):
        q, v = j // width, j % width
        for k in range(n_in):
            theta[w_start + j * n_in + k] = panels[(q * n_in + k) * width + v]


# --------------------------------------------------------------------------- products
@njit(cache=True)
def _forward_tile(tile, x0, x1, x2, x3, x4, x5, panel, n_in, o0, o1, o2, o3, o4, o5):
    # the tile of this width; numba prunes the other branch (len(tile) is a constant of the type)
    if len(tile) == 8:
        _tiles.forward_tile_8(x0, x1, x2, x3, x4, x5, panel, n_in, o0, o1, o2, o3, o4, o5)
    else:
        _tiles.forward_tile_16(x0, x1, x2, x3, x4, x5, panel, n_in, o0, o1, o2, o3, o4, o5)


@njit(cache=True)
def _step_tile(tile, src, src_stride, rows, n, col, scaled, panel_rows, decay):
    if len(tile) == 8:
        _tiles.step_tile_8(src, src_stride, rows, n, col, scaled, panel_rows, decay)
    else:
        _tiles.step_tile_16(src, src_stride, rows, n, col, scaled, panel_rows, decay)


@njit(cache=True)
def forward_panels(tile, panels, q_lo, q_hi, n_in, src, src_stride, rows, src_col, m, z, z_stride):
    """z[s * z_stride + q * width + v] = sum_k w_jk a_sk (eq. 23 without the bias) for the rows of
    panels q_lo..q_hi-1 and the ``m`` samples whose inputs are ``src[rows[s] * src_stride + src_col:]``.

    Blocks of :data:`K_BLOCK` inputs outer, then tiles of :data:`SAMPLES` samples, then panels: a
    tile's inputs stay in the L1 cache while the panels' blocks pass, and those blocks in L2.  Each
    sum still runs over k in order (a block starts from the sums the previous one stored).  The last
    tile repeats the last sample into rows of ``z`` past ``m``, which must exist (``z`` holds ``m``
    rounded up to a multiple of ``SAMPLES`` rows).
    """
    width = len(tile)
    zero = zero_like(z[0])
    for s in range(m + (-m) % SAMPLES):
        for v in range(q_lo * width, q_hi * width):
            z[s * z_stride + v] = zero
    last = m - 1
    for k0 in range(0, n_in, K_BLOCK):
        kn = min(K_BLOCK, n_in - k0)
        for s0 in range(0, m, SAMPLES):
            x0 = _input(src, src_stride, rows, src_col + k0, min(s0, last), kn)
            x1 = _input(src, src_stride, rows, src_col + k0, min(s0 + 1, last), kn)
            x2 = _input(src, src_stride, rows, src_col + k0, min(s0 + 2, last), kn)
            x3 = _input(src, src_stride, rows, src_col + k0, min(s0 + 3, last), kn)
            x4 = _input(src, src_stride, rows, src_col + k0, min(s0 + 4, last), kn)
            x5 = _input(src, src_stride, rows, src_col + k0, min(s0 + 5, last), kn)
            for q in range(q_lo, q_hi):
                at = (q * n_in + k0) * width
                _forward_tile(tile, x0, x1, x2, x3, x4, x5, panels[at:at + kn * width], kn,
                              _output(z, z_stride, q, s0, width), _output(z, z_stride, q, s0 + 1, width),
                              _output(z, z_stride, q, s0 + 2, width), _output(z, z_stride, q, s0 + 3, width),
                              _output(z, z_stride, q, s0 + 4, width), _output(z, z_stride, q, s0 + 5, width))


@njit(cache=True, inline="always")
def _input(src, src_stride, rows, src_col, s, n_in):
    """Sample ``s``'s ``n_in`` inputs, a 1-D view."""
    at = rows[s] * src_stride + src_col
    return src[at:at + n_in]


@njit(cache=True, inline="always")
def _output(z, z_stride, q, s, width):
    """Sample ``s``'s weighted inputs of panel ``q``, a 1-D view."""
    at = s * z_stride + q * width
    return z[at:at + width]


@njit(fastmath=TILE_FASTMATH, cache=True)
def step_panels(tile, panels, q_lo, q_hi, n_in, n_out, src, src_stride, rows, src_col, m, delta, delta_stride,
                delta_col, step, decay, scaled):
    """w_jk -> decay * w_jk - step * sum_s delta_sj a_sk (BP4, eq. 20, eq. 93) for the rows of panels
    q_lo..q_hi-1 and the previous mini-batch's ``m`` samples (inputs read as in
    :func:`forward_panels`, delta_sj at ``delta[s * delta_stride + delta_col + j]``).

    ``scaled`` receives -step * delta_sj (0 for padding rows), ``m * width`` values per panel from
    ``q * m * width``.  Tiles of :data:`SAMPLES` inputs, each block of inputs going through all the
    panels before the next (the samples' inputs are read from memory once per block, not once per
    panel), then the last ``n_in % SAMPLES`` inputs one by one.  Each weight's terms are summed
    over s in order, from zero, and added to ``decay * w_jk`` once, as the book adds the summed
    gradient (adding them one by one to the weight rounds each at the weight's scale: after two
    epochs of 50,000 Fashion-MNIST images at mini-batch 100 in float32, [784,100,10]'s parameters
    were 3.5e-2 from the reference's that way, 1.0e-3 summed first, 4.7e-3 by the blocks).
    """
    width = len(tile)
    zero = zero_like(step)
    for q in range(q_lo, q_hi):
        for s in range(m):
            for v in range(width):
                j = q * width + v
                scaled[(q * m + s) * width + v] = -step * delta[s * delta_stride + delta_col + j] \
                    if j < n_out else zero
    whole = n_in - n_in % SAMPLES
    for k0 in range(0, whole, SAMPLES):
        for q in range(q_lo, q_hi):
            at = (q * n_in + k0) * width
            _step_tile(tile, src, src_stride, rows, m, src_col + k0, scaled[q * m * width:(q + 1) * m * width],
                       panels[at:at + SAMPLES * width], decay)
    g = np.empty(width, dtype=scaled.dtype)  # the summed terms of one input's weights
    for q in range(q_lo, q_hi):
        for k in range(whole, n_in):
            g[:] = zero
            for s in range(m):
                a = src[rows[s] * src_stride + src_col + k]
                for v in range(width):
                    g[v] += a * scaled[(q * m + s) * width + v]
            w = panels[(q * n_in + k) * width:(q * n_in + k + 1) * width]
            for v in range(width):
                w[v] = decay * w[v] + g[v]


# --------------------------------------------------------------------------- compilation
_COMPILED = set()


def _tile_signatures(dtype):
    """The argument types the drivers above pass to the tiles of ``dtype``."""
    f = types.float32 if np.dtype(dtype) == np.float32 else types.float64
    vec = f[::1]
    forward = (vec,) * 6 + (vec, types.int64) + (vec,) * 6
    step = (vec, types.int64, types.int64[::1], types.int64, types.int64, vec, vec, f)
    return forward, step


def compile_tiles(dtype):
    """Compile the tiles of ``dtype`` with LLVM's SLP vectorizer on, once per process.

    Call before any kernel that calls them compiles: numba then reuses these compilations (the
    drivers pass exactly :func:`_tile_signatures`) instead of compiling the tiles again with the
    vectorizer off (scalar code, 10x slower).  numba reads the setting at each compilation, and
    switched it off by default after miscompilations were reported (numba pull request 8852), so
    it is on here for the tiles only, whose results the tests check like every kernel's.  A tile
    loaded from numba's disk cache is the code compiled here.  Does nothing without the JIT.
    """
    width = width_for(dtype)
    if width in _COMPILED or config.DISABLE_JIT:
        return
    forward_sig, step_sig = _tile_signatures(dtype)
    forward = _tiles.forward_tile_8 if width == 8 else _tiles.forward_tile_16
    step = _tiles.step_tile_8 if width == 8 else _tiles.step_tile_16
    before = os.environ.get("NUMBA_SLP_VECTORIZE")
    os.environ["NUMBA_SLP_VECTORIZE"] = "1"
    try:
        forward.compile(forward_sig)
        step.compile(step_sig)
    finally:
        if before is None:
            del os.environ["NUMBA_SLP_VECTORIZE"]
        else:
            os.environ["NUMBA_SLP_VECTORIZE"] = before
        config.reload_config()
    _COMPILED.add(width)
