"""Colour for grayscale photos: the book's sigmoid network as a colorizer.

A :class:`Colorizer` learns, from colour photos, to predict a pixel's chroma
from the lightness around it.  Colours are handled in CIE L*a*b*
(scikit-image's ``rgb2lab``/``lab2rgb``): L* is the lightness a grayscale
photo keeps, a* (green-red) and b* (blue-yellow) are the chroma the network
predicts.  The result keeps the input's L* exactly and adds the predicted
a*, b*.

Features (all from L*, none from the pixel's position):

* the ``patch_size`` x ``patch_size`` neighbourhood of the pixel;
* two coarser neighbourhoods of the blurred image: 5 x 5 samples 4 pixels
  apart (a 17 x 17 area, blur sigma 2) and 5 x 5 samples 16 pixels apart
  (65 x 65, sigma 8), which tell sky from wall from foliage better than
  the small patch alone.

Image borders are mirrored, so every pixel of an image at least
``patch_size`` wide and high gets a full feature vector.  Features are
standardised with the training set's mean and standard deviation.  The
network's two sigmoid outputs are ``0.5 + a*/128`` and ``0.5 + b*/128``
(chroma beyond +-64 is clipped when training: under 1% of the pixels of the
bundled photos).

Functions: :func:`read_image` and :func:`image_files` (Pillow, with its
decompression-bomb guard), :func:`lab_to_rgb` (keeps L* exactly by reducing
out-of-gamut chroma), :func:`fit_baselines`, :func:`evaluate`,
:func:`compare`, :func:`format_table`, :func:`bundled_photos`.
"""
import json
import os
import time
import warnings

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from . import _validation as _v
from . import persistence
from ._version import __version__
from .exceptions import ModelFileError
from .network import Network

__all__ = ["Colorizer", "read_image", "image_files", "lab_to_rgb", "fit_baselines", "evaluate",
           "compare", "format_table", "bundled_photos", "TRAIN_PHOTOS", "TEST_PHOTOS"]

CHROMA_RANGE = 64.0
"""a* and b* in [-CHROMA_RANGE, CHROMA_RANGE] map linearly onto the sigmoid's [0, 1]."""

CONTEXT = ((4, 5, 2.0), (16, 5, 8.0))
"""Coarse neighbourhoods: (step between samples, samples per side, Gaussian blur sigma)."""

GRAY_CHROMA = 1.0
"""An RGB image whose |a*| and |b*| never exceed this holds no colour to learn."""

PREDICT_BATCH = 1 << 16
"""Pixels per inference batch (bounds the memory of whole-image prediction)."""

GAMUT_TOL = 1e-9
"""A colour is in the sRGB gamut if its linear RGB lies in [-GAMUT_TOL, 1 + GAMUT_TOL]."""

GAMUT_STEPS = 20
"""Bisection steps of the chroma reduction in :func:`lab_to_rgb`."""

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")
"""File types :func:`image_files` collects from a folder."""

FORMAT_NAME = "fastnn.Colorizer"
FORMAT_VERSION = 1
_PARAMS = ("patch_size", "hidden_layer_sizes", "epochs", "mini_batch_size", "eta", "cost", "dtype",
           "samples_per_image", "random_state")


# -- reading images ------------------------------------------------------------------------

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


def _image_name(image, index, label):
    """How error messages name an image: its file name, or ``label[index]``."""
    if isinstance(image, (str, os.PathLike)):
        return repr(os.fspath(image))
    return label if index is None else f"{label}[{index}]"


def _to_float(image, name):
    """An image array as float64 in [0, 1], shape (h, w) or (h, w, 3), with clear errors."""
    if isinstance(image, (str, os.PathLike)):
        image = read_image(image)
    image = _v._as_array(image, name)
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


def _check_size(image, name, patch_size):
    """ValueError if ``image`` is smaller than the patch in either direction."""
    height, width = image.shape[:2]
    if height < patch_size or width < patch_size:
        raise ValueError(f"{name} is {height} x {width} pixels, smaller than the {patch_size} x "
                         f"{patch_size} patch")


def _check_image_list(images, label):
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


