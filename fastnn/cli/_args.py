"""Argument types and options shared by the ``fastnn`` subcommands (argparse lives only in ``fastnn.cli``)."""
import argparse
import os

import numpy as np


def parse_sizes(text):
    """Parse ``"784,30,10"`` into a list of ints."""
    try:
        return [int(s) for s in text.replace(" ", "").split(",") if s]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--sizes must be comma-separated integers, got {text!r}") from None


def parse_hidden(text):
    """``"64,64"`` -> ``(64, 64)``; ``""`` -> ``()`` (no hidden layer)."""
    try:
        return tuple(int(s) for s in text.replace(" ", "").split(",") if s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--hidden must be comma-separated integers, got {text!r}") from None


def positive_int(text):
    """An option's value as an int >= 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def add_data_arguments(parser):
    """Options shared by every subcommand that trains a network (``--data`` is read by
    :func:`fastnn.datasets.load_dataset`)."""
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


def check_output_dir(path, option):
    """ValueError if ``path``'s folder does not exist (checked before any long work)."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ValueError(f"{option} {path!r}: folder {folder!r} does not exist")
