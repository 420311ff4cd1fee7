"""``fastnn bench``'s runs: ``Network.fit`` and ``predict_proba`` times of the jit engine over a
few shapes, mini-batch sizes, dtypes and thread counts, and their tables.
"""
import time

import numpy as np

from . import harness

BENCH_SIZES = ([784, 30, 10], [784, 100, 10])
BENCH_MINI_BATCHES = (1, 10, 100)


def thread_choices(threads=None):
    """The ``threads`` values to time: ``[threads]`` if given, else None (the default), 1 and all cores."""
    if threads is not None:
        return [threads]
    return [None] + sorted({1, harness.core_count()})


def run_bench(X, y, *, sizes_list=BENCH_SIZES, mini_batches=BENCH_MINI_BATCHES,
              dtypes=("float64", "float32"), epochs=2, eta=3.0, seed=0, threads=None):
    """``Network.fit`` time for every shape x mini-batch size x dtype x thread choice.

    Parameters
    ----------
    X, y : ndarray
        Training rows (``sizes[0]`` columns for every shape) and int labels.
    sizes_list, mini_batches, dtypes : sequences
        The cases.
    epochs : int
        Epochs of each ``fit`` call.
    eta : float
    seed : int
    threads : int, optional
        Time only this thread count; default: None (fastnn's choice), 1 and all cores.

    Returns
    -------
    list of dict
        ``sizes``, ``mini_batch_size``, ``dtype``, ``threads`` (None or a
        count), ``seconds`` (wall time of the whole ``fit`` call / epochs,
        history on), ``loop_seconds`` (``history_["seconds"]``, mean),
        ``samples_per_s`` and ``gflops`` (:func:`flops_per_sample` rate, both
        from ``seconds``).
    """
    rows = []
    for dtype in dtypes:
        harness.warm_up(dtype)
        Xd = np.ascontiguousarray(X, dtype=dtype)
        for sizes in sizes_list:
            for mb in mini_batches:
                for t in thread_choices(threads):
                    net, seconds = harness.time_fit(Xd, y, sizes, epochs=epochs, mini_batch_size=mb, eta=eta,
                                            seed=seed, dtype=dtype, threads=t)
                    rows.append({"sizes": list(sizes), "mini_batch_size": mb, "dtype": dtype,
                                 "threads": t, "seconds": seconds,
                                 "loop_seconds": float(np.mean(net.history_["seconds"])),
                                 "samples_per_s": len(X) / seconds,
                                 "gflops": harness.flops_per_sample(sizes) * len(X) / seconds / 1e9})
    return rows


def format_bench(rows):
    """The ``fit`` table of :func:`run_bench` as Markdown."""
    lines = ["| sizes | mini-batch | dtype | threads | fit s/epoch | loop s/epoch | samples/s | GFLOP/s |",
             "|---|---:|---|---|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['sizes']} | {r['mini_batch_size']} | {r['dtype']} | {r['threads']} | "
                     f"{r['seconds']:.4f} | {r['loop_seconds']:.4f} | {r['samples_per_s']:,.0f} | "
                     f"{r['gflops']:.1f} |")
    return "\n".join(lines)


def numpy_forward(weights, biases, X):
    """Output activations of every row of ``X`` by NumPy's BLAS: ``sigma(A W^T + b)`` per layer (eq. 25)."""
    a = X
    for w, b in zip(weights, biases):
        a = 1.0 / (1.0 + np.exp(-(a @ w.T + b.T)))
    return a


def _best_time(function, repeats):
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def run_inference_bench(X, *, sizes_list=BENCH_SIZES, dtypes=("float64", "float32"), threads=None,
                        repeats=5, seed=0):
    """``predict_proba`` time on the rows of ``X`` against NumPy's BLAS forward pass.

    Parameters
    ----------
    X : ndarray
        Rows to predict (``sizes[0]`` columns for every shape).
    sizes_list, dtypes : sequences
    threads : int, optional
        As in :func:`run_bench`.
    repeats : int
        Each time is the best of this many calls (the first, untimed call
        loads the kernels).
    seed : int

    Returns
    -------
    list of dict
        ``sizes``, ``dtype``, ``threads``, ``seconds`` (fastnn),
        ``numpy_seconds`` (:func:`numpy_forward`, BLAS's default threads) and
        ``speedup`` (numpy_seconds / seconds).
    """
    from ..network import Network

    rows = []
    for dtype in dtypes:
        harness.warm_up(dtype)
        Xd = np.ascontiguousarray(X, dtype=dtype)
        for sizes in sizes_list:
            for t in thread_choices(threads):
                net = Network(sizes, seed=seed, dtype=dtype, threads=t)
                net.predict_proba(Xd[:10])
                seconds = _best_time(lambda: net.predict_proba(Xd), repeats)
                blas = _best_time(lambda: numpy_forward(net.weights, net.biases, Xd), repeats)
                rows.append({"sizes": list(sizes), "dtype": dtype, "threads": t, "seconds": seconds,
                             "numpy_seconds": blas, "speedup": blas / seconds})
    return rows


def format_inference(rows, n_rows):
    """The inference table of :func:`run_inference_bench` as Markdown."""
    lines = [f"| sizes | dtype | threads | predict_proba s ({n_rows:,} rows) | NumPy BLAS forward s "
             f"| fastnn speed vs NumPy |", "|---|---|---|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['sizes']} | {r['dtype']} | {r['threads']} | {r['seconds']:.4f} | "
                     f"{r['numpy_seconds']:.4f} | {r['speedup']:.2f}x |")
    return "\n".join(lines)
