"""The book's algorithm written the way other tools would run it, for ``fastnn compare``.

* :func:`train_tuned_numpy` — chapter 2's matrix form written for speed in
  NumPy: one permuted copy of the training set per epoch, contiguous
  mini-batch slices, buffers allocated once, every operation with ``out=``;
* :func:`train_jax` — one ``jax.jit`` of a whole epoch: a permuted copy,
  ``jax.lax.scan`` over the mini-batches, ``jax.grad`` of the book's summed cost;
* :func:`train_torch` — PyTorch CPU autograd with the same plain SGD step.

Every trainer takes the same inputs: the initial ``weights`` (``(n_out, n_in)``
each) and ``biases`` (``(n_out, 1)``), the training rows ``X`` and one-hot
targets ``Y``, and ``orders``, one permutation of the rows per epoch.  It runs
the book's quadratic cost (eq. 6) with plain SGD (eq. 20-21: every mini-batch
``w -> w - (eta/m) * sum_x dC_x/dw``), and returns the trained parameters,
the seconds of every epoch and the seconds of a warm-up (compilation, thread
start-up) that the epochs exclude.

JAX and PyTorch start thread pools that keep spinning after they finish and
would disturb whatever is timed next, so :func:`run_child` runs them in a
child process.  This module imports nothing of fastnn, so that child starts
with neither numba nor fastnn's OpenMP settings loaded.
"""
import os
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager

import numpy as np

LIBRARIES = ("jax", "torch")
"""Optional libraries with a trainer here (each run by :func:`run_child`)."""

INSTALL_HINT = {"jax": 'pip install "fastnn[jax]"', "torch": 'pip install "fastnn[torch]"'}

WARMUP_BATCHES = 20
"""Mini-batches run on a throwaway copy of the parameters before timing (NumPy, PyTorch)."""

_OPENMP_PREFIXES = ("OMP_", "GOMP_", "KMP_")


# --------------------------------------------------------------------------- NumPy
def _sigmoid_inplace(z):
    """``z <- 1 / (1 + exp(-z))`` (eq. 3) without temporaries; exp's overflow gives 0."""
    with np.errstate(over="ignore"):
        np.negative(z, out=z)
        np.exp(z, out=z)
    z += 1
    np.reciprocal(z, out=z)


def _sigmoid_prime_from_output(a, out):
    """``out <- a * (1 - a)``, i.e. sigma'(z) for a = sigma(z)."""
    np.subtract(1, a, out=out)
    out *= a


class _NumpyBuffers:
    """Every array one epoch of :func:`train_tuned_numpy` writes, allocated once."""

    def __init__(self, weights, X, Y, mini_batch_size):
        dt = X.dtype
        m = min(mini_batch_size, X.shape[0])
        self.X = np.empty_like(X)  # the epoch's permuted copy
        self.Y = np.empty_like(Y)
        self.act = [np.empty((m, w.shape[0]), dt) for w in weights]   # a^l, one row per sample
        self.delta = [np.empty((m, w.shape[0]), dt) for w in weights]
        self.prime = [np.empty((m, w.shape[0]), dt) for w in weights]
        self.grad_w = [np.empty_like(w) for w in weights]
        self.grad_b = [np.empty(w.shape[0], dt) for w in weights]


def _numpy_step(W, b, bufs, start, stop, eta):
    """One mini-batch (rows ``start:stop`` of the permuted copy): forward, BP1-BP4, update."""
    m = stop - start
    x = bufs.X[start:stop]
    a = x
    for l in range(len(W)):
        z = bufs.act[l][:m]
        np.matmul(a, W[l].T, out=z)
        z += b[l]
        _sigmoid_inplace(z)  # z now holds a^l
        a = z
    delta = bufs.delta[-1][:m]
    np.subtract(a, bufs.Y[start:stop], out=delta)  # BP1, quadratic cost
    prime = bufs.prime[-1][:m]
    _sigmoid_prime_from_output(a, prime)
    delta *= prime
    for l in range(len(W) - 1, -1, -1):
        a_prev = x if l == 0 else bufs.act[l - 1][:m]
        np.matmul(delta.T, a_prev, out=bufs.grad_w[l])  # BP4, summed over the batch
        np.sum(delta, axis=0, out=bufs.grad_b[l])       # BP3
        if l > 0:  # BP2 with the weights before this step's update
            prev = bufs.delta[l - 1][:m]
            np.matmul(delta, W[l], out=prev)
            prime = bufs.prime[l - 1][:m]
            _sigmoid_prime_from_output(a_prev, prime)
            prev *= prime
            delta = prev
        bufs.grad_w[l] *= eta / m
        W[l] -= bufs.grad_w[l]
        bufs.grad_b[l] *= eta / m
        b[l] -= bufs.grad_b[l]


