"""Writing the book's mnist.pkl.gz (fastnn.datasets.write_mnist_pkl / idx_to_mnist_pkl),
the book's expand_mnist (fastnn.expand) and their commands, on tiny generated data."""
import gzip
import os
import pickle
import struct

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from fastnn import cli
from fastnn.datasets import idx_to_mnist_pkl, load_mnist_pkl, write_mnist_pkl
from fastnn.expand import expand_mnist, expand_mnist_pkl

RNG = np.random.default_rng(2022)


def write_idx(path, array):
    array = np.asarray(array, dtype=np.uint8)
    header = struct.pack(">I", 0x0800 | array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(gzip.compress(header + array.tobytes()))


@pytest.fixture
def idx_folder(tmp_path):
    """12 training and 5 test images of 4x4 pixels, MNIST file names, gzip-compressed."""
    folder = tmp_path / "idx"
    folder.mkdir()
    data = {}
    for kind, n in (("train", 12), ("t10k", 5)):
        images = RNG.integers(0, 256, size=(n, 4, 4), dtype=np.uint8)
        labels = RNG.integers(0, 10, size=n, dtype=np.uint8)
        write_idx(folder / f"{kind}-images-idx3-ubyte.gz", images)
        write_idx(folder / f"{kind}-labels-idx1-ubyte.gz", labels)
        data[kind] = (images.reshape(n, 16), labels)
    return folder, data


def raw_unpickle(path):
    """The file as the book's loader sees it (plain pickle: trusted test data only)."""
    with gzip.open(path, "rb") as f:
        return pickle.load(f, encoding="latin1")


# --------------------------------------------------------------------------- write_mnist_pkl
def test_idx_to_mnist_pkl_splits_like_the_books_file(tmp_path, idx_folder):
    folder, data = idx_folder
    out = tmp_path / "mnist.pkl.gz"
    assert idx_to_mnist_pkl(folder, out, n_validation=3) == (9, 3, 5)
    (X_tr, y_tr), (X_va, y_va), (X_te, y_te) = raw_unpickle(out)   # the raw file's own types
    for X, y in ((X_tr, y_tr), (X_va, y_va), (X_te, y_te)):
        assert isinstance(X, np.ndarray) and X.dtype == np.float32 and X.ndim == 2
        assert isinstance(y, np.ndarray) and y.dtype == np.int64
    images, labels = data["train"]
    assert_array_equal(X_tr, (images[:9] / 255.0).astype(np.float32))   # first n - V: training
    assert_array_equal(X_va, (images[9:] / 255.0).astype(np.float32))   # last V: validation
    assert_array_equal(y_tr, labels[:9]) and assert_array_equal(y_va, labels[9:])
    assert_array_equal(X_te, (data["t10k"][0] / 255.0).astype(np.float32))
    assert_array_equal(y_te, data["t10k"][1])
    loaded = load_mnist_pkl(out)                                        # and the safe loader reads it
    assert_array_equal(loaded[0][0], X_tr.astype(np.float64))


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_write_mnist_pkl_protocols_round_trip_and_are_deterministic(tmp_path, protocol):
    splits = [(RNG.random((n, 6)), RNG.integers(0, 10, n)) for n in (4, 2, 3)]
    a, b = tmp_path / "a.pkl.gz", tmp_path / "b.pkl.gz"
    write_mnist_pkl(a, *splits, protocol=protocol)
    write_mnist_pkl(b, *splits, protocol=protocol)
    assert a.read_bytes() == b.read_bytes()            # gzip mtime fixed: same data, same bytes
    for (X, y), (X0, y0) in zip(load_mnist_pkl(a), splits):
        assert_array_equal(X, X0.astype(np.float32).astype(np.float64))
        assert_array_equal(y, y0)


@pytest.mark.parametrize("change, match", [
    (lambda s: [(s[0][0] * 255, s[0][1]), s[1], s[2]], r"training X must hold pixel values in \[0, 1\]"),
    (lambda s: [s[0], (s[1][0][:, :5], s[1][1]), s[2]], r"validation X has 5 features .* training split has 6"),
    (lambda s: [s[0], s[1], (s[2][0], s[2][1][:-1])], r"test y must be a 1-D integer array of 3 labels"),
    (lambda s: [s[0], s[1], (s[2][0], s[2][1] + 0.5)], r"test y must be a 1-D integer array"),
    (lambda s: [(s[0][0], -s[0][1] - 1), s[1], s[2]], r"training y contains negative labels"),
    (lambda s: [s[0], (s[1][0] * np.nan, s[1][1]), s[2]], r"validation X contains NaN"),
    (lambda s: [s[0], s[1][0], s[2]], r"validation must be an \(X, y\) pair"),
    (lambda s: [(s[0][0][:0], s[0][1][:0]), s[1], s[2]], r"training X is empty"),
])
def test_write_mnist_pkl_bad_input_writes_nothing(tmp_path, change, match):
    splits = [(RNG.random((n, 6)), RNG.integers(0, 10, n)) for n in (4, 2, 3)]
    out = tmp_path / "mnist.pkl.gz"
    with pytest.raises(ValueError, match=match):
        write_mnist_pkl(out, *change(splits))
    assert os.listdir(tmp_path) == []


def test_write_mnist_pkl_keeps_old_file_on_error(tmp_path, monkeypatch):
    splits = [(RNG.random((n, 6)), RNG.integers(0, 10, n)) for n in (4, 2, 3)]
    out = tmp_path / "mnist.pkl.gz"
    write_mnist_pkl(out, *splits)
    before = out.read_bytes()

    def fail(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(pickle, "dump", fail)
    with pytest.raises(KeyboardInterrupt):
        write_mnist_pkl(out, *splits[::-1])
    assert out.read_bytes() == before and os.listdir(tmp_path) == ["mnist.pkl.gz"]
    with pytest.raises(ValueError, match="protocol must be one of"):
        write_mnist_pkl(out, *splits, protocol=1)


def test_idx_to_mnist_pkl_bad_validation_size(tmp_path, idx_folder):
    folder, _ = idx_folder
    with pytest.raises(ValueError, match="n_validation=12 leaves no training images"):
        idx_to_mnist_pkl(folder, tmp_path / "m.pkl.gz", n_validation=12)
    with pytest.raises(FileNotFoundError, match="t10k"):
        (folder / "t10k-labels-idx1-ubyte.gz").unlink()
        idx_to_mnist_pkl(folder, tmp_path / "m.pkl.gz", n_validation=3)


# --------------------------------------------------------------------------- expand_mnist
def book_expand(X, y, rows, cols):
    """The book's expand_mnist.py loop (np.roll, then zero the wrapped row/column), unshuffled."""
    out_x, out_y = [], []
    for x, label in zip(X, y):
        out_x.append(x)
        out_y.append(label)
        image = np.reshape(x, (rows, cols))
        for d, axis, index in ((1, 0, 0), (-1, 0, rows - 1), (1, 1, 0), (-1, 1, cols - 1)):
            new = np.roll(image, d, axis)
            if axis == 0:
                new[index, :] = 0
            else:
                new[:, index] = 0
            out_x.append(new.reshape(-1))
            out_y.append(label)
    return np.array(out_x), np.array(out_y)


@pytest.mark.parametrize("rows, cols, dtype", [(5, 5, np.float32), (3, 7, np.float64), (1, 4, np.float64)])
def test_expand_matches_the_books_definition(rows, cols, dtype):
    X = RNG.random((6, rows * cols)).astype(dtype)
    y = RNG.integers(0, 10, 6)
    X5, y5 = expand_mnist(X, y, image_shape=(rows, cols), shuffle=False)
    want_X, want_y = book_expand(X, y, rows, cols)
    assert X5.dtype == dtype and X5.shape == (30, rows * cols) and y5.dtype == np.int64
    assert_array_equal(X5, want_X)                    # exact: only copies and zeros
    assert_array_equal(y5, want_y)


def test_expand_shuffle_is_a_seeded_permutation_of_the_pairs():
    X = RNG.random((7, 16))
    y = np.arange(7)
    plain_X, plain_y = expand_mnist(X, y, shuffle=False)
    X5, y5 = expand_mnist(X, y, seed=3)
    again_X, _ = expand_mnist(X, y, seed=3)
    other_X, _ = expand_mnist(X, y, seed=4)
    assert_array_equal(X5, again_X)
    assert not np.array_equal(X5, other_X) and not np.array_equal(X5, plain_X)
    # the same (image, label) pairs: sort rows with their label
    key = lambda A, b: sorted(zip(b.tolist(), map(tuple, A.tolist())))
    assert key(X5, y5) == key(plain_X, plain_y)


def test_expand_moves_a_single_pixel_as_named():
    image = np.zeros((4, 4))
    image[1, 2] = 1.0
    X5, _ = expand_mnist(image.reshape(1, 16), [0], shuffle=False)
    where = [tuple(np.argwhere(x.reshape(4, 4))[0]) for x in X5]
    assert where == [(1, 2), (2, 2), (0, 2), (1, 3), (1, 1)]    # original, down, up, right, left


@pytest.mark.parametrize("X, y, kwargs, error, match", [
    (np.zeros((2, 15)), [0, 1], {}, ValueError, "not a square image; pass image_shape"),
    (np.zeros((2, 16)), [0, 1], {"image_shape": (3, 5)}, ValueError, r"rows \* cols must equal"),
    (np.zeros((2, 16)), [0, 1], {"image_shape": 4}, TypeError, "image_shape must be a pair of ints"),
    (np.zeros(16), [0], {}, ValueError, "Expected 2D array for X"),
    (np.zeros((2, 16)), [0], {}, ValueError, "one label per row of X"),
    (np.zeros((2, 16)), [0.5, 1.0], {}, ValueError, "1-D integer array"),
    (np.full((2, 16), np.nan), [0, 1], {}, ValueError, "NaN"),
    (np.zeros((0, 16)), [], {}, ValueError, "empty"),
    (np.array([["a"] * 16]), [0], {}, TypeError, "non-numeric dtype"),
])
def test_expand_bad_input(X, y, kwargs, error, match):
    with pytest.raises(error, match=match):
        expand_mnist(X, y, **kwargs)


def test_expand_mnist_pkl_writes_the_books_file(tmp_path):
    splits = [(RNG.random((n, 9)), RNG.integers(0, 10, n)) for n in (3, 2, 2)]
    src, dst = tmp_path / "mnist.pkl.gz", tmp_path / "mnist_expanded.pkl.gz"
    write_mnist_pkl(src, *splits)
    assert expand_mnist_pkl(src, dst, seed=5) == (15, 2, 2)
    (X5, y5), validation, test = load_mnist_pkl(dst)
    X32 = splits[0][0].astype(np.float32)
    want_X, want_y = expand_mnist(X32, splits[0][1], seed=5)
    assert_array_equal(X5, want_X) and assert_array_equal(y5, want_y)
    assert_array_equal(validation[0], splits[1][0].astype(np.float32))
    with pytest.raises(FileExistsError, match="already exists"):
        expand_mnist_pkl(src, dst)


# --------------------------------------------------------------------------- commands
def test_cli_mnist_pkl_and_expand(tmp_path, idx_folder, capsys):
    folder, _ = idx_folder
    out, expanded = tmp_path / "mnist.pkl.gz", tmp_path / "exp.pkl.gz"
    assert cli.main(["mnist-pkl", str(folder), "-o", str(out), "--validation", "2"]) == 0
    assert "10 training, 2 validation and 5 test images" in capsys.readouterr().out
    assert cli.main(["mnist-pkl", str(folder), "-o", str(out)]) == 1       # exists, no --force
    assert "already exists" in capsys.readouterr().err
    assert cli.main(["expand-mnist", "--input", str(out), "-o", str(expanded)]) == 0
    assert "50 training, 2 validation and 5 test images" in capsys.readouterr().out
    assert load_mnist_pkl(expanded)[0][0].shape == (50, 16)
    assert cli.main(["mnist-pkl", str(folder), "-o", str(out), "--validation", "20", "--force"]) == 2
    assert "leaves no training images" in capsys.readouterr().err
