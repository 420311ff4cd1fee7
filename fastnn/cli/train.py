"""``fastnn train``: train a network and print accuracy and time per epoch."""
import os
import sys

from ._args import add_data_arguments, default_sizes


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


def add_parser(subparsers):
    """Register ``fastnn train`` on an argparse ``subparsers`` object; returns its parser."""
    train = subparsers.add_parser("train", help="train a network and print per-epoch accuracy")
    add_data_arguments(train)
    train.add_argument("--engine", choices=["jit", "reference", "matrix"], default="jit")
    add_training_arguments(train)
    train.set_defaults(func=cmd_train)
    return train


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
        from ..plot import learning_curves

        learning_curves(net.history_, args.plot, title=repr(net))
        print(f"Wrote learning curves to {args.plot}")


def cmd_train(args):
    """Train a network and print accuracy and time per epoch."""
    from .. import datasets
    from ..network import Network

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
