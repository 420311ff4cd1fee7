"""Speed and agreement of the engines: ``fastnn compare`` and ``fastnn bench``.

``compare`` trains the same initial parameters in the same order of samples
with ``Network.fit`` (threads None, 1 and all cores), the book's per-sample
reference, chapter 2's matrix engine, a tuned NumPy matrix form, and JAX and
PyTorch CPU when installed (:mod:`fastnn.rivals`), then tabulates seconds per
epoch, speed relative to the reference, the largest parameter difference from
the reference and test accuracy.  ``bench`` times ``Network.fit`` and
``predict_proba`` over a few shapes, mini-batch sizes, dtypes and thread counts.

The functions return rows (lists of dicts) and tables (strings); the commands are
:mod:`fastnn.cli.compare` and :mod:`fastnn.cli.bench`.  Timings never include compilation: the jit kernels are
warmed up on a tiny network of the same dtype first, and every other row has
its own untimed warm-up (stated under the compare table).
"""
import contextlib
import os
import textwrap
import time
from dataclasses import dataclass

import numpy as np

DEFAULT_SIZES = [784, 30, 10]
FLOAT64_TOLERANCE = 1e-9
FLOAT32_TOLERANCE = 1e-3


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
    from . import datasets

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
    """Compile (or load from the cache) the jit kernels for ``dtype`` on a tiny net."""
    from .network import Network

    X, y = synthetic_data(8, 4, 3, seed=1, dtype=dtype)
    net = Network([4, 5, 3], seed=0, dtype=dtype, cost=cost)
    net.fit(X, y, epochs=1, mini_batch_size=4, eta=1.0)
    net.predict(X)


def train_fastnn(engine, X, y, sizes, *, epochs, mini_batch_size, eta, seed, dtype, threads=None):
    """Train a :class:`~fastnn.Network` with ``engine``; return ``(net, seconds per epoch list)``."""
    from .network import Network

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
    from .network import Network

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
    from .network import Network

    net = Network(sizes, seed=seed, engine="reference", dtype=dtype)
    weights = [w.copy() for w in net.weights]
    biases = [b.copy() for b in net.biases]
    return weights, biases, np.array([net.rng.permutation(n) for _ in range(epochs)])


def network_with(sizes, dtype, weights, biases):
    """A jit :class:`~fastnn.Network` holding the given parameters (to score them)."""
    from .network import Network

    net = Network(sizes, dtype=dtype)
    net.weights = [np.asarray(w, dtype=dtype) for w in weights]
    net.biases = [np.asarray(b, dtype=dtype) for b in biases]
    return net


def max_param_difference(net, reference):
    """Largest absolute difference between the parameters of two networks."""
    diffs = [np.max(np.abs(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)))
             for a, b in zip(net.weights + net.biases, reference.weights + reference.biases)]
    return float(max(diffs))


# --------------------------------------------------------------------------- compare
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
    "numpy": "tuned NumPy: the matrix form written for speed (fastnn/rivals.py): one permuted copy "
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
        net, seconds = time_fit(X, y, sizes, threads=threads, **common)
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
        with blas_threads(n):
            net, seconds = train_fastnn(engine, X, y, sizes, **common)
        name = "book per-sample (reference)" if engine == "reference" else f"matrix engine, {n} BLAS thr"
        runs.append(Run(name, engine, "" if engine == "reference" else "matrix engine", net,
                        float(np.mean(seconds))))
    return runs


