"""Hyper-parameter sweeps of :class:`fastnn.sklearn.MLPClassifier`, one Dask task per configuration.

>>> from fastnn import sweep
>>> table = sweep({"eta": [0.5, 3.0], "hidden_layer_sizes": [(15,), (30,)]}, X, y,
...               epochs=10, cv=3, client=None, results="sweep.csv")   # doctest: +SKIP

Every configuration is scored by cross-validation on the same, precomputed
folds, with the same ``random_state``, so a configuration gets bit-for-bit
the same score whether it runs serially (``client=False``), on an embedded
``LocalCluster`` (``client=None``) or on a remote cluster (a ``Client`` or a
scheduler address such as ``"tcp://head-node:8786"``).

A sweep survives faults the way Dask users expect:

* a worker that dies mid-task is replaced and its tasks run again elsewhere
  (same folds, same seed, so the same scores);
* a configuration that raises gets ``error_score`` and its error in the
  ``error`` column, and the others go on (``error_score="raise"`` stops);
* with ``results="sweep.csv"`` each finished configuration is appended to
  the file at once (its format is in the user guide, *Sweeps*; :func:`read_results` reads it), and the
  same call after an interruption runs only the configurations missing from it.

Results are collected with ``distributed.as_completed`` while at most a few
tasks per worker thread are in flight, so the client's memory does not grow
with the number of configurations.

Each worker loads the Numba kernels once (from the on-disk cache, compiling
only if the cache is cold) in a warm-up call made before any task runs, so
the per-task ``seconds`` measure training, not compilation.

Dask (``pip install "fastnn[dask]"``) and pandas are optional: they are
imported only when needed, and without pandas the table is a list of dicts.
"""
import contextlib
import itertools
import math
import numbers
import time
import warnings

import numpy as np

from ._stacklevel import outside_fastnn
from ._progress import make_bar

__all__ = ["sweep", "format_table", "best_row", "row_params", "read_results"]

_RESULT_COLUMNS = ("score", "score_std", "seconds", "error")
_FILE_COLUMNS = ("index", "fastnn_version")  # the columns read_results adds

#: Tasks kept in flight per worker thread (at least ``_MIN_IN_FLIGHT``): enough to keep
#: every worker busy while results travel back, few enough that the client holds a
#: bounded number of futures however many configurations the sweep has.
_IN_FLIGHT_PER_THREAD = 8
_MIN_IN_FLIGHT = 32


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
    """Cross-validated accuracy of one configuration.

    ``params`` are the configuration's values and override ``base``
    (``epochs``, ``random_state``); ``splits`` is the list of ``(train, test)``
    index arrays shared by every configuration.  Returns
    ``{"score", "score_std", "seconds", "error": None}``; a fit that fails
    raises (the caller applies ``error_score``).
    """
    from sklearn.model_selection import cross_val_score

    from .sklearn import MLPClassifier

    start = time.perf_counter()
    with _one_numba_thread():
        scores = cross_val_score(MLPClassifier(**{**base, **params}), X, y, cv=splits, n_jobs=1,
                                 error_score="raise")
    seconds = time.perf_counter() - start
    return {"score": float(np.mean(scores)), "score_std": float(np.std(scores)),
            "seconds": seconds, "error": None}


def _failure(exc):
    """The result of a configuration whose task raised ``exc``: NaN scores and the error, one line."""
    message = " ".join(str(exc).split())
    return {"score": math.nan, "score_std": math.nan, "seconds": math.nan,
            "error": f"{type(exc).__name__}: {message}" if message else type(exc).__name__}


# --------------------------------------------------------------------------- runners

def _run_serial(todo, configs, data, record, raise_errors):
    """Evaluate the configurations ``todo`` (indices) in this process, in order."""
    X, y, splits, base, dtypes = data
    _warmup(dtypes)
    for index in todo:
        try:
            result = _evaluate(configs[index], X, y, splits, base)
        except Exception as exc:
            if raise_errors:
                raise
            result = _failure(exc)
        record(index, result)


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
            # A close that times out (a loaded machine) must not cost the finished table;
            # the nannies kill workers that do not stop in time.
            try:
                own.close()
                cluster.close()
            except Exception as exc:
                warnings.warn(f"the embedded LocalCluster did not close cleanly: {exc!r}",
                              RuntimeWarning, stacklevel=outside_fastnn())
        return own, cleanup
    if isinstance(client, str):
        own = Client(client)
        return own, own.close
    if isinstance(client, Client):
        return client, lambda: None
    raise TypeError("client must be None (embedded LocalCluster), False (serial), a scheduler "
                    f"address string or a distributed.Client, got {type(client).__name__}")


