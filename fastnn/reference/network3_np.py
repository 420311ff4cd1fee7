"""Chapter 6's ``network3.py`` algorithm in plain NumPy/SciPy, with hand-written backprop.

This is the oracle the convolutional kernels (:mod:`fastnn.kernels.conv`) are
tested against.  It is written from the book's definitions, independently of
the kernels, and is itself checked against central finite differences.

A network is described by a list of layer tuples (no classes, no state):

* ``("conv", filter_shape, image_shape, poolsize, activation)``:
  ``filter_shape = (F, C, fh, fw)``, ``image_shape = (C, H, W)`` (one sample),
  ``poolsize = (ph, pw)``.  'valid' *convolution* as Theano's ``conv2d``
  computes it (the filter is flipped):
  ``z[f, i, j] = sum_c sum_{k,l} x[c, i+k, j+l] w[f, c, fh-1-k, fw-1-l]``,
  then max-pooling over ``ph x pw`` blocks (rows and columns that do not fill
  a block are ignored), then ``activation(pooled + b[f])``.
* ``("fc", n_in, n_out, activation, p_dropout)``: ``activation(x w + b)``
  with ``w`` of shape ``(n_in, n_out)``.
* ``("softmax", n_in, n_out, p_dropout)``: ``softmax(x w + b)``; always the
  last layer; the cost is the mean over the mini-batch of ``-log a[y]``.

``params`` is a list of ``(w, b)`` pairs in the book's shapes.  ``activation``
is one of ``"sigmoid"``, ``"tanh"``, ``"relu"``, ``"linear"``.

Dropout (fully connected and softmax layers): in training the layer's input
is multiplied by a 0/1 mask (the caller draws it: Bernoulli(1 - p_dropout));
at inference ``x w`` (not ``b``) is scaled by ``1 - p_dropout``.  ``masks`` is a
list with one entry per layer: ``None``, or an array ``(n_samples, n_in)``.

Max-pool gradient rule: the whole gradient of a pooling block goes to its
*first* maximum in row-major order (Theano gives it to every tied element).
"""
import numpy as np
from scipy.signal import convolve2d, correlate2d

ACTIVATIONS = ("sigmoid", "tanh", "relu", "linear")
"""The activation names a layer tuple may hold."""


# -- activations and their derivatives, written in terms of the output a = f(z) -----------

def activate(name, z):
    """f(z) for the activation called ``name``."""
    if name == "sigmoid":
        # the stable form: exp of a non-positive number only
        e = np.exp(-np.abs(z))
        return np.where(z >= 0, 1 / (1 + e), e / (1 + e))
    if name == "tanh":
        return np.tanh(z)
    if name == "relu":
        return np.maximum(z, 0)
    if name == "linear":
        return z.copy()
    raise ValueError(f"unknown activation {name!r}")


def derivative_from_output(name, a):
    """f'(z) written with the output a = f(z): sigma' = a(1-a), tanh' = 1-a^2, ReLU' = [a>0]."""
    if name == "sigmoid":
        return a * (1 - a)
    if name == "tanh":
        return 1 - a * a
    if name == "relu":
        return (a > 0).astype(a.dtype)
    if name == "linear":
        return np.ones_like(a)
    raise ValueError(f"unknown activation {name!r}")


def softmax(z):
    """Row-wise softmax, shifted by the row maximum (the same value, no overflow)."""
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


# -- the layers ------------------------------------------------------------------------------

def conv_valid(x, w):
    """Theano's 'valid' conv2d of one sample: x (C, H, W), w (F, C, fh, fw) -> (F, H-fh+1, W-fw+1)."""
    F, C = w.shape[:2]
    out = np.zeros((F, x.shape[1] - w.shape[2] + 1, x.shape[2] - w.shape[3] + 1), dtype=x.dtype)
    for f in range(F):
        for c in range(C):
            out[f] += convolve2d(x[c], w[f, c], mode="valid")
    return out


