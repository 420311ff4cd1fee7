"""``fastnn bench``: ``Network.fit`` and ``predict_proba`` times of the jit engine."""
import os

from .. import bench
from ._args import nonnegative_int, positive_int, subcommand


def add_parser(subparsers):
    """Register ``fastnn bench`` on an argparse ``subparsers`` object; returns its parser."""
    parser = subcommand(subparsers, "bench", help="fit and predict_proba times of the jit engine")
    parser.add_argument("--samples", type=positive_int, default=10000, help="training samples")
    parser.add_argument("--infer-samples", type=positive_int, default=10000, help="rows of predict_proba")
    parser.add_argument("--epochs", type=positive_int, default=2, help="epochs per fit call")
    parser.add_argument("--threads", type=positive_int, default=None,
                        help="time only this thread count (default: None, 1 and all cores)")
    parser.add_argument("--dtype", choices=["float64", "float32"], action="append", default=None,
                        help="time this precision; repeat for both (default: float64 and float32)")
    parser.add_argument("--seed", type=nonnegative_int, default=0, help="seed of the synthetic data")
    parser.add_argument("--hidden-sweep", action="store_true",
                        help="instead: one epoch of [784, h, 10] for h = 30, 100, 300, 1000 at mini-batch 10 "
                             "and 100, fastnn against the tuned NumPy matrix form (--threads, default 1: "
                             "CPU time; --dtype, default float64)")
    parser.set_defaults(func=cmd_bench)
    return parser


def cmd_bench(args):
    """``fastnn bench``: ``Network.fit`` and ``predict_proba`` times of the jit engine."""
    if args.hidden_sweep:
        return cmd_hidden_sweep(args)
    dtypes = args.dtype or ("float64", "float32")
    X, y = bench.synthetic_data(max(args.samples, args.infer_samples), 784, 10, args.seed)
    rows = bench.run_bench(X[:args.samples], y[:args.samples], epochs=args.epochs, threads=args.threads,
                           dtypes=dtypes)
    print(f"fastnn jit engine; {bench.cpu_model()}, {os.cpu_count()} CPUs, {bench.core_count()} numba threads")
    print(f"Network.fit on {args.samples} synthetic samples, {args.epochs} epochs per call, eta 3; "
          f"fit s/epoch: the whole call (history on) / epochs; loop: history_['seconds']; "
          f"threads None: fastnn's default")
    print(bench.format_bench(rows))
    inference = bench.run_inference_bench(X[:args.infer_samples], dtypes=dtypes, threads=args.threads)
    print()
    print("predict_proba, best of 5 calls; NumPy: sigma(A W^T + b) per layer with BLAS's default threads")
    print(bench.format_inference(inference, args.infer_samples))
    return 0


def cmd_hidden_sweep(args):
    """``fastnn bench --hidden-sweep``: fastnn against the NumPy matrix form as the hidden layer grows."""
    threads = args.threads or 1
    X, y = bench.synthetic_data(args.samples, 784, 10, args.seed)
    print(f"fastnn jit engine vs the tuned NumPy matrix form; {bench.cpu_model()}, {os.cpu_count()} CPUs")
    print(f"One epoch of {args.samples} synthetic samples, eta 3, same initial parameters and order; "
          f"{threads} thread(s) for both (numba / BLAS), "
          f"{'CPU time of the process' if threads == 1 else 'wall time'}")
    for dtype in args.dtype or ("float64",):
        rows = bench.run_hidden_sweep(X, y, dtype=dtype, threads=threads, seed=args.seed)
        print(bench.format_hidden_sweep(rows))
        print(bench.format_limits(dtype, bench.machine_limits(dtype, [threads])))
    return 0
