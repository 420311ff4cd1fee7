"""Chapter 6's convolutional network in PyTorch, written independently, for comparisons.

The book's ``network3.py`` (Theano) trains a stack of ``ConvPoolLayer``,
``FullyConnectedLayer`` and ``SoftmaxLayer`` with plain mini-batch SGD.  This
module runs the same algorithm with PyTorch CPU autograd, so that fastnn's
conv kernels and its NumPy reference can be compared with a third, unrelated
implementation (same initial weights, same mini-batches, same dropout masks)
and so that accuracy and speed have an outside anchor.

What is computed, following the book's code:

* **ConvPool**: a 'valid' *convolution* (Theano's ``conv2d`` flips the
  filters: ``out[b, f, i, j] = sum_{c,k,l} x[b, c, i+k, j+l] * w[f, c, fh-1-k, fw-1-l]``),
  max-pooling over non-overlapping ``poolsize`` windows with the border
  dropped (``ignore_border=True``), then the bias and the activation.  PyTorch's
  ``conv2d`` is a cross-correlation, so the filters are flipped once on the
  way in and once on the way out; the SGD step and the L2 term commute with
  the flip.  No dropout in conv layers (as in the book).
* **FullyConnected** / **Softmax**: the input is flattened channel-first;
  in training it is multiplied by a 0/1 dropout mask, with no rescaling; at
  inference ``(1 - p_dropout) * (x @ w) + b``.
* **Cost**: the mean over the mini-batch of ``-log softmax`` at the label,
  plus ``0.5 * lmbda * sum(w**2) / num_training_batches`` over every layer's
  weights (not the biases); the step is ``param - eta * grad``.
* **Batches**: rows ``i*m:(i+1)*m`` in order, no shuffling, leftover rows
  dropped; evaluation likewise in batches of ``m``.

Two points where tied values make implementations differ: PyTorch's CPU
max-pool sends the gradient to the first element of a window (in row-major
order) tied for the maximum, where Theano sends it to every tied element; and
ReLU is ``clamp(z, min=0)``, whose gradient at exactly ``z = 0`` is 1, as
Theano's ``T.maximum(0.0, z)``.  Compare on inputs without such ties (see the
chapter-6 data guide).

Layers are described by plain dicts (see :func:`book_conv_spec`), or taken
from any objects with the book's layer attributes (:func:`spec_from_layers`).
Weights travel as ``[(w, b), ...]`` in the book's shapes: conv ``w`` is
``filter_shape`` ``(filters, channels, fh, fw)`` and ``b`` ``(filters,)``;
fully connected and softmax ``w`` is ``(n_in, n_out)`` and ``b`` ``(n_out,)``.

PyTorch is optional (``pip install "fastnn[torch]"``) and only imported when
a function that trains or predicts is called.  This module imports nothing of
fastnn, so it can run in a child process (see :mod:`fastnn.bench.rivals`).
"""
import time

import numpy as np

__all__ = [
    "ACTIVATIONS",
    "book_conv_spec",
    "spec_from_layers",
    "check_spec",
    "init_book_weights",
    "bernoulli_masks",
    "forward_torch",
    "train_conv_torch",
]

ACTIVATIONS = ("sigmoid", "tanh", "relu", "linear")
"""Activation names understood here (the book's ``sigmoid``, ``tanh``, ``ReLU``, ``linear``)."""

_KINDS = ("conv", "fc", "softmax")
_DTYPES = {"float64": np.float64, "float32": np.float32}


