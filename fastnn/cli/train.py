"""``fastnn train``: train a network and print accuracy and time per epoch."""
import os
import sys

from ._args import (add_data_arguments, default_sizes, nonnegative_float, nonnegative_int, plural, positive_int,
                    subcommand)


def add_training_arguments(parser):
    """``fastnn train`` options of chapter 3, persistence, threads and progress."""
    parser.add_argument("--cost", choices=["quadratic", "cross-entropy"], default="quadratic",
                        help="chapter 1's quadratic cost or chapter 3's cross-entropy")
    parser.add_argument("--init", choices=["large", "default"], default="large",
                        help="'large': N(0,1) weights (chapter 1); 'default': N(0,1/n_in) (chapter 3)")
    parser.add_argument("--lmbda", type=nonnegative_float, default=0.0,
                        help="L2 regularisation parameter (eq. 93)")
    parser.add_argument("--early-stopping", type=nonnegative_int, default=0, metavar="N",
                        help="stop after N epochs without test-accuracy improvement (0: off)")
    parser.add_argument("--eta-schedule", type=nonnegative_int, default=0, metavar="N",
                        help="halve eta after N epochs without improvement (printed), stop at eta/128 (0: off)")
    parser.add_argument("--save", metavar="MODEL.npz",
                        help="save the trained network, also on Ctrl-C (default: not saved); the name must "
                             "end in .npz")
    parser.add_argument("--plot", metavar="CURVES.png",
                        help="write learning curves, cost and accuracy per epoch, x axis numbered as "
                             "printed (default: no plot); any extension matplotlib writes")
    parser.add_argument("--plot-units", metavar="UNITS.png",
                        help="draw each first-hidden-layer neuron's incoming weights as an image, for "
                             "square inputs (default: no picture)")
    parser.add_argument("--checkpoint", metavar="CHECKPOINT.npz",
                        help="save a checkpoint after every epoch (default: none); may be the --save file")
    parser.add_argument("--resume", action="store_true",
                        help="continue the run in --checkpoint (if it exists) up to --epochs")
    parser.add_argument("--threads", type=positive_int, default=None, metavar="N",
                        help="threads of the jit engine (default: chosen at run time from measured "
                             "speed); results are the same for any N")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def add_parser(subparsers):
    """Register ``fastnn train`` on an argparse ``subparsers`` object; returns its parser."""
    train = subcommand(subparsers, "train", help="train a network and print per-epoch accuracy",
                       description="Train a network on --data and print the test accuracy after "
                                   "each epoch, numbered from 0 as in the book.")
    add_data_arguments(train)
    train.add_argument("--engine", choices=["jit", "reference", "matrix"], default="jit",
                       help="the Numba kernels, or the NumPy references (slow, for checking)")
    add_training_arguments(train)
    train.set_defaults(func=cmd_train, check=check)
    return train


def check(args):
    """The checks argparse cannot make, before any work; returns what ``fastnn train`` reads
    and writes, for :func:`fastnn.cli._paths.writing`."""
    import numba

    if args.resume and not args.checkpoint:
        raise ValueError("--resume needs --checkpoint PATH")
    limit = numba.config.NUMBA_NUM_THREADS
    if args.threads is not None and args.threads > limit:
        raise ValueError(f"--threads {args.threads}: at most {limit} here (NUMBA_NUM_THREADS)")
    outputs = [("--save", args.save, "model"), ("--plot", args.plot, "plot"),
               ("--plot-units", args.plot_units, "plot"),
               ("--checkpoint", args.checkpoint, "model")]
    return outputs, [("--data", args.data, "any")], [("--save", "--checkpoint")]


class _EpochPrinter:
    """One line per epoch, in the format of the original ``fastnn train``, and a line when
    the learning-rate schedule halves eta."""

    def __init__(self, n_test, eta, schedule):
        self.n_test = n_test
        self.eta = eta
        self.schedule = schedule

    def __call__(self, net, record):
        from tqdm import tqdm

        if record["eta"] != self.eta:
            tqdm.write(f"eta halved to {record['eta']:g} after {plural(self.schedule, 'epoch')} without "
                       "improvement", file=sys.stdout)
            self.eta = record["eta"]
        correct = int(round(record["validation_accuracy"] * self.n_test))
        tqdm.write(f"Epoch {record['epoch']}: {correct} / {self.n_test} ({correct / self.n_test:.2%}), "
                   f"{record['seconds']:.3f} s", file=sys.stdout)


def _finish_train(args, net, interrupted):
    """Save the model and plot the curves requested on the command line."""
    if args.save:
        if interrupted and args.checkpoint and os.path.abspath(args.save) == os.path.abspath(args.checkpoint):
            print(f"Kept checkpoint {args.save} (last completed epoch)")
        else:
            net.save(args.save)
            state = " and part of the next, interrupted" if interrupted else ""
            print(f"Saved model to {args.save} ({plural(net.epochs_done_, 'epoch')}{state})")
    if args.plot and net.history_["epoch"]:
        from ..plot import learning_curves

        learning_curves(net.history_, args.plot, title=repr(net))
        print(f"Wrote learning curves to {args.plot}")
    if args.plot_units:
        plot_units(net, args.plot_units)


def cmd_train(args):
    """Train a network and print accuracy and time per epoch."""
    from .. import datasets
    from ..network import Network

    X_train, y_train, X_test, y_test = datasets.load_dataset(args.data)
    sizes = default_sizes(args, X_train, y_train)
    net = Network(sizes, seed=args.seed, engine=args.engine, cost=args.cost, init=args.init,
                  threads=args.threads)
    print(f"{net}: {len(X_train)} training and {len(X_test)} test samples from {args.data!r}")
    if args.resume and os.path.exists(args.checkpoint):
        print(f"Resuming from {args.checkpoint}")
    try:
        net.fit(X_train, y_train, epochs=args.epochs, mini_batch_size=args.mini_batch_size,
                eta=args.eta, lmbda=args.lmbda, validation_data=(X_test, y_test),
                early_stopping_n=args.early_stopping, eta_schedule_n=args.eta_schedule,
                progress=not args.no_progress, checkpoint=args.checkpoint, resume=args.resume,
                callback=_EpochPrinter(len(y_test), args.eta, args.eta_schedule))
    except KeyboardInterrupt:
        print(f"Interrupted after {plural(net.epochs_done_, 'complete epoch')}", file=sys.stderr)
        _finish_train(args, net, interrupted=True)
        return 130
    if net.stop_reason_:
        print(f"Stopped by the {net.stop_reason_} rule after {plural(net.epochs_done_, 'epoch')}")
    _finish_train(args, net, interrupted=False)
    return 0


def plot_units(net, path):
    """``fastnn train --plot-units FILE``: the first hidden layer's weights as square images."""
    import numpy as np

    from ..plot import hidden_units

    side = int(round(np.sqrt(net.sizes[0])))
    if side * side != net.sizes[0] or net.num_layers < 3:
        print(f"--plot-units: skipped, the inputs ({net.sizes[0]}) are not square images or the "
              f"network has no hidden layer")
        return
    hidden_units(net, (side, side), path)
    print(f"Wrote the hidden units' weights to {path}")
