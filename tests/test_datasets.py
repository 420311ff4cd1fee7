"""Tests for fastnn.datasets: IDX files, the safe mnist.pkl.gz loader, digits, book format.

All data is generated in ``tmp_path``; nothing is downloaded or read from outside the repo.
"""
import ast
import gzip
import inspect
import os
import pickle
import shlex
import struct

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from fastnn import datasets
from fastnn.datasets import (load_dataset, load_digits, load_idx, load_idx_dir, load_mnist_pkl,
                             to_book_format, train_test_digits)

RNG = np.random.default_rng(1234)
IMAGES = RNG.integers(0, 256, size=(7, 4, 3), dtype=np.uint8)
LABELS = RNG.integers(0, 10, size=7, dtype=np.uint8)


# --------------------------------------------------------------------------- helpers

def idx_bytes(arr, magic=None, dims=None):
    """IDX encoding of a uint8 array; ``magic``/``dims`` override the header."""
    arr = np.asarray(arr, dtype=np.uint8)
    magic = (0x0800 | arr.ndim) if magic is None else magic
    dims = arr.shape if dims is None else dims
    return struct.pack(">I", magic) + struct.pack(f">{len(dims)}I", *dims) + arr.tobytes()


def write(path, payload, gz=False):
    """Write ``payload`` to ``path``, gzip-compressed if ``gz``; return ``path``."""
    path.write_bytes(gzip.compress(payload) if gz else payload)
    return path


def write_pair(folder, kind="train", gz=False, images=IMAGES, labels=LABELS):
    """Write a standard-named IDX image/label pair into ``folder``."""
    suffix = ".gz" if gz else ""
    img = write(folder / f"{kind}-images-idx3-ubyte{suffix}", idx_bytes(images), gz)
    lab = write(folder / f"{kind}-labels-idx1-ubyte{suffix}", idx_bytes(labels), gz)
    return img, lab


def expected_X(images):
    return images.reshape(len(images), -1).astype(np.float64) / 255.0


def py2_pickle(obj):
    """Protocol-2 pickle of nested tuples of arrays, byte-for-byte as Python 2 + NumPy 1.x wrote it.

    Python 2 ``str`` is a BINSTRING, and arrays use ``numpy.core.multiarray._reconstruct``;
    ``pickle.dumps(protocol=2)`` on Python 3 differs (it needs ``_codecs.encode``).
    """
    return pickle.PROTO + b"\x02" + _py2(obj) + pickle.STOP


def _py2(obj):
    if isinstance(obj, tuple):
        return pickle.MARK + b"".join(_py2(o) for o in obj) + pickle.TUPLE
    if obj is None:
        return pickle.NONE
    if isinstance(obj, bool):
        return pickle.NEWTRUE if obj else pickle.NEWFALSE
    if isinstance(obj, int):
        return pickle.BININT + struct.pack("<i", obj)
    if isinstance(obj, bytes):
        return pickle.BINSTRING + struct.pack("<i", len(obj)) + obj
    if isinstance(obj, np.dtype):  # dtype('<f4') -> dtype('f4', 0, 1) + __setstate__
        return (pickle.GLOBAL + b"numpy\ndtype\n" + _py2((obj.str[1:].encode(), 0, 1)) + pickle.REDUCE
                + _py2((3, obj.str[:1].encode(), None, None, None, -1, -1, 0)) + pickle.BUILD)
    assert isinstance(obj, np.ndarray), type(obj)
    obj = np.ascontiguousarray(obj)
    return (pickle.GLOBAL + b"numpy.core.multiarray\n_reconstruct\n"
            + pickle.MARK + pickle.GLOBAL + b"numpy\nndarray\n" + _py2((0,)) + _py2(b"b") + pickle.TUPLE
            + pickle.REDUCE
            + _py2((1, obj.shape, obj.dtype, False, obj.tobytes())) + pickle.BUILD)


def book_structure(n=(6, 3, 4), n_in=5):
    """Tiny stand-in for mnist.pkl.gz: float32 X in [0, 1], int64 labels."""
    return tuple((RNG.random((k, n_in), dtype=np.float32), RNG.integers(0, 10, k).astype(np.int64))
                 for k in n)


def assert_same_structure(loaded, original):
    assert len(loaded) == 3
    for (X, y), (X0, y0) in zip(loaded, original):
        assert X.dtype == np.float64 and y.dtype == np.int64
        assert_array_equal(X, X0.astype(np.float64))
        assert_array_equal(y, y0)