# --------------------------------------------------------------------------- layer specs
def book_conv_spec(activation="relu", p_dropout=0.0, filters=(20, 40), hidden=100, n_classes=10):
    """The chapter's two-conv-layer net as a layer spec.

    ``ConvPool(20, 5x5) on 1x28x28 -> ConvPool(40, 5x5) on 20x12x12 ->
    FullyConnected(40*4*4, 100) -> Softmax(100, 10)``, pools 2x2.

    Parameters
    ----------
    activation : {"sigmoid", "tanh", "relu", "linear"}, default "relu"
        Activation of the conv and fully connected layers.
    p_dropout : float, default 0.0
        Dropout probability of the fully connected and softmax layers.
    filters : tuple of two int, default (20, 40)
        Filters of the two conv layers.
    hidden : int, default 100
        Neurons of the fully connected layer.
    n_classes : int, default 10
        Outputs of the softmax layer.

    Returns
    -------
    list of dict
        One dict per layer, as :func:`check_spec` accepts.

    Examples
    --------
    >>> from fastnn.rivals_conv import book_conv_spec
    >>> [layer["kind"] for layer in book_conv_spec()]
    ['conv', 'conv', 'fc', 'softmax']
    >>> book_conv_spec()[2]["n_in"]
    640
    """
    f1, f2 = filters
    return [
        {"kind": "conv", "filter_shape": (f1, 1, 5, 5), "image_shape": (1, 28, 28),
         "poolsize": (2, 2), "activation": activation},
        {"kind": "conv", "filter_shape": (f2, f1, 5, 5), "image_shape": (f1, 12, 12),
         "poolsize": (2, 2), "activation": activation},
        {"kind": "fc", "n_in": f2 * 4 * 4, "n_out": hidden, "activation": activation,
         "p_dropout": p_dropout},
        {"kind": "softmax", "n_in": hidden, "n_out": n_classes, "p_dropout": p_dropout},
    ]


def _activation_name(fn):
    """The name of an activation given as a string or as a function (``ReLU`` -> ``"relu"``)."""
    name = fn if isinstance(fn, str) else getattr(fn, "__name__", repr(fn))
    name = name.lower()
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {fn!r}: expected one of {ACTIVATIONS} "
                         f"(or a function of that name)")
    return name


def spec_from_layers(layers):
    """A layer spec from objects shaped like the book's layers.

    Any object with ``filter_shape``, ``image_shape``, ``poolsize`` and
    ``activation_fn`` is a conv layer; an object whose class name contains
    ``Softmax`` and that has ``n_in``/``n_out`` is a softmax layer; other
    objects with ``n_in``, ``n_out`` and ``activation_fn`` are fully connected
    layers.  ``image_shape`` may include the mini-batch size (the book's
    4-tuple); only its last three entries are kept.

    Parameters
    ----------
    layers : sequence
        Layer objects (for example those of a ``fastnn.network3.Network``).

    Returns
    -------
    list of dict

    Raises
    ------
    TypeError
        If a layer has none of the attribute sets above.
    """
    spec = []
    for i, layer in enumerate(layers):
        p = float(getattr(layer, "p_dropout", 0.0))
        if hasattr(layer, "filter_shape"):
            spec.append({"kind": "conv", "filter_shape": tuple(layer.filter_shape),
                         "image_shape": tuple(layer.image_shape)[-3:],
                         "poolsize": tuple(layer.poolsize),
                         "activation": _activation_name(layer.activation_fn)})
        elif hasattr(layer, "n_in") and "softmax" in type(layer).__name__.lower():
            spec.append({"kind": "softmax", "n_in": int(layer.n_in), "n_out": int(layer.n_out),
                         "p_dropout": p})
        elif hasattr(layer, "n_in") and hasattr(layer, "activation_fn"):
            spec.append({"kind": "fc", "n_in": int(layer.n_in), "n_out": int(layer.n_out),
                         "activation": _activation_name(layer.activation_fn), "p_dropout": p})
        else:
            raise TypeError(f"layer {i} ({type(layer).__name__}) is not a conv, fully connected "
                            f"or softmax layer: it lacks filter_shape or n_in/n_out")
    return check_spec(spec)


def _conv_out_shape(layer):
    """``(filters, pooled height, pooled width)`` of a conv layer spec."""
    f, _, fh, fw = layer["filter_shape"]
    _, h, w = layer["image_shape"]
    ph, pw = layer["poolsize"]
    return f, (h - fh + 1) // ph, (w - fw + 1) // pw


