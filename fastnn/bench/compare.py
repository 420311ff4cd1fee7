"""``fastnn compare``'s runs: the same initial parameters and order of samples trained by
``Network.fit`` (threads None, 1 and all cores), the book's per-sample reference, chapter 2's
matrix engine, a tuned NumPy matrix form, and JAX and PyTorch CPU when installed
(:mod:`fastnn.bench.rivals`); the table, its legend and its bar chart.

Every row but fastnn's has its own untimed warm-up (stated under the table).
"""
import contextlib
import os
import textwrap
import time
from dataclasses import dataclass

import numpy as np

from . import harness

FLOAT64_TOLERANCE = 1e-9
"""Default largest jit-vs-reference parameter difference of ``fastnn compare`` (float64)."""
FLOAT32_TOLERANCE = 1e-3
"""The same for float32."""

COMPARE_ENGINES = ("jit", "reference", "matrix", "numpy", "jax", "torch")
"""Row kinds of ``fastnn compare``, in the order they are run (numba first: the other
libraries' thread pools would disturb it; JAX and PyTorch in their own processes)."""

LEGEND = {
    "jit": "fastnn fit: wall time of the whole `Network.fit(X, y, epochs, mini_batch_size, eta)` "
           "call / epochs, as a user calls it: input checks, the epochs, the training cost and "
           "accuracy that history_ records every epoch. threads=None is the default.",
    "jit-loop": "fastnn loop only: the same threads=None run, training time alone "
                "(history_['seconds']).",
    "reference": "book per-sample: the book's network.py algorithm (a Python loop over the samples "
                 "of each mini-batch, NumPy), engine='reference', 1 BLAS thread.",
    "matrix": "matrix engine: fastnn's engine='matrix', chapter 2's matrix form as plain NumPy "
              "(a fancy-indexed copy per mini-batch, new arrays for every operation).",
    "numpy": "tuned NumPy: the matrix form written for speed (fastnn/bench/rivals.py): one permuted copy "
             "of X per epoch, contiguous mini-batch slices, buffers allocated once, out= arguments.",
    "jax": "JAX: jax.jit of a whole epoch (a permuted copy, jax.lax.scan over the mini-batches, "
           "jax.grad of the summed quadratic cost; jax_enable_x64 for float64), XLA's default "
           "threads, in its own process; every mini-batch, the last shorter one included.",
    "torch": "PyTorch CPU: autograd of the summed quadratic cost and an in-place SGD step, a "
             "permuted copy per epoch and contiguous slices, torch.set_num_threads(k), in its "
             "own process.",
}
"""What each row kind of the compare table is (printed under it)."""

WARMUP = {"jit": "fastnn: every kernel run once on a tiny network",
          "numpy": "tuned NumPy: the first mini-batches on a copy of the parameters",
          "jax": "JAX: compilation and one epoch on a copy",
          "torch": "PyTorch: the first mini-batches on a copy of the parameters"}
"""What the untimed warm-up of each row kind does."""


@dataclass
class Run:
    """One row of ``fastnn compare`` before it is scored.

    ``net`` holds the trained parameters (None when the row could not run,
    ``note`` says why); ``seconds`` is per epoch; ``warmup`` the untimed
    warm-up or compilation, when the row had its own.
    """

    name: str
    kind: str
    group: str
    net: object = None
    seconds: float = None
    warmup: float = None
    note: str = ""


def _jit_runs(X, y, sizes, thread_counts, common):
    """Rows of ``Network.fit`` with threads=None and every count of ``thread_counts``."""
    runs = []
    for threads in [None] + list(thread_counts):
        net, seconds = harness.time_fit(X, y, sizes, threads=threads, **common)
        label = "threads=None (default)" if threads is None else f"threads={threads}"
        runs.append(Run(f"fastnn fit, {label}", "jit", "fastnn fit", net, seconds))
        if threads is None:
            loop = float(np.mean(net.history_["seconds"]))
            runs.append(Run("fastnn loop only, threads=None", "jit-loop", "", net, loop))
    return runs


def _engine_runs(engine, X, y, sizes, thread_counts, common):
    """Rows of the NumPy engines of :class:`~fastnn.Network` (training time from history_)."""
    runs = []
    for n in thread_counts:
        with harness.blas_threads(n):
            net, seconds = harness.train_fastnn(engine, X, y, sizes, **common)
        name = "book per-sample (reference)" if engine == "reference" else f"matrix engine, {n} BLAS thr"
        runs.append(Run(name, engine, "" if engine == "reference" else "matrix engine", net,
                        float(np.mean(seconds))))
    return runs


