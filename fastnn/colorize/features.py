"""The features of a pixel: its lightness patch, coarser, blurred neighbourhoods (two by default)
and, optionally, texture: the local standard deviation of L* over windows of several sizes.

All from L*, none from the pixel's position; image borders are mirrored, so
every pixel of an image at least ``patch_size`` wide and high gets a full
feature vector.  Whole images are handled in batches of rows
(:data:`PREDICT_BATCH` pixels), which bounds the memory of prediction.
"""
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

CONTEXT_GRID = 5
"""Samples per side of a coarse neighbourhood: 5 x 5 samples of the blurred lightness."""

DEFAULT_CONTEXT_SCALES = (4, 16)
"""The Colorizer's default ``context_scales``: neighbourhoods of 17 x 17 and 65 x 65 pixels."""


def context_triples(context_scales):
    """``(step, grid, sigma)`` per coarse neighbourhood: :data:`CONTEXT_GRID` x :data:`CONTEXT_GRID`
    samples ``step`` pixels apart of the lightness blurred by a Gaussian of sigma ``step / 2``.

    Examples
    --------
    >>> context_triples((4, 16))
    ((4, 5, 2.0), (16, 5, 8.0))
    """
    return tuple((step, CONTEXT_GRID, step / 2.0) for step in context_scales)


CONTEXT = context_triples(DEFAULT_CONTEXT_SCALES)
"""The default coarse neighbourhoods as ``(step, grid, sigma)``."""

PREDICT_BATCH = 1 << 16


def feature_count(patch_size, texture_scales=(), context_scales=DEFAULT_CONTEXT_SCALES):
    """Number of features per pixel: the patch, the coarse neighbourhoods and the texture scales.

    Parameters
    ----------
    patch_size : int
    texture_scales : tuple of int
        Window sides of the texture features (one feature each).
    context_scales : tuple of int
        Steps of the coarse neighbourhoods (``context_triples``; 25 features each).

    Returns
    -------
    int

    Examples
    --------
    >>> feature_count(7)
    99
    >>> feature_count(7, (5, 11, 23))
    102
    >>> feature_count(7, (5, 11, 23), context_scales=(4,))
    77
    """
    return (patch_size * patch_size + CONTEXT_GRID * CONTEXT_GRID * len(context_scales)
            + len(texture_scales))


def local_std(plane, size):
    """Standard deviation of ``plane`` over the ``size`` x ``size`` window around each pixel (mirrored).

    A texture measure: 0 where the plane is flat, large where it varies (grass, fur, foliage).

    Examples
    --------
    >>> import numpy as np
    >>> float(local_std(np.full((9, 9), 0.5), 3).max())
    0.0
    """
    from scipy.ndimage import uniform_filter

    mean = uniform_filter(plane, size, mode="reflect")
    var = uniform_filter(plane * plane, size, mode="reflect") - mean * mean
    return np.sqrt(np.maximum(var, 0.0))


def feature_planes(L, patch_size, texture_scales=(), context_scales=DEFAULT_CONTEXT_SCALES):
    """Per scale: a window view of the (blurred, mirrored) lightness, one window per pixel.

    The patch first, then one coarse neighbourhood per entry of ``context_scales``
    (:func:`context_triples`).  Each view has shape ``(h, w, grid, grid)``: ``view[i, j]`` holds the
    samples of pixel (i, j)'s neighbourhood at that scale (no copy).  Then,
    per entry of ``texture_scales``, the :func:`local_std` of L*/100 over
    windows of that side, as a view of shape ``(h, w, 1, 1)``.
    """
    from scipy.ndimage import gaussian_filter

    base = L / 100.0
    views = []
    for step, grid, sigma in ((1, patch_size, 0.0),) + context_triples(context_scales):
        plane = base if sigma == 0 else gaussian_filter(base, sigma, mode="reflect")
        half = (grid // 2) * step
        padded = np.pad(plane, half, mode="symmetric")
        side = (grid - 1) * step + 1
        views.append(sliding_window_view(padded, (side, side))[:, :, ::step, ::step])
    for size in texture_scales:
        views.append(local_std(base, size)[:, :, None, None])
    return views


def row_batches(height, width):
    """Slices of whole rows holding about :data:`PREDICT_BATCH` pixels each."""
    step = max(1, PREDICT_BATCH // width)
    return [slice(top, min(height, top + step)) for top in range(0, height, step)]


def gather(views, index, dtype):
    """Feature rows of the pixels ``views[k][index]`` (a (rows, cols) pair or a row slice)."""
    blocks = [view[index].reshape(-1, view.shape[2] * view.shape[3]) for view in views]
    out = np.empty((blocks[0].shape[0], sum(b.shape[1] for b in blocks)), dtype=dtype)
    start = 0
    for block in blocks:
        out[:, start:start + block.shape[1]] = block
        start += block.shape[1]
    return out
