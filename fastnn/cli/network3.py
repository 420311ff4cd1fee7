"""``fastnn network3``: train one of chapter 6's networks by name, printing the book's lines."""
import sys
import time

from ._args import nonnegative_float, nonnegative_int, plural, positive_float, positive_int, subcommand


def add_parser(subparsers):
    """Register ``fastnn network3`` on an argparse ``subparsers`` object; returns its parser."""
    from .._conv_presets import DEFAULT_PRESET, PRESETS

    listing = "; ".join(f"{p.name}: {p.summary}, eta {p.eta:g}, lmbda {p.lmbda:g}, {p.epochs} epochs"
                        for p in PRESETS.values())
    network3 = subcommand(
        subparsers, "network3", help="train one of chapter 6's convolutional networks (network3.py) by name",
        description="Train one of chapter 6's networks with fastnn.network3 and print what the book's "
                    "network3.py prints: the mini-batch count every 1000 mini-batches, the validation "
                    "accuracy of every epoch, the test accuracy at the best validation epoch. "
                    f"Presets: {listing}.")
    network3.add_argument("--preset", choices=list(PRESETS), default=DEFAULT_PRESET,
                          help="which of the chapter's networks (its eta, lmbda and epochs are the defaults)")
    network3.add_argument("--data", default="digits",
                          help="'digits' (scikit-learn's bundled 8x8 digits enlarged to 28x28, no files), "
                               "a folder of IDX files (MNIST, Fashion-MNIST), or the book's mnist.pkl.gz")
    network3.add_argument("--epochs", type=nonnegative_int, default=None, help="epochs (default: the preset's)")
    network3.add_argument("--mini-batch-size", type=positive_int, default=10,
                          help="samples per gradient step (the book's mini_batch_size)")
    network3.add_argument("--eta", type=positive_float, default=None, help="learning rate (default: the preset's)")
    network3.add_argument("--lmbda", type=nonnegative_float, default=None,
                          help="L2 regularisation parameter (default: the preset's)")
    network3.add_argument("--dtype", choices=["float64", "float32"], default="float64",
                          help="precision of the parameters and of all computation")
    network3.add_argument("--seed", type=nonnegative_int, default=0,
                          help="seed of the initial parameters and of the dropout masks")
    network3.add_argument("--threads", type=positive_int, default=1, metavar="N",
                          help="threads of the kernels; results are the same for any N")
    network3.add_argument("--validation-size", type=positive_int, default=None, metavar="N",
                          help="last N training images kept for validation, for digits and IDX folders "
                               "(default: 297 for digits, the book's 10000 for a folder)")
    network3.add_argument("--train-size", type=positive_int, default=None, metavar="N",
                          help="train on the first N training images only (default: all)")
    network3.add_argument("--save", metavar="MODEL.npz",
                          help="save the trained network, also on Ctrl-C (default: not saved); the name "
                               "must end in .npz; load it with fastnn.network3.Network.load")
    network3.set_defaults(func=cmd_network3, check=check)
    return network3


def check(args):
    """The checks argparse cannot make, before any work; returns what ``fastnn network3`` reads
    and writes, for :func:`fastnn.cli._paths.writing`."""
    import numba

    limit = numba.config.NUMBA_NUM_THREADS
    if args.threads > limit:
        raise ValueError(f"--threads {args.threads}: at most {limit} here (NUMBA_NUM_THREADS)")
    if args.validation_size is not None and str(args.data).endswith(".pkl.gz"):
        raise ValueError("--validation-size: mnist.pkl.gz has its own validation split; use it with "
                         "'digits' or a folder of IDX files")
    return [("--save", args.save, "model")], [("--data", args.data, "any")], ()


def settings(args):
    """The preset and the hyperparameters the command will use (the options override the preset's)."""
    from .._conv_presets import PRESETS

    preset = PRESETS[args.preset]
    return preset, {"epochs": preset.epochs if args.epochs is None else args.epochs,
                    "eta": preset.eta if args.eta is None else args.eta,
                    "lmbda": preset.lmbda if args.lmbda is None else args.lmbda}


def build_network(args):
    """The preset's :class:`fastnn.network3.Network`, seeded, in ``--dtype`` with ``--threads``."""
    from .. import network3
    from .._conv_presets import build_layers

    layers = build_layers(args.preset, args.mini_batch_size)
    return network3.Network(layers, args.mini_batch_size, seed=args.seed, dtype=args.dtype,
                            threads=args.threads)


def cmd_network3(args):
    """Train the preset with the book's ``SGD`` (its printed lines), then save if asked."""
    from .. import _numba_cache
    from .._conv_presets import load_conv_data

    preset, hyper = settings(args)
    training, validation, test = load_conv_data(args.data, args.validation_size, args.train_size)
    net = build_network(args)
    print(f"{preset.name}: {preset.summary}; eta {hyper['eta']:g}, lmbda {hyper['lmbda']:g}, "
          f"mini-batch {args.mini_batch_size}, {plural(hyper['epochs'], 'epoch')}, {args.dtype}; "
          f"{len(training[0])} training, {len(validation[0])} validation and {len(test[0])} test "
          f"images from {args.data!r}")
    _numba_cache.announce_if_cold([args.dtype], entry_points=_numba_cache.CONV_ENTRY_POINTS)
    wall, cpu = time.perf_counter(), time.process_time()
    try:
        net.SGD(training, hyper["epochs"], args.mini_batch_size, hyper["eta"], validation, test,
                lmbda=hyper["lmbda"])
    except KeyboardInterrupt:
        print(f"Interrupted after {plural(net.epochs_done_, 'complete epoch')}", file=sys.stderr)
        _save(args, net)
        return 130
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"{plural(net.epochs_done_, 'epoch')} in {wall:.1f} s ({cpu:.1f} s of CPU, {args.threads} "
          f"thread{'s' if args.threads > 1 else ''})")
    _save(args, net)
    return 0


def _save(args, net):
    if args.save:
        net.save(args.save)
        print(f"Saved model to {args.save} ({plural(net.epochs_done_, 'epoch')})")
