"""The ONNX graph of the book's sigmoid network, shared by ``Network.to_onnx`` and the skl2onnx converters.

Imported only when something is exported: it is the one place (with
:mod:`fastnn._onnx_sklearn`) that imports ``onnx``, so ``import fastnn``,
training and prediction never load it.

Every layer is ``z = W a + b`` (a ``Gemm`` with the book's ``(out, in)``
weight matrix and ``transB=1``) followed by the sigmoid written out of
standard operators exactly as the kernels compute it
(:func:`fastnn.kernels.activations.sigmoid`): with ``e = exp(-|z|)``,
``sigma(z) = 1 / (1 + e)`` for ``z >= 0`` and ``e / (1 + e)`` for ``z < 0``.
ONNX's own ``Sigmoid`` operator is not used: ONNX Runtime computes it with an
absolute error of about one unit in the last place of 1, so a saturated
output such as sigma(-40) = 4.2e-18 comes back as 0, a relative error of 100 %.
"""
import numpy as np

try:
    import onnx
    from onnx import TensorProto, helper, numpy_helper
except ImportError as exc:  # the optional dependency is missing: say how to install it
    raise ImportError(f"exporting to ONNX needs the onnx package ({exc}); install the optional "
                      f'dependencies with: pip install "fastnn[onnx]"') from exc

from . import persistence
from ._validation import check_dtype
from ._version import __version__

#: Oldest opset the export supports: ``Where`` and ``Less`` on float tensors need opset 9.
MIN_OPSET = 9
#: Opset used when none is given: supported by ONNX Runtime 1.17 (2024) and later.
DEFAULT_OPSET = 18
#: ``ReduceSum`` takes its axes as an input instead of an attribute from this opset on.
_REDUCE_AXES_INPUT = 13

PROTO = {np.dtype(np.float64): TensorProto.DOUBLE, np.dtype(np.float32): TensorProto.FLOAT}


def check_opset(opset):
    """``opset`` (None: :data:`DEFAULT_OPSET`) as an int the export and the installed onnx support.

    Raises
    ------
    TypeError
        If ``opset`` is not an integer.
    ValueError
        If it is older than :data:`MIN_OPSET` or newer than the installed
        ``onnx`` package knows.
    """
    newest = onnx.defs.onnx_opset_version()
    if opset is None:
        return min(DEFAULT_OPSET, newest)
    if isinstance(opset, bool) or not isinstance(opset, (int, np.integer)):
        raise TypeError(f"opset must be an integer such as {DEFAULT_OPSET}, got {opset!r}")
    opset = int(opset)
    if opset < MIN_OPSET:
        raise ValueError(f"opset {opset} is too old: the export uses Where and Less on float tensors, "
                         f"which need opset {MIN_OPSET} or newer; pass opset={MIN_OPSET} or more "
                         f"(default {DEFAULT_OPSET})")
    if opset > newest:
        raise ValueError(f"opset {opset} is newer than the installed onnx {onnx.__version__} knows "
                         f"(at most {newest}); upgrade onnx or pass a smaller opset")
    return opset


class GraphBuilder:
    """Nodes and initializers of a standalone graph, with unique names."""

    def __init__(self, opset):
        self.opset = opset
        self.nodes = []
        self.initializers = []
        self._count = 0

    def name(self, prefix):
        self._count += 1
        return f"{prefix}_{self._count}"

    def constant(self, prefix, array):
        """Name of a new initializer holding ``array`` (its dtype and shape)."""
        name = self.name(prefix)
        self.initializers.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def node(self, op, inputs, output=None, **attrs):
        """Add a node with one output (named ``output`` or a fresh name); return that name."""
        output = output or self.name(op.lower())
        self.nodes.append(helper.make_node(op, list(inputs), [output], name=self.name(op), **attrs))
        return output


class ConverterBuilder:
    """The same interface over a skl2onnx ``scope`` and ``container`` (in a converter)."""

    def __init__(self, scope, container):
        self.scope = scope
        self.container = container
        self.opset = container.target_opset

    def name(self, prefix):
        return self.scope.get_unique_variable_name(prefix)

    def constant(self, prefix, array):
        array = np.asarray(array)
        name = self.name(prefix)
        if array.dtype.kind == "U":  # string tensors keep their values outside raw_data
            self.container.add_initializer(name, TensorProto.STRING, list(array.shape),
                                           [s.encode("utf-8") for s in array.ravel()])
        else:
            self.container.add_initializer(name, None, None, numpy_helper.from_array(array, name))
        return name

    def node(self, op, inputs, output=None, **attrs):
        output = output or self.name(op.lower())
        self.container.add_node(op, list(inputs), [output], name=self.scope.get_unique_operator_name(op),
                                **attrs)
        return output


def sigmoid(b, z, dtype):
    """sigma(z) (equation 3) elementwise, as the kernels compute it (see the module docstring)."""
    e = b.node("Exp", [b.node("Neg", [b.node("Abs", [z])])])              # exp(-|z|) <= 1
    numerator = b.node("Where", [b.node("Less", [z, b.constant("zero", dtype.type(0))]), e,
                                 b.constant("one", dtype.type(1))])
    return b.node("Div", [numerator, b.node("Add", [b.constant("one", dtype.type(1)), e])])


