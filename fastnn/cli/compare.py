"""``fastnn compare``: time fastnn, NumPy, JAX and PyTorch on the same run and check agreement."""
import argparse
import os

from .. import bench
from ..bench import limits
from ._agreement import report_agreement
from ._args import nonnegative_float, nonnegative_int, parse_sizes, positive_float, positive_int, subcommand


def _engine_list(text):
    engines = [e.strip() for e in text.split(",") if e.strip()]
    unknown = [e for e in engines if e not in bench.COMPARE_ENGINES]
    if unknown or "reference" not in engines:
        raise argparse.ArgumentTypeError(f"must include 'reference' (the check of the others) and name only "
                                         f"{','.join(bench.COMPARE_ENGINES)}; got {text!r}")
    return engines


def add_parser(subparsers):
    """Register ``fastnn compare`` on an argparse ``subparsers`` object; returns its parser."""
    compare = subcommand(subparsers, "compare", help="time fastnn, NumPy, JAX and PyTorch on the same run "
                                                     "and check agreement")
    compare.add_argument("--net", choices=["dense", "conv"], default="dense",
                         help="'dense': the chapter-1 network of --sizes; 'conv': chapter 6's CP20 -> CP40 -> "
                              "FC100 -> softmax (ReLU, lmbda 0.1) in fastnn, the NumPy reference and PyTorch")
    compare.add_argument("--data", default="synthetic",
                         help="'synthetic' (default, shaped like --sizes), 'digits', a folder of IDX "
                              "files or mnist.pkl.gz (as in fastnn train)")
    compare.add_argument("--sizes", type=parse_sizes, default=None,
                         help="layer sizes, comma-separated positive integers (default 784,30,10)")
    compare.add_argument("--mini-batch-size", type=positive_int, default=10, help="samples per gradient step")
    compare.add_argument("--samples", type=positive_int, default=None,
                         help="training samples of the timed run (default 5000; 1000 with --net conv)")
    compare.add_argument("--epochs", type=positive_int, default=1, help="epochs of the timed run")
    compare.add_argument("--eta", type=positive_float, default=None,
                         help="learning rate (default 3.0; 0.03 with --net conv)")
    compare.add_argument("--seed", type=nonnegative_int, default=0, help="seed of the data and the initial weights")
    compare.add_argument("--dtype", choices=["float64", "float32"], default="float64",
                         help="precision of every engine")
    compare.add_argument("--threads", type=positive_int, default=None,
                         help="one more thread count for the fastnn fit rows, besides threads=None, 1 and all cores "
                              "(default: none more)")
    compare.add_argument("--engines", type=_engine_list, default=list(bench.COMPARE_ENGINES),
                         help=f"rows to run, comma-separated; must include 'reference', against which the "
                              f"others are checked (default {','.join(bench.COMPARE_ENGINES)}; jax and torch "
                              f"only if installed)")
    compare.add_argument("--plot", metavar="FILE",
                         help="write a bar chart of seconds per epoch per row (default: no chart); any "
                              "extension matplotlib writes")
    compare.add_argument("--check-samples", type=positive_int, default=None,
                         help="samples of the one-epoch jit-vs-reference agreement check (default 1000; 200 with "
                              "--net conv)")
    compare.add_argument("--tolerance", type=nonnegative_float, default=None,
                         help=f"largest allowed jit-vs-reference parameter difference "
                              f"(default {bench.FLOAT64_TOLERANCE:g}; {bench.FLOAT32_TOLERANCE:g} for float32; "
                              f"with --net conv 1e-08 and 0.0001)")
    compare.set_defaults(func=cmd_compare, check=check)
    return compare


def check(args):
    """What ``fastnn compare`` reads and writes (for :func:`fastnn.cli._paths.writing`)."""
    return [("--plot", args.plot, "plot")], [("--data", args.data, "any")], ()


def _compare_header(args, sizes, n):
    return (f"sizes {sizes}, mini-batch {args.mini_batch_size}, eta {args.eta}, {n} samples from "
            f"{args.data!r}, {args.epochs} epoch(s), {args.dtype}; {bench.cpu_model()}, {os.cpu_count()} "
            f"CPUs, {bench.core_count()} numba threads")


def cmd_compare(args):
    """``fastnn compare``: print the table; exit 1 if the jit engine disagrees with the reference."""
    if args.net == "conv":
        from ._compare_conv import cmd_compare_conv

        return cmd_compare_conv(args)
    args.samples = args.samples or 5000
    args.eta = args.eta or 3.0
    X, y, X_test, y_test, sizes = bench.load_data(args.data, args.samples, args.sizes, args.seed)
    tolerance = args.tolerance
    if tolerance is None:
        tolerance = bench.FLOAT32_TOLERANCE if args.dtype == "float32" else bench.FLOAT64_TOLERANCE
    common = dict(mini_batch_size=args.mini_batch_size, eta=args.eta, seed=args.seed,
                  dtype=args.dtype, threads=args.threads)
    rows = bench.run_compare(X, y, X_test, y_test, sizes, epochs=args.epochs, engines=args.engines, **common)
    header = _compare_header(args, sizes, len(X))
    print(header)
    print(bench.format_compare(rows))
    print("\n".join(bench.compare_legend(rows)))
    print(limits.format_limits(args.dtype, limits.machine_limits(args.dtype), sizes, len(X)))
    if args.plot:
        bench.plot_compare(rows, args.plot, title=header)
        print(f"Wrote the bar chart to {args.plot}")
    # Agreement check.  Long SGD runs at the book's eta are chaotic: any two correct
    # implementations (the matrix form too) drift apart once rounding differences are
    # amplified, so the check uses one epoch of the first --check-samples samples.
    n_check = min(args.check_samples or 1000, len(X))
    if n_check < len(X) or args.epochs > 1:
        check = bench.run_compare(X[:n_check], y[:n_check], X_test, y_test, sizes,
                                  engines=("jit", "reference"), **common)
    else:
        check = rows
    worst = max(r["max_diff"] for r in check if r["kind"] == "jit")
    return report_agreement(worst, n_check, tolerance, bench.jit_disagreements(check, tolerance),
                            checked="fastnn fit", failed="the jit engine")
