"""``fastnn sweep``: cross-validate a grid of MLPClassifier configurations (:func:`fastnn.sweep`)."""
import json
import sys
import time

from ._args import at_least_two, nonnegative_int, positive_int, subcommand

#: Grid of the ``fastnn sweep`` command (8 configurations, run on the bundled digits).
CLI_GRID = {
    "hidden_layer_sizes": [(15,), (30,)],
    "eta": [0.5, 3.0],
    "mini_batch_size": [10, 30],
}


def _distribution(name, spec):
    """A frozen ``scipy.stats`` distribution from ``{"distribution": "loguniform", "args": [...]}``."""
    import scipy.stats

    dist = getattr(scipy.stats, str(spec.get("distribution")), None)
    if not isinstance(dist, (scipy.stats.rv_continuous, scipy.stats.rv_discrete)):
        raise ValueError(f"--grid: parameter {name!r}: {spec.get('distribution')!r} is not a "
                         f"scipy.stats distribution")
    try:
        return dist(*spec.get("args", []), **spec.get("kwargs", {}))
    except TypeError as exc:
        raise ValueError(f"--grid: parameter {name!r}: {exc}") from None


def _grid_values(name, values):
    """A JSON grid entry as Python: lists of values (inner lists become tuples) or a distribution."""
    if isinstance(values, dict):
        return _distribution(name, values)
    if not isinstance(values, list):
        raise ValueError(f"--grid: parameter {name!r} must map to a list of values or a "
                         f'{{"distribution": ..., "args": [...]}} object, got {values!r}')
    return [tuple(v) if isinstance(v, list) else v for v in values]


def load_grid(path):
    """Read a ``fastnn sweep --grid`` JSON file: a dict (or list of dicts) of parameter values.

    Each parameter maps to a list of values (JSON arrays inside it, such as
    ``[15]`` for ``hidden_layer_sizes``, become tuples) or, for ``--n-iter``,
    to a ``scipy.stats`` distribution written as
    ``{"distribution": "loguniform", "args": [0.1, 10]}`` (optional ``"kwargs"``).
    Only names of ``scipy.stats`` distributions are looked up; nothing is evaluated.
    A file holding ``{"eta": [0.5, 3.0], "hidden_layer_sizes": [[15], [30]]}`` gives
    ``{"eta": [0.5, 3.0], "hidden_layer_sizes": [(15,), (30,)]}``.

    Parameters
    ----------
    path : str or os.PathLike
        The JSON file.

    Returns
    -------
    dict or list of dict
        The grid, ready for :func:`fastnn.sweep`.

    Raises
    ------
    ValueError
        If the file is not valid JSON of that shape.
    """
    with open(path, encoding="utf-8") as f:
        try:
            grid = json.load(f)
        except json.JSONDecodeError as exc:
            raise ValueError(f"--grid {path!r} is not valid JSON: {exc}") from None
    grids = grid if isinstance(grid, list) else [grid]
    if not grids or not all(isinstance(g, dict) for g in grids):
        raise ValueError(f"--grid {path!r} must hold a JSON object (or a list of objects) mapping "
                         f"parameter names to lists of values")
    out = [{name: _grid_values(name, values) for name, values in g.items()} for g in grids]
    return out if isinstance(grid, list) else out[0]


def cmd_sweep(args):
    """``fastnn sweep``: run the grid on the training split, print the table and the best row."""
    from .. import datasets
    from .._sweep_file import count_rows
    from ..sklearn import MLPClassifier
    from ..sweeps import best_row, format_table, row_params, sweep

    grid = args.grid_values if hasattr(args, "grid_values") else load_grid(args.grid) if args.grid else CLI_GRID
    X_train, y_train, X_test, y_test = datasets.load_dataset(args.data)
    client = False if args.serial else args.scheduler
    start = time.perf_counter()
    try:
        table = sweep(grid, X_train, y_train, epochs=args.epochs, random_state=args.seed, cv=args.cv,
                      client=client, n_workers=args.workers, n_iter=args.n_iter, results=args.results)
    except KeyboardInterrupt:
        n = count_rows(args.results) if args.results else 0
        kept = (f"{n} finished configuration{'s' * (n != 1)} kept in {args.results}; run the same "
                f"command again to resume" if args.results else "no --results file, so nothing was kept")
        print(f"fastnn sweep: interrupted: {kept}", file=sys.stderr)
        return 130
    wall = time.perf_counter() - start
    where = "serially" if args.serial else (args.scheduler or f"a LocalCluster of {args.workers} workers")
    print(f"{len(table)} configurations x {args.cv} folds, {args.epochs} epochs, "
          f"on {where}: {wall:.2f} s")
    print(format_table(table))
    best = best_row(table)
    params = row_params(best)
    est = MLPClassifier(**{"epochs": args.epochs, "random_state": args.seed, **params}).fit(X_train, y_train)
    print(f"best: {params}: cross-validated accuracy {best['score']:.4f}, "
          f"test accuracy {est.score(X_test, y_test):.4f}")
    return 0


def add_parser(subparsers):
    """Register ``fastnn sweep`` on an argparse ``subparsers`` object; returns its parser."""
    p = subcommand(subparsers, "sweep", help="cross-validate a grid of MLPClassifier "
                                             "configurations on Dask and print the best")
    p.add_argument("--data", default="digits",
                   help="'digits' (bundled), a folder of IDX files, or the book's mnist.pkl.gz")
    p.add_argument("--grid", metavar="FILE.json", default=None,
                   help="JSON object of MLPClassifier parameters to lists of values, or to "
                        '{"distribution": "loguniform", "args": [0.1, 10]} with --n-iter '
                        "(default: a built-in grid of 8 configurations)")
    p.add_argument("--n-iter", type=positive_int, default=None, metavar="N",
                   help="random search: sample N configurations from --grid (default: every configuration)")
    p.add_argument("--results", metavar="FILE", default=None,
                   help="CSV file receiving each finished configuration; rerunning the same "
                        "command skips the configurations already in it (default: no file)")
    p.add_argument("--epochs", type=positive_int, default=10, help="epochs of every configuration")
    p.add_argument("--cv", type=at_least_two, default=3, help="cross-validation folds")
    p.add_argument("--seed", type=nonnegative_int, default=0,
                   help="random_state of every configuration (and of the random search)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--scheduler", default=None, metavar="ADDRESS",
                       help="address of a running Dask scheduler (default: an embedded LocalCluster)")
    where.add_argument("--serial", action="store_true", help="run in this process, without Dask")
    p.add_argument("--workers", type=positive_int, default=2, help="workers of the embedded LocalCluster")
    p.set_defaults(func=cmd_sweep, check=check)
    return p


def check(args):
    """The checks argparse cannot make, before any configuration runs; returns what ``fastnn
    sweep`` reads and writes (for :func:`fastnn.cli._paths.writing`)."""
    files = ([("--results", args.results, "text")], [("--grid", args.grid, "file"), ("--data", args.data, "any")], ())
    from ._paths import check_outputs

    check_outputs(*files)  # the grid file exists before it is read
    args.grid_values = load_grid(args.grid) if args.grid else CLI_GRID
    return files
