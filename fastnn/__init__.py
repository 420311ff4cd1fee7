"""fastnn: the sigmoid network of Nielsen's *Neural Networks and Deep Learning*, made fast with Numba.

>>> import fastnn
>>> net = fastnn.Network([784, 30, 10], seed=0)
"""
import sys

from . import datasets
from .network import Network
from . import exceptions
from .exceptions import (ConvergenceWarning, DivergenceError, DivergenceWarning, ModelFileError,
                         UnsafePickleError, UnscaledInputWarning)
from .perceptron import Perceptron
from . import sweeps
from .sweeps import sweep  # the function (light module: dask/sklearn load on call)
from ._version import __version__

# The sweep's module was named ``fastnn.sweep`` until it became ``fastnn.sweeps`` (the name was
# shadowed by the function ``fastnn.sweep``).  Registering the old name keeps
# ``from fastnn.sweep import format_table`` working; ``fastnn.sweep`` itself is the function.
sys.modules.setdefault(__name__ + ".sweep", sweeps)

__all__ = ["Network", "datasets", "Perceptron", "LinearRegression", "LogisticRegression",
           "ConvergenceWarning"]
__all__ += ["sweep", "sweeps"]
__all__ += ["exceptions", "ModelFileError", "DivergenceError", "DivergenceWarning", "UnsafePickleError",
            "UnscaledInputWarning"]


def __getattr__(name):
    """Import the scikit-learn based linear models on first use (keeps ``import fastnn`` fast)."""
    if name in ("LinearRegression", "LogisticRegression"):
        from . import linear
        return getattr(linear, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | {"LinearRegression", "LogisticRegression"})
