"""``fastnn book EXPERIMENT``: rerun one of the book's experiments (:mod:`fastnn.experiments`).

Prints the book-style lines, then writes the figure and a JSON of the numbers (both
atomically) to ``--out``.
"""
import os
import time

from ._args import subcommand


def add_parser(subparsers):
    """Register ``fastnn book`` on an argparse ``subparsers`` object; returns its parser."""
    from .. import experiments

    book = subcommand(subparsers, "book", help="rerun one of the book's experiments (chapters 3 and 5)",
                      description="Rerun one of the experiments behind the book's figures: "
                                  "print its numbers, write its figure and a JSON of the numbers.")
    book.add_argument("experiment", choices=experiments.EXPERIMENTS,
                      help="which experiment: " + ", ".join(experiments.EXPERIMENTS))
    book.add_argument("--full", action="store_true",
                      help="the book's sizes (e.g. 400 epochs, up to 50,000 training images) instead of "
                           "the quick settings sized for the digits (default: quick)")
    book.add_argument("--data", default="digits",
                      help="'digits' (bundled, default), a folder of IDX files, or the book's mnist.pkl.gz")
    book.add_argument("--out", default=".", metavar="DIR",
                      help="folder for book-EXPERIMENT.png and book-EXPERIMENT.json (default: .)")
    book.add_argument("--svm", action="store_true",
                      help="more-data: also fit scikit-learn's SVC, as the book (default: off)")
    book.add_argument("--seed", type=int, default=12345678, help="random seed (default: 12345678)")
    book.set_defaults(func=cmd_book)
    return book


def cmd_book(args):
    """Run the experiment, print its lines, write its figure and JSON."""
    from .. import datasets, experiments

    if not os.path.isdir(args.out):
        raise ValueError(f"--out {args.out!r} is not an existing folder")
    if args.svm and args.experiment != "more-data":
        raise ValueError("--svm belongs to the more-data experiment")
    X_train, y_train, X_test, y_test = datasets.load_dataset(args.data)
    size = "full size" if args.full else "quick settings"
    print(f"{args.experiment} ({size}): {len(X_train)} training and {len(X_test)} test rows from {args.data!r}")
    extra = {"svm": True} if args.svm else {}
    start = time.perf_counter()
    result = experiments.run(args.experiment, X_train, y_train, X_test, y_test, full=args.full,
                             seed=args.seed, **extra)
    result["data"] = {"spec": str(args.data), "n_train": len(X_train), "n_test": len(X_test)}
    base = os.path.join(args.out, f"book-{args.experiment}")
    experiments.save_figure(result, base + ".png")
    experiments.save_json(result, base + ".json")
    print(f"{time.perf_counter() - start:.1f} s; wrote {base}.png and {base}.json")
    return 0
