"""Colour: CIE L*a*b* to sRGB keeping the lightness, gamut mapping, and the network's targets.

L* is the lightness a grayscale photo keeps; a* (green-red) and b* (blue-yellow)
are the chroma the network predicts, as two sigmoid outputs ``0.5 + a*/128`` and
``0.5 + b*/128`` (chroma beyond +-64 is clipped when training).
"""
import warnings

import numpy as np

CHROMA_RANGE = 64.0

GAMUT_TOL = 1e-9

GAMUT_STEPS = 20


def _lab2rgb_quiet(lab):
    """scikit-image's lab2rgb without its out-of-gamut warnings (handled by the caller)."""
    from skimage.color import lab2rgb

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return lab2rgb(lab)


def _rgb_from_xyz():
    """The XYZ -> linear sRGB matrix, derived from scikit-image's own conversion.

    ``rgb2xyz`` of the three primaries gives the columns of the RGB -> XYZ
    matrix; its inverse is what ``lab2rgb`` applies before gamma encoding.
    """
    from skimage.color import rgb2xyz

    return np.linalg.inv(rgb2xyz(np.eye(3)).T)


def in_gamut(lab):
    """True where an L*a*b* colour has an sRGB value: its linear RGB lies in [0, 1].

    scikit-image's ``lab2rgb`` clips RGB outside [0, 1] (and negative Z), which
    changes the lightness; a colour passing this test is converted unchanged.
    """
    from skimage.color import lab2xyz

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # negative Z: caught below
        linear = lab2xyz(lab) @ _rgb_from_xyz().T
    z_valid = (lab[..., 0] + 16.0) / 116.0 - lab[..., 2] / 200.0 >= 0
    return z_valid & np.all((linear >= -GAMUT_TOL) & (linear <= 1.0 + GAMUT_TOL), axis=-1)


def lab_to_rgb(L, ab):
    """sRGB image with lightness exactly ``L`` and chroma ``ab``, reduced where out of gamut.

    Where ``(L, a, b)`` has no sRGB value, a* and b* are scaled down by a
    common factor (found by bisection) until it has: the lightness and the
    hue angle are kept, only the saturation drops.  Plain clipping of RGB
    (what ``lab2rgb`` does) would change the lightness instead.

    Parameters
    ----------
    L : ndarray, shape (h, w)
        L* in [0, 100].
    ab : ndarray, shape (h, w, 2)
        a* and b*.

    Returns
    -------
    ndarray of float64, shape (h, w, 3), in [0, 1]
        Its L* equals ``L`` within 1e-5 up to L* = 99.9 and within 5e-4
        above: near white, scikit-image's own Lab -> RGB -> Lab round trip
        of gray is off by up to 3e-4.

    Examples
    --------
    >>> rgb = lab_to_rgb(np.full((1, 1), 50.0), np.full((1, 1, 2), 200.0))
    >>> round(float(skimage.color.rgb2lab(rgb)[0, 0, 0]), 4)  # doctest: +SKIP
    50.0
    """
    L = np.clip(np.asarray(L, dtype=np.float64), 0.0, 100.0)
    ab = np.asarray(ab, dtype=np.float64)
    lab = np.concatenate([L[..., None], ab], axis=-1)
    outside = ~in_gamut(lab)
    if outside.any():
        lab_out = lab[outside]
        low = np.zeros(len(lab_out))  # factor 0 (gray) is always in gamut
        high = np.ones(len(lab_out))
        for _ in range(GAMUT_STEPS):
            mid = 0.5 * (low + high)
            trial = np.column_stack([lab_out[:, 0], lab_out[:, 1:] * mid[:, None]])
            fits = in_gamut(trial)
            low = np.where(fits, mid, low)
            high = np.where(fits, high, mid)
        lab[outside] = np.column_stack([lab_out[:, 0], lab_out[:, 1:] * low[:, None]])
    return np.clip(_lab2rgb_quiet(lab), 0.0, 1.0)


def to_targets(ab):
    """Chroma -> sigmoid targets in [0, 1]."""
    return np.clip(0.5 + ab / (2 * CHROMA_RANGE), 0.0, 1.0)


def from_outputs(outputs):
    """Sigmoid outputs -> chroma (the inverse of :func:`to_targets`)."""
    return (np.asarray(outputs, dtype=np.float64) - 0.5) * (2 * CHROMA_RANGE)
