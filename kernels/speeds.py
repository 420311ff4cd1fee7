"""Chapter 5's "speed of learning": the average gradient of the cost with respect to the biases.

The book measures how fast each hidden layer learns by ||dC/db^l||, the
Euclidean norm of the vector of partial derivatives dC/db^l_j averaged over
the training samples (``fig/generate_gradient.py``: ``get_average_gradient``
then ``list_norm``).  :func:`mean_bias_gradient` computes that average for
every layer in one pass over the samples: a forward pass (eq. 23, blocks of samples),
the output error (BP1) and its propagation backwards (BP2); by BP3
dC_x/db^l_j = delta^l_j, so the deltas are summed, never any weight gradient
(BP4 is not needed).

Same flat parameter layout as :mod:`fastnn.kernels.mlp`.  The loops run over 1-D slices
of the flat buffers with fastmath's ``reassoc``/``contract`` (as :mod:`fastnn.kernels.tiled`),
so LLVM vectorises the sums over ``k``; the sum over the samples keeps their order, as
the book's.  The averages are
written to ``out``, layer ``l`` (0-based, first hidden layer first, output
layer last) at ``out[o_off[l]:o_off[l] + sizes[l + 1]]`` with ``o_off`` from
:func:`bias_offsets`.  Everything stays in theta's dtype.
"""
import numpy as np
from numba import njit

from .activations import one_like, sigmoid, zero_like
from .mlp import CROSS_ENTROPY, sample_buffers
from .tiled import FASTMATH


@njit(cache=True)
def bias_offsets(sizes):
    """Start of each layer's biases in the concatenated vector of all biases
    (layer ``l`` has ``sizes[l + 1]`` of them); the last entry is the total."""
    o_off = np.empty(sizes.shape[0], dtype=np.int64)
    o_off[0] = 0
    for l in range(sizes.shape[0] - 1):
        o_off[l + 1] = o_off[l] + sizes[l + 1]
    return o_off


BLOCK = 8
"""Samples fed forward together: each row of ``W^l`` is read once for the block (the
784-wide rows of MNIST's first layer then come from L1, not L2)."""


@njit(fastmath=FASTMATH, cache=True)
def _forward_block(theta, w_off, b_off, sizes, a_off, X, i0, m, act):
    """Forward pass of the ``m`` (<= BLOCK) samples ``X[i0:i0 + m]`` keeping every layer's
    activation (eq. 23), a^l_j = sigma(sum_k w^l_jk a^{l-1}_k + b^l_j): sample ``i0 + s``'s
    layer ``l >= 1`` at ``act[s, a_off[l]:]`` (the inputs are read from ``X``)."""
    zero = zero_like(theta[0])
    n_in = sizes[0]
    for j in range(sizes[1]):
        w = theta[w_off[0] + j * n_in:w_off[0] + (j + 1) * n_in]
        b = theta[b_off[0] + j]
        for s in range(m):
            x = X[i0 + s]
            z = zero
            for k in range(n_in):
                z += w[k] * x[k]
            act[s, a_off[1] + j] = sigmoid(z + b)
    for l in range(1, sizes.shape[0] - 1):
        n_prev = sizes[l]
        for j in range(sizes[l + 1]):
            w = theta[w_off[l] + j * n_prev:w_off[l] + (j + 1) * n_prev]
            b = theta[b_off[l] + j]
            for s in range(m):
                a_prev = act[s, a_off[l]:a_off[l] + n_prev]
                z = zero
                for k in range(n_prev):
                    z += w[k] * a_prev[k]
                act[s, a_off[l + 1] + j] = sigmoid(z + b)


@njit(fastmath=FASTMATH, cache=True)
def mean_bias_gradient(theta, w_off, b_off, sizes, X, Y, cost, out):
    """(1/n) sum_x dC_x/db^l of every layer l over the ``n`` rows of ``X`` (targets ``Y``).

    ``out`` has ``sum(sizes[1:])`` entries laid out by :func:`bias_offsets`.
    ``cost`` is ``mlp.QUADRATIC`` or ``mlp.CROSS_ENTROPY``.  The L2 term of
    eq. 85 does not contain the biases, so it contributes nothing here.
    """
    one = one_like(theta[0])
    zero = zero_like(theta[0])
    a_off, _, delta, delta_prev = sample_buffers(theta, sizes)
    acts = np.empty((BLOCK, a_off[-1]), dtype=theta.dtype)
    o_off = bias_offsets(sizes)
    for i in range(out.shape[0]):
        out[i] = zero
    last = sizes.shape[0] - 1
    for i in range(X.shape[0]):
        s = i % BLOCK
        if s == 0:
            _forward_block(theta, w_off, b_off, sizes, a_off, X, i, min(BLOCK, X.shape[0] - i), acts)
        act = acts[s]
        y = Y[i]
        out_act = a_off[last]
        # BP1: delta^L = nabla_a C (.) sigma'(z^L); for cross-entropy sigma' cancels (eq. 66)
        for j in range(sizes[last]):
            a = act[out_act + j]
            if cost == CROSS_ENTROPY:
                delta[j] = a - y[j]
            else:
                delta[j] = (a - y[j]) * a * (one - a)
        for l in range(last - 1, -1, -1):
            # BP3: dC_x/db^l_j = delta^l_j, summed over the samples
            for j in range(sizes[l + 1]):
                out[o_off[l] + j] += delta[j]
            if l == 0:
                break
            # BP2: delta^{l-1} = ((W^l)^T delta^l) (.) sigma'(z^{l-1}), sigma' = a (1 - a)
            n_prev = sizes[l]
            for k in range(n_prev):
                delta_prev[k] = zero
            for j in range(sizes[l + 1]):
                d = delta[j]
                w = theta[w_off[l] + j * n_prev:w_off[l] + (j + 1) * n_prev]
                for k in range(n_prev):
                    delta_prev[k] += w[k] * d
            prev = a_off[l]
            for k in range(n_prev):
                a = act[prev + k]
                delta[k] = delta_prev[k] * a * (one - a)
    n = theta.dtype.type(X.shape[0])
    for i in range(out.shape[0]):
        out[i] = out[i] / n
