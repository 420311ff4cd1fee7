"""Speed and agreement of the engines: ``fastnn compare`` and ``fastnn bench``.

``compare`` trains the same seed with every engine (jit, the book's per-sample
reference, chapter 2's matrix form, and PyTorch CPU when it is importable) and
tabulates seconds per epoch, speed relative to the reference, the largest
parameter difference from the reference and test accuracy.  ``bench`` times
the jit engine over a few shapes and mini-batch sizes.

The functions return rows (lists of dicts) and tables (strings); the ``cmd_*``
functions are the CLI.  Timings never include compilation: the jit engine is
warmed up on a tiny problem of the same dtype first.
"""
import argparse
import contextlib
import os
import time

import numpy as np

from ._argtypes import parse_sizes

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


def torch_available():
    """True when PyTorch can be imported (it is optional)."""
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def train_torch(X, y, sizes, *, epochs, mini_batch_size, eta, seed, dtype, threads):
    """The book's algorithm in PyTorch CPU (matrix form, autograd), same init and order.

    The initial parameters and every epoch's shuffle come from a
    :class:`~fastnn.Network` with the same seed, so the result is comparable
    with the other engines.  Returns ``(net, seconds per epoch list)``: a
    reference-engine network holding the trained parameters.
    """
    import torch

    from .network import Network

    torch.set_num_threads(threads)
    net = Network(sizes, seed=seed, engine="reference", dtype=dtype)
    tdt = torch.float32 if np.dtype(dtype) == np.float32 else torch.float64
    ws = [torch.tensor(w, dtype=tdt, requires_grad=True) for w in net.weights]
    bs = [torch.tensor(b.ravel(), dtype=tdt, requires_grad=True) for b in net.biases]
    Xt = torch.tensor(np.asarray(X, dtype=dtype))
    Yt = torch.zeros((len(y), sizes[-1]), dtype=tdt)
    Yt[torch.arange(len(y)), torch.tensor(y)] = 1
    seconds = []
    for _ in range(epochs):
        order = torch.from_numpy(net.rng.permutation(len(X)))
        start = time.perf_counter()
        for k in range(0, len(order), mini_batch_size):
            idx = order[k:k + mini_batch_size]
            a = Xt[idx]
            for w, b in zip(ws, bs):
                a = torch.sigmoid(a @ w.T + b)
            # sum over samples of the quadratic cost C_x = ||a - y||^2 / 2 (eq. 6)
            cost = 0.5 * ((a - Yt[idx]) ** 2).sum()
            cost.backward()
            with torch.no_grad():
                for p in ws + bs:
                    p -= (eta / len(idx)) * p.grad
                    p.grad = None
        seconds.append(time.perf_counter() - start)
    net._store([w.detach().numpy() for w in ws], [b.detach().numpy().reshape(-1, 1) for b in bs])
    return net, seconds


def max_param_difference(net, reference):
    """Largest absolute difference between the parameters of two networks."""
    diffs = [np.max(np.abs(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)))
             for a, b in zip(net.weights + net.biases, reference.weights + reference.biases)]
    return float(max(diffs))


def compare_rows(runs, reference_name, X_test, y_test):
    """Table rows from trained networks.

    Parameters
    ----------
    runs : dict
        ``name -> (net, seconds_per_epoch_list)``; must contain ``reference_name``.

    Returns
    -------
    list of dict
        Per run: ``engine``, ``seconds`` (best epoch), ``speedup`` (reference
        seconds / seconds), ``max_diff`` (largest parameter difference from the
        reference) and ``accuracy`` on the test set.
    """
    ref_net, ref_seconds = runs[reference_name]
    ref_time = min(ref_seconds)
    rows = []
    for name, (net, seconds) in runs.items():
        best = min(seconds)
        rows.append({"engine": name, "seconds": best, "speedup": ref_time / best,
                     "max_diff": max_param_difference(net, ref_net),
                     "accuracy": net.score(X_test, y_test)})
    return rows


def jit_disagreements(rows, tolerance):
    """Rows of jit runs whose parameters differ from the reference by more than ``tolerance``."""
    return [r for r in rows if r["engine"].startswith("jit") and not r["max_diff"] <= tolerance]


