"""Chapter 6's networks by name, for ``fastnn network3`` and the conv comparisons.

Each preset is one of the nets the chapter trains with ``network3.py`` on
MNIST, with the book's hyperparameters and the test accuracy the book reports
(best validation epoch).  :func:`build_layers` makes fresh layer objects for a
preset; :func:`network_from_spec` builds a :class:`fastnn.network3.Network`
from a :mod:`fastnn.rivals_conv` layer spec and given weights, so that fastnn
and the PyTorch or NumPy rivals start from the same parameters.

Importing this module does not import :mod:`fastnn.network3` nor the conv
kernels (the command line lists the presets without compiling anything); the
functions that build networks import them.
"""
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ._validation import check_int

__all__ = ["Preset", "PRESETS", "DEFAULT_PRESET", "build_layers", "network_from_spec", "load_conv_data",
           "enlarge_digits"]


@dataclass(frozen=True)
class Preset:
    """One of the chapter's networks and the hyperparameters the book trains it with.

    ``layers`` describes the layers after the input as tuples:
    ``("conv", filters)`` (5x5 filters, 2x2 max-pooling), ``("fc", n_out, p_dropout)``
    and ``("softmax", p_dropout)``.
    """

    name: str
    layers: tuple
    activation: str
    eta: float
    lmbda: float
    epochs: int
    book_accuracy: float
    summary: str


PRESETS = {p.name: p for p in (
    Preset("ch6-fc", (("fc", 100, 0.0), ("softmax", 0.0)), "sigmoid", 0.1, 0.0, 60, 0.9780,
           "FC100 (sigmoid) -> softmax, the chapter's shallow baseline"),
    Preset("ch6-conv1", (("conv", 20), ("fc", 100, 0.0), ("softmax", 0.0)), "sigmoid", 0.1, 0.0, 60, 0.9878,
           "CP20 -> FC100 -> softmax, sigmoid"),
    Preset("ch6-conv2", (("conv", 20), ("conv", 40), ("fc", 100, 0.0), ("softmax", 0.0)), "sigmoid", 0.1, 0.0,
           60, 0.9906, "CP20 -> CP40 -> FC100 -> softmax, sigmoid"),
    Preset("ch6-relu", (("conv", 20), ("conv", 40), ("fc", 100, 0.0), ("softmax", 0.0)), "relu", 0.03, 0.1,
           60, 0.9923, "CP20 -> CP40 -> FC100 -> softmax, ReLU, L2 (lmbda 0.1)"),
    Preset("ch6-dropout", (("conv", 20), ("conv", 40), ("fc", 1000, 0.5), ("fc", 1000, 0.5), ("softmax", 0.5)),
           "relu", 0.03, 0.0, 40, 0.9960,
           "CP20 -> CP40 -> FC1000 -> FC1000 -> softmax, ReLU, dropout 0.5 (book: on expanded data)"),
)}
"""The presets by name."""

DEFAULT_PRESET = "ch6-relu"


def _activation(name):
    from . import network3 as n3

    return {"sigmoid": n3.sigmoid, "tanh": n3.tanh, "relu": n3.ReLU, "linear": n3.linear}[name]


_LAYER_FORMS = {"conv": (2, "('conv', filters)"), "fc": (3, "('fc', n_out, p_dropout)"),
                "softmax": (2, "('softmax', p_dropout)")}
"""The layer tuples a :class:`Preset` may hold: kind -> (tuple length, form)."""


def _check_layer_kinds(preset):
    """Refuse a layer that is not one of :data:`_LAYER_FORMS` (a typo such as ``"Conv"`` must not be
    built as some other kind of layer)."""
    for i, item in enumerate(preset.layers):
        kind = item[0] if isinstance(item, tuple) and item and isinstance(item[0], str) else None
        if kind not in _LAYER_FORMS or len(item) != _LAYER_FORMS[kind][0]:
            forms = ", ".join(form for _, form in _LAYER_FORMS.values())
            raise ValueError(f"preset {preset.name!r}: layer {i} is {item!r}; a layer must be one of {forms}")


