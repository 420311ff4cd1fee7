"""Hyper-parameter sweeps of :class:`fastnn.sklearn.MLPClassifier`, one Dask task per configuration.

>>> from fastnn import sweep
>>> table = sweep({"eta": [0.5, 3.0], "hidden_layer_sizes": [(15,), (30,)]}, X, y,
...               epochs=10, cv=3, client=None)            # doctest: +SKIP

Every configuration is scored by cross-validation on the same, precomputed
folds, with the same ``random_state``, so a configuration gets bit-for-bit
the same score whether it runs serially (``client=False``), on an embedded
``LocalCluster`` (``client=None``) or on a remote cluster (a ``Client`` or a
scheduler address such as ``"tcp://head-node:8786"``).

Each worker loads the Numba kernels once (from the on-disk cache, compiling
only if the cache is cold) in a warm-up call made before any task runs, so
the per-task ``seconds`` measure training, not compilation.

Dask (``pip install "fastnn[dask]"``) and pandas are optional: they are
imported only when needed, and without pandas the table is a list of dicts.
"""
import contextlib
import time
import warnings

import numpy as np

__all__ = ["sweep", "format_table", "best_row", "add_sweep_parser"]

#: Grid of the ``fastnn sweep`` command (8 configurations, run on the bundled digits).
CLI_GRID = {
    "hidden_layer_sizes": [(15,), (30,)],
    "eta": [0.5, 3.0],
    "mini_batch_size": [10, 30],
}

_RESULT_COLUMNS = ("score", "score_std", "seconds")


# --------------------------------------------------------------------------- tasks

def _warmup(dtypes):
    """Fit a tiny classifier once per dtype so this process has the kernels loaded.

    Run on every Dask worker (``client.run``) and in the serial path before the
    first configuration.  Returns the seconds it took (compilation or cache load).
    """
    from .sklearn import MLPClassifier

    start = time.perf_counter()
    rng = np.random.default_rng(0)
    X = rng.random((8, 3))
    y = np.arange(8) % 2
    with _one_numba_thread():
        for dtype in dtypes:
            MLPClassifier((2,), epochs=1, mini_batch_size=4, dtype=dtype, random_state=0).fit(X, y).predict(X)
    return time.perf_counter() - start


@contextlib.contextmanager
def _one_numba_thread():
    """Run the block on one Numba thread: a sweep parallelises over configurations
    (one per worker core), so threads inside a task would only compete for the cores."""
    import numba

    previous = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        yield
    finally:
        numba.set_num_threads(previous)


def _evaluate(params, X, y, splits, base):
    """Cross-validated accuracy of one configuration: a row of the result table.

    ``params`` are the grid's values for this configuration and override
    ``base`` (``epochs``, ``random_state``); ``splits`` is the list of
    ``(train, test)`` index arrays shared by every configuration.
    """
    from sklearn.model_selection import cross_val_score

    from .sklearn import MLPClassifier

    start = time.perf_counter()
    with _one_numba_thread():
        scores = cross_val_score(MLPClassifier(**{**base, **params}), X, y, cv=splits, n_jobs=1)
    seconds = time.perf_counter() - start
    return {**params, "score": float(np.mean(scores)), "score_std": float(np.std(scores)),
            "seconds": seconds}


# --------------------------------------------------------------------------- runners

def _run_serial(configs, X, y, splits, base, dtypes):
    _warmup(dtypes)
    return [_evaluate(params, X, y, splits, base) for params in configs]


def _connect(client, n_workers):
    """Return ``(client, cleanup)`` for ``client=None``, an address string or a ``Client``."""
    from distributed import Client, LocalCluster

    if client is None:
        with warnings.catch_warnings():
            # the scheduler's HTTP server moves to a free port if 8787 is taken: fine here
            warnings.filterwarnings("ignore", message="Port .* is already in use", category=UserWarning)
            cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None)
        own = Client(cluster)

        def cleanup():
            own.close()
            cluster.close()
        return own, cleanup
    if isinstance(client, str):
        own = Client(client)
        return own, own.close
    if isinstance(client, Client):
        return client, lambda: None
    raise TypeError("client must be None (embedded LocalCluster), False (serial), a scheduler "
                    f"address string or a distributed.Client, got {type(client).__name__}")


