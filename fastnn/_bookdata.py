"""Conversion of the book's data formats to the arrays the engines use.

The book passes data as lists of ``(x, y)`` pairs: ``x`` an ``(n_in, 1)``
column, ``y`` a one-hot ``(n_out, 1)`` column (training data) or an int
(test data).  Python 3 ports pass ``zip`` objects.  fastnn also accepts a
pair of arrays ``(X, y)`` with one sample per row.
"""
import numbers

import numpy as np

from ._validation import check_array, check_targets


def _is_array_pair(data, n_in):
    """True for ``(X, y)`` with ``X`` an ``(n, n_in)`` array and ``len(y) == n``."""
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        return False
    X, y = data
    # arrays or pandas objects (anything with a 2-D shape), labels of the same length
    shape = getattr(X, "shape", ())
    return (len(shape) == 2 and shape[1] == n_in and hasattr(y, "__len__")
            and not isinstance(y, (str, bytes)) and len(y) == shape[0])


def _label_or_target(y, n_out, name):
    """One sample's target: an int label stays an int, a column becomes a flat vector."""
    if isinstance(y, numbers.Integral) and not isinstance(y, bool):
        return int(y)
    y = np.asarray(y)
    if y.ndim == 0 and np.issubdtype(y.dtype, np.integer):
        return int(y)
    if y.size != n_out:
        raise ValueError(f"{name}: a target must be an int label or a vector of {n_out} values "
                         f"(the network's outputs), got shape {y.shape}")
    return y.reshape(-1)


def to_arrays(data, n_in, n_out, dtype, name="training_data"):
    """Turn book-style data into ``(X, Y, labels)``.

    Returns
    -------
    X : ndarray (n, n_in) of ``dtype``
    Y : ndarray (n, n_out) of ``dtype``, one-hot rows for int labels
    labels : ndarray (n,) of int64, each sample's class
    """
    if _is_array_pair(data, n_in):
        X = check_array(data[0], f"{name} X", dtype=dtype, n_features=n_in)
        Y, labels = check_targets(data[1], X.shape[0], n_out, dtype, name=f"{name} y")
        return X, Y, labels
    try:
        pairs = list(data)
    except TypeError:
        raise TypeError(f"{name} must be a list of (x, y) pairs or a pair of arrays (X, y), "
                        f"got {type(data).__name__}") from None
    if not pairs:
        raise ValueError(f"{name} is empty; at least one (x, y) pair is required")
    xs, ys = [], []
    for i, pair in enumerate(pairs):
        try:
            x, y = pair
        except (TypeError, ValueError):
            hint = ""
            if isinstance(data, tuple) and len(data) == 2 and len(getattr(data[0], "shape", (0,))) != 1:
                hint = (f"; to pass arrays give (X, y) with X of shape (n, {n_in}), got "
                        f"{type(data[0]).__name__} of shape {data[0].shape}")
            raise ValueError(f"{name}[{i}] is not an (x, y) pair{hint}") from None
        x = np.asarray(x)
        if x.size != n_in:
            raise ValueError(f"{name}[{i}]: x has {x.size} values (shape {x.shape}), "
                             f"but the network has {n_in} inputs")
        xs.append(x.reshape(-1))
        ys.append(_label_or_target(y, n_out, f"{name}[{i}]"))
    X = check_array(np.stack(xs), f"{name} x", dtype=dtype, n_features=n_in)
    if all(isinstance(y, int) for y in ys):
        y = np.array(ys, dtype=np.int64)
    elif any(isinstance(y, int) for y in ys):
        raise ValueError(f"{name} mixes int labels and target vectors; use one kind")
    else:
        y = np.stack(ys)
    Y, labels = check_targets(y, X.shape[0], n_out, dtype, name=f"{name} y")
    return X, Y, labels
