"""``fastnn predict``: evaluate a saved network or write its predictions."""
import sys

import numpy as np

from ._args import plural, subcommand


def add_parser(subparsers):
    """Register ``fastnn predict`` on an argparse ``subparsers`` object; returns its parser."""
    predict = subcommand(subparsers, "predict", help="evaluate a saved network or write its predictions")
    predict.add_argument("model", help="a .npz file written by 'fastnn train --save' or Network.save")
    predict.add_argument("--data", default="digits",
                         help="'digits' (bundled), a folder of IDX files, mnist.pkl.gz, or a .npy array of "
                              "inputs (one row per sample)")
    predict.add_argument("--split", choices=["test", "train"], default="test",
                         help="which split of --data to evaluate (not used with a .npy array)")
    predict.add_argument("--output", metavar="PATH",
                         help="write one predicted class per line (default: print them for a .npy array, "
                              "else only the accuracy); never the model or data file")
    predict.add_argument("--engine", choices=["jit", "reference", "matrix"], default=None,
                         help="engine to run the network with (default: the one saved in the model)")
    predict.set_defaults(func=cmd_predict, check=check)
    return predict


def check(args):
    """What ``fastnn predict`` reads and writes (for :func:`fastnn.cli._paths.writing`)."""
    return [("--output", args.output, "text")], [("model", args.model, "file"), ("--data", args.data, "any")], ()


def cmd_predict(args):
    """Load a saved network and print its accuracy on a data set or write its predictions."""
    from .. import datasets
    from ..network import Network
    from ..persistence import atomic_write

    net = Network.load(args.model, engine=args.engine)
    if str(args.data).endswith(".npy"):
        X, y = np.load(args.data, allow_pickle=False), None
    else:
        try:
            X_train, y_train, X_test, y_test = datasets.load_dataset(args.data)
        except FileNotFoundError as exc:  # name the array predict alone accepts
            raise FileNotFoundError(f"{exc}; predict also takes a .npy array of inputs") from None
        X, y = (X_test, y_test) if args.split == "test" else (X_train, y_train)
    predictions = net.predict(X)
    if y is not None:
        correct = int(np.sum(predictions == np.asarray(y)))
        print(f"{net} ({plural(net.epochs_done_, 'epoch')}): {correct} / {len(y)} ({correct / len(y):.2%}) "
              f"correct on the {args.split} set of {args.data!r}")
    if args.output:
        with atomic_write(args.output, "w") as f:
            f.writelines(f"{int(p)}\n" for p in predictions)
        print(f"Wrote {len(predictions)} predictions to {args.output}")
    elif y is None:
        sys.stdout.writelines(f"{int(p)}\n" for p in predictions)
    return 0