def _numpy_epoch(W, b, bufs, X, Y, order, mini_batch_size, eta, max_batches=None):
    """One epoch over ``X[order]``: permute once, then contiguous slices."""
    np.take(X, order, axis=0, out=bufs.X)
    np.take(Y, order, axis=0, out=bufs.Y)
    n = len(order)
    starts = range(0, n, mini_batch_size)
    for k, start in enumerate(starts):
        if max_batches is not None and k >= max_batches:
            break
        _numpy_step(W, b, bufs, start, min(start + mini_batch_size, n), eta)


def train_tuned_numpy(weights, biases, X, Y, orders, mini_batch_size, eta, threads=None, clock=None):
    """The matrix form in NumPy, written for speed; see the module docstring.

    Parameters
    ----------
    weights, biases : list of ndarray
        Initial parameters, ``(n_out, n_in)`` and ``(n_out, 1)`` per layer
        (copied, never modified).
    X, Y : ndarray, shapes (n, n_in) and (n, n_out)
        Training rows and one-hot targets, of the parameters' dtype.
    orders : ndarray of int, shape (epochs, n)
        The sample order of every epoch.
    mini_batch_size : int
    eta : float
    threads : int, optional
        BLAS threads (threadpoolctl); None leaves BLAS alone.
    clock : callable, optional
        What the seconds are read from; default ``time.perf_counter`` (wall
        time), ``time.process_time`` for CPU time.

    Returns
    -------
    weights, biases : list of ndarray
    seconds : list of float
        Seconds of every epoch.
    warmup : float
        Seconds of the untimed warm-up (:data:`WARMUP_BATCHES` mini-batches on a copy).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> W, b = [rng.standard_normal((3, 4))], [rng.standard_normal((3, 1))]
    >>> X, Y = rng.random((6, 4)), np.eye(3)[[0, 1, 2, 0, 1, 2]]
    >>> W2, b2, seconds, _ = train_tuned_numpy(W, b, X, Y, np.array([np.arange(6)]), 2, 3.0)
    >>> len(seconds)
    1
    """
    clock = clock or time.perf_counter
    with _blas_threads(threads):
        bufs = _NumpyBuffers(weights, X, Y, mini_batch_size)
        W = [np.array(w, dtype=X.dtype) for w in weights]
        b = [np.array(v, dtype=X.dtype).ravel() for v in biases]
        start = clock()
        _numpy_epoch([w.copy() for w in W], [v.copy() for v in b], bufs, X, Y, orders[0],
                     mini_batch_size, eta, max_batches=WARMUP_BATCHES)
        warmup = clock() - start
        seconds = []
        for order in orders:
            start = clock()
            _numpy_epoch(W, b, bufs, X, Y, order, mini_batch_size, eta)
            seconds.append(clock() - start)
    return W, [v.reshape(-1, 1) for v in b], seconds, warmup


@contextmanager
def _blas_threads(threads):
    if threads is None:
        yield
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=threads, user_api="blas"):
        yield


# --------------------------------------------------------------------------- JAX
def _jax_epoch_function(n, mini_batch_size, eta):
    """A jitted ``epoch(params, X, Y, order) -> params`` for ``n`` samples."""
    import jax
    import jax.numpy as jnp

    def cost(params, x, y):
        # the book's cost summed over the mini-batch: sum_x ||a(x) - y(x)||^2 / 2 (eq. 6)
        a = x
        for w, b in params:
            a = jax.nn.sigmoid(a @ w.T + b)
        return 0.5 * jnp.sum((a - y) ** 2)

    grad = jax.grad(cost)

    def step(params, x, y):
        m = x.shape[0]  # static: the last, shorter mini-batch gets its own eta / m
        g = grad(params, x, y)
        return jax.tree_util.tree_map(lambda p, gp: p - (eta / m) * gp, params, g)

    n_full, rest = divmod(n, mini_batch_size)

    def epoch(params, X, Y, order):
        Xp, Yp = X[order], Y[order]
        cut = n_full * mini_batch_size
        xs = Xp[:cut].reshape(n_full, mini_batch_size, X.shape[1])
        ys = Yp[:cut].reshape(n_full, mini_batch_size, Y.shape[1])
        params, _ = jax.lax.scan(lambda p, batch: (step(p, *batch), None), params, (xs, ys))
        if rest:
            params = step(params, Xp[cut:], Yp[cut:])
        return params

    return jax.jit(epoch)