def run_compare(X, y, X_test, y_test, sizes, *, epochs=1, mini_batch_size=10, eta=3.0, seed=0,
                dtype="float64", threads=None, engines=("jit", "reference", "matrix", "torch"),
                perturb=None):
    """Train every engine from the same seed; return :func:`compare_rows`'s rows.

    The matrix form and PyTorch run with 1 and with all cores' threads (one row
    each).  ``perturb(runs)``, if given, may modify the trained networks before
    they are compared (used by the tests to check that a disagreement is reported).
    """
    if "reference" not in engines:
        raise ValueError("compare needs the 'reference' engine (differences are measured against it)")
    warm_up(dtype)
    common = dict(epochs=epochs, mini_batch_size=mini_batch_size, eta=eta, seed=seed, dtype=dtype)
    cores = core_count()
    thread_counts = sorted({1, cores})
    runs = {}
    for engine in engines:
        if engine == "jit":
            n = threads or cores
            runs[f"jit ({n} thr)"] = train_fastnn("jit", X, y, sizes, threads=threads, **common)
        elif engine == "reference":
            with blas_threads(1):
                runs["reference"] = train_fastnn("reference", X, y, sizes, **common)
        elif engine == "matrix":
            for n in thread_counts:
                with blas_threads(n):
                    runs[f"matrix ({n} BLAS thr)"] = train_fastnn("matrix", X, y, sizes, **common)
        elif engine == "torch":
            if torch_available():
                for n in thread_counts:
                    runs[f"torch ({n} thr)"] = train_torch(X, y, sizes, threads=n, **common)
        else:
            raise ValueError(f"unknown engine {engine!r}; expected jit, reference, matrix or torch")
    if perturb is not None:
        perturb(runs)
    return compare_rows(runs, "reference", X_test, y_test)


def format_compare(rows):
    """The compare table as Markdown."""
    lines = ["| engine | s/epoch | speed vs reference | max abs param diff | accuracy |",
             "|---|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['engine']} | {r['seconds']:.4f} | {r['speedup']:.1f}x | "
                     f"{r['max_diff']:.1e} | {r['accuracy']:.2%} |")
    return "\n".join(lines)


# --------------------------------------------------------------------------- bench
BENCH_SIZES = ([784, 30, 10], [784, 100, 10])
BENCH_MINI_BATCHES = (1, 10, 100)


def run_bench(X, y, *, sizes_list=BENCH_SIZES, mini_batches=BENCH_MINI_BATCHES,
              dtypes=("float64", "float32"), epochs=2, eta=3.0, seed=0, threads=None):
    """Epoch time of the jit engine for every shape x mini-batch size x dtype.

    ``X`` must have ``sizes[0]`` columns for every shape.  Returns rows with
    ``sizes``, ``mini_batch_size``, ``dtype``, ``threads``, ``seconds`` (best
    epoch), ``samples_per_s`` and ``gflops`` (:func:`flops_per_sample` rate).
    """
    rows = []
    for dtype in dtypes:
        warm_up(dtype)
        for sizes in sizes_list:
            for mb in mini_batches:
                _, seconds = train_fastnn("jit", X, y, sizes, epochs=epochs, mini_batch_size=mb,
                                          eta=eta, seed=seed, dtype=dtype, threads=threads)
                best = min(seconds)
                rows.append({"sizes": list(sizes), "mini_batch_size": mb, "dtype": dtype,
                             "threads": threads or core_count(), "seconds": best,
                             "samples_per_s": len(X) / best,
                             "gflops": flops_per_sample(sizes) * len(X) / best / 1e9})
    return rows


def format_bench(rows):
    """The bench table as Markdown."""
    lines = ["| sizes | mini-batch | dtype | threads | s/epoch | samples/s | GFLOP/s |",
             "|---|---:|---|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['sizes']} | {r['mini_batch_size']} | {r['dtype']} | {r['threads']} | "
                     f"{r['seconds']:.4f} | {r['samples_per_s']:,.0f} | {r['gflops']:.1f} |")
    return "\n".join(lines)