def _in_flight_limit(client):
    threads = sum(client.nthreads().values())
    return max(_MIN_IN_FLIGHT, _IN_FLIGHT_PER_THREAD * threads)


def _run_dask(todo, configs, data, record, raise_errors, client, n_workers):
    """Evaluate the configurations ``todo`` (indices) on Dask, recording each as it completes.

    The data and folds are scattered once to every worker.  At most
    :func:`_in_flight_limit` tasks are submitted at a time; each finished
    future is recorded, dropped (so Dask releases its result) and replaced by
    the next configuration.  On any exception (``error_score="raise"``,
    Ctrl-C) the futures still in flight are cancelled.
    """
    from distributed import as_completed

    X, y, splits, base, dtypes = data
    # Compile here first: on a shared file system (LocalCluster) this fills Numba's on-disk
    # cache once, so the workers only load it instead of compiling side by side.
    _warmup(dtypes)
    client, cleanup = _connect(client, n_workers)
    in_flight = {}  # future -> configuration index
    try:
        client.run(_warmup, dtypes)  # once per worker, before any task
        # random keys (hash=False): another client scattering the same arrays would otherwise
        # share these keys, and its release would cancel this sweep's tasks
        X_f, y_f, splits_f = client.scatter([X, y, splits], broadcast=True, hash=False)
        pending = iter(todo)
        # results are fetched in the background as tasks finish; with raise_errors the first
        # error is raised here, with its remote traceback
        completed = as_completed(with_results=True, raise_errors=raise_errors)

        def submit(index):
            future = client.submit(_evaluate, configs[index], X_f, y_f, splits_f, base, pure=False)
            in_flight[future] = index
            completed.add(future)

        for index in itertools.islice(pending, _in_flight_limit(client)):
            submit(index)
        for future, result in completed:
            index = in_flight.pop(future)
            if future.status == "error":
                result = _failure(result[1])  # result is (type, exception, traceback)
            elif future.status != "finished":
                raise RuntimeError(f"the Dask task of configuration {index} was {future.status} "
                                   f"(did the scheduler restart?); rows already in a results "
                                   f"file are kept: call sweep again to resume")
            del future
            record(index, result)
            index = next(pending, None)
            if index is not None:
                submit(index)
    finally:
        try:
            if in_flight:
                client.cancel(list(in_flight))
            in_flight.clear()
        finally:
            cleanup()


# --------------------------------------------------------------------------- configurations

def _python_scalar(value):
    """NumPy scalars (as ``ParameterSampler`` draws them) as plain Python numbers."""
    return value.item() if isinstance(value, np.generic) else value


def _configs(param_grid, n_iter=None, random_state=None):
    """The configurations as a list of dicts.

    ``ParameterGrid`` order, or with ``n_iter`` the ``ParameterSampler`` draws
    (seeded by ``random_state``), as in ``GridSearchCV`` / ``RandomizedSearchCV``.
    """
    from sklearn.model_selection import ParameterGrid, ParameterSampler

    name = "param_grid" if n_iter is None else "param_distributions"
    if not isinstance(param_grid, (dict, list, tuple)):
        raise TypeError(f"{name} must be a dict or a list of dicts, got {type(param_grid).__name__}")
    if n_iter is None:
        configs = [dict(c) for c in ParameterGrid(param_grid)]
    else:
        if isinstance(n_iter, bool) or not isinstance(n_iter, numbers.Integral) or n_iter < 1:
            raise ValueError(f"n_iter must be a positive integer or None, got {n_iter!r}")
        sampler = ParameterSampler(param_grid, int(n_iter), random_state=random_state)
        configs = [{k: _python_scalar(v) for k, v in c.items()} for c in sampler]
    if not configs:
        raise ValueError(f"{name} is empty: it gives no configuration to run")
    from .sklearn import MLPClassifier

    valid = set(MLPClassifier().get_params())
    for c in configs:
        unknown = sorted(set(c) - valid)
        if unknown:
            raise ValueError(f"{name} has unknown MLPClassifier parameters {unknown}; "
                             f"valid ones are {sorted(valid)}")
    return configs


