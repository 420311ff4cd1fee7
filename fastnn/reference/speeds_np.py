"""Chapter 5's speed of learning, as the book's ``fig/generate_gradient.py`` computes it.

Plain NumPy and Python, one sample at a time through :func:`fastnn.reference.network_np.backprop`:
``get_average_gradient`` sums the samples' ``nabla_b`` lists and divides by their number,
``list_norm`` is ``sqrt(sum(x*x))`` of one layer's entries.  The oracle of
:mod:`fastnn.kernels.speeds`.
"""
import math

import numpy as np

from .network_np import QUADRATIC, backprop


def average_bias_gradient(weights, biases, X, Y, cost=QUADRATIC):
    """``get_average_gradient``: the mean over the rows of ``X``/``Y`` of dC_x/db^l, per layer.

    Returns a list with one 1-D array per layer of biases (the output layer last).
    """
    total = None
    for x, y in zip(X, Y):
        nabla_b, _ = backprop(weights, biases, x.reshape(-1, 1), y.reshape(-1, 1), cost)
        total = nabla_b if total is None else [t + g for t, g in zip(total, nabla_b)]
    return [np.reshape(g, len(g)) / len(X) for g in total]


def list_norm(values):
    """``list_norm``: the Euclidean norm ``sqrt(sum(x*x))`` of a list of numbers, as a float."""
    return math.sqrt(sum(float(x) * float(x) for x in values))


def layer_speeds(weights, biases, X, Y, cost=QUADRATIC):
    """``[list_norm(avg) for avg in average_gradient[:-1]]``: one speed per hidden layer."""
    return [list_norm(avg) for avg in average_bias_gradient(weights, biases, X, Y, cost)[:-1]]
