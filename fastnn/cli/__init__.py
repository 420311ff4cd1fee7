"""Command line interface: ``fastnn train`` (also ``python -m fastnn train``).

One module per subcommand (:mod:`~fastnn.cli.train`, :mod:`~fastnn.cli.predict`,
:mod:`~fastnn.cli.compare`, :mod:`~fastnn.cli.bench`, :mod:`~fastnn.cli.sweep`,
:mod:`~fastnn.cli.colorize`, :mod:`~fastnn.cli.demo`, :mod:`~fastnn.cli.export`, :mod:`~fastnn.cli.book`, :mod:`~fastnn.cli.book_data`,
:mod:`~fastnn.cli.network3`), each with ``add_parser(subparsers)``
and its command function, which takes the parsed arguments and returns an exit code;
a command also sets ``check(args)``, the checks argparse cannot make, which
returns the files it reads and writes (checked and locked by ``fastnn.cli._paths``).
:func:`main` only builds the parser, runs the checks and dispatches.  This
package is the only place that imports ``argparse``: the library modules know
nothing of the command line.
"""
import sys
import warnings

from .. import _numba_cache
from .._version import __version__
from . import _paths, bench, book, book_data, colorize, compare, demo, export, network3, predict, sweep, train
from ._args import Parser

__all__ = ["main", "build_parser", "COMMANDS"]

COMMANDS = (train, predict, demo, sweep, compare, bench, colorize, export, book, book_data, network3)
"""The subcommands' modules, in the order ``fastnn --help`` lists them."""


DESCRIPTION = ("The networks of Michael Nielsen's 'Neural Networks and Deep Learning' as fast "
               "Numba kernels. Run 'fastnn COMMAND --help' for a command's options.")
"""``fastnn --help``'s description (plain text: no markup)."""


def build_parser():
    """The ``fastnn`` argument parser with every subcommand."""
    parser = Parser(prog="fastnn", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


def _show_warning(command):
    """A ``warnings.showwarning`` printing ``fastnn COMMAND: warning: ...`` on one line: the
    place in fastnn's code (or in the console script) that raised it means nothing to a user
    of the command line."""
    def show(message, category, filename, lineno, file=None, line=None):
        text = " ".join(str(message).split())
        print(f"fastnn {command}: warning: {text} ({category.__name__})", file=file or sys.stderr)

    return show


def main(argv=None):
    """Entry point of the ``fastnn`` command."""
    args = build_parser().parse_args(argv)
    command = args.command if getattr(args, "action", None) is None else f"{args.command} {args.action}"
    check = getattr(args, "check", None)
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning(command)
            # the arguments and files first: a mistake ends the command before any work
            with _paths.writing(*(check(args) if check else ([],))):
                # so that a slow first epoch is not read as the speed
                _numba_cache.announce_if_cold(_numba_cache.command_dtypes(args),
                                              entry_points=_numba_cache.command_entry_points(args),
                                              panels=_numba_cache.command_panels(args))
                return args.func(args)
    except (ValueError, TypeError, FileNotFoundError) as exc:
        print(f"fastnn {command}: error: {exc}", file=sys.stderr)
        return 2
