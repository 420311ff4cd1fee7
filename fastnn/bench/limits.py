"""The machine's limits for the tables of ``fastnn compare`` and ``fastnn bench``: the rate of
a large matrix product through NumPy's BLAS (dgemm for float64, sgemm for float32), measured
in the same run as the rows it is printed beside, and the GFLOP/s of a training epoch.

A training epoch of a dense sigmoid network does ``flops_per_sample(sizes)`` floating-point
operations per sample (:func:`fastnn.bench.flops_per_sample`), so a row's GFLOP/s next to
the GEMM rate shows how far the row is from what the CPU's BLAS reaches.
"""
import time

import numpy as np

from . import harness

GEMM_SIZE = 1000
"""Side of the square matrices multiplied to measure the GEMM rate (2 n^3 flops, ~2 GFLOP)."""


def epoch_gflops(sizes, samples, seconds):
    """GFLOP/s of an epoch of ``samples`` samples that took ``seconds`` (None if ``seconds`` is None)."""
    if seconds is None:
        return None
    return harness.flops_per_sample(sizes) * samples / seconds / 1e9


def gemm_rate(dtype="float64", threads=1, *, n=GEMM_SIZE, repeats=3):
    """GFLOP/s of an ``n x n`` by ``n x n`` product through NumPy's ``@`` on ``threads`` BLAS threads.

    The best of ``repeats`` products after one untimed product.  One thread is
    timed in CPU time of the process (the product runs on this thread only, so
    other jobs on the machine do not count); more threads in wall time.

    Parameters
    ----------
    dtype : {"float64", "float32"}
        float64 measures dgemm, float32 sgemm.
    threads : int
        BLAS threads (needs threadpoolctl).
    n : int
        Matrix side.
    repeats : int

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If ``dtype`` is not float64 or float32, or ``n``, ``threads`` or ``repeats`` is below 1.
    """
    if np.dtype(dtype) not in (np.dtype(np.float64), np.dtype(np.float32)):
        raise ValueError(f"dtype must be float64 or float32, got {dtype!r}")
    for name, value in (("n", n), ("threads", threads), ("repeats", repeats)):
        if int(value) < 1:
            raise ValueError(f"{name} must be at least 1, got {value!r}")
    rng = np.random.default_rng(0)
    a = rng.random((n, n)).astype(dtype)
    b = rng.random((n, n)).astype(dtype)
    out = np.empty((n, n), dtype=dtype)
    clock = time.process_time if threads == 1 else time.perf_counter
    best = np.inf
    with harness.blas_threads(threads):
        np.matmul(a, b, out=out)
        for _ in range(repeats):
            start = clock()
            np.matmul(a, b, out=out)
            best = min(best, clock() - start)
    return 2.0 * n ** 3 / max(best, 1e-9) / 1e9


def machine_limits(dtype="float64", thread_counts=None, *, n=GEMM_SIZE):
    """``{threads: GFLOP/s}`` of :func:`gemm_rate` for each thread count (default 1 and all cores)."""
    counts = thread_counts or sorted({1, harness.core_count()})
    return {t: gemm_rate(dtype, t, n=n) for t in counts}


def format_limits(dtype, limits, sizes=None, samples=None):
    """One line naming the GEMM rate of every thread count, and, given ``sizes`` and ``samples``,
    the epoch time that rate would allow (the floor of any implementation of the epoch)."""
    gemm = "dgemm" if np.dtype(dtype) == np.float64 else "sgemm"
    parts = []
    for threads, rate in limits.items():
        text = f"{rate:.0f} GFLOP/s on {threads} thread{'s' if threads > 1 else ''}"
        if sizes is not None and samples:
            floor = harness.flops_per_sample(sizes) * samples / (rate * 1e9)
            text += f" (epoch floor {floor:.4f} s)"
        parts.append(text)
    return (f"Machine limit, {gemm} through NumPy ({GEMM_SIZE}x{GEMM_SIZE} product, best of 3, same run; "
            f"1 thread in CPU time, more in wall time): " + "; ".join(parts))