class Evil:
    """Unpickling this would run a shell command."""

    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


# --------------------------------------------------------------------------- IDX

@pytest.mark.parametrize("gz", [False, True])
def test_load_idx_round_trip(tmp_path, gz):
    img, lab = write_pair(tmp_path, gz=gz)
    X, y = load_idx(img, lab)
    assert X.shape == (7, 12) and X.dtype == np.float64 and y.dtype == np.int64
    assert_allclose(X, expected_X(IMAGES))
    assert_array_equal(y, LABELS)
    assert 0.0 <= X.min() and X.max() <= 1.0


def test_gzip_detected_by_content_not_name(tmp_path):
    img = write(tmp_path / "images.bin", idx_bytes(IMAGES), gz=True)  # gzip without .gz
    lab = write(tmp_path / "labels.gz", idx_bytes(LABELS), gz=False)  # raw despite .gz
    X, y = load_idx(img, lab)
    assert_allclose(X, expected_X(IMAGES))
    assert_array_equal(y, LABELS)


def test_extreme_pixels_scale_to_0_and_1(tmp_path):
    images = np.array([[[0, 255]], [[255, 0]]], dtype=np.uint8)
    img = write(tmp_path / "i", idx_bytes(images))
    lab = write(tmp_path / "l", idx_bytes(np.array([3, 9], np.uint8)))
    X, y = load_idx(img, lab)
    assert_array_equal(X, [[0.0, 1.0], [1.0, 0.0]])
    assert_array_equal(y, [3, 9])


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("which, payload, match", [
    ("images", idx_bytes(IMAGES, magic=0x12345678), r"bad magic number 0x12345678.*not an IDX file"),
    ("images", idx_bytes(IMAGES, magic=0x00000D03), r"bad magic.*data type code 0x0d"),
    ("images", idx_bytes(IMAGES.reshape(7, 12)), r"bad magic number 0x00000802.*2 dimensions; expected 3"),
    ("labels", idx_bytes(LABELS.reshape(7, 1)), r"bad magic number 0x00000802.*2 dimensions; expected 1"),
    ("labels", idx_bytes(IMAGES), r"bad magic number 0x00000803.*3 dimensions; expected 1"),
    ("images", idx_bytes(IMAGES)[:-5], r"truncated data: header declares shape \(7, 4, 3\) \(84 bytes\)"),
    ("images", idx_bytes(IMAGES)[:10], r"truncated header"),
    ("labels", idx_bytes(LABELS)[:-1], r"truncated data"),
    ("images", idx_bytes(IMAGES) + b"\x00", r"trailing garbage"),
    ("labels", idx_bytes(LABELS) + b"junk", r"trailing garbage"),
    ("images", idx_bytes(np.zeros((0, 4, 3), np.uint8)), r"empty array"),
    ("labels", b"", r"truncated header"),
])
def test_corrupt_idx_raises_naming_file(tmp_path, gz, which, payload, match):
    img, lab = write_pair(tmp_path)
    bad = img if which == "images" else lab
    write(bad, payload, gz)
    with pytest.raises(ValueError, match=match) as info:
        load_idx(img, lab)
    assert str(bad) in str(info.value)


def test_count_mismatch_names_both_files(tmp_path):
    img, lab = write_pair(tmp_path, labels=LABELS[:5])
    with pytest.raises(ValueError, match=r"count mismatch.*7 images.*5 labels") as info:
        load_idx(img, lab)
    assert str(img) in str(info.value) and str(lab) in str(info.value)


def test_truncated_gzip_stream_is_value_error(tmp_path):
    img, lab = write_pair(tmp_path, gz=True)
    img.write_bytes(img.read_bytes()[:-12])  # cut the deflate tail and CRC
    with pytest.raises(ValueError, match="gzip") as info:
        load_idx(img, lab)
    assert str(img) in str(info.value)


def test_missing_idx_file(tmp_path):
    img, lab = write_pair(tmp_path)
    with pytest.raises(FileNotFoundError, match="nope"):
        load_idx(tmp_path / "nope", lab)
    with pytest.raises(FileNotFoundError, match="nope"):
        load_idx(img, tmp_path / "nope")


@pytest.mark.parametrize("gz", [False, True])
def test_load_idx_dir(tmp_path, gz):
    write_pair(tmp_path, "train", gz=gz)
    write_pair(tmp_path, "t10k", gz=gz, images=IMAGES[:3], labels=LABELS[:3])
    X, y = load_idx_dir(tmp_path)
    assert X.shape == (7, 12)
    assert_array_equal(y, LABELS)
    X, y = load_idx_dir(tmp_path, kind="t10k")
    assert_allclose(X, expected_X(IMAGES[:3]))
    assert_array_equal(y, LABELS[:3])