def _lightness(image):
    """L* (0..100) of a float RGB image, or of a gray image shown as sRGB gray."""
    from skimage.color import rgb2lab

    rgb = image if image.ndim == 3 else np.repeat(image[..., None], 3, axis=2)
    return rgb2lab(rgb)[..., 0]


# -- features ------------------------------------------------------------------------------

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


def _feature_planes(L, patch_size):
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


def _row_batches(height, width):
    """Slices of whole rows holding about :data:`PREDICT_BATCH` pixels each."""
    step = max(1, PREDICT_BATCH // width)
    return [slice(top, min(height, top + step)) for top in range(0, height, step)]


def _gather(views, index, dtype):
    """Feature rows of the pixels ``views[k][index]`` (a (rows, cols) pair or a row slice)."""
    blocks = [view[index].reshape(-1, view.shape[2] * view.shape[3]) for view in views]
    out = np.empty((blocks[0].shape[0], sum(b.shape[1] for b in blocks)), dtype=dtype)
    start = 0
    for block in blocks:
        out[:, start:start + block.shape[1]] = block
        start += block.shape[1]
    return out


# -- colour --------------------------------------------------------------------------------

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


def _in_gamut(lab):
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
    outside = ~_in_gamut(lab)
    if outside.any():
        lab_out = lab[outside]
        low = np.zeros(len(lab_out))  # factor 0 (gray) is always in gamut
        high = np.ones(len(lab_out))
        for _ in range(GAMUT_STEPS):
            mid = 0.5 * (low + high)
            trial = np.column_stack([lab_out[:, 0], lab_out[:, 1:] * mid[:, None]])
            fits = _in_gamut(trial)
            low = np.where(fits, mid, low)
            high = np.where(fits, high, mid)
        lab[outside] = np.column_stack([lab_out[:, 0], lab_out[:, 1:] * low[:, None]])
    return np.clip(_lab2rgb_quiet(lab), 0.0, 1.0)


def _targets(ab):
    """Chroma -> sigmoid targets in [0, 1]."""
    return np.clip(0.5 + ab / (2 * CHROMA_RANGE), 0.0, 1.0)


def _chroma(outputs):
    """Sigmoid outputs -> chroma (the inverse of :func:`_targets`)."""
    return (np.asarray(outputs, dtype=np.float64) - 0.5) * (2 * CHROMA_RANGE)


# -- the estimator -------------------------------------------------------------------------

def _check_choice(value, name, choices):
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}, got {value!r}")
    return value


def _check_hidden(sizes):
    """A tuple of positive ints (may be empty: no hidden layer)."""
    if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__iter__"):
        raise TypeError(f"hidden_layer_sizes must be a tuple of layer sizes such as (64, 64), got {sizes!r}")
    return tuple(_v.check_int(s, "hidden_layer_sizes entries", 1) for s in sizes)


