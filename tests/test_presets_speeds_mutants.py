"""Chapter 5's layer speeds and chapter 6's presets: behaviour that mutation testing showed (issue 27).

The kernel tests at the top run on small networks in milliseconds (with or without the compiler),
so that a mutant of :mod:`fastnn.kernels.speeds` fails at once; the oracle is the book's
per-sample definition, :func:`fastnn.reference.speeds_np.average_bias_gradient`.  The tests
written against a surviving mutant were each first run against that mutant, applied by hand, and
failed.
"""
import numpy as np
import pytest

from fastnn import Network
from fastnn.kernels import speeds as speeds_kernel
from fastnn.reference import speeds_np

# hidden layers narrower and wider than the input, an output wider than the layer before it, no
# hidden layer, one input, a hidden layer of one unit
SMALL_SIZES = [[5, 4, 3], [5, 6, 4, 3], [3, 7, 2, 5, 4], [4, 3], [1, 3, 2, 2], [4, 1, 3, 2]]


def small_problem(sizes, n, seed):
    """A network with weights of order 1 (so no sigmoid saturates to exactly 0 or 1), ``n`` input
    rows in [0, 1) and targets in [0, 1) (not one-hot: every output's term counts)."""
    rng = np.random.default_rng(seed)
    net = Network(sizes, seed=seed)
    return net, rng.random((n, sizes[0])), rng.random((n, sizes[-1]))


@pytest.mark.parametrize("sizes", SMALL_SIZES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("n", [1, 7, 8, 9, 19])  # less than, one block of, and across blocks of 8
@pytest.mark.parametrize("cost", [0, 1], ids=["quadratic", "cross-entropy"])
def test_mean_bias_gradient_is_the_books_average_on_small_networks(sizes, n, cost):
    net, X, Y = small_problem(sizes, n, seed=n + 10 * len(sizes))
    o_off = speeds_kernel.bias_offsets(net._sizes)
    out = np.full(int(o_off[-1]), 7.0)  # every entry must be overwritten
    speeds_kernel.mean_bias_gradient(net._theta, net._w_off, net._b_off, net._sizes, X, Y, cost, out)
    expected = speeds_np.average_bias_gradient(net.weights, net.biases, X, Y,
                                               "cross-entropy" if cost == 1 else "quadratic")
    # the same float64 sums in the same sample order, the dot products reassociated: 1e-12 relative
    np.testing.assert_allclose(out, np.concatenate(expected), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("sizes", SMALL_SIZES + [[2, 1, 1], [4, 9, 9, 9, 1]])
def test_bias_offsets_are_the_running_sums_of_the_layer_widths(sizes):
    got = speeds_kernel.bias_offsets(np.array(sizes, dtype=np.int64))
    assert got.dtype == np.int64
    assert list(got) == [sum(sizes[1:l + 1]) for l in range(len(sizes))]

