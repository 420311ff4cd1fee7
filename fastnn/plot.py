"""Figures of training runs and of what a network learned (matplotlib, non-interactive Agg backend).

Learning curves (:func:`learning_curves`), chapter 5's speed of learning per hidden layer
(:func:`layer_speeds`), the weights of the hidden neurons as images (:func:`hidden_units`),
the misclassified images (:func:`misclassified`) and the confusion matrix (:func:`confusion`).

The figure is drawn on a ``matplotlib.figure.Figure`` with an Agg canvas,
so no GUI backend is touched and pyplot's global state is left alone; the PNG
is written atomically.
"""
import numpy as np

from ._figures import new_figure, save_figure
from .persistence import atomic_write
from .training import HISTORY_KEYS


EPOCH_LABEL = "epoch (numbered from 0, as printed)"
"""The x axis: ``history_["epoch"]``, the book's numbering (its first line is ``Epoch 0``)."""


def _series(history, key):
    """``(epochs, values)`` of one history key, skipping epochs where it is None; the epochs
    are ``history["epoch"]``, numbered from 0 as the book prints them."""
    pairs = [(e, v) for e, v in zip(history["epoch"], history[key]) if v is not None]
    if not pairs:
        return None
    epochs, values = zip(*pairs)
    return np.asarray(epochs), np.asarray(values, dtype=float)


def _check_history(history):
    """Accept a ``Network.history_``-like dict; raise a clear error otherwise."""
    if not isinstance(history, dict) or "epoch" not in history:
        raise TypeError(f"history must be a dict like Network.history_ (keys {list(HISTORY_KEYS)}), "
                        f"got {type(history).__name__}")
    missing = [k for k in HISTORY_KEYS if k not in history and k != "layer_speeds"]
    if missing:
        raise ValueError(f"history is missing the keys {missing}")
    if not history["epoch"]:
        raise ValueError("history is empty: train at least one epoch before plotting")


def _plot_panel(ax, history, metric, ylabel, scale=1.0):
    """Training and validation curves of ``metric`` ("cost" or "accuracy") on ``ax``."""
    from matplotlib.ticker import MaxNLocator

    for split, style in (("training", "-"), ("validation", "--")):
        series = _series(history, f"{split}_{metric}")
        if series is not None:
            epochs, values = series
            ax.plot(epochs, values * scale, style, marker="o", markersize=3, label=split)
    ax.set_xlabel(EPOCH_LABEL)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # no "0.5 epoch" ticks on short runs
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    if ax.get_lines():
        ax.legend()


def _mark_eta_changes(ax, history):
    """Vertical dotted lines where the learning-rate schedule halved eta (between the last
    epoch of the old eta and the first of the new)."""
    etas = history["eta"]
    for i in range(1, len(etas)):
        if etas[i] is not None and etas[i - 1] is not None and etas[i] != etas[i - 1]:
            ax.axvline(history["epoch"][i] - 0.5, color="gray", linestyle=":", linewidth=1)
            ax.annotate(f"eta={etas[i]:g}", (history["epoch"][i] - 0.5, 0.02),
                        xycoords=("data", "axes fraction"), fontsize=7, color="gray", rotation=90)


