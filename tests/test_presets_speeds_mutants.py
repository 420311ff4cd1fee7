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


# -- Network.layer_speeds behind the kernel (fastnn/_speeds.py) -------------------------------

def test_a_network_without_hidden_layer_is_told_how_to_get_one():
    X, Y = np.zeros((3, 5)), np.zeros(3, dtype=int)
    with pytest.raises(ValueError, match=r"the network \[5, 3\] has none; give it at least one, "
                                         r"e\.g\. \[5, 30, 3\]$"):
        Network([5, 3], seed=0).layer_speeds(X, Y)


@pytest.mark.parametrize("engine, uses_kernel", [("jit", True), ("reference", False), ("matrix", False)])
def test_the_jit_engine_measures_with_the_kernel_and_the_others_with_the_books_loop(monkeypatch, engine,
                                                                                   uses_kernel):
    """The engine's name read at run time (not the interned literal): the jit engine's one pass
    of :func:`mean_bias_gradient`, the other engines the per-sample loop of the reference."""
    calls = []
    kernel, book = speeds_kernel.mean_bias_gradient, speeds_np.layer_speeds
    monkeypatch.setattr(speeds_kernel, "mean_bias_gradient",
                        lambda *args: calls.append("kernel") or kernel(*args))
    monkeypatch.setattr(speeds_np, "layer_speeds", lambda *args: calls.append("book") or book(*args))
    net, X, _ = small_problem([5, 6, 4, 3], 9, seed=1)
    y = np.arange(9) % 3
    speeds = Network([5, 6, 4, 3], seed=1, engine="".join(engine)).layer_speeds(X, y)
    assert calls == (["kernel"] if uses_kernel else ["book"])
    np.testing.assert_allclose(speeds, book(net.weights, net.biases, X, np.eye(3)[y]), rtol=1e-12)