def test_load_idx_dir_errors(tmp_path):
    with pytest.raises(ValueError, match="kind must be 'train' or 't10k'"):
        load_idx_dir(tmp_path, kind="test")
    with pytest.raises(FileNotFoundError, match="folder not found"):
        load_idx_dir(tmp_path / "missing")
    write(tmp_path / "train-images-idx3-ubyte", idx_bytes(IMAGES))
    with pytest.raises(FileNotFoundError, match="train-labels-idx1-ubyte"):
        load_idx_dir(tmp_path)


# --------------------------------------------------------------------------- mnist.pkl.gz

def test_py2_pickle_helper_is_really_py2_style():
    raw = py2_pickle(book_structure())
    assert raw.startswith(b"\x80\x02")
    assert b"numpy.core.multiarray\n_reconstruct" in raw
    assert b"_codecs" not in raw and b"numpy._core" not in raw


def test_load_mnist_pkl_py2_round_trip(tmp_path):
    data = book_structure()
    path = write(tmp_path / "mnist.pkl.gz", py2_pickle(data), gz=True)
    assert_same_structure(load_mnist_pkl(path), data)


@pytest.mark.parametrize("protocol", [3, 4])
def test_load_mnist_pkl_py3_round_trip(tmp_path, protocol):
    data = book_structure()
    path = write(tmp_path / "mnist.pkl.gz", pickle.dumps(data, protocol=protocol), gz=True)
    assert_same_structure(load_mnist_pkl(path), data)


@pytest.mark.parametrize("embed", [False, True])
def test_malicious_pickle_rejected_without_running(tmp_path, embed):
    target = tmp_path / "pwned"
    evil = Evil(f"echo pwned > {shlex.quote(str(target))}")
    # Sanity check that the payload works when unpickled by the stock unpickler.
    assert pickle.loads(pickle.dumps(Evil(f"true > {shlex.quote(str(tmp_path / 'x'))}"))) == 0
    assert (tmp_path / "x").exists()
    data = book_structure()
    obj = ((data[0][0], evil), data[1], data[2]) if embed else evil
    # protocol 4 so that the arrays before the payload are themselves allowed
    path = write(tmp_path / "mnist.pkl.gz", pickle.dumps(obj, protocol=2 if not embed else 4), gz=True)
    with pytest.raises(pickle.UnpicklingError, match=r"forbidden global (posix|nt|os)\.system") as info:
        load_mnist_pkl(path)
    assert str(path) in str(info.value)
    assert isinstance(info.value, ValueError)  # bad input, as every other fastnn input error
    assert not target.exists()


@pytest.mark.parametrize("glob", [b"builtins\neval\n", b"numpy\nload\n", b"numpy.core.multiarray\nscalar\n",
                                  b"subprocess\nPopen\n"])
def test_other_globals_forbidden(tmp_path, glob):
    raw = b"\x80\x02c" + glob + b"X\x01\x00\x00\x001\x85R."
    path = write(tmp_path / "m.pkl.gz", raw, gz=True)
    name = glob.decode().strip().replace("\n", ".")
    with pytest.raises(pickle.UnpicklingError, match=f"forbidden global {name}"):
        load_mnist_pkl(path)


def test_loader_does_not_import_numpy_core_alias():
    # numba/sklearn may import numpy.core themselves, so check the module's own imports.
    tree = ast.parse(inspect.getsource(datasets))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not {m for m in imported if m.startswith(("numpy.core", "numpy._core", "importlib"))}
    names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    assert "__import__" not in names and "getattr" not in names
    reconstruct = datasets._ArrayOnlyUnpickler.find_class(None, "numpy.core.multiarray", "_reconstruct")
    assert reconstruct is np.ndarray.__reduce__(np.empty(0))[0]


