"""The :class:`Colorizer` estimator: the book's sigmoid network predicting chroma from lightness."""
import os
import time

import numpy as np

from .. import persistence
from .._progress import EpochBar
from ..network import Network
from .colour import from_outputs, lab_to_rgb, to_targets
from .features import DEFAULT_CONTEXT_SCALES, feature_planes, gather, row_batches
from .fileformat import FORMAT_NAME, colorizer_arrays, colorizer_from_arrays
from .images import check_image_list, check_size, image_name, lightness, to_float
from .bins import annealed_mean, bin_centres, rebalanced_rows, rebalancing_weights, soft_targets
from .params import PARAMS, check_params, output_count
from .refine import refine_chroma

GRAY_CHROMA = 1.0
"""An RGB image whose |a*| and |b*| never exceed this holds no colour to learn."""

REBALANCE_STREAM = 1
"""With a network's seed, the seed of the random stream that draws its rebalanced training pixels."""


class _EarlyStopping:
    """Tracks the held-out pixels' a*b* error per epoch; keeps the best network's parameters."""

    def __init__(self, X, chroma, patience, decode):
        self.X, self.chroma, self.patience, self.decode = X, chroma, patience, decode
        self.errors, self.best_epoch, self.best = [], 0, None

    def update(self, net):
        """Record this epoch's error; True (stop) after ``patience`` epochs without improvement."""
        error = float(np.mean(np.abs(self.decode(net.predict_proba(self.X)) - self.chroma)))
        self.errors.append(error)
        if self.best is None or error < min(self.errors[:-1]):
            self.best_epoch = len(self.errors)
            self.best = ([w.copy() for w in net.weights], [b.copy() for b in net.biases])
        return len(self.errors) - self.best_epoch >= self.patience

    def restore(self, net):
        """Put the best epoch's parameters back into ``net``."""
        if self.best is not None:
            net.weights, net.biases = self.best


