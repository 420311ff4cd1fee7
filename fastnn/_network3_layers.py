"""The layers of :mod:`fastnn.network3` (the book's ``ConvPoolLayer``, ``FullyConnectedLayer``
and ``SoftmaxLayer``), their activation functions and the checks of a stack of them; imported
from :mod:`fastnn.network3`, where they are documented."""
import contextlib
import json
import numbers
import os
import time

import numba
import numpy as np

from . import _guards, persistence, training
from ._validation import check_array, check_dtype, check_float, check_int
from ._version import __version__
from .exceptions import ModelFileError
from .kernels import conv as _kernels


# -- activation functions (usable on NumPy arrays; the kernels get their codes) --------------

def linear(z):
    """The identity, f(z) = z."""
    return np.asarray(z)


def ReLU(z):
    """Rectified linear unit, f(z) = max(0, z)."""
    return np.maximum(0.0, z)


def sigmoid(z):
    """The sigmoid 1 / (1 + exp(-z)), computed without overflow."""
    z = np.asarray(z)
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def tanh(z):
    """The hyperbolic tangent."""
    return np.tanh(z)


_ACTIVATIONS = {sigmoid: ("sigmoid", _kernels.SIGMOID), tanh: ("tanh", _kernels.TANH),
                ReLU: ("ReLU", _kernels.RELU), linear: ("linear", _kernels.LINEAR)}
_BY_NAME = {name: fn for fn, (name, _) in _ACTIVATIONS.items()}


def _check_activation(fn):
    if fn not in _ACTIVATIONS:
        raise TypeError(f"activation_fn must be one of fastnn.network3's sigmoid, tanh, ReLU or linear, "
                        f"got {fn!r}")
    return fn


def _check_shape(value, name, length):
    """A tuple of ``length`` positive ints."""
    try:
        items = tuple(value)
    except TypeError:
        raise TypeError(f"{name} must be a tuple of {length} positive integers, got {value!r}") from None
    if len(items) != length or any(isinstance(v, bool) or not isinstance(v, numbers.Integral) for v in items):
        raise TypeError(f"{name} must be a tuple of {length} positive integers, got {value!r}")
    if any(v <= 0 for v in items):
        raise ValueError(f"{name} must hold positive integers, got {value!r}")
    return tuple(int(v) for v in items)


def _check_p(p_dropout):
    p = check_float(p_dropout, "p_dropout", nonnegative=True)
    if p >= 1:
        raise ValueError(f"p_dropout must be in [0, 1) (the probability of dropping an input), got {p}")
    return p


_init_rng = np.random.default_rng()
"""Draws the parameters of layers made outside a seeded Network (the book's global np.random)."""


# -- layers --------------------------------------------------------------------------------

class _Layer:
    """Parameters ``w`` and ``b`` in the book's shapes, assignable (a checked copy is taken)."""

    def _init_params(self, w_shape, b_shape):
        self._w = np.zeros(w_shape)
        self._b = np.zeros(b_shape)
        self._owner = None
        self._draw(_init_rng)

    def _draw(self, rng):
        """The book's initialisation (overridden by layers with random parameters)."""

    @property
    def w(self):
        """The weights, a NumPy array in the book's shape (assign an array of that shape to replace them)."""
        return self._w

    @w.setter
    def w(self, value):
        self._assign("w", self._w, value)

    @property
    def b(self):
        """The biases, a NumPy array of shape ``(n_out,)`` (``(filters,)`` for a conv layer)."""
        return self._b

    @b.setter
    def b(self, value):
        self._assign("b", self._b, value)

    @property
    def params(self):
        """``[w, b]``, as the book's ``layer.params``."""
        return [self._w, self._b]

    def _assign(self, name, target, value):
        arr = np.asarray(value)
        if arr.dtype == object or arr.dtype.kind not in "biuf":
            raise TypeError(f"{type(self).__name__}.{name} must be an array of real numbers, got dtype {arr.dtype}")
        if arr.shape != target.shape:
            raise ValueError(f"{type(self).__name__}.{name} must have shape {target.shape}, got {arr.shape}")
        if not np.isfinite(arr).all():
            raise ValueError(f"{type(self).__name__}.{name} contains NaN or infinity")
        target[...] = arr  # a copy, in the network's dtype

    def _describe(self):
        raise NotImplementedError