class Colorizer:
    """Predicts the colour of grayscale photos with fastnn's sigmoid :class:`~fastnn.Network`.

    The network sees the lightness L* around a pixel (see the module
    docstring for the features) and outputs its chroma a*, b*.  Follows
    scikit-learn's conventions: parameters are stored by ``__init__`` and
    checked by :meth:`fit`, which returns self; fitted attributes end in ``_``.

    The defaults were chosen on the bundled photos (trained on
    :data:`TRAIN_PHOTOS`, checked on :data:`TEST_PHOTOS` and on the
    training photos themselves; figures in docs/guide/colorize.md): two
    hidden layers fit the training photos better than one; 32-32 fit as
    well as 64-64 with less than half the arithmetic; eta = 1.5 gave a lower
    training error than 0.2, 0.5, 3 or 6; 30,000 pixels of each of six
    photos for 10 epochs train in tens of seconds on a busy 2-core machine,
    and more epochs lowered the training error but not the held-out error.
    The cross-entropy cost (chapter 3) did better than the quadratic cost;
    float32 halves the memory of float64.

    Parameters
    ----------
    patch_size : int, default 7
        Side of the square neighbourhood (odd, >= 1) the network sees.
    hidden_layer_sizes : tuple of int, default (32, 32)
    epochs : int, default 10
    mini_batch_size : int, default 10
        The book's size.
    eta : float, default 1.5
        Learning rate.
    cost : {"cross-entropy", "quadratic"}, default "cross-entropy"
    dtype : {"float32", "float64"}, default "float32"
    samples_per_image : int, default 30000
        Pixels drawn (uniformly, without replacement) from each training
        image; all pixels of a smaller image.
    random_state : int or None
        Seeds the pixel draws and the network (its initial weights and
        shuffles): the same value gives the same colorizer.

    Attributes
    ----------
    network_ : fastnn.Network
        Sizes ``[n_features_in_, *hidden_layer_sizes, 2]``, e.g. ``[99, 32, 32, 2]``.
    n_features_in_ : int
    feature_mean_, feature_scale_ : ndarray, shape (n_features,)
        Standardisation of the features (training mean and std).
    chroma_mean_ : ndarray, shape (2,)
        Mean a*, b* of the training pixels (the "mean chroma" baseline).
    n_samples_ : int
        Training samples (pixels).
    fit_seconds_ : float
        Seconds spent training the network (features excluded).

    Examples
    --------
    >>> from fastnn.colorize import Colorizer, bundled_photos
    >>> photos = bundled_photos()
    >>> model = Colorizer(samples_per_image=5000, epochs=3, random_state=0)
    >>> model = model.fit([photos["astronaut"], photos["coffee"]])
    >>> model.network_.sizes
    [99, 32, 32, 2]
    >>> rgb = model.predict(photos["chelsea"])
    >>> rgb.shape, rgb.dtype.name
    ((300, 451, 3), 'float64')
    >>> model.save("colorizer.npz")                     # doctest: +SKIP
    """

    def __init__(self, patch_size=7, hidden_layer_sizes=(32, 32), epochs=10, mini_batch_size=10,
                 eta=1.5, cost="cross-entropy", dtype="float32", samples_per_image=30000,
                 random_state=None):
        self.patch_size = patch_size
        self.hidden_layer_sizes = hidden_layer_sizes
        self.epochs = epochs
        self.mini_batch_size = mini_batch_size
        self.eta = eta
        self.cost = cost
        self.dtype = dtype
        self.samples_per_image = samples_per_image
        self.random_state = random_state

    def __repr__(self):
        args = ", ".join(f"{name}={getattr(self, name)!r}" for name in _PARAMS)
        return f"Colorizer({args})"

    def get_params(self, deep=True):
        """The constructor's parameters (scikit-learn convention), a dict."""
        return {name: getattr(self, name) for name in _PARAMS}

    def set_params(self, **params):
        """Set constructor parameters; returns self.  Unknown names raise ValueError."""
        for name, value in params.items():
            if name not in _PARAMS:
                raise ValueError(f"invalid parameter {name!r} for Colorizer; valid: {list(_PARAMS)}")
            setattr(self, name, value)
        return self

    def _checked_params(self):
        """The parameters, validated, as a dict (raises ValueError/TypeError)."""
        patch = _v.check_int(self.patch_size, "patch_size", 1)
        if patch % 2 == 0:
            raise ValueError(f"patch_size must be odd (the pixel is its centre), got {patch}")
        random_state = self.random_state
        if random_state is not None:
            random_state = _v.check_int(random_state, "random_state", 0)
        return {
            "patch_size": patch,
            "hidden_layer_sizes": _check_hidden(self.hidden_layer_sizes),
            "epochs": _v.check_int(self.epochs, "epochs", 1),
            "mini_batch_size": _v.check_int(self.mini_batch_size, "mini_batch_size", 1),
            "eta": _v.check_float(self.eta, "eta", positive=True),
            "cost": _check_choice(self.cost, "cost", ("cross-entropy", "quadratic")),
            "dtype": np.dtype(_v.check_dtype(self.dtype)).name,
            "samples_per_image": _v.check_int(self.samples_per_image, "samples_per_image", 1),
            "random_state": random_state,
        }

    # -- training ----------------------------------------------------------------------
    def _load_training_images(self, images, patch_size):
        """Every training image as float RGB, all checked before any work starts."""
        from skimage.color import rgb2lab

        images = _check_image_list(images, "images")
        labs = []
        for i, image in enumerate(images):
            name = _image_name(image, i, "images")
            pixels = _to_float(image, name)
            if pixels.ndim == 2:
                raise ValueError(f"{name} is a grayscale image: no colour to learn (fit needs colour photos)")
            _check_size(pixels, name, patch_size)
            lab = rgb2lab(pixels)
            if np.abs(lab[..., 1:]).max() <= GRAY_CHROMA:
                raise ValueError(f"{name} holds only gray pixels (|a*|, |b*| <= {GRAY_CHROMA}): no colour "
                                 f"to learn (fit needs colour photos)")
            labs.append(lab)
        return labs

    def _sample(self, images, params, rng):
        """Raw features and chroma of ``samples_per_image`` random pixels of every image."""
        labs = self._load_training_images(images, params["patch_size"])
        features, chroma = [], []
        for lab in labs:
            height, width = lab.shape[:2]
            count = min(params["samples_per_image"], height * width)
            rows, cols = np.divmod(rng.choice(height * width, count, replace=False), width)
            views = _feature_planes(lab[..., 0], params["patch_size"])
            features.append(_gather(views, (rows, cols), np.dtype(params["dtype"])))
            chroma.append(lab[rows, cols, 1:])
        return np.concatenate(features), np.concatenate(chroma)

    def _standardise(self, features):
        """Features scaled with the training mean/std, in the network's dtype."""
        dtype = np.dtype(self._params["dtype"])
        return ((features - self.feature_mean_.astype(dtype)) / self.feature_scale_.astype(dtype)).astype(
            dtype, copy=False)

    def _prepare(self, images):
        """Check parameters and images, draw the samples, set the standardisation.

        Returns the standardised features ``X`` and the chroma of the sampled
        pixels; :meth:`_train` then trains the network on them.
        """
        params = self._checked_params()
        rng = np.random.default_rng(params["random_state"])
        raw, chroma = self._sample(images, params, rng)
        self.__dict__.pop("network_", None)  # unfitted until the new network is trained
        self.feature_mean_ = raw.mean(axis=0, dtype=np.float64)
        scale = raw.std(axis=0, dtype=np.float64)
        self.feature_scale_ = np.where(scale > 1e-12, scale, 1.0)
        self.chroma_mean_ = chroma.mean(axis=0)
        self.n_features_in_ = raw.shape[1]
        self.n_samples_ = raw.shape[0]
        self._params = params
        self._network_seed = int(rng.integers(2**63))
        return self._standardise(raw), chroma

    def _train(self, X, chroma, progress=False):
        """Train a new network on standardised features ``X``; sets ``network_`` and ``fit_seconds_``."""
        params = self._params
        sizes = [X.shape[1], *params["hidden_layer_sizes"], 2]
        net = Network(sizes, seed=self._network_seed, dtype=params["dtype"], cost=params["cost"],
                      init="default")
        targets = _targets(chroma).astype(net.dtype)
        bar = _EpochBar(progress, params["epochs"], len(X))
        start = time.perf_counter()
        try:
            net.fit(X, targets, epochs=params["epochs"], mini_batch_size=params["mini_batch_size"],
                    eta=params["eta"], callback=bar.update)
        finally:
            bar.close()
        self.fit_seconds_ = time.perf_counter() - start
        self.network_ = net
        return self

    def fit(self, images, progress=False):
        """Learn chroma from colour images.

        Parameters
        ----------
        images : list of arrays or file paths
            RGB images: uint8 (0..255), uint16, or floats in [0, 1], of
            shape (height, width, 3), each at least ``patch_size`` wide and
            high; or image files (read with :func:`read_image`).
        progress : bool
            Show a progress bar (samples/s, cost) on stderr if it is a terminal.

        Returns
        -------
        self

        Raises
        ------
        TypeError
            For a parameter or image of the wrong type, or a single image
            instead of a list.
        ValueError
            For an empty list, a grayscale image, an image smaller than the
            patch, NaN values, a file that is not an image or is truncated,
            or one above Pillow's ``MAX_IMAGE_PIXELS``; the message names
            the image.  Every image is checked before training starts.

        Examples
        --------
        >>> Colorizer(random_state=0).fit(["a.jpg", "b.png"])  # doctest: +SKIP
        """
        X, chroma = self._prepare(images)
        return self._train(X, chroma, progress)

    # -- prediction --------------------------------------------------------------------
    def _check_fitted(self):
        if not hasattr(self, "network_"):
            raise ValueError("this Colorizer is not fitted yet: call fit(images) or Colorizer.load(path)")

    def _chroma_maps(self, L, predictors):
        """Chroma images (h, w, 2) of every predictor, computed in batches of whole rows.

        ``predictors`` maps names to functions of the standardised feature
        rows returning a*, b* per row.
        """
        height, width = L.shape
        views = _feature_planes(L, self._params["patch_size"])
        maps = {name: np.empty((height, width, 2)) for name in predictors}
        for rows in _row_batches(height, width):
            X = self._standardise(_gather(views, rows, np.dtype(self._params["dtype"])))
            for name, predict in predictors.items():
                maps[name][rows] = np.asarray(predict(X)).reshape(-1, width, 2)
        return maps

    def predict_chroma(self, X):
        """a*, b* predicted by the network for standardised feature rows.

        Parameters
        ----------
        X : ndarray, shape (n, n_features)

        Returns
        -------
        ndarray of float64, shape (n, 2)
        """
        return _chroma(self.network_.predict_proba(X))

    def predict(self, gray):
        """Colourise one image.

        Parameters
        ----------
        gray : array or file path
            A grayscale image (h, w), or an RGB image (h, w, 3) whose
            lightness L* is used; uint8, uint16 or floats in [0, 1]; at least
            ``patch_size`` wide and high.  A gray value g is taken as the sRGB
            gray (g, g, g).

        Returns
        -------
        ndarray of float64, shape (h, w, 3), in [0, 1]
            The input's L* (to 1e-5; 5e-4 near white) with the predicted a*, b*
            (reduced where a colour would leave the sRGB gamut, see
            :func:`lab_to_rgb`).

        Raises
        ------
        ValueError, TypeError
            For a bad image (see :meth:`fit`), or an unfitted colorizer.

        Examples
        --------
        >>> rgb = model.predict("old_photo.jpg")     # doctest: +SKIP
        >>> rgb.shape, float(rgb.min()) >= 0.0        # doctest: +SKIP
        ((480, 640, 3), True)
        """
        self._check_fitted()
        name = _image_name(gray, None, "gray")
        pixels = _to_float(gray, name)
        _check_size(pixels, name, self._params["patch_size"])
        height, width = pixels.shape[:2]
        L = np.empty((height, width))
        for rows in _row_batches(height, width):  # colour conversions in batches too: bounded memory
            L[rows] = _lightness(pixels[rows])
        chroma = self._chroma_maps(L, {"fastnn": self.predict_chroma})["fastnn"]
        rgb = np.empty((height, width, 3))
        for rows in _row_batches(height, width):
            rgb[rows] = lab_to_rgb(L[rows], chroma[rows])
        return rgb

    def score(self, images):
        """Mean PSNR (dB) of the colourised ``images`` against the originals.

        Parameters
        ----------
        images : list of RGB arrays or file paths

        Returns
        -------
        float
            Higher is better (scikit-learn's convention for ``score``).

        Examples
        --------
        >>> model.score([photos["astronaut"]])        # doctest: +SKIP
        20.2
        """
        rows = evaluate(self, images, baselines={})
        return float(np.mean([row["psnr"] for row in rows if row["method"] == "fastnn"]))

    # -- files -------------------------------------------------------------------------
    def save(self, path):
        """Write the fitted colorizer to ``path`` (``.npz``, no pickle, written atomically).

        The file holds the parameters, the standardisation, the mean chroma
        and the network (in :meth:`fastnn.Network.save`'s format).

        Parameters
        ----------
        path : str or os.PathLike

        Raises
        ------
        ValueError
            If the colorizer is not fitted.

        Examples
        --------
        >>> model.save("colorizer.npz")              # doctest: +SKIP
        >>> Colorizer.load("colorizer.npz")          # doctest: +SKIP
        """
        self._check_fitted()
        meta = {"params": dict(self._params, hidden_layer_sizes=list(self._params["hidden_layer_sizes"])),
                "chroma_mean": [float(c) for c in self.chroma_mean_], "n_samples": int(self.n_samples_),
                "fit_seconds": float(getattr(self, "fit_seconds_", 0.0)), "fastnn_version": __version__}
        arrays = {"format": np.array(FORMAT_NAME), "format_version": np.array(FORMAT_VERSION, dtype=np.int64),
                  "meta": np.array(json.dumps(meta)), "feature_mean": self.feature_mean_,
                  "feature_scale": self.feature_scale_}
        for key, value in persistence.network_arrays(self.network_).items():
            arrays["network." + key] = value
        with persistence.atomic_write(path) as f:
            np.savez(f, **arrays)

    @classmethod
    def load(cls, path):
        """Load a colorizer written by :meth:`save`.

        Parameters
        ----------
        path : str or os.PathLike

        Returns
        -------
        Colorizer

        Raises
        ------
        FileNotFoundError
            If ``path`` does not exist.
        fastnn.ModelFileError
            (a ``ValueError``) for a file that is not a colorizer (e.g. a
            plain network file), truncated, corrupted, of another format
            version, or whose entries disagree with each other.

        Examples
        --------
        >>> model = Colorizer.load("colorizer.npz")  # doctest: +SKIP
        """
        path = os.fspath(path)
        arrays = persistence.read_npz(path, FORMAT_NAME)
        return _from_arrays(cls, arrays, path)


