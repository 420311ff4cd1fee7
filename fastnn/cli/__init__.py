"""Command line interface: ``fastnn train`` (also ``python -m fastnn train``).

One module per subcommand (:mod:`~fastnn.cli.train`, :mod:`~fastnn.cli.predict`,
:mod:`~fastnn.cli.compare`, :mod:`~fastnn.cli.bench`, :mod:`~fastnn.cli.sweep`,
:mod:`~fastnn.cli.colorize`, :mod:`~fastnn.cli.demo`), each with ``add_parser(subparsers)``
and its command function, which takes the parsed arguments and returns an exit code;
:func:`main` only builds the parser and dispatches.  This package is the only place
that imports ``argparse``: the library modules know nothing of the command line.
"""
import argparse
import sys

from .. import _numba_cache
from .._version import __version__
from . import bench, colorize, compare, demo, predict, sweep, train

__all__ = ["main", "build_parser", "COMMANDS"]

COMMANDS = (train, predict, demo, sweep, compare, bench, colorize)
"""The subcommands' modules, in the order ``fastnn --help`` lists them."""


def build_parser():
    """The ``fastnn`` argument parser with every subcommand."""
    parser = argparse.ArgumentParser(prog="fastnn", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


def main(argv=None):
    """Entry point of the ``fastnn`` command."""
    args = build_parser().parse_args(argv)
    _numba_cache.announce_if_cold(_numba_cache.command_dtypes(args))  # so a slow first epoch is not read as the speed
    try:
        return args.func(args)
    except (ValueError, TypeError, FileNotFoundError) as exc:
        print(f"fastnn {args.command}: error: {exc}", file=sys.stderr)
        return 2
