"""Command line interface: ``fastnn train`` (also ``python -m fastnn train``).

Each subcommand is a small function taking the parsed arguments and returning
an exit code; ``main`` only builds the parser and dispatches.
"""
import argparse
import os
import sys

import numpy as np

from . import _compile
from ._argtypes import parse_sizes
from ._version import __version__
from .bench import add_bench_parsers
from .book_data_cli import add_parsers as add_book_data_parsers
from .colorize_cli import add_colorize_parser
from .demo import add_demo_parser
from .sweep import add_sweep_parser


def add_data_arguments(parser):
    """Options shared by every subcommand that trains a network."""
    parser.add_argument("--data", default="digits",
                        help="'digits' (bundled, default), a folder of IDX files, or the book's mnist.pkl.gz")
    parser.add_argument("--sizes", type=parse_sizes, default=None,
                        help="layer sizes, e.g. 784,30,10 (default: n_features,30,n_classes)")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--mini-batch-size", type=int, default=10)
    parser.add_argument("--eta", type=float, default=3.0)
    parser.add_argument("--seed", type=int, default=0)


def default_sizes(args, X, y):
    """``--sizes`` if given, else ``[n_features, 30, n_classes]`` (the book's hidden layer)."""
    return args.sizes or [X.shape[1], 30, int(np.max(y)) + 1]


def add_training_arguments(parser):
    """``fastnn train`` options of chapter 3, persistence and progress."""
    parser.add_argument("--cost", choices=["quadratic", "cross-entropy"], default="quadratic")
    parser.add_argument("--init", choices=["large", "default"], default="large",
                        help="'large': N(0,1) weights (chapter 1); 'default': N(0,1/n_in) (chapter 3)")
    parser.add_argument("--lmbda", type=float, default=0.0, help="L2 regularisation parameter (eq. 93)")
    parser.add_argument("--early-stopping", type=int, default=0, metavar="N",
                        help="stop after N epochs without test-accuracy improvement (0: off)")
    parser.add_argument("--eta-schedule", type=int, default=0, metavar="N",
                        help="halve eta after N epochs without improvement, stop at eta/128 (0: off)")
    parser.add_argument("--save", metavar="MODEL.npz", help="save the trained network (also on Ctrl-C)")
    parser.add_argument("--plot", metavar="CURVES.png", help="write learning curves (cost, accuracy)")
    parser.add_argument("--checkpoint", metavar="PATH", help="save a checkpoint after every epoch")
    parser.add_argument("--resume", action="store_true",
                        help="continue the run in --checkpoint (if it exists) up to --epochs")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def _print_epoch(net, record, n_test):
    """One line per epoch, in the format of the original ``fastnn train``."""
    from tqdm import tqdm

    correct = int(round(record["validation_accuracy"] * n_test))
    tqdm.write(f"Epoch {record['epoch']}: {correct} / {n_test} ({correct / n_test:.2%}), "
               f"{record['seconds']:.3f} s", file=sys.stdout)


def _finish_train(args, net, interrupted):
    """Save the model and plot the curves requested on the command line."""
    if args.save:
        if interrupted and args.checkpoint and os.path.abspath(args.save) == os.path.abspath(args.checkpoint):
            print(f"Kept checkpoint {args.save} (last completed epoch)")
        else:
            net.save(args.save)
            state = " and part of the next, interrupted" if interrupted else ""
            print(f"Saved model to {args.save} ({net.epochs_done_} epochs{state})")
    if args.plot and net.history_["epoch"]:
        from .plot import learning_curves

        learning_curves(net.history_, args.plot, title=repr(net))
        print(f"Wrote learning curves to {args.plot}")