def check_spec(spec):
    """Validate a layer spec and return it normalised (tuples of int, lower-case names).

    Parameters
    ----------
    spec : sequence of dict
        Layers in order.  Conv layers: ``kind="conv"``, ``filter_shape``
        (4 ints), ``image_shape`` (``(channels, height, width)``, or the
        book's 4-tuple with the mini-batch size first), ``poolsize`` (2 ints,
        default ``(2, 2)``), ``activation``.  Fully connected: ``kind="fc"``,
        ``n_in``, ``n_out``, ``activation``, ``p_dropout`` (default 0).
        Softmax (last layer only): ``kind="softmax"``, ``n_in``, ``n_out``,
        ``p_dropout``.

    Returns
    -------
    list of dict

    Raises
    ------
    ValueError
        If a layer is malformed, a conv layer's channels differ from its
        image's, a filter is larger than its image, a layer's input size does
        not match the previous layer's output, a conv layer follows a fully
        connected one, or the last layer is not a softmax layer.
    """
    if not spec:
        raise ValueError("the layer spec is empty; give at least a softmax layer")
    out, prev_kind, normalised = None, None, []
    for i, layer in enumerate(spec):
        kind = layer.get("kind")
        if kind not in _KINDS:
            raise ValueError(f"layer {i}: kind must be one of {_KINDS}, got {kind!r}")
        if kind == "conv":
            fs = tuple(int(v) for v in layer["filter_shape"])
            im = tuple(int(v) for v in layer["image_shape"])[-3:]
            pool = tuple(int(v) for v in layer.get("poolsize", (2, 2)))
            if len(fs) != 4 or len(im) != 3 or len(pool) != 2 or min(fs + im + pool) < 1:
                raise ValueError(f"layer {i}: filter_shape needs 4 positive ints, image_shape 3 "
                                 f"(or 4), poolsize 2; got {fs}, {im}, {pool}")
            if prev_kind in ("fc", "softmax"):
                raise ValueError(f"layer {i}: a conv layer cannot follow a {prev_kind} layer")
            if fs[1] != im[0]:
                raise ValueError(f"layer {i}: filter_shape {fs} expects {fs[1]} input channels "
                                 f"but image_shape {im} has {im[0]}")
            if fs[2] > im[1] or fs[3] > im[2]:
                raise ValueError(f"layer {i}: filters {fs[2]}x{fs[3]} are larger than the "
                                 f"{im[1]}x{im[2]} image")
            if out is not None and tuple(out) != im:
                raise ValueError(f"layer {i}: image_shape {im} does not match the previous "
                                 f"layer's output {tuple(out)}")
            new = {"kind": "conv", "filter_shape": fs, "image_shape": im, "poolsize": pool,
                   "activation": _activation_name(layer.get("activation", "sigmoid"))}
            out = _conv_out_shape(new)
            if min(out) < 1:
                raise ValueError(f"layer {i}: pooling {pool} leaves nothing of the "
                                 f"{im[1] - fs[2] + 1}x{im[2] - fs[3] + 1} convolution output")
        else:
            n_in, n_out = int(layer["n_in"]), int(layer["n_out"])
            p = float(layer.get("p_dropout", 0.0))
            if n_in < 1 or n_out < 1 or not 0.0 <= p < 1.0:
                raise ValueError(f"layer {i}: n_in and n_out must be >= 1 and p_dropout in "
                                 f"[0, 1); got {n_in}, {n_out}, {p}")
            if out is not None and int(np.prod(out)) != n_in:
                raise ValueError(f"layer {i}: n_in={n_in} but the previous layer gives "
                                 f"{int(np.prod(out))} values per sample")
            new = {"kind": kind, "n_in": n_in, "n_out": n_out, "p_dropout": p}
            if kind == "fc":
                new["activation"] = _activation_name(layer.get("activation", "sigmoid"))
            elif i != len(spec) - 1:
                raise ValueError(f"layer {i}: the softmax layer must be the last layer")
            out = (n_out,)
        normalised.append(new)
        prev_kind = kind
    if normalised[-1]["kind"] != "softmax":
        raise ValueError("the last layer must be a softmax layer (the book's cost needs it)")
    return normalised


