"""Reading images and the guards every image passes before any work starts.

:func:`read_image` and :func:`image_files` read files with Pillow (its
decompression-bomb guard applies); the other functions check and convert what
the estimator is given: arrays or file paths, RGB or grayscale, uint8, uint16 or
floats in [0, 1], each at least the patch size wide and high.
"""
import os
import warnings

import numpy as np

from .. import _validation

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")


def image_files(paths):
    """Expand folders into their JPEG/PNG files; files are kept as given.

    Parameters
    ----------
    paths : list of str or os.PathLike
        Image files and folders.  A folder contributes its ``.png``,
        ``.jpg`` and ``.jpeg`` files (any case, not recursive), sorted by name.

    Returns
    -------
    list of str

    Raises
    ------
    FileNotFoundError
        If a path does not exist.
    ValueError
        If a folder holds no JPEG/PNG file.

    Examples
    --------
    >>> image_files(["photos/", "extra.jpg"])  # doctest: +SKIP
    ['photos/a.jpg', 'photos/b.png', 'extra.jpg']
    """
    files = []
    for path in map(os.fspath, paths):
        if os.path.isdir(path):
            found = sorted(os.path.join(path, name) for name in os.listdir(path)
                           if name.lower().endswith(IMAGE_EXTENSIONS)
                           and os.path.isfile(os.path.join(path, name)))
            if not found:
                raise ValueError(f"folder {path!r} holds no image file ({', '.join(IMAGE_EXTENSIONS)})")
            files += found
        elif os.path.exists(path):
            files.append(path)
        else:
            raise FileNotFoundError(f"image file {path!r} not found")
    return files


def read_image(path):
    """Read an image file with Pillow: an RGB or grayscale uint8 array.

    Pillow's decompression-bomb guard applies: an image with more than
    ``PIL.Image.MAX_IMAGE_PIXELS`` pixels is refused before it is decoded.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    ndarray of uint8
        ``(height, width, 3)`` for colour images (palette, RGBA, CMYK, ...
        are converted to RGB; alpha is dropped), ``(height, width)`` for
        grayscale ones.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is not an image, is truncated or corrupted, or is larger
        than Pillow's ``MAX_IMAGE_PIXELS``; the message names the file.

    Examples
    --------
    >>> read_image("photo.jpg").shape  # doctest: +SKIP
    (427, 640, 3)
    """
    from PIL import Image, UnidentifiedImageError

    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"image file {path!r} not found")
    if os.path.isdir(path):
        raise ValueError(f"{path!r} is a folder, not an image file (pass its files, or use "
                         f"fastnn.colorize.image_files)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                image.load()
                gray = image.mode in ("1", "L", "LA", "I", "I;16", "F")
                pixels = np.asarray(image.convert("L" if gray else "RGB"))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ValueError(f"{path!r} is too large to decode safely: {exc}") from None
    except UnidentifiedImageError:
        raise ValueError(f"{path!r} is not an image file Pillow can read") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ValueError(f"{path!r} is truncated or corrupted ({type(exc).__name__}: {exc})") from None
    return pixels


def image_name(image, index, label):
    """How error messages name an image: its file name, or ``label[index]``."""
    if isinstance(image, (str, os.PathLike)):
        return repr(os.fspath(image))
    return label if index is None else f"{label}[{index}]"


def to_float(image, name):
    """An image array as float64 in [0, 1], shape (h, w) or (h, w, 3), with clear errors."""
    if isinstance(image, (str, os.PathLike)):
        image = read_image(image)
    image = _validation.as_array(image, name)
    if image.dtype.kind not in "uif":
        raise TypeError(f"{name} has dtype {image.dtype}; expected uint8 or uint16 pixels, or floats in [0, 1]")
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] != 3):
        raise ValueError(f"{name} has shape {image.shape}; expected (height, width) grayscale or "
                         f"(height, width, 3) RGB" + (" (drop alpha with image[..., :3])"
                                                       if image.ndim == 3 and image.shape[2] == 4 else ""))
    if image.dtype.kind in "ui":
        if image.dtype not in (np.uint8, np.uint16):
            raise TypeError(f"{name} has dtype {image.dtype}; expected uint8 or uint16 pixels, or floats in [0, 1]")
        return image.astype(np.float64) / np.iinfo(image.dtype).max
    image = image.astype(np.float64)
    if not np.isfinite(image).all():
        raise ValueError(f"{name} contains NaN or infinity")
    low, high = float(image.min()), float(image.max())
    if low < 0 or high > 1:
        raise ValueError(f"{name} is a float image with values in [{low:g}, {high:g}]; expected [0, 1] "
                         f"(divide 0..255 values by 255)")
    return image


def check_size(image, name, patch_size):
    """ValueError if ``image`` is smaller than the patch in either direction."""
    height, width = image.shape[:2]
    if height < patch_size or width < patch_size:
        raise ValueError(f"{name} is {height} x {width} pixels, smaller than the {patch_size} x "
                         f"{patch_size} patch")


def check_image_list(images, label):
    """A non-empty list of images (not one image, not a string)."""
    if isinstance(images, (str, os.PathLike, np.ndarray)):
        raise TypeError(f"{label} must be a list of images (arrays or file paths); wrap a single "
                        f"image as [{label}]")
    try:
        images = list(images)
    except TypeError:
        raise TypeError(f"{label} must be a list of images, got {type(images).__name__}") from None
    if not images:
        raise ValueError(f"{label} is empty: at least one image is required")
    return images


def lightness(image):
    """L* (0..100) of a float RGB image, or of a gray image shown as sRGB gray."""
    from skimage.color import rgb2lab

    rgb = image if image.ndim == 3 else np.repeat(image[..., None], 3, axis=2)
    return rgb2lab(rgb)[..., 0]
