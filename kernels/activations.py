"""Sigmoid neuron activations as scalar Numba kernels (chapter 1, equations 3 and 4).

Both work on float64 and float32 without promoting float32 to float64: every
constant is made in the argument's own type by :func:`one_like` / :func:`zero_like`
(which the other kernels use too).
"""
import math

import numpy as np
from numba import njit, types
from numba.extending import overload


def one_like(z):
    """Return 1 in the floating type of ``z`` (plain-Python version)."""
    return type(z)(1)


@overload(one_like)
def _one_like_jit(z):
    # Compiled version: a float32 argument gets a float32 one, anything else float64.
    if z == types.float32:
        return lambda z: np.float32(1)
    return lambda z: 1.0


def inf_like(z):
    """Return +inf in the floating type of ``z`` (plain-Python version)."""
    return type(z)(math.inf)


@overload(inf_like)
def _inf_like_jit(z):
    # Compiled version: comparing a float32 with a float64 inf would convert it to float64.
    if z == types.float32:
        return lambda z: np.float32(np.inf)
    return lambda z: np.inf


def zero_like(z):
    """Return 0 in the floating type of ``z`` (plain-Python version)."""
    return type(z)(0)


@overload(zero_like)
def _zero_like_jit(z):
    # Compiled version, as for one_like: accumulators start at a zero of theta's type.
    if z == types.float32:
        return lambda z: np.float32(0)
    return lambda z: 0.0


@njit(cache=True)
def sigmoid(z):
    """sigma(z) = 1 / (1 + exp(-z)) (equation 3), never overflowing.

    exp() is only ever called on a non-positive number, ``-abs(z)``, so it cannot
    overflow: with ``e = exp(-abs(z))``, sigma(z) = 1 / (1 + e) for z >= 0 and the
    equivalent form e / (1 + e) for z < 0.  Only the numerator depends on the
    sign (a select, no branch), so a loop of sigmoids has no unpredictable
    branch; the bits are those of the two-branch form.  The limits are exact:
    sigmoid(-inf) == 0 and sigmoid(+inf) == 1; NaN gives NaN.

    Examples
    --------
    >>> from fastnn.kernels.activations import sigmoid
    >>> sigmoid(0.0), sigmoid(-1000.0), sigmoid(1000.0)
    (0.5, 0.0, 1.0)
    """
    one = one_like(z)
    e = math.exp(-abs(z))
    numerator = one if z >= 0 else e
    return numerator / (one + e)


@njit(cache=True)
def sigmoid_prime(z):
    """Derivative sigma'(z) = sigma(z) (1 - sigma(z)) (chapter 2, used in BP1-BP2)."""
    s = sigmoid(z)
    return s * (one_like(z) - s)