def _rival_runs(kind, start, X, Y, sizes, thread_counts, *, mini_batch_size, eta, dtype):
    """Rows of a trainer of :mod:`fastnn.bench.rivals` (NumPy in this process, JAX/PyTorch in a child)."""
    from . import rivals

    weights, biases, orders = start
    titles = {"numpy": "tuned NumPy, {} BLAS thr", "jax": "JAX jit epoch", "torch": "PyTorch, {} thr"}
    groups = {"numpy": "tuned NumPy", "jax": "", "torch": "PyTorch"}
    if kind != "numpy" and not rivals.library_available(kind):
        name = {"jax": "JAX jit epoch", "torch": "PyTorch"}[kind]
        return [Run(name, kind, "", note=f"not installed ({rivals.INSTALL_HINT[kind]})")]
    runs = []
    with contextlib.ExitStack() as stack:
        if kind != "numpy":
            inputs = stack.enter_context(rivals.child_inputs(weights, biases, X, Y, orders,
                                                             mini_batch_size, eta))
        for n in ([None] if kind == "jax" else thread_counts):
            if kind == "numpy":
                W, b, seconds, warmup = rivals.train_tuned_numpy(weights, biases, X, Y, orders,
                                                                 mini_batch_size, eta, threads=n)
            else:
                W, b, seconds, warmup = rivals.run_child(kind, inputs, threads=n)
            runs.append(Run(titles[kind].format(n), kind, groups[kind],
                            harness.network_with(sizes, dtype, W, b), float(np.mean(seconds)), warmup))
    return runs


def run_compare(X, y, X_test, y_test, sizes, *, epochs=1, mini_batch_size=10, eta=3.0, seed=0,
                dtype="float64", threads=None, engines=COMPARE_ENGINES, perturb=None):
    """Train every engine from the same initial parameters and order; return scored rows.

    Parameters
    ----------
    X, y, X_test, y_test : ndarray
        Training rows and int labels, test rows and labels.
    sizes : list of int
    epochs, mini_batch_size, eta, seed, dtype
        The run (quadratic cost, no regularisation).  ``seed`` gives the
        initial parameters and every epoch's order to every row, as
        ``Network(sizes, seed=seed)`` draws them.
    threads : int, optional
        One more thread count for the fastnn fit rows (besides None, 1 and
        all cores).
    engines : sequence of str
        Row kinds to run, from ``COMPARE_ENGINES``; "reference" is required.
    perturb : callable, optional
        ``perturb(runs)`` may modify the trained networks (a list of
        :class:`Run`) before they are scored (used by the tests to check that
        a disagreement is reported).

    Returns
    -------
    list of dict
        :func:`compare_rows`'s rows, in ``COMPARE_ENGINES`` order.
    """
    unknown = [e for e in engines if e not in COMPARE_ENGINES]
    if unknown:
        raise ValueError(f"unknown engine {unknown[0]!r}; expected some of {', '.join(COMPARE_ENGINES)}")
    if "reference" not in engines:
        raise ValueError("compare needs the 'reference' engine (differences are measured against it)")
    X = np.ascontiguousarray(X, dtype=dtype)
    Y = np.eye(sizes[-1], dtype=dtype)[y]
    common = dict(epochs=epochs, mini_batch_size=mini_batch_size, eta=eta, seed=seed, dtype=dtype)
    thread_counts = sorted({1, harness.core_count()})
    start_time = time.perf_counter()
    harness.warm_up(dtype)
    warmup = time.perf_counter() - start_time
    runs = []
    for kind in COMPARE_ENGINES:
        if kind not in engines:
            continue
        if kind == "jit":
            runs += _jit_runs(X, y, sizes, sorted(set(thread_counts) | {threads} - {None}), common)
            runs[0].warmup = warmup
        elif kind in ("reference", "matrix"):
            runs += _engine_runs(kind, X, y, sizes, [1] if kind == "reference" else thread_counts, common)
        else:
            start = harness.initial_state(sizes, len(X), epochs=epochs, seed=seed, dtype=dtype)
            runs += _rival_runs(kind, start, X, Y, sizes, thread_counts,
                                mini_batch_size=mini_batch_size, eta=eta, dtype=dtype)
    if perturb is not None:
        perturb(runs)
    return compare_rows(runs, X_test, y_test, epoch_flops=harness.flops_per_sample(sizes) * len(X))


def compare_rows(runs, X_test, y_test, epoch_flops=None):
    """Score the runs against the one of kind "reference".

    ``epoch_flops`` (floating-point operations of one epoch, optional) gives
    each timed row its ``gflops``.

    Returns
    -------
    list of dict
        Per run: ``engine`` (the row's name), ``kind``, ``group`` (rows that
        differ only in their thread count), ``seconds`` per epoch, ``speedup``
        (reference seconds / seconds), ``max_diff`` (largest parameter
        difference from the reference), ``accuracy`` on the test set,
        ``warmup`` seconds and ``note``.  Rows that did not run have None in
        the measured fields.
    """
    reference = next(r for r in runs if r.kind == "reference")
    rows = []
    for run in runs:
        row = {"engine": run.name, "kind": run.kind, "group": run.group, "seconds": run.seconds,
               "speedup": None, "max_diff": None, "accuracy": None, "warmup": run.warmup,
               "note": run.note, "gflops": None}
        if epoch_flops and run.seconds:
            row["gflops"] = epoch_flops / run.seconds / 1e9
        if run.net is not None:
            row.update(speedup=reference.seconds / run.seconds,
                       max_diff=harness.max_param_difference(run.net, reference.net),
                       accuracy=run.net.score(X_test, y_test))
        rows.append(row)
    return rows