@pytest.mark.parametrize("mutate, match", [
    (lambda d: d[:2], r"expected a 3-tuple .* tuple of length 2"),
    (lambda d: (d[0], d[1], (d[2][0],)), r"test must be an \(X, y\) pair, got tuple of length 1"),
    (lambda d: (d[0], d[1], [d[2][0], d[2][1], d[2][1]]), r"test must be an \(X, y\) pair"),
    (lambda d: ((d[0][0].ravel(), d[0][1]), d[1], d[2]), r"training X must be a 2-D float array, got 1-D"),
    (lambda d: ((d[0][0].astype(np.int64), d[0][1]), d[1], d[2]), r"training X must be a 2-D float array"),
    (lambda d: (d[0], (d[1][0], d[1][1].astype(np.float32)), d[2]), r"validation y must be a 1-D integer"),
    (lambda d: (d[0], (d[1][0], d[1][1][:-1]), d[2]), r"validation has 3 samples in X but 2 labels"),
    (lambda d: (d[0], d[1], (d[2][0][:, :2], d[2][1])), r"different numbers of features"),
    (lambda d: ((np.full_like(d[0][0], np.nan), d[0][1]), d[1], d[2]), r"NaN"),
    (lambda d: ((d[0][0], -d[0][1] - 1), d[1], d[2]), r"negative labels"),
])
def test_bad_pickle_structure(tmp_path, mutate, match):
    path = write(tmp_path / "mnist.pkl.gz", pickle.dumps(mutate(book_structure()), protocol=4), gz=True)
    with pytest.raises(ValueError, match=match) as info:
        load_mnist_pkl(path)
    assert str(path) in str(info.value)


def test_pickle_not_gzip_or_garbage(tmp_path):
    raw = write(tmp_path / "raw.pkl.gz", pickle.dumps(book_structure(), protocol=4))
    with pytest.raises(ValueError, match="not a valid gzip-compressed pickle"):
        load_mnist_pkl(raw)
    junk = write(tmp_path / "junk.pkl.gz", b"\x80\x02(K\x01", gz=True)  # truncated stream
    with pytest.raises(ValueError, match="not a valid gzip-compressed pickle"):
        load_mnist_pkl(junk)
    with pytest.raises(FileNotFoundError):
        load_mnist_pkl(tmp_path / "missing.pkl.gz")


# --------------------------------------------------------------------------- digits

def test_load_digits():
    X, y = load_digits()
    assert X.shape == (1797, 64) and X.dtype == np.float64
    assert y.shape == (1797,) and y.dtype == np.int64
    assert X.min() == 0.0 and X.max() == 1.0
    assert set(np.unique(y)) == set(range(10))


