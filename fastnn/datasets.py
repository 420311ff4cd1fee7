"""Datasets for fastnn: MNIST-style IDX files, the book's ``mnist.pkl.gz`` and sklearn digits.

Nothing here downloads anything.  Every loader returns plain NumPy arrays:
``X`` float64 of shape ``(n_samples, n_features)`` scaled to [0, 1] and ``y``
int64 class labels.  :func:`to_book_format` turns them into the list of
column-vector pairs used by the book's ``mnist_loader.load_data_wrapper``.

``mnist.pkl.gz`` is a pickle, and unpickling can run arbitrary code.
:func:`load_mnist_pkl` therefore uses a restricted unpickler that can only
build NumPy arrays and dtypes; any other global raises
:class:`fastnn.UnsafePickleError` (a ``pickle.UnpicklingError`` and a
``ValueError``) before it is called.
"""
import gzip
import os
import pickle
import sys
import zlib
from pathlib import Path

import numpy as np

from fastnn._safe_pickle import PY3_GLOBALS
from fastnn._validation import check_array, check_int, check_targets
from fastnn.exceptions import UnsafePickleError

__all__ = [
    "load_idx",
    "load_idx_dir",
    "load_mnist_pkl",
    "load_digits",
    "train_test_digits",
    "to_book_format",
    "load_dataset",
    "write_mnist_pkl",
    "idx_to_mnist_pkl",
]

_GZIP_MAGIC = b"\x1f\x8b"
_IDX_UINT8 = 0x08
_IMAGES_MAGIC = 0x00000803  # unsigned byte, 3 dimensions (n, rows, cols)
_LABELS_MAGIC = 0x00000801  # unsigned byte, 1 dimension (n,)
_CHUNK = 1 << 20
_IDX_KINDS = ("train", "t10k")
_SINGLE_SET_TEST_FRACTION = 0.2
_DIGITS_TEST_SIZE = 500


# --------------------------------------------------------------------------- IDX files

def _open_maybe_gzip(path):
    """Open ``path`` for binary reading, decompressing if it starts with the gzip magic."""
    with open(path, "rb") as f:
        head = f.read(2)
    if head == _GZIP_MAGIC:
        return gzip.open(path, "rb")
    return open(path, "rb")


def _read_at_most(f, n):
    """Read up to ``n`` bytes in chunks, so a bogus header cannot force a huge allocation."""
    buf = bytearray()
    while len(buf) < n:
        chunk = f.read(min(_CHUNK, n - len(buf)))
        if not chunk:
            break
        buf += chunk
    return buf


def _check_magic(path, header, expected_magic):
    """Raise ``ValueError`` unless the 4-byte ``header`` is ``expected_magic``."""
    magic = int.from_bytes(header, "big")
    if magic == expected_magic:
        return
    want_ndim = expected_magic & 0xFF
    if header[:2] != b"\x00\x00":
        problem = "is not an IDX file (its first two bytes must be zero)"
    elif header[2] != _IDX_UINT8:
        problem = f"has IDX data type code 0x{header[2]:02x}; expected 0x08 (unsigned byte)"
    else:
        problem = f"has {header[3]} dimensions; expected {want_ndim}"
    raise ValueError(f"{path}: bad magic number 0x{magic:08x} (expected 0x{expected_magic:08x}): "
                     f"the file {problem}")


