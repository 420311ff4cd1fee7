"""Evaluation on held-out colour photos: PSNR, a*b* error, colourfulness and blotchiness of the
colorizer and of baselines."""
import os

import numpy as np

from .colour import lab_to_rgb
from .images import check_image_list, check_size, image_name, to_float


def _constant(chroma):
    """A predictor returning the same a*, b* for every feature row."""
    chroma = np.asarray(chroma, dtype=np.float64)
    return lambda X: np.broadcast_to(chroma, (len(X), 2))


BLOTCH_SIGMA = 4.0
"""Gaussian sigma (pixels) of :func:`blotchiness`'s low-pass: variations finer than this count."""

FLAT_WINDOW, FLAT_STD = 7, 2.0
"""A pixel is in a flat region when the std of L* over the 7 x 7 window around it is below 2."""


def colourfulness(chroma):
    """Mean chroma magnitude sqrt(a*^2 + b*^2) of a chroma map (0 for gray; higher is more vivid).

    Parameters
    ----------
    chroma : ndarray, shape (..., 2)

    Returns
    -------
    float

    Examples
    --------
    >>> colourfulness(np.array([[[3.0, 4.0], [0.0, 0.0]]]))
    2.5
    """
    chroma = np.asarray(chroma, dtype=np.float64)
    return float(np.mean(np.hypot(chroma[..., 0], chroma[..., 1])))


def flat_mask(L):
    """Pixels whose neighbourhood is flat in lightness (std of L* over ``FLAT_WINDOW`` < ``FLAT_STD``)."""
    from scipy.ndimage import uniform_filter

    L = np.asarray(L, dtype=np.float64)
    mean = uniform_filter(L, FLAT_WINDOW, mode="reflect")
    var = uniform_filter(L * L, FLAT_WINDOW, mode="reflect") - mean * mean
    return var < FLAT_STD ** 2


def blotchiness(L, chroma):
    """Colour noise: the RMS high-frequency a*b* variation over the pixels where L* is flat.

    The chroma minus its Gaussian blur (sigma ``BLOTCH_SIGMA`` (4)), root mean square over both
    channels and the pixels of ``flat_mask``: where the lightness shows no edge, an object's
    colour should not change, so any such variation is a blotch.  In a*b* units; 0 for a
    constant chroma; NaN if no pixel is flat.

    Parameters
    ----------
    L : ndarray, shape (h, w)
    chroma : ndarray, shape (h, w, 2)

    Returns
    -------
    float

    Examples
    --------
    >>> L = np.full((20, 20), 50.0)
    >>> blotchiness(L, np.zeros((20, 20, 2)))
    0.0
    """
    from scipy.ndimage import gaussian_filter

    chroma = np.asarray(chroma, dtype=np.float64)
    mask = flat_mask(L)
    if not mask.any():
        return float("nan")
    low = gaussian_filter(chroma, (BLOTCH_SIGMA, BLOTCH_SIGMA, 0), mode="reflect")
    return float(np.sqrt(np.mean((chroma - low)[mask] ** 2)))


def _metrics(original_lab, original_rgb, result):
    """PSNR (dB) of an RGB result, its mean absolute a*, b* error, colourfulness and blotchiness."""
    from skimage.color import rgb2lab
    from skimage.metrics import peak_signal_noise_ratio

    psnr = peak_signal_noise_ratio(original_rgb, result, data_range=1.0)
    chroma = rgb2lab(result)[..., 1:]
    ab_error = float(np.mean(np.abs(chroma - original_lab[..., 1:])))
    return {"psnr": float(psnr), "ab_error": ab_error, "colourfulness": colourfulness(chroma),
            "blotchiness": blotchiness(original_lab[..., 0], chroma)}


