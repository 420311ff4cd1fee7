"""The ONNX graph of a chapter-6 network (:class:`fastnn.network3.Network`), for ``Network.to_onnx``.

Imported only when something is exported (it imports ``onnx`` through
:mod:`fastnn._onnx_graph`).  The graph computes what the inference kernels of
:mod:`fastnn.kernels.conv` compute, layer by layer, in the same order:

* the input row ``X`` ``(batch, n_in)`` is reshaped inside the graph to the
  first layer's images ``(batch, C, H, W)`` in float32 (in float64 the
  windows are gathered from the rows themselves, and a network without conv
  layers keeps them flat);
* a conv-pool layer is Theano's convolution (the filter flipped), max-pooling
  over ``ph x pw`` blocks that ignores the rows and columns not filling a
  block, then the bias, then the activation (``a = f(max(z) + b)``, which
  equals ``f(max(z + b))`` exactly: rounding is monotonic).  In float32 the
  convolution is ONNX's ``Conv`` (a cross-correlation) with the filters
  flipped in the stored weights.  ONNX Runtime has no float64 ``Conv``
  kernel, so in float64 it is written with standard operators that ONNX
  Runtime runs in float64: a ``Gather`` of every window's inputs in the
  flipped order (the kernels' ``cols``, for the positions inside whole
  pooling blocks only), a ``MatMul`` by the filters, and a ``ReduceMax`` over
  each block's rows, the images kept channel-last between conv layers.  The
  gathered windows take ``8 * P * C*fh*fw`` bytes per row and layer (115 kB
  per row for a 20-filter 5x5 layer on 28x28 images), so feed such a model a
  thousand rows or so per run;
* a fully connected layer is ``Gemm`` with the book's ``(n_in, n_out)``
  weights, which at inference are scaled by ``keep = 1 - p_dropout`` (folded
  into the stored weights; the bias is not scaled), then the activation;
* the softmax layer is ``Gemm`` then ``Softmax``; ``label`` is its ``ArgMax``
  (the first maximum on ties, as ``numpy.argmax``).

The sigmoid is the overflow-free form of :func:`fastnn._onnx_graph.sigmoid`
(ONNX Runtime's ``Sigmoid`` loses saturated outputs); tanh, ReLU and the
softmax are ONNX's ``Tanh``, ``Relu`` and ``Softmax``.
"""
import json

import numpy as np
import onnx
from onnx import TensorProto, helper

from ._onnx_graph import PROTO, GraphBuilder, check_opset, sigmoid
from ._validation import check_dtype
from ._version import __version__

#: ``ReduceMax`` takes its axes as an input from this opset on.
_REDUCE_MAX_AXES_INPUT = 18


def _activation(b, name, z, dtype):
    """f(z) for the layer activation ``name`` (network3's sigmoid, tanh, ReLU or linear)."""
    if name == "sigmoid":
        return sigmoid(b, z, dtype)
    if name == "tanh":
        return b.node("Tanh", [z])
    if name == "ReLU":
        return b.node("Relu", [z])
    if name == "linear":
        return z
    raise TypeError(f"cannot export the activation {name!r} to ONNX")


def _ints(b, prefix, values):
    return b.constant(prefix, np.array(values, dtype=np.int64))


def _reduce_max(b, x, axes):
    if b.opset >= _REDUCE_MAX_AXES_INPUT:
        return b.node("ReduceMax", [x, _ints(b, "axes", axes)], keepdims=0)
    return b.node("ReduceMax", [x], axes=list(axes), keepdims=0)


def _conv_pool_nchw(b, x, layer, w, bias, dtype):
    """A conv-pool layer on images ``(batch, C, H, W)`` with ONNX's ``Conv`` and ``MaxPool`` (float32)."""
    flipped = np.ascontiguousarray(w[:, :, ::-1, ::-1], dtype=dtype)   # Theano's convolution as ONNX's correlation
    z = b.node("Conv", [x, b.constant("filters", flipped)], kernel_shape=list(w.shape[2:]))
    pooled = b.node("MaxPool", [z], kernel_shape=list(layer.poolsize), strides=list(layer.poolsize))
    shifted = b.node("Add", [pooled, b.constant("conv_bias", np.reshape(bias, (-1, 1, 1)).astype(dtype))])
    return _activation(b, layer._describe()["activation_fn"], shifted, dtype)