def _n_inputs(spec):
    """Values per sample the first layer reads."""
    first = spec[0]
    return int(np.prod(first["image_shape"])) if first["kind"] == "conv" else first["n_in"]


# --------------------------------------------------------------------------- weights and masks
def init_book_weights(spec, seed=0, dtype="float64"):
    """Initial weights drawn as ``network3.py`` draws them, in the book's shapes.

    Conv: ``w ~ N(0, 1/n_out)`` with ``n_out = filters*fh*fw / prod(poolsize)``,
    ``b ~ N(0, 1)``; fully connected: ``w ~ N(0, 1/n_out)``, ``b ~ N(0, 1)``;
    softmax: zeros.  Drawn from ``np.random.default_rng(seed)`` layer by layer
    (w then b), so not the book's exact numbers, which came from the global
    NumPy state.

    Parameters
    ----------
    spec : sequence of dict
        A layer spec (:func:`check_spec`).
    seed : int, default 0
    dtype : {"float64", "float32"}, default "float64"

    Returns
    -------
    list of (w, b)
    """
    spec = check_spec(spec)
    dt = _dtype(dtype)
    rng = np.random.default_rng(seed)
    weights = []
    for layer in spec:
        if layer["kind"] == "conv":
            fs = layer["filter_shape"]
            n_out = fs[0] * fs[2] * fs[3] / np.prod(layer["poolsize"])
            w = rng.normal(0.0, np.sqrt(1.0 / n_out), size=fs)
            b = rng.normal(0.0, 1.0, size=(fs[0],))
        elif layer["kind"] == "fc":
            w = rng.normal(0.0, np.sqrt(1.0 / layer["n_out"]), size=(layer["n_in"], layer["n_out"]))
            b = rng.normal(0.0, 1.0, size=(layer["n_out"],))
        else:
            w, b = np.zeros((layer["n_in"], layer["n_out"])), np.zeros(layer["n_out"])
        weights.append((w.astype(dt), b.astype(dt)))
    return weights


def bernoulli_masks(spec, mini_batch_size, seed=0, dtype="float64"):
    """A dropout-mask function drawing Bernoulli(1 - p) 0/1 masks from a seeded generator.

    Parameters
    ----------
    spec : sequence of dict
        A layer spec; layers with ``p_dropout > 0`` get masks.
    mini_batch_size : int
    seed : int, default 0
    dtype : {"float64", "float32"}, default "float64"

    Returns
    -------
    callable
        ``masks(step, layer_index)`` -> ``(mini_batch_size, n_in)`` array of
        0/1, or None for a layer without dropout.  Masks are drawn on first
        request; steps must be asked for in increasing order (as training
        does), and asking again within a step gives the same mask.
    """
    spec = check_spec(spec)
    dt = _dtype(dtype)
    rng = np.random.default_rng(seed)
    current = {"step": None, "masks": {}}

    def masks(step, layer_index):
        layer = spec[layer_index]
        p = layer.get("p_dropout", 0.0)
        if p == 0.0:
            return None
        if step != current["step"]:  # a new step: the previous step's masks are done with
            current["step"], current["masks"] = step, {}
        drawn = current["masks"]
        if layer_index not in drawn:
            drawn[layer_index] = (rng.random((mini_batch_size, layer["n_in"])) < 1.0 - p).astype(dt)
        return drawn[layer_index]

    return masks


