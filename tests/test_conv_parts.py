"""kernels/conv_parts.py at its edges (found by its mutation run): the blocked dot products for
every count of rows of either side (the 2 x 4 register block, its remainders, a lone last row),
a network whose widest buffer is the gathered layer's convolution output, a network of one
input value (the activations buffer ends one past the last layer's output), and direct
convolutions with filters 4, 5 and 6 wide and with a single output position.  Small shapes:
tools/mutation.py runs these without the compiler."""
import numpy as np
import pytest

from fastnn import network3 as n3
from fastnn.kernels import conv as K

from test_conv_kernels_edges import check_epoch

SENTINEL = -7.5


def run_dot_rows(m_rows, n_rows, k_len, a0, ldo, seed):
    """dot_rows on small integers (every sum exact in any order) with ``a`` holding exactly
    ``a0 + m_rows*k_len`` values; returns the product expected, ``out`` and its tail."""
    rng = np.random.default_rng(seed)
    a = rng.integers(-4, 5, a0 + m_rows * k_len).astype(np.float64)
    b = rng.integers(-4, 5, n_rows * k_len).astype(np.float64)
    out = np.full(m_rows * ldo + 3, SENTINEL)
    K.dot_rows(a, a0, m_rows, b, n_rows, k_len, out, ldo)
    expected = a[a0:].reshape(m_rows, k_len) @ b.reshape(n_rows, k_len).T
    return expected, out[:m_rows * ldo].reshape(m_rows, ldo), out[m_rows * ldo:]


@pytest.mark.parametrize("m_rows", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("n_rows", [1, 3, 4, 5, 6, 7, 8, 9])
@pytest.mark.parametrize("k_len", [1, 3])
def test_dot_rows_fills_exactly_the_products_for_every_count_of_rows(m_rows, n_rows, k_len):
    # ldo wider than n_rows: the columns between rows and the values after the last row are
    # never written; a row of a past m_rows does not exist (a is exactly as long as needed)
    expected, rows, tail = run_dot_rows(m_rows, n_rows, k_len, a0=2, ldo=n_rows + 2, seed=m_rows * 100 + n_rows)
    np.testing.assert_array_equal(rows[:, :n_rows], expected)
    assert (rows[:, n_rows:] == SENTINEL).all() and (tail == SENTINEL).all()


def test_dot_rows_of_one_value():
    expected, rows, tail = run_dot_rows(1, 1, 1, a0=0, ldo=1, seed=1)
    assert rows[0, 0] == expected[0, 0] and (tail == SENTINEL).all()


def test_dot_rows_with_an_odd_count_of_rows_above_256():
    # the last row is alone whatever the count (a comparison by identity would hold for
    # small counts only: CPython shares the ints up to 256)
    expected, rows, tail = run_dot_rows(257, 2, 1, a0=0, ldo=2, seed=2)
    np.testing.assert_array_equal(rows, expected)
    assert (tail == SENTINEL).all()


def test_the_gathered_convolution_output_can_be_the_widest_buffer():
    # 20 filters of 4 x 4 x 4 (64 inputs per output: gathered) give 20 x 3 x 3 = 180 values
    # before pooling, more than the input (144), the pooled output (20) and every other size
    conv = n3.ConvPoolLayer((20, 4, 4, 4), (5, 4, 6, 6), poolsize=(3, 3), activation_fn=n3.tanh)
    assert conv.filter_shape[1] * 4 * 4 == K.DIRECT_MAX_Q
    net = n3.Network([conv, n3.SoftmaxLayer(20, 3)], 5, seed=3)
    net.layers[-1].w = np.random.default_rng(4).normal(0, 0.8, net.layers[-1].w.shape)
    widest = K.buffer_sizes(net._spec)[4]
    assert widest == 180
    rng = np.random.default_rng(5)
    check_epoch(net, rng.random((10, 144)) - 0.4, rng.integers(0, 3, 10), 5)


@pytest.mark.parametrize("filter_shape,image_shape,pool", [
    ((3, 2, 3, 6), (5, 2, 5, 9), (1, 2)),   # 6 wide, 36 inputs per output: direct
    ((3, 2, 3, 4), (5, 2, 6, 7), (2, 2)),   # 4 wide
    ((3, 1, 5, 5), (5, 1, 8, 9), (2, 1)),   # the book's 5 x 5 filters
    ((2, 2, 5, 5), (5, 2, 5, 5), (1, 1)),   # 5 x 5, a single output position
    ((2, 1, 2, 6), (5, 1, 2, 6), (1, 1)),   # 6 wide, a single output position
])
def test_direct_convolutions_of_every_filter_width_and_a_single_output(filter_shape, image_shape, pool):
    conv = n3.ConvPoolLayer(filter_shape, image_shape, poolsize=pool, activation_fn=n3.tanh)
    assert filter_shape[1] * filter_shape[2] * filter_shape[3] < K.DIRECT_MAX_Q
    net = n3.Network([conv, n3.SoftmaxLayer(conv.n_out, 3)], 5, seed=6)
    net.layers[-1].w = np.random.default_rng(7).normal(0, 0.8, net.layers[-1].w.shape)
    rng = np.random.default_rng(8)
    n_in = int(np.prod(image_shape[1:]))
    check_epoch(net, rng.random((10, n_in)) - 0.4, rng.integers(0, 3, 10), 5)


def test_a_network_of_one_input_value():
    # one softmax layer reading one value: its output sits at offset 1 of the activations
    # buffer, which must hold 1 + 3 values (the product of the two, 3, is one short)
    net = n3.Network([n3.SoftmaxLayer(1, 3)], 4, seed=9)
    net.layers[0].w = np.array([[1.5, -2.0, 0.5]])
    assert K.buffer_sizes(net._spec)[0] == 4
    rng = np.random.default_rng(10)
    check_epoch(net, rng.random((8, 1)) - 0.5, rng.integers(0, 3, 8), 4)


def test_a_second_conv_layer_of_one_input_value_and_many_filters():
    # its input-gradient scratch ((20 + 1) filters' worth of one weight, then a dx of one
    # value) is the longest of the network: 21 values plus 1, not 21 times 1
    first = n3.ConvPoolLayer((1, 1, 2, 2), (5, 1, 2, 2), poolsize=(1, 1), activation_fn=n3.tanh)  # -> (1, 1, 1)
    second = n3.ConvPoolLayer((20, 1, 1, 1), (5, 1, 1, 1), poolsize=(1, 1), activation_fn=n3.tanh)  # -> (20, 1, 1)
    net = n3.Network([first, second, n3.SoftmaxLayer(20, 3)], 5, seed=11)
    net.layers[-1].w = np.random.default_rng(12).normal(0, 0.8, net.layers[-1].w.shape)
    assert K.buffer_sizes(net._spec)[3] == 22
    rng = np.random.default_rng(13)
    check_epoch(net, rng.random((10, 4)) - 0.4, rng.integers(0, 3, 10), 5)
