"""Input validation shared by every public entry point.

Messages follow scikit-learn's convention: name the argument, say what was
expected and what was found, and suggest the fix.  Shapes and values raise
``ValueError``; wrong types raise ``TypeError``.
"""
import numbers
import warnings

import numpy as np

from ._stacklevel import outside_fastnn
from .exceptions import UnscaledInputWarning

SUPPORTED_DTYPES = {"float64": np.float64, "float32": np.float32}


def check_dtype(dtype):
    """Return ``np.float64`` or ``np.float32`` for a dtype-like ``dtype``.

    Raises
    ------
    TypeError
        If ``dtype`` is anything but float32 or float64.
    """
    try:
        name = np.dtype(dtype).name
    except TypeError:
        name = None
    if name not in SUPPORTED_DTYPES:
        raise TypeError(f"dtype must be 'float64' or 'float32', got {dtype!r}")
    return SUPPORTED_DTYPES[name]


def check_sizes(sizes):
    """Validate a list of layer sizes such as ``[784, 30, 10]``.

    Returns
    -------
    list of int

    Raises
    ------
    TypeError
        If ``sizes`` is not a sequence of integers.
    ValueError
        If there are fewer than 2 layers or a size is not positive.
    """
    if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__len__"):
        raise TypeError(f"sizes must be a list of layer sizes such as [784, 30, 10], got {sizes!r}")
    out = []
    for s in sizes:
        if isinstance(s, bool) or not isinstance(s, numbers.Integral):
            raise TypeError(f"sizes must contain integers, got {s!r} in {list(sizes)!r}")
        if s <= 0:
            raise ValueError(f"layer sizes must be positive, got {int(s)} in {list(sizes)!r}")
        out.append(int(s))
    if len(out) < 2:
        raise ValueError(
            f"a network needs at least 2 layers (input and output), got sizes={out!r}")
    return out


def check_int(value, name, minimum):
    """Return ``value`` as an int, requiring ``value >= minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def check_float(value, name, *, positive=False, nonnegative=False):
    """Return ``value`` as a finite float, optionally requiring a sign."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if positive and value <= 0:
        raise ValueError(f"{name} must be > 0, got {value}")
    if nonnegative and value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    return value


def check_hidden_sizes(value, name="hidden_layer_sizes", *, allow_int=False):
    """The sizes of the hidden layers as a tuple of positive ints (may be empty: no hidden layer).

    ``allow_int``: a single int means one hidden layer (scikit-learn's
    ``hidden_layer_sizes=30``).

    Raises
    ------
    TypeError
        If ``value`` is not a sequence of integers (or an int, with ``allow_int``).
    ValueError
        If a size is not positive.
    """
    if allow_int and isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = [value]
    return check_positive_ints(value, name, also=" or an int" if allow_int else "")


def check_positive_ints(value, name, *, items="layer sizes", example="(30,)", meaning="positive layer sizes",
                        also=""):
    """``value``, a sequence of ints >= 1 (possibly empty), as a tuple.

    The messages name ``name`` and describe its entries as ``items`` (for example ``example``) and
    what an entry below 1 is not (``meaning``); ``also`` adds another accepted form.

    Raises
    ------
    TypeError
        If ``value`` is not a sequence of integers.
    ValueError
        If an entry is below 1.
    """
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise TypeError(f"{name} must be a tuple of {items} such as {example}{also}, got {value!r}")
    sizes = list(value)
    for s in sizes:
        if isinstance(s, bool) or not isinstance(s, numbers.Integral):
            raise TypeError(f"{name} must contain integers, got {s!r} in {sizes!r}")
        if s < 1:
            raise ValueError(f"{name} entries must be >= 1 ({meaning}), got {s} in {sizes!r}")
    return tuple(int(s) for s in sizes)