def window_indices(layer, channel_last):
    """Where each input of each convolution window sits in a sample's flattened input.

    Row ``p`` is the output position ``(i, j) = (pi*ph + u, pj*pw + v)``, ordered ``(pi, pj,
    u, v)`` so that each pooling block is ``ph*pw`` consecutive rows (positions outside whole
    blocks are left out); column ``q = (c*fh + k)*fw + l`` is the input that meets
    ``w[f, c, k, l]``: ``x[c, i+fh-1-k, j+fw-1-l]`` (Theano's flip), as the kernels' ``cols``.
    The input is ``(C, H, W)`` flattened, or ``(H, W, C)`` if ``channel_last``.
    """
    F, C, fh, fw = layer.filter_shape
    _, _, H, W = layer.image_shape
    ph, pw = layer.poolsize
    _, phn, pwn = layer.output_shape
    pi, pj, u, v = np.meshgrid(np.arange(phn), np.arange(pwn), np.arange(ph), np.arange(pw), indexing="ij")
    i, j = (pi * ph + u).reshape(-1, 1), (pj * pw + v).reshape(-1, 1)
    c, k, l = (a.reshape(1, -1) for a in np.meshgrid(np.arange(C), np.arange(fh), np.arange(fw), indexing="ij"))
    row, col = i + fh - 1 - k, j + fw - 1 - l
    flat = (row * W + col) * C + c if channel_last else (c * H + row) * W + col
    return flat.astype(np.int64)


def _conv_pool_gather(b, x, layer, w, bias, dtype, channel_last):
    """A conv-pool layer from ``Gather``, ``MatMul`` and ``ReduceMax`` (float64).

    ``x``: the samples flattened, ``(batch, C*H*W)`` (channel-first) or ``(batch, H*W*C)``
    (channel-last).  Each sample's windows are gathered, ``(batch, P, Q)`` (the kernels'
    ``cols``: Q = C*fh*fw inputs of each of the P positions inside whole pooling blocks), and
    multiplied by the filters ``(Q, F)``; each block's ``ph*pw`` rows are maxed, the bias added
    and the activation applied.  Returns the output channel-last, ``(batch, PH*PW, F)``.
    """
    F = w.shape[0]
    ph, pw = layer.poolsize
    _, phn, pwn = layer.output_shape
    windows = b.node("Gather", [x, b.constant("windows", window_indices(layer, channel_last))], axis=1)
    filters = b.constant("filters", np.ascontiguousarray(w.reshape(F, -1).T, dtype=dtype))  # (Q, F)
    z = b.node("MatMul", [windows, filters])                                    # (batch, P, F)
    blocks = b.node("Reshape", [z, _ints(b, "blocks", [0, phn * pwn, ph * pw, F])])
    pooled = _reduce_max(b, blocks, [2])                                        # (batch, PH*PW, F)
    shifted = b.node("Add", [pooled, b.constant("conv_bias", np.asarray(bias, dtype=dtype))])
    return _activation(b, layer._describe()["activation_fn"], shifted, dtype)


def _forward(b, net, params, dtype):
    """The graph from ``X`` to the softmax outputs; returns their name."""
    layers = net.layers
    kinds = [layer._describe()["kind"] for layer in layers]      # "conv", "fc" or "softmax"
    gather = dtype == np.float64          # ONNX Runtime has no float64 Conv: gather the windows
    x = "X"
    if kinds[0] == "conv" and not gather:
        _, C, H, W = layers[0].image_shape
        x = b.node("Reshape", [x, _ints(b, "image_shape", [0, C, H, W])])      # 0: keep the batch size
    layout = "flat"                       # x: "flat" rows, "nchw" images or "channel_last" (batch, H*W, C)
    for layer, kind, (w, bias) in zip(layers, kinds, params):
        if kind == "conv":
            if gather:
                if layout == "channel_last":
                    x = b.node("Reshape", [x, _ints(b, "flat", [0, -1])])
                x = _conv_pool_gather(b, x, layer, w, bias, dtype, channel_last=layout == "channel_last")
                layout = "channel_last"
            else:
                x = _conv_pool_nchw(b, x, layer, w, bias, dtype)
                layout = "nchw"
            continue
        if layout == "channel_last":      # back to the book's channel-first order before flattening
            x = b.node("Transpose", [x], perm=[0, 2, 1])
        if layout != "flat":
            x = b.node("Flatten", [x], axis=1)
            layout = "flat"
        z = b.node("Gemm", [x, b.constant("weights", w), b.constant("biases", bias)])
        if kind == "softmax":
            return b.node("Softmax", [z], axis=1)
        x = _activation(b, layer._describe()["activation_fn"], z, dtype)
    raise AssertionError("a network3.Network ends with a SoftmaxLayer")