def _read_idx(path, expected_magic):
    """Read a uint8 IDX file and return its array, validating header and length.

    Parameters
    ----------
    path : str or os.PathLike
        File to read, raw or gzip-compressed (detected from the content).
    expected_magic : int
        ``_IMAGES_MAGIC`` or ``_LABELS_MAGIC``.

    Returns
    -------
    ndarray of uint8
        Shape ``(n, rows, cols)`` for images, ``(n,)`` for labels.

    Raises
    ------
    FileNotFoundError
        If ``path`` is not a file.
    ValueError
        For a bad magic number, zero dimensions, truncated data, trailing
        bytes, or corrupt gzip data.
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f"IDX file not found: {path}")
    ndim = expected_magic & 0xFF
    try:
        with _open_maybe_gzip(path) as f:
            header = _read_at_most(f, 4 + 4 * ndim)
            if len(header) < 4 + 4 * ndim:
                raise ValueError(f"{path}: truncated header: {len(header)} bytes, "
                                 f"expected at least {4 + 4 * ndim}")
            _check_magic(path, bytes(header[:4]), expected_magic)
            shape = tuple(int.from_bytes(header[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
            if 0 in shape:
                raise ValueError(f"{path}: header declares an empty array of shape {shape}")
            size = int(np.prod(shape, dtype=object))
            data = _read_at_most(f, size)
            extra = f.read(1)
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise ValueError(f"{path}: corrupt or truncated gzip data ({exc})") from None
    if len(data) < size:
        raise ValueError(f"{path}: truncated data: header declares shape {shape} "
                         f"({size} bytes) but only {len(data)} bytes follow")
    if extra:
        raise ValueError(f"{path}: trailing garbage: more than the {size} data bytes "
                         f"declared by the header (shape {shape})")
    return np.frombuffer(data, dtype=np.uint8).reshape(shape)


def load_idx(images_path, labels_path):
    """Load an MNIST-style pair of IDX files (raw or gzip-compressed).

    Compression is detected from the gzip magic bytes, not the file name.

    Parameters
    ----------
    images_path : str or os.PathLike
        IDX3 image file (magic 0x00000803: uint8, shape ``(n, rows, cols)``).
    labels_path : str or os.PathLike
        IDX1 label file (magic 0x00000801: uint8, shape ``(n,)``).

    Returns
    -------
    X : ndarray of float64, shape (n, rows * cols)
        Pixel values divided by 255, so in [0, 1].
    y : ndarray of int64, shape (n,)
        Labels.

    Raises
    ------
    FileNotFoundError
        If either file does not exist.
    ValueError
        If a file is corrupt (bad magic number, wrong number of dimensions,
        truncated data, trailing bytes, bad gzip data) or the files hold
        different numbers of samples.  The message names the file.
    """
    images = _read_idx(images_path, _IMAGES_MAGIC)
    labels = _read_idx(labels_path, _LABELS_MAGIC)
    if images.shape[0] != labels.shape[0]:
        raise ValueError(f"count mismatch: {images_path} holds {images.shape[0]} images but "
                         f"{labels_path} holds {labels.shape[0]} labels")
    X = images.reshape(images.shape[0], -1).astype(np.float64) / 255.0
    return X, labels.astype(np.int64)


def _find_idx_file(folder, kind, what):
    """Return the path of ``{kind}-{what}-ubyte`` or ``.gz`` in ``folder``, or None."""
    for suffix in ("", ".gz"):
        path = folder / f"{kind}-{what}-ubyte{suffix}"
        if path.is_file():
            return path
    return None


def _check_kind(kind):
    """Raise ``ValueError`` unless ``kind`` is "train" or "t10k"."""
    if kind not in _IDX_KINDS:
        raise ValueError(f"kind must be 'train' or 't10k', got {kind!r}")


def load_idx_dir(path, kind="train"):
    """Load the standard MNIST-named IDX pair for ``kind`` from a folder.

    Looks for ``{kind}-images-idx3-ubyte`` and ``{kind}-labels-idx1-ubyte``,
    each with or without a ``.gz`` suffix (the uncompressed name wins if both
    exist).  Works for MNIST, Fashion-MNIST and any data in the same layout.

    Parameters
    ----------
    path : str or os.PathLike
        Folder holding the files.
    kind : {"train", "t10k"}, default "train"
        Which set to load.

    Returns
    -------
    X : ndarray of float64, shape (n, rows * cols)
    y : ndarray of int64, shape (n,)

    Raises
    ------
    FileNotFoundError
        If the folder or one of the two files is missing.
    ValueError
        If ``kind`` is invalid or a file is corrupt (see :func:`load_idx`).
    """
    _check_kind(kind)
    folder = Path(path)
    if not folder.is_dir():
        raise FileNotFoundError(f"IDX folder not found: {folder}")
    found = {}
    for what in ("images-idx3", "labels-idx1"):
        found[what] = _find_idx_file(folder, kind, what)
        if found[what] is None:
            raise FileNotFoundError(f"{folder}: no {kind}-{what}-ubyte or "
                                    f"{kind}-{what}-ubyte.gz file")
    return load_idx(found["images-idx3"], found["labels-idx1"])


# --------------------------------------------------------------------------- mnist.pkl.gz

_RECONSTRUCT = np.ndarray.__reduce__(np.empty(0))[0]  # avoids importing the numpy.core alias
_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,   # written by NumPy 1.x / Python 2
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,  # written by NumPy 2.x
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    **PY3_GLOBALS,  # Python 3 pickles (protocols 0-2 and 5): guarded stand-ins, see _safe_pickle
}


class _ArrayOnlyUnpickler(pickle.Unpickler):
    """Unpickler that can only build NumPy arrays, dtypes and builtin containers."""

    def find_class(self, module, name):
        """Return an allowed global or raise :class:`pickle.UnpicklingError`."""
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise UnsafePickleError(
                f"forbidden global {module}.{name}: mnist.pkl.gz may only contain NumPy "
                f"arrays, so the file was rejected without running it") from None


def _unpickle_arrays(path):
    """Gunzip and unpickle ``path`` with the array-only unpickler."""
    try:
        with gzip.open(path, "rb") as f:
            return _ArrayOnlyUnpickler(f, encoding="latin1").load()
    except UnsafePickleError as exc:
        raise UnsafePickleError(f"{path}: {exc}") from None
    except (EOFError, zlib.error, gzip.BadGzipFile, pickle.UnpicklingError,
            TypeError, ValueError, AttributeError, IndexError, KeyError) as exc:
        raise ValueError(f"{path}: not a valid gzip-compressed pickle of NumPy arrays "
                         f"({type(exc).__name__}: {exc})") from None


def _check_split(path, name, split):
    """Validate one ``(X, y)`` pair of the book's pickle and return float64/int64 copies."""
    if not isinstance(split, (tuple, list)) or len(split) != 2:
        raise ValueError(f"{path}: {name} must be an (X, y) pair, got {_describe(split)}")
    X, y = split
    if not isinstance(X, np.ndarray) or X.ndim != 2 or not np.issubdtype(X.dtype, np.floating):
        raise ValueError(f"{path}: {name} X must be a 2-D float array, got "
                         f"{_describe(X)}")
    if not isinstance(y, np.ndarray) or y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"{path}: {name} y must be a 1-D integer array, got {_describe(y)}")
    if X.shape[0] != y.shape[0]:
        raise ValueError(f"{path}: {name} has {X.shape[0]} samples in X but {y.shape[0]} labels")
    if not np.isfinite(X).all():
        raise ValueError(f"{path}: {name} X contains NaN or infinity")
    if y.size and y.min() < 0:
        raise ValueError(f"{path}: {name} y contains negative labels")
    return np.ascontiguousarray(X, dtype=np.float64), np.ascontiguousarray(y, dtype=np.int64)


