"""Argument types and options shared by the ``fastnn`` subcommands (argparse lives only in ``fastnn.cli``)."""
import argparse
import os

import numpy as np


def int_list(text, *, empty_ok=False):
    """``"784,30,10"`` -> ``[784, 30, 10]``: positive integers separated by commas (spaces
    ignored).  An empty item (``64,,10``), a non-number or a number < 1 is refused (argparse
    names the option); ``""`` gives ``[]`` only with ``empty_ok``."""
    items = text.replace(" ", "").split(",")
    if items == [""] and empty_ok:
        return []
    values = []
    for position, item in enumerate(items, 1):
        if not item:
            raise argparse.ArgumentTypeError(f"item {position} of {text!r} is empty; give comma-separated "
                                             "positive integers such as 784,30,10")
        try:
            value = int(item)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{item!r} in {text!r} is not an integer") from None
        if value < 1:
            raise argparse.ArgumentTypeError(f"{value} in {text!r} is not a positive size")
        values.append(value)
    return values


def parse_sizes(text):
    """``--sizes``: ``"784,30,10"`` -> ``[784, 30, 10]`` (:func:`int_list`)."""
    return int_list(text)


def parse_hidden(text):
    """``--hidden``: ``"64,64"`` -> ``(64, 64)``; ``""`` -> ``()`` (no hidden layer)."""
    return tuple(int_list(text, empty_ok=True))


def _number(text, kind, test, expected):
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
    if not test(value):
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
    return value


def positive_int(text):
    """An option's value as an int >= 1."""
    return _number(text, int, lambda v: v >= 1, "a positive integer")


def nonnegative_int(text):
    """An option's value as an int >= 0 (counts where 0 means "off", seeds)."""
    return _number(text, int, lambda v: v >= 0, "an integer >= 0")


def positive_float(text):
    """An option's value as a finite float > 0 (learning rates)."""
    return _number(text, float, lambda v: 0 < v < float("inf"), "a number > 0")


def nonnegative_float(text):
    """An option's value as a finite float >= 0 (regularisation)."""
    return _number(text, float, lambda v: 0 <= v < float("inf"), "a number >= 0")


def at_least_two(text):
    """An option's value as an int >= 2 (cross-validation folds)."""
    return _number(text, int, lambda v: v >= 2, "an integer >= 2")


class HelpFormatter(argparse.HelpFormatter):
    """Adds ``(default: X)`` to an option's help unless the help names its default already, or
    the option has none to show (a flag, or None: the help says what happens then)."""

    def _get_help_string(self, action):
        text = action.help or ""
        shown = "(default" in text or "%(default)" in text
        if shown or not action.option_strings or any(action.default is v for v in (None, False, argparse.SUPPRESS)):
            return text
        return f"{text} (default: %(default)s)"


class Parser(argparse.ArgumentParser):
    """``fastnn``'s parsers: a mistake is one line (``fastnn train: error: argument --epochs:
    expected a positive integer, got '-1'``) and exit status 2, without the usage block."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def subcommand(subparsers, name, **kwargs):
    """``subparsers.add_parser(name, ...)`` with :class:`HelpFormatter`."""
    return subparsers.add_parser(name, formatter_class=HelpFormatter, **kwargs)


def plural(n, word):
    """``"1 epoch"``, ``"2 epochs"``."""
    return f"{n} {word}{'' if n == 1 else 's'}"


def add_data_arguments(parser):
    """Options shared by every subcommand that trains a network (``--data`` is read by
    :func:`fastnn.datasets.load_dataset`)."""
    parser.add_argument("--data", default="digits",
                        help="'digits' (bundled), a folder of IDX files, or the book's mnist.pkl.gz")
    parser.add_argument("--sizes", type=parse_sizes, default=None,
                        help="layer sizes, comma-separated positive integers such as 784,30,10 "
                             "(default: n_features,30,n_classes)")
    parser.add_argument("--epochs", type=nonnegative_int, default=30, help="epochs of training")
    parser.add_argument("--mini-batch-size", type=positive_int, default=10,
                        help="samples per gradient step (the book's m)")
    parser.add_argument("--eta", type=positive_float, default=3.0, help="learning rate")
    parser.add_argument("--seed", type=nonnegative_int, default=0,
                        help="seed of the initial weights and of every epoch's shuffle")


def default_sizes(args, X, y):
    """``--sizes`` if given, else ``[n_features, 30, n_classes]`` (the book's hidden layer)."""
    return args.sizes or [X.shape[1], 30, int(np.max(y)) + 1]
