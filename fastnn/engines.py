"""The three interchangeable engines behind :class:`fastnn.Network`.

Each engine trains the network's flat parameter buffer in place and offers
the same four operations (the mini-batches of an index sequence, one
mini-batch step, one sample's gradient, a batched forward pass); the API has
validated and converted every argument already.  ``epoch`` may be given a
slice of an epoch's order (whole mini-batches): ``n``, the training-set size
of the L2 term (eq. 93), is passed separately.  Its optional
``sample_weight`` (one weight per row of ``X``, in the network's dtype)
scales each sample's gradient; each step is then eta / (the mini-batch's
weight sum).

* ``jit`` — the Numba kernels: :mod:`fastnn.kernels.tiled` for epochs and batched
  forward passes, :mod:`fastnn.kernels.mlp` for one sample's gradient and one step;
* ``reference`` — the book's per-sample algorithm, :mod:`fastnn.reference.network_np`;
* ``matrix`` — chapter 2's matrix form, :mod:`fastnn.reference.matrix_np`.
"""
import contextlib
import numbers
import time

from . import _threads

# numba's default threading layer here is OpenMP (GNU libgomp): spin briefly between
# parallel regions, then sleep (unless the user chose OMP_WAIT_POLICY or GOMP_SPINCOUNT).
# libgomp reads this when numba loads it, at the first parallel call.
_threads.set_default_spin()

import numba  # noqa: E402
import numpy as np  # noqa: E402

from . import _guards, training  # noqa: E402
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


def _timed_runs(net, key, total, unit, run):
    """Call ``run(start, stop)`` over ``0..total`` in runs whose thread counts are chosen.

    With ``net.threads`` set, one run on that many threads.  With None, a
    :class:`~fastnn._threads.ThreadChooser` (shared by every network doing the
    same kind of work, ``key``) splits the range into runs of whole ``unit``s,
    times them and picks 1 or more threads (at most numba's current setting).
    """
    threads = getattr(net, "threads", None)
    if threads is not None:
        with _numba_threads(threads):
            run(0, total)
        return
    most = numba.get_num_threads()
    if most == 1:
        with _numba_threads(None):
            run(0, total)
        return
    chooser = _threads.chooser_for(key, most)
    start = 0
    while start < total:
        count, samples = chooser.plan(total - start, unit)
        with _numba_threads(count):
            t0 = time.perf_counter()
            run(start, start + samples)
            chooser.record(count, time.perf_counter() - t0, samples)
        start += samples


class JitEngine:
    """Numba kernels; one compiled call per epoch (:mod:`fastnn.kernels.tiled`,
    parallel over weight rows, on ``net.threads`` threads or a count chosen at run time)."""

    name = "jit"

    counts_nonfinite = True
    """``epoch`` returns how many first-layer weighted inputs were not finite (0 proves the
    rows it trained finite; see :func:`fastnn.kernels.tiled.sgd_epoch`)."""

    def epoch(self, net, X, Y, order, mini_batch_size, eta, lmbda, n, sample_weight=None, metrics=None):
        """Train the mini-batches of ``order``; with ``metrics`` (float64, shape (3,)) add
        the running sums ``[sum w C_x, correct count, sum w]`` (see :func:`running_metrics`).
        Returns the count of non-finite first-layer weighted inputs (:attr:`counts_nonfinite`)."""
        dt = net._theta.dtype.type
        decay = dt(_decay(eta, lmbda, n))
        cost = COST_CODES[net.cost]
        bad = [0]

        def run(start, stop):
            bad[0] += tiled.sgd_epoch(net._theta, net._w_off, net._b_off, net._sizes, X, Y, order[start:stop],
                                      mini_batch_size, float(eta), decay, cost, sample_weight=sample_weight,
                                      metrics=metrics)

        key = ("train", tuple(net.sizes), int(mini_batch_size), net._theta.dtype.name)
        _timed_runs(net, key, len(order), mini_batch_size, run)
        return bad[0]

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
        return self.feedforward_checked(net, X)[0]

    def feedforward_checked(self, net, X):
        """``(outputs, inputs_finite)``: the kernel tells for free whether every input
        was finite (see :func:`fastnn.kernels.tiled.feedforward_batch`), so the API
        need not scan ``X`` first.  ``inputs_finite`` False may also mean an overflow."""
        out = np.empty((X.shape[0], net.sizes[-1]), dtype=net._theta.dtype)
        bad = [0]

        def run(start, stop):
            bad[0] += tiled.feedforward_batch(net._theta, net._w_off, net._b_off, net._sizes,
                                              X[start:stop], out[start:stop])

        key = ("infer", tuple(net.sizes), net._theta.dtype.name)
        _timed_runs(net, key, X.shape[0], tiled.INFER_CHUNK, run)
        return out, bad[0] == 0


def running_metrics(A, Y, cost, metrics, sample_weight=None):
    """Add to ``metrics`` the running sums of outputs ``A`` for targets ``Y``:
    ``[sum w C_x, number classified correctly, sum w]`` (w = 1 without sample weights)."""
    costs = training.sample_costs(A, Y, cost)
    w = np.ones(len(costs)) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        metrics[0] += float(np.sum(w * costs))
    metrics[1] += float(np.sum(np.argmax(A, axis=1) == np.argmax(Y, axis=1)))
    metrics[2] += float(np.sum(w))


class ReferenceEngine:
    """The book's per-sample NumPy algorithm (slow, obviously correct)."""

    name = "reference"
    module = network_np
    counts_nonfinite = False
    """``epoch`` returns nothing: the API scans ``X`` for NaN and inf before training."""

    def epoch(self, net, X, Y, order, mini_batch_size, eta, lmbda, n, sample_weight=None, metrics=None):
        """Train the mini-batches of ``order``; with ``metrics``, add the running sums
        (:func:`running_metrics`), each mini-batch measured before its step."""
        if metrics is None:
            w, b = self.module.sgd_epoch(net.weights, net.biases, X, Y, order, mini_batch_size,
                                         eta, lmbda, n, net.cost, sample_weight)
            net._store(w, b)
            return
        for k in range(0, len(order), mini_batch_size):
            batch = order[k:k + mini_batch_size]
            weights = None if sample_weight is None else sample_weight[batch]
            running_metrics(self.feedforward(net, X[batch]), Y[batch], net.cost, metrics, weights)
            self.epoch(net, X, Y, batch, mini_batch_size, eta, lmbda, n, sample_weight)

    def update_mini_batch(self, net, X, Y, eta, lmbda, n):
        batch = [(x.reshape(-1, 1), y.reshape(-1, 1)) for x, y in zip(X, Y)]
        w, b = network_np.update_mini_batch(net.weights, net.biases, batch, eta, lmbda, n, net.cost)
        net._store(w, b)

    def backprop(self, net, x, y):
        nabla_b, nabla_w = network_np.backprop(net.weights, net.biases, x.reshape(-1, 1),
                                               y.reshape(-1, 1), net.cost)
        return net._flatten(nabla_w, nabla_b)

    def feedforward_checked(self, net, X):
        """``(outputs, inputs_finite)``, the finiteness of ``X`` checked directly."""
        return self.feedforward(net, X), bool(np.isfinite(X).all())

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