# --------------------------------------------------------------------------- CLI
def _positive(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def cmd_compare(args):
    """``fastnn compare``: print the table; exit 1 if the jit engine disagrees with the reference."""
    X, y, X_test, y_test, sizes = load_data(args.data, args.samples, args.sizes, args.seed)
    tolerance = args.tolerance
    if tolerance is None:
        tolerance = FLOAT32_TOLERANCE if args.dtype == "float32" else FLOAT64_TOLERANCE
    common = dict(mini_batch_size=args.mini_batch_size, eta=args.eta, seed=args.seed,
                  dtype=args.dtype, threads=args.threads)
    rows = run_compare(X, y, X_test, y_test, sizes, epochs=args.epochs, **common)
    print(f"sizes {sizes}, mini-batch {args.mini_batch_size}, eta {args.eta}, {len(X)} samples "
          f"from {args.data!r}, {args.epochs} epoch(s), {args.dtype}, {os.cpu_count()} CPUs")
    print(format_compare(rows))
    # Agreement check.  Long SGD runs at the book's eta are chaotic: any two correct
    # implementations (the matrix form too) drift apart once rounding differences are
    # amplified, so the check uses one epoch of the first --check-samples samples.
    n_check = min(args.check_samples, len(X))
    if n_check < len(X) or args.epochs > 1:
        check = run_compare(X[:n_check], y[:n_check], X_test, y_test, sizes,
                            engines=("jit", "reference"), **common)
    else:
        check = rows
    worst = max(r["max_diff"] for r in check if r["engine"].startswith("jit"))
    print(f"agreement check (1 epoch of {n_check} samples): jit vs reference max abs "
          f"parameter difference {worst:.1e}, tolerance {tolerance:g}")
    if jit_disagreements(check, tolerance):
        print(f"ERROR: the jit engine differs from the reference by {worst:.3g} > tolerance {tolerance:g}")
        return 1
    return 0


def cmd_bench(args):
    """``fastnn bench``: epoch times of the jit engine."""
    X, y = synthetic_data(args.samples, 784, 10, args.seed)
    rows = run_bench(X, y, epochs=args.epochs, threads=args.threads,
                     dtypes=args.dtype or ("float64", "float32"))
    print(f"jit engine, {args.samples} samples, {core_count()} numba threads available, "
          f"{os.cpu_count()} CPUs; best of {args.epochs} epochs")
    print(format_bench(rows))
    return 0


def add_bench_parsers(sub):
    """Register the ``compare`` and ``bench`` subcommands on ``sub`` (argparse subparsers)."""
    compare = sub.add_parser("compare", help="time every engine on the same run and check agreement")
    compare.add_argument("--data", default="synthetic",
                         help="'synthetic' (default, shaped like --sizes), 'digits', a folder of IDX "
                              "files or mnist.pkl.gz (as in fastnn train)")
    compare.add_argument("--sizes", type=parse_sizes, default=None, help="layer sizes (default 784,30,10)")
    compare.add_argument("--mini-batch-size", type=_positive, default=10)
    compare.add_argument("--samples", type=_positive, default=5000)
    compare.add_argument("--epochs", type=_positive, default=1)
    compare.add_argument("--eta", type=float, default=3.0)
    compare.add_argument("--seed", type=int, default=0)
    compare.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    compare.add_argument("--threads", type=_positive, default=None, help="jit engine threads")
    compare.add_argument("--check-samples", type=_positive, default=1000,
                         help="samples of the one-epoch jit-vs-reference agreement check (default 1000)")
    compare.add_argument("--tolerance", type=float, default=None,
                         help=f"largest allowed jit-vs-reference parameter difference "
                              f"(default {FLOAT64_TOLERANCE:g}; {FLOAT32_TOLERANCE:g} for float32)")
    compare.set_defaults(func=cmd_compare)
    bench = sub.add_parser("bench", help="epoch-time table of the jit engine")
    bench.add_argument("--samples", type=_positive, default=10000)
    bench.add_argument("--epochs", type=_positive, default=3, help="epochs per case (best is reported)")
    bench.add_argument("--threads", type=_positive, default=None)
    bench.add_argument("--dtype", choices=["float64", "float32"], action="append", default=None)
    bench.add_argument("--seed", type=int, default=0)
    bench.set_defaults(func=cmd_bench)
    return compare, bench