def train_jax(weights, biases, X, Y, orders, mini_batch_size, eta, threads=None):
    """The book's SGD as one ``jax.jit`` per epoch (float64 through ``jax_enable_x64``).

    Parameters
    ----------
    weights, biases, X, Y, orders, mini_batch_size, eta
        As for :func:`train_tuned_numpy`.
    threads : None
        Ignored: XLA uses its default thread pool.

    Returns
    -------
    weights, biases, seconds, warmup
        As from :func:`train_tuned_numpy`; the warm-up compiles the epoch and
        runs it once (JAX arrays are immutable, so the parameters are not
        touched).  Every mini-batch, the last shorter one included, is trained.
    """
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    epoch = _jax_epoch_function(X.shape[0], mini_batch_size, eta)
    params = tuple((jnp.asarray(w), jnp.asarray(np.ravel(b))) for w, b in zip(weights, biases))
    Xd, Yd = jnp.asarray(X), jnp.asarray(Y)
    start = time.perf_counter()
    jax.block_until_ready(epoch(params, Xd, Yd, jnp.asarray(orders[0])))
    warmup = time.perf_counter() - start
    seconds = []
    for order in orders:
        start = time.perf_counter()
        params = jax.block_until_ready(epoch(params, Xd, Yd, jnp.asarray(order)))
        seconds.append(time.perf_counter() - start)
    W = [np.asarray(w) for w, _ in params]
    b = [np.asarray(v).reshape(-1, 1) for _, v in params]
    return W, b, seconds, warmup


# --------------------------------------------------------------------------- PyTorch
def _torch_epoch(ws, bs, Xt, Yt, Xp, Yp, order, mini_batch_size, eta, max_batches=None):
    import torch

    torch.index_select(Xt, 0, order, out=Xp)
    torch.index_select(Yt, 0, order, out=Yp)
    n = len(order)
    for k, start in enumerate(range(0, n, mini_batch_size)):
        if max_batches is not None and k >= max_batches:
            break
        x, y = Xp[start:start + mini_batch_size], Yp[start:start + mini_batch_size]
        a = x
        for w, b in zip(ws, bs):
            a = torch.sigmoid(torch.addmm(b, a, w.T))
        cost = 0.5 * ((a - y) ** 2).sum()  # eq. 6 summed over the mini-batch
        cost.backward()
        with torch.no_grad():
            for p in ws + bs:
                p.sub_(p.grad, alpha=eta / len(x))
                p.grad = None


def train_torch(weights, biases, X, Y, orders, mini_batch_size, eta, threads=None):
    """The book's SGD in PyTorch CPU: autograd of the summed cost, an in-place step.

    Parameters
    ----------
    weights, biases, X, Y, orders, mini_batch_size, eta
        As for :func:`train_tuned_numpy`.
    threads : int, optional
        Given to ``torch.set_num_threads``; None keeps PyTorch's default.

    Returns
    -------
    weights, biases, seconds, warmup
        As from :func:`train_tuned_numpy`.
    """
    import torch

    if threads is not None:
        torch.set_num_threads(threads)
    Xt, Yt = torch.from_numpy(np.ascontiguousarray(X)), torch.from_numpy(np.ascontiguousarray(Y))
    Xp, Yp = torch.empty_like(Xt), torch.empty_like(Yt)

    def fresh():
        return ([torch.tensor(w, requires_grad=True) for w in weights],
                [torch.tensor(np.ravel(b), requires_grad=True) for b in biases])

    start = time.perf_counter()
    _torch_epoch(*fresh(), Xt, Yt, Xp, Yp, torch.from_numpy(orders[0]), mini_batch_size, eta,
                 max_batches=WARMUP_BATCHES)
    warmup = time.perf_counter() - start
    ws, bs = fresh()
    seconds = []
    for order in orders:
        order = torch.from_numpy(np.ascontiguousarray(order))
        start = time.perf_counter()
        _torch_epoch(ws, bs, Xt, Yt, Xp, Yp, order, mini_batch_size, eta)
        seconds.append(time.perf_counter() - start)
    return ([w.detach().numpy() for w in ws], [b.detach().numpy().reshape(-1, 1) for b in bs],
            seconds, warmup)


TRAINERS = {"numpy": train_tuned_numpy, "jax": train_jax, "torch": train_torch}