def _rival_runs(kind, start, X, Y, sizes, thread_counts, *, mini_batch_size, eta, dtype):
    """Rows of a trainer of :mod:`fastnn.rivals` (NumPy in this process, JAX/PyTorch in a child)."""
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
                            network_with(sizes, dtype, W, b), float(np.mean(seconds)), warmup))
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
        Row kinds to run, from :data:`COMPARE_ENGINES`; "reference" is required.
    perturb : callable, optional
        ``perturb(runs)`` may modify the trained networks (a list of
        :class:`Run`) before they are scored (used by the tests to check that
        a disagreement is reported).

    Returns
    -------
    list of dict
        :func:`compare_rows`'s rows, in :data:`COMPARE_ENGINES` order.
    """
    unknown = [e for e in engines if e not in COMPARE_ENGINES]
    if unknown:
        raise ValueError(f"unknown engine {unknown[0]!r}; expected some of {', '.join(COMPARE_ENGINES)}")
    if "reference" not in engines:
        raise ValueError("compare needs the 'reference' engine (differences are measured against it)")
    X = np.ascontiguousarray(X, dtype=dtype)
    Y = np.eye(sizes[-1], dtype=dtype)[y]
    common = dict(epochs=epochs, mini_batch_size=mini_batch_size, eta=eta, seed=seed, dtype=dtype)
    thread_counts = sorted({1, core_count()})
    start_time = time.perf_counter()
    warm_up(dtype)
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
            start = initial_state(sizes, len(X), epochs=epochs, seed=seed, dtype=dtype)
            runs += _rival_runs(kind, start, X, Y, sizes, thread_counts,
                                mini_batch_size=mini_batch_size, eta=eta, dtype=dtype)
    if perturb is not None:
        perturb(runs)
    return compare_rows(runs, X_test, y_test)


def compare_rows(runs, X_test, y_test):
    """Score the runs against the one of kind "reference".

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
               "note": run.note}
        if run.net is not None:
            row.update(speedup=reference.seconds / run.seconds,
                       max_diff=max_param_difference(run.net, reference.net),
                       accuracy=run.net.score(X_test, y_test))
        rows.append(row)
    return rows


def jit_disagreements(rows, tolerance):
    """Rows of fastnn fit runs whose parameters differ from the reference by more than ``tolerance``."""
    return [r for r in rows if r["kind"] == "jit" and not r["max_diff"] <= tolerance]


def _cell(value, fmt):
    return "-" if value is None else format(value, fmt)


def format_compare(rows):
    """The compare table as Markdown (rows that did not run show their note)."""
    lines = ["| row | s/epoch | speed vs reference | max abs param diff | accuracy |",
             "|---|---:|---:|---:|---:|"]
    for r in rows:
        if r["seconds"] is None:
            lines.append(f"| {r['engine']} | {r['note']} | | | |")
            continue
        lines.append(f"| {r['engine']} | {r['seconds']:.4f} | {r['speedup']:.1f}x | "
                     f"{_cell(r['max_diff'], '.1e')} | {_cell(r['accuracy'], '.2%')} |")
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
                 "after training (same initial parameters and order of samples); accuracy: test set.")
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

    from .persistence import atomic_write

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


# --------------------------------------------------------------------------- bench
BENCH_SIZES = ([784, 30, 10], [784, 100, 10])
BENCH_MINI_BATCHES = (1, 10, 100)


def thread_choices(threads=None):
    """The ``threads`` values to time: ``[threads]`` if given, else None (the default), 1 and all cores."""
    if threads is not None:
        return [threads]
    return [None] + sorted({1, core_count()})


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
        warm_up(dtype)
        Xd = np.ascontiguousarray(X, dtype=dtype)
        for sizes in sizes_list:
            for mb in mini_batches:
                for t in thread_choices(threads):
                    net, seconds = time_fit(Xd, y, sizes, epochs=epochs, mini_batch_size=mb, eta=eta,
                                            seed=seed, dtype=dtype, threads=t)
                    rows.append({"sizes": list(sizes), "mini_batch_size": mb, "dtype": dtype,
                                 "threads": t, "seconds": seconds,
                                 "loop_seconds": float(np.mean(net.history_["seconds"])),
                                 "samples_per_s": len(X) / seconds,
                                 "gflops": flops_per_sample(sizes) * len(X) / seconds / 1e9})
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
    from .network import Network

    rows = []
    for dtype in dtypes:
        warm_up(dtype)
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
