"""Figures drawn without pyplot and written atomically, shared by :mod:`fastnn.plot` and
:mod:`fastnn.experiments`."""
from .persistence import atomic_write


def new_figure(figsize):
    """A Figure on an Agg canvas (no pyplot state, no GUI)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig, path):
    """Write ``fig`` to ``path`` atomically (format from the extension, PNG by default) if given."""
    if path is None:
        return fig
    fmt = str(path).rsplit(".", 1)[-1].lower() if "." in str(path) else "png"
    with atomic_write(path) as f:
        fig.savefig(f, format=fmt)
    return fig
