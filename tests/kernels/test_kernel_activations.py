"""The activation kernels of :mod:`fastnn.kernels.activations` (the sigmoid and its derivative)
against exact arithmetic: 60-digit decimals, the formula's limits, finite differences."""
import decimal
import math
import warnings

import numba
import numpy as np
import pytest

from fastnn.kernels import activations


def exact_sigmoid(z):
    """1 / (1 + e^-z) in 60-digit decimal arithmetic, rounded once to float64."""
    with decimal.localcontext() as ctx:
        ctx.prec = 60
        return float(1 / (1 + decimal.Decimal(-z).exp()))


# deep negative z: subnormal results (-709 .. -745) and underflow to 0 (below -745.13)
@pytest.mark.parametrize("z", [-1000.0, -745.2, -745.0, -740.0, -720.5, -708.0, -30.0, -1.5, 0.0,
                               1e-9, 2.5, 36.0, 37.0, 1000.0])
def test_sigmoid_matches_formula_without_warnings(z):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = activations.sigmoid(z)
    exact = exact_sigmoid(z)
    # within 2 units in the last place of the exact value, also where it is subnormal
    # (np.spacing(0.0) is the smallest subnormal, so 0 must come out as 0 or 5e-324)
    assert abs(s - exact) <= 2 * np.spacing(exact), (s, exact)
    assert 0.0 <= s <= 1.0


def test_sigmoid_exact_limits():
    assert activations.sigmoid(np.inf) == 1.0
    assert activations.sigmoid(-np.inf) == 0.0
    assert activations.sigmoid(0.0) == 0.5
    assert activations.sigmoid_prime(0.0) == 0.25
    assert activations.sigmoid_prime(800.0) == 0.0


def test_sigmoid_keeps_float32():
    z = np.float32(0.3)
    if numba.config.DISABLE_JIT:  # plain Python (no dispatcher to introspect): the type shows
        assert type(activations.sigmoid(z)) is np.float32
        return
    assert isinstance(activations.sigmoid(z), float)  # numba returns a Python float ...
    assert activations.sigmoid.nopython_signatures  # ... from a compiled signature:
    assert any(str(sig.return_type) == "float32" for sig in activations.sigmoid.nopython_signatures)


def test_sigmoid_prime_matches_finite_difference():
    for z in (-3.0, -0.2, 0.0, 0.7, 4.0):
        h = 1e-6
        fd = (activations.sigmoid(z + h) - activations.sigmoid(z - h)) / (2 * h)
        assert activations.sigmoid_prime(z) == pytest.approx(fd, rel=1e-8)


@numba.njit
def _two_branch_sigmoids(z, out):
    """The sigmoid as a branch on the sign of z (the form before the select), element by element."""
    for i in range(z.size):
        one = activations.one_like(z[i])
        if z[i] >= 0:
            out[i] = one / (one + math.exp(-z[i]))
        else:
            e = math.exp(z[i])
            out[i] = e / (one + e)


@numba.njit
def _sigmoids(z, out):
    for i in range(z.size):
        out[i] = activations.sigmoid(z[i])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_branchless_sigmoid_has_the_bits_of_the_two_branch_form(dtype):
    z = (np.random.default_rng(0).standard_normal(20000) * 8).astype(dtype)
    z[:7] = [0.0, -0.0, np.inf, -np.inf, np.nan, 1e-30, -1e-30]
    got, expected = np.empty_like(z), np.empty_like(z)
    _sigmoids(z, got)
    _two_branch_sigmoids(z, expected)
    assert got.dtype == dtype
    nan = np.isnan(expected)
    np.testing.assert_array_equal(np.isnan(got), nan)  # NaN for NaN only (its sign bit may differ)
    bits = np.uint32 if dtype == np.float32 else np.uint64
    np.testing.assert_array_equal(got[~nan].view(bits), expected[~nan].view(bits))


def test_inf_like_keeps_the_type():
    assert activations.inf_like(np.float32(2.0)) == np.inf
    assert type(activations.inf_like(np.float32(2.0))) is np.float32
    assert activations.inf_like(-1.0) == np.inf
