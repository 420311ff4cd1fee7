"""``fastnn mnist-pkl`` and ``fastnn expand-mnist``: the data files of the book's scripts.

``mnist-pkl`` writes the book's ``mnist.pkl.gz`` (50,000 / 10,000 / 10,000)
from a folder of MNIST-named IDX files (MNIST, Fashion-MNIST, ...);
``expand-mnist`` is the book's ``expand_mnist.py``.  Both write atomically and
leave an existing file alone unless ``--force`` is given.
"""
import os
import sys

from ._args import subcommand

__all__ = ["add_parser", "cmd_mnist_pkl", "cmd_expand_mnist"]


def _exists(path, force):
    """True (after printing why) if ``path`` exists and ``--force`` was not given."""
    if os.path.exists(path) and not force:
        print(f"{path} already exists; nothing written (use --force to replace it)", file=sys.stderr)
        return True
    return False


def _summary(path, sizes):
    n_train, n_validation, n_test = sizes
    print(f"Wrote {path}: {n_train} training, {n_validation} validation and {n_test} test images")


def cmd_mnist_pkl(args):
    """Write the book's ``mnist.pkl.gz`` from IDX files; return the exit code."""
    from ..datasets import idx_to_mnist_pkl

    if _exists(args.output, args.force):
        return 1
    _summary(args.output, idx_to_mnist_pkl(args.folder, args.output, n_validation=args.validation,
                                           protocol=args.protocol))
    return 0


def cmd_expand_mnist(args):
    """Write the expanded training set as the book's ``expand_mnist.py``; return the exit code."""
    from ..expand import expand_mnist_pkl

    if _exists(args.output, args.force):
        return 1
    print("Expanding the MNIST training set")
    _summary(args.output, expand_mnist_pkl(args.input, args.output, seed=args.seed, overwrite=True,
                                           protocol=args.protocol))
    return 0


def add_parser(subparsers):
    """Register ``mnist-pkl`` and ``expand-mnist`` on an argparse ``subparsers`` object.

    Returns
    -------
    tuple of argparse.ArgumentParser
        The two new subparsers.
    """
    pkl = subcommand(
        subparsers, "mnist-pkl", help="write the book's mnist.pkl.gz from a folder of IDX files",
        description="Write the book's mnist.pkl.gz: the first n-V training images, the last V "
                    "(validation), and the t10k images (test); float32 pixels in [0, 1], int64 labels.")
    pkl.add_argument("folder", help="folder with train-*-ubyte[.gz] and t10k-*-ubyte[.gz] IDX files")
    pkl.add_argument("-o", "--output", default="mnist.pkl.gz",
                     help="output file (default: mnist.pkl.gz; the book's scripts read ../data/mnist.pkl.gz)")
    pkl.add_argument("--validation", type=int, default=10000, metavar="V",
                     help="training images kept for validation, from the end (default: 10000)")
    pkl.add_argument("--protocol", type=int, choices=[2, 3, 4, 5], default=4, help="pickle protocol (default: 4)")
    pkl.add_argument("--force", action="store_true", help="replace an existing output file (default: keep it and stop)")
    pkl.set_defaults(func=cmd_mnist_pkl)

    exp = subcommand(
        subparsers, "expand-mnist", help="the book's expand_mnist.py: add 1-pixel shifts of every training image",
        description="Each training image plus its moves down, up, right and left by one pixel "
                    "(np.roll with the wrapped row/column zeroed), shuffled with --seed; validation "
                    "and test copied unchanged.")
    exp.add_argument("--input", default="../data/mnist.pkl.gz", help="default: ../data/mnist.pkl.gz")
    exp.add_argument("-o", "--output", default="../data/mnist_expanded.pkl.gz",
                     help="default: ../data/mnist_expanded.pkl.gz")
    exp.add_argument("--seed", type=int, default=0, help="seed of the shuffle (default: 0)")
    exp.add_argument("--protocol", type=int, choices=[2, 3, 4, 5], default=4, help="pickle protocol (default: 4)")
    exp.add_argument("--force", action="store_true", help="replace an existing output file (default: keep it and stop)")
    exp.set_defaults(func=cmd_expand_mnist)
    return pkl, exp
