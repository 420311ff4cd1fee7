"""Learning curves of a training run (matplotlib, non-interactive Agg backend).

The figure is drawn on a ``matplotlib.figure.Figure`` with an Agg canvas,
so no GUI backend is touched and pyplot's global state is left alone; the PNG
is written atomically.
"""
import numpy as np

from .persistence import atomic_write
from .training import HISTORY_KEYS


def _series(history, key):
    """``(epochs, values)`` of one history key, skipping epochs where it is None."""
    pairs = [(e + 1, v) for e, v in zip(history["epoch"], history[key]) if v is not None]
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
    for split, style in (("training", "-"), ("validation", "--")):
        series = _series(history, f"{split}_{metric}")
        if series is not None:
            epochs, values = series
            ax.plot(epochs, values * scale, style, marker="o", markersize=3, label=split)
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    if ax.get_lines():
        ax.legend()


def _mark_eta_changes(ax, history):
    """Vertical dotted lines where the learning-rate schedule halved eta."""
    etas = history["eta"]
    for i in range(1, len(etas)):
        if etas[i] is not None and etas[i - 1] is not None and etas[i] != etas[i - 1]:
            ax.axvline(history["epoch"][i] + 0.5, color="gray", linestyle=":", linewidth=1)
            ax.annotate(f"eta={etas[i]:g}", (history["epoch"][i] + 0.5, 0.02),
                        xycoords=("data", "axes fraction"), fontsize=7, color="gray", rotation=90)


def learning_curves(history, path, title=None):
    """Plot cost and accuracy per epoch and save the figure as a PNG.

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
