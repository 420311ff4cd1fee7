"""The book's ``expand_mnist.py``: each training image plus four copies shifted by one pixel.

Chapter 6 enlarges the 50,000 MNIST training images to 250,000 by adding,
for every image, the image moved one pixel down, up, right and left.  The
book does each move with ``np.roll`` and then zeroes the row or column that
wrapped around to the other side; the five images of a sample keep its label.
The book finally shuffles the 250,000 pairs with Python's unseeded
``random.shuffle``; fastnn shuffles with a seeded NumPy generator instead, so
the same seed gives the same file.

:func:`expand_mnist` works on arrays; :func:`expand_mnist_pkl` reads the
book's ``mnist.pkl.gz`` and writes ``mnist_expanded.pkl.gz`` (validation and
test splits unchanged), as the book's script does.  The command line
equivalent is ``fastnn expand-mnist``.
"""
import os

import numpy as np

from fastnn._validation import check_array

__all__ = ["SHIFTS", "expand_mnist", "expand_mnist_pkl"]

SHIFTS = (("down", 1, 0), ("up", -1, 0), ("right", 1, 1), ("left", -1, 1))
"""The four moves in the book's order: ``(name, np.roll shift, axis)`` on a (rows, cols) image."""


def _image_shape(n_features, image_shape):
    """``(rows, cols)``: given, or the square root of ``n_features``."""
    if image_shape is None:
        side = int(round(np.sqrt(n_features)))
        if side * side != n_features:
            raise ValueError(f"X has {n_features} features per row, not a square image; "
                             f"pass image_shape=(rows, cols)")
        return side, side
    try:
        rows, cols = (int(v) for v in image_shape)
    except (TypeError, ValueError):
        raise TypeError(f"image_shape must be a pair of ints (rows, cols), got {image_shape!r}") from None
    if rows < 1 or cols < 1 or rows * cols != n_features:
        raise ValueError(f"image_shape {(rows, cols)} does not fit rows of {n_features} values: "
                         f"rows * cols must equal the number of features")
    return rows, cols


def expand_mnist(X, y, image_shape=None, shuffle=True, seed=0):
    """Each image followed by its four one-pixel shifts, as the book's ``expand_mnist.py``.

    For an image ``a`` of shape ``(rows, cols)`` the five images are, in this
    order: ``a``; moved down (``np.roll(a, 1, axis=0)`` with row 0 zeroed);
    moved up (``np.roll(a, -1, axis=0)``, last row zeroed); moved right
    (``np.roll(a, 1, axis=1)``, column 0 zeroed); moved left
    (``np.roll(a, -1, axis=1)``, last column zeroed).

    Parameters
    ----------
    X : array-like, shape (n, rows * cols)
        Images, one flattened (row-major) image per row.  float32 stays
        float32; anything else becomes float64.
    y : array-like of int, shape (n,)
        Labels.
    image_shape : (int, int), optional
        ``(rows, cols)``; by default the images are taken to be square.
    shuffle : bool, default True
        Shuffle the ``5 n`` images (with their labels) as the book does.  If
        False, image ``i`` and its shifts are rows ``5i .. 5i+4``.
    seed : int, default 0
        Seed of the shuffle (``np.random.default_rng(seed)``).

    Returns
    -------
    X_expanded : ndarray, shape (5 n, rows * cols)
    y_expanded : ndarray of int64, shape (5 n,)

    Raises
    ------
    ValueError
        If ``X`` is not 2-D, is empty, holds NaN/inf, its rows are not
        ``image_shape`` images, or ``y`` does not hold one integer label per row.
    TypeError
        For non-numeric ``X`` or a malformed ``image_shape``.

    Examples
    --------
    >>> import numpy as np
    >>> from fastnn.expand import expand_mnist
    >>> X = np.arange(1, 10, dtype=np.float32).reshape(1, 9)     # one 3x3 image
    >>> X5, y5 = expand_mnist(X, [7], shuffle=False)
    >>> X5[1].reshape(3, 3)                                      # moved down, row 0 zeroed
    array([[0., 0., 0.],
           [1., 2., 3.],
           [4., 5., 6.]], dtype=float32)
    >>> y5.tolist()
    [7, 7, 7, 7, 7]
    """
    dtype = np.float32 if getattr(X, "dtype", None) == np.float32 else np.float64
    X = check_array(X, "X", dtype=dtype)
    n = X.shape[0]
    y = np.asarray(y)
    if y.shape != (n,) or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"y must be a 1-D integer array with one label per row of X ({n}), "
                         f"got {y.dtype} array of shape {y.shape}")
    rows, cols = _image_shape(X.shape[1], image_shape)
    images = X.reshape(n, rows, cols)
    out = np.zeros((n, 5, rows, cols), dtype=dtype)  # the zeroed row/column stays 0
    out[:, 0] = images
    out[:, 1, 1:, :] = images[:, :-1, :]   # down: roll +1 on rows, row 0 zeroed
    out[:, 2, :-1, :] = images[:, 1:, :]   # up: roll -1 on rows, last row zeroed
    out[:, 3, :, 1:] = images[:, :, :-1]   # right: roll +1 on columns, column 0 zeroed
    out[:, 4, :, :-1] = images[:, :, 1:]   # left: roll -1 on columns, last column zeroed
    X5 = out.reshape(5 * n, rows * cols)
    y5 = np.repeat(y.astype(np.int64), 5)
    if shuffle:
        order = np.random.default_rng(seed).permutation(5 * n)
        X5, y5 = X5[order], y5[order]
    return X5, y5


def expand_mnist_pkl(source="../data/mnist.pkl.gz", target="../data/mnist_expanded.pkl.gz",
                     seed=0, overwrite=False, protocol=4):
    """Write the book's ``mnist_expanded.pkl.gz`` from its ``mnist.pkl.gz``.

    The training split is expanded by :func:`expand_mnist` (shuffled with
    ``seed``); validation and test are copied unchanged.  The source is read
    with the restricted unpickler (:func:`fastnn.datasets.load_mnist_pkl`),
    the target written atomically in the same format, float32.

    Parameters
    ----------
    source : str or os.PathLike, default "../data/mnist.pkl.gz"
    target : str or os.PathLike, default "../data/mnist_expanded.pkl.gz"
        The book's paths, relative to its ``src/`` folder.
    seed : int, default 0
        Seed of the shuffle.
    overwrite : bool, default False
        Replace an existing ``target``; the book's script leaves it alone.
    protocol : {2, 3, 4, 5}, default 4
        Pickle protocol of the output.

    Returns
    -------
    tuple of int
        ``(n_train, n_validation, n_test)`` of the written file.

    Raises
    ------
    FileExistsError
        If ``target`` exists and ``overwrite`` is False.
    FileNotFoundError
        If ``source`` does not exist.
    ValueError
        If ``source`` is not a valid book pickle of square images.
    """
    from fastnn.datasets import load_mnist_pkl, write_mnist_pkl

    if os.path.exists(target) and not overwrite:
        raise FileExistsError(f"{target} already exists; pass overwrite=True to replace it")
    training, validation, test = load_mnist_pkl(source)
    X5, y5 = expand_mnist(training[0].astype(np.float32), training[1], seed=seed)
    return write_mnist_pkl(target, (X5, y5), validation, test, protocol=protocol)