def feedforward(b, x, weights, biases, dtype):
    """Output activations a^L of the rows ``x`` (equation 22 layer by layer); returns their name."""
    a = x
    for l, (w, bias) in enumerate(zip(weights, biases)):
        W = b.constant(f"weights_{l}", np.ascontiguousarray(w, dtype=dtype))      # (out, in), the book's layout
        bv = b.constant(f"biases_{l}", np.ascontiguousarray(np.reshape(bias, -1), dtype=dtype))
        z = b.node("Gemm", [a, W, bv], transB=1)                                  # z = a W^T + b, row by row
        a = sigmoid(b, z, dtype)
    return a


def row_sums(b, x):
    """Sum of each row of ``x``, kept as a column (n, 1)."""
    if b.opset >= _REDUCE_AXES_INPUT:
        return b.node("ReduceSum", [x, b.constant("axes", np.array([1], dtype=np.int64))], keepdims=1)
    return b.node("ReduceSum", [x], axes=[1], keepdims=1)


def cast(b, x, from_dtype, to_proto, output=None):
    """``x`` converted to ``to_proto`` (an Identity when it already is of that type)."""
    if PROTO.get(np.dtype(from_dtype)) == to_proto:
        return b.node("Identity", [x], output)
    return b.node("Cast", [x], output, to=to_proto)


def network_model(weights, biases, dtype, opset, metadata, doc_string):
    """A checked ``onnx.ModelProto`` of a sigmoid network.

    Inputs ``X`` (batch, n_in); outputs ``activations`` (batch, n_out), the
    last layer's activations, and ``label`` (batch,), int64 index of the most
    active output neuron (the first one on ties, as ``numpy.argmax``).
    """
    dtype = np.dtype(dtype)
    b = GraphBuilder(opset)
    activations = feedforward(b, "X", weights, biases, dtype)
    b.node("Identity", [activations], "activations")
    b.node("ArgMax", ["activations"], "label", axis=1, keepdims=0)
    n_in, n_out = np.shape(weights[0])[1], np.shape(weights[-1])[0]
    graph = helper.make_graph(
        b.nodes, "fastnn_network",
        [helper.make_tensor_value_info("X", PROTO[dtype], ["batch", n_in])],
        [helper.make_tensor_value_info("activations", PROTO[dtype], ["batch", n_out]),
         helper.make_tensor_value_info("label", TensorProto.INT64, ["batch"])],
        initializer=b.initializers)
    opsets = [helper.make_opsetid("", opset)]
    model = helper.make_model(graph, opset_imports=opsets, producer_name="fastnn",
                              producer_version=__version__, doc_string=doc_string)
    # the oldest IR version that can carry this opset: runtimes older than the installed onnx load it
    model.ir_version = helper.find_min_ir_version_for(opsets)
    helper.set_model_props(model, {k: str(v) for k, v in metadata.items()})
    onnx.checker.check_model(model, full_check=True)
    return model


def write_model(model, path):
    """Serialise ``model`` to ``path`` atomically (the old file, if any, survives a failure).

    Raises
    ------
    OSError
        (``PermissionError``, ``FileNotFoundError``, ...) if ``path`` cannot be
        written, naming ``path``.
    """
    data = model.SerializeToString()
    try:
        with persistence.atomic_write(path) as f:
            f.write(data)
    except OSError as exc:
        if exc.errno is None:
            raise
        raise OSError(exc.errno, f"cannot write the ONNX model ({exc.strerror})", str(path)) from exc


def export_network(net, *, opset=None, dtype=None, allow_untrained=False):
    """The checked ONNX model of a :class:`fastnn.Network` (see :func:`fastnn.onnx.to_onnx`)."""
    opset = check_opset(opset)
    dtype = net.dtype if dtype is None else np.dtype(check_dtype(dtype))
    if net.epochs_done_ == 0 and not allow_untrained:
        raise ValueError(f"{net!r} has not been trained (epochs_done_ is 0), so its parameters are the "
                         f"random initial ones: train it first (fit or SGD), or pass allow_untrained=True "
                         f"(fastnn export --allow-untrained) to export parameters set by hand")
    net._sync()
    with np.errstate(over="ignore"):
        weights = [w.astype(dtype) for w in net.weights]
        biases = [b.astype(dtype) for b in net.biases]
    if not all(np.isfinite(a).all() for a in weights + biases):
        raise ValueError(f"{net!r} has parameters too large for {dtype.name} (they overflow to "
                         f"infinity): export it as {net.dtype.name}")
    sizes = list(net.sizes)
    metadata = {"fastnn_version": __version__, "sizes": sizes, "cost": net.cost, "init": net.init,
                "dtype": dtype.name, "trained_dtype": net.dtype.name, "epochs_done": int(net.epochs_done_)}
    doc = (f"fastnn.Network({sizes}, cost={net.cost!r}) trained for {net.epochs_done_} epochs, exported "
           f"by fastnn {__version__}: sigmoid layers a = sigma(W a + b). Input 'X' (batch, {sizes[0]}); "
           f"outputs 'activations' (batch, {sizes[-1]}), the last layer's activations "
           f"(Network.predict_proba), and 'label' (batch,), the index of the most active output "
           f"neuron (Network.predict).")
    return network_model(weights, biases, dtype, opset, metadata, doc)
