"""One flat parameter buffer for a network of any depth, and its per-layer views.

Layer ``l`` stores ``W^l`` (``sizes[l+1] x sizes[l]``, row-major) followed by
``b^l`` (``sizes[l+1]``).  The kernels index the flat buffer through the
``w_off``/``b_off`` offsets; the Python API hands out reshaped views, so the
book's ``net.weights[l]`` and ``net.biases[l]`` *are* the kernels' memory.
"""
import numpy as np


def layout(sizes):
    """Offsets of every layer's weights and biases in the flat buffer.

    Returns
    -------
    sizes : ndarray of int64
    w_off, b_off : ndarray of int64, one entry per layer of weights
    n_params : int
    """
    sizes = np.asarray(sizes, dtype=np.int64)
    n_layers = len(sizes) - 1
    w_off = np.empty(n_layers, dtype=np.int64)
    b_off = np.empty(n_layers, dtype=np.int64)
    pos = 0
    for l in range(n_layers):
        n_in, n_out = int(sizes[l]), int(sizes[l + 1])
        w_off[l] = pos
        pos += n_out * n_in
        b_off[l] = pos
        pos += n_out
    return sizes, w_off, b_off, pos


def weight_views(theta, sizes, w_off):
    """``W^l`` as ``(out, in)`` views into ``theta``."""
    return [theta[w_off[l]:w_off[l] + sizes[l + 1] * sizes[l]].reshape(sizes[l + 1], sizes[l])
            for l in range(len(w_off))]


def bias_views(theta, sizes, b_off):
    """``b^l`` as ``(out, 1)`` column views into ``theta`` (the book's shape)."""
    return [theta[b_off[l]:b_off[l] + sizes[l + 1]].reshape(sizes[l + 1], 1)
            for l in range(len(b_off))]


def split(flat, sizes, w_off, b_off):
    """Book-style ``(nabla_b, nabla_w)`` lists of views into a flat gradient."""
    return bias_views(flat, sizes, b_off), weight_views(flat, sizes, w_off)