def _dtype(dtype):
    """``np.float64`` or ``np.float32`` from a name or dtype; anything else is refused."""
    name = np.dtype(dtype).name if not isinstance(dtype, str) else dtype
    if name not in _DTYPES:
        raise ValueError(f"dtype must be 'float64' or 'float32', got {dtype!r}")
    return _DTYPES[name]


def _check_weights(spec, weights, dt):
    """Copies of ``weights`` as ``dt`` arrays after checking them against the spec's shapes."""
    if len(weights) != len(spec):
        raise ValueError(f"weights has {len(weights)} (w, b) pairs but the spec has "
                         f"{len(spec)} layers")
    out = []
    for i, (layer, (w, b)) in enumerate(zip(spec, weights)):
        if layer["kind"] == "conv":
            w_shape, b_shape = layer["filter_shape"], (layer["filter_shape"][0],)
        else:
            w_shape, b_shape = (layer["n_in"], layer["n_out"]), (layer["n_out"],)
        w, b = np.asarray(w), np.asarray(b)
        if w.shape != tuple(w_shape) or b.shape != tuple(b_shape):
            raise ValueError(f"layer {i}: expected w of shape {tuple(w_shape)} and b of shape "
                             f"{tuple(b_shape)}, got {w.shape} and {b.shape}")
        out.append((np.array(w, dtype=dt), np.array(b, dtype=dt)))
    return out


# --------------------------------------------------------------------------- PyTorch
def _torch_activation(name):
    import torch

    return {"sigmoid": torch.sigmoid, "tanh": torch.tanh,
            "relu": lambda z: torch.clamp(z, min=0.0),  # gradient 1 at z == 0, as Theano's maximum
            "linear": lambda z: z}[name]


def _to_torch(spec, weights):
    """Leaf tensors; conv filters flipped so that cross-correlation computes the convolution."""
    import torch

    params = []
    for layer, (w, b) in zip(spec, weights):
        wt = torch.from_numpy(np.ascontiguousarray(w))
        if layer["kind"] == "conv":
            wt = torch.flip(wt, dims=(2, 3)).contiguous()
        params.append((wt.requires_grad_(True), torch.from_numpy(np.ascontiguousarray(b))
                       .requires_grad_(True)))
    return params


def _from_torch(spec, params):
    """Book-shaped NumPy copies of the parameters (conv filters flipped back)."""
    import torch

    out = []
    for layer, (w, b) in zip(spec, params):
        w = w.detach()
        if layer["kind"] == "conv":
            w = torch.flip(w, dims=(2, 3))
        out.append((w.numpy().copy(), b.detach().numpy().copy()))
    return out


def _forward(spec, params, x, masks=None, log=False):
    """The net on a batch ``x`` (rows); training mode if ``masks`` is a list, else inference.

    Returns the softmax output (or its log if ``log``).
    """
    import torch
    import torch.nn.functional as F

    m = x.shape[0]
    a = x
    for i, (layer, (w, b)) in enumerate(zip(spec, params)):
        if layer["kind"] == "conv":
            a = a.reshape((m,) + layer["image_shape"])
            z = F.max_pool2d(F.conv2d(a, w), kernel_size=layer["poolsize"],
                             stride=layer["poolsize"], ceil_mode=False)
            a = _torch_activation(layer["activation"])(z + b.view(1, -1, 1, 1))
            continue
        a = a.reshape(m, layer["n_in"])
        p = layer["p_dropout"]
        if masks is not None:
            if masks[i] is not None:
                a = a * masks[i]
            z = torch.addmm(b, a, w)
        elif p:
            z = torch.addmm(b, a, w, alpha=1.0 - p)  # the book scales x.w, not b, by (1-p)
        else:
            z = torch.addmm(b, a, w)
        if layer["kind"] == "fc":
            a = _torch_activation(layer["activation"])(z)
        else:
            a = F.log_softmax(z, dim=1) if log else torch.softmax(z, dim=1)
    return a