def _run_dask(configs, X, y, splits, base, dtypes, client, n_workers):
    # Compile here first: on a shared file system (LocalCluster) this fills Numba's on-disk
    # cache once, so the workers only load it instead of compiling side by side.
    _warmup(dtypes)
    client, cleanup = _connect(client, n_workers)
    try:
        client.run(_warmup, dtypes)  # once per worker, before any task
        X_f = client.scatter(X, broadcast=True)
        y_f = client.scatter(y, broadcast=True)
        futures = client.map(_evaluate, configs, X=X_f, y=y_f, splits=splits, base=base, pure=False)
        return client.gather(futures)
    finally:
        cleanup()


# --------------------------------------------------------------------------- public API

def _configs(param_grid):
    """The grid's configurations as a list of dicts (sklearn's ``ParameterGrid`` order)."""
    from sklearn.model_selection import ParameterGrid

    if not isinstance(param_grid, (dict, list, tuple)):
        raise TypeError(f"param_grid must be a dict of lists or a list of such dicts, got "
                        f"{type(param_grid).__name__}")
    configs = [dict(c) for c in ParameterGrid(param_grid)]
    if not configs:
        raise ValueError("param_grid is empty: it gives no configuration to run")
    from .sklearn import MLPClassifier

    valid = set(MLPClassifier().get_params())
    for c in configs:
        unknown = sorted(set(c) - valid)
        if unknown:
            raise ValueError(f"param_grid has unknown MLPClassifier parameters {unknown}; "
                             f"valid ones are {sorted(valid)}")
    return configs


def _pandas():
    """The pandas module, or None if it is not installed."""
    try:
        import pandas
    except ImportError:
        return None
    return pandas


def _table(rows):
    """A pandas DataFrame of ``rows`` if pandas is importable, else the list itself."""
    pd = _pandas()
    return rows if pd is None else pd.DataFrame(rows)


def sweep(param_grid, X, y, *, epochs=10, random_state=0, cv=3, client=None, n_workers=2):
    """Cross-validate every configuration of ``param_grid``, one Dask task each.

    Parameters
    ----------
    param_grid : dict or list of dict
        :class:`fastnn.sklearn.MLPClassifier` parameters to values, as in
        ``GridSearchCV``, e.g. ``{"eta": [0.5, 3.0], "hidden_layer_sizes": [(30,)]}``.
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
        Class labels.
    epochs : int, default 10
        Training epochs of every configuration (unless the grid sets ``epochs``).
    random_state : int, default 0
        Seed of every configuration's network (unless the grid sets it).
    cv : int or cross-validation splitter, default 3
        As in ``cross_val_score``; an int means ``StratifiedKFold(cv)``.  The
        folds are computed once here and shared by every task.
    client : None, False, str or distributed.Client, default None
        ``None``: start a ``distributed.LocalCluster`` (processes, ``n_workers``
        workers of 1 thread) and close it afterwards.  A ``Client`` or a
        scheduler address: run on that cluster (the cluster is left running).
        ``False``: run serially in this process, without Dask.
    n_workers : int, default 2
        Workers of the embedded cluster (``client=None`` only).

    Returns
    -------
    pandas.DataFrame or list of dict
        One row per configuration, in ``ParameterGrid`` order: the grid's
        parameters, ``score`` (mean cross-validated accuracy), ``score_std``
        and ``seconds`` (wall time of the configuration's cross-validation on
        its worker).  A list of dicts when pandas is not installed.

    Raises
    ------
    TypeError
        For a ``client`` or ``param_grid`` of the wrong type.
    ValueError
        For unknown parameter names or an empty grid.
    ImportError
        If ``client`` is not ``False`` and ``distributed`` is not installed.
    """
    from sklearn.model_selection import check_cv
    from sklearn.utils.validation import check_X_y

    configs = _configs(param_grid)
    X, y = check_X_y(X, y)
    splits = list(check_cv(cv, y, classifier=True).split(X, y))
    base = {"epochs": epochs, "random_state": random_state}
    dtypes = sorted({c.get("dtype", "float64") for c in configs})
    if client is False:
        rows = _run_serial(configs, X, y, splits, base, dtypes)
    else:
        rows = _run_dask(configs, X, y, splits, base, dtypes, client, n_workers)
    return _table(rows)


