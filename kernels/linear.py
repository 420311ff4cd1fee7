"""Gradient-descent kernels for linear and logistic regression.

Both models are one layer ``z = W x + b`` with ``W`` of shape (K, d) and
``b`` of shape (K,); they differ only in the per-sample cost C_x(z):

* ``MODEL_L2``: linear regression, K = 1, C_x = (z - y)^2 / 2 (the book's
  quadratic cost, eq. 6); dC_x/dz = z - y.
* ``MODEL_L1``: linear regression, K = 1, C_x = ``|z - y|``; subgradient sign(z - y).
* ``MODEL_LOGISTIC``: K = 1 is a sigmoid neuron with the cross-entropy cost
  (eq. 57), C_x = ln(1 + e^z) - y z, dC_x/dz = sigma(z) - y; K > 1 is a
  softmax layer with the log-likelihood cost (eq. 78-80),
  C_x = -ln a_y, dC_x/dz_k = a_k - [k == y].  ``y`` holds the class code as
  a float.

The objective is J = (1/n) sum_x C_x + (lmbda / 2n) ||W||^2 (eq. 85/87) and
a step on a mini-batch of m samples is momentum-based gradient descent
(chapter 3, eq. 107-108, with the L2 term of eq. 93)::

    V <- mu V - eta [(1/m) sum_x dC_x/dW + (lmbda/n) W],   W <- W + V
    v <- mu v - eta (1/m) sum_x dC_x/db,                   b <- b + v

mu = 0 gives plain gradient descent (eq. 93-94).

Stopping, shared by every kernel, see ``_stop_status``.  Arrays are
float64 and C-contiguous (the API, :class:`fastnn.LinearRegression` and
:class:`fastnn.LogisticRegression`, guarantees it).
"""
import math

import numpy as np
from numba import njit

from .activations import sigmoid

MODEL_L2 = 0
MODEL_L1 = 1
MODEL_LOGISTIC = 2

CONVERGED = 0
RUNNING = 1  # as a final status: the iteration budget ran out
DIVERGED = 2

# Safe fastmath subset (no nnan/ninf, so NaN/inf checks still work): lets LLVM
# vectorise the dot-product reductions; summation order may change (~1 ulp).
FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}


@njit(cache=True, fastmath=FASTMATH)
def _scores(X, i, W, b, z):
    """Write z = W x_i + b into ``z`` (shape (K,))."""
    for k in range(W.shape[0]):
        s = b[k]
        for j in range(X.shape[1]):
            s += W[k, j] * X[i, j]
        z[k] = s


@njit(cache=True, fastmath=FASTMATH)
def _softplus(z):
    """ln(1 + e^z) without overflow."""
    if z > 0.0:
        return z + math.log1p(math.exp(-z))
    return math.log1p(math.exp(z))


@njit(cache=True, fastmath=FASTMATH)
def _softmax_delta(z, label, delta):
    """Softmax + log-likelihood: delta_k = a_k - [k == label]; return -ln a_label (eq. 78-80)."""
    zmax = z[0]
    for k in range(1, z.shape[0]):
        zmax = max(zmax, z[k])
    total = 0.0
    for k in range(z.shape[0]):
        delta[k] = math.exp(z[k] - zmax)
        total += delta[k]
    for k in range(z.shape[0]):
        delta[k] /= total
    delta[label] -= 1.0
    return zmax + math.log(total) - z[label]


@njit(cache=True, fastmath=FASTMATH)
def sample_cost(z, target, model, delta):
    """Per-sample cost C_x(z) and its (sub)gradient dC_x/dz, written into ``delta``.

    Parameters
    ----------
    z : ndarray, shape (K,)
        Weighted inputs W x + b.
    target : float
        y for regression, the class code for logistic regression.
    model : int
        ``MODEL_L2``, ``MODEL_L1`` or ``MODEL_LOGISTIC``.
    delta : ndarray, shape (K,)
        Output: dC_x/dz.

    Returns
    -------
    float
        C_x.
    """
    if model == MODEL_L2:
        r = z[0] - target
        delta[0] = r
        return 0.5 * r * r
    if model == MODEL_L1:
        r = z[0] - target
        delta[0] = 1.0 if r > 0.0 else (-1.0 if r < 0.0 else 0.0)
        return abs(r)
    if z.shape[0] == 1:
        delta[0] = sigmoid(z[0]) - target
        return _softplus(z[0]) - target * z[0]
    return _softmax_delta(z, int(target), delta)


