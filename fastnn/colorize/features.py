"""The features of a pixel: its lightness patch, two coarser, blurred neighbourhoods and,
optionally, texture: the local standard deviation of L* over windows of several sizes.

All from L*, none from the pixel's position; image borders are mirrored, so
every pixel of an image at least ``patch_size`` wide and high gets a full
feature vector.  Whole images are handled in batches of rows
(:data:`PREDICT_BATCH` pixels), which bounds the memory of prediction.
"""
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

CONTEXT = ((4, 5, 2.0), (16, 5, 8.0))

PREDICT_BATCH = 1 << 16


def feature_count(patch_size, texture_scales=()):
    """Number of features per pixel: the patch, the coarse neighbourhoods and the texture scales.

    Parameters
    ----------
    patch_size : int
    texture_scales : tuple of int
        Window sides of the texture features (one feature each).

    Returns
    -------
    int

    Examples
    --------
    >>> feature_count(7)
    99
    >>> feature_count(7, (5, 11, 23))
    102
    """
    return patch_size * patch_size + sum(grid * grid for _, grid, _ in CONTEXT) + len(texture_scales)


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


def feature_planes(L, patch_size, texture_scales=()):
    """Per scale: a window view of the (blurred, mirrored) lightness, one window per pixel.

    Each view has shape ``(h, w, grid, grid)``: ``view[i, j]`` holds the
    samples of pixel (i, j)'s neighbourhood at that scale (no copy).  Then,
    per entry of ``texture_scales``, the :func:`local_std` of L*/100 over
    windows of that side, as a view of shape ``(h, w, 1, 1)``.
    """
    from scipy.ndimage import gaussian_filter

    base = L / 100.0
    views = []
    for step, grid, sigma in ((1, patch_size, 0.0),) + CONTEXT:
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
