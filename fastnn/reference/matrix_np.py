"""Chapter 2's matrix-based backprop: a whole mini-batch as one matrix.

Same algorithm as :mod:`fastnn.reference.network_np`, but the ``m`` samples of
a mini-batch are the columns of one ``(n_in, m)`` matrix, so each layer is a
single matrix product (BLAS) instead of ``m`` matrix-vector products.
"""
import numpy as np

from .network_np import CROSS_ENTROPY, QUADRATIC, batch_rate, gradient_step, sigmoid


def feedforward(weights, biases, A):
    """Output activations for the columns of ``A`` (shape ``(n_in, m)``)."""
    for b, w in zip(biases, weights):
        A = sigmoid(np.dot(w, A) + b)
    return A


def backprop(weights, biases, X, Y, cost=QUADRATIC, sample_weight=None):
    """Summed gradient of C_x over the columns of ``X``/``Y`` (BP1-BP4 in matrix form).

    With ``sample_weight`` (one weight per column) the sum is weighted: each
    column of delta^L is multiplied by its weight, which scales that sample's
    whole gradient (BP2-BP4 are linear in delta^L).
    """
    activations = [X]
    for b, w in zip(biases, weights):
        activations.append(sigmoid(np.dot(w, activations[-1]) + b))
    A = activations[-1]
    delta = A - Y if cost == CROSS_ENTROPY else (A - Y) * A * (1 - A)  # BP1; sigma' = a(1-a)
    if sample_weight is not None:
        delta = delta * sample_weight.reshape(1, -1)
    nabla_b = [None] * len(weights)
    nabla_w = [None] * len(weights)
    for l in range(1, len(weights) + 1):
        nabla_b[-l] = delta.sum(axis=1, keepdims=True)  # BP3, summed over the batch
        nabla_w[-l] = np.dot(delta, activations[-l - 1].T)  # BP4, summed over the batch
        if l < len(weights):
            A_prev = activations[-l - 1]
            delta = np.dot(weights[-l].T, delta) * A_prev * (1 - A_prev)  # BP2
    return nabla_b, nabla_w


def update_mini_batch(weights, biases, X, Y, eta, lmbda=0.0, n=1, cost=QUADRATIC, sample_weight=None):
    """One gradient step for the mini-batch whose samples are the columns of ``X``/``Y``.

    The step is eta / m, or eta / (sum of ``sample_weight``) for a weighted
    batch (0 if that sum is 0).
    """
    nabla_b, nabla_w = backprop(weights, biases, X, Y, cost, sample_weight)
    return gradient_step(weights, biases, nabla_w, nabla_b, eta, lmbda, n,
                         batch_rate(eta, X.shape[1], sample_weight))


def sgd_epoch(weights, biases, X, Y, order, mini_batch_size, eta, lmbda=0.0, n=None, cost=QUADRATIC,
              sample_weight=None):
    """One epoch over ``X[order]`` (samples as rows), one matrix step per mini-batch.

    ``n``, the training-set size of the regulariser, defaults to ``len(order)``.
    ``sample_weight``: one weight per row of ``X``, or None.
    """
    n = len(order) if n is None else n
    for k in range(0, len(order), mini_batch_size):
        idx = order[k:k + mini_batch_size]
        weights_of_batch = None if sample_weight is None else sample_weight[idx]
        weights, biases = update_mini_batch(weights, biases, X[idx].T, Y[idx].T, eta, lmbda, n, cost,
                                            weights_of_batch)
    return weights, biases