# --------------------------------------------------------------------------- child process
def library_available(library):
    """True if ``library`` is installed; it is found, not imported.

    Parameters
    ----------
    library : str
        A top-level module name, e.g. "jax" or "torch".

    Returns
    -------
    bool
    """
    import importlib.util

    try:
        return importlib.util.find_spec(library) is not None
    except (ImportError, ValueError):
        return False


def library_environment():
    """Environment for a child process: this one, with OpenMP variables as they were at start.

    fastnn sets OpenMP variables (a wait policy) for its own threads when it
    is imported; PyTorch reads the same ones, so the child gets the values the
    user started with (from ``/proc/self/environ`` where it exists).

    Returns
    -------
    dict
        Variable names to values, for ``subprocess.run(env=...)``.
    """
    env = dict(os.environ)
    try:
        with open("/proc/self/environ", "rb") as f:
            raw = f.read()
    except OSError:
        return env
    startup = dict(item.decode(errors="replace").split("=", 1) for item in raw.split(b"\0") if b"=" in item)
    for key in [k for k in set(env) | set(startup) if k.startswith(_OPENMP_PREFIXES)]:
        if key in startup:
            env[key] = startup[key]
        else:
            env.pop(key, None)
    return env


@contextmanager
def child_inputs(weights, biases, X, Y, orders, mini_batch_size, eta):
    """Write a trainer's inputs once to a temporary ``.npz`` for :func:`run_child`.

    Parameters
    ----------
    weights, biases, X, Y, orders, mini_batch_size, eta
        As for :func:`train_tuned_numpy`.

    Yields
    ------
    str
        The file's path; the file and its folder are deleted on exit.
    """
    arrays = {"X": X, "Y": Y, "orders": orders, "mini_batch_size": np.int64(mini_batch_size),
              "eta": np.float64(eta), "layers": np.int64(len(weights))}
    arrays.update({f"w{l}": w for l, w in enumerate(weights)})
    arrays.update({f"b{l}": b for l, b in enumerate(biases)})
    with tempfile.TemporaryDirectory(prefix="fastnn-compare-") as folder:
        path = os.path.join(folder, "inputs.npz")
        np.savez(path, **arrays)
        yield path


_BOOT = "import runpy, sys; runpy.run_path(sys.argv[1], run_name='__main__')"


def run_child(library, inputs, threads=None, timeout=None):
    """Train with ``library``'s trainer in a fresh Python process.

    Parameters
    ----------
    library : {"numpy", "jax", "torch"}
    inputs : str
        A file written by :func:`child_inputs`.
    threads : int, optional
        Passed to the trainer.
    timeout : float, optional
        Seconds before the child is killed (``subprocess.TimeoutExpired``).

    Returns
    -------
    weights, biases, seconds, warmup
        As from the trainer.

    Raises
    ------
    RuntimeError
        If the child fails; the message ends with its stderr.
    """
    if library not in TRAINERS:
        raise ValueError(f"library must be one of {sorted(TRAINERS)}, got {library!r}")
    output = os.path.join(os.path.dirname(inputs), f"{library}-{threads}-out.npz")
    command = [sys.executable, "-c", _BOOT, os.path.abspath(__file__), library, inputs, output,
               str(threads or 0)]
    done = subprocess.run(command, env=library_environment(), capture_output=True, text=True,
                          timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"the {library} child process failed (exit {done.returncode}):\n"
                           f"{done.stderr[-3000:]}")
    with np.load(output, allow_pickle=False) as f:
        layers = int(f["layers"])
        return ([f[f"w{l}"] for l in range(layers)], [f[f"b{l}"] for l in range(layers)],
                [float(s) for s in f["seconds"]], float(f["warmup"]))


def _child_main(library, inputs, output, threads):
    """Entry point of the child process started by :func:`run_child`."""
    with np.load(inputs, allow_pickle=False) as f:
        layers = int(f["layers"])
        weights = [f[f"w{l}"] for l in range(layers)]
        biases = [f[f"b{l}"] for l in range(layers)]
        X, Y, orders = f["X"], f["Y"], f["orders"]
        mini_batch_size, eta = int(f["mini_batch_size"]), float(f["eta"])
    threads = int(threads) or None
    W, b, seconds, warmup = TRAINERS[library](weights, biases, X, Y, orders, mini_batch_size, eta,
                                              threads)
    result = {"layers": np.int64(layers), "seconds": np.asarray(seconds), "warmup": np.float64(warmup)}
    result.update({f"w{l}": np.asarray(w) for l, w in enumerate(W)})
    result.update({f"b{l}": np.asarray(v) for l, v in enumerate(b)})
    np.savez(output, **result)


if __name__ == "__main__":
    _child_main(*sys.argv[2:])