def learning_curves(history, path, title=None):
    """Plot cost and accuracy per epoch and save the figure as a PNG.

    The x axis is the epoch number as ``fastnn train`` prints it (the book's
    numbering: the first epoch is ``Epoch 0``), with integer ticks.

    Parameters
    ----------
    history : dict
        ``Network.history_`` (or the ``history`` of a loaded model): per-epoch
        lists of ``training_cost``, ``validation_cost``, ``training_accuracy``,
        ``validation_accuracy`` (None entries are skipped) and ``eta``.
    path : str or os.PathLike
        Output file; written atomically, format from the extension (PNG
        recommended).
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        The figure, for further tweaking.

    Raises
    ------
    TypeError
        If ``history`` is not a dict.
    ValueError
        If it lacks keys or holds no epoch.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    _check_history(history)
    fig = Figure(figsize=(10, 4), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    cost_ax, acc_ax = fig.subplots(1, 2)
    _plot_panel(cost_ax, history, "cost", "cost (incl. L2 term)")
    cost_ax.set_title("cost")
    _plot_panel(acc_ax, history, "accuracy", "accuracy (%)", scale=100.0)
    acc_ax.set_title("accuracy")
    for ax in (cost_ax, acc_ax):
        _mark_eta_changes(ax, history)
    if title:
        fig.suptitle(title)
    fmt = str(path).rsplit(".", 1)[-1].lower() if "." in str(path) else "png"
    with atomic_write(path) as f:
        fig.savefig(f, format=fmt)
    return fig


# -- pictures of chapter 5's speeds and of what a network learned ---------------------------

def _speed_rows(history):
    """The per-epoch speed rows of ``history`` (a ``history_`` dict or a list of rows) as a 2-D array."""
    if isinstance(history, dict):
        if "layer_speeds" not in history:
            raise ValueError("history has no 'layer_speeds': train with fit(..., record_layer_speeds=True)")
        rows = [r for r in history["layer_speeds"] if r is not None]
        if not rows:
            raise ValueError("history holds no layer speeds: train with fit(..., record_layer_speeds=True)")
    elif isinstance(history, (list, tuple, np.ndarray)):
        rows = list(history)
    else:
        raise TypeError(f"history must be a Network.history_ dict or a list of per-epoch speed rows, "
                        f"got {type(history).__name__}")
    try:
        rows = np.asarray(rows, dtype=float)
    except ValueError:
        raise ValueError("every epoch must have one speed per hidden layer (rows of equal length)") from None
    if rows.ndim != 2 or rows.shape[0] == 0 or rows.shape[1] == 0:
        raise ValueError(f"expected per-epoch rows of one speed per hidden layer, got shape {rows.shape}")
    if not np.all(np.isfinite(rows)) or np.any(rows < 0):
        raise ValueError("layer speeds must be finite and non-negative (norms)")
    return rows


def layer_speeds(history, path=None, title=None):
    """Chapter 5's figure: the speed of learning of each hidden layer per epoch, log scale.

    Parameters
    ----------
    history : dict or list of lists
        ``Network.history_`` of a ``fit(..., record_layer_speeds=True)`` (epochs without
        speeds are skipped), or the per-epoch rows themselves (the book's
        ``norms_during_training_*.json`` format): row ``j`` holds ||dC/db^l|| of
        every hidden layer before epoch ``j``.
    path : str or os.PathLike, optional
        Write the figure there (atomically; format from the extension).
    title : str, optional
        Default: the book's "Speed of learning: N hidden layers".

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    TypeError
        If ``history`` is neither a dict nor a list.
    ValueError
        If it holds no speeds, rows of unequal length, or negative or non-finite values.

    Examples
    --------
    >>> from fastnn.plot import layer_speeds
    >>> fig = layer_speeds([[0.01, 0.05], [0.02, 0.04], [0.02, 0.03]])
    >>> fig.axes[0].get_title(), fig.axes[0].get_yscale()
    ('Speed of learning: 2 hidden layers', 'log')
    """
    rows = _speed_rows(history)
    fig = new_figure((6.4, 4.2))
    draw_layer_speeds(fig.subplots(), rows, title)
    return save_figure(fig, path)


def draw_layer_speeds(ax, rows, title=None):
    """Draw :func:`layer_speeds`'s figure on the matplotlib axes ``ax`` (for figures of several panels).

    ``rows``: as the ``history`` of :func:`layer_speeds`, or a checked 2-D array.
    """
    rows = _speed_rows(rows)
    n_hidden = rows.shape[1]
    epochs = np.arange(rows.shape[0])
    for l in range(n_hidden):
        ax.plot(epochs, rows[:, l], label=f"Hidden layer {l + 1}")
    ax.set_yscale("log")
    ax.set_xlim(0, max(1, rows.shape[0] - 1))
    ax.grid(True, alpha=0.3)
    ax.set_xlabel("Number of epochs of training")
    ax.set_title(title or f"Speed of learning: {n_hidden} hidden layer{'s' if n_hidden > 1 else ''}")
    ax.legend(loc="upper right")


def _check_net(net):
    if not hasattr(net, "weights") or not hasattr(net, "predict"):
        raise TypeError(f"net must be a fastnn.Network, got {type(net).__name__}")


def _check_shape(shape, n_in, what):
    """``shape`` as a (rows, cols) pair whose product is the number of inputs ``n_in``."""
    try:
        rows, cols = (int(s) for s in shape)
    except (TypeError, ValueError):
        raise ValueError(f"shape must be a pair (rows, cols), got {shape!r}") from None
    if rows < 1 or cols < 1 or rows * cols != n_in:
        side = int(round(np.sqrt(n_in)))
        hint = f", e.g. shape=({side}, {side})" if side * side == n_in else ""
        raise ValueError(f"shape {(rows, cols)} has {rows * cols} pixels but {what} has {n_in}; "
                         f"pass the image shape of the inputs{hint}")
    return rows, cols


def _grid(n, columns=None):
    columns = columns or int(np.ceil(np.sqrt(n)))
    return int(np.ceil(n / columns)), columns


def hidden_units(net, shape=(28, 28), path=None, *, max_units=None):
    """Each first-hidden-layer neuron's incoming weights as an image (the chapter-1 picture).

    Parameters
    ----------
    net : fastnn.Network
    shape : (int, int)
        Image shape of one input; its product must equal ``net.sizes[0]`` (``(8, 8)`` for
        scikit-learn's digits).
    path : str or os.PathLike, optional
        Write the figure there (atomically; format from the extension).
    max_units : int, optional
        Draw only the first ``max_units`` neurons (default: all).

    Returns
    -------
    matplotlib.figure.Figure
        One panel per neuron: red for positive weights, blue for negative, white for 0,
        on a scale symmetric about 0 that is common to all panels.

    Raises
    ------
    ValueError
        If ``shape`` does not match the number of inputs, or ``max_units`` is not positive.

    Examples
    --------
    >>> from fastnn import Network
    >>> from fastnn.plot import hidden_units
    >>> fig = hidden_units(Network([64, 6, 10], seed=0), shape=(8, 8))
    >>> len([ax for ax in fig.axes if ax.images])  # one panel per neuron, and a colour bar
    6
    """
    _check_net(net)
    rows, cols = _check_shape(shape, net.sizes[0], "the network's input")
    W = np.asarray(net.weights[0], dtype=float)
    n = W.shape[0] if max_units is None else int(max_units)
    if n < 1:
        raise ValueError(f"max_units must be positive, got {max_units!r}")
    W = W[:n]
    limit = float(np.max(np.abs(W))) or 1.0
    grid_rows, grid_cols = _grid(len(W))
    fig = new_figure((1.1 * grid_cols + 0.8, 1.1 * grid_rows + 0.4))
    axes = np.atleast_1d(fig.subplots(grid_rows, grid_cols, squeeze=False)).ravel()
    for j, ax in enumerate(axes):
        ax.set_axis_off()
        if j < len(W):
            image = ax.imshow(W[j].reshape(rows, cols), cmap="RdBu_r", vmin=-limit, vmax=limit)
            ax.set_title(str(j), fontsize=7)
    fig.colorbar(image, ax=list(axes), shrink=0.6, label="weight")
    fig.suptitle(f"Incoming weights of the {len(W)} neurons of hidden layer 1")
    return save_figure(fig, path)


def _labels_and_predictions(net, X, y):
    _check_net(net)
    X, Y = net._check_X_y(X, y)
    return X, np.argmax(Y, axis=1), net.predict(X)


def misclassified(net, X, y, path=None, *, shape=None, max_images=36):
    """A grid of the images of ``X`` that ``net`` classifies wrongly, with true and predicted labels.

    Parameters
    ----------
    net : fastnn.Network
    X : array, shape (n, net.sizes[0])
    y : array of int labels (n,) or one-hot targets (n, net.sizes[-1])
    path : str or os.PathLike, optional
        Write the figure there (atomically; format from the extension).
    shape : (int, int), optional
        Image shape of one row of ``X`` (default: square, if the number of inputs is a square).
    max_images : int
        At most this many images, the first wrong ones in the order of ``X``.

    Returns
    -------
    matplotlib.figure.Figure
        Each panel titled ``true -> predicted``; the suptitle gives the count of errors.
        With no errors, one panel saying so.

    Raises
    ------
    ValueError
        For inputs the network refuses (see :meth:`fastnn.Network.score`), an image shape
        that does not match, or a ``max_images`` below 1.
    """
    X, labels, predicted = _labels_and_predictions(net, X, y)
    if shape is None:
        side = int(round(np.sqrt(X.shape[1])))
        shape = (side, side) if side * side == X.shape[1] else (1, X.shape[1])
    rows, cols = _check_shape(shape, X.shape[1], "a row of X")
    if int(max_images) < 1:
        raise ValueError(f"max_images must be at least 1, got {max_images!r}")
    wrong = np.flatnonzero(predicted != labels)
    shown = wrong[:int(max_images)]
    if len(shown) == 0:
        fig = new_figure((4, 1.5))
        ax = fig.subplots()
        ax.set_axis_off()
        ax.text(0.5, 0.5, f"no misclassified images among {len(labels)}", ha="center", va="center")
        return save_figure(fig, path)
    grid_rows, grid_cols = _grid(len(shown), min(len(shown), 9))
    fig = new_figure((1.05 * grid_cols + 0.4, 1.25 * grid_rows + 0.5))
    axes = fig.subplots(grid_rows, grid_cols, squeeze=False).ravel()
    for ax, i in zip(axes, list(shown) + [None] * (len(axes) - len(shown))):
        ax.set_axis_off()
        if i is not None:
            ax.imshow(X[i].reshape(rows, cols), cmap="gray_r")
            ax.set_title(f"{labels[i]} -> {predicted[i]}", fontsize=8, color="firebrick")
    fig.suptitle(f"{len(wrong)} of {len(labels)} misclassified (true -> predicted)"
                 + (f", first {len(shown)} shown" if len(shown) < len(wrong) else ""))
    return save_figure(fig, path)


def confusion(net, X, y, path=None):
    """The confusion matrix of ``net`` on ``X``, ``y``: counts of (true, predicted) pairs.

    Parameters
    ----------
    net : fastnn.Network
    X : array, shape (n, net.sizes[0])
    y : array of int labels (n,) or one-hot targets (n, net.sizes[-1])
    path : str or os.PathLike, optional
        Write the figure there (atomically; format from the extension).

    Returns
    -------
    matplotlib.figure.Figure
        Rows are true classes, columns predicted classes, each non-zero cell annotated
        with its count (``sklearn.metrics.confusion_matrix(y, net.predict(X))`` gives the
        same matrix as numbers).

    Raises
    ------
    ValueError
        For inputs the network refuses (see :meth:`fastnn.Network.score`).
    """
    X, labels, predicted = _labels_and_predictions(net, X, y)
    k = net.sizes[-1]
    counts = np.zeros((k, k), dtype=np.int64)
    np.add.at(counts, (labels, predicted), 1)
    fig = new_figure((0.5 * k + 2.2, 0.5 * k + 1.4))
    ax = fig.subplots()
    image = ax.imshow(counts, cmap="Blues")
    for t in range(k):
        for p in range(k):
            if counts[t, p]:
                dark = counts[t, p] > counts.max() / 2
                ax.text(p, t, str(counts[t, p]), ha="center", va="center", fontsize=7,
                        color="white" if dark else "black")
    ax.set_xticks(range(k))
    ax.set_yticks(range(k))
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    accuracy = np.trace(counts) / max(1, counts.sum())
    ax.set_title(f"Confusion matrix, accuracy {accuracy:.2%} on {counts.sum()} samples")
    fig.colorbar(image, ax=ax, shrink=0.8)
    return save_figure(fig, path)