class ConvPoolLayer(_Layer):
    """A convolutional layer followed by max-pooling (the book's ``ConvPoolLayer``).

    Parameters
    ----------
    filter_shape : tuple of 4 ints
        ``(filters, input feature maps, filter height, filter width)``.
    image_shape : tuple of 4 ints
        ``(mini-batch size, input feature maps, image height, image width)``.
    poolsize : tuple of 2 ints
        Height and width of the max-pooling blocks.
    activation_fn : callable
        :func:`sigmoid`, :func:`tanh`, :func:`ReLU` or :func:`linear`, applied after
        pooling and adding the bias.

    Attributes
    ----------
    output_shape : tuple
        ``(filters, pooled height, pooled width)`` of one sample.

    Notes
    -----
    The parameters ``layer.w`` (shape ``filter_shape``, initially N(0, 1/n_out) with
    ``n_out = filters * fh * fw // prod(poolsize)``) and ``layer.b`` (shape
    ``(filters,)``, initially N(0, 1)) are NumPy arrays; assign an array of the same
    shape to replace them.

    Raises
    ------
    ValueError
        If the filters are larger than the image, the feature maps of
        ``filter_shape`` and ``image_shape`` differ, or the pool is larger
        than the convolution's output.
    """

    def __init__(self, filter_shape, image_shape, poolsize=(2, 2), activation_fn=sigmoid):
        self.filter_shape = _check_shape(filter_shape, "filter_shape", 4)
        self.image_shape = _check_shape(image_shape, "image_shape", 4)
        self.poolsize = _check_shape(poolsize, "poolsize", 2)
        self.activation_fn = _check_activation(activation_fn)
        F, C, fh, fw = self.filter_shape
        _, c_img, H, W = self.image_shape
        if C != c_img:
            raise ValueError(f"filter_shape {self.filter_shape} expects {C} input feature maps but "
                             f"image_shape {self.image_shape} has {c_img}")
        if fh > H or fw > W:
            raise ValueError(f"filters of {fh}x{fw} are larger than the {H}x{W} image of image_shape "
                             f"{self.image_shape}; use filters no larger than the image")
        ph, pw = self.poolsize
        if ph > H - fh + 1 or pw > W - fw + 1:
            raise ValueError(f"poolsize {self.poolsize} is larger than the {H - fh + 1}x{W - fw + 1} "
                             f"output of the convolution")
        self.output_shape = (F, (H - fh + 1) // ph, (W - fw + 1) // pw)
        self.n_in = C * H * W
        self.n_out = int(np.prod(self.output_shape))
        self._init_params(self.filter_shape, (F,))

    def _draw(self, rng):
        F, _, fh, fw = self.filter_shape
        # the book's n_out; at least 1 (a pool larger than the filter would give 0 and an infinite scale)
        n_out = max(1, F * fh * fw // (self.poolsize[0] * self.poolsize[1]))
        self._w[...] = rng.normal(0.0, np.sqrt(1.0 / n_out), self._w.shape)
        self._b[...] = rng.normal(0.0, 1.0, self._b.shape)

    def __repr__(self):
        return (f"ConvPoolLayer(filter_shape={self.filter_shape}, image_shape={self.image_shape}, "
                f"poolsize={self.poolsize}, activation_fn={_ACTIVATIONS[self.activation_fn][0]})")

    def _describe(self):
        return {"kind": "conv", "filter_shape": list(self.filter_shape), "image_shape": list(self.image_shape),
                "poolsize": list(self.poolsize), "activation_fn": _ACTIVATIONS[self.activation_fn][0]}


class FullyConnectedLayer(_Layer):
    """A fully connected layer, ``activation_fn(x w + b)`` (the book's ``FullyConnectedLayer``).

    Parameters
    ----------
    n_in, n_out : int
        Inputs (the previous layer's outputs, flattened channel-first) and neurons.
    activation_fn : callable
        :func:`sigmoid`, :func:`tanh`, :func:`ReLU` or :func:`linear`.
    p_dropout : float in [0, 1)
        Probability of dropping each input during training.

    Notes
    -----
    The parameters ``layer.w`` (shape ``(n_in, n_out)``, initially N(0, 1/n_out)) and
    ``layer.b`` (shape ``(n_out,)``, initially N(0, 1)) are NumPy arrays; assign an
    array of the same shape to replace them.
    """

    def __init__(self, n_in, n_out, activation_fn=sigmoid, p_dropout=0.0):
        self.n_in = check_int(n_in, "n_in", 1)
        self.n_out = check_int(n_out, "n_out", 1)
        self.activation_fn = _check_activation(activation_fn)
        self.p_dropout = _check_p(p_dropout)
        self.output_shape = (self.n_out,)
        self._init_params((self.n_in, self.n_out), (self.n_out,))

    def _draw(self, rng):
        self._w[...] = rng.normal(0.0, np.sqrt(1.0 / self.n_out), self._w.shape)
        self._b[...] = rng.normal(0.0, 1.0, self._b.shape)

    def __repr__(self):
        return (f"FullyConnectedLayer(n_in={self.n_in}, n_out={self.n_out}, "
                f"activation_fn={_ACTIVATIONS[self.activation_fn][0]}, p_dropout={self.p_dropout})")

    def _describe(self):
        return {"kind": "fc", "n_in": self.n_in, "n_out": self.n_out,
                "activation_fn": _ACTIVATIONS[self.activation_fn][0], "p_dropout": self.p_dropout}


class SoftmaxLayer(_Layer):
    """The softmax output layer with the log-likelihood cost (the book's ``SoftmaxLayer``).

    Parameters
    ----------
    n_in, n_out : int
        Inputs and classes.
    p_dropout : float in [0, 1)
        Probability of dropping each input during training.

    Notes
    -----
    The parameters ``layer.w`` (shape ``(n_in, n_out)``) and ``layer.b`` (shape
    ``(n_out,)``) start at zero; assign an array of the same shape to replace them.
    """

    activation_fn = None

    def __init__(self, n_in, n_out, p_dropout=0.0):
        self.n_in = check_int(n_in, "n_in", 1)
        self.n_out = check_int(n_out, "n_out", 1)
        self.p_dropout = _check_p(p_dropout)
        self.output_shape = (self.n_out,)
        self._init_params((self.n_in, self.n_out), (self.n_out,))

    def _draw(self, rng):
        self._w[...] = 0.0
        self._b[...] = 0.0

    def __repr__(self):
        return f"SoftmaxLayer(n_in={self.n_in}, n_out={self.n_out}, p_dropout={self.p_dropout})"

    def _describe(self):
        return {"kind": "softmax", "n_in": self.n_in, "n_out": self.n_out, "p_dropout": self.p_dropout}


def _layer_from_description(d):
    """Rebuild a layer from :meth:`_Layer._describe` output (a model file's ``meta``)."""
    kind = d.get("kind") if isinstance(d, dict) else None
    if kind == "conv":
        return ConvPoolLayer(d["filter_shape"], d["image_shape"], d["poolsize"], _BY_NAME[d["activation_fn"]])
    if kind == "fc":
        return FullyConnectedLayer(d["n_in"], d["n_out"], _BY_NAME[d["activation_fn"]], d["p_dropout"])
    if kind == "softmax":
        return SoftmaxLayer(d["n_in"], d["n_out"], d["p_dropout"])
    raise ValueError(f"unknown layer description {d!r}")


def _check_layers(layers, mini_batch_size):
    """Validate the architecture; return the list of layers."""
    if isinstance(layers, (_Layer, str, bytes)) or not hasattr(layers, "__iter__"):
        raise TypeError(f"layers must be a list of layers, got {layers!r}")
    layers = list(layers)
    if not layers:
        raise ValueError("layers is empty; a network needs at least a SoftmaxLayer")
    for l, layer in enumerate(layers):
        if not isinstance(layer, _Layer):
            raise TypeError(f"layers[{l}] must be a ConvPoolLayer, FullyConnectedLayer or SoftmaxLayer, "
                            f"got {layer!r}")
        if isinstance(layer, SoftmaxLayer) and l != len(layers) - 1:
            raise ValueError(f"layers[{l}] is a SoftmaxLayer; only the last layer can be one")
    if not isinstance(layers[-1], SoftmaxLayer):
        raise ValueError(f"the last layer must be a SoftmaxLayer (its log-likelihood is the cost), "
                         f"got {layers[-1]!r}")
    if len({id(layer) for layer in layers}) != len(layers):
        raise ValueError("the same layer object appears twice in layers; create one object per layer")
    seen_dense = False
    for l, layer in enumerate(layers):
        if isinstance(layer, ConvPoolLayer):
            if seen_dense:
                raise ValueError(f"layers[{l}] is a ConvPoolLayer after a fully connected layer; put the "
                                 f"convolutional layers first")
            if layer.image_shape[0] != mini_batch_size:
                raise ValueError(f"layers[{l}] has image_shape {layer.image_shape} for mini-batches of "
                                 f"{layer.image_shape[0]}, but the network's mini_batch_size is "
                                 f"{mini_batch_size}; use image_shape=({mini_batch_size}, ...)")
            if l > 0 and tuple(layer.image_shape[1:]) != tuple(layers[l - 1].output_shape):
                raise ValueError(f"layers[{l}] expects images of shape {layer.image_shape[1:]} (image_shape "
                                 f"{layer.image_shape}), but layers[{l - 1}] outputs "
                                 f"{tuple(layers[l - 1].output_shape)}")
        else:
            seen_dense = True
            if l > 0 and layer.n_in != layers[l - 1].n_out:
                prev = layers[l - 1]
                shape = "x".join(str(s) for s in prev.output_shape)
                raise ValueError(f"layers[{l}] has n_in={layer.n_in}, but layers[{l - 1}] outputs "
                                 f"{prev.n_out} values ({shape}); use n_in={prev.n_out}")
        if layer._owner is not None:
            raise ValueError(f"layers[{l}] already belongs to another Network; create new layer objects "
                             f"for each network")
    return layers


def _layer_table(layers):
    """The kernels' layer table (``spec``), the keep probabilities and the parameter count."""
    spec = np.zeros((len(layers), _kernels.NSPEC), dtype=np.int64)
    offset = 0
    act_off = layers[0].n_in
    mask_off = 0
    arg_off = 0
    cols_off = 0
    in_off = 0
    for l, layer in enumerate(layers):
        row = spec[l]
        row[_kernels.N_IN] = layer.n_in
        row[_kernels.N_OUT] = layer.n_out
        row[_kernels.W_OFF] = offset
        row[_kernels.B_OFF] = offset + layer._w.size
        offset += layer._w.size + layer._b.size
        row[_kernels.IN_OFF] = in_off
        row[_kernels.OUT_OFF] = act_off
        in_off = act_off
        act_off += layer.n_out
        row[_kernels.MASK_OFF] = -1
        row[_kernels.ARG_OFF] = -1
        if isinstance(layer, ConvPoolLayer):
            F, C, fh, fw = layer.filter_shape
            _, _, H, W = layer.image_shape
            row[_kernels.KIND] = _kernels.CONV
            row[[_kernels.C, _kernels.H, _kernels.W, _kernels.F, _kernels.FH, _kernels.FW]] = C, H, W, F, fh, fw
            row[_kernels.PH], row[_kernels.PW] = layer.poolsize
            row[_kernels.OH], row[_kernels.OW] = H - fh + 1, W - fw + 1
            row[_kernels.PHN], row[_kernels.PWN] = layer.output_shape[1:]
            row[_kernels.ARG_OFF] = arg_off
            arg_off += layer.n_out
            row[_kernels.COLS_OFF] = cols_off
            cols_off += (H - fh + 1) * (W - fw + 1) * C * fh * fw
        else:
            row[_kernels.KIND] = _kernels.SOFTMAX if isinstance(layer, SoftmaxLayer) else _kernels.FC
            if layer.p_dropout > 0:
                row[_kernels.MASK_OFF] = mask_off
                mask_off += layer.n_in
        if layer.activation_fn is not None:
            row[_kernels.ACT] = _ACTIVATIONS[layer.activation_fn][1]
    keep = np.array([1.0 - getattr(layer, "p_dropout", 0.0) for layer in layers])
    return spec, keep, offset, mask_off
