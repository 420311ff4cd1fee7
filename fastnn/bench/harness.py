"""The timing harness of ``fastnn compare`` and ``fastnn bench``: data, thread limits, warm-up,
timed fits and the starting state every compared implementation shares.

Timings never include compilation: the jit kernels are warmed up on a tiny
network of the same dtype first (:func:`warm_up`).
"""
import contextlib
import time

import numpy as np

DEFAULT_SIZES = [784, 30, 10]


# --------------------------------------------------------------------------- data
def synthetic_data(n, n_in=784, n_out=10, seed=0, dtype=np.float64):
    """A learnable, MNIST-shaped classification set (no files needed).

    Each class has a random sparse prototype in [0, 1]^n_in; a sample is its
    class's prototype plus noise, clipped to [0, 1] like pixel intensities.

    Returns
    -------
    X : ndarray, shape (n, n_in), values in [0, 1]
    y : ndarray of int64, shape (n,)
    """
    rng = np.random.default_rng(seed)
    prototypes = rng.random((n_out, n_in)) * (rng.random((n_out, n_in)) < 0.3)
    y = rng.integers(0, n_out, size=n)
    X = prototypes[y] + 0.25 * rng.standard_normal((n, n_in))
    return np.clip(X, 0.0, 1.0).astype(dtype), y.astype(np.int64)


def load_data(data, samples, sizes, seed=0):
    """``(X_train, y_train, X_test, y_test, sizes)`` for compare/bench.

    ``data`` is ``"synthetic"`` (``samples`` training rows shaped like
    ``sizes``, or [784, 30, 10]) or anything :func:`fastnn.datasets.load_dataset`
    accepts; then the first ``samples`` training rows are used.
    """
    if data == "synthetic":
        sizes = list(sizes or DEFAULT_SIZES)
        X, y = synthetic_data(samples + 1000, sizes[0], sizes[-1], seed)
        return X[:samples], y[:samples], X[samples:], y[samples:], sizes
    from .. import datasets

    X_train, y_train, X_test, y_test = datasets.load_dataset(data)
    if samples > len(X_train):
        reps = -(-samples // len(X_train))
        X_train, y_train = np.tile(X_train, (reps, 1)), np.tile(y_train, reps)
    sizes = list(sizes or [X_train.shape[1], 30, int(max(y_train.max(), y_test.max())) + 1])
    return X_train[:samples], y_train[:samples], X_test, y_test, sizes


def flops_per_sample(sizes):
    """Floating-point operations of one training sample (multiply-add = 2).

    Forward ``W a`` and gradient ``delta a^T`` for every layer, ``W^T delta``
    (BP2) for every layer but the first.
    """
    work = [sizes[l] * sizes[l + 1] for l in range(len(sizes) - 1)]
    return 4 * sum(work) + 2 * sum(work[1:])


# --------------------------------------------------------------------------- threads
SETTLE_SECONDS = 0.3
"""Pause of :func:`settle`: longer than OpenBLAS's worker threads keep spinning after their last
call (2**28 cycles by default, its ``THREAD_TIMEOUT``: ~0.1 s at 2.5 GHz)."""


def settle():
    """Sleep ``SETTLE_SECONDS`` (0.3 s) before a timed run that follows another library's in the same
    process, so that the idle threads of the one before have gone to sleep.  On a 2-core machine
    OpenBLAS's spinning workers take the cores from the next run's threads: measured on AMD Zen 3,
    a 2-thread fastnn epoch of [784,100,10] at mini-batch 100 (10,000 samples) took 0.172 s right
    after 2-thread BLAS products and 0.070 s after the pause."""
    time.sleep(SETTLE_SECONDS)


@contextlib.contextmanager
def blas_threads(n):
    """Limit NumPy's BLAS to ``n`` threads inside the block (needs threadpoolctl)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=n, user_api="blas"):
        yield


def core_count():
    """Cores numba may use (``numba.config.NUMBA_NUM_THREADS``)."""
    import numba

    return numba.config.NUMBA_NUM_THREADS


# --------------------------------------------------------------------------- engines
def warm_up(dtype, cost="quadratic"):
    """Compile (or load from the cache) the jit kernels for ``dtype`` on a tiny net: training by
    blocks (mini-batch 4) and with the first layer as panels (mini-batch ``MIN_BATCH``,
    :mod:`fastnn.kernels.panels`), and inference."""
    from ..kernels.panels import MIN_BATCH
    from ..network import Network

    X, y = synthetic_data(MIN_BATCH + 8, 4, 3, seed=1, dtype=dtype)
    for mini_batch_size in (4, MIN_BATCH):
        net = Network([4, 5, 3], seed=0, dtype=dtype, cost=cost)
        net.fit(X, y, epochs=1, mini_batch_size=mini_batch_size, eta=1.0)
    net.predict(X)


def train_fastnn(engine, X, y, sizes, *, epochs, mini_batch_size, eta, seed, dtype, threads=None):
    """Train a :class:`~fastnn.Network` with ``engine``; return ``(net, seconds per epoch list)``."""
    from ..network import Network

    kwargs = {"threads": threads} if engine == "jit" else {}
    net = Network(sizes, seed=seed, engine=engine, dtype=dtype, **kwargs)
    net.fit(X, y, epochs=epochs, mini_batch_size=mini_batch_size, eta=eta)
    return net, list(net.history_["seconds"])


def time_fit(X, y, sizes, *, epochs, mini_batch_size, eta, seed, dtype, threads=None):
    """:meth:`Network.fit <fastnn.Network.fit>` as a user calls it (jit engine, history on).

    Returns
    -------
    net : Network
        The trained network.
    seconds : float
        Wall time of the whole ``fit`` call divided by ``epochs``: input
        checks, the epochs and the per-epoch training cost and accuracy that
        ``history_`` records.
    """
    from ..network import Network

    net = Network(sizes, seed=seed, dtype=dtype, threads=threads)
    start = time.perf_counter()
    net.fit(X, y, epochs=epochs, mini_batch_size=mini_batch_size, eta=eta)
    return net, (time.perf_counter() - start) / epochs


def initial_state(sizes, n, *, epochs, seed, dtype):
    """What ``Network(sizes, seed=seed).fit`` starts from and shuffles with.

    Returns
    -------
    weights, biases : list of ndarray
        The initial parameters (copies).
    orders : ndarray of int64, shape (epochs, n)
        Every epoch's permutation of the ``n`` training rows, drawn from the
        network's generator as ``fit`` draws them.
    """
    from ..network import Network

    net = Network(sizes, seed=seed, engine="reference", dtype=dtype)
    weights = [w.copy() for w in net.weights]
    biases = [b.copy() for b in net.biases]
    return weights, biases, np.array([net.rng.permutation(n) for _ in range(epochs)])


def network_with(sizes, dtype, weights, biases):
    """A jit :class:`~fastnn.Network` holding the given parameters (to score them)."""
    from ..network import Network

    net = Network(sizes, dtype=dtype)
    net.weights = [np.asarray(w, dtype=dtype) for w in weights]
    net.biases = [np.asarray(b, dtype=dtype) for b in biases]
    return net


def max_param_difference(net, reference):
    """Largest absolute difference between the parameters of two networks."""
    diffs = [np.max(np.abs(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)))
             for a, b in zip(net.weights + net.biases, reference.weights + reference.biases)]
    return float(max(diffs))

def cpu_model():
    """The CPU's model name (``/proc/cpuinfo``, as ``lscpu`` shows it), or the platform's guess."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or "unknown CPU"
