"""The features of a pixel: its lightness patch and two coarser, blurred neighbourhoods.

All from L*, none from the pixel's position; image borders are mirrored, so
every pixel of an image at least ``patch_size`` wide and high gets a full
feature vector.  Whole images are handled in batches of rows
(:data:`PREDICT_BATCH` pixels), which bounds the memory of prediction.
"""
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

CONTEXT = ((4, 5, 2.0), (16, 5, 8.0))

PREDICT_BATCH = 1 << 16


def feature_count(patch_size):
    """Number of features per pixel: the patch plus the coarse neighbourhoods.

    Parameters
    ----------
    patch_size : int

    Returns
    -------
    int

    Examples
    --------
    >>> feature_count(7)
    99
    """
    return patch_size * patch_size + sum(grid * grid for _, grid, _ in CONTEXT)


def feature_planes(L, patch_size):
    """Per scale: a window view of the (blurred, mirrored) lightness, one window per pixel.

    Each view has shape ``(h, w, grid, grid)``: ``view[i, j]`` holds the
    samples of pixel (i, j)'s neighbourhood at that scale (no copy).
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
