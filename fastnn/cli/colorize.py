"""``fastnn colorize train|apply`` (``fastnn demo colorize`` is in :mod:`fastnn.cli.demo`).

Every input is checked before anything is trained or written, and every file
is written atomically: a bad image, a bad model file or Ctrl-C leaves no
partial output behind.
"""
import sys

import numpy as np

from .. import colorize
from ..persistence import atomic_write
from ._args import nonnegative_float, nonnegative_int, parse_hidden, positive_float, positive_int, subcommand
from ._paths import image_format


def write_image(rgb, path, fmt):
    """Write a float RGB image in [0, 1] to ``path`` (format ``fmt``) atomically."""
    from PIL import Image

    pixels = np.clip(np.rint(np.asarray(rgb) * 255.0), 0, 255).astype(np.uint8)
    options = {"quality": 95} if fmt == "JPEG" else {}
    with atomic_write(path) as f:
        Image.fromarray(pixels).save(f, format=fmt, **options)


def colorizer_from_args(args):
    """The unfitted Colorizer of the model options (:func:`add_model_arguments`)."""
    return colorize.Colorizer(patch_size=args.patch_size, hidden_layer_sizes=args.hidden,
                              epochs=args.epochs, mini_batch_size=args.mini_batch_size, eta=args.eta,
                              lmbda=args.lmbda, cost=args.cost, dtype=args.dtype,
                              samples_per_image=args.samples_per_image, mode=args.mode,
                              bin_size=args.bin_size, temperature=args.temperature,
                              rebalance=args.rebalance, validation_fraction=args.validation_fraction,
                              refine=None if args.refine == "none" else args.refine,
                              refine_radius=args.refine_radius, refine_eps=args.refine_eps,
                              texture_scales=args.texture_scales, context_scales=args.context_scales,
                              n_networks=args.networks, random_state=args.seed)


def check_train(args):
    """What ``colorize train`` reads and writes (for :func:`fastnn.cli._paths.writing`)."""
    return [("--out", args.out, "model")], [("images", path, "any") for path in args.images], ()


def check_apply(args):
    """What ``colorize apply`` reads and writes (for :func:`fastnn.cli._paths.writing`).

    Exactly one of a model file and ``--reference`` photos must be given.
    """
    if args.model is not None and args.reference:
        raise ValueError("give either a model file or --reference photos, not both")
    if args.model is None and not args.reference:
        raise ValueError("give a model file (written by 'fastnn colorize train') or --reference photos "
                         "to train on")
    inputs = [("input", args.input, "file")]
    if args.model is not None:
        inputs.insert(0, ("model", args.model, "file"))
    inputs += [("--reference", path, "any") for path in args.reference or ()]
    return [("output", args.output, "image")], inputs, ()


def cmd_train(args):
    """``fastnn colorize train``: fit a colorizer on image files/folders and save it."""
    files = colorize.image_files(args.images)
    model = colorizer_from_args(args)
    print(f"Training on {len(files)} image(s): {model!r}")
    try:
        model.fit(files, progress=not args.no_progress)
    except KeyboardInterrupt:
        print("Interrupted: nothing written", file=sys.stderr)
        return 130
    model.save(args.out)
    networks = f"{len(model.networks_)} networks" if len(model.networks_) > 1 else "network"
    print(f"{model.n_samples_} pixels x {model.n_features_in_} features, {networks} {model.network_.sizes}, "
          f"{model.fit_seconds_:.1f} s of training")
    print(f"Saved colorizer to {args.out}")
    return 0


def train_on_references(args, gray):
    """The colorizer of ``apply --reference``, fitted on the reference photos (None if interrupted)."""
    files = colorize.image_files(args.reference)
    model = colorizer_from_args(args)
    if min(gray.shape[:2]) < model.patch_size:
        raise ValueError(f"input {args.input!r} is smaller than the {model.patch_size} x {model.patch_size} patch")
    print(f"Training on {len(files)} reference photo(s): {model!r}")
    try:
        model.fit(files, progress=not args.no_progress)
    except KeyboardInterrupt:
        print("Interrupted: nothing written", file=sys.stderr)
        return None
    print(f"{model.n_samples_} pixels x {model.n_features_in_} features, {model.fit_seconds_:.1f} s of training")
    return model


def cmd_apply(args):
    """``fastnn colorize apply``: colourise one image with a saved colorizer, or with one trained
    on ``--reference`` photos first (every file is checked before training; nothing is written
    if any is bad)."""
    fmt = image_format(args.output, "output")
    if args.reference:
        gray = colorize.read_image(args.input)  # a bad input fails before the training
        model = train_on_references(args, gray)
        if model is None:
            return 130
    else:
        model = colorize.Colorizer.load(args.model)
        gray = args.input
    rgb = model.predict(gray)
    write_image(rgb, args.output, fmt)
    print(f"Wrote {args.output} ({rgb.shape[1]} x {rgb.shape[0]} pixels)")
    return 0