def forward_torch(spec, weights, X, mini_batch_size=None, dtype="float64"):
    """Softmax outputs of the net at inference (dropout scaled by ``1 - p``).

    Parameters
    ----------
    spec : sequence of dict
    weights : list of (w, b)
        In the book's shapes.
    X : array-like, shape (n, n_inputs)
        One image per row, flattened channel-first.
    mini_batch_size : int, optional
        Evaluate in batches of this size (all rows at once if None).  Unlike
        the book's evaluation, a last partial batch is kept.
    dtype : {"float64", "float32"}, default "float64"

    Returns
    -------
    ndarray, shape (n, n_classes)
    """
    import torch

    spec = check_spec(spec)
    dt = _dtype(dtype)
    params = _to_torch(spec, _check_weights(spec, weights, dt))
    X = _check_inputs(spec, X, dt)
    if mini_batch_size is not None and int(mini_batch_size) < 1:
        raise ValueError(f"mini_batch_size must be a positive int or None, got {mini_batch_size!r}")
    step = int(mini_batch_size or max(len(X), 1))
    with torch.no_grad():
        return np.concatenate([_forward(spec, params, torch.from_numpy(X[s:s + step])).numpy()
                               for s in range(0, len(X), step)])


def _check_inputs(spec, X, dt):
    X = np.ascontiguousarray(X, dtype=dt)
    n_in = _n_inputs(spec)
    if X.ndim != 2 or X.shape[1] != n_in:
        raise ValueError(f"X must have shape (n, {n_in}) (one flattened image per row), "
                         f"got {X.shape}")
    return X


def _accuracy(spec, params, X, y, m):
    """The book's batch accuracy: full batches of ``m`` only, mean of the per-batch means."""
    import torch

    n_batches = len(X) // m
    correct = 0
    with torch.no_grad():
        for k in range(n_batches):
            out = _forward(spec, params, X[k * m:(k + 1) * m])
            correct += int((out.argmax(dim=1) == y[k * m:(k + 1) * m]).sum())
    return correct / (n_batches * m)


