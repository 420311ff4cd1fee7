"""``fastnn demo gates|regression|colorize``: the perceptron gates, the regression solvers, the colorizer.

Every input is checked before anything is trained or written; the picture of
``demo colorize`` is written atomically.
"""
import io
import os

from .. import colorize
from ..persistence import atomic_write
from ._args import subcommand
from .colorize import add_model_arguments, colorizer_from_args


def add_parser(subparsers):
    """Register ``demo {gates,regression,colorize}`` on an argparse ``subparsers`` object.

    Returns
    -------
    argparse.ArgumentParser
        The new subparser; its ``func`` default is :func:`run_demo`.
    """
    parser = subcommand(subparsers, "demo", help="perceptron gates, the regression solvers or the colorizer")
    which = parser.add_subparsers(dest="which", required=True)
    for name, text in [("gates", "truth tables and the NAND adder"),
                       ("regression", "every linear-regression solver on the diabetes set")]:
        subcommand(which, name, help=text, description=text).set_defaults(func=run_demo)
    colour = subcommand(which, "colorize", help="colour bundled photos: the same scene, then held-out photos, "
                                                "with baselines",
                        description="Train a colorizer on one view of the stereo pair and colour the other; "
                                    "then train on six bundled photos and colour the two held out.")
    add_colorize_demo_arguments(colour)
    colour.set_defaults(func=run_demo, check=check_colorize)
    return parser


def check_colorize(args):
    """What ``demo colorize`` writes (for :func:`fastnn.cli._paths.writing`)."""
    return [("--out", args.out, "plot")], (), ()


def run_demo(args):
    """Run the demo chosen by ``args.which``; return the exit code (0)."""
    if args.which == "colorize":
        return run_colorize_demo(args)
    from ..demo import gates_table, regression_table

    print(gates_table() if args.which == "gates" else regression_table())
    return 0


def demo_figure(rows, photos, path):
    """Write a grayscale | fastnn unrefined | fastnn | original picture, one row per photo, atomically.

    The unrefined panel (the network's chroma before the guided filter) is shown when the rows have it.

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
    methods = ["fastnn unrefined", "fastnn"] if any(row["method"] == "fastnn unrefined" for row in rows) \
        else ["fastnn"]
    fig.set_size_inches(3.0 * (len(methods) + 2), fig.get_size_inches()[1])
    axes = fig.subplots(len(names), len(methods) + 2, squeeze=False)
    for ax_row, name in zip(axes, names):
        gray = result[(name, "grayscale")]
        panels = [(gray["image_rgb"], f"{name}: grayscale input\n{gray['psnr']:.1f} dB, a*b* error {gray['ab_error']:.1f}")]
        for method in methods:
            net = result[(name, method)]
            label = "fastnn, refined" if method == "fastnn" and len(methods) > 1 else method
            panels.append((net["image_rgb"], f"{label}\na*b* error {net['ab_error']:.1f}, "
                                             f"blotchiness {net['blotchiness']:.2f}"))
        panels.append((photos[name], "original"))
        for ax, (image, title) in zip(ax_row, panels):
            ax.imshow(image)
            ax.set_title(title, fontsize=9)
            ax.set_axis_off()
    buffer = io.BytesIO()
    ext = os.path.splitext(path)[1].lower().lstrip(".")
    fig.savefig(buffer, format=ext, **({"pil_kwargs": {"quality": 85}} if ext in ("jpg", "jpeg") else {}))
    with atomic_write(path) as f:
        f.write(buffer.getvalue())


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


SAME_SCENE = ("motorcycle_left", "motorcycle_right")
"""The demo's same-scene case: trained on the first photo, colouring the second."""


def same_scene_demo(args, photos):
    """The demo's first part: train on one view of the stereo pair, colour the other.

    Returns :func:`fastnn.colorize.evaluate`'s rows (with the images).
    """
    train, test = SAME_SCENE
    model = colorizer_from_args(args)
    print(f"Same scene: training on {train} only, colouring {test} (the other view of the scene)")
    model.fit([photos[train]], progress=not args.no_progress)
    rows = colorize.evaluate(model, [photos[test]], names=[test], keep_images=True,
                             unrefined=model.refine is not None)
    print("PSNR (higher is better) / mean |a*b* error| (lower is better)")
    print(colorize.format_table(rows))
    print("Colourfulness (mean |a*b*|) / blotchiness (a*b* noise where L* is flat, lower is better)")
    print(colorize.format_table(rows, metrics=("colourfulness", "blotchiness")))
    return rows


def run_colorize_demo(args):
    """``fastnn demo colorize``: a same-scene case, then the bundled photos held out across scenes."""
    photos = colorize.bundled_photos()
    same_rows = same_scene_demo(args, photos)
    print()
    model = colorizer_from_args(args)
    print(f"Across scenes: training on {', '.join(colorize.TRAIN_PHOTOS)}; held out: "
          f"{', '.join(colorize.TEST_PHOTOS)}")
    print(f"{model!r}")
    if not args.no_mlp:
        print("scikit-learn's MLPRegressor trains on the same samples afterwards (slower)")
    result = colorize.compare([photos[n] for n in colorize.TRAIN_PHOTOS],
                              [photos[n] for n in colorize.TEST_PHOTOS], model,
                              names=list(colorize.TEST_PHOTOS), mlp=not args.no_mlp,
                              progress=not args.no_progress, keep_images=True,
                              unrefined=model.refine is not None)
    print()
    print(timing_summary(result, model))
    print()
    print("Held-out photos: PSNR (higher is better) / mean |a*b* error| (lower is better)")
    print(colorize.format_table(result["rows"]))
    print()
    print("Colourfulness (mean |a*b*|; the originals': "
          + ", ".join(f"{row['image']} {row['true_colourfulness']:.1f}" for row in result["rows"]
                      if row["method"] == "grayscale")
          + ") / blotchiness (a*b* noise where L* is flat, lower is better)")
    print(colorize.format_table(result["rows"], metrics=("colourfulness", "blotchiness")))
    demo_figure(same_rows + result["rows"], photos, args.out)
    print(f"\nWrote {args.out}")
    return 0


def add_colorize_demo_arguments(parser):
    """Options of ``fastnn demo colorize``."""
    parser.add_argument("--out", default="colorize_demo.png",
                        help="the picture to write; any extension matplotlib writes (default colorize_demo.png)")
    parser.add_argument("--no-mlp", action="store_true",
                        help="skip scikit-learn's MLPRegressor baseline (the slow part)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_model_arguments(parser.add_argument_group("colorize model options"))
