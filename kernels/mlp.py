"""Numba kernels for the sigmoid network: forward pass, backprop, mini-batch SGD.

Parameter layout (built by ``fastnn._params``): every weight and bias lives in
one flat buffer ``theta``.  Layer ``l`` (0-based, from input to output) has

* ``W^l`` of shape ``(sizes[l+1], sizes[l])`` stored row-major at
  ``theta[w_off[l] : w_off[l] + sizes[l+1] * sizes[l]]``, so ``w^l_jk`` is
  ``theta[w_off[l] + j * sizes[l] + k]``;
* ``b^l`` of shape ``(sizes[l+1],)`` at ``theta[b_off[l] : b_off[l] + sizes[l+1]]``.

One signature serves any depth.  Activations of every layer of one sample are
kept in one flat buffer ``act`` (layer ``l`` at ``act[a_off[l]:]``).

All inner loops run over the contiguous last index (``k`` of ``w_jk``), so
LLVM can vectorise them.  The mini-batch size, eta and the cost are runtime
arguments: one compilation per dtype serves every call.

Costs: ``QUADRATIC`` (chapter 1, C = ||y - a||^2 / 2) and ``CROSS_ENTROPY``
(chapter 3, eq. 63).
"""
import numpy as np
from numba import njit

from .activations import one_like, sigmoid

QUADRATIC = 0
CROSS_ENTROPY = 1


@njit(cache=True)
def activation_offsets(sizes):
    """Start of each layer's activations in the flat per-sample buffer."""
    a_off = np.empty(sizes.shape[0] + 1, dtype=np.int64)
    a_off[0] = 0
    for l in range(sizes.shape[0]):
        a_off[l + 1] = a_off[l] + sizes[l]
    return a_off


@njit(cache=True)
def forward_sample(theta, w_off, b_off, sizes, a_off, x, act):
    """Forward pass of one sample, keeping every layer's activation.

    a^l = sigma(W^l a^{l-1} + b^l) (eq. 25), written as
    a^l_j = sigma(sum_k w^l_jk a^{l-1}_k + b^l_j) (eq. 23).
    """
    n_in = sizes[0]
    for k in range(n_in):
        act[k] = x[k]
    for l in range(sizes.shape[0] - 1):
        n_prev = sizes[l]
        prev = a_off[l]
        cur = a_off[l + 1]
        for j in range(sizes[l + 1]):
            row = w_off[l] + j * n_prev
            z = theta[b_off[l] + j]
            for k in range(n_prev):
                z += theta[row + k] * act[prev + k]
            act[cur + j] = sigmoid(z)


@njit(cache=True)
def backprop_sample(theta, w_off, b_off, sizes, a_off, y, cost, act, delta, delta_prev, nabla):
    """Add this sample's gradient (BP1-BP4) to ``nabla``; ``act`` holds its forward pass.

    ``delta`` and ``delta_prev`` are scratch buffers of the widest layer.
    sigma'(z) is computed as a (1 - a), which is sigma'(z) exactly since a = sigma(z).
    """
    one = one_like(theta[0])
    n_layers = sizes.shape[0]
    last = n_layers - 1
    out = a_off[last]
    # BP1: delta^L = nabla_a C (.) sigma'(z^L); for cross-entropy the sigma' cancels (eq. 66).
    for j in range(sizes[last]):
        a = act[out + j]
        if cost == CROSS_ENTROPY:
            delta[j] = a - y[j]
        else:
            delta[j] = (a - y[j]) * a * (one - a)
    for l in range(n_layers - 2, -1, -1):
        n_prev = sizes[l]
        n_out = sizes[l + 1]
        prev = a_off[l]
        # BP3: dC/db^l_j = delta^l_j.  BP4: dC/dw^l_jk = a^{l-1}_k delta^l_j.
        for j in range(n_out):
            d = delta[j]
            nabla[b_off[l] + j] += d
            row = w_off[l] + j * n_prev
            for k in range(n_prev):
                nabla[row + k] += d * act[prev + k]
        if l == 0:
            break
        # BP2: delta^{l-1} = ((W^l)^T delta^l) (.) sigma'(z^{l-1}), as row updates over W^l.
        for k in range(n_prev):
            delta_prev[k] = 0
        for j in range(n_out):
            d = delta[j]
            row = w_off[l] + j * n_prev
            for k in range(n_prev):
                delta_prev[k] += theta[row + k] * d
        for k in range(n_prev):
            a = act[prev + k]
            delta[k] = delta_prev[k] * a * (one - a)