def _from_arrays(cls, arrays, path):
    """Rebuild a Colorizer from the arrays of its file, checking every entry."""
    error = ModelFileError
    version = arrays.get("format_version")
    if version is None or version.shape != () or version.dtype.kind not in "iu" \
            or int(version) != FORMAT_VERSION:
        raise error(f"{path!r}: colorizer file format version {version!r} is not {FORMAT_VERSION}")
    meta = persistence.json_entry(arrays, "meta", path)
    if not isinstance(meta, dict) or not {"params", "chroma_mean", "n_samples"} <= set(meta) \
            or not isinstance(meta["params"], dict) or set(meta["params"]) != set(_PARAMS):
        raise error(f"{path!r}: 'meta' entry does not describe a colorizer")
    params = meta["params"]
    if isinstance(params["hidden_layer_sizes"], list):  # JSON has no tuples
        params["hidden_layer_sizes"] = tuple(params["hidden_layer_sizes"])
    model = cls(**params)
    try:
        params = model._checked_params()
    except (TypeError, ValueError) as exc:
        raise error(f"{path!r}: invalid colorizer parameters ({exc})") from exc
    n_features = feature_count(params["patch_size"])
    network_arrays = {key[len("network."):]: value for key, value in arrays.items()
                      if key.startswith("network.")}
    net = persistence.network_from_payload(Network, persistence.parse_model_arrays(network_arrays, path), path)
    expected = [n_features, *params["hidden_layer_sizes"], 2]
    if net.sizes != expected or net.dtype.name != params["dtype"] or net.cost != params["cost"]:
        raise error(f"{path!r}: the network ({net.sizes}, {net.dtype.name}, {net.cost}) does not match the "
                    f"colorizer's parameters (expected {expected}, {params['dtype']}, {params['cost']})")
    for key in ("feature_mean", "feature_scale"):
        value = arrays.get(key)
        if value is None or value.shape != (n_features,) or value.dtype != np.float64 \
                or not np.isfinite(value).all():
            raise error(f"{path!r}: entry {key!r} must be {n_features} finite float64 values")
    chroma_mean = meta["chroma_mean"]
    if not (isinstance(chroma_mean, list) and len(chroma_mean) == 2
            and all(isinstance(c, (int, float)) and np.isfinite(c) for c in chroma_mean)):
        raise error(f"{path!r}: 'chroma_mean' must be two finite numbers, got {chroma_mean!r}")
    n_samples, fit_seconds = meta["n_samples"], meta.get("fit_seconds")
    if isinstance(n_samples, bool) or not isinstance(n_samples, int) or n_samples < 1:
        raise error(f"{path!r}: 'n_samples' must be a positive integer, got {n_samples!r}")
    if not (fit_seconds is None or isinstance(fit_seconds, (int, float))):
        raise error(f"{path!r}: 'fit_seconds' must be a number, got {fit_seconds!r}")
    if not np.all(arrays["feature_scale"] > 0):
        raise error(f"{path!r}: 'feature_scale' must be positive")
    expected_keys = {"format", "format_version", "meta", "feature_mean", "feature_scale"}
    extra = {key for key in arrays if not key.startswith("network.")} - expected_keys
    if extra:
        raise error(f"{path!r}: unexpected entries {sorted(extra)}")
    model.network_ = net
    model._params = params
    model.n_features_in_ = n_features
    model.feature_mean_ = arrays["feature_mean"]
    model.feature_scale_ = arrays["feature_scale"]
    model.chroma_mean_ = np.array(chroma_mean, dtype=np.float64)
    model.n_samples_ = n_samples
    model.fit_seconds_ = fit_seconds
    return model


