"""``fastnn colorize train|apply`` and ``fastnn demo colorize``.

Every input is checked before anything is trained or written, and every file
is written atomically: a bad image, a bad model file or Ctrl-C leaves no
partial output behind.
"""
import io
import os
import sys

import numpy as np

from . import colorize
from .persistence import atomic_write


def _parse_hidden(text):
    """``"64,64"`` -> ``(64, 64)``; ``""`` -> ``()`` (no hidden layer)."""
    import argparse

    try:
        return tuple(int(s) for s in text.replace(" ", "").split(",") if s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--hidden must be comma-separated integers, got {text!r}") from None


def _check_output_dir(path, option):
    """ValueError if ``path``'s folder does not exist (checked before any long work)."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ValueError(f"{option} {path!r}: folder {folder!r} does not exist")


def _pillow_format(path, option):
    """Pillow's format name for ``path``'s extension, or ValueError if Pillow cannot write it."""
    from PIL import Image

    Image.init()
    ext = os.path.splitext(path)[1].lower()
    fmt = Image.registered_extensions().get(ext)
    if fmt is None or fmt not in Image.SAVE:
        raise ValueError(f"{option} {path!r}: unknown image type {ext or '(no extension)'!r}; use .png or .jpg")
    _check_output_dir(path, option)
    return fmt


def write_image(rgb, path, fmt):
    """Write a float RGB image in [0, 1] to ``path`` (format ``fmt``) atomically."""
    from PIL import Image

    pixels = np.clip(np.rint(np.asarray(rgb) * 255.0), 0, 255).astype(np.uint8)
    options = {"quality": 95} if fmt == "JPEG" else {}
    with atomic_write(path) as f:
        Image.fromarray(pixels).save(f, format=fmt, **options)


def _colorizer_from_args(args):
    return colorize.Colorizer(patch_size=args.patch_size, hidden_layer_sizes=args.hidden,
                              epochs=args.epochs, mini_batch_size=args.mini_batch_size, eta=args.eta,
                              cost=args.cost, dtype=args.dtype,
                              samples_per_image=args.samples_per_image, random_state=args.seed)


def cmd_train(args):
    """``fastnn colorize train``: fit a colorizer on image files/folders and save it."""
    if not args.out.lower().endswith(".npz"):
        raise ValueError(f"--out {args.out!r}: the model file name must end in .npz")
    _check_output_dir(args.out, "--out")
    files = colorize.image_files(args.images)
    model = _colorizer_from_args(args)
    print(f"Training on {len(files)} image(s): {model!r}")
    try:
        model.fit(files, progress=not args.no_progress)
    except KeyboardInterrupt:
        print("Interrupted: nothing written", file=sys.stderr)
        return 130
    model.save(args.out)
    print(f"{model.n_samples_} pixels x {model.n_features_in_} features, network {model.network_.sizes}, "
          f"{model.fit_seconds_:.1f} s of training")
    print(f"Saved colorizer to {args.out}")
    return 0


def cmd_apply(args):
    """``fastnn colorize apply``: colourise one image with a saved colorizer."""
    fmt = _pillow_format(args.output, "output")
    model = colorize.Colorizer.load(args.model)
    rgb = model.predict(args.input)
    write_image(rgb, args.output, fmt)
    print(f"Wrote {args.output} ({rgb.shape[1]} x {rgb.shape[0]} pixels)")
    return 0


def add_model_arguments(parser):
    """The Colorizer's parameters as options (defaults: the class's)."""
    defaults = colorize.Colorizer()
    parser.add_argument("--patch-size", type=int, default=defaults.patch_size,
                        help="side of the lightness patch the network sees, odd (default %(default)s)")
    parser.add_argument("--hidden", type=_parse_hidden, default=defaults.hidden_layer_sizes,
                        help="hidden layer sizes, e.g. 32,32 (default 32,32)")
    parser.add_argument("--epochs", type=int, default=defaults.epochs, help="(default %(default)s)")
    parser.add_argument("--mini-batch-size", type=int, default=defaults.mini_batch_size,
                        help="(default %(default)s)")
    parser.add_argument("--eta", type=float, default=defaults.eta, help="learning rate (default %(default)s)")
    parser.add_argument("--cost", choices=["cross-entropy", "quadratic"], default=defaults.cost,
                        help="(default %(default)s)")
    parser.add_argument("--dtype", choices=["float32", "float64"], default=defaults.dtype,
                        help="(default %(default)s)")
    parser.add_argument("--samples-per-image", type=int, default=defaults.samples_per_image,
                        help="training pixels drawn from each image (default %(default)s)")
    parser.add_argument("--seed", type=int, default=0,
                        help="random_state: pixel draws, initial weights, shuffles (default %(default)s)")


def add_colorize_parser(subparsers):
    """Register ``colorize train`` and ``colorize apply`` on an argparse ``subparsers`` object.

    Returns
    -------
    argparse.ArgumentParser
        The ``colorize`` parser.
    """
    parser = subparsers.add_parser("colorize", help="train a colorizer on photos or colour a grayscale image")
    sub = parser.add_subparsers(dest="action", required=True)
    train = sub.add_parser("train", help="train a colorizer on colour photos and save it")
    train.add_argument("images", nargs="+", help="JPEG/PNG files or folders of them")
    train.add_argument("--out", required=True, metavar="MODEL.npz", help="where to save the colorizer")
    add_model_arguments(train)
    train.add_argument("--no-progress", action="store_true", help="no progress bar")
    train.set_defaults(func=cmd_train)
    apply = sub.add_parser("apply", help="colour an image with a saved colorizer")
    apply.add_argument("model", help="a .npz file written by 'fastnn colorize train'")
    apply.add_argument("input", help="the image (grayscale, or colour: its lightness is used)")
    apply.add_argument("output", help="the coloured image (.png, .jpg, ...)")
    apply.set_defaults(func=cmd_apply)
    return parser


# -- fastnn demo colorize --------------------------------------------------------------------

def demo_figure(rows, photos, path):
    """Write a grayscale | fastnn | original picture, one row per held-out photo, atomically.

    Parameters
    ----------
    rows : list of dict
        :func:`fastnn.colorize.evaluate`'s rows with ``keep_images=True``.
    photos : dict
        Name -> original RGB image.
    path : str
        Output file; its extension picks the format (.png, .jpg, .pdf, .svg).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    result = {(row["image"], row["method"]): row for row in rows}
    names = list(dict.fromkeys(row["image"] for row in rows))
    height = sum(photos[n].shape[0] / photos[n].shape[1] for n in names)
    fig = Figure(figsize=(9.0, 3.0 * height + 0.3 * len(names)), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(names), 3, squeeze=False)
    for ax_row, name in zip(axes, names):
        gray, net = result[(name, "grayscale")], result[(name, "fastnn")]
        panels = [(gray["image_rgb"], f"{name}: grayscale input\n{gray['psnr']:.1f} dB, a*b* error {gray['ab_error']:.1f}"),
                  (net["image_rgb"], f"fastnn\n{net['psnr']:.1f} dB, a*b* error {net['ab_error']:.1f}"),
                  (photos[name], "original")]
        for ax, (image, title) in zip(ax_row, panels):
            ax.imshow(image)
            ax.set_title(title, fontsize=9)
            ax.set_axis_off()
    buffer = io.BytesIO()
    ext = os.path.splitext(path)[1].lower().lstrip(".")
    fig.savefig(buffer, format=ext, **({"pil_kwargs": {"quality": 85}} if ext in ("jpg", "jpeg") else {}))
    with atomic_write(path) as f:
        f.write(buffer.getvalue())