@njit(cache=True, fastmath=FASTMATH)
def _penalty(W, lmbda, n):
    """L2 penalty (lmbda / 2n) ||W||^2 (eq. 85)."""
    s = 0.0
    for k in range(W.shape[0]):
        for j in range(W.shape[1]):
            s += W[k, j] * W[k, j]
    return 0.5 * lmbda / n * s


@njit(cache=True, fastmath=FASTMATH)
def batch_gradient(X, y, idx, start, stop, W, b, model, gW, gb):
    """Sum the per-sample gradients of samples ``idx[start:stop]``.

    Parameters
    ----------
    X, y : ndarray
        Data, shapes (n, d) and (n,).
    idx : ndarray of int64
        Sample order; the batch is ``idx[start:stop]``.
    start, stop : int
    W, b : ndarray
        Parameters, shapes (K, d) and (K,).
    model : int
    gW, gb : ndarray
        Outputs: sum over the batch of dC_x/dW and dC_x/db (no penalty, not averaged).

    Returns
    -------
    float
        Sum of C_x over the batch.
    """
    K = W.shape[0]
    z = np.empty(K)
    delta = np.empty(K)
    gW[:, :] = 0.0
    gb[:] = 0.0
    cost = 0.0
    for p in range(start, stop):
        i = idx[p]
        _scores(X, i, W, b, z)
        cost += sample_cost(z, y[i], model, delta)
        for k in range(K):
            gb[k] += delta[k]
            for j in range(X.shape[1]):
                gW[k, j] += delta[k] * X[i, j]
    return cost


@njit(cache=True, fastmath=FASTMATH)
def apply_step(W, b, gW, gb, m, eta, lmbda, n, mu, VW, vb):
    """One momentum update (equations 107-108) from batch sums ``gW``, ``gb`` of ``m`` samples.

    ``VW`` and ``vb`` (velocities, shapes of ``W`` and ``b``) are updated in place.

    Returns
    -------
    float
        The largest absolute change of any parameter.
    """
    biggest = 0.0
    for k in range(W.shape[0]):
        for j in range(W.shape[1]):
            VW[k, j] = mu * VW[k, j] - eta * (gW[k, j] / m + lmbda / n * W[k, j])
            W[k, j] += VW[k, j]
            biggest = max(biggest, abs(VW[k, j]))
        vb[k] = mu * vb[k] - eta * gb[k] / m
        b[k] += vb[k]
        biggest = max(biggest, abs(vb[k]))
    return biggest


@njit(cache=True, fastmath=FASTMATH)
def objective(X, y, W, b, model, lmbda):
    """J = (1/n) sum_x C_x + (lmbda / 2n) ||W||^2 over all samples."""
    n = X.shape[0]
    K = W.shape[0]
    z = np.empty(K)
    delta = np.empty(K)
    cost = 0.0
    for i in range(n):
        _scores(X, i, W, b, z)
        cost += sample_cost(z, y[i], model, delta)
    return cost / n + _penalty(W, lmbda, n)


@njit(cache=True, fastmath=FASTMATH)
def _max_abs(W, b):
    """Largest absolute parameter, the scale for the relative step tolerance."""
    m = 0.0
    for k in range(W.shape[0]):
        m = max(m, abs(b[k]))
        for j in range(W.shape[1]):
            m = max(m, abs(W[k, j]))
    return m


@njit(cache=True, fastmath=FASTMATH)
def _stop_status(J, step, scale, tol, smooth, state, n_iter_no_change):
    """Decide whether to stop after an iteration (GD) or epoch (SGD).

    * Non-finite J or step: ``DIVERGED``.
    * ``smooth`` (GD on a differentiable cost): ``CONVERGED`` once the largest
      parameter change is <= tol * max(1, max |parameter|).
    * otherwise (SGD noise, L1 subgradients): ``CONVERGED`` once J has not
      beaten its best value by tol * max(1, |J|) for ``n_iter_no_change``
      consecutive checks.  ``state = [best J, checks without improvement]``.
    """
    if not (math.isfinite(J) and math.isfinite(step)):
        return DIVERGED
    if smooth:
        return CONVERGED if step <= tol * max(1.0, scale) else RUNNING
    if J < state[0] - tol * max(1.0, abs(J)):
        state[1] = 0.0
    else:
        state[1] += 1.0
    state[0] = min(state[0], J)
    return CONVERGED if state[1] >= n_iter_no_change else RUNNING


