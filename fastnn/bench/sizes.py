"""``fastnn bench --hidden-sweep``: how the jit engine's lead over the NumPy matrix form holds
as the network grows.  For each hidden-layer width and mini-batch size, ``Network.fit`` and
the tuned NumPy matrix form (:func:`fastnn.bench.rivals.train_tuned_numpy`) train one epoch of
the same run (same initial parameters, same order of samples) on the same number of threads.

At one thread both are timed in CPU time of the process (``time.process_time``), which other
jobs on a shared machine do not inflate; at more threads in wall time.  Each timed run starts after
:func:`fastnn.bench.settle`, so that neither inherits the other's spinning threads.
"""
import time

import numpy as np

from . import harness, limits, rivals

SWEEP_HIDDEN = (30, 100, 300, 1000)
"""Hidden-layer widths of the sweep ([n_in, hidden, n_out] networks)."""

SWEEP_MINI_BATCHES = (10, 100)
"""Mini-batch sizes of the sweep."""


def _clock(threads):
    return time.process_time if threads == 1 else time.perf_counter


def _fastnn_epoch(X, y, sizes, *, mini_batch_size, eta, seed, dtype, threads, clock):
    """``Network.fit`` of one epoch, after a short untimed fit that starts the threads; returns
    the trained network and the seconds of the timed call."""
    from ..network import Network

    Network(sizes, seed=seed, dtype=dtype, threads=threads).fit(X[:200], y[:200], epochs=1,
                                                                 mini_batch_size=mini_batch_size, eta=eta)
    net = Network(sizes, seed=seed, dtype=dtype, threads=threads)
    harness.settle()
    start = clock()
    net.fit(X, y, epochs=1, mini_batch_size=mini_batch_size, eta=eta)
    return net, clock() - start


def run_hidden_sweep(X, y, *, hidden=SWEEP_HIDDEN, mini_batches=SWEEP_MINI_BATCHES, dtype="float64",
                     eta=3.0, seed=0, threads=1):
    """One epoch of ``[n_in, h, n_out]`` for every width ``h`` and mini-batch size, by fastnn and
    by the tuned NumPy matrix form from the same start.

    Parameters
    ----------
    X, y : ndarray
        Training rows and int labels (``n_out`` is ``max(y) + 1``).
    hidden, mini_batches : sequences of int
    dtype : {"float64", "float32"}
    eta : float
    seed : int
        Initial parameters and order, as ``Network(sizes, seed=seed)`` draws them.
    threads : int
        Threads of both: numba's for fastnn, BLAS's for NumPy.  At 1 the
        seconds are CPU time, else wall time.

    Returns
    -------
    list of dict
        ``hidden``, ``sizes``, ``mini_batch_size``, ``dtype``, ``threads``,
        ``seconds`` (fastnn's ``fit`` call), ``numpy_seconds``, ``speedup``
        (numpy_seconds / seconds), ``gflops`` and ``numpy_gflops`` (the
        epoch's rate) and ``max_diff`` (largest difference between the two
        trained parameter sets).

    Raises
    ------
    ValueError
        If ``threads`` is below 1.
    """
    if int(threads) < 1:
        raise ValueError(f"threads must be at least 1, got {threads!r}")
    harness.warm_up(dtype)
    clock = _clock(threads)
    X = np.ascontiguousarray(X, dtype=dtype)
    n_out = int(np.max(y)) + 1
    Y = np.eye(n_out, dtype=dtype)[y]
    rows = []
    for h in hidden:
        sizes = [X.shape[1], int(h), n_out]
        weights, biases, orders = harness.initial_state(sizes, len(X), epochs=1, seed=seed, dtype=dtype)
        for mb in mini_batches:
            net, seconds = _fastnn_epoch(X, y, sizes, mini_batch_size=mb, eta=eta, seed=seed, dtype=dtype,
                                         threads=threads, clock=clock)
            harness.settle()
            W, b, numpy_seconds, _ = rivals.train_tuned_numpy(weights, biases, X, Y, orders, mb, eta,
                                                              threads=threads, clock=clock)
            other = harness.network_with(sizes, dtype, W, b)
            rows.append({"hidden": int(h), "sizes": sizes, "mini_batch_size": mb, "dtype": dtype,
                         "threads": threads, "seconds": seconds, "numpy_seconds": numpy_seconds[0],
                         "speedup": numpy_seconds[0] / seconds,
                         "gflops": limits.epoch_gflops(sizes, len(X), seconds),
                         "numpy_gflops": limits.epoch_gflops(sizes, len(X), numpy_seconds[0]),
                         "max_diff": harness.max_param_difference(net, other)})
    return rows


def format_hidden_sweep(rows):
    """The table of :func:`run_hidden_sweep` as Markdown."""
    lines = ["| sizes | mini-batch | dtype | threads | fastnn s/epoch | NumPy s/epoch | fastnn vs NumPy "
             "| fastnn GFLOP/s | NumPy GFLOP/s | max abs param diff |",
             "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['sizes']} | {r['mini_batch_size']} | {r['dtype']} | {r['threads']} | "
                     f"{r['seconds']:.4f} | {r['numpy_seconds']:.4f} | {r['speedup']:.2f}x | "
                     f"{r['gflops']:.1f} | {r['numpy_gflops']:.1f} | {r['max_diff']:.1e} |")
    return "\n".join(lines)
