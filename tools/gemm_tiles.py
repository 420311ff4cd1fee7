"""How fast a GEMM-style register tile written in Numba runs here, beside fastnn's dense blocks.

Usage::

    python tools/gemm_tiles.py [--dtype float64] [--seconds 0.2] [--no-slp] [--json FILE]

A measurement for issue 28 (docs/performance.md, "A GEMM-style tile, measured on its own"), not a kernel of
fastnn.  The first layer's two big products of a mini-batch step, on one thread, in CPU time:

- forward, eq. 23 without the bias: ``z[s, j] = sum_k W[j, k] x[s, k]``;
- the step, BP4 and eq. 20: ``W[j, k] += sum_s (-c delta[s, j]) x[s, k]``.

fastnn's blocks (:mod:`fastnn.kernels.tiled`) take dot products along ``k``: 2 rows of ``W`` x 5
samples on AVX2.  The tile here is an outer product, as a GEMM micro-kernel: ``W`` is kept as
panels of ``W^T`` (``NR`` output rows side by side: 8 doubles or 16 floats, two AVX2 vectors),
and each step of ``k`` (forward) or ``s`` (step) loads one panel row and broadcasts 6 inputs into
6 x ``NR`` accumulators held in registers.  Every output is one fixed chain of fused
multiply-adds (fastmath ``contract`` only), so the result does not depend on the tiling.

The tile is written as scalar accumulators, generated per ``NR``; it becomes vector code only
with numba's SLP vectorizer, off by default in numba 0.68: this tool sets
``NUMBA_SLP_VECTORIZE=1`` before numba loads (``--no-slp`` leaves it off, to show the contrast).
The columns beside it: the same cases through fastnn's current blocks
(``tools/dense_blocks.py``'s driver, groups of ``tiled.SAMPLES`` samples) and through NumPy's
BLAS (``X @ W.T`` and ``W -= c * (D.T @ X)``, the mini-batch's rows of ``X`` gathered beforehand,
untimed, where the tile reads them in place), and the machine's one-thread GEMM rate.
"""
import argparse
import functools
import os
import sys
import time

MR = 6
"""Samples (forward) or inputs (step) per tile: 6 x 2 vectors of accumulators fit in AVX2's 16."""

CASES = ((100, 100), (100, 20), (32, 100), (32, 20))
"""(rows of W, samples): the [784, 100, 10] first layer and the [784, 30, 10] one (30 rows rounded up
to a multiple of the current blocks' 2 or 4 rows), at mini-batch 100 and in chunks of 20."""

N_IN = 784


def _tile_source(nr):
    """Source of the forward tile and the step tile for panels of ``nr`` output rows."""
    acc = [[f"c{i}_{v}" for v in range(nr)] for i in range(MR)]
    forward = ["@njit(fastmath={'contract'})",
               "def forward_tile(x0, x1, x2, x3, x4, x5, panel, n_in, o0, o1, o2, o3, o4, o5, zero):",
               "    # o_i[v] = sum_k x_i[k] * panel[k, v]  (eq. 23 without the bias, 6 samples x nr rows)"]
    forward += ["    " + " = ".join(row) + " = zero" for row in acc]
    forward += ["    for k in range(n_in):"]
    forward += [f"        b{v} = panel[k * {nr} + {v}]" for v in range(nr)]
    for i in range(MR):
        forward += [f"        a = x{i}[k]"] + [f"        {acc[i][v]} += a * b{v}" for v in range(nr)]
    forward += [f"    o{i}[{v}] = {acc[i][v]}" for i in range(MR) for v in range(nr)]
    step = ["@njit(fastmath={'contract'})",
            "def step_tile(X, rows, n_in, k0, scaled, panel_rows, zero):",
            "    # panel_rows[i, v] += sum_s X[rows[s], k0 + i] * scaled[s, v]  (BP4, eq. 20: scaled = -c delta)",
            "    stride = np.uint64(n_in)", "    first = np.uint64(k0)"]
    step += [f"    {acc[i][v]} = panel_rows[{i * nr + v}]" for i in range(MR) for v in range(nr)]
    step += ["    for s in range(rows.shape[0]):",
             "        at = np.uint64(rows[s]) * stride + first  # unsigned: no negative-index code"]
    step += [f"        b{v} = scaled[s * {nr} + {v}]" for v in range(nr)]
    for i in range(MR):
        step += [f"        a = X[at + np.uint64({i})]"] + [f"        {acc[i][v]} += a * b{v}" for v in range(nr)]
    step += [f"    panel_rows[{i * nr + v}] = {acc[i][v]}" for i in range(MR) for v in range(nr)]
    return "\n".join(forward) + "\n\n\n" + "\n".join(step) + "\n"


