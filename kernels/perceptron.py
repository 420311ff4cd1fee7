"""The perceptron learning rule (chapter 1 of the book) as a Numba kernel.

A perceptron outputs 1 if w . x + b > 0 and 0 otherwise.  Arrays are float64
and C-contiguous; the API in :mod:`fastnn.perceptron` guarantees that.
"""
from numba import njit


@njit(cache=True)
def perceptron_output(X, i, w, b):
    """Return the perceptron's output for sample ``i``: 1.0 if w . x + b > 0, else 0.0.

    Parameters
    ----------
    X : ndarray, shape (n, d)
    i : int
        Row of ``X``.
    w : ndarray, shape (d,)
    b : float

    Returns
    -------
    float
    """
    z = b
    for j in range(X.shape[1]):
        z += w[j] * X[i, j]
    return 1.0 if z > 0.0 else 0.0


@njit(cache=True)
def perceptron_fit(X, y, w, b, eta, max_epochs, errors):
    """Run the perceptron learning rule in place until an epoch has no mistake.

    Samples are visited in order.  For each one, with output ``o``:
    ``w <- w + eta (y - o) x`` and ``b <- b + eta (y - o)`` (Rosenblatt's rule).

    Parameters
    ----------
    X : ndarray, shape (n, d)
    y : ndarray, shape (n,)
        Targets, 0.0 or 1.0.
    w : ndarray, shape (d,)
        Weights, updated in place.
    b : ndarray, shape (1,)
        Bias, updated in place.
    eta : float
        Learning rate (> 0).
    max_epochs : int
        Maximum number of passes over the data.
    errors : ndarray of int64, shape (max_epochs,)
        Filled with the number of mistakes made in each epoch.

    Returns
    -------
    int
        The 1-based epoch in which no sample was misclassified, or 0 if that
        never happened within ``max_epochs``.
    """
    for epoch in range(max_epochs):
        mistakes = 0
        for i in range(X.shape[0]):
            err = y[i] - perceptron_output(X, i, w, b[0])
            if err != 0.0:
                mistakes += 1
                for j in range(X.shape[1]):
                    w[j] += eta * err * X[i, j]
                b[0] += eta * err
        errors[epoch] = mistakes
        if mistakes == 0:
            return epoch + 1
    return 0