def _records(table):
    """Rows of a sweep table (DataFrame or list of dicts) as a list of dicts."""
    if hasattr(table, "to_dict"):
        return table.to_dict("records")
    return list(table)


def best_row(table):
    """The row (a dict) with the highest ``score``; the first one on ties."""
    rows = _records(table)
    if not rows:
        raise ValueError("the sweep table is empty")
    best = rows[0]
    for row in rows[1:]:
        if row["score"] > best["score"]:
            best = row
    return best


def _cell(value, column):
    if column in _RESULT_COLUMNS:
        return f"{value:.4f}" if column != "seconds" else f"{value:.3f}"
    return str(value)


def format_table(table):
    """Plain-text table of a sweep result (DataFrame or list of dicts), one line per row."""
    rows = _records(table)
    if not rows:
        return "(no configurations)"
    columns = [c for c in rows[0] if c not in _RESULT_COLUMNS] + [c for c in _RESULT_COLUMNS if c in rows[0]]
    cells = [[_cell(r[c], c) for c in columns] for r in rows]
    widths = [max(len(c), *(len(line[i]) for line in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.rjust(w) for c, w in zip(columns, widths))]
    lines += ["  ".join(v.rjust(w) for v, w in zip(line, widths)) for line in cells]
    return "\n".join(lines)


# --------------------------------------------------------------------------- command line

def cmd_sweep(args):
    """``fastnn sweep``: run ``CLI_GRID`` on the training split, print the table and the best row."""
    from . import datasets
    from .sklearn import MLPClassifier

    X_train, y_train, X_test, y_test = datasets.load_dataset(args.data)
    client = False if args.serial else args.scheduler
    start = time.perf_counter()
    table = sweep(CLI_GRID, X_train, y_train, epochs=args.epochs, random_state=args.seed, cv=args.cv,
                  client=client, n_workers=args.workers)
    wall = time.perf_counter() - start
    where = "serially" if args.serial else (args.scheduler or f"a LocalCluster of {args.workers} workers")
    print(f"{len(_records(table))} configurations x {args.cv} folds, {args.epochs} epochs, "
          f"on {where}: {wall:.2f} s")
    print(format_table(table))
    best = best_row(table)
    params = {k: v for k, v in best.items() if k not in _RESULT_COLUMNS}
    est = MLPClassifier(epochs=args.epochs, random_state=args.seed, **params).fit(X_train, y_train)
    print(f"best: {params}: cross-validated accuracy {best['score']:.4f}, "
          f"test accuracy {est.score(X_test, y_test):.4f}")
    return 0


def add_sweep_parser(subparsers):
    """Add the ``sweep`` subcommand to ``fastnn``'s ``subparsers``."""
    p = subparsers.add_parser("sweep", help="cross-validate a small grid of MLPClassifier "
                                            "configurations on Dask and print the best")
    p.add_argument("--data", default="digits",
                   help="'digits' (bundled, default), a folder of IDX files, or the book's mnist.pkl.gz")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--cv", type=int, default=3, help="cross-validation folds")
    p.add_argument("--seed", type=int, default=0)
    where = p.add_mutually_exclusive_group()
    where.add_argument("--scheduler", default=None,
                       help="address of a running Dask scheduler (default: an embedded LocalCluster)")
    where.add_argument("--serial", action="store_true", help="run in this process, without Dask")
    p.add_argument("--workers", type=int, default=2, help="workers of the embedded LocalCluster")
    p.set_defaults(func=cmd_sweep)
    return p
