"""The ONNX graph of a chapter-6 network (:class:`fastnn.network3.Network`), for ``Network.to_onnx``.

Imported only when something is exported (it imports ``onnx`` through
:mod:`fastnn._onnx_graph`).  The graph computes what the inference kernels of
:mod:`fastnn.kernels.conv` compute, layer by layer, in the same order:

* the input row ``X`` ``(batch, n_in)`` is reshaped inside the graph to the
  first layer's images ``(batch, C, H, W)`` (or kept flat for a network
  without conv layers);
* a conv-pool layer is Theano's convolution (the filter flipped), max-pooling
  over ``ph x pw`` blocks that ignores the rows and columns not filling a
  block, then the bias, then the activation (``a = f(max(z) + b)``, which
  equals ``f(max(z + b))`` exactly: rounding is monotonic).  In float32 the
  convolution is ONNX's ``Conv`` (a cross-correlation) with the filters
  flipped in the stored weights.  ONNX Runtime has no float64 ``Conv``
  kernel, so in float64 it is written with standard operators that ONNX
  Runtime runs in float64: images kept channel-last ``(batch, H, W, C)``,
  one ``Slice`` of the input per filter tap ``(k, l)`` (at ``fh-1-k, fw-1-l``:
  the flip) multiplied by the tap's ``(C, F)`` weights (``MatMul``) and summed
  (``Add``); pooling is a ``Reshape`` into blocks and ``ReduceMax``.  Memory
  stays of the order of the layer's output (no im2col copy of every input
  window), and the pooled area only is computed;
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

#: ``Slice`` takes starts/ends/axes as inputs instead of attributes from this opset on.
_SLICE_INPUTS = 10
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


def _slice(b, x, starts, ends, axes):
    """``x`` sliced to ``starts:ends`` along ``axes`` (steps of 1)."""
    if b.opset >= _SLICE_INPUTS:
        return b.node("Slice", [x, _ints(b, "starts", starts), _ints(b, "ends", ends), _ints(b, "axes", axes)])
    return b.node("Slice", [x], starts=list(starts), ends=list(ends), axes=list(axes))


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


def _conv_pool_nhwc(b, x, layer, w, bias, dtype):
    """A conv-pool layer on channel-last images ``(batch, H, W, C)`` from Slice, MatMul, Add, ReduceMax.

    z[n, i, j, f] = sum over taps (k, l) of x[n, i+fh-1-k, j+fw-1-l, :] @ w[f, :, k, l]^T, for the
    positions (i, j) inside whole pooling blocks only; then the blocks' maxima, bias, activation.
    """
    F, C, fh, fw = w.shape
    ph, pw = layer.poolsize
    _, phn, pwn = layer.output_shape
    rows, cols = phn * ph, pwn * pw             # the pooled area of the convolution's output
    z = None
    for k in range(fh):
        for l in range(fw):
            i0, j0 = fh - 1 - k, fw - 1 - l     # the flip: tap (k, l) reads x[i + fh-1-k, j + fw-1-l]
            window = _slice(b, x, [i0, j0], [i0 + rows, j0 + cols], [1, 2])
            tap = b.constant("tap", np.ascontiguousarray(w[:, :, k, l].T, dtype=dtype))     # (C, F)
            term = b.node("MatMul", [window, tap])                                        # (batch, rows, cols, F)
            z = term if z is None else b.node("Add", [z, term])
    blocks = b.node("Reshape", [z, _ints(b, "blocks", [0, phn, ph, pwn, pw, F])])
    pooled = _reduce_max(b, blocks, [2, 4])                                               # (batch, phn, pwn, F)
    shifted = b.node("Add", [pooled, b.constant("conv_bias", np.asarray(bias, dtype=dtype))])
    return _activation(b, layer._describe()["activation_fn"], shifted, dtype)


def _forward(b, net, params, dtype):
    """The graph from ``X`` to the softmax outputs; returns their name."""
    layers = net.layers
    kinds = [layer._describe()["kind"] for layer in layers]      # "conv", "fc" or "softmax"
    channel_last = dtype == np.float64
    x = "X"
    if kinds[0] == "conv":
        _, C, H, W = layers[0].image_shape
        x = b.node("Reshape", [x, _ints(b, "image_shape", [0, C, H, W])])      # 0: keep the batch size
        if channel_last:
            x = b.node("Transpose", [x], perm=[0, 2, 3, 1])
    image = False                          # whether x holds images (the input or a conv-pool output)
    for layer, kind, (w, bias) in zip(layers, kinds, params):
        if kind == "conv":
            conv = _conv_pool_nhwc if channel_last else _conv_pool_nchw
            x = conv(b, x, layer, w, bias, dtype)
            image = True
            continue
        if image:                          # flattened in the book's channel-first order
            if channel_last:
                x = b.node("Transpose", [x], perm=[0, 3, 1, 2])
            x = b.node("Flatten", [x], axis=1)
            image = False
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
