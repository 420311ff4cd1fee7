"""Argument types shared by the command-line modules (below ``cli``, ``bench``, ``sweep`` and ``demo``)."""
import argparse


def parse_sizes(text):
    """Parse ``"784,30,10"`` into a list of ints."""
    try:
        return [int(s) for s in text.replace(" ", "").split(",") if s]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--sizes must be comma-separated integers, got {text!r}") from None