def max_pool(z, poolsize):
    """Max-pool (F, OH, OW) over (ph, pw) blocks, ignoring the border.

    Returns the pooled maps (F, OH//ph, OW//pw) and, per pooled element, the
    (row, column) of its block's first maximum in row-major order.
    """
    ph, pw = poolsize
    F, OH, OW = z.shape
    PH, PW = OH // ph, OW // pw
    blocks = z[:, :PH * ph, :PW * pw].reshape(F, PH, ph, PW, pw).transpose(0, 1, 3, 2, 4)
    blocks = blocks.reshape(F, PH, PW, ph * pw)
    first = np.argmax(blocks, axis=3)  # NumPy's argmax returns the first maximum
    pooled = np.take_along_axis(blocks, first[..., None], axis=3)[..., 0]
    rows = np.arange(PH)[None, :, None] * ph + first // pw
    cols = np.arange(PW)[None, None, :] * pw + first % pw
    return pooled, rows, cols


def output_shape(layer):
    """Shape of one sample's output of ``layer``: (F, PH, PW) for conv, (n_out,) otherwise."""
    if layer[0] == "conv":
        (F, _, fh, fw), (_, H, W), (ph, pw) = layer[1], layer[2], layer[3]
        return (F, (H - fh + 1) // ph, (W - fw + 1) // pw)
    return (layer[2],)


def _dropout_p(layer):
    return layer[4] if layer[0] == "fc" else layer[3] if layer[0] == "softmax" else 0.0


def forward(layers, params, X, masks=None, train=False):
    """Forward pass of the rows of ``X`` (n, n_in); returns a list of per-layer caches.

    ``train=True``: the training path (dropout masks applied to inputs, no
    scaling); ``train=False``: the inference path (``x w`` scaled by 1 - p).
    Each cache is a dict with the layer's input ``x`` (as the layer sees it,
    after the mask), its output ``a`` and, for conv layers, the pool's argmax.
    """
    caches = []
    a = X
    n = X.shape[0]
    for l, (layer, (w, b)) in enumerate(zip(layers, params)):
        kind = layer[0]
        if kind == "conv":
            x = a.reshape((n,) + tuple(layer[2]))
            pooled, rows, cols = [], [], []
            for s in range(n):
                p, r, c = max_pool(conv_valid(x[s], w), layer[3])
                pooled.append(p)
                rows.append(r)
                cols.append(c)
            pooled = np.array(pooled)
            a = activate(layer[4], pooled + b[None, :, None, None])
            caches.append({"x": x, "a": a, "rows": rows, "cols": cols})
            continue
        x = a.reshape(n, layer[1])
        p = _dropout_p(layer)
        if train:
            if masks is not None and masks[l] is not None:
                x = x * masks[l]
            z = x @ w + b
        else:
            z = (1 - p) * (x @ w) + b
        a = softmax(z) if kind == "softmax" else activate(layer[3], z)
        caches.append({"x": x, "a": a})
    return caches


def feedforward(layers, params, X):
    """Inference output (the softmax probabilities) of every row of ``X``."""
    return forward(layers, params, X)[-1]["a"]


def l2_term(params, lmbda, num_training_batches):
    """``0.5 * lmbda * sum(w**2) / num_training_batches`` over every layer's weights."""
    return 0.5 * lmbda * sum(float(np.sum(w ** 2)) for w, _ in params) / num_training_batches


def cost(layers, params, X, y, masks=None, lmbda=0.0, num_training_batches=1):
    """The training cost of one mini-batch: mean of -log a[y] (training path) plus the L2 term."""
    a = forward(layers, params, X, masks, train=True)[-1]["a"]
    return float(-np.mean(np.log(a[np.arange(len(y)), y]))) + l2_term(params, lmbda, num_training_batches)


def gradient(layers, params, X, y, masks=None, lmbda=0.0, num_training_batches=1):
    """Gradient of :func:`cost` with respect to every ``(w, b)``, by backpropagation.

    Returns a list of ``(dC/dw, dC/db)`` in the shapes of ``params``.
    """
    n = X.shape[0]
    caches = forward(layers, params, X, masks, train=True)
    grads = [None] * len(layers)
    # softmax + log-likelihood: dC/dz = (a - onehot(y)) / n
    dz = caches[-1]["a"].copy()
    dz[np.arange(n), y] -= 1
    dz /= n
    for l in range(len(layers) - 1, -1, -1):
        layer, (w, b), cache = layers[l], params[l], caches[l]
        if layer[0] == "conv":
            dw, db, dx = _conv_backward(layer, w, cache, dz)
        else:
            x = cache["x"]
            dw = x.T @ dz
            db = dz.sum(axis=0)
            dx = dz @ w.T
            if masks is not None and masks[l] is not None:
                dx = dx * masks[l]  # x = a_prev * mask
        grads[l] = (dw + lmbda * w / num_training_batches, db)
        if l == 0:
            break
        prev_layer, a_prev = layers[l - 1], caches[l - 1]["a"]
        act = prev_layer[4] if prev_layer[0] == "conv" else prev_layer[3]
        dz = dx.reshape(a_prev.shape) * derivative_from_output(act, a_prev)
    return grads


def _conv_backward(layer, w, cache, dz):
    """Gradients of a conv-pool layer from dC/d(pooled + b) ``dz`` of shape (n, F, PH, PW)."""
    x = cache["x"]
    n = x.shape[0]
    F, C, fh, fw = w.shape
    H, W = x.shape[2:]
    OH, OW = H - fh + 1, W - fw + 1
    db = dz.sum(axis=(0, 2, 3))
    dw = np.zeros_like(w)
    dx = np.zeros_like(x)
    for s in range(n):
        # route each pooled gradient to its block's first maximum
        g = np.zeros((F, OH, OW), dtype=x.dtype)
        rows, cols = cache["rows"][s], cache["cols"][s]
        for f in range(F):
            g[f][rows[f], cols[f]] = dz[s, f]
        for f in range(F):
            for c in range(C):
                # z = conv(x, w): dz/dw[fh-1-k, fw-1-l] = x[i+k, j+l], so dw is the flipped correlation
                dw[f, c] += correlate2d(x[s, c], g[f], mode="valid")[::-1, ::-1]
                # and dz/dx is the full correlation of g with w (the full convolution with w flipped)
                dx[s, c] += correlate2d(g[f], w[f, c], mode="full")
    return dw, db, dx


def sgd_step(layers, params, X, y, eta, masks=None, lmbda=0.0, num_training_batches=1):
    """One mini-batch step ``param - eta * grad``; returns the new params."""
    grads = gradient(layers, params, X, y, masks, lmbda, num_training_batches)
    return [(w - eta * gw, b - eta * gb) for (w, b), (gw, gb) in zip(params, grads)]


def sgd_epoch(layers, params, X, y, mini_batch_size, eta, masks=None, lmbda=0.0):
    """One epoch of the book's SGD: mini-batches in order, leftover rows dropped.

    ``masks``: one entry per layer, None or an array of shape (n, n_in) whose
    rows go with the rows of ``X``.
    """
    num_training_batches = X.shape[0] // mini_batch_size
    for k in range(num_training_batches):
        rows = slice(k * mini_batch_size, (k + 1) * mini_batch_size)
        batch_masks = None if masks is None else [None if m is None else m[rows] for m in masks]
        params = sgd_step(layers, params, X[rows], y[rows], eta, batch_masks, lmbda, num_training_batches)
    return params


def accuracy(layers, params, X, y):
    """Fraction of rows whose most probable class (inference path) is the label."""
    return float(np.mean(np.argmax(feedforward(layers, params, X), axis=1) == y))


def conv_valid_check(x, w):
    """The same convolution written as explicit sums (used to test :func:`conv_valid`)."""
    F, C, fh, fw = w.shape
    OH, OW = x.shape[1] - fh + 1, x.shape[2] - fw + 1
    out = np.zeros((F, OH, OW))
    for k in range(fh):
        for l in range(fw):
            out += np.einsum("fc,cij->fij", w[:, :, fh - 1 - k, fw - 1 - l], x[:, k:k + OH, l:l + OW])
    return out