def build_layers(preset, mini_batch_size, side=28, n_classes=10):
    """Fresh layers of ``preset`` for ``side`` x ``side`` one-channel images.

    Parameters
    ----------
    preset : str or Preset
        A name in :data:`PRESETS` or a :class:`Preset`.
    mini_batch_size : int
        The conv layers' ``image_shape[0]``.
    side : int
        Image height and width (28 for MNIST).
    n_classes : int
        Outputs of the softmax layer.

    Returns
    -------
    list
        ``ConvPoolLayer`` / ``FullyConnectedLayer`` / ``SoftmaxLayer`` objects.

    Raises
    ------
    ValueError
        For an unknown preset name, a layer of an unknown kind or length, or images too
        small for the preset's convolutions.
    """
    from . import network3 as n3

    if isinstance(preset, str):
        if preset not in PRESETS:
            raise ValueError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
        preset = PRESETS[preset]
    _check_layer_kinds(preset)
    act = _activation(preset.activation)
    layers, shape = [], (1, side, side)
    n = side * side
    for item in preset.layers:
        if item[0] == "conv":
            layer = n3.ConvPoolLayer((item[1], shape[0], 5, 5), (mini_batch_size,) + shape, (2, 2),
                                     activation_fn=act)
            shape = layer.output_shape
            n = layer.n_out
        elif item[0] == "fc":
            layer = n3.FullyConnectedLayer(n, item[1], activation_fn=act, p_dropout=item[2])
            n = item[1]
        else:
            layer = n3.SoftmaxLayer(n, n_classes, p_dropout=item[1])
        layers.append(layer)
    return layers


def network_from_spec(spec, mini_batch_size, weights=None, *, dtype="float64", threads=1, seed=0):
    """A :class:`fastnn.network3.Network` for a :mod:`fastnn.rivals_conv` layer spec.

    Parameters
    ----------
    spec : sequence of dict
        Layers as :func:`fastnn.rivals_conv.check_spec` accepts them.
    mini_batch_size : int
    weights : list of (w, b), optional
        Initial parameters in the book's shapes (for example
        :func:`fastnn.rivals_conv.init_book_weights`); default: drawn from ``seed``.
    dtype, threads, seed :
        As :class:`fastnn.network3.Network` (``seed`` also draws the dropout masks).

    Returns
    -------
    fastnn.network3.Network
    """
    from . import network3 as n3
    from .rivals_conv import check_spec

    layers = []
    for layer in check_spec(spec):
        if layer["kind"] == "conv":
            layers.append(n3.ConvPoolLayer(layer["filter_shape"], (mini_batch_size,) + tuple(layer["image_shape"]),
                                           layer["poolsize"], activation_fn=_activation(layer["activation"])))
        elif layer["kind"] == "fc":
            layers.append(n3.FullyConnectedLayer(layer["n_in"], layer["n_out"],
                                                 activation_fn=_activation(layer["activation"]),
                                                 p_dropout=layer["p_dropout"]))
        else:
            layers.append(n3.SoftmaxLayer(layer["n_in"], layer["n_out"], p_dropout=layer["p_dropout"]))
    net = n3.Network(layers, mini_batch_size, seed=seed, dtype=dtype, threads=threads)
    if weights is not None:
        if len(weights) != len(layers):
            raise ValueError(f"weights has {len(weights)} (w, b) pairs for {len(layers)} layers")
        for layer, (w, b) in zip(net.layers, weights):
            layer.w, layer.b = w, b
    return net


# -- data ----------------------------------------------------------------------------------

DIGITS_VALIDATION_SIZE = 297
"""Validation rows taken from the enlarged digits' 1297 training rows (leaving 1000)."""