def jit_disagreements(rows, tolerance):
    """Rows of fastnn fit runs whose parameters differ from the reference by more than ``tolerance``."""
    return [r for r in rows if r["kind"] == "jit" and not r["max_diff"] <= tolerance]


def _cell(value, fmt):
    return "-" if value is None else format(value, fmt)


def format_compare(rows):
    """The compare table as Markdown (rows that did not run show their note; the GFLOP/s
    column when the rows have ``gflops``)."""
    rate = any(r.get("gflops") is not None for r in rows)
    lines = ["| row | s/epoch | speed vs reference | max abs param diff | accuracy |" + (" GFLOP/s |" if rate else ""),
             "|---|---:|---:|---:|---:|" + ("---:|" if rate else "")]
    for r in rows:
        if r["seconds"] is None:
            lines.append(f"| {r['engine']} | {r['note']} | | | |" + (" |" if rate else ""))
            continue
        lines.append(f"| {r['engine']} | {r['seconds']:.4f} | {r['speedup']:.1f}x | "
                     f"{_cell(r['max_diff'], '.1e')} | {_cell(r['accuracy'], '.2%')} |"
                     + (f" {_cell(r.get('gflops'), '.1f')} |" if rate else ""))
    return "\n".join(lines)


def best_of_threads(rows):
    """``{group: row}``: the fastest row of every group of thread counts."""
    best = {}
    for r in rows:
        if r["group"] and r["seconds"] is not None:
            if r["group"] not in best or r["seconds"] < best[r["group"]]["seconds"]:
                best[r["group"]] = r
    return best


def compare_legend(rows):
    """Lines printed under the compare table: what each row is, bests, warm-ups."""
    kinds = list(dict.fromkeys(r["kind"] for r in rows))
    lines = ["Rows:"] + [f"- {LEGEND[k]}" for k in kinds]
    lines.append("s/epoch: training seconds per epoch, mean over the epochs; speed: reference "
                 "s/epoch / row s/epoch; max abs param diff: largest |parameter - reference's| "
                 "after training (same initial parameters and order of samples); accuracy: test set"
                 + ("; GFLOP/s: the epoch's floating-point operations (6 per weight per sample, 4 in the "
                    "first layer) / s/epoch." if any(r.get("gflops") is not None for r in rows) else "."))
    best = best_of_threads(rows)
    if best:
        lines.append("Best thread count: " + "; ".join(
            f"{group} {r['seconds']:.4f} s ({r['engine'].split(', ', 1)[-1]})" for group, r in best.items()))
    warm = [f"{'fastnn kernels' if r['kind'] == 'jit' else r['engine']} {r['warmup']:.2f} s"
            for r in rows if r["warmup"] is not None]
    if warm:
        how = [WARMUP[k] for k in kinds if k in WARMUP]
        lines.append("Not timed (compilation or cache load, thread start-up, warm-up): " + "; ".join(warm)
                     + ". " + "; ".join(how) + ".")
    return lines


def plot_compare(rows, path, title=None):
    """Bar chart of seconds per epoch per row, written atomically to ``path``.

    Parameters
    ----------
    rows : list of dict
        :func:`run_compare`'s rows; those that did not run are left out.
    path : str or os.PathLike
        Output file; the format comes from the extension (PNG if none).
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If no row has a time.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from ..persistence import atomic_write

    timed = [r for r in rows if r["seconds"] is not None]
    if not timed:
        raise ValueError("no row has a time to plot")
    fig = Figure(figsize=(9, 0.45 * len(timed) + 1.5), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    names = [r["engine"] for r in timed][::-1]
    seconds = [r["seconds"] for r in timed][::-1]
    colors = ["tab:blue" if r["kind"].startswith("jit") else "tab:gray" for r in timed][::-1]
    bars = ax.barh(names, seconds, color=colors)
    ax.bar_label(bars, labels=[f"{s:.3g} s" for s in seconds], padding=3, fontsize=8)
    if max(seconds) > 20 * min(seconds):
        ax.set_xscale("log")
        ax.set_xlim(right=max(seconds) * 4)  # room for the labels
    else:
        ax.set_xlim(0, max(seconds) * 1.2)
    ax.set_xlabel("seconds per epoch (lower is faster)")
    ax.grid(True, axis="x", alpha=0.3)
    if title:
        ax.set_title(textwrap.fill(title, 100), fontsize=9)
    fmt = str(path).rsplit(".", 1)[-1].lower() if "." in os.path.basename(str(path)) else "png"
    with atomic_write(path) as f:
        fig.savefig(f, format=fmt)
    return fig




