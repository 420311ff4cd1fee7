"""Command line interface: ``fastnn train`` (also ``python -m fastnn train``).

Each subcommand is a small function taking the parsed arguments and returning
an exit code; ``main`` only builds the parser and dispatches.
"""
import argparse
import sys
import time

import numpy as np

from .sweep import add_sweep_parser


def _sizes(text):
    """Parse ``"784,30,10"`` into a list of ints."""
    try:
        return [int(s) for s in text.replace(" ", "").split(",") if s]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--sizes must be comma-separated integers, got {text!r}") from None


def add_data_arguments(parser):
    """Options shared by every subcommand that trains a network."""
    parser.add_argument("--data", default="digits",
                        help="'digits' (bundled, default), a folder of IDX files, or the book's mnist.pkl.gz")
    parser.add_argument("--sizes", type=_sizes, default=None,
                        help="layer sizes, e.g. 784,30,10 (default: n_features,30,n_classes)")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--mini-batch-size", type=int, default=10)
    parser.add_argument("--eta", type=float, default=3.0)
    parser.add_argument("--seed", type=int, default=0)


def default_sizes(args, X, y):
    """``--sizes`` if given, else ``[n_features, 30, n_classes]`` (the book's hidden layer)."""
    return args.sizes or [X.shape[1], 30, int(np.max(y)) + 1]


def cmd_train(args):
    """Train a network and print accuracy and time per epoch."""
    from . import datasets
    from .network import Network

    X_train, y_train, X_test, y_test = datasets.load_dataset(args.data)
    sizes = default_sizes(args, X_train, y_train)
    net = Network(sizes, seed=args.seed, engine=args.engine)
    print(f"{net}: {len(X_train)} training and {len(X_test)} test samples from {args.data!r}")
    for epoch in range(args.epochs):
        start = time.perf_counter()
        net.fit(X_train, y_train, epochs=1, mini_batch_size=args.mini_batch_size, eta=args.eta)
        seconds = time.perf_counter() - start
        correct = int(round(net.score(X_test, y_test) * len(y_test)))
        print(f"Epoch {epoch}: {correct} / {len(y_test)} ({correct / len(y_test):.2%}), {seconds:.3f} s")
    return 0


def build_parser():
    """The ``fastnn`` argument parser with every subcommand."""
    parser = argparse.ArgumentParser(prog="fastnn", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train", help="train a network and print per-epoch accuracy")
    add_data_arguments(train)
    train.add_argument("--engine", choices=["jit", "reference", "matrix"], default="jit")
    train.set_defaults(func=cmd_train)
    add_sweep_parser(sub)
    return parser


def main(argv=None):
    """Entry point of the ``fastnn`` command."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, TypeError, FileNotFoundError) as exc:
        print(f"fastnn {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