_DRIVERS = '''

@njit
def forward(panels, nr, n_rows, X, n_in, rows, z, z_padded, spare):
    """z[s, j] = sum_k W[j, k] X[rows[s], k] for W kept as panels; z_padded: (samples, panels * nr)."""
    zero = panels[0] - panels[0]
    n = rows.shape[0]
    width = (n_rows + nr - 1) // nr * nr
    for q in range(width // nr):
        panel = panels[q * n_in * nr:(q + 1) * n_in * nr]
        for s0 in range(0, n, 6):  # 6 samples; past the end: the last sample again, its sums not stored
            o = z_padded[s0 * width + q * nr:]
            r0, r1, r2 = rows[s0], rows[min(s0 + 1, n - 1)], rows[min(s0 + 2, n - 1)]
            r3, r4, r5 = rows[min(s0 + 3, n - 1)], rows[min(s0 + 4, n - 1)], rows[min(s0 + 5, n - 1)]
            o1 = o[width:width + nr] if s0 + 1 < n else spare
            o2 = o[2 * width:2 * width + nr] if s0 + 2 < n else spare
            o3 = o[3 * width:3 * width + nr] if s0 + 3 < n else spare
            o4 = o[4 * width:4 * width + nr] if s0 + 4 < n else spare
            o5 = o[5 * width:5 * width + nr] if s0 + 5 < n else spare
            forward_tile(X[r0 * n_in:(r0 + 1) * n_in], X[r1 * n_in:(r1 + 1) * n_in],
                         X[r2 * n_in:(r2 + 1) * n_in], X[r3 * n_in:(r3 + 1) * n_in],
                         X[r4 * n_in:(r4 + 1) * n_in], X[r5 * n_in:(r5 + 1) * n_in],
                         panel, n_in, o[0:nr], o1, o2, o3, o4, o5, zero)
    for s in range(n):
        for j in range(n_rows):
            z[s * n_rows + j] = z_padded[s * width + j]


@njit
def step(panels, nr, n_rows, X, n_in, rows, delta, c, scaled):
    """W[j, k] += sum_s (-c delta[s, j]) X[rows[s], k] for W kept as panels; scaled: (panels, samples, nr)."""
    zero = panels[0] - panels[0]
    n = rows.shape[0]
    n_panels = (n_rows + nr - 1) // nr
    for q in range(n_panels):
        for s in range(n):
            for v in range(nr):
                j = q * nr + v
                scaled[(q * n + s) * nr + v] = -c * delta[s * n_rows + j] if j < n_rows else zero
    whole = n_in // 6 * 6
    for k0 in range(0, whole, 6):
        for q in range(n_panels):
            at = (q * n_in + k0) * nr
            step_tile(X, rows, n_in, k0, scaled[q * n * nr:(q + 1) * n * nr], panels[at:at + 6 * nr], zero)
    for k in range(whole, n_in):  # the last n_in % 6 inputs, one at a time
        for q in range(n_panels):
            for v in range(nr):
                at = (q * n_in + k) * nr + v
                acc = panels[at]
                for s in range(n):
                    acc += X[rows[s] * n_in + k] * scaled[(q * n + s) * nr + v]
                panels[at] = acc
'''


@functools.lru_cache(maxsize=None)
def compile_tiles(nr):
    """``(forward, step)`` drivers for panels of ``nr`` rows, compiled on first call (not cached on disk)."""
    import numpy as np
    from numba import njit

    namespace = {"np": np, "njit": njit}
    exec(compile(_tile_source(nr) + _DRIVERS, f"<gemm tiles, nr={nr}>", "exec"), namespace)
    return namespace["forward"], namespace["step"]


