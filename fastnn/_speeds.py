"""Chapter 5's speed of learning of each hidden layer, behind :meth:`fastnn.Network.layer_speeds`.

The speed of hidden layer ``l`` is ||dC/db^l||: the Euclidean norm of the vector of
partial derivatives dC/db^l_j, each averaged over the given samples (the book's
``fig/generate_gradient.py``, ``get_average_gradient`` then ``list_norm``).  The ``jit``
engine computes the averages with :func:`fastnn.kernels.speeds.mean_bias_gradient` in one
pass; the ``reference`` and ``matrix`` engines with the book's per-sample loop
(:mod:`fastnn.reference.speeds_np`).
"""
import numpy as np

from . import _training_rows
from .engines import COST_CODES
from .kernels import speeds as speeds_kernel
from .reference import speeds_np


def check_hidden(net):
    """Raise a ValueError unless ``net`` has a hidden layer (the speeds are per hidden layer)."""
    if net.num_layers < 3:
        raise ValueError(f"layer speeds are measured per hidden layer, and the network {net.sizes} has "
                         f"none; give it at least one, e.g. [{net.sizes[0]}, 30, {net.sizes[-1]}]")


def speeds_of_rows(net, X, Y):
    """The speeds of ``net``'s hidden layers over checked rows ``X`` and targets ``Y`` (float64)."""
    if net.engine == "jit":
        o_off = speeds_kernel.bias_offsets(net._sizes)
        out = np.empty(int(o_off[-1]), dtype=net._theta.dtype)
        speeds_kernel.mean_bias_gradient(net._theta, net._w_off, net._b_off, net._sizes, X, Y,
                                         COST_CODES[net.cost], out)
        layers = [out[o_off[l]:o_off[l + 1]] for l in range(net.num_layers - 2)]
        return np.array([np.sqrt(np.sum(g.astype(np.float64) ** 2)) for g in layers])
    return np.array(speeds_np.layer_speeds(net.weights, net.biases, X, Y, net.cost), dtype=np.float64)


def layer_speeds(net, X, y):
    """:meth:`fastnn.Network.layer_speeds`: validate ``X``/``y``, return one speed per hidden layer."""
    check_hidden(net)
    X, Y = net._check_X_y(X, y)
    net._sync()
    return speeds_of_rows(net, X, Y)


def recorder(net, data, record):
    """For ``fit(..., record_layer_speeds=record)``: None, or a function returning
    ``{"layer_speeds": [...]}`` measured on the training rows ``data`` (in memory)."""
    if not isinstance(record, (bool, np.bool_)):
        raise TypeError(f"record_layer_speeds must be True or False, got {record!r}")
    if not record:
        return None
    check_hidden(net)
    if not isinstance(data, _training_rows.InMemoryRows):
        raise ValueError("record_layer_speeds needs the training rows in memory (a NumPy array X); "
                         "measure a chunked X with net.layer_speeds(X_sample, y_sample) in a callback")
    return lambda: {"layer_speeds": [float(s) for s in speeds_of_rows(net, data.X, data.Y)]}