def _check_figure_path(path):
    """ValueError unless matplotlib can write ``path``'s extension and its folder exists."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    supported = FigureCanvasAgg(Figure()).get_supported_filetypes()
    ext = os.path.splitext(path)[1].lower().lstrip(".")
    if ext not in supported:
        raise ValueError(f"--out {path!r}: unknown picture type {ext!r}; use .png, .jpg, .pdf or .svg")
    _check_output_dir(path, "--out")


def timing_summary(result, colorizer):
    """Lines on the training set's shape and each method's training seconds."""
    seconds = result["seconds"]
    params = colorizer.get_params()
    lines = [f"Training set: {result['samples']} pixels x {result['features']} features "
             f"({len(colorize.TRAIN_PHOTOS)} photos x {params['samples_per_image']} pixels); network "
             f"{colorizer.network_.sizes}, {params['epochs']} epochs, mini-batch {params['mini_batch_size']}"]
    for method, value in seconds.items():
        ratio = "" if method == "fastnn" else f"  ({value / seconds['fastnn']:.1f} x fastnn's time)"
        lines.append(f"  {method:<17} {value:8.2f} s{ratio}")
    return "\n".join(lines)


def run_demo(args):
    """``fastnn demo colorize``: train on the bundled photos, colour the held-out ones."""
    _check_figure_path(args.out)
    photos = colorize.bundled_photos()
    model = _colorizer_from_args(args)
    print(f"Training on {', '.join(colorize.TRAIN_PHOTOS)}; held out: {', '.join(colorize.TEST_PHOTOS)}")
    print(f"{model!r}")
    if not args.no_mlp:
        print("scikit-learn's MLPRegressor trains on the same samples afterwards (slower)")
    result = colorize.compare([photos[n] for n in colorize.TRAIN_PHOTOS],
                              [photos[n] for n in colorize.TEST_PHOTOS], model,
                              names=list(colorize.TEST_PHOTOS), mlp=not args.no_mlp,
                              progress=not args.no_progress, keep_images=True)
    print()
    print(timing_summary(result, model))
    print()
    print("Held-out photos: PSNR (higher is better) / mean |a*b* error| (lower is better)")
    print(colorize.format_table(result["rows"]))
    demo_figure(result["rows"], photos, args.out)
    print(f"\nWrote {args.out}")
    return 0


def add_demo_arguments(parser):
    """Options of ``fastnn demo colorize``."""
    parser.add_argument("--out", default="colorize_demo.png",
                        help="colorize: the picture to write (default colorize_demo.png)")
    parser.add_argument("--no-mlp", action="store_true",
                        help="colorize: skip scikit-learn's MLPRegressor baseline (the slow part)")
    parser.add_argument("--no-progress", action="store_true", help="colorize: no progress bar")
    add_model_arguments(parser.add_argument_group("colorize model options"))