def to_panels(W, nr):
    """``W`` (rows, n_in) as panels of ``W^T``: ``panels[q, k, v] = W[q * nr + v, k]``, padded rows zero."""
    import numpy as np

    n_rows, n_in = W.shape
    padded = np.zeros((-(-n_rows // nr) * nr, n_in), dtype=W.dtype)
    padded[:n_rows] = W
    return padded.reshape(-1, nr, n_in).transpose(0, 2, 1).copy().ravel()


def from_panels(panels, n_rows, n_in, nr):
    """The inverse of :func:`to_panels`: ``W`` of shape (n_rows, n_in)."""
    return panels.reshape(-1, n_in, nr).transpose(0, 2, 1).reshape(-1, n_in)[:n_rows]


class Case:
    """One layer's operands: ``W`` (n_rows, n_in), ``samples`` rows of ``X`` drawn from 5,000, ``delta``."""

    def __init__(self, n_rows, samples, dtype, nr, n_in=N_IN, seed=0):
        import numpy as np

        rng = np.random.default_rng(seed)
        self.n_rows, self.n_in, self.nr = n_rows, n_in, nr
        self.X = rng.random((5000, n_in)).astype(dtype)
        self.rows = rng.permutation(5000)[:samples].astype(np.int64)
        self.W = (rng.standard_normal((n_rows, n_in)) * 0.05).astype(dtype)
        self.delta = (rng.standard_normal((samples, n_rows)) * 0.1).astype(dtype)
        self.c = np.dtype(dtype).type(1e-3)
        self.panels = to_panels(self.W, nr)
        width = len(self.panels) // n_in
        self.z = np.zeros(samples * n_rows, dtype=dtype)
        self.z_padded = np.zeros(samples * width, dtype=dtype)
        self.spare = np.zeros(nr, dtype=dtype)
        self.scaled = np.zeros(width * samples, dtype=dtype)

    def forward_args(self):
        return (self.panels, self.nr, self.n_rows, self.X.ravel(), self.n_in, self.rows, self.z, self.z_padded,
                self.spare)

    def step_args(self, panels):
        return (panels, self.nr, self.n_rows, self.X.ravel(), self.n_in, self.rows, self.delta.ravel(), self.c,
                self.scaled)


def errors(case, forward, step):
    """Largest differences from NumPy of the tile's forward products and of one step's new ``W``."""
    import numpy as np

    forward(*case.forward_args())
    x = case.X[case.rows]
    z_error = np.abs(case.z.reshape(-1, case.n_rows) - x @ case.W.T).max()
    panels = case.panels.copy()
    step(*case.step_args(panels))
    expected = case.W - case.c * (case.delta.T @ x)
    w_error = np.abs(from_panels(panels, case.n_rows, case.n_in, case.nr) - expected).max()
    return float(z_error), float(w_error)


def rate(call, flops, seconds):
    """GFLOP/s of ``call()``: the best of 5 timed runs of about ``seconds`` each, CPU time."""
    call()
    start = time.process_time()
    call()
    reps = max(1, int(seconds / max(time.process_time() - start, 1e-6)))
    best = float("inf")
    for _ in range(5):
        start = time.process_time()
        for _ in range(reps):
            call()
        best = min(best, time.process_time() - start)
    return flops * reps / best / 1e9


def measure(case, forward, step, block_rates, seconds):
    """The rates of one case: the tile's, fastnn's current block's (``block_rates(n_in, rows, samples,
    dtype, seconds)`` -> forward, step) and NumPy's, forward and step."""
    x = case.X[case.rows]
    flops = 2.0 * case.n_rows * case.n_in * len(case.rows)
    panels = case.panels.copy()
    W = case.W.copy()

    def numpy_step():
        W[...] -= case.c * (case.delta.T @ x)  # the rows of X gathered once, outside the timing

    block_forward, block_step = block_rates(case.n_in, case.n_rows, len(case.rows), case.W.dtype.name, seconds)
    return {
        "tile_forward": rate(lambda: forward(*case.forward_args()), flops, seconds),
        "tile_step": rate(lambda: step(*case.step_args(panels)), flops, seconds),
        "block_forward": block_forward,
        "block_step": block_step,
        "numpy_forward": rate(lambda: x @ case.W.T, flops, seconds),
        "numpy_step": rate(numpy_step, flops, seconds),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dtype", choices=("float64", "float32"), default="float64")
    parser.add_argument("--seconds", type=float, default=0.2, help="length of one timed run (default 0.2)")
    parser.add_argument("--no-slp", action="store_true", help="leave numba's SLP vectorizer off (its default)")
    parser.add_argument("--json", metavar="FILE", help="also write the rows as JSON")
    args = parser.parse_args(argv)
    if args.seconds <= 0:
        parser.error(f"--seconds must be positive, got {args.seconds}")
    # before numba loads: numba reads its settings from the environment when it compiles
    os.environ["NUMBA_SLP_VECTORIZE"] = "0" if args.no_slp else "1"
    for name in ("NUMBA_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = "1"
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    import dense_blocks

    from fastnn.kernels import tiled

    nr = 8 if args.dtype == "float64" else 16
    forward, step = compile_tiles(nr)
    block_rows = tiled.block_rows_for_cpu()

    def block_rates(n_in, n_rows, samples, dtype, seconds):
        return [dense_blocks.block_rate(phase, block_rows, n_in, n_rows, samples, dtype, seconds)
                for phase in (dense_blocks.FORWARD, dense_blocks.STEP)]

    print(f"GEMM-style tiles ({MR} x {nr}, SLP {'off' if args.no_slp else 'on'}) against fastnn's "
          f"{block_rows} x {tiled.SAMPLES} block and NumPy, {args.dtype}, 1 thread, CPU time, GFLOP/s")
    print("| rows x n_in | samples | forward: tile / block / NumPy | step: tile / block / NumPy "
          "| max abs diff z / W |")
    print("|---|---:|---|---|---|")
    results = []
    for n_rows, samples in CASES:
        case = Case(n_rows, samples, args.dtype, nr)
        z_error, w_error = errors(case, forward, step)
        r = measure(case, forward, step, block_rates, args.seconds)
        print(f"| {n_rows} x {N_IN} | {samples} | {r['tile_forward']:.1f} / {r['block_forward']:.1f} / "
              f"{r['numpy_forward']:.1f} | {r['tile_step']:.1f} / {r['block_step']:.1f} / {r['numpy_step']:.1f} "
              f"| {z_error:.1e} / {w_error:.1e} |")
        results.append(dict(r, rows=n_rows, samples=samples, z_error=z_error, w_error=w_error))
    dense_blocks.finish(args.dtype, results, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
