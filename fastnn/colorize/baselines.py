"""Baselines: a linear model and scikit-learn's MLPRegressor trained on the colorizer's own
samples, and :func:`compare`, which trains all of them and evaluates them on held-out photos.
"""
import time
import warnings

import numpy as np

from .colour import from_outputs, to_targets
from .estimator import Colorizer
from .evaluation import evaluate


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
    >>> X, chroma = model.prepare(train_images)                     # doctest: +SKIP
    >>> predictors, seconds = fit_baselines(model, X, chroma, mlp=False)  # doctest: +SKIP
    >>> rows = evaluate(model, test_images, predictors)             # doctest: +SKIP
    """
    from sklearn.exceptions import ConvergenceWarning

    from ..linear import LinearRegression

    params = colorizer.params_
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
        targets = to_targets(chroma).astype(X.dtype)
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter reached: that is the point
            reg.fit(X, targets)
        seconds["MLPRegressor"] = time.perf_counter() - start
        predictors["MLPRegressor"] = lambda F: from_outputs(reg.predict(F))
    return predictors, seconds


def compare(train_images, test_images, colorizer=None, *, names=None, mlp=True, progress=False,
            keep_images=False, unrefined=False):
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
    unrefined : bool
        Also evaluate the network's chroma before the refinement (see :func:`evaluate`).

    Returns
    -------
    dict
        ``colorizer`` (fitted), ``rows`` (:func:`evaluate`'s),
        ``seconds`` (training seconds per method: ``fastnn``,
        ``LinearRegression``, ``MLPRegressor``), ``samples`` and
        ``features`` (the training matrix's shape).

    Examples
    --------
    >>> from fastnn.colorize import TEST_PHOTOS, TRAIN_PHOTOS, bundled_photos, format_table
    >>> photos = bundled_photos()
    >>> result = compare([photos[n] for n in TRAIN_PHOTOS], [photos[n] for n in TEST_PHOTOS],
    ...                  names=list(TEST_PHOTOS), mlp=False)        # doctest: +SKIP
    >>> print(format_table(result["rows"]))                         # doctest: +SKIP
    """
    colorizer = Colorizer(random_state=0) if colorizer is None else colorizer
    X, chroma = colorizer.prepare(train_images)
    colorizer.fit_samples(X, chroma, progress)
    baselines, seconds = fit_baselines(colorizer, X, chroma, mlp=mlp)
    del X
    rows = evaluate(colorizer, test_images, baselines, names=names, keep_images=keep_images,
                    unrefined=unrefined)
    return {"colorizer": colorizer, "rows": rows, "seconds": {"fastnn": colorizer.fit_seconds_, **seconds},
            "samples": colorizer.n_samples_, "features": colorizer.n_features_in_}