def _check_error_score(error_score):
    if isinstance(error_score, str) and error_score == "raise":
        return
    if isinstance(error_score, bool) or not isinstance(error_score, numbers.Real):
        raise ValueError(f"error_score must be 'raise' or a number (such as np.nan), got {error_score!r}")


# --------------------------------------------------------------------------- results

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
    if pd is None:
        return rows
    table = pd.DataFrame(rows)
    # keep None (not NaN, as a string column would) for "no error", like the list of dicts
    table["error"] = pd.Series([r["error"] for r in rows], index=table.index, dtype=object)
    return table


def _row(config, result, error_score):
    """A row of the table: the configuration's parameters, then its results.

    A failed configuration's ``score`` is ``error_score`` (``score_std`` 0, or
    NaN when ``error_score`` is NaN, as the folds' spread of equal scores).
    """
    if result["error"] is None:
        return {**config, **result}
    score = float(error_score)
    return {**config, "score": score, "score_std": math.nan if math.isnan(score) else 0.0,
            "seconds": result["seconds"], "error": result["error"]}


class _Progress:
    """A bar of configurations done / total with the best score so far (stderr, terminals only)."""

    def __init__(self, progress, total, done):
        self.best = max((r["score"] for r in done if r["error"] is None), default=-math.inf)
        self.bar = make_bar(progress, total, initial=len(done), unit="config")
        self._show_best()

    def _show_best(self):
        if self.best > -math.inf:
            self.bar.set_postfix_str(f"best score {self.best:.4f}", refresh=False)

    def update(self, result):
        if result["error"] is None and result["score"] > self.best:
            self.best = result["score"]
            self._show_best()
        self.bar.update(1)

    def close(self):
        self.bar.close()


def _warn_failures(configs, results, error_score):
    """One ``FitFailedWarning`` naming how many configurations failed and the first error."""
    from sklearn.exceptions import FitFailedWarning

    failed = [i for i in range(len(configs)) if results[i]["error"] is not None]
    if failed:
        first = failed[0]
        warnings.warn(f"{len(failed)} of {len(configs)} configurations failed and were given "
                      f"score={error_score!r} (see the 'error' column); the first, {configs[first]}, "
                      f"raised {results[first]['error']}", FitFailedWarning, stacklevel=outside_fastnn())


# --------------------------------------------------------------------------- public API