def train_conv_torch(spec, weights, X, y, *, mini_batch_size, eta, lmbda=0.0, epochs=1,
                     n_batches=None, masks=None, dtype="float64", threads=None,
                     num_training_batches=None, eval_data=None, callback=None):
    """Train the net with the book's SGD in PyTorch CPU; return the weights and timings.

    Parameters
    ----------
    spec : sequence of dict
        The layers (:func:`book_conv_spec`, :func:`check_spec`).
    weights : list of (w, b)
        Initial parameters in the book's shapes; not modified.
    X : array-like, shape (n, n_inputs)
        Training images, one per row, flattened channel-first.
    y : array-like of int, shape (n,)
        Labels.
    mini_batch_size : int
    eta : float
        Learning rate.
    lmbda : float, default 0.0
        L2 parameter; the cost gets ``0.5*lmbda*sum(w**2)/num_training_batches``.
    epochs : int, default 1
    n_batches : int, optional
        Stop every epoch after this many mini-batches (for one-step checks).
    masks : callable, optional
        ``masks(step, layer_index)`` -> 0/1 array of shape
        ``(mini_batch_size, n_in)`` or None, for every step (counted from 0
        over all epochs) and every fully connected / softmax layer.  If None
        and a layer has ``p_dropout > 0``, :func:`bernoulli_masks` with seed 0
        is used.
    dtype : {"float64", "float32"}, default "float64"
        Every tensor is of this type.
    threads : int, optional
        Given to ``torch.set_num_threads``; None keeps PyTorch's default.
    num_training_batches : int, optional
        The L2 term's divisor; default ``len(X) // mini_batch_size`` as in the book.
    eval_data : (X, y), optional
        Accuracy on it is measured after every epoch (not timed).
    callback : callable, optional
        ``callback(record)`` after every epoch, ``record`` a dict with
        ``epoch``, ``seconds`` and ``accuracy`` (None without ``eval_data``).

    Returns
    -------
    dict
        ``weights`` (list of (w, b), book shapes), ``epoch_seconds`` (list of
        float, training only), ``accuracy`` (list, per epoch, or empty),
        ``cost`` (the last mini-batch's log-likelihood cost, without the L2
        term), ``threads`` (PyTorch's thread
        count), ``dtype``.

    Raises
    ------
    ValueError
        For a bad spec, weights that do not fit it, inputs of the wrong width,
        labels out of range, a mini-batch larger than the training set, or
        masks of the wrong shape.
    """
    import torch
    import torch.nn.functional as F

    spec = check_spec(spec)
    dt = _dtype(dtype)
    weights = _check_weights(spec, weights, dt)
    X = _check_inputs(spec, X, dt)
    y = np.asarray(y)
    n_classes = spec[-1]["n_out"]
    if y.shape != (len(X),) or not np.issubdtype(y.dtype, np.integer) or (
            y.size and (y.min() < 0 or y.max() >= n_classes)):
        raise ValueError(f"y must hold {len(X)} integer labels in 0..{n_classes - 1}, got "
                         f"{y.dtype} array of shape {y.shape}")
    m = int(mini_batch_size)
    if not 1 <= m <= len(X):
        raise ValueError(f"mini_batch_size must be in 1..{len(X)} (the training set), got {m}")
    if threads is not None:
        torch.set_num_threads(int(threads))
    batches = len(X) // m if n_batches is None else min(int(n_batches), len(X) // m)
    ntb = num_training_batches or len(X) // m
    decay = lmbda / ntb
    if masks is None and any(layer.get("p_dropout", 0.0) for layer in spec):
        masks = bernoulli_masks(spec, m, seed=0, dtype=dt)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y.astype(np.int64))
    if eval_data is not None:
        Xe = torch.from_numpy(_check_inputs(spec, eval_data[0], dt))
        ye = torch.from_numpy(np.asarray(eval_data[1], dtype=np.int64))
    params = _to_torch(spec, weights)
    flat = [p for pair in params for p in pair]
    step, seconds, accuracy, cost = 0, [], [], float("nan")
    for epoch in range(int(epochs)):
        start = time.perf_counter()
        for k in range(batches):
            step_masks = None
            if masks is not None:
                step_masks = []
                for i, layer in enumerate(spec):
                    mask = masks(step, i) if layer["kind"] != "conv" else None
                    if mask is not None:
                        mask = np.asarray(mask, dtype=dt)
                        if mask.shape != (m, layer["n_in"]):
                            raise ValueError(f"mask for layer {i} at step {step} has shape "
                                             f"{mask.shape}, expected {(m, layer['n_in'])}")
                        mask = torch.from_numpy(mask)
                    step_masks.append(mask)
            logp = _forward(spec, params, Xt[k * m:(k + 1) * m], masks=step_masks or [None] * len(spec),
                            log=True)
            loss = F.nll_loss(logp, yt[k * m:(k + 1) * m])  # mean of -log softmax at the label
            grads = torch.autograd.grad(loss, flat)
            with torch.no_grad():
                for (w, b), (gw, gb) in zip(params, zip(grads[::2], grads[1::2])):
                    if decay:  # d/dw of 0.5*lmbda*sum(w**2)/num_training_batches
                        gw = gw + decay * w
                    w.sub_(eta * gw)
                    b.sub_(eta * gb)
            step += 1
        if batches:
            cost = float(loss.detach())
        seconds.append(time.perf_counter() - start)
        acc = _accuracy(spec, params, Xe, ye, m) if eval_data is not None else None
        if acc is not None:
            accuracy.append(acc)
        if callback is not None:
            callback({"epoch": epoch, "seconds": seconds[-1], "accuracy": acc})
    return {"weights": _from_torch(spec, params), "epoch_seconds": seconds, "accuracy": accuracy,
            "cost": cost, "threads": torch.get_num_threads(), "dtype": np.dtype(dt).name}
