"""Chapter 5's layer speeds and chapter 6's presets: behaviour that mutation testing showed (issue 27).

The kernel tests at the top run on small networks in milliseconds (with or without the compiler),
so that a mutant of :mod:`fastnn.kernels.speeds` fails at once; the oracle is the book's
per-sample definition, :func:`fastnn.reference.speeds_np.average_bias_gradient`.  The tests of
``layer_speeds``' engine dispatch and of the presets and their data were written for the run,
where ``tests/test_layer_speeds.py`` and ``tests/test_cli_network3.py`` did not look.  The tests
written against a surviving mutant (each says which) were first run against that mutant, applied
by hand, and failed.
"""
import dataclasses
import gzip
import struct

import numpy as np
import pytest

from fastnn import Network, _conv_presets, datasets
from fastnn import network3 as n3
from fastnn.kernels import speeds as speeds_kernel
from fastnn.reference import speeds_np

# hidden layers narrower and wider than the input, an output wider than the layer before it; and,
# against survivors, no hidden layer (a view of the first layer's row ending at w_off[1], which a
# network of one weight layer does not have) and one input or a hidden layer of one unit (a view
# ending at a_off[l] * n_prev instead of a_off[l] + n_prev: too short)
SMALL_SIZES = [[5, 4, 3], [5, 6, 4, 3], [3, 7, 2, 5, 4], [4, 3], [1, 3, 2, 2], [4, 1, 3, 2]]


def small_problem(sizes, n, seed):
    """A seeded network, ``n`` input rows in [0, 1) and targets in [0, 1) (not one-hot: every
    output's term counts)."""
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


# -- chapter 6's presets and data (fastnn/_conv_presets.py) -----------------------------------

