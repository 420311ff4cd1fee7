"""Evaluation: PSNR and a*b* error of the colorizer and of baselines on held-out colour photos."""
import os

import numpy as np

from .colour import lab_to_rgb
from .images import check_image_list, check_size, image_name, to_float


def _constant(chroma):
    """A predictor returning the same a*, b* for every feature row."""
    chroma = np.asarray(chroma, dtype=np.float64)
    return lambda X: np.broadcast_to(chroma, (len(X), 2))


def _metrics(original_lab, original_rgb, result):
    """PSNR (dB) of an RGB result and its mean absolute a*, b* error."""
    from skimage.color import rgb2lab
    from skimage.metrics import peak_signal_noise_ratio

    psnr = peak_signal_noise_ratio(original_rgb, result, data_range=1.0)
    ab_error = float(np.mean(np.abs(rgb2lab(result)[..., 1:] - original_lab[..., 1:])))
    return float(psnr), ab_error


def evaluate(colorizer, images, baselines=None, names=None, keep_images=False):
    """Per-image metrics of a fitted colorizer and of the baselines.

    Each image's lightness is colourised by every method; the result is
    compared with the original: PSNR of the RGB image
    (``skimage.metrics.peak_signal_noise_ratio``, data range 1) and the mean
    absolute error of a* and b* (over pixels and both channels, in L*a*b*
    units).  Always included: ``"fastnn"``, ``"grayscale"`` (a* = b* = 0)
    and ``"mean chroma"`` (the training pixels' mean a*, b*).

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

    Returns
    -------
    list of dict
        One row per image and method: ``image``, ``method``, ``psnr``,
        ``ab_error``.

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
        for method, chroma in maps.items():
            result = lab_to_rgb(lab[..., 0], chroma)
            psnr, ab_error = _metrics(lab, rgb, result)
            row = {"image": os.path.basename(label), "method": method, "psnr": psnr, "ab_error": ab_error}
            if keep_images:
                row["image_rgb"] = result
            rows.append(row)
    return rows


def format_table(rows):
    """A Markdown table of :func:`evaluate`'s rows: one line per image, PSNR / a*b* error per method.

    Parameters
    ----------
    rows : list of dict

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
    methods = list(dict.fromkeys(row["method"] for row in rows))
    images = list(dict.fromkeys(row["image"] for row in rows))
    cell = {(row["image"], row["method"]): row for row in rows}
    lines = ["| photo | " + " | ".join(methods) + " |", "|---|" + "---:|" * len(methods)]
    for image in images + ["mean"]:
        values = []
        for method in methods:
            picked = [cell[(i, method)] for i in images] if image == "mean" else [cell[(image, method)]]
            values.append(f"{np.mean([r['psnr'] for r in picked]):.2f} dB / "
                          f"{np.mean([r['ab_error'] for r in picked]):.2f}")
        lines.append(f"| {image} | " + " | ".join(values) + " |")
    return "\n".join(lines)
