"""Input validation shared by every public entry point.

Messages follow scikit-learn's convention: name the argument, say what was
expected and what was found, and suggest the fix.  Shapes and values raise
``ValueError``; wrong types raise ``TypeError``.
"""
import numbers

import numpy as np

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


def check_array(X, name="X", *, ndim=2, dtype=np.float64, n_features=None, allow_empty=False):
    """Convert ``X`` to a C-contiguous finite float array of ``ndim`` dimensions.

    Copies at most once (only when dtype or layout must change).

    Raises
    ------
    TypeError
        For object, complex, string or otherwise non-numeric data.
    ValueError
        For a wrong number of dimensions or features, empty input, NaN or inf.
    """
    if isinstance(X, (list, tuple)):
        try:
            X = np.asarray(X)
        except ValueError as exc:  # ragged nested lists
            raise ValueError(f"{name} could not be converted to a regular array: {exc}") from None
    else:
        X = np.asarray(X)
    if X.dtype == object:
        raise TypeError(f"{name} has dtype object; expected numbers. Convert it with "
                        f"np.asarray({name}, dtype=float) after checking its contents")
    if np.issubdtype(X.dtype, np.complexfloating):
        raise TypeError(f"{name} has complex dtype {X.dtype}; expected real numbers")
    if not (np.issubdtype(X.dtype, np.number) or X.dtype == np.bool_):
        raise TypeError(f"{name} has non-numeric dtype {X.dtype}; expected real numbers")
    if X.ndim != ndim:
        hint = " Reshape your data with X.reshape(1, -1) for a single sample." if X.ndim == 1 and ndim == 2 else ""
        raise ValueError(f"Expected {ndim}D array for {name}, got {X.ndim}D array with shape {X.shape} instead.{hint}")
    if not allow_empty and X.size == 0:
        raise ValueError(f"{name} is empty (shape {X.shape}); at least one sample is required")
    if n_features is not None and ndim == 2 and X.shape[1] != n_features:
        raise ValueError(f"{name} has {X.shape[1]} features per sample, but the network expects {n_features}")
    X = np.ascontiguousarray(X, dtype=dtype)
    if not np.isfinite(X).all():
        raise ValueError(f"{name} contains NaN or infinity; clean or impute it first")
    return X


def check_targets(y, n_samples, n_outputs, dtype=np.float64, name="y"):
    """Turn labels into a one-hot target matrix and integer labels.

    ``y`` is either integer class labels of shape ``(n,)`` (values in
    ``0..n_outputs-1``) or targets of shape ``(n, n_outputs)`` (one-hot or any
    real targets in [0, 1]).

    Returns
    -------
    Y : ndarray, shape (n_samples, n_outputs), dtype ``dtype``
    labels : ndarray of int64, shape (n_samples,)
        The class of each sample (argmax of ``Y`` for 2-D targets).
    """
    y = np.asarray(y)
    if y.dtype == object or not (np.issubdtype(y.dtype, np.number) or y.dtype == np.bool_):
        raise TypeError(f"{name} must hold numbers (integer labels or one-hot rows), got dtype {y.dtype}")
    if np.issubdtype(y.dtype, np.complexfloating):
        raise TypeError(f"{name} has complex dtype {y.dtype}; expected labels")
    if y.shape[:1] != (n_samples,):
        raise ValueError(f"X and {name} have different numbers of samples: {n_samples} and "
                         f"{y.shape[0] if y.ndim else 'a scalar'}")
    if y.ndim == 1:
        if np.issubdtype(y.dtype, np.floating) and not np.isfinite(y).all():
            raise ValueError(f"{name} contains NaN or infinity")
        labels = y.astype(np.int64)
        if np.issubdtype(y.dtype, np.floating) and not np.array_equal(labels, y):
            raise ValueError(f"{name} must hold integer class labels, got non-integer values")
        bad = (labels < 0) | (labels >= n_outputs)
        if bad.any():
            raise ValueError(f"{name} has labels outside 0..{n_outputs - 1} (the network has "
                             f"{n_outputs} outputs): {np.unique(labels[bad])[:5].tolist()}")
        Y = np.zeros((n_samples, n_outputs), dtype=dtype)
        Y[np.arange(n_samples), labels] = 1
        return Y, labels
    if y.ndim == 2 and y.shape[1] == n_outputs:
        Y = np.ascontiguousarray(y, dtype=dtype)
        if not np.isfinite(Y).all():
            raise ValueError(f"{name} contains NaN or infinity")
        return Y, np.argmax(Y, axis=1).astype(np.int64)
    raise ValueError(f"{name} must be integer labels of shape ({n_samples},) or targets of shape "
                     f"({n_samples}, {n_outputs}), got shape {y.shape}")