def _parameters(net, dtype):
    """Every layer's ``(w, b)`` in ``dtype``, checked finite.

    Inference scales ``x w`` (not ``b``) of a layer with dropout by ``keep = 1 - p_dropout``:
    that factor is folded into its weights here, multiplied in the network's dtype (as the
    kernels' ``keep``) before the conversion to ``dtype``, so one rounding for a conversion.
    """
    params = []
    with np.errstate(over="ignore"):
        for layer in net.layers:
            w = np.asarray(layer.w)
            keep = 1.0 - getattr(layer, "p_dropout", 0.0)
            if keep != 1.0:
                w = w * net.dtype.type(keep)
            params.append((np.ascontiguousarray(w, dtype=dtype), np.ascontiguousarray(layer.b, dtype=dtype)))
    if not all(np.isfinite(w).all() and np.isfinite(bias).all() for w, bias in params):
        raise ValueError(f"the network has parameters too large for {dtype.name} (they overflow to "
                         f"infinity): export it as {net.dtype.name}")
    return params


def export_network3(net, *, opset=None, dtype=None, allow_untrained=False):
    """The checked ONNX model of a :class:`fastnn.network3.Network` (see its ``to_onnx``)."""
    opset = check_opset(opset)
    dtype = net.dtype if dtype is None else np.dtype(check_dtype(dtype))
    if net.epochs_done_ == 0 and not allow_untrained:
        raise ValueError("the network3.Network has not been trained (epochs_done_ is 0), so its parameters "
                         "are the random initial ones: train it first (SGD or fit), or pass "
                         "allow_untrained=True (fastnn export --allow-untrained) to export parameters "
                         "set by hand")
    b = GraphBuilder(opset)
    proba = _forward(b, net, _parameters(net, dtype), dtype)
    b.node("Identity", [proba], "activations")
    b.node("ArgMax", ["activations"], "label", axis=1, keepdims=0)
    graph = helper.make_graph(
        b.nodes, "fastnn_network3",
        [helper.make_tensor_value_info("X", PROTO[dtype], ["batch", net.n_in])],
        [helper.make_tensor_value_info("activations", PROTO[dtype], ["batch", net.n_classes]),
         helper.make_tensor_value_info("label", TensorProto.INT64, ["batch"])],
        initializer=b.initializers)
    opsets = [helper.make_opsetid("", opset)]
    layers = [layer._describe() for layer in net.layers]
    kinds = ", ".join(repr(layer).split("(")[0] for layer in net.layers)
    doc = (f"fastnn.network3.Network ({kinds}) trained for {net.epochs_done_} epochs, exported by fastnn "
           f"{__version__} in {dtype.name}: the book's chapter-6 network at inference (dropout scaled "
           f"by 1 - p). Input 'X' (batch, {net.n_in}); outputs 'activations' (batch, {net.n_classes}), "
           f"the softmax outputs (Network.predict_proba), and 'label' (batch,), the most probable "
           f"class (Network.predict).")
    model = helper.make_model(graph, opset_imports=opsets, producer_name="fastnn",
                              producer_version=__version__, doc_string=doc)
    model.ir_version = helper.find_min_ir_version_for(opsets)
    metadata = {"fastnn_version": __version__, "network": "fastnn.network3.Network",
                "layers": json.dumps(layers), "cost": "log-likelihood", "dtype": dtype.name,
                "trained_dtype": net.dtype.name, "epochs_done": int(net.epochs_done_)}
    helper.set_model_props(model, {k: str(v) for k, v in metadata.items()})
    onnx.checker.check_model(model, full_check=True)
    return model