class Colorizer:
    """Predicts the colour of grayscale photos with fastnn's sigmoid :class:`~fastnn.Network`.

    The network sees the lightness L* around a pixel (see :mod:`fastnn.colorize`
    for the features) and outputs its chroma a*, b*.  Follows
    scikit-learn's conventions: parameters are stored by ``__init__`` and
    checked by :meth:`fit`, which returns self; fitted attributes end in ``_``.

    The defaults were chosen on the bundled photos (trained on
    :data:`~fastnn.colorize.TRAIN_PHOTOS`, checked on :data:`~fastnn.colorize.TEST_PHOTOS` and on the
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
    lmbda : float, default 5.0
        L2 regularisation of the network's weights (chapter 3, eq. 93; ``n`` is the number of
        training pixels).  5 lowered the error on photos not trained on (docs/guide/colorize.md).
    cost : {"cross-entropy", "quadratic"}, default "cross-entropy"
    dtype : {"float32", "float64"}, default "float32"
    samples_per_image : int, default 30000
        Pixels drawn (uniformly, without replacement) from each training
        image; all pixels of a smaller image.
    mode : {"regression", "bins"}, default "regression"
        ``"regression"``: two sigmoid outputs, a* and b*.  ``"bins"``: one
        sigmoid output per in-gamut a*b* bin (:mod:`fastnn.colorize.bins`),
        trained on soft targets and decoded by the annealed mean: more vivid
        colour, usually a higher per-pixel error.
    bin_size : int, default 10
        Side of the a*b* bins in ``"bins"`` mode (10: 143 bins).
    temperature : float, default 0.38
        The annealed mean's temperature in ``"bins"`` mode (Zhang et al.'s
        value): 1 is the distribution's mean, towards 0 its most likely bin.
    rebalance : float or None, default None
        ``"bins"`` mode only: class rebalancing after Zhang et al., the
        uniform distribution's share in [0, 1] (their value: 0.5).  Each
        training pixel is weighted by the rarity of its nearest bin
        (:func:`~fastnn.colorize.bins.rebalancing_weights`), applied by
        drawing each network's training pixels again with probabilities
        proportional to the weights: more vivid colour, a higher per-pixel
        error on the bundled photos (docs/guide/colorize.md).  None: off.
    validation_fraction : float or None, default None
        Early stopping: this fraction of the training pixels (drawn at
        random) is held out, the a*b* error of their prediction is measured
        after every epoch, training stops after ``n_iter_no_change`` epochs
        without a lower error, and the network of the best epoch is kept.
        None: no early stopping, every epoch on all the pixels.
    n_iter_no_change : int, default 3
        Epochs without improvement before early stopping.
    texture_scales : tuple of int, default ()
        Texture features: for each window side in the tuple, the standard
        deviation of L* over that window around the pixel (one feature per
        side, after the patch and the coarse neighbourhoods).  They tell
        smooth regions (sky, skin, paint) from textured ones (fur, foliage,
        gravel) of the same lightness.  ``(5, 11, 23)`` lowered the error of
        the same-scene transfer (docs/guide/colorize.md).  Sides are integers
        >= 2, distinct.
    context_scales : tuple of int, default (4, 16)
        The coarse neighbourhoods: for each step in the tuple, 5 x 5 samples
        of the lightness blurred by a Gaussian of sigma ``step / 2``, ``step``
        pixels apart (a 17 x 17 window for 4, 65 x 65 for 16; 25 features
        each).  ``(4,)`` alone lowered the error between the halves of a
        photo, whose layouts differ, and raised it between two views of one
        scene (docs/guide/colorize.md).  Steps are integers >= 1, distinct;
        ``()`` for none.
    n_networks : int, default 1
        Networks trained on the same pixels from different initial weights
        and shuffles (seeds drawn from ``random_state``); the prediction is
        the mean of their a*, b*.  Averaging lowers the error of networks
        that disagree where the training data says little (on the inner
        splits of the same-scene cases, 5 networks had a lower error than
        the mean of their members' in 17 of 18 cases,
        docs/guide/colorize.md), at ``n_networks`` times the training and
        prediction time.
    random_state : int or None
        Seeds the pixel draws and the network (its initial weights and
        shuffles): the same value gives the same colorizer.

    Attributes
    ----------
    params_ : dict
        The parameters the colorizer was fitted with, checked (``hidden_layer_sizes`` a tuple,
        ``dtype`` a name); :meth:`set_params` after fitting does not change them.
    network_ : fastnn.Network
        Sizes ``[n_features_in_, *hidden_layer_sizes, 2]``, e.g. ``[99, 32, 32, 2]`` (one output
        per bin instead of 2 in ``"bins"`` mode; one input more per texture scale, 25 per context
        scale).  The first of ``networks_``.
    networks_ : list of fastnn.Network
        The ``n_networks`` networks, all of the same sizes.
    n_features_in_ : int
    feature_mean_, feature_scale_ : ndarray, shape (n_features,)
        Standardisation of the features (training mean and std).
    chroma_mean_ : ndarray, shape (2,)
        Mean a*, b* of the training pixels (the "mean chroma" baseline).
    n_samples_ : int
        Training samples (pixels).
    fit_seconds_ : float
        Seconds spent training the networks (features excluded).
    best_epoch_ : int
        With early stopping, the epoch (1-based) whose network was kept; else ``epochs``.  Of
        the first network; ``best_epochs_`` lists every network's.
    best_epochs_ : list of int
    validation_errors_ : list of float
        With early stopping, the held-out pixels' mean absolute a*b* error after each epoch
        (the first network's); else empty.

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
                 eta=1.5, lmbda=5.0, cost="cross-entropy", dtype="float32", samples_per_image=30000,
                 mode="regression", bin_size=10, temperature=0.38, rebalance=None, refine="guided",
                 refine_radius=16, refine_eps=0.01, validation_fraction=None, n_iter_no_change=3,
                 texture_scales=(), context_scales=DEFAULT_CONTEXT_SCALES, n_networks=1, random_state=None):
        self.patch_size = patch_size
        self.hidden_layer_sizes = hidden_layer_sizes
        self.epochs = epochs
        self.mini_batch_size = mini_batch_size
        self.eta = eta
        self.lmbda = lmbda
        self.cost = cost
        self.dtype = dtype
        self.samples_per_image = samples_per_image
        self.mode = mode
        self.bin_size = bin_size
        self.temperature = temperature
        self.rebalance = rebalance
        self.refine = refine
        self.refine_radius = refine_radius
        self.refine_eps = refine_eps
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.texture_scales = texture_scales
        self.context_scales = context_scales
        self.n_networks = n_networks
        self.random_state = random_state

    def __repr__(self):
        args = ", ".join(f"{name}={getattr(self, name)!r}" for name in PARAMS)
        return f"Colorizer({args})"

    def get_params(self, deep=True):
        """The constructor's parameters (scikit-learn convention), a dict."""
        return {name: getattr(self, name) for name in PARAMS}

    def set_params(self, **params):
        """Set constructor parameters; returns self.  Unknown names raise ValueError."""
        for name, value in params.items():
            if name not in PARAMS:
                raise ValueError(f"invalid parameter {name!r} for Colorizer; valid: {list(PARAMS)}")
            setattr(self, name, value)
        return self

    def _checked_params(self):
        """The parameters, validated, as a dict (raises ValueError/TypeError)."""
        return check_params(self.get_params())

    # -- training ----------------------------------------------------------------------
    def _load_training_images(self, images, patch_size):
        """Every training image as float RGB, all checked before any work starts."""
        from skimage.color import rgb2lab

        images = check_image_list(images, "images")
        labs = []
        for i, image in enumerate(images):
            name = image_name(image, i, "images")
            pixels = to_float(image, name)
            if pixels.ndim == 2:
                raise ValueError(f"{name} is a grayscale image: no colour to learn (fit needs colour photos)")
            check_size(pixels, name, patch_size)
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
            views = feature_planes(lab[..., 0], params["patch_size"], params["texture_scales"],
                                   params["context_scales"])
            features.append(gather(views, (rows, cols), np.dtype(params["dtype"])))
            chroma.append(lab[rows, cols, 1:])
        return np.concatenate(features), np.concatenate(chroma)

    def _standardise(self, features):
        """Features scaled with the training mean/std, in the network's dtype."""
        dtype = np.dtype(self.params_["dtype"])
        return ((features - self.feature_mean_.astype(dtype)) / self.feature_scale_.astype(dtype)).astype(
            dtype, copy=False)

    def prepare(self, images):
        """Check the parameters and images, draw the training samples, set the standardisation.

        The first half of :meth:`fit` (``fit(images)`` is ``fit_samples(*prepare(images))``):
        use it to train other models on the colorizer's own samples (see
        :func:`fit_baselines`).  Sets ``params_``, ``feature_mean_``,
        ``feature_scale_``, ``chroma_mean_``, ``n_features_in_`` and
        ``n_samples_``, and forgets a previously trained network.

        Parameters
        ----------
        images : list of arrays or file paths
            As in :meth:`fit`.

        Returns
        -------
        X : ndarray, shape (n_samples, n_features)
            Standardised features of the sampled pixels, in the colorizer's dtype.
        chroma : ndarray of float64, shape (n_samples, 2)
            Their a*, b*.

        Raises
        ------
        TypeError, ValueError
            As :meth:`fit`.

        Examples
        --------
        >>> X, chroma = Colorizer(random_state=0).prepare(train_images)   # doctest: +SKIP
        """
        params = self._checked_params()
        rng = np.random.default_rng(params["random_state"])
        raw, chroma = self._sample(images, params, rng)
        for name in ("network_", "networks_"):  # unfitted until the new networks are trained
            self.__dict__.pop(name, None)
        self.feature_mean_ = raw.mean(axis=0, dtype=np.float64)
        scale = raw.std(axis=0, dtype=np.float64)
        self.feature_scale_ = np.where(scale > 1e-12, scale, 1.0)
        self.chroma_mean_ = chroma.mean(axis=0)
        self.n_features_in_ = raw.shape[1]
        self.n_samples_ = raw.shape[0]
        self.params_ = params
        # the first seed is drawn as by fastnn before n_networks, so one network is the same as then
        self._network_seeds = [int(rng.integers(2**63)) for _ in range(params["n_networks"])]
        return self._standardise(raw), chroma

    def fit_samples(self, X, chroma, progress=False):
        """Train ``n_networks`` new networks on the samples that :meth:`prepare` returned.

        The second half of :meth:`fit`; sets ``network_``, ``networks_`` and ``fit_seconds_``.

        Parameters
        ----------
        X : ndarray, shape (n_samples, n_features)
            Standardised features, as returned by :meth:`prepare`.
        chroma : ndarray, shape (n_samples, 2)
            Their a*, b*.
        progress : bool
            As in :meth:`fit`.

        Returns
        -------
        self : the fitted colorizer

        Raises
        ------
        ValueError
            If :meth:`prepare` was not called first, or ``X`` does not have
            its number of features.
        """
        if not hasattr(self, "_network_seeds"):
            raise ValueError("call prepare(images) before fit_samples(X, chroma)")
        if np.ndim(X) != 2 or np.shape(X)[1] != self.n_features_in_:
            raise ValueError(f"X must have shape (n_samples, {self.n_features_in_}) as prepare() returned, "
                             f"got {np.shape(X)}")
        params = self.params_
        start = time.perf_counter()
        networks, stoppers, bar = [], [], None
        try:
            for seed in self._network_seeds:
                train_X, train_chroma, stopper = self._early_stopping(X, chroma, params, seed)
                if bar is None:  # one bar over every network's epochs
                    bar = EpochBar(progress, params["epochs"] * len(self._network_seeds), len(train_X))
                net = self._train_network(train_X, train_chroma, seed, stopper, bar)
                if stopper is not None:
                    stopper.restore(net)
                networks.append(net)
                stoppers.append(stopper)
        finally:
            if bar is not None:
                bar.close()
        self.fit_seconds_ = time.perf_counter() - start
        self.best_epochs_ = [params["epochs"] if stopper is None else stopper.best_epoch for stopper in stoppers]
        self.best_epoch_ = self.best_epochs_[0]
        self.validation_errors_ = [] if stoppers[0] is None else stoppers[0].errors
        self.networks_, self.network_ = networks, networks[0]
        return self

    def _train_network(self, X, chroma, seed, stopper, bar):
        """One network trained on ``X``, ``chroma`` from ``seed`` (stopped early by ``stopper``)."""
        params = self.params_
        sizes = [X.shape[1], *params["hidden_layer_sizes"], output_count(params)]
        net = Network(sizes, seed=seed, dtype=params["dtype"], cost=params["cost"], init="default")
        if params["mode"] == "bins":
            centres = bin_centres(params["bin_size"])
            targets = soft_targets(chroma, centres, net.dtype)
            if params["rebalance"] is not None:  # drawn again: each network with its own seed
                weights = rebalancing_weights(targets, centres, params["rebalance"])
                rows = rebalanced_rows(targets, weights, np.random.default_rng([seed, REBALANCE_STREAM]))
                X, targets = X[rows], targets[rows]
        else:
            targets = to_targets(chroma).astype(net.dtype)

        def after_epoch(network, record):
            bar.update(network, record)
            return stopper is not None and stopper.update(network)

        net.fit(X, targets, epochs=params["epochs"], mini_batch_size=params["mini_batch_size"],
                eta=params["eta"], lmbda=params["lmbda"], callback=after_epoch)
        return net

    def _early_stopping(self, X, chroma, params, seed):
        """The training rows and, with ``validation_fraction``, a stopper watching the held-out rest
        (drawn with ``seed``, the network's)."""
        fraction = params["validation_fraction"]
        if fraction is None:
            return X, chroma, None
        held = int(round(fraction * len(X)))
        if held < 1 or held >= len(X):
            raise ValueError(f"validation_fraction {fraction} of {len(X)} training pixels leaves no "
                             f"validation or no training pixel")
        order = np.random.default_rng(seed).permutation(len(X))
        val, train = order[:held], order[held:]
        stopper = _EarlyStopping(X[val], chroma[val], params["n_iter_no_change"], self._decode)
        return X[train], chroma[train], stopper

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
        return self.fit_samples(*self.prepare(images), progress=progress)

    # -- prediction --------------------------------------------------------------------
    def check_is_fitted(self):
        """Raise ValueError if the colorizer has not been fitted (or loaded)."""
        if not hasattr(self, "network_"):
            raise ValueError("this Colorizer is not fitted yet: call fit(images) or Colorizer.load(path)")

    def chroma_maps(self, L, predictors):
        """Chroma images of several predictors of the same lightness image, in batches of whole rows.

        The features of each batch are computed once and given to every
        predictor (what :func:`evaluate` compares).

        Parameters
        ----------
        L : ndarray, shape (h, w)
            L* in [0, 100], at least ``patch_size`` wide and high.
        predictors : dict
            Name -> function of standardised feature rows returning a*, b*
            per row, such as :meth:`predict_chroma` or :func:`fit_baselines`'s.

        Returns
        -------
        dict
            Name -> ndarray of shape (h, w, 2): a*, b* per pixel.
        """
        self.check_is_fitted()
        height, width = L.shape
        views = feature_planes(L, self.params_["patch_size"], self.params_["texture_scales"],
                               self.params_["context_scales"])
        maps = {name: np.empty((height, width, 2)) for name in predictors}
        for rows in row_batches(height, width):
            X = self._standardise(gather(views, rows, np.dtype(self.params_["dtype"])))
            for name, predict in predictors.items():
                maps[name][rows] = np.asarray(predict(X)).reshape(-1, width, 2)
        return maps

    def predict_chroma(self, X):
        """a*, b* predicted for standardised feature rows: the network's, or the mean of the
        ``n_networks`` networks' (each decoded first).

        Parameters
        ----------
        X : ndarray, shape (n, n_features)

        Returns
        -------
        ndarray of float64, shape (n, 2)
        """
        chroma = self._decode(self.networks_[0].predict_proba(X))
        for net in self.networks_[1:]:
            chroma += self._decode(net.predict_proba(X))
        chroma /= len(self.networks_)  # exact for one network: x / 1 is x
        return chroma

    def _decode(self, outputs):
        """The network's outputs -> a*, b* (the sigmoid scaling, or the bins' annealed mean)."""
        params = self.params_
        if params["mode"] == "bins":
            return annealed_mean(outputs, bin_centres(params["bin_size"]), params["temperature"])
        return from_outputs(outputs)

    def refine_chroma(self, L, chroma):
        """The chroma maps after the colorizer's refinement (unchanged if ``refine`` is None).

        Parameters
        ----------
        L : ndarray, shape (h, w)
            The lightness the chroma belongs to.
        chroma : ndarray, shape (h, w, 2)
            a*, b* per pixel, e.g. from :meth:`chroma_maps`.

        Returns
        -------
        ndarray of float64, shape (h, w, 2)
        """
        self.check_is_fitted()
        params = self.params_
        if params["refine"] is None:
            return np.asarray(chroma, dtype=np.float64)
        return refine_chroma(L, chroma, params["refine_radius"], params["refine_eps"])

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
            (refined if ``refine`` is set; reduced where a colour would leave the sRGB gamut, see
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
        self.check_is_fitted()
        name = image_name(gray, None, "gray")
        pixels = to_float(gray, name)
        check_size(pixels, name, self.params_["patch_size"])
        height, width = pixels.shape[:2]
        L = np.empty((height, width))
        for rows in row_batches(height, width):  # colour conversions in batches too: bounded memory
            L[rows] = lightness(pixels[rows])
        chroma = self.refine_chroma(L, self.chroma_maps(L, {"fastnn": self.predict_chroma})["fastnn"])
        rgb = np.empty((height, width, 3))
        for rows in row_batches(height, width):
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
        from .evaluation import evaluate

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
        self.check_is_fitted()
        arrays = colorizer_arrays(self)
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
        return colorizer_from_arrays(cls, arrays, path)
