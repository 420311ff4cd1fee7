"""``fastnn export``: convert a saved network to an ONNX file (for ONNX Runtime)."""
import os
import sys

from ._args import subcommand


def add_parser(subparsers):
    """Register ``fastnn export`` on an argparse ``subparsers`` object; returns its parser."""
    export = subcommand(subparsers, "export", help="convert a saved network to an ONNX file (for ONNX Runtime)")
    export.add_argument("model", help="a .npz file written by 'fastnn train --save', Network.save or "
                        "network3.Network.save (a chapter-6 network)")
    export.add_argument("output", help="the ONNX file to write, e.g. model.onnx")
    export.add_argument("--opset", type=int, default=None, help="ONNX opset (default 18, at least 9)")
    export.add_argument("--dtype", choices=["float64", "float32"], default=None,
                        help="precision of the exported model (default: the network's)")
    export.add_argument("--allow-untrained", action="store_true",
                        help="export a network saved before any training epoch")
    export.set_defaults(func=cmd_export, check=check)
    return export


def check(args):
    """What ``fastnn export`` reads and writes (for :func:`fastnn.cli._paths.writing`)."""
    return [("output", args.output, "text")], [("model", args.model, "file")], ()


def cmd_export(args):
    """Write the ONNX model of a saved network (``fastnn.onnx.export_file``)."""
    try:
        from ..onnx import export_file

        model = export_file(args.model, args.output, opset=args.opset, dtype=args.dtype,
                            allow_untrained=args.allow_untrained)
    except (OSError, ImportError) as exc:  # unwritable output, onnx not installed: one line, no traceback
        print(f"fastnn export: error: {exc}", file=sys.stderr)
        return 2
    n_in, n_out = (d.dim_value for d in (model.graph.input[0].type.tensor_type.shape.dim[1],
                                         model.graph.output[0].type.tensor_type.shape.dim[1]))
    print(f"Wrote {args.output} ({os.path.getsize(args.output):,} bytes, opset {model.opset_import[0].version}): "
          f"input X (batch, {n_in}), outputs activations (batch, {n_out}) and label (batch,)")
    return 0
