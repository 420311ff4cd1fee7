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


# ----------------------------------------------------------------------------- exp
# math.exp is a call into the C library, one value at a time: in a loop of sigmoids it keeps the
# loop scalar.  exp_nonpositive is the same function in plain arithmetic, which LLVM vectorises:
# x = n ln 2 + r with |r| <= ln(2) / 2, exp(x) = 2^n exp(r), exp(r) by its Taylor series.
LOG2E = 1.4426950408889634
"""log2(e), float64."""
LN2_HI = 6.93147180369123816490e-01
"""ln 2's leading 32 bits (float64): n * LN2_HI is exact for any integer n of magnitude below 2^21."""
LN2_LO = 1.90821492927058770002e-10
"""ln 2 - LN2_HI (float64)."""
EXP_LOW = -746.0
"""Arguments below this are taken as this (float64): exp(x) rounds to 0 from -745.14 down, and any
value from -1416 to -745.14 would give the same results (both halves of 2^n stay normal numbers)."""
LOG2E_32 = np.float32(1.442695)
LN2_HI_32 = np.float32(0.693359375)
"""ln 2's leading 9 bits (float32)."""
LN2_LO_32 = np.float32(-2.12194440e-4)
EXP_LOW_32 = np.float32(-104.0)
"""Arguments below this are taken as this (float32): exp(x) rounds to 0 from -103.98 down, and any
value from -174 to -103.98 would give the same results."""


@njit(fastmath={"contract"}, cache=True)
def _exp_nonpositive_64(x):
    xc = x if x > EXP_LOW else EXP_LOW  # also NaN -> EXP_LOW (put back at the end)
    n = np.floor(xc * LOG2E + 0.5)
    r = (xc - n * LN2_HI) - n * LN2_LO
    # exp(r) = 1 + r + r^2 (1/2! + r/3! + ... + r^11/13!): the terms left out are below 6e-18 exp(r)
    p = 1.0 / 6227020800.0
    p = p * r + 1.0 / 479001600.0
    p = p * r + 1.0 / 39916800.0
    p = p * r + 1.0 / 3628800.0
    p = p * r + 1.0 / 362880.0
    p = p * r + 1.0 / 40320.0
    p = p * r + 1.0 / 5040.0
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    e = 1.0 + (r + r * r * p)
    # times 2^n as 2^(n // 2) 2^(n - n // 2): both normal numbers even where exp(x) is subnormal
    k = np.int64(np.int32(n))  # via int32, which AVX2 converts a vector of at once (int64: AVX-512)
    half = k >> 1
    e = e * np.int64((half + 1023) << 52).view(np.float64) * np.int64((k - half + 1023) << 52).view(np.float64)
    return e if x == x else x


@njit(fastmath={"contract"}, cache=True)
def _exp_nonpositive_32(x):
    xc = x if x > EXP_LOW_32 else EXP_LOW_32
    n = np.floor(xc * LOG2E_32 + np.float32(0.5))
    r = (xc - n * LN2_HI_32) - n * LN2_LO_32
    # 1 + r + r^2 (1/2! + ... + r^5/7!): the terms left out are below 8e-9 exp(r)
    p = np.float32(1.0 / 5040.0)
    p = p * r + np.float32(1.0 / 720.0)
    p = p * r + np.float32(1.0 / 120.0)
    p = p * r + np.float32(1.0 / 24.0)
    p = p * r + np.float32(1.0 / 6.0)
    p = p * r + np.float32(0.5)
    e = np.float32(1.0) + (r + r * r * p)
    k = np.int32(n)
    half = k >> np.int32(1)
    e = e * np.int32((half + np.int32(127)) << np.int32(23)).view(np.float32) \
        * np.int32((k - half + np.int32(127)) << np.int32(23)).view(np.float32)
    return e if x == x else x


def exp_nonpositive(x):
    """e^x for x <= 0, in the type of ``x``: the exponential of the sigmoid (equation 3).

    Compiled (inside a kernel), it is the function above in plain arithmetic (float64 or float32,
    never promoting float32), within 1 ulp of the exact value, subnormal results included, and
    with the same bits in vector and scalar code; LLVM vectorises loops of it, as it cannot a call
    of ``math.exp``.  exp(-inf) = 0 and NaN gives NaN; not for positive ``x`` (the sigmoid never
    asks).  Called from Python (or with ``NUMBA_DISABLE_JIT=1``) it is ``math.exp``.

    Examples
    --------
    >>> from fastnn.kernels.activations import exp_nonpositive
    >>> exp_nonpositive(0.0), exp_nonpositive(-float("inf"))
    (1.0, 0.0)
    """
    return type(x)(math.exp(x))


@overload(exp_nonpositive)
def _exp_nonpositive_jit(x):
    # Compiled version (tests/kernels/test_kernel_activations.py measures its error)
    if x == types.float32:
        return lambda x: _exp_nonpositive_32(x)
    return lambda x: _exp_nonpositive_64(x)


@njit(cache=True, error_model="numpy")
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
    e = exp_nonpositive(-abs(z))
    numerator = one if z >= 0 else e
    return numerator / (one + e)


@njit(cache=True)
def sigmoid_prime(z):
    """Derivative sigma'(z) = sigma(z) (1 - sigma(z)) (chapter 2, used in BP1-BP2)."""
    s = sigmoid(z)
    return s * (one_like(z) - s)
