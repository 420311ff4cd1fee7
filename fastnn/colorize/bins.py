"""The classification mode (``Colorizer(mode="bins")``): a*b* quantised into in-gamut bins.

Squared-error regression predicts the mean of a many-valued colour distribution, which is a
timid, brownish colour.  Zhang, Isola and Efros ("Colorful Image Colorization", ECCV 2016)
predict a distribution over quantised a*b* bins instead and decode it with the *annealed mean*:
the distribution sharpened by a temperature T (``z ** (1/T)``, renormalised), then averaged.
T = 1 gives the mean, T -> 0 the mode.

Here the bins are squares of side ``bin_size`` whose centre has an sRGB colour at some
lightness, within +-``CHROMA_RANGE`` (64).  The network has one sigmoid
output per bin, trained with the cross-entropy cost on soft targets: each pixel's chroma spread
over its ``SOFT_NEIGHBOURS`` (5) nearest bin centres with a Gaussian of sigma
``SOFT_SIGMA`` (5) (in a*b* units), normalised to sum 1.

Optional class rebalancing (``Colorizer(mode="bins", rebalance=0.5)``), after Zhang et al.: the
near-grey bins of common colours dominate the training pixels, so each pixel is weighted by
:func:`rebalancing_weights` of its nearest bin.  ``Network.fit`` takes no per-sample weights, so
the weights are applied by drawing the training rows again with probabilities proportional to
them (:func:`rebalanced_rows`).
"""
import functools

import numpy as np

from .colour import CHROMA_RANGE, in_gamut

SOFT_NEIGHBOURS = 5
SOFT_SIGMA = 5.0
_LIGHTNESS_PROBES = np.linspace(1.0, 99.0, 50)
_CHUNK = 1 << 14


@functools.lru_cache(maxsize=8)
def _centres(bin_size):
    step = float(bin_size)
    half = np.floor(CHROMA_RANGE / step) * step
    grid = np.arange(-half, half + step / 2, step)
    a, b = np.meshgrid(grid, grid, indexing="ij")
    ab = np.column_stack([a.ravel(), b.ravel()])
    lab = np.empty((len(_LIGHTNESS_PROBES), len(ab), 3))
    lab[..., 0] = _LIGHTNESS_PROBES[:, None]
    lab[..., 1:] = ab[None]
    keep = in_gamut(lab).any(axis=0)
    centres = ab[keep]
    centres.setflags(write=False)
    return centres


def bin_centres(bin_size):
    """The a*, b* centres of the in-gamut bins of side ``bin_size``, shape (n_bins, 2).

    Examples
    --------
    >>> centres = bin_centres(10)
    >>> centres.shape[1], bool((centres == 0).all(axis=1).any())
    (2, True)
    """
    if isinstance(bin_size, bool) or not isinstance(bin_size, (int, np.integer)) or bin_size < 1:
        raise ValueError(f"bin_size must be a positive integer, got {bin_size!r}")
    return _centres(int(bin_size))


def soft_targets(chroma, centres, dtype=np.float64):
    """Each row's chroma as a distribution over the bins: Gaussian weights on its nearest centres.

    Parameters
    ----------
    chroma : ndarray, shape (n, 2)
    centres : ndarray, shape (n_bins, 2)
    dtype : the targets' dtype

    Returns
    -------
    ndarray, shape (n, n_bins)
        Rows summing to 1.
    """
    chroma = np.clip(np.asarray(chroma, dtype=np.float64), -CHROMA_RANGE, CHROMA_RANGE)
    k = min(SOFT_NEIGHBOURS, len(centres))
    out = np.zeros((len(chroma), len(centres)), dtype=dtype)
    for start in range(0, len(chroma), _CHUNK):
        block = chroma[start:start + _CHUNK]
        d2 = ((block[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
        nearest = np.argpartition(d2, k - 1, axis=1)[:, :k]
        weights = np.exp(-np.take_along_axis(d2, nearest, axis=1) / (2 * SOFT_SIGMA ** 2))
        weights /= weights.sum(axis=1, keepdims=True)
        rows = np.arange(len(block))[:, None]
        out[start + rows, nearest] = weights
    return out


def annealed_mean(outputs, centres, temperature):
    """Decode per-bin outputs to a*, b*: the mean of the distribution sharpened by ``temperature``.

    Parameters
    ----------
    outputs : ndarray, shape (n, n_bins)
        Non-negative scores (the network's sigmoid outputs); each row is normalised first.
    centres : ndarray, shape (n_bins, 2)
    temperature : float
        > 0; 1 is the plain mean, smaller values move towards the most likely bin.

    Returns
    -------
    ndarray of float64, shape (n, 2)

    Examples
    --------
    >>> centres = np.array([[0.0, 0.0], [10.0, -20.0]])
    >>> annealed_mean(np.array([[0.0, 1.0]]), centres, 0.38)
    array([[ 10., -20.]])
    """
    scores = np.maximum(np.asarray(outputs, dtype=np.float64), 1e-300)
    logits = np.log(scores / scores.sum(axis=1, keepdims=True)) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    weights = np.exp(logits)
    weights /= weights.sum(axis=1, keepdims=True)
    return weights @ np.asarray(centres, dtype=np.float64)


def rebalancing_weights(targets, centres, mix):
    """Zhang et al.'s class-rebalancing weight of every bin, from the training pixels' soft targets.

    The bins' frequencies ``p`` (the mean of the soft targets) are smoothed by a Gaussian of sigma
    ``SOFT_SIGMA`` over the bin centres, mixed with the uniform distribution, and inverted:
    ``w = 1 / ((1 - mix) p + mix / Q)`` for ``Q`` bins, scaled so that the mean weight of a training
    pixel's bin is 1 (``sum(p w) = 1``).  A bin of rare colour gets a weight above 1.

    Parameters
    ----------
    targets : ndarray, shape (n, n_bins)
        Soft targets of the training pixels (:func:`soft_targets`), rows summing to 1.
    centres : ndarray, shape (n_bins, 2)
    mix : float
        In [0, 1]: the uniform distribution's share (Zhang et al.: 0.5).  1 gives every bin weight 1.

    Returns
    -------
    ndarray of float64, shape (n_bins,)

    Examples
    --------
    >>> centres = np.array([[0.0, 0.0], [40.0, 40.0]])
    >>> rebalancing_weights(np.array([[1.0, 0.0]] * 3 + [[0.0, 1.0]]), centres, 0.5).round(3)
    array([0.857, 1.429])
    """
    centres = np.asarray(centres, dtype=np.float64)
    frequency = np.asarray(targets, dtype=np.float64).mean(axis=0)
    d2 = ((centres[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
    smoothed = np.exp(-d2 / (2 * SOFT_SIGMA ** 2)) @ frequency
    smoothed /= smoothed.sum()
    weights = 1.0 / ((1.0 - mix) * smoothed + mix / len(centres))
    return weights / (smoothed @ weights)


def rebalanced_rows(targets, weights, rng):
    """Row indices of the training pixels drawn again (with replacement, as many as there are)
    with probabilities proportional to the weight of each pixel's nearest bin (its largest target).

    Parameters
    ----------
    targets : ndarray, shape (n, n_bins)
    weights : ndarray, shape (n_bins,)
        From :func:`rebalancing_weights`.
    rng : numpy.random.Generator

    Returns
    -------
    ndarray of int, shape (n,)
    """
    row_weights = np.asarray(weights, dtype=np.float64)[np.argmax(targets, axis=1)]
    return rng.choice(len(row_weights), len(row_weights), p=row_weights / row_weights.sum())
