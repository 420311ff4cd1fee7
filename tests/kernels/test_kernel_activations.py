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
            out[i] = one / (one + activations.exp_nonpositive(-z[i]))
        else:
            e = activations.exp_nonpositive(z[i])
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


def exact_exp(x, dtype):
    """e^x in 60-digit decimal arithmetic, rounded to ``dtype`` (float32 through float64: the second
    rounding can move it by at most one float64 ulp, far below a float32 one)."""
    with decimal.localcontext() as ctx:
        ctx.prec = 60
        return dtype(float(decimal.Decimal(float(x)).exp()))


@numba.njit
def _exps(x, out):
    """exp_nonpositive over an array: the loop LLVM vectorises."""
    for i in range(x.size):
        out[i] = activations.exp_nonpositive(x[i])


@numba.njit
def _exp_one(x):
    """exp_nonpositive compiled for one value: scalar code."""
    return activations.exp_nonpositive(x)


def _ulps(got, exact):
    """|got - exact| in units of the last place of ``exact`` (of its type; the smallest subnormal at 0)."""
    return float(abs(np.float64(got) - np.float64(exact)) / np.float64(np.spacing(exact)))


# each float type's edges: 0 and the tiniest arguments, the reduction's halfway points
# (x = (n + 1/2) ln 2), where the result becomes subnormal, and where it rounds to 0
EDGES = {
    np.float64: [0.0, -5e-324, -1e-300, -1e-17, -0.5 * math.log(2), -1.5 * math.log(2), -1.0, -30.0,
                 -708.39, -708.4, -720.5, -744.4, -745.1, -745.2, -746.0, -800.0],
    np.float32: [0.0, -1e-45, -1e-30, -1e-9, -0.5 * math.log(2), -1.5 * math.log(2), -1.0, -30.0,
                 -87.3, -87.4, -95.5, -103.2, -103.9, -104.0, -105.0],
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_exp_nonpositive_is_within_one_ulp_of_exact(dtype):
    rng = np.random.default_rng(1)
    low = EDGES[dtype][-1]
    x = np.concatenate([EDGES[dtype], rng.uniform(low, 0, 400), -rng.exponential(2.0, 400)]).astype(dtype)
    got = np.empty_like(x)
    _exps(x, got)
    assert got.dtype == dtype
    worst = max(_ulps(g, exact_exp(v, dtype)) for g, v in zip(got, x))
    assert worst <= 1.0, worst


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_exp_nonpositive_vectorised_matches_scalar_bits_and_the_c_library(dtype):
    # the same bits in the vectorised loop and one call at a time (a thread's share of a layer may
    # end in the loop's scalar remainder), within 1 ulp of math.exp everywhere
    x = (-np.random.default_rng(2).exponential(40.0, 20001)).astype(dtype)
    vectorised = np.empty_like(x)
    _exps(x, vectorised)
    one_by_one = np.array([_exp_one(v) for v in x[:2001]], dtype=dtype)
    bits = np.uint32 if dtype == np.float32 else np.uint64
    np.testing.assert_array_equal(vectorised[:2001].view(bits), one_by_one.view(bits))
    library = np.array([math.exp(v) for v in x], dtype=np.float64).astype(dtype)
    spacing = np.spacing(library).astype(np.float64)
    assert np.all(np.abs(vectorised.astype(np.float64) - library) <= spacing)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_exp_nonpositive_limits(dtype):
    x = np.array([0.0, -0.0, -np.inf, np.nan, -1e4], dtype=dtype)
    got = np.empty_like(x)
    _exps(x, got)
    assert got[0] == 1 and got[1] == 1 and got[2] == 0 and got[4] == 0
    assert np.isnan(got[3])
    assert activations.exp_nonpositive(dtype(-1.0)) == pytest.approx(math.exp(-1.0), rel=1e-6)