@njit(cache=True, fastmath=FASTMATH)
def gd(X, y, W, b, model, lmbda, eta, mu, max_iter, tol, n_iter_no_change, history):
    """Full-batch gradient descent, in place, in one compiled call.

    The step is ``eta`` for smooth costs and ``eta / sqrt(t)`` (t = 1, 2, ...)
    for the L1 subgradient.

    Parameters
    ----------
    X : ndarray, shape (n, d)
    y : ndarray, shape (n,)
    W : ndarray, shape (K, d)
        Updated in place.
    b : ndarray, shape (K,)
        Updated in place.
    model : int
        ``MODEL_L2``, ``MODEL_L1`` or ``MODEL_LOGISTIC``.
    lmbda : float
        L2 penalty (>= 0).
    eta : float
        Learning rate (> 0).
    mu : float
        Momentum coefficient in [0, 1); 0 is plain gradient descent.
    max_iter : int
        Iteration budget.
    tol : float
        Tolerance of ``_stop_status``.
    n_iter_no_change : int
        Patience of the stall rule (L1 only).
    history : ndarray, shape (max_iter,)
        Output: J before each update (computed in the same pass as the gradient).

    Returns
    -------
    n_iter : int
    status : int
        ``CONVERGED``, ``RUNNING`` (budget exhausted) or ``DIVERGED``.
    """
    n = X.shape[0]
    idx = np.arange(n)
    gW = np.empty_like(W)
    gb = np.empty_like(b)
    VW = np.zeros_like(W)
    vb = np.zeros_like(b)
    state = np.array([np.inf, 0.0])
    smooth = model != MODEL_L1
    for t in range(max_iter):
        cost = batch_gradient(X, y, idx, 0, n, W, b, model, gW, gb)
        history[t] = cost / n + _penalty(W, lmbda, n)
        eta_t = eta if smooth else eta / math.sqrt(t + 1.0)
        step = apply_step(W, b, gW, gb, n, eta_t, lmbda, n, mu, VW, vb)
        status = _stop_status(history[t], step, _max_abs(W, b), tol, smooth, state,
                              n_iter_no_change)
        if status != RUNNING:
            return t + 1, status
    return max_iter, RUNNING


@njit(cache=True, fastmath=FASTMATH)
def sgd(X, y, W, b, model, lmbda, eta, mu, batch_size, perms, epoch0, tol, n_iter_no_change,
        VW, vb, state, history):
    """Mini-batch SGD for ``perms.shape[0]`` epochs, in place.

    Epoch e (counted from 1 over the whole fit) uses the step ``eta / sqrt(e)``
    and visits the samples in the order ``perms[e - 1 - epoch0]`` in batches of
    ``batch_size`` (the last one may be smaller).  After each epoch the full J
    is recorded and the stall rule of ``_stop_status`` is applied.

    Parameters
    ----------
    X, y, W, b, model, lmbda, eta, mu, tol, n_iter_no_change
        As in :func:`gd`.
    batch_size : int
        Mini-batch size m.
    perms : ndarray of int64, shape (epochs, n)
        One permutation of ``range(n)`` per epoch (made by the caller's RNG).
    epoch0 : int
        Epochs already run by earlier calls of the same fit.
    VW, vb : ndarray
        Velocities carried between calls; start with zeros.
    state : ndarray, shape (2,)
        Stall-rule state carried between calls; start with ``[inf, 0]``.
    history : ndarray
        Output: ``history[epoch0 + e]`` is J after epoch e of this call.

    Returns
    -------
    n_epochs : int
        Epochs run in this call.
    status : int
    """
    n = X.shape[0]
    gW = np.empty_like(W)
    gb = np.empty_like(b)
    for e in range(perms.shape[0]):
        eta_e = eta / math.sqrt(epoch0 + e + 1.0)
        order = perms[e]
        for start in range(0, n, batch_size):
            stop = min(start + batch_size, n)
            batch_gradient(X, y, order, start, stop, W, b, model, gW, gb)
            apply_step(W, b, gW, gb, stop - start, eta_e, lmbda, n, mu, VW, vb)
        history[epoch0 + e] = objective(X, y, W, b, model, lmbda)
        status = _stop_status(history[epoch0 + e], 0.0, 0.0, tol, False, state,
                              n_iter_no_change)
        if status != RUNNING:
            return e + 1, status
    return perms.shape[0], RUNNING
