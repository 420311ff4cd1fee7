"""The three interchangeable engines behind :class:`fastnn.Network`.

Each engine trains the network's flat parameter buffer in place and offers
the same four operations (the mini-batches of an index sequence, one
mini-batch step, one sample's gradient, a batched forward pass); the API has
validated and converted every argument already.  ``epoch`` may be given a
slice of an epoch's order (whole mini-batches): ``n``, the training-set size
of the L2 term (eq. 93), is passed separately.

* ``jit`` — the Numba kernels: :mod:`fastnn.kernels.tiled` for epochs and batched
  forward passes, :mod:`fastnn.kernels.mlp` for one sample's gradient and one step;
* ``reference`` — the book's per-sample algorithm, :mod:`fastnn.reference.network_np`;
* ``matrix`` — chapter 2's matrix form, :mod:`fastnn.reference.matrix_np`.
"""
import contextlib
import numbers
import os

# numba's default threading layer here is OpenMP (GNU libgomp), whose idle threads
# busy-wait between parallel regions.  On a busy 2-core machine a 2-thread epoch then
# took 6-10 s instead of 0.1 s (docs/performance.md).  Wait passively unless the user
# chose a policy; libgomp reads this when numba loads it, at the first parallel call.
os.environ.setdefault("OMP_WAIT_POLICY", "passive")

import numba  # noqa: E402
import numpy as np  # noqa: E402

from . import _guards  # noqa: E402
from .kernels import mlp, tiled  # noqa: E402
from .reference import matrix_np, network_np  # noqa: E402

COST_CODES = {"quadratic": mlp.QUADRATIC, "cross-entropy": mlp.CROSS_ENTROPY}
INITS = ("large", "default")  # N(0, 1) weights (chapter 1) or N(0, 1/n_in) (chapter 3)


def _decay(eta, lmbda, n):
    """Weight-decay factor of eq. 93, written as network2.py computes it."""
    return 1 - eta * (lmbda / n)


def check_threads(threads):
    """Validate the ``threads`` option: None or an int in 1..``numba.config.NUMBA_NUM_THREADS``.

    Raises
    ------
    TypeError
        If ``threads`` is not an integer (or None).
    ValueError
        If it is outside 1..NUMBA_NUM_THREADS (numba cannot start more threads
        than it was configured with at import; set NUMBA_NUM_THREADS to allow more).
    """
    if threads is None:
        return None
    if isinstance(threads, bool) or not isinstance(threads, numbers.Integral):
        raise TypeError(f"threads must be an integer or None, got {threads!r}")
    limit = numba.config.NUMBA_NUM_THREADS
    if not 1 <= threads <= limit:
        raise ValueError(f"threads must be between 1 and {limit} (NUMBA_NUM_THREADS), got {threads}")
    return int(threads)


@contextlib.contextmanager
def _numba_threads(threads):
    """Run the block on ``threads`` Numba threads (None: leave numba's setting alone).

    On numba's workqueue threading layer, which aborts the process when two
    Python threads launch parallel regions at once, the block is also
    serialised (:func:`fastnn._guards.parallel_section`).
    """
    with _guards.parallel_section():
        if threads is None:
            yield
            return
        previous = numba.get_num_threads()
        numba.set_num_threads(threads)
        try:
            yield
        finally:
            numba.set_num_threads(previous)


class JitEngine:
    """Numba kernels; one compiled call per epoch (:mod:`fastnn.kernels.tiled`,
    parallel over weight rows on ``net.threads`` threads)."""

    name = "jit"

    def epoch(self, net, X, Y, order, mini_batch_size, eta, lmbda, n):
        dt = net._theta.dtype.type
        with _numba_threads(getattr(net, "threads", None)):
            tiled.sgd_epoch(net._theta, net._w_off, net._b_off, net._sizes, X, Y, order,
                            mini_batch_size, float(eta), dt(_decay(eta, lmbda, n)), COST_CODES[net.cost])

    def update_mini_batch(self, net, X, Y, eta, lmbda, n):
        dt = net._theta.dtype.type
        batch = np.arange(X.shape[0], dtype=np.int64)
        mlp.update_mini_batch(net._theta, net._w_off, net._b_off, net._sizes, X, Y, batch,
                              dt(eta / X.shape[0]), dt(_decay(eta, lmbda, n)), COST_CODES[net.cost])

    def backprop(self, net, x, y):
        nabla = np.empty_like(net._theta)
        mlp.backprop(net._theta, net._w_off, net._b_off, net._sizes, x, y, COST_CODES[net.cost], nabla)
        return nabla

    def feedforward(self, net, X):
        out = np.empty((X.shape[0], net.sizes[-1]), dtype=net._theta.dtype)
        with _numba_threads(getattr(net, "threads", None)):
            tiled.feedforward_batch(net._theta, net._w_off, net._b_off, net._sizes, X, out)
        return out


class ReferenceEngine:
    """The book's per-sample NumPy algorithm (slow, obviously correct)."""

    name = "reference"
    module = network_np

    def epoch(self, net, X, Y, order, mini_batch_size, eta, lmbda, n):
        w, b = self.module.sgd_epoch(net.weights, net.biases, X, Y, order, mini_batch_size,
                                     eta, lmbda, n, net.cost)
        net._store(w, b)

    def update_mini_batch(self, net, X, Y, eta, lmbda, n):
        batch = [(x.reshape(-1, 1), y.reshape(-1, 1)) for x, y in zip(X, Y)]
        w, b = network_np.update_mini_batch(net.weights, net.biases, batch, eta, lmbda, n, net.cost)
        net._store(w, b)

    def backprop(self, net, x, y):
        nabla_b, nabla_w = network_np.backprop(net.weights, net.biases, x.reshape(-1, 1),
                                               y.reshape(-1, 1), net.cost)
        return net._flatten(nabla_w, nabla_b)

    def feedforward(self, net, X):
        out = np.empty((X.shape[0], net.sizes[-1]), dtype=net._theta.dtype)
        for i, x in enumerate(X):
            out[i] = network_np.feedforward(net.weights, net.biases, x.reshape(-1, 1)).ravel()
        return out


class MatrixEngine(ReferenceEngine):
    """Chapter 2's matrix form: one BLAS product per layer and mini-batch."""

    name = "matrix"
    module = matrix_np

    def update_mini_batch(self, net, X, Y, eta, lmbda, n):
        w, b = matrix_np.update_mini_batch(net.weights, net.biases, X.T, Y.T, eta, lmbda, n, net.cost)
        net._store(w, b)

    def feedforward(self, net, X):
        return np.ascontiguousarray(matrix_np.feedforward(net.weights, net.biases, X.T).T)


ENGINES = {cls.name: cls for cls in (JitEngine, ReferenceEngine, MatrixEngine)}