def cmd_train(args):
    """Train a network and print accuracy and time per epoch."""
    from . import datasets
    from .network import Network

    if args.resume and not args.checkpoint:
        raise ValueError("--resume needs --checkpoint PATH")
    X_train, y_train, X_test, y_test = datasets.load_dataset(args.data)
    sizes = default_sizes(args, X_train, y_train)
    net = Network(sizes, seed=args.seed, engine=args.engine, cost=args.cost, init=args.init)
    print(f"{net}: {len(X_train)} training and {len(X_test)} test samples from {args.data!r}")
    if args.resume and os.path.exists(args.checkpoint):
        print(f"Resuming from {args.checkpoint}")
    try:
        net.fit(X_train, y_train, epochs=args.epochs, mini_batch_size=args.mini_batch_size,
                eta=args.eta, lmbda=args.lmbda, validation_data=(X_test, y_test),
                early_stopping_n=args.early_stopping, eta_schedule_n=args.eta_schedule,
                progress=not args.no_progress, checkpoint=args.checkpoint, resume=args.resume,
                callback=lambda net, record: _print_epoch(net, record, len(y_test)))
    except KeyboardInterrupt:
        print(f"Interrupted after {net.epochs_done_} complete epochs", file=sys.stderr)
        _finish_train(args, net, interrupted=True)
        return 130
    if net.stop_reason_:
        print(f"Stopped by the {net.stop_reason_} rule after {net.epochs_done_} epochs")
    _finish_train(args, net, interrupted=False)
    return 0


def cmd_predict(args):
    """Load a saved network and print its accuracy on a data set or write its predictions."""
    from . import datasets
    from .network import Network
    from .persistence import atomic_write

    net = Network.load(args.model, engine=args.engine)
    if str(args.data).endswith(".npy"):
        X, y = np.load(args.data, allow_pickle=False), None
    else:
        X_train, y_train, X_test, y_test = datasets.load_dataset(args.data)
        X, y = (X_test, y_test) if args.split == "test" else (X_train, y_train)
    predictions = net.predict(X)
    if y is not None:
        correct = int(np.sum(predictions == np.asarray(y)))
        print(f"{net} ({net.epochs_done_} epochs): {correct} / {len(y)} ({correct / len(y):.2%}) "
              f"correct on the {args.split} set of {args.data!r}")
    if args.output:
        with atomic_write(args.output, "w") as f:
            f.writelines(f"{int(p)}\n" for p in predictions)
        print(f"Wrote {len(predictions)} predictions to {args.output}")
    elif y is None:
        sys.stdout.writelines(f"{int(p)}\n" for p in predictions)
    return 0


def add_predict_parser(sub):
    """The ``fastnn predict`` subcommand."""
    predict = sub.add_parser("predict", help="evaluate a saved network or write its predictions")
    predict.add_argument("model", help="a .npz file written by 'fastnn train --save' or Network.save")
    predict.add_argument("--data", default="digits",
                         help="'digits', a folder of IDX files, mnist.pkl.gz, or a .npy array of inputs (rows)")
    predict.add_argument("--split", choices=["test", "train"], default="test")
    predict.add_argument("--output", metavar="PATH", help="write one predicted class per line")
    predict.add_argument("--engine", choices=["jit", "reference", "matrix"], default=None)
    predict.set_defaults(func=cmd_predict)


def build_parser():
    """The ``fastnn`` argument parser with every subcommand."""
    parser = argparse.ArgumentParser(prog="fastnn", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train", help="train a network and print per-epoch accuracy")
    add_data_arguments(train)
    train.add_argument("--engine", choices=["jit", "reference", "matrix"], default="jit")
    add_training_arguments(train)
    train.set_defaults(func=cmd_train)
    add_predict_parser(sub)
    add_demo_parser(sub)
    add_sweep_parser(sub)
    add_bench_parsers(sub)
    add_colorize_parser(sub)
    add_book_data_parsers(sub)
    return parser


def main(argv=None):
    """Entry point of the ``fastnn`` command."""
    args = build_parser().parse_args(argv)
    _compile.announce_if_cold(_compile.command_dtypes(args))  # so a slow first epoch is not read as the speed
    try:
        return args.func(args)
    except (ValueError, TypeError, FileNotFoundError) as exc:
        print(f"fastnn {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
