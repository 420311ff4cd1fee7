"""Edge-aware refinement of predicted chroma: He et al.'s guided filter, guided by the lightness.

A pixel-wise colorizer predicts each pixel's a*, b* on its own, so neighbouring pixels of one
object can get different colours (colour noise, "blotches").  The guided filter (He, Sun & Tang,
"Guided Image Filtering", ECCV 2010) replaces the chroma by, in every window, the best linear
function of the lightness: chroma then changes where L* changes (at object edges) and is smoothed
where L* is flat.  Every step is a box mean (``scipy.ndimage.uniform_filter``), so the cost is
linear in the pixel count and independent of the radius.  L* itself is never changed.
"""
import numpy as np

from .. import _validation

REFINE_METHODS = ("guided",)
"""The values of ``refine`` other than ``None``."""


def check_refine(refine, radius, eps):
    """Validate the refinement parameters; returns ``(refine, radius, eps)``.

    Raises
    ------
    ValueError, TypeError
        For an unknown method, a radius that is not a positive integer or an ``eps`` that is
        not a positive number.
    """
    if refine is not None:
        refine = _validation.check_choice(refine, "refine", REFINE_METHODS)
    radius = _validation.check_int(radius, "refine_radius", 1)
    eps = _validation.check_float(eps, "refine_eps", positive=True)
    return refine, radius, eps


def guided_filter(guide, image, radius, eps):
    """He et al.'s guided filter of each channel of ``image``, guided by the 2-D ``guide``.

    In every (2 radius + 1)-square window w the output is ``a_w * guide + b_w`` with ``a_w``,
    ``b_w`` minimising ``sum (a_w guide + b_w - image)^2 + eps a_w^2``; each pixel averages the
    ``a``, ``b`` of the windows holding it.  Borders are mirrored.

    Parameters
    ----------
    guide : ndarray, shape (h, w)
    image : ndarray, shape (h, w) or (h, w, c)
    radius : int
        Window radius in pixels (>= 1).
    eps : float
        Regularisation (> 0), in squared units of ``guide``: variations of the guide much
        smaller than ``sqrt(eps)`` are smoothed over, larger ones are kept as edges.

    Returns
    -------
    ndarray of float64, the shape of ``image``

    Examples
    --------
    >>> import numpy as np
    >>> guide = np.tile(np.r_[np.zeros(8), np.ones(8)], (16, 1))
    >>> noisy = guide * 10 + np.random.default_rng(0).normal(0, 1, (16, 16))
    >>> smooth = guided_filter(guide, noisy, radius=3, eps=0.01)
    >>> bool(smooth[:, :8].std() < noisy[:, :8].std())
    True
    """
    from scipy.ndimage import uniform_filter

    guide = np.asarray(guide, dtype=np.float64)
    image = np.asarray(image, dtype=np.float64)
    if guide.ndim != 2 or image.shape[:2] != guide.shape or image.ndim not in (2, 3):
        raise ValueError(f"guide must be (h, w) and image (h, w) or (h, w, c) of the same h, w; "
                         f"got {guide.shape} and {image.shape}")
    radius = _validation.check_int(radius, "radius", 1)
    eps = _validation.check_float(eps, "eps", positive=True)
    size = 2 * radius + 1

    def box(x):
        return uniform_filter(x, size=size, mode="reflect")

    mean_guide = box(guide)
    var_guide = box(guide * guide) - mean_guide * mean_guide
    channels = image[..., None] if image.ndim == 2 else image
    out = np.empty_like(channels)
    for k in range(channels.shape[2]):
        p = channels[..., k]
        mean_p = box(p)
        slope = (box(guide * p) - mean_guide * mean_p) / (var_guide + eps)
        offset = mean_p - slope * mean_guide
        out[..., k] = box(slope) * guide + box(offset)
    return out[..., 0] if image.ndim == 2 else out


def refine_chroma(L, chroma, radius, eps):
    """Chroma maps ``(h, w, 2)`` filtered by :func:`guided_filter` guided by ``L / 100``.

    ``eps`` is in units of (L*/100)^2: 0.01 treats lightness steps well above 10 L* as edges.
    """
    return guided_filter(np.asarray(L, dtype=np.float64) / 100.0, chroma, radius, eps)