def evaluate(colorizer, images, baselines=None, names=None, keep_images=False, unrefined=False):
    """Per-image metrics of a fitted colorizer and of the baselines.

    Each image's lightness is colourised by every method; the result is
    compared with the original: PSNR of the RGB image
    (``skimage.metrics.peak_signal_noise_ratio``, data range 1) and the mean
    absolute error of a* and b* (over pixels and both channels, in L*a*b*
    units); and measured alone: its :func:`colourfulness` and
    :func:`blotchiness`.  Always included: ``"fastnn"`` (refined if the
    colorizer's ``refine`` is set), ``"grayscale"`` (a* = b* = 0) and
    ``"mean chroma"`` (the training pixels' mean a*, b*).

    Parameters
    ----------
    colorizer : Colorizer
        Fitted.
    images : list of RGB arrays or file paths
        Held-out colour photos.
    baselines : dict, optional
        More methods: name -> function of standardised feature rows
        returning a*, b* (see :func:`fit_baselines`).
    names : list of str, optional
        Image names for the rows (default: file names or ``images[i]``).
    keep_images : bool
        Add each method's RGB result to its row (key ``"image_rgb"``).
    unrefined : bool
        Also a ``"fastnn unrefined"`` row: the network's chroma before the
        refinement (only if the colorizer's ``refine`` is set).

    Returns
    -------
    list of dict
        One row per image and method: ``image``, ``method``, ``psnr``,
        ``ab_error``, ``colourfulness``, ``blotchiness``, and the original
        photo's ``true_colourfulness`` and ``true_blotchiness``.

    Examples
    --------
    >>> rows = evaluate(model, [photos["chelsea"]], names=["chelsea"])  # doctest: +SKIP
    >>> print(format_table(rows))  # doctest: +SKIP
    """
    from skimage.color import rgb2lab

    colorizer.check_is_fitted()
    images = check_image_list(images, "images")
    if names is not None and len(names) != len(images):
        raise ValueError(f"names has {len(names)} entries for {len(images)} images")
    predictors = {"fastnn": colorizer.predict_chroma, "grayscale": _constant((0.0, 0.0)),
                  "mean chroma": _constant(colorizer.chroma_mean_)}
    predictors.update(baselines or {})
    pixels = []
    for i, image in enumerate(images):  # check every image before the (slow) work
        name = image_name(image, i, "images")
        rgb = to_float(image, name)
        if rgb.ndim == 2:
            raise ValueError(f"{name} is a grayscale image: evaluate needs the colour original")
        check_size(rgb, name, colorizer.params_["patch_size"])
        pixels.append(rgb)
    rows = []
    for i, rgb in enumerate(pixels):
        lab = rgb2lab(rgb)
        label = names[i] if names is not None else image_name(images[i], i, "images").strip("'")
        maps = colorizer.chroma_maps(lab[..., 0], predictors)
        if colorizer.params_["refine"] is not None:
            raw = maps["fastnn"]
            maps["fastnn"] = colorizer.refine_chroma(lab[..., 0], raw)
            if unrefined:
                maps["fastnn unrefined"] = raw
        truth = {"true_colourfulness": colourfulness(lab[..., 1:]),
                 "true_blotchiness": blotchiness(lab[..., 0], lab[..., 1:])}
        for method, chroma in maps.items():
            result = lab_to_rgb(lab[..., 0], chroma)
            row = {"image": os.path.basename(label), "method": method, **_metrics(lab, rgb, result), **truth}
            if keep_images:
                row["image_rgb"] = result
            rows.append(row)
    return rows


METRIC_CELLS = {"psnr": "{:.2f} dB", "ab_error": "{:.2f}", "colourfulness": "{:.1f}", "blotchiness": "{:.2f}"}
"""How :func:`format_table` writes each metric."""


def format_table(rows, metrics=("psnr", "ab_error")):
    """A Markdown table of :func:`evaluate`'s rows: one line per image, the metrics per method.

    Parameters
    ----------
    rows : list of dict
    metrics : sequence of str
        Keys of ``METRIC_CELLS``, joined by " / " in each cell (default PSNR / a*b* error).

    Returns
    -------
    str

    Examples
    --------
    >>> rows = [{"image": "cat", "method": "fastnn", "psnr": 20.0, "ab_error": 9.5}]
    >>> print(format_table(rows))
    | photo | fastnn |
    |---|---:|
    | cat | 20.00 dB / 9.50 |
    | mean | 20.00 dB / 9.50 |
    """
    unknown = [m for m in metrics if m not in METRIC_CELLS]
    if unknown or not metrics:
        raise ValueError(f"metrics must be some of {list(METRIC_CELLS)}, got {list(metrics)!r}")
    methods = list(dict.fromkeys(row["method"] for row in rows))
    images = list(dict.fromkeys(row["image"] for row in rows))
    cell = {(row["image"], row["method"]): row for row in rows}
    lines = ["| photo | " + " | ".join(methods) + " |", "|---|" + "---:|" * len(methods)]

    def cells(rows_of_method):
        return " | ".join(" / ".join(METRIC_CELLS[m].format(np.mean([r[m] for r in picked])) for m in metrics)
                          for picked in map(rows_of_method, methods))

    for image in images:
        lines.append(f"| {image} | " + cells(lambda method: [cell[(image, method)]]) + " |")
    lines.append("| mean | " + cells(lambda method: [cell[(i, method)] for i in images]) + " |")
    return "\n".join(lines)