def sweep(param_grid, X, y, *, epochs=10, random_state=0, cv=3, client=None, n_workers=2,
          n_iter=None, error_score=np.nan, results=None, progress=True):
    """Cross-validate every configuration of ``param_grid``, one Dask task each.

    Parameters
    ----------
    param_grid : dict or list of dict
        :class:`fastnn.sklearn.MLPClassifier` parameters to values, as in
        ``GridSearchCV``, e.g. ``{"eta": [0.5, 3.0], "hidden_layer_sizes": [(30,)]}``.
        With ``n_iter``: parameters to lists or ``scipy.stats`` distributions,
        as ``param_distributions`` in ``RandomizedSearchCV``.
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
        Class labels.
    epochs : int, default 10
        Training epochs of every configuration (unless the grid sets ``epochs``).
    random_state : int, default 0
        Seed of every configuration's network (unless the grid sets it), and
        with ``n_iter`` the seed of the sampling of configurations.
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
    n_iter : int or None, default None
        ``None``: every configuration of the grid.  An int: that many
        configurations sampled from ``param_grid`` by scikit-learn's
        ``ParameterSampler`` (without replacement if every value is a list).
    error_score : 'raise' or float, default np.nan
        Score of a configuration whose fit raises (a diverging ``eta``, an
        invalid value, a worker lost every time it ran it); its error's type
        and message go to the ``error`` column, the other configurations go
        on, and one ``FitFailedWarning`` at the end counts the failures.
        ``"raise"``: re-raise the first error at once and cancel the rest.
    results : str, os.PathLike or None, default None
        A CSV file that receives each configuration's row as soon as it
        finishes (durably: flushed and fsync'ed).  If the file holds rows of
        this same sweep (same data, folds, fixed arguments and
        configurations), those configurations are not run again, so calling
        ``sweep`` again after an interruption completes it.
    progress : bool, default True
        Show a tqdm bar (configurations done / total, best score so far) on
        stderr when stderr is a terminal.

    Returns
    -------
    pandas.DataFrame or list of dict
        One row per configuration, in ``ParameterGrid`` (or sampling) order:
        the configuration's parameters, ``score`` (mean cross-validated
        accuracy), ``score_std``, ``seconds`` (wall time of the configuration's
        cross-validation on its worker; NaN if it failed) and ``error`` (None,
        or ``"Type: message"`` of a failed configuration).  A list of dicts
        when pandas is not installed.

    Raises
    ------
    TypeError
        For a ``client`` or ``param_grid`` of the wrong type.
    ValueError
        For unknown parameter names, an empty grid, a bad ``n_iter`` or
        ``error_score``, or a ``results`` file that is not this sweep's.
    ImportError
        If ``client`` is not ``False`` and ``distributed`` is not installed.

    Examples
    --------
    >>> from scipy.stats import loguniform
    >>> table = sweep({"eta": loguniform(0.1, 10), "hidden_layer_sizes": [(15,), (30,)]},
    ...               X, y, n_iter=20, client=False, results="random.csv")   # doctest: +SKIP
    """
    from sklearn.model_selection import check_cv
    from sklearn.utils.validation import check_X_y

    configs = _configs(param_grid, n_iter, random_state)
    _check_error_score(error_score)
    X, y = check_X_y(X, y)
    splits = list(check_cv(cv, y, classifier=True).split(X, y))
    base = {"epochs": epochs, "random_state": random_state}
    dtypes = sorted({c.get("dtype", "float64") for c in configs})
    raise_errors = isinstance(error_score, str)
    with contextlib.ExitStack() as stack:
        done = {}
        if results is not None:
            store = stack.enter_context(_open_results(results, X, y, splits, base, configs))
            done = store.rows
            if raise_errors and any(r["error"] for r in done.values()):
                raise ValueError(f"error_score='raise' but results file {store.path!r} holds failed "
                                 f"configurations; delete their rows to run them again")
        outcomes = dict(done)
        bar = _Progress(progress, len(configs), list(done.values()))
        stack.callback(bar.close)

        def record(index, result):
            outcomes[index] = result
            if results is not None:
                store.append(index, result)
            bar.update(result)

        todo = [i for i in range(len(configs)) if i not in done]
        if todo:
            data = (X, y, splits, base, dtypes)
            if client is False:
                _run_serial(todo, configs, data, record, raise_errors)
            else:
                _run_dask(todo, configs, data, record, raise_errors, client, n_workers)
    _warn_failures(configs, outcomes, error_score)
    return _table([_row(configs[i], outcomes[i], error_score) for i in range(len(configs))])


def _open_results(path, X, y, splits, base, configs):
    from ._version import __version__
    from ._sweep_file import ResultsFile, fingerprint

    return ResultsFile.open(path, configs, fingerprint(X, y, splits, base, configs), __version__)


def _records(table):
    """Rows of a sweep table (DataFrame or list of dicts) as a list of dicts."""
    if hasattr(table, "to_dict"):
        return table.to_dict("records")
    return list(table)


def best_row(table):
    """The row with the highest ``score``; the first one on ties.

    Rows whose score is NaN (failed configurations) are never chosen.

    Parameters
    ----------
    table : pandas.DataFrame or list of dict
        A table returned by :func:`fastnn.sweep`.

    Returns
    -------
    dict
        That row: the configuration's parameters and its results.

    Raises
    ------
    ValueError
        If the table is empty or every score is NaN.

    Examples
    --------
    >>> best_row([{"eta": 0.5, "score": 0.91}, {"eta": 3.0, "score": 0.95}])["eta"]
    3.0
    """
    rows = _records(table)
    if not rows:
        raise ValueError("the sweep table is empty")
    scored = [r for r in rows if not math.isnan(r["score"])]
    if not scored:
        raise ValueError("every configuration of the sweep failed: no score to choose from")
    best = scored[0]
    for row in scored[1:]:
        if row["score"] > best["score"]:
            best = row
    return best


