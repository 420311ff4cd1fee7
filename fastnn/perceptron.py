"""Perceptrons (chapter 1 of the book): logic gates, the NAND circuit, the learning rule.

A perceptron outputs 1 if w . x + b > 0 and 0 otherwise.  The gates use
the book's NAND weights (w = (-2, -2), b = 3) and the same scale for the
others; because NAND is universal, :func:`nand_xor` and :func:`nand_adder`
build XOR and the book's bitwise adder from NAND perceptrons alone.
"""
import warnings

import numpy as np

from . import _validation as _v
from ._stacklevel import outside_fastnn
from .kernels.perceptron import perceptron_fit
from .exceptions import ConvergenceWarning

__all__ = ["Perceptron", "nand_xor", "nand_adder"]


def _check_binary(y, n_samples):
    """Return ``y`` as float64 0.0/1.0 labels, or raise naming the bad values."""
    y = np.asarray(y)
    if y.ndim != 1 or y.shape[0] != n_samples:
        raise ValueError(f"y must have shape ({n_samples},), got shape {y.shape}")
    if not (np.issubdtype(y.dtype, np.number) or y.dtype == np.bool_):
        raise TypeError(f"y must hold 0/1 labels, got dtype {y.dtype}")
    bad = ~np.isin(y, (0, 1))
    if bad.any():
        raise ValueError(f"a perceptron needs binary labels 0 or 1, got "
                         f"{np.unique(y[bad])[:5].tolist()}")
    return y.astype(np.float64)


class Perceptron:
    """A perceptron: output 1 where the weighted input plus bias is positive, else 0.

    The output is 1 if w . x + b > 0 and 0 otherwise (the book's eq. 2).

    Parameters
    ----------
    weights : array-like, shape (d,)
        Initial weights w.
    bias : float, default 0
        Initial bias b.

    Attributes
    ----------
    weights : ndarray, shape (d,)
        Current weights (changed by :meth:`~fastnn.Perceptron.fit`).
    bias : float
        Current bias.
    converged_epoch_ : int or None
        After :meth:`~fastnn.Perceptron.fit`: the 1-based epoch that made no mistake, or None if
        there was none within ``max_epochs``.
    errors_ : ndarray of int
        Mistakes per epoch during the last fit.
    n_epochs_ : int
        Epochs run by the last fit.
    """

    def __init__(self, weights, bias=0.0):
        self.weights = _v.check_array(weights, "weights", ndim=1)
        self.bias = _v.check_float(bias, "bias")

    def __repr__(self):
        return f"Perceptron(weights={self.weights.tolist()}, bias={self.bias:g})"

    @classmethod
    def nand(cls):
        """NAND gate with the book's weights w = (-2, -2), b = 3."""
        return cls([-2.0, -2.0], 3.0)

    @classmethod
    def and_(cls):
        """AND gate: w = (2, 2), b = -3 (NAND with all signs flipped)."""
        return cls([2.0, 2.0], -3.0)

    @classmethod
    def or_(cls):
        """OR gate: w = (2, 2), b = -1."""
        return cls([2.0, 2.0], -1.0)

    @classmethod
    def not_(cls):
        """NOT gate (one input): w = (-2,), b = 1."""
        return cls([-2.0], 1.0)

    def predict(self, X):
        """Outputs (0 or 1, int64) for each row of ``X`` of shape (n, d)."""
        X = _v.check_array(X, "X", n_features=self.weights.shape[0])
        return (X @ self.weights + self.bias > 0).astype(np.int64)

    def fit(self, X, y, max_epochs=100, eta=1.0):
        """Run the perceptron learning rule from the current weights.

        Each misclassified sample x with label y and output o moves
        ``w += eta (y - o) x`` and ``b += eta (y - o)``; samples are visited in
        order.  Stops at the first epoch without mistakes (the data are then
        linearly separated); otherwise, e.g. for XOR, stops after
        ``max_epochs`` with a :class:`~fastnn.ConvergenceWarning`.

        Parameters
        ----------
        X : array-like, shape (n, d)
        y : array-like, shape (n,)
            Labels 0 or 1.
        max_epochs : int, default 100
        eta : float, default 1.0

        Returns
        -------
        self
        """
        X = _v.check_array(X, "X", n_features=self.weights.shape[0])
        y = _check_binary(y, X.shape[0])
        max_epochs = _v.check_int(max_epochs, "max_epochs", 1)
        eta = _v.check_float(eta, "eta", positive=True)
        w, b = self.weights.copy(), np.array([self.bias])
        errors = np.zeros(max_epochs, dtype=np.int64)
        epoch = int(perceptron_fit(X, y, w, b, eta, max_epochs, errors))
        if not (np.isfinite(w).all() and np.isfinite(b).all()):  # keep the old, finite weights
            raise ValueError("the perceptron's weights overflowed to infinity or NaN (inputs near "
                             "the float64 maximum); scale X or lower eta")
        self.weights, self.bias = w, float(b[0])
        self.n_epochs_ = epoch or max_epochs
        self.errors_ = errors[:self.n_epochs_]
        self.converged_epoch_ = epoch or None
        if not epoch:
            warnings.warn(f"perceptron did not converge in {max_epochs} epochs "
                          f"({self.errors_[-1]} mistakes in the last one): the data may not be "
                          f"linearly separable", ConvergenceWarning,
                          stacklevel=outside_fastnn())
        return self

    def score(self, X, y):
        """Fraction of rows of ``X`` whose output equals the 0/1 label in ``y``."""
        X = _v.check_array(X, "X", n_features=self.weights.shape[0])
        return float(np.mean(self.predict(X) == _check_binary(y, X.shape[0])))


def _nand(a, b):
    """NAND of two 0/1 arrays, computed by the book's NAND perceptron."""
    return Perceptron.nand().predict(np.column_stack([a, b]))


def _nand_bits(X):
    """Validate an (n, 2) array of 0/1 inputs and return its two columns."""
    X = _v.check_array(X, "X", n_features=2)
    if not np.isin(X, (0, 1)).all():
        raise ValueError("the NAND circuits take bits: every entry of X must be 0 or 1")
    return X[:, 0], X[:, 1]


def nand_xor(X):
    """XOR of the two columns of ``X`` (n, 2), from four NAND perceptrons.

    With n = NAND(x1, x2): XOR = NAND(NAND(x1, n), NAND(x2, n)).
    """
    x1, x2 = _nand_bits(X)
    n = _nand(x1, x2)
    return _nand(_nand(x1, n), _nand(x2, n))


def nand_adder(X):
    """The book's adder of two bits from NAND perceptrons.

    Returns
    -------
    sum_bit : ndarray of int64, shape (n,)
        x1 XOR x2 (four NANDs as in :func:`nand_xor`).
    carry_bit : ndarray of int64, shape (n,)
        x1 AND x2 = NAND(n, n), with n = NAND(x1, x2) shared with the sum.

    Examples
    --------
    >>> import numpy as np
    >>> from fastnn.perceptron import nand_adder
    >>> sum_bit, carry_bit = nand_adder(np.array([[0, 0], [0, 1], [1, 0], [1, 1]]))
    >>> sum_bit.tolist(), carry_bit.tolist()
    ([0, 1, 1, 0], [0, 0, 0, 1])
    """
    x1, x2 = _nand_bits(X)
    n = _nand(x1, x2)
    return _nand(_nand(x1, n), _nand(x2, n)), _nand(n, n)