def write_idx_folder(folder, side, n_train, n_test, seed=1):
    """MNIST-named IDX files of ``side`` x ``side`` random images and labels."""
    rng = np.random.default_rng(seed)
    for kind, n in (("train", n_train), ("t10k", n_test)):
        for what, array in (("images-idx3", rng.integers(0, 256, (n, side, side))),
                            ("labels-idx1", rng.integers(0, 10, n))):
            array = np.asarray(array, dtype=np.uint8)
            header = struct.pack(">I", 0x0800 | array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
            (folder / f"{kind}-{what}-ubyte.gz").write_bytes(gzip.compress(header + array.tobytes()))
    return folder


def test_presets_cannot_be_changed_in_place():
    """The presets are shared by every caller: a frozen dataclass refuses assignment."""
    with pytest.raises(dataclasses.FrozenInstanceError):
        _conv_presets.PRESETS["ch6-relu"].eta = 1.0
    assert _conv_presets.PRESETS["ch6-relu"].eta == 0.03


def test_book_accuracies_are_the_chapters_reported_test_accuracies():
    """Chapter 6's text: 97.80% (FC100), 98.78% (one conv-pool layer), 99.06% (two), 99.23%
    (ReLU, L2), 99.60% (dropout, expanded data)."""
    book = {"ch6-fc": 97.80, "ch6-conv1": 98.78, "ch6-conv2": 99.06, "ch6-relu": 99.23, "ch6-dropout": 99.60}
    assert {name: round(p.book_accuracy * 100, 2) for name, p in _conv_presets.PRESETS.items()} == book


def test_build_layers_defaults_to_28x28_images_and_ten_classes():
    layers = _conv_presets.build_layers("ch6-conv1", 3)
    assert layers[0].image_shape == (3, 1, 28, 28) and layers[0].filter_shape == (20, 1, 5, 5)
    assert layers[1].n_in == 20 * 12 * 12 and layers[-1].n_out == 10


def test_build_layers_of_a_preset_object_with_kinds_read_at_run_time():
    """A :class:`Preset` made by the caller, its layer kinds built at run time (not the interned
    literals of the module), on 16x16 images with 4 classes: each layer's shape follows from the
    one before (conv 5x5 then pool 2x2: (16 - 4) / 2 = 6, then (6 - 4) / 2 = 1)."""
    conv, fc, softmax = ("".join(parts) for parts in (["co", "nv"], ["f", "c"], ["soft", "max"]))
    preset = _conv_presets.Preset("mine", ((conv, 3), (conv, 2), (fc, 7, 0.25), (softmax, 0.125)), "tanh",
                                  0.1, 0.0, 1, 0.5, "test")
    layers = _conv_presets.build_layers(preset, 4, side=16, n_classes=4)
    assert [type(layer) for layer in layers] == [n3.ConvPoolLayer, n3.ConvPoolLayer, n3.FullyConnectedLayer,
                                                 n3.SoftmaxLayer]
    assert layers[0].filter_shape == (3, 1, 5, 5) and layers[0].image_shape == (4, 1, 16, 16)
    assert layers[1].filter_shape == (2, 3, 5, 5) and layers[1].image_shape == (4, 3, 6, 6)
    assert (layers[2].n_in, layers[2].n_out, layers[2].p_dropout) == (2 * 1 * 1, 7, 0.25)
    assert (layers[3].n_in, layers[3].n_out, layers[3].p_dropout) == (7, 4, 0.125)
    assert all(layer.activation_fn is n3.tanh for layer in layers[:3])


def test_network_from_spec_defaults_and_a_weight_list_too_long():
    from fastnn.rivals_conv import book_conv_spec, init_book_weights

    spec = book_conv_spec("sigmoid")
    net = _conv_presets.network_from_spec(spec, 5)
    assert net.threads == 1 and net.seed == 0 and net.dtype == np.float64
    weights = init_book_weights(spec, seed=2)
    with pytest.raises(ValueError, match="5 \\(w, b\\) pairs for 4 layers"):
        _conv_presets.network_from_spec(spec, 5, weights + weights[:1])


def test_network_from_spec_takes_spec_size_and_weights_by_name_and_the_rest_only_by_name():
    from fastnn.rivals_conv import book_conv_spec

    net = _conv_presets.network_from_spec(spec=book_conv_spec("sigmoid"), mini_batch_size=5, weights=None,
                                          dtype="float32")
    assert net.dtype == np.float32
    with pytest.raises(TypeError, match="positional argument"):
        _conv_presets.network_from_spec(book_conv_spec("sigmoid"), 5, None, "float32")


def test_network_from_spec_with_kinds_built_at_run_time():
    """A spec read from a file or built by a caller holds kind strings that are not the interned
    literals of the module: each layer must still be the kind it names, with its dropout."""
    conv, fc, softmax = ("".join(parts) for parts in (["co", "nv"], ["f", "c"], ["soft", "max"]))
    spec = [{"kind": conv, "filter_shape": (2, 1, 5, 5), "image_shape": (1, 12, 12)},
            {"kind": fc, "n_in": 2 * 4 * 4, "n_out": 6, "p_dropout": 0.25},
            {"kind": softmax, "n_in": 6, "n_out": 3, "p_dropout": 0.125}]
    net = _conv_presets.network_from_spec(spec, 4)
    assert [type(layer) for layer in net.layers] == [n3.ConvPoolLayer, n3.FullyConnectedLayer, n3.SoftmaxLayer]
    assert [(layer.n_in, layer.n_out, layer.p_dropout) for layer in net.layers[1:]] == [(32, 6, 0.25),
                                                                                         (6, 3, 0.125)]


@pytest.mark.parametrize("X", [np.zeros(64), np.zeros((1, 64, 1)), np.zeros((64, 63)), np.zeros((2, 65))],
                         ids=["1-D", "3-D", "64 rows of 63", "rows of 65"])
def test_enlarge_digits_refuses_anything_but_rows_of_64(X):
    with pytest.raises(ValueError, match="8x8 digits as rows of 64 pixels"):
        _conv_presets.enlarge_digits(X)


def test_enlarge_digits_keeps_one_row_and_the_dtype():
    X = np.arange(1, 65, dtype=np.uint8).reshape(1, 64)
    big = _conv_presets.enlarge_digits(X)
    assert big.shape == (1, 784) and big.dtype == np.uint8
    # pixel (r, c) of the 8x8 image fills rows and columns 2 + 3r .. 4 + 3r of the 28x28 one
    expected = np.zeros((28, 28), dtype=np.uint8)
    for r in range(8):
        for c in range(8):
            expected[2 + 3 * r:5 + 3 * r, 2 + 3 * c:5 + 3 * c] = X[0, 8 * r + c]
    assert np.array_equal(big.reshape(28, 28), expected)


@pytest.mark.parametrize("validation_size, train_size", [(None, None), (1, 1296), (1296, 1)])
def test_digits_are_split_from_the_end_of_the_training_rows(validation_size, train_size):
    X, y, X_test, y_test = datasets.train_test_digits()
    v = validation_size or 297
    # "digits" read at run time: a string from the command line is not the interned literal
    got = _conv_presets.load_conv_data("".join(["dig", "its"]), validation_size, train_size)
    t = train_size or len(X) - v
    expected = [(X[:-v][:t], y[:-v][:t]), (X[-v:], y[-v:]), (X_test, y_test)]
    for (gX, gy), (eX, ey) in zip(got, expected):
        assert np.array_equal(gX, _conv_presets.enlarge_digits(eX)) and np.array_equal(gy, ey)


def test_a_train_size_of_all_the_training_rows_is_allowed():
    (X, _), _, _ = _conv_presets.load_conv_data("digits", train_size=1000)
    assert len(X) == 1000
    with pytest.raises(ValueError, match="train size 1001 is more than the 1000 training rows"):
        _conv_presets.load_conv_data("digits", train_size=1001)


def test_data_that_is_not_a_name_or_path_is_a_type_error():
    with pytest.raises(TypeError, match="data must be 'digits' or a path, got int"):
        _conv_presets.load_conv_data(5)


@pytest.mark.parametrize("side", [8, 30])
def test_images_of_another_size_are_refused_with_their_width(tmp_path, side):
    folder = write_idx_folder(tmp_path, side, n_train=12, n_test=3)
    with pytest.raises(ValueError, match=f"take 28x28 images \\(784 pixels\\), .* has {side * side} values"):
        _conv_presets.load_conv_data(folder, validation_size=2)


def test_a_folder_keeps_its_last_training_rows_for_validation(tmp_path):
    folder = write_idx_folder(tmp_path, 28, n_train=12, n_test=3)
    X, y = datasets.load_idx_dir(folder, "train")
    (tX, ty), (vX, vy), test = _conv_presets.load_conv_data(folder, validation_size=2)
    assert np.array_equal(tX, X[:-2]) and np.array_equal(vX, X[-2:])
    assert np.array_equal(ty, y[:-2]) and np.array_equal(vy, y[-2:]) and len(test[0]) == 3


def test_a_relative_path_is_not_taken_for_the_digits(tmp_path, monkeypatch):
    """A folder named by a relative path that sorts after "digits" is read as the folder (a
    survivor: ``spec >= "digits"`` took it for the digits)."""
    (tmp_path / "idx").mkdir()
    write_idx_folder(tmp_path / "idx", 28, n_train=12, n_test=3)
    monkeypatch.chdir(tmp_path)
    (tX, _), (vX, _), (sX, _) = _conv_presets.load_conv_data("idx", validation_size=2)
    assert (len(tX), len(vX), len(sX)) == (10, 2, 3)


def test_a_spec_of_300_layers_takes_its_300_weight_pairs():
    """Counts above 256 (where CPython stops sharing small ints) are compared by value (a survivor:
    with ``is not`` the right number of pairs was refused)."""
    from fastnn.rivals_conv import init_book_weights

    spec = [{"kind": "fc", "n_in": 2, "n_out": 2, "activation": "relu"}] * 299 + [
        {"kind": "softmax", "n_in": 2, "n_out": 2}]
    weights = init_book_weights(spec, seed=4)
    net = _conv_presets.network_from_spec(spec, 2, weights)
    assert len(net.layers) == 300
    assert all(np.array_equal(layer.w, w) and np.array_equal(layer.b, b) for layer, (w, b) in zip(net.layers, weights))


@pytest.mark.parametrize("size", [1297, 1298, 5000])
def test_a_validation_set_as_large_as_the_training_rows_or_larger_is_refused(size):
    """A survivor: ``size != len(X)`` for ``size < len(X)`` left an empty training set for larger sizes."""
    with pytest.raises(ValueError, match=f"validation size {size} must leave training rows: digits has 1297"):
        _conv_presets.load_conv_data("digits", validation_size=size)


@pytest.mark.parametrize("key", ["validation_size", "train_size"])
@pytest.mark.parametrize("size", [0, -5])
def test_a_size_below_one_is_refused_not_replaced_by_the_default_or_counted_from_the_end(key, size):
    """A validation size of 0 once fell back to the default (``size or default``) and a
    negative train size kept all but the last rows (a slice from the end)."""
    with pytest.raises(ValueError, match=f"{key} must be >= 1, got {size}"):
        _conv_presets.load_conv_data("digits", **{key: size})


@pytest.mark.parametrize("size", [2.0, "3", True])
def test_a_size_that_is_not_an_int_is_refused(size):
    with pytest.raises(TypeError, match="validation_size must be an integer, got "):
        _conv_presets.load_conv_data("digits", validation_size=size)


def test_sizes_given_as_numpy_ints_are_used():
    (tX, _), (vX, _), _ = _conv_presets.load_conv_data("digits", np.int64(5), np.int32(7))
    assert (len(tX), len(vX)) == (7, 5)


@pytest.mark.parametrize("layer", [("Conv", 3), ("pool", 2), ("conv", 3, 0.0), ("fc", 7), ("softmax",), (),
                                   ["conv", 3], "conv", (None, 3), ((), 3)])
def test_a_preset_layer_of_an_unknown_kind_or_length_is_refused(layer):
    """A caller's :class:`Preset` with a mistyped layer (``"Conv"`` sorts before ``"conv"``) was
    built as a softmax layer; now each layer must be one of the three documented tuples."""
    preset = _conv_presets.Preset("typo", (("conv", 3), layer, ("softmax", 0.0)), "tanh", 0.1, 0.0, 1, 0.5, "")
    with pytest.raises(ValueError, match=r"preset 'typo': layer 1 is .*; a layer must be one of \('conv', "
                                         r"filters\), \('fc', n_out, p_dropout\), \('softmax', p_dropout\)"):
        _conv_presets.build_layers(preset, 4, side=16, n_classes=4)