def test_load_digits_equals_scikit_learns_without_importing_it():
    import subprocess
    import sys

    from sklearn.datasets import load_digits as sk_load_digits

    X, y = datasets.load_digits()
    sk = sk_load_digits()
    np.testing.assert_array_equal(X, sk.data / 16.0)
    np.testing.assert_array_equal(y, sk.target)
    assert X.dtype == np.float64 and y.dtype == np.int64 and X.flags.c_contiguous
    code = ("import sys; from fastnn import datasets; X, y = datasets.load_digits(); "
            "print(X.shape, 'sklearn' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["(1797,", "64)", "False"]


def test_load_digits_falls_back_to_scikit_learn(monkeypatch):
    expected = datasets.load_digits()
    monkeypatch.setattr(datasets, "_digits_file", lambda: None)
    X, y = datasets.load_digits()
    np.testing.assert_array_equal(X, expected[0])
    np.testing.assert_array_equal(y, expected[1])
    assert y.dtype == np.int64


def test_train_test_digits_fixed_and_seeded():
    X_tr, y_tr, X_te, y_te = train_test_digits()
    assert X_tr.shape == (1297, 64) and X_te.shape == (500, 64)
    assert y_tr.shape == (1297,) and y_te.shape == (500,)
    again = train_test_digits()
    for a, b in zip((X_tr, y_tr, X_te, y_te), again):
        assert_array_equal(a, b)
    other = train_test_digits(seed=1)
    assert not np.array_equal(y_te, other[3])
    # The split is a partition of the full data set.
    X, y = load_digits()
    assert_array_equal(np.sort(np.concatenate([y_tr, y_te])), np.sort(y))
    assert sorted(map(bytes, np.vstack([X_tr, X_te]))) == sorted(map(bytes, X))
    assert train_test_digits(test_size=0.25)[2].shape == (449, 64)


@pytest.mark.parametrize("bad", [0, 1797, 1.0, 0.0, -3])
def test_train_test_digits_bad_size(bad):
    with pytest.raises(ValueError, match="test_size"):
        train_test_digits(test_size=bad)


# --------------------------------------------------------------------------- book format

def test_to_book_format_one_hot():
    X = RNG.random((4, 5))
    y = np.array([0, 9, 3, 3])
    pairs = to_book_format(X, y)
    assert isinstance(pairs, list) and len(pairs) == 4
    for (x, t), row, label in zip(pairs, X, y):
        assert x.shape == (5, 1) and t.shape == (10, 1)
        assert x.dtype == np.float64 and t.dtype == np.float64
        assert_array_equal(x[:, 0], row)
        assert t.sum() == 1.0 and t[label, 0] == 1.0
    X[0, 0] = 42.0
    assert pairs[0][0][0, 0] != 42.0  # no aliasing of the caller's array


def test_to_book_format_int_labels():
    pairs = to_book_format(np.zeros((3, 2)), np.array([2, 0, 1], np.uint8), n_classes=3, one_hot=False)
    assert [t for _, t in pairs] == [2, 0, 1]
    assert all(type(t) is int for _, t in pairs)
    assert all(x.shape == (2, 1) for x, _ in pairs)


def test_to_book_format_errors():
    with pytest.raises(ValueError, match=r"outside 0\.\.2"):
        to_book_format(np.zeros((2, 2)), [0, 3], n_classes=3)
    with pytest.raises(ValueError, match="different numbers of samples"):
        to_book_format(np.zeros((2, 2)), [0, 1, 1])
    with pytest.raises(ValueError, match="Expected 2D"):
        to_book_format(np.zeros(4), [0, 1, 1, 0])


# --------------------------------------------------------------------------- load_dataset

def test_load_dataset_digits():
    X_tr, y_tr, X_te, y_te = load_dataset("digits")
    expected = train_test_digits()
    for a, b in zip((X_tr, y_tr, X_te, y_te), expected):
        assert_array_equal(a, b)


@pytest.mark.parametrize("gz", [False, True])
def test_load_dataset_idx_train_and_test(tmp_path, gz):
    write_pair(tmp_path, "train", gz=gz)
    write_pair(tmp_path, "t10k", gz=gz, images=IMAGES[:3], labels=LABELS[:3])
    X_tr, y_tr, X_te, y_te = load_dataset(str(tmp_path))
    assert_allclose(X_tr, expected_X(IMAGES))
    assert_array_equal(y_tr, LABELS)
    assert_allclose(X_te, expected_X(IMAGES[:3]))
    assert_array_equal(y_te, LABELS[:3])


@pytest.mark.parametrize("kind", ["train", "t10k"])
def test_load_dataset_idx_single_set_is_split(tmp_path, kind):
    images = RNG.integers(0, 256, size=(20, 2, 2), dtype=np.uint8)
    labels = np.arange(20, dtype=np.uint8) % 10
    write_pair(tmp_path, kind, images=images, labels=labels)
    X_tr, y_tr, X_te, y_te = load_dataset(tmp_path)
    assert X_tr.shape == (16, 4) and X_te.shape == (4, 4)
    assert sorted(map(bytes, np.vstack([X_tr, X_te]))) == sorted(map(bytes, expected_X(images)))
    for a, b in zip((X_tr, y_tr, X_te, y_te), load_dataset(tmp_path)):
        assert_array_equal(a, b)  # deterministic


def test_load_dataset_pkl(tmp_path):
    data = book_structure()
    path = write(tmp_path / "mnist.pkl.gz", py2_pickle(data), gz=True)
    X_tr, y_tr, X_te, y_te = load_dataset(str(path))
    assert_array_equal(X_tr, data[0][0].astype(np.float64))
    assert_array_equal(y_tr, data[0][1])
    assert_array_equal(X_te, data[2][0].astype(np.float64))
    assert_array_equal(y_te, data[2][1])


def test_load_dataset_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found: expected 'digits'"):
        load_dataset(str(tmp_path / "nothing-here"))
    with pytest.raises(FileNotFoundError, match="no IDX files found"):
        load_dataset(tmp_path)
    other = write(tmp_path / "data.csv", b"1,2\n")
    with pytest.raises(ValueError, match="unsupported dataset file"):
        load_dataset(other)
    with pytest.raises(FileNotFoundError):
        load_dataset(tmp_path / "missing.pkl.gz")
    with pytest.raises(TypeError, match="'digits' or a path"):
        load_dataset(42)
    write(tmp_path / "t10k-images-idx3-ubyte.gz", idx_bytes(IMAGES), gz=True)
    with pytest.raises(FileNotFoundError, match="t10k-labels-idx1-ubyte"):
        load_dataset(tmp_path)


def test_public_api_has_docstrings():
    for name in datasets.__all__:
        doc = getattr(datasets, name).__doc__
        assert doc and "Returns" in doc, name