def _is_missing(value):
    """True for the None/NaN that stands for 'not set' in a table cell."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def _cell(value, column):
    if column == "error":
        return "" if _is_missing(value) else str(value)
    if column in _RESULT_COLUMNS:
        return f"{value:.4f}" if column != "seconds" else f"{value:.3f}"
    return str(value)


def format_table(table):
    """Plain-text table of a sweep result, one line per row.

    Parameters
    ----------
    table : list of dict or pandas.DataFrame
        The rows, as :func:`fastnn.sweep` returns them.

    Returns
    -------
    str
        A header line and one right-aligned line per row; scores with 4
        decimals, seconds with 3.  The ``error`` column is shown only if
        some configuration failed.

    Examples
    --------
    >>> print(format_table([{"eta": 3.0, "score": 0.95, "score_std": 0.01, "seconds": 0.2,
    ...                      "error": None}]))
    eta   score  score_std  seconds
    3.0  0.9500     0.0100    0.200
    """
    rows = _records(table)
    if not rows:
        return "(no configurations)"
    results = [c for c in _RESULT_COLUMNS if c in rows[0]]
    if "error" in results and all(_is_missing(r["error"]) for r in rows):
        results.remove("error")
    columns = [c for c in rows[0] if c not in _RESULT_COLUMNS] + results
    cells = [[_cell(r[c], c) for c in columns] for r in rows]
    widths = [max(len(c), *(len(line[i]) for line in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.rjust(w) for c, w in zip(columns, widths))]
    lines += ["  ".join(v.rjust(w) for v, w in zip(line, widths)) for line in cells]
    return "\n".join(lines)


def row_params(row):
    """The configuration of one table row: its parameters, without the result columns.

    Parameters a configuration does not set (None or NaN cells, where the
    grid is a list of dicts with different keys) are left out, and so are
    the ``index`` and ``fastnn_version`` columns of :func:`read_results`,
    so the result can be passed to :class:`fastnn.sklearn.MLPClassifier` as is.

    Parameters
    ----------
    row : dict
        A row of a sweep table, e.g. :func:`best_row`'s.

    Returns
    -------
    dict

    Examples
    --------
    >>> row_params({"eta": 3.0, "score": 0.95, "score_std": 0.01, "seconds": 0.2, "error": None})
    {'eta': 3.0}
    """
    return {k: v for k, v in row.items()
            if k not in _RESULT_COLUMNS and k not in _FILE_COLUMNS and not _is_missing(v)}


def read_results(path):
    """Read the results file of a sweep (``sweep(..., results=path)``) as a table.

    The format is described in the user guide (*Sweeps*, "Format").
    Parameter cells are turned back into Python values (``0.5``, ``(30,)``;
    text that is not a Python literal, such as ``quadratic``, stays a
    string); unset cells become None (in a pandas table, a column of
    numbers shows them as NaN, and its ints then as floats: 7.0).  An
    incomplete last line (a crash while a row was written) is ignored.
    The file is only read: no lock, so it can be read while its sweep
    still runs.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    pandas.DataFrame or list of dict
        One row per finished configuration, in configuration order:
        ``index`` (the configuration's position in the sweep), its
        parameters, ``score``, ``score_std``, ``seconds``, ``error`` and
        ``fastnn_version``.  A list of dicts when pandas is not installed.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is not a fastnn sweep results file or a row is malformed.

    Examples
    --------
    >>> table = read_results("sweep.csv")                 # doctest: +SKIP
    >>> row_params(best_row(table))                       # doctest: +SKIP
    {'eta': 3.0, 'hidden_layer_sizes': (30,)}
    """
    from ._sweep_file import read_rows

    rows = read_rows(path)
    pd = _pandas()
    if pd is None or not rows:
        return rows
    table = pd.DataFrame(rows)
    table["error"] = pd.Series([r["error"] for r in rows], index=table.index, dtype=object)
    return table
