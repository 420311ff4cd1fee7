"""How fast the dense network's register blocks run on their own, away from the epoch around them.

Usage::

    python tools/dense_blocks.py [--dtype float64] [--seconds 0.3] [--json FILE]

Runs on one thread (``NUMBA_NUM_THREADS=1`` is set before numba loads) and reads CPU time
(``time.process_time``: the machine may be shared).  Each case drives one leaf of
:mod:`fastnn.kernels.tiled` from a compiled loop written here, in the epoch's order (blocks of
rows, then groups of 5 samples): the forward products (``_dots``, ``_dots4``: eq. 23 without the
bias) and the step (``_descend``, ``_descend4``: BP4 and eq. 20), in the 2-row block and the
4-row one, over ``rows`` rows of ``W`` and ``samples`` samples of ``n_in`` inputs.  The cases
put the operands where an epoch finds them: one block's in the L1 cache, one block's just beyond
it, and a chunk of 20 samples of the ``[784, 30, 10]`` and ``[784, 100, 10]`` first layers.  The
last line is the machine's one-thread dgemm (sgemm) rate through NumPy, the ceiling to compare
with.  An epoch's own rate (``fastnn bench --hidden-sweep``) is lower than the blocks': it also
reads its inputs from memory, computes sigmoids, deltas and metrics, and runs the output layer.
"""
import argparse
import json
import os
import sys
import time

os.environ["NUMBA_NUM_THREADS"] = "1"
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
from numba import njit  # noqa: E402

from fastnn.bench import limits  # noqa: E402
from fastnn.kernels import tiled  # noqa: E402
from fastnn.persistence import atomic_write  # noqa: E402

CASES = (  # (n_in, rows, samples)
    (256, 4, 5),     # one block's operands in L1 (2 or 4 rows and 5 samples of 256)
    (784, 4, 5),     # one block's operands just beyond a 32-48 KB L1
    (784, 32, 20),   # a chunk of the [784, 30, 10] first layer (W 196 KB in float64)
    (784, 100, 20),  # a chunk of the [784, 100, 10] first layer (W 627 KB)
)
FORWARD, STEP = 0, 1


@njit(cache=False)
def _drive(phase, block_rows, theta, n_in, n_rows, src, rows, out, delta, step, reps):
    """``reps`` passes of one phase over all rows (blocks of ``block_rows``) and samples."""
    one = theta.dtype.type(1)
    for _ in range(reps):
        for j in range(0, n_rows, block_rows):
            for s0 in range(0, len(rows), tiled.SAMPLES):
                if phase == FORWARD and block_rows == 4:
                    tiled._dots4(theta, 0, n_in, j, src, n_in, rows, 0, s0, out, n_rows, 0)
                elif phase == FORWARD:
                    tiled._dots(theta, 0, n_in, j, 2, src, n_in, rows, 0, s0, tiled.SAMPLES, out, n_rows, 0)
                elif block_rows == 4:
                    tiled._descend4(theta, 0, n_in, j, src, n_in, rows, 0, s0, delta, n_rows, 0, step, one)
                else:
                    tiled._descend(theta, 0, n_in, j, 2, src, n_in, rows, 0, s0, tiled.SAMPLES, delta, n_rows, 0,
                                   step, one)


def block_rate(phase, block_rows, n_in, n_rows, samples, dtype, seconds):
    """GFLOP/s (2 per weight per sample) of one phase, the best of 3 timed runs of about ``seconds``."""
    rng = np.random.default_rng(0)
    theta = rng.standard_normal(n_rows * n_in).astype(dtype)
    src = rng.random(samples * n_in).astype(dtype)
    rows = np.arange(samples)
    out = np.zeros(samples * n_rows, dtype=dtype)
    delta = rng.standard_normal(samples * n_rows).astype(dtype)
    step = np.dtype(dtype).type(1e-9)
    args = (phase, block_rows, theta, n_in, n_rows, src, rows, out, delta, step)
    _drive(*args, 1)  # compile
    start = time.process_time()
    _drive(*args, 1)
    reps = max(1, int(seconds / max(time.process_time() - start, 1e-6)))
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        _drive(*args, reps)
        best = min(best, time.process_time() - start)
    return 2.0 * n_rows * n_in * samples * reps / best / 1e9


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dtype", choices=("float64", "float32"), default="float64")
    parser.add_argument("--seconds", type=float, default=0.3, help="length of one timed run (default 0.3)")
    parser.add_argument("--json", metavar="FILE", help="also write the rows as JSON")
    args = parser.parse_args(argv)
    if args.seconds <= 0:
        parser.error(f"--seconds must be positive, got {args.seconds}")
    size = np.dtype(args.dtype).itemsize
    print(f"register blocks of fastnn.kernels.tiled alone, {args.dtype}, 1 thread, CPU time; "
          f"this CPU's block: {tiled.block_rows_for_cpu()} rows")
    print("| block | n_in | rows | samples | operands KB | forward GFLOP/s | step GFLOP/s |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    results = []
    for block_rows in tiled.BLOCK_ROWS:
        for n_in, n_rows, samples in CASES:
            rates = [block_rate(phase, block_rows, n_in, n_rows, samples, args.dtype, args.seconds)
                     for phase in (FORWARD, STEP)]
            kb = (n_rows + samples) * n_in * size / 1024
            print(f"| {block_rows} x {tiled.SAMPLES} | {n_in} | {n_rows} | {samples} | {kb:.0f} | "
                  f"{rates[0]:.1f} | {rates[1]:.1f} |")
            results.append({"block_rows": block_rows, "n_in": n_in, "rows": n_rows, "samples": samples,
                            "forward_gflops": rates[0], "step_gflops": rates[1]})
    finish(args.dtype, results, args.json)
    return 0


def finish(dtype, results, path):
    """Print the machine's one-thread GEMM rate, the ceiling, and write ``results`` to ``path``
    as JSON (atomically) if ``path`` is given."""
    print(limits.format_limits(dtype, limits.machine_limits(dtype, [1])))
    if path:
        with atomic_write(path, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    sys.exit(main())