def _describe(a):
    """Short description of ``a`` for error messages."""
    if isinstance(a, np.ndarray):
        return f"{a.ndim}-D {a.dtype} array of shape {a.shape}"
    if isinstance(a, (tuple, list)):
        return f"{type(a).__name__} of length {len(a)}"
    return type(a).__name__


def load_mnist_pkl(path):
    """Load the book's ``mnist.pkl.gz`` safely, without executing code from the file.

    The file is a gzip-compressed Python 2 pickle of
    ``((X_train, y_train), (X_val, y_val), (X_test, y_test))``.  It is read
    with ``encoding="latin1"`` by an unpickler whose ``find_class`` only
    returns ``numpy.ndarray``, ``numpy.dtype`` and NumPy's ``_reconstruct``
    (under ``numpy.core.multiarray`` or ``numpy._core.multiarray``).
    Pickles that Python 3 wrote with any protocol (0-5, e.g. a re-pickled
    copy of the book's file) load too: the globals they add,
    ``_codecs.encode``, ``bytes`` and NumPy's ``_frombuffer``, are replaced by
    guarded stand-ins that only rebuild bytes and arrays (Latin-1 text to
    bytes, ``bytes()`` with no argument, an array viewed from in-band bytes
    with a dtype holding no objects) and refuse any other use.

    Parameters
    ----------
    path : str or os.PathLike
        The ``mnist.pkl.gz`` file.

    Returns
    -------
    ((X_train, y_train), (X_val, y_val), (X_test, y_test))
        ``X_*`` float64 of shape ``(n, n_features)``, ``y_*`` int64 of shape
        ``(n,)``.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    pickle.UnpicklingError
        If the pickle asks for any other global (for example ``os.system``),
        or uses an allowed stand-in otherwise (``_codecs.encode`` with another
        codec, for example); the message names it.  Nothing from the file is
        called.  The exception is a :class:`fastnn.UnsafePickleError`.
    ValueError
        If the file is not a gzip-compressed pickle, or does not have the
        structure above (3-tuple of 2-tuples, 2-D float X, 1-D integer y of
        the same length, the same number of features in every split).
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f"pickle file not found: {path}")
    data = _unpickle_arrays(path)
    if not isinstance(data, (tuple, list)) or len(data) != 3:
        raise ValueError(f"{path}: expected a 3-tuple (training, validation, test), "
                         f"got {_describe(data)}")
    splits = tuple(_check_split(path, name, split)
                   for name, split in zip(("training", "validation", "test"), data))
    n_features = {X.shape[1] for X, _ in splits}
    if len(n_features) != 1:
        raise ValueError(f"{path}: the splits have different numbers of features: "
                         f"{[X.shape[1] for X, _ in splits]}")
    return splits


# --------------------------------------------------------------------------- sklearn digits

def _digits_file():
    """Path of scikit-learn's ``datasets/data/digits.csv.gz`` in the first ``sys.path`` entry
    holding a ``sklearn`` package (where ``import sklearn`` would look), found without
    importing scikit-learn (which takes 1.5-2 s of CPU); None if it is not there."""
    for folder in sys.path:
        package = os.path.join(folder or os.curdir, "sklearn")
        if os.path.isfile(os.path.join(package, "__init__.py")):
            path = os.path.join(package, "datasets", "data", "digits.csv.gz")
            return path if os.path.isfile(path) else None
    return None


def _digits_table():
    """The digits as scikit-learn stores them: 1797 rows of 64 pixels (0..16) and the label.

    Read straight from scikit-learn's bundled CSV file when it is where scikit-learn keeps
    it (the same ``np.loadtxt`` scikit-learn runs, so the same values), else through
    ``sklearn.datasets.load_digits``.
    """
    path = _digits_file()
    if path is not None:
        with gzip.open(path, "rt", encoding="utf-8") as f:
            return np.loadtxt(f, delimiter=",")
    from sklearn.datasets import load_digits as _sk_load_digits

    bunch = _sk_load_digits()
    return np.column_stack([bunch.data, bunch.target])


def load_digits():
    """Load scikit-learn's bundled 8x8 handwritten digits (no download).

    The file is read directly, without importing scikit-learn (a fresh
    ``fastnn train`` starts 1.5-2 s sooner); the values are those of
    ``sklearn.datasets.load_digits``.

    Returns
    -------
    X : ndarray of float64, shape (1797, 64)
        Pixel values (0..16 in the original) divided by 16, so in [0, 1].
    y : ndarray of int64, shape (1797,)
        Digit labels 0..9.
    """
    table = _digits_table()
    X = np.ascontiguousarray(table[:, :-1], dtype=np.float64) / 16.0
    return X, table[:, -1].astype(np.int64)


def _split(X, y, test_size, seed):
    """Shuffle with ``seed`` and split off ``test_size`` samples (int) or a fraction (float)."""
    n = X.shape[0]
    if isinstance(test_size, float) and not isinstance(test_size, bool):
        if not 0.0 < test_size < 1.0:
            raise ValueError(f"test_size as a fraction must be in (0, 1), got {test_size}")
        n_test = int(round(test_size * n))
    else:
        n_test = check_int(test_size, "test_size", 1)
    if not 1 <= n_test < n:
        raise ValueError(f"test_size must leave at least one sample on each side of the split: "
                         f"got {n_test} test samples out of {n}")
    order = np.random.default_rng(seed).permutation(n)
    train, test = order[n_test:], order[:n_test]
    return X[train], y[train], X[test], y[test]


def train_test_digits(test_size=_DIGITS_TEST_SIZE, seed=0):
    """Split the sklearn digits into fixed, seeded training and test sets.

    Parameters
    ----------
    test_size : int or float, default 500
        Number of test samples, or the test fraction if a float in (0, 1).
        The default gives 1297 training and 500 test samples.
    seed : int, default 0
        Seed for the shuffle (``np.random.default_rng(seed)``); the same seed
        always gives the same split.

    Returns
    -------
    X_train, y_train, X_test, y_test : ndarray
        X float64 in [0, 1] with 64 features, y int64.

    Raises
    ------
    ValueError
        If ``test_size`` leaves an empty training or test set.

    Examples
    --------
    >>> from fastnn.datasets import train_test_digits
    >>> X_train, y_train, X_test, y_test = train_test_digits()
    >>> X_train.shape, X_test.shape, float(X_train.max())
    ((1297, 64), (500, 64), 1.0)
    """
    X, y = load_digits()
    return _split(X, y, test_size, seed)


# --------------------------------------------------------------------------- book format

def to_book_format(X, y, n_classes=10, one_hot=True):
    """Convert arrays to the book's list of ``(x, y)`` column-vector pairs.

    Mirrors ``mnist_loader.load_data_wrapper``: training data has one-hot
    column targets, test data has integer labels.

    Parameters
    ----------
    X : array-like, shape (n, n_in)
        Inputs.
    y : array-like, shape (n,) or (n, n_classes)
        Integer labels in ``0..n_classes-1`` (or one-hot rows).
    n_classes : int, default 10
        Number of classes (length of the one-hot vectors).
    one_hot : bool, default True
        If True each target is a float64 ``(n_classes, 1)`` one-hot column;
        otherwise a Python ``int``.

    Returns
    -------
    list of tuple
        ``n`` pairs ``(x, target)`` with ``x`` a float64 ``(n_in, 1)`` column.

    Raises
    ------
    ValueError
        For mismatched lengths, bad shapes, NaN/inf, or labels outside
        ``0..n_classes-1``.

    Examples
    --------
    >>> import numpy as np
    >>> from fastnn.datasets import to_book_format
    >>> pairs = to_book_format(np.zeros((2, 4)), np.array([3, 1]), n_classes=5)
    >>> x, y = pairs[0]
    >>> x.shape, y.shape, y.ravel().tolist()
    ((4, 1), (5, 1), [0.0, 0.0, 0.0, 1.0, 0.0])
    """
    n_classes = check_int(n_classes, "n_classes", 1)
    X = np.array(check_array(X, "X"), dtype=np.float64, copy=True)  # pairs never alias the input
    Y, labels = check_targets(y, X.shape[0], n_classes)
    xs = [row.reshape(-1, 1) for row in X]
    if one_hot:
        return [(x, t.reshape(-1, 1)) for x, t in zip(xs, Y)]
    return [(x, int(label)) for x, label in zip(xs, labels)]


# --------------------------------------------------------------------------- data specifications (--data)

def _load_idx_folder(folder):
    """Train/test arrays from a folder with train and/or t10k IDX files."""
    present = [kind for kind in _IDX_KINDS
               if _find_idx_file(folder, kind, "images-idx3") or _find_idx_file(folder, kind, "labels-idx1")]
    if not present:
        raise FileNotFoundError(f"{folder}: no IDX files found (expected train-images-idx3-ubyte[.gz] "
                                f"and train-labels-idx1-ubyte[.gz], and/or the t10k-* pair)")
    if len(present) == 2:
        return load_idx_dir(folder, "train") + load_idx_dir(folder, "t10k")
    X, y = load_idx_dir(folder, present[0])
    return _split(X, y, _SINGLE_SET_TEST_FRACTION, 0)


def load_dataset(spec):
    """Load a dataset for the CLI from a short specification.

    Parameters
    ----------
    spec : str or os.PathLike
        One of

        * ``"digits"``: sklearn's 8x8 digits, split by :func:`train_test_digits`
          (1297 train / 500 test).
        * a folder of MNIST-named IDX files: ``train-*`` for training and
          ``t10k-*`` for testing; if only one of the two sets is present it is
          split deterministically (seed 0, 20% test).
        * a path ending in ``.pkl.gz``: the book's ``mnist.pkl.gz``, loaded by
          :func:`load_mnist_pkl`; its training and test splits are returned and
          the validation split is dropped (as in the book's ``network.py``
          example).

    Returns
    -------
    X_train, y_train, X_test, y_test : ndarray
        X float64 in [0, 1], y int64.

    Raises
    ------
    TypeError
        If ``spec`` is not a string or path.
    FileNotFoundError
        If the path does not exist or a folder holds no (or half a pair of)
        IDX files.
    ValueError
        If ``spec`` is an existing file that is not ``.pkl.gz``, or the data
        is corrupt.
    pickle.UnpicklingError
        If a ``.pkl.gz`` file contains anything but NumPy arrays.
    """
    if not isinstance(spec, (str, os.PathLike)):
        raise TypeError(f"dataset must be 'digits' or a path, got {type(spec).__name__}")
    if isinstance(spec, str) and spec == "digits":
        return train_test_digits()
    path = Path(spec)
    if path.is_dir():
        return _load_idx_folder(path)
    if path.name.endswith(".pkl.gz"):
        (X_tr, y_tr), _, (X_te, y_te) = load_mnist_pkl(path)
        return X_tr, y_tr, X_te, y_te
    if not path.exists():
        raise FileNotFoundError(f"dataset {str(spec)!r} not found: expected 'digits', a folder of "
                                f"IDX files, or a .pkl.gz file")
    raise ValueError(f"unsupported dataset file {str(spec)!r}: expected 'digits', a folder of "
                     f"IDX files, or a .pkl.gz file (for a single IDX pair use load_idx)")


# --------------------------------------------------------------------------- writing mnist.pkl.gz
# The book's scripts read ../data/mnist.pkl.gz; these write one from any IDX data set.

BOOK_VALIDATION_SIZE = 10000
"""Images the book's ``mnist.pkl.gz`` keeps for validation: the last 10,000 of the 60,000."""