class _EpochBar:
    """A tqdm bar over the training samples, advanced after each epoch, showing the cost."""

    def __init__(self, progress, epochs, n_samples):
        from .training import make_progress

        self.bar = make_progress(progress, epochs * n_samples)
        self.n_samples = n_samples

    def update(self, net, record):
        self.bar.update(self.n_samples)
        self.bar.set_postfix_str(f"cost={record['training_cost']:.4f}")
        return False

    def close(self):
        self.bar.close()


# -- baselines and evaluation --------------------------------------------------------------

def _constant(chroma):
    """A predictor returning the same a*, b* for every feature row."""
    chroma = np.asarray(chroma, dtype=np.float64)
    return lambda X: np.broadcast_to(chroma, (len(X), 2))


def fit_baselines(colorizer, X, chroma, *, mlp=True):
    """Train the learned baselines on a colorizer's own training samples.

    * ``"LinearRegression"``: :class:`fastnn.LinearRegression` (closed form,
      one model per chroma channel) on the standardised features;
    * ``"MLPRegressor"``: scikit-learn's ``MLPRegressor`` with the
      colorizer's hidden sizes, epochs (``max_iter``, run in full: ``tol=0``)
      and mini-batch size, sigmoid (``"logistic"``) hidden units, its
      default Adam solver, on the same targets in [0, 1] as the network.

    Parameters
    ----------
    colorizer : Colorizer
        Prepared or fitted (its parameters and standardisation are used).
    X : ndarray, shape (n, n_features)
        Standardised features of the training pixels.
    chroma : ndarray, shape (n, 2)
        Their a*, b*.
    mlp : bool
        Train the MLPRegressor (slow: see ``seconds``).

    Returns
    -------
    predictors : dict
        Name -> function of standardised feature rows returning a*, b*.
    seconds : dict
        Name -> training seconds.

    Examples
    --------
    >>> model = Colorizer(random_state=0)
    >>> X, chroma = model._prepare(train_images)                    # doctest: +SKIP
    >>> predictors, seconds = fit_baselines(model, X, chroma, mlp=False)  # doctest: +SKIP
    >>> rows = evaluate(model, test_images, predictors)             # doctest: +SKIP
    """
    from sklearn.exceptions import ConvergenceWarning

    from .linear import LinearRegression

    params = colorizer._params
    predictors, seconds = {}, {}
    start = time.perf_counter()
    models = [LinearRegression().fit(X, chroma[:, k]) for k in range(2)]
    seconds["LinearRegression"] = time.perf_counter() - start
    predictors["LinearRegression"] = lambda F: np.column_stack([m.predict(F) for m in models])
    if mlp:
        from sklearn.neural_network import MLPRegressor

        reg = MLPRegressor(hidden_layer_sizes=params["hidden_layer_sizes"], activation="logistic",
                           batch_size=params["mini_batch_size"], max_iter=params["epochs"], tol=0.0,
                           n_iter_no_change=params["epochs"] + 1, shuffle=True,
                           random_state=params["random_state"])
        targets = _targets(chroma).astype(X.dtype)
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter reached: that is the point
            reg.fit(X, targets)
        seconds["MLPRegressor"] = time.perf_counter() - start
        predictors["MLPRegressor"] = lambda F: _chroma(reg.predict(F))
    return predictors, seconds


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

    colorizer._check_fitted()
    images = _check_image_list(images, "images")
    if names is not None and len(names) != len(images):
        raise ValueError(f"names has {len(names)} entries for {len(images)} images")
    predictors = {"fastnn": colorizer.predict_chroma, "grayscale": _constant((0.0, 0.0)),
                  "mean chroma": _constant(colorizer.chroma_mean_)}
    predictors.update(baselines or {})
    pixels = []
    for i, image in enumerate(images):  # check every image before the (slow) work
        name = _image_name(image, i, "images")
        rgb = _to_float(image, name)
        if rgb.ndim == 2:
            raise ValueError(f"{name} is a grayscale image: evaluate needs the colour original")
        _check_size(rgb, name, colorizer._params["patch_size"])
        pixels.append(rgb)
    rows = []
    for i, rgb in enumerate(pixels):
        lab = rgb2lab(rgb)
        label = names[i] if names is not None else _image_name(images[i], i, "images").strip("'")
        maps = colorizer._chroma_maps(lab[..., 0], predictors)
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