@njit(cache=True)
def apply_update(theta, nabla, w_off, b_off, sizes, step, decay):
    """Gradient step, then clear ``nabla`` for the next mini-batch.

    w -> decay * w - step * nabla_w and b -> b - step * nabla_b, with
    step = eta / m (eq. 20-21) and decay = 1 - eta * lmbda / n (eq. 93;
    decay == 1 without regularisation, which leaves w unchanged exactly).
    """
    for l in range(sizes.shape[0] - 1):
        start = w_off[l]
        stop = start + sizes[l + 1] * sizes[l]
        for i in range(start, stop):
            theta[i] = decay * theta[i] - step * nabla[i]
            nabla[i] = 0
        for i in range(b_off[l], b_off[l] + sizes[l + 1]):
            theta[i] = theta[i] - step * nabla[i]
            nabla[i] = 0


@njit(cache=True)
def sample_buffers(theta, sizes):
    """Per-call buffers: activations of one sample and two delta vectors."""
    widest = 0
    for l in range(sizes.shape[0]):
        widest = max(widest, sizes[l])
    a_off = activation_offsets(sizes)
    act = np.empty(a_off[-1], dtype=theta.dtype)
    delta = np.empty(widest, dtype=theta.dtype)
    delta_prev = np.empty(widest, dtype=theta.dtype)
    return a_off, act, delta, delta_prev


@njit(cache=True)
def backprop(theta, w_off, b_off, sizes, x, y, cost, nabla):
    """Gradient of one sample's cost (BP1-BP4) written into ``nabla`` (same layout as theta)."""
    a_off, act, delta, delta_prev = sample_buffers(theta, sizes)
    for i in range(nabla.shape[0]):
        nabla[i] = 0
    forward_sample(theta, w_off, b_off, sizes, a_off, x, act)
    backprop_sample(theta, w_off, b_off, sizes, a_off, y, cost, act, delta, delta_prev, nabla)


@njit(cache=True)
def update_mini_batch(theta, w_off, b_off, sizes, X, Y, batch, step, decay, cost):
    """One SGD step on the samples ``X[batch]`` (network.py's update_mini_batch)."""
    a_off, act, delta, delta_prev = sample_buffers(theta, sizes)
    nabla = np.zeros_like(theta)
    for s in range(batch.shape[0]):
        i = batch[s]
        forward_sample(theta, w_off, b_off, sizes, a_off, X[i], act)
        backprop_sample(theta, w_off, b_off, sizes, a_off, Y[i], cost, act, delta, delta_prev, nabla)
    apply_update(theta, nabla, w_off, b_off, sizes, step, decay)


@njit(cache=True)
def sgd_epoch(theta, w_off, b_off, sizes, X, Y, order, mini_batch_size, eta, decay, cost):
    """One epoch of mini-batch SGD over ``X[order]`` in a single compiled call.

    Mini-batches are ``order[k:k + mini_batch_size]`` as in the book's slicing,
    so the last one may be shorter; each step uses eta / (its own size).
    ``eta`` and ``decay`` have theta's dtype's precision as given by the caller.
    """
    a_off, act, delta, delta_prev = sample_buffers(theta, sizes)
    nabla = np.zeros_like(theta)
    n = order.shape[0]
    for start in range(0, n, mini_batch_size):
        stop = min(start + mini_batch_size, n)
        for s in range(start, stop):
            i = order[s]
            forward_sample(theta, w_off, b_off, sizes, a_off, X[i], act)
            backprop_sample(theta, w_off, b_off, sizes, a_off, Y[i], cost, act, delta, delta_prev, nabla)
        step = eta / (stop - start)
        apply_update(theta, nabla, w_off, b_off, sizes, theta.dtype.type(step), decay)


@njit(cache=True)
def feedforward_batch(theta, w_off, b_off, sizes, X, out):
    """Output activations a^L of every row of ``X`` into ``out`` (shape (n, sizes[-1]))."""
    a_off, act, delta, delta_prev = sample_buffers(theta, sizes)
    last = a_off[sizes.shape[0] - 1]
    for i in range(X.shape[0]):
        forward_sample(theta, w_off, b_off, sizes, a_off, X[i], act)
        for j in range(out.shape[1]):
            out[i, j] = act[last + j]