_PICKLE_PROTOCOLS = (2, 3, 4, 5)


def _book_split(X, y, name, n_features=None):
    """Checked float32/int64 copies of one ``(X, y)`` split for :func:`write_mnist_pkl`."""
    X = check_array(X, f"{name} X", dtype=np.float32)
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(f"{name} X has {X.shape[1]} features per sample but the training "
                         f"split has {n_features}; every split needs the same image size")
    if X.size and (X.min() < 0.0 or X.max() > 1.0):
        raise ValueError(f"{name} X must hold pixel values in [0, 1] (the book's format), got "
                         f"values in [{X.min():g}, {X.max():g}]; divide raw pixels by 255")
    y = np.asarray(y)
    if y.shape != (X.shape[0],) or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"{name} y must be a 1-D integer array of {X.shape[0]} labels, got "
                         f"{_describe(y)}")
    if y.size and y.min() < 0:
        raise ValueError(f"{name} y contains negative labels")
    return X, np.ascontiguousarray(y, dtype=np.int64)


def write_mnist_pkl(path, training, validation, test, protocol=4):
    """Write three ``(X, y)`` splits as the book's ``mnist.pkl.gz``, atomically.

    The file is what the book's ``mnist_loader.py`` and ``network3.py`` read:
    a gzip-compressed pickle of ``((X_train, y_train), (X_val, y_val),
    (X_test, y_test))`` with ``X`` float32 of shape ``(n, n_features)`` in
    [0, 1] and ``y`` int64.  It holds nothing but NumPy arrays, so
    :func:`load_mnist_pkl` reads it back.

    Parameters
    ----------
    path : str or os.PathLike
        Output file (conventionally ``../data/mnist.pkl.gz`` relative to the
        book's ``src/``).  Its directory must exist.  Written through a
        temporary file and renamed, so an error or Ctrl-C leaves any old file
        untouched.
    training, validation, test : (X, y)
        Each an array of shape ``(n, n_features)`` with values in [0, 1] and
        ``n`` integer labels; the same ``n_features`` in all three.
    protocol : {2, 3, 4, 5}, default 4
        Pickle protocol.  4 is read by every Python 3 and by fastnn releases
        that predate protocol-5 support.

    Returns
    -------
    tuple of int
        The number of samples in each split.

    Raises
    ------
    ValueError
        For a bad split (shapes, NaN, values outside [0, 1], negative or
        non-integer labels), different feature counts, or a bad protocol.
    FileNotFoundError
        If the output directory does not exist.

    Examples
    --------
    >>> import numpy as np
    >>> from fastnn.datasets import load_mnist_pkl, write_mnist_pkl
    >>> X, y = np.full((4, 3), 0.5), np.arange(4)
    >>> write_mnist_pkl("tiny.pkl.gz", (X, y), (X[:2], y[:2]), (X[:1], y[:1]))
    (4, 2, 1)
    >>> [split[0].shape for split in load_mnist_pkl("tiny.pkl.gz")]
    [(4, 3), (2, 3), (1, 3)]
    """
    from fastnn.persistence import atomic_write

    if protocol not in _PICKLE_PROTOCOLS:
        raise ValueError(f"protocol must be one of {_PICKLE_PROTOCOLS}, got {protocol!r}")
    splits, n_features = [], None
    for name, split in zip(("training", "validation", "test"), (training, validation, test)):
        if not isinstance(split, (tuple, list)) or len(split) != 2:
            raise ValueError(f"{name} must be an (X, y) pair, got {_describe(split)}")
        X, y = _book_split(split[0], split[1], name, n_features)
        n_features = X.shape[1]
        splits.append((X, y))
    with atomic_write(path) as f:
        with gzip.GzipFile(fileobj=f, mode="wb", mtime=0) as gz:  # mtime 0: same data, same bytes
            pickle.dump(tuple(splits), gz, protocol=protocol)
    return tuple(X.shape[0] for X, _ in splits)