# -- the bundled photos --------------------------------------------------------------------

TRAIN_PHOTOS = ("chelsea", "rocket", "motorcycle_left", "motorcycle_right", "china", "flower")
"""Bundled photos the demo trains on."""

TEST_PHOTOS = ("astronaut", "coffee")
"""Bundled photos the demo keeps out of training (see docs/guide/colorize.md for the others)."""


def bundled_photos():
    """The colour photos shipped with scikit-image and scikit-learn (no download).

    Returns
    -------
    dict
        Name -> uint8 RGB array: scikit-image's ``astronaut``, ``chelsea``,
        ``coffee``, ``rocket``, ``motorcycle_left`` and ``motorcycle_right``
        (the two views of ``stereo_motorcycle``), scikit-learn's ``china``
        and ``flower`` (``load_sample_images``).

    Examples
    --------
    >>> photos = bundled_photos()
    >>> photos["astronaut"].shape
    (512, 512, 3)
    """
    from skimage import data
    from sklearn.datasets import load_sample_images

    left, right, _ = data.stereo_motorcycle()
    china, flower = load_sample_images().images
    return {"astronaut": data.astronaut(), "chelsea": data.chelsea(), "coffee": data.coffee(),
            "rocket": data.rocket(), "motorcycle_left": left, "motorcycle_right": right,
            "china": china, "flower": flower}