def check_choice(value, name, choices):
    """Return ``value`` if it is one of the strings ``choices``, else raise ValueError."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}, got {value!r}")
    return value


def check_flag(value, name):
    """Return ``value`` as a bool if it is True or False (NumPy's too), else raise TypeError."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


_NUMERIC_KINDS = "biuf"  # bool, signed int, unsigned int, float (not timedelta 'm', complex 'c', ...)


def _from_pandas(X, name):
    """A DataFrame/Series as a NumPy array, nullable columns turned into float (NA -> NaN).

    Non-numeric columns raise TypeError naming them.  Plain NumPy-backed
    numeric frames go through ``np.asarray`` (no copy when possible).
    """
    import pandas as pd  # only reached for pandas objects, so pandas stays optional

    frame = X.to_frame() if isinstance(X, pd.Series) else X
    bad = [str(c) for c, t in frame.dtypes.items()
           if not (pd.api.types.is_numeric_dtype(t) or pd.api.types.is_bool_dtype(t))]
    if bad:
        raise TypeError(f"{name} has non-numeric columns {bad[:5]}; expected real numbers. "
                        f"Encode or drop them first")
    if all(isinstance(t, np.dtype) for t in frame.dtypes):
        return np.asarray(X)
    # pandas extension dtypes (Int64, Float64, boolean): NA becomes NaN, caught below
    return X.to_numpy(dtype=np.float64, na_value=np.nan)


def as_array(X, name):
    """``np.asarray(X)`` with clear errors for input NumPy cannot make a regular array of."""
    if hasattr(X, "toarray") and hasattr(X, "nnz"):  # scipy.sparse, without importing scipy
        raise TypeError(f"{name} is a sparse matrix; fastnn needs dense data: pass {name}.toarray()")
    if hasattr(X, "dtypes") and hasattr(X, "to_numpy"):  # pandas DataFrame / Series
        return _from_pandas(X, name)
    if np.ma.isMaskedArray(X):
        if np.ma.getmaskarray(X).any():
            raise ValueError(f"{name} is a masked array with masked entries; fill them first "
                             f"({name}.filled(value))")
        return np.ma.getdata(X)
    try:
        return np.asarray(X)
    except ValueError as exc:  # ragged nested lists
        raise ValueError(f"{name} could not be converted to a regular array: {exc}") from None


def _check_kind(X, name):
    """TypeError unless ``X`` holds real numbers (bool, int, uint, float)."""
    if X.dtype == object:
        raise TypeError(f"{name} has dtype object; expected numbers. Convert it with "
                        f"np.asarray({name}, dtype=float) after checking its contents")
    if X.dtype.kind == "c":
        raise TypeError(f"{name} has complex dtype {X.dtype}; expected real numbers")
    if X.dtype.kind not in _NUMERIC_KINDS:
        raise TypeError(f"{name} has non-numeric dtype {X.dtype}; expected real numbers")


def _warn_unscaled(X, name):
    """Warn when uint8 data has values above 1: it is used as is, not divided by 255."""
    if X.dtype == np.uint8 and X.size and X.max() > 1:
        warnings.warn(f"{name} has dtype uint8 with values up to {int(X.max())}; fastnn uses the "
                      f"values as they are and does not rescale pixels. Pass {name} / 255.0 for "
                      f"inputs in [0, 1] as in the book", UnscaledInputWarning,
                      stacklevel=outside_fastnn())


_FINITE_BLOCK = 1 << 22
"""Elements per block of :func:`_all_finite` (32 MB of float64)."""


def _all_finite(X):
    """``np.isfinite(X).all()`` in blocks of rows, so a memory-mapped ``X`` bigger than
    RAM needs no boolean temporary of its size."""
    if X.size <= _FINITE_BLOCK:
        return bool(np.isfinite(X).all())
    rows = max(1, _FINITE_BLOCK // max(1, X.size // X.shape[0]))
    return all(np.isfinite(X[i:i + rows]).all() for i in range(0, X.shape[0], rows))


def check_array(X, name="X", *, ndim=2, dtype=np.float64, n_features=None, allow_empty=False, finite=True):
    """Convert ``X`` to a C-contiguous, writeable, finite float array of ``ndim`` dimensions.

    Accepts NumPy arrays of any memory layout (C, Fortran, strided views,
    read-only, memory-mapped), of bool, integer or float dtype, nested
    lists, and pandas DataFrames/Series with numeric columns.  Copies at
    most once, and only when the dtype, layout or writeability must change:
    a C-contiguous writeable array of ``dtype`` is returned as is.  Read-only
    input (e.g. ``np.load(..., mmap_mode="r")``) is copied so that the
    compiled kernels see a single array type.  uint8 data with values above
    1 triggers an :class:`UnscaledInputWarning` (values are never rescaled).
    ``finite=False`` skips the scan for NaN/inf (a full pass over ``X``) for
    callers that learn it otherwise, then call :func:`check_finite` if needed.

    Raises
    ------
    TypeError
        For object, complex, string, datetime or otherwise non-numeric data,
        and for sparse matrices.
    ValueError
        For a wrong number of dimensions or features, ragged lists, empty
        input, masked entries, NaN or inf (also after conversion, e.g. a
        float64 too large for float32).
    """
    X = as_array(X, name)
    _check_kind(X, name)
    if X.ndim != ndim:
        hint = " Reshape your data with X.reshape(1, -1) for a single sample." if X.ndim == 1 and ndim == 2 else ""
        raise ValueError(f"Expected {ndim}D array for {name}, got {X.ndim}D array with shape {X.shape} instead.{hint}")
    if not allow_empty and X.size == 0:
        raise ValueError(f"{name} is empty (shape {X.shape}); at least one sample is required")
    if n_features is not None and ndim == 2 and X.shape[1] != n_features:
        raise ValueError(f"{name} has {X.shape[1]} features per sample, but the network expects {n_features}")
    _warn_unscaled(X, name)
    ready = X.dtype == dtype and X.flags.c_contiguous and X.flags.writeable
    if not ready:
        with np.errstate(over="ignore"):  # overflow to inf is reported just below
            X = np.array(X, dtype=dtype, order="C", copy=True)
    elif type(X) is not np.ndarray:  # np.memmap / np.matrix views -> plain ndarray, no copy
        X = X.view(np.ndarray)
    if finite:
        check_finite(X, name, converted=not ready)
    return X


def check_finite(X, name="X", *, converted=False):
    """ValueError naming ``name`` if ``X`` holds NaN or infinity (``converted``: it was
    cast from another dtype, whose values may not fit)."""
    if not _all_finite(X):
        raise ValueError(f"{name} contains NaN or infinity; clean or impute it first"
                         + (f" (values must also fit in {X.dtype.name})" if converted else ""))


def _check_labels(y, n_outputs, name):
    """Integer class labels in ``0..n_outputs-1`` as int64, checked before any cast."""
    if y.dtype.kind == "f":
        if not np.isfinite(y).all():
            raise ValueError(f"{name} contains NaN or infinity")
        if not np.array_equal(np.floor(y), y):
            raise ValueError(f"{name} must hold integer class labels, got non-integer values")
    bad = (y < 0) | (y >= n_outputs)
    if bad.any():
        raise ValueError(f"{name} has labels outside 0..{n_outputs - 1} (the network has "
                         f"{n_outputs} outputs): {np.unique(y[bad])[:5].tolist()}")
    return y.astype(np.int64)


def check_targets(y, n_samples, n_outputs, dtype=np.float64, name="y"):
    """Turn labels into a one-hot target matrix and integer labels.

    ``y`` is either integer class labels of shape ``(n,)`` (values in
    ``0..n_outputs-1``; any integer or bool dtype, or integral floats) or
    targets of shape ``(n, n_outputs)`` (one-hot or any real targets in
    [0, 1]).  Strings (even of digits) are rejected: the network's classes
    are its output neurons ``0..n_outputs-1``; use ``y.astype(int)`` or
    :class:`fastnn.sklearn.MLPClassifier`, which accepts any labels.

    Returns
    -------
    Y : ndarray, shape (n_samples, n_outputs), dtype ``dtype``
    labels : ndarray of int64, shape (n_samples,)
        The class of each sample (argmax of ``Y`` for 2-D targets).

    Raises
    ------
    TypeError
        For non-numeric labels (strings, objects, complex, datetimes).
    ValueError
        For a wrong shape or length, NaN/inf, non-integer or out-of-range labels.
    """
    y = as_array(y, name)
    if y.dtype.kind in "USO":
        raise TypeError(f"{name} must hold numbers (integer labels 0..{n_outputs - 1} or one-hot "
                        f"rows), got dtype {y.dtype}. Convert digit strings with {name}.astype(int), "
                        f"or use fastnn.sklearn.MLPClassifier for arbitrary labels")
    if y.dtype.kind == "c":
        raise TypeError(f"{name} has complex dtype {y.dtype}; expected labels")
    if y.dtype.kind not in _NUMERIC_KINDS:
        raise TypeError(f"{name} must hold numbers (integer labels or one-hot rows), got dtype {y.dtype}")
    if y.shape[:1] != (n_samples,):
        raise ValueError(f"X and {name} have different numbers of samples: {n_samples} and "
                         f"{y.shape[0] if y.ndim else 'a scalar'}")
    if y.ndim == 1:
        labels = _check_labels(y, n_outputs, name)
        Y = np.zeros((n_samples, n_outputs), dtype=dtype)
        Y[np.arange(n_samples), labels] = 1
        return Y, labels
    if y.ndim == 2 and y.shape[1] == n_outputs:
        with np.errstate(over="ignore"):
            Y = np.ascontiguousarray(y, dtype=dtype)
        if not np.isfinite(Y).all():
            raise ValueError(f"{name} contains NaN or infinity")
        return Y, np.argmax(Y, axis=1).astype(np.int64)
    raise ValueError(f"{name} must be integer labels of shape ({n_samples},) or targets of shape "
                     f"({n_samples}, {n_outputs}), got shape {y.shape}")


def check_sample_weight(sample_weight, n_samples, dtype=np.float64, name="sample_weight"):
    """Validate per-sample weights: None, a number (the same weight for every sample) or ``(n,)``.

    Returns
    -------
    None or ndarray of shape (n_samples,), dtype ``dtype``
        C-contiguous, finite, non-negative weights that do not all vanish.

    Raises
    ------
    TypeError
        For non-numeric weights.
    ValueError
        For a wrong shape or length, NaN/inf, negative weights, or weights
        that are all 0 (no sample would be learned from).
    """
    if sample_weight is None:
        return None
    sw = as_array(sample_weight, name)
    _check_kind(sw, name)
    if sw.ndim == 0:
        sw = np.full(n_samples, sw, dtype=dtype)
    if sw.shape != (n_samples,):
        raise ValueError(f"{name} must have shape ({n_samples},), one weight per sample, "
                         f"got shape {sw.shape}")
    with np.errstate(over="ignore"):  # overflow to inf is reported just below
        sw = np.array(sw, dtype=dtype, order="C", copy=True)
    if not np.isfinite(sw).all():
        raise ValueError(f"{name} contains NaN or infinity")
    if (sw < 0).any():
        raise ValueError(f"{name} must be non-negative, got {sw[sw < 0][:5].tolist()}")
    if not sw.any():
        raise ValueError(f"{name} is zero for every sample; at least one weight must be positive")
    return sw