def idx_to_mnist_pkl(folder, path, n_validation=BOOK_VALIDATION_SIZE, protocol=4):
    """Write the book's ``mnist.pkl.gz`` from a folder of MNIST-named IDX files.

    As in the book's file, the first ``n - n_validation`` training images are
    the training split, the last ``n_validation`` the validation split, and
    the ``t10k`` files the test split: 50,000 / 10,000 / 10,000 for MNIST or
    Fashion-MNIST.  Pixels are divided by 255 and stored as float32.

    Parameters
    ----------
    folder : str or os.PathLike
        Folder with ``train-images-idx3-ubyte[.gz]``,
        ``train-labels-idx1-ubyte[.gz]`` and the two ``t10k-*`` files.
    path : str or os.PathLike
        Output file, written atomically (see :func:`write_mnist_pkl`).
    n_validation : int, default 10000
        Training images moved to the validation split (from the end).
    protocol : {2, 3, 4, 5}, default 4
        Pickle protocol.

    Returns
    -------
    tuple of int
        ``(n_train, n_validation, n_test)``.

    Raises
    ------
    FileNotFoundError
        If the folder or one of the four files is missing.
    ValueError
        If a file is corrupt, or ``n_validation`` does not leave at least one
        training image.
    """
    X, y = load_idx_dir(folder, "train")
    X_test, y_test = load_idx_dir(folder, "t10k")
    n_validation = check_int(n_validation, "n_validation", 1)
    if n_validation >= X.shape[0]:
        raise ValueError(f"n_validation={n_validation} leaves no training images: the training "
                         f"files hold {X.shape[0]} images; use a smaller n_validation")
    cut = X.shape[0] - n_validation
    return write_mnist_pkl(path, (X[:cut], y[:cut]), (X[cut:], y[cut:]), (X_test, y_test),
                           protocol=protocol)