def compare(train_images, test_images, colorizer=None, *, names=None, mlp=True, progress=False,
            keep_images=False):
    """Train a colorizer and the baselines on the same samples; evaluate them on held-out images.

    Parameters
    ----------
    train_images, test_images : list of RGB arrays or file paths
    colorizer : Colorizer, optional
        Unfitted; default ``Colorizer(random_state=0)``.
    names : list of str, optional
        Names of the test images.
    mlp : bool
        Include scikit-learn's MLPRegressor (the slowest part).
    progress : bool
        Progress bar for the network's training.
    keep_images : bool
        Keep the RGB results in the rows (see :func:`evaluate`).

    Returns
    -------
    dict
        ``colorizer`` (fitted), ``rows`` (:func:`evaluate`'s),
        ``seconds`` (training seconds per method: ``fastnn``,
        ``LinearRegression``, ``MLPRegressor``), ``samples`` and
        ``features`` (the training matrix's shape).

    Examples
    --------
    >>> photos = bundled_photos()
    >>> result = compare([photos[n] for n in TRAIN_PHOTOS], [photos[n] for n in TEST_PHOTOS],
    ...                  names=list(TEST_PHOTOS), mlp=False)        # doctest: +SKIP
    >>> print(format_table(result["rows"]))                         # doctest: +SKIP
    """
    colorizer = Colorizer(random_state=0) if colorizer is None else colorizer
    X, chroma = colorizer._prepare(train_images)
    colorizer._train(X, chroma, progress)
    baselines, seconds = fit_baselines(colorizer, X, chroma, mlp=mlp)
    del X
    rows = evaluate(colorizer, test_images, baselines, names=names, keep_images=keep_images)
    return {"colorizer": colorizer, "rows": rows, "seconds": {"fastnn": colorizer.fit_seconds_, **seconds},
            "samples": colorizer.n_samples_, "features": colorizer.n_features_in_}