def add_model_arguments(parser):
    """The Colorizer's parameters as options (defaults: the class's)."""
    defaults = colorize.Colorizer()
    parser.add_argument("--patch-size", type=positive_int, default=defaults.patch_size,
                        help="side of the lightness patch the network sees, odd (default %(default)s)")
    parser.add_argument("--hidden", type=parse_hidden, default=defaults.hidden_layer_sizes,
                        help="hidden layer sizes, comma-separated positive integers such as 32,32; "
                             "'' for none (default 32,32)")
    parser.add_argument("--epochs", type=nonnegative_int, default=defaults.epochs,
                        help="epochs of training (default %(default)s)")
    parser.add_argument("--mini-batch-size", type=positive_int, default=defaults.mini_batch_size,
                        help="samples per gradient step (default %(default)s)")
    parser.add_argument("--eta", type=positive_float, default=defaults.eta,
                        help="learning rate (default %(default)s)")
    parser.add_argument("--lmbda", type=nonnegative_float, default=defaults.lmbda,
                        help="L2 regularisation of the weights (default %(default)s)")
    parser.add_argument("--cost", choices=["cross-entropy", "quadratic"], default=defaults.cost,
                        help="the network's cost function (default %(default)s)")
    parser.add_argument("--dtype", choices=["float32", "float64"], default=defaults.dtype,
                        help="precision of the network (default %(default)s)")
    parser.add_argument("--samples-per-image", type=positive_int, default=defaults.samples_per_image,
                        help="training pixels drawn from each image (default %(default)s)")
    parser.add_argument("--mode", choices=["regression", "bins"], default=defaults.mode,
                        help="regression of a*, b*, or classification over a*b* bins (default %(default)s)")
    parser.add_argument("--bin-size", type=positive_int, default=defaults.bin_size,
                        help="side of the a*b* bins with --mode bins (default %(default)s)")
    parser.add_argument("--temperature", type=positive_float, default=defaults.temperature,
                        help="the annealed mean's temperature with --mode bins (default %(default)s)")
    parser.add_argument("--rebalance", type=nonnegative_float, default=None, metavar="MIX",
                        help="with --mode bins: class rebalancing, the uniform distribution's share in [0, 1] "
                             "(Zhang et al.: 0.5; default: off)")
    parser.add_argument("--validation-fraction", type=positive_float, default=None,
                        help="early stopping: fraction of the training pixels held out, stop when their "
                             "a*b* error stops falling (default: off)")
    parser.add_argument("--refine", choices=["guided", "none"], default=defaults.refine or "none",
                        help="edge-aware refinement of the predicted chroma, guided by the lightness "
                             "(default %(default)s)")
    parser.add_argument("--refine-radius", type=positive_int, default=defaults.refine_radius,
                        help="the refinement's window radius in pixels (default %(default)s)")
    parser.add_argument("--refine-eps", type=positive_float, default=defaults.refine_eps,
                        help="the refinement's regularisation in (L*/100)^2 (default %(default)s)")
    parser.add_argument("--texture-scales", type=parse_hidden, default=defaults.texture_scales,
                        metavar="SIDES",
                        help="texture features: the std of L* over windows of these sides, comma-separated "
                             "such as 5,11,23; '' for none (default: none)")
    parser.add_argument("--context-scales", type=parse_hidden, default=defaults.context_scales,
                        metavar="STEPS",
                        help="coarse neighbourhoods: 5 x 5 samples of the blurred L* this many pixels apart, "
                             "comma-separated; '' for none (default: 4,16)")
    parser.add_argument("--networks", type=positive_int, default=defaults.n_networks,
                        help="networks trained from different seeds, their a*b* averaged (default %(default)s)")
    parser.add_argument("--seed", type=nonnegative_int, default=0,
                        help="random_state: pixel draws, initial weights, shuffles (default %(default)s)")


def add_parser(subparsers):
    """Register ``colorize train`` and ``colorize apply`` on an argparse ``subparsers`` object.

    Returns
    -------
    argparse.ArgumentParser
        The ``colorize`` parser.
    """
    parser = subcommand(subparsers, "colorize", help="train a colorizer on photos or colour a grayscale image")
    sub = parser.add_subparsers(dest="action", required=True)
    train = subcommand(sub, "train", help="train a colorizer on colour photos and save it")
    train.add_argument("images", nargs="+", help="JPEG/PNG files or folders of them")
    train.add_argument("--out", required=True, metavar="MODEL.npz",
                       help="where to save the colorizer (required; the name must end in .npz)")
    add_model_arguments(train)
    train.add_argument("--no-progress", action="store_true", help="no progress bar")
    train.set_defaults(func=cmd_train, check=check_train)
    apply = subcommand(sub, "apply", help="colour an image with a saved colorizer, or train on reference photos "
                                          "and colour it in one step")
    apply.add_argument("model", nargs="?", help="a .npz file written by 'fastnn colorize train' "
                                                "(omit it with --reference)")
    apply.add_argument("input", help="the image (grayscale, or colour: its lightness is used)")
    apply.add_argument("output", help="the coloured image (.png, .jpg, ...); not the input image")
    apply.add_argument("--reference", action="append", metavar="PHOTO",
                       help="a colour photo (or folder of them) of the same kind of scene to train on first; "
                            "repeat for several (default: none, a model file is applied)")
    add_model_arguments(apply)
    apply.add_argument("--no-progress", action="store_true", help="no progress bar")
    apply.set_defaults(func=cmd_apply, check=check_apply)
    return parser