def enlarge_digits(X):
    """scikit-learn's 8x8 digits as 28x28 images: each pixel a 3x3 block, a 2-pixel empty border.

    Parameters
    ----------
    X : array of shape (n, 64)

    Returns
    -------
    ndarray of shape (n, 784), same dtype
    """
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[1] != 64:
        raise ValueError(f"expected 8x8 digits as rows of 64 pixels, got shape {X.shape}")
    big = np.kron(X.reshape(-1, 8, 8), np.ones((1, 3, 3), dtype=X.dtype))
    return np.pad(big, ((0, 0), (2, 2), (2, 2))).reshape(len(X), 784)


def _split_validation(X, y, size, name):
    if not 1 <= size < len(X):
        raise ValueError(f"validation size {size} must leave training rows: {name} has {len(X)} training rows")
    return (X[:-size], y[:-size]), (X[-size:], y[-size:])


def load_conv_data(spec, validation_size=None, train_size=None):
    """Training, validation and test sets of 28x28 images for the chapter-6 command.

    Parameters
    ----------
    spec : str or os.PathLike
        ``"digits"``: scikit-learn's bundled 8x8 digits enlarged to 28x28
        (:func:`enlarge_digits`; 1297 training and 500 test rows, no files
        needed); a folder of MNIST-named IDX files (``train-*`` and ``t10k-*``,
        e.g. MNIST or Fashion-MNIST); or the book's ``mnist.pkl.gz`` (its three
        splits as they are).
    validation_size : int, optional
        For digits and IDX folders: the last rows of the training set kept
        for validation (default 297 for digits, the book's 10,000 for a
        folder).  Not allowed with ``mnist.pkl.gz``, which has its own.
    train_size : int, optional
        Keep only the first ``train_size`` training rows (after the validation split).

    Returns
    -------
    list of three (X, y) pairs
        ``[training, validation, test]``, X float64 in [0, 1] of width 784.

    Raises
    ------
    TypeError
        ``spec`` that is not a string or path, or a size that is not an int.
    FileNotFoundError, ValueError
        A missing path, a file that is not ``.pkl.gz``, images that are not
        28x28, a size below 1, or sizes that leave a set empty.
    """
    from . import datasets

    if not isinstance(spec, (str, os.PathLike)):
        raise TypeError(f"data must be 'digits' or a path, got {type(spec).__name__}")
    # a 0 or a negative count is refused, never replaced by the default or read as a slice from the end
    if validation_size is not None:
        validation_size = check_int(validation_size, "validation_size", 1)
    if train_size is not None:
        train_size = check_int(train_size, "train_size", 1)
    path = Path(spec)
    if isinstance(spec, str) and spec == "digits":
        X, y, X_test, y_test = datasets.train_test_digits()
        size = DIGITS_VALIDATION_SIZE if validation_size is None else validation_size
        train, val = _split_validation(enlarge_digits(X), y, size, "digits")
        test = (enlarge_digits(X_test), y_test)
    elif path.is_dir():
        X, y = datasets.load_idx_dir(path, "train")
        test = datasets.load_idx_dir(path, "t10k")
        size = datasets.BOOK_VALIDATION_SIZE if validation_size is None else validation_size
        train, val = _split_validation(X, y, size, str(spec))
    elif path.name.endswith(".pkl.gz"):
        if validation_size is not None:
            raise ValueError("the validation size comes with mnist.pkl.gz (its second split); "
                             "give it only with 'digits' or a folder of IDX files")
        train, val, test = datasets.load_mnist_pkl(path)
    elif not path.exists():
        raise FileNotFoundError(f"data {str(spec)!r} not found: expected 'digits', a folder of IDX files "
                                f"or the book's mnist.pkl.gz")
    else:
        raise ValueError(f"unsupported data file {str(spec)!r}: expected 'digits', a folder of IDX files "
                         f"or the book's mnist.pkl.gz")
    if train[0].shape[1] != 784:
        raise ValueError(f"the chapter-6 networks take 28x28 images (784 pixels), {str(spec)!r} has "
                         f"{train[0].shape[1]} values per image")
    if train_size is not None:
        if train_size > len(train[0]):
            raise ValueError(f"train size {train_size} is more than the {len(train[0])} training rows")
        train = (train[0][:train_size], train[1][:train_size])
    return [train, val, test]
