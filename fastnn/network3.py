"""Drop-in for the book's ``network3.py`` (chapter 6): convolutional networks without Theano.

The chapter's scripts run with one changed import::

    from fastnn import network3
    from fastnn.network3 import Network, ConvPoolLayer, FullyConnectedLayer, SoftmaxLayer
    from fastnn.network3 import ReLU, sigmoid, tanh, linear

    training_data, validation_data, test_data = network3.load_data_shared()
    mini_batch_size = 10
    net = Network([
        ConvPoolLayer(image_shape=(mini_batch_size, 1, 28, 28), filter_shape=(20, 1, 5, 5),
                      poolsize=(2, 2)),
        FullyConnectedLayer(n_in=20*12*12, n_out=100),
        SoftmaxLayer(n_in=100, n_out=10)], mini_batch_size)
    net.SGD(training_data, 60, mini_batch_size, 0.1, validation_data, test_data)

The layers compute what Theano computed for the book (flipped 'valid'
convolution, max-pooling ignoring the border, bias and activation after
pooling, dropout on the inputs of fully connected and softmax layers with
``(1 - p)`` scaling of ``x w`` at inference, the log-likelihood cost, the L2
term ``0.5 * lmbda * sum(w**2) / num_training_batches``, the step
``param - eta * grad``) with the explicit-loop kernels of
:mod:`fastnn.kernels.conv`.  Where fastnn differs from Theano: the dropout
masks come from the network's seeded NumPy generator, and a max-pooling
block's gradient goes to its first maximum only (see the user guide).
"""
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

__all__ = ["Network", "ConvPoolLayer", "FullyConnectedLayer", "SoftmaxLayer", "ReLU", "sigmoid", "tanh",
           "linear", "load_data_shared"]

FORMAT_NAME = "fastnn.network3.Network"
FORMAT_VERSION = 1


from ._network3_layers import (ConvPoolLayer, FullyConnectedLayer, ReLU, SoftmaxLayer, _check_layers,
                               _layer_from_description, _layer_table, linear, sigmoid, tanh)


def load_data_shared(filename="../data/mnist.pkl.gz"):
    """The book's ``load_data_shared``: ``[training, validation, test]`` as ``(X, y)`` array pairs.

    ``X`` has shape ``(n, 784)`` and ``y`` holds int labels; the file is read
    by :func:`fastnn.mnist_loader.load_data` (a restricted unpickler, never
    executing code).  No Theano shared variables: plain arrays.
    """
    from . import mnist_loader
    training_data, validation_data, test_data = mnist_loader.load_data(filename)
    return [training_data, validation_data, test_data]


# -- the network ---------------------------------------------------------------------------

def _int_seed(seed):
    """``seed`` as saved: a Python int, or None when it is not an int (a ``SeedSequence``, say)."""
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        return int(seed)
    return None


class Network:
    """The book's ``network3.Network``: layers trained by mini-batch SGD on the log-likelihood cost.

    Parameters
    ----------
    layers : list of layers
        Zero or more :class:`ConvPoolLayer`, then zero or more
        :class:`FullyConnectedLayer`, then one :class:`SoftmaxLayer`.  Each
        layer's input must match the previous layer's output.  The network
        takes the layers' parameters over (``layer.w`` and ``layer.b`` become
        views of its parameter buffer): a layer belongs to one network.
    mini_batch_size : int
        The mini-batch size (``image_shape[0]`` of every conv layer).
    seed : int or None
        Seeds ``numpy.random.default_rng``, which draws the dropout masks.  If
        given, every layer's initial parameters are drawn anew from it, in
        layer order (``w`` then ``b``), replacing those drawn when the layers
        were made (from an unseeded generator, as the book's ``np.random``).
    dtype : {"float64", "float32"}
        Precision of the parameters and of all computation.
    threads : int
        Threads for training and inference (1 to ``numba.config.NUMBA_NUM_THREADS``).
        With more than 1, each block of a mini-batch's conv forward passes, the conv
        layers' weight gradients (split by filter) and input gradients (by sample),
        and inference's rows are spread over threads; no sum is split, so the results
        are bit-identical for any count.

    Attributes
    ----------
    layers : list
    params : list of ndarray
        ``[layers[0].w, layers[0].b, layers[1].w, ...]``, the book's order.
    history_ : dict of lists
        Per epoch: ``epoch``, ``eta``, ``seconds``, ``training_cost`` (mean
        -log a_y over the epoch's mini-batches as they were trained, with
        dropout, plus the L2 term), ``training_accuracy`` (same passes),
        ``validation_cost`` and ``validation_accuracy`` (inference path).

    Examples
    --------
    >>> from fastnn.network3 import Network, ConvPoolLayer, FullyConnectedLayer, SoftmaxLayer, ReLU
    >>> net = Network([ConvPoolLayer((4, 1, 3, 3), (10, 1, 8, 8), activation_fn=ReLU),
    ...                FullyConnectedLayer(4 * 3 * 3, 20, activation_fn=ReLU),
    ...                SoftmaxLayer(20, 10)], 10, seed=0)
    >>> [p.shape for p in net.params]
    [(4, 1, 3, 3), (4,), (36, 20), (20,), (20, 10), (10,)]
    """

    def __init__(self, layers, mini_batch_size, *, seed=None, dtype="float64", threads=1):
        self.mini_batch_size = check_int(mini_batch_size, "mini_batch_size", 1)
        self.threads = check_int(threads, "threads", 1)
        if self.threads > numba.config.NUMBA_NUM_THREADS:
            raise ValueError(f"threads must be between 1 and {numba.config.NUMBA_NUM_THREADS} "
                             f"(NUMBA_NUM_THREADS), got {self.threads}")
        self.layers = _check_layers(layers, self.mini_batch_size)
        self.dtype = np.dtype(check_dtype(dtype))
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        if seed is not None:
            for layer in self.layers:
                layer._draw(self.rng)
        self._spec, keep, n_params, self._mask_len = _layer_table(self.layers)
        self._keep = keep.astype(self.dtype)
        self._theta = np.empty(n_params, dtype=self.dtype)
        for l, layer in enumerate(self.layers):
            w0, b0 = self._spec[l, _kernels.W_OFF], self._spec[l, _kernels.B_OFF]
            w_view = self._theta[w0:b0].reshape(layer._w.shape)
            b_view = self._theta[b0:b0 + layer._b.size]
            w_view[...] = layer._w
            b_view[...] = layer._b
            layer._w, layer._b, layer._owner = w_view, b_view, self
        # each mask column's keep probability, layer by layer (columns of the mask rows)
        self._mask_keep = np.concatenate(
            [np.full(layer.n_in, 1.0 - layer.p_dropout) for l, layer in enumerate(self.layers)
             if self._spec[l, _kernels.MASK_OFF] >= 0] or [np.zeros(0)])
        self.n_in = self.layers[0].n_in
        self.n_classes = self.layers[-1].n_out
        self.history_ = training.new_history()
        self.epochs_done_ = 0
        self.interrupted_ = False
        self.fit_params_ = None

    def __repr__(self):
        inner = ",\n    ".join(repr(layer) for layer in self.layers)
        return f"Network([\n    {inner}], {self.mini_batch_size}, dtype={self.dtype.name!r})"

    @property
    def params(self):
        """Every layer's ``w`` and ``b``, in the book's order."""
        return [p for layer in self.layers for p in layer.params]

    # -- data ----------------------------------------------------------------------------
    def _check_X(self, X, name="X"):
        return check_array(X, name, dtype=self.dtype, n_features=self.n_in)

    def _check_y(self, y, n, name="y"):
        y = np.asarray(y)
        if y.ndim != 1 or y.shape[0] != n:
            raise ValueError(f"{name} must be a 1-D array of {n} int labels (one per row of the inputs), "
                             f"got shape {y.shape}")
        if y.dtype.kind not in "iu":
            if y.dtype.kind == "f" and np.all(np.isfinite(y)) and np.all(y == np.round(y)):
                y = y.astype(np.int64)
            else:
                raise TypeError(f"{name} must hold integer class labels, got dtype {y.dtype}")
        if n and (y.min() < 0 or y.max() >= self.n_classes):
            raise ValueError(f"{name} holds labels in [{y.min()}, {y.max()}], but the SoftmaxLayer has "
                             f"{self.n_classes} classes (labels 0..{self.n_classes - 1})")
        return np.ascontiguousarray(y, dtype=np.int64)

    def _check_data(self, data, name):
        if data is None:
            return None
        try:
            X, y = data
        except (TypeError, ValueError):
            raise TypeError(f"{name} must be a pair (X, y) of arrays, as load_data_shared returns") from None
        X = self._check_X(X, f"{name}[0]")
        return X, self._check_y(y, X.shape[0], f"{name}[1]")

    # -- inference -------------------------------------------------------------------------
    def predict_proba(self, X):
        """Softmax outputs (the inference path, dropout scaled by 1 - p) of every row, ``(n, n_classes)``."""
        X = self._check_X(X)
        return self._proba(X)

    def _proba(self, X):
        out = np.empty((X.shape[0], self.n_classes), dtype=self.dtype)
        with self._numba_threads():
            _kernels.predict_proba(self._theta, self._spec, self._keep, X, out, self.threads)
        return out

    @contextlib.contextmanager
    def _numba_threads(self):
        """Run the block's parallel kernels on ``self.threads`` threads."""
        with _guards.parallel_section():
            previous = numba.get_num_threads()
            numba.set_num_threads(self.threads)
            try:
                yield
            finally:
                numba.set_num_threads(previous)

    def predict(self, X):
        """Most probable class of every row of ``X``, shape ``(n,)``."""
        return np.argmax(self.predict_proba(X), axis=1)

    def score(self, X, y):
        """Fraction of the rows of ``X`` classified as their label in ``y``."""
        X = self._check_X(X)
        y = self._check_y(y, X.shape[0])
        return float(np.mean(np.argmax(self._proba(X), axis=1) == y))

    def _batch_accuracy(self, data, P=None):
        """The book's accuracy: mean over whole mini-batches only (leftover rows dropped).

        ``P``: the outputs of all rows of ``data``, if already computed.
        """
        X, y = data
        n = (X.shape[0] // self.mini_batch_size) * self.mini_batch_size
        P = self._proba(X[:n]) if P is None else P[:n]
        return float(np.mean(np.argmax(P, axis=1) == y[:n]))

    # -- training ----------------------------------------------------------------------------
    def SGD(self, training_data, epochs, mini_batch_size, eta, validation_data, test_data, lmbda=0.0):
        """Train by mini-batch SGD, printing what the book's ``network3.py`` prints.

        Mini-batches are taken in order (no shuffling), leftover rows are
        dropped, and the cost is the mean log-likelihood plus
        ``0.5 * lmbda * sum(w**2) / num_training_batches`` over every layer's
        weights.  After each epoch the validation accuracy (whole mini-batches
        of ``validation_data``) is printed, and when it is the best so far
        (``>=``), the test accuracy too.

        Parameters
        ----------
        training_data, validation_data, test_data : tuple (X, y)
            Arrays as :func:`load_data_shared` returns them (``test_data`` may be None).
        epochs : int
        mini_batch_size : int
            Must equal the network's ``mini_batch_size``.
        eta : float
            Learning rate.
        lmbda : float
            L2 regularisation parameter.

        Raises
        ------
        KeyboardInterrupt
            See :meth:`fit`.
        """
        self._check_mini_batch_size(mini_batch_size)
        train = self._check_data(training_data, "training_data")
        val = self._check_data(validation_data, "validation_data")
        if val is None:
            raise ValueError("validation_data is required (the book's SGD selects the best epoch by it)")
        test = self._check_data(test_data, "test_data")
        for name, data in (("validation_data", val), ("test_data", test)):
            if data is not None and data[0].shape[0] < self.mini_batch_size:
                raise ValueError(f"{name} has {data[0].shape[0]} rows, fewer than one mini-batch of "
                                 f"{self.mini_batch_size} (the book measures accuracy over whole mini-batches)")
        state = {"best": 0.0, "best_iteration": None, "test": None}
        ntb = train[0].shape[0] // self.mini_batch_size

        def report(epoch, record):
            accuracy = record["validation_accuracy_batches"]
            print("Epoch {0}: validation accuracy {1:.2%}".format(epoch, accuracy))
            if accuracy >= state["best"]:
                print("This is the best validation accuracy to date.")
                state["best"] = accuracy
                state["best_iteration"] = ntb * (epoch + 1) - 1
                if test is not None:
                    state["test"] = self._batch_accuracy(test)
                    print("The corresponding test accuracy is {0:.2%}".format(state["test"]))

        self._train(train, epochs, eta, lmbda, val, report, print_batches=True, progress=False)
        print("Finished training network.")
        if state["best_iteration"] is not None:
            print("Best validation accuracy of {0:.2%} obtained at iteration {1}".format(
                state["best"], state["best_iteration"]))
        if state["test"] is not None:
            print("Corresponding test accuracy of {0:.2%}".format(state["test"]))

    def fit(self, X, y, epochs, mini_batch_size, eta, lmbda=0.0, validation_data=None, progress=False):
        """Train on the rows of ``X`` with int labels ``y`` (the book's algorithm, no printing).

        As :meth:`SGD`: the mini-batches are the rows in order (shuffle ``X`` and ``y``
        yourself for another order), leftover rows are dropped, and the L2 term is
        ``0.5 * lmbda * sum(w**2) / num_training_batches``.

        Parameters
        ----------
        X : array of shape (n, n_in)
        y : array of shape (n,)
            Int labels in ``0..n_classes-1``.
        epochs : int
        mini_batch_size : int
            Must equal the network's ``mini_batch_size``.
        eta, lmbda : float
            Learning rate and L2 parameter, as in :meth:`SGD`.
        validation_data : tuple (X_val, y_val), optional
            Its cost and accuracy (all rows) are recorded per epoch in ``history_``.
        progress : bool
            Show a progress bar on stderr if it is a terminal.

        Returns
        -------
        self

        Raises
        ------
        KeyboardInterrupt
            Ctrl-C is handled between compiled chunks of whole mini-batches:
            the parameters are those after the last whole mini-batch trained,
            ``history_`` keeps the completed epochs, ``interrupted_`` is set and
            the KeyboardInterrupt is re-raised.
        """
        self._check_mini_batch_size(mini_batch_size)
        X = self._check_X(X)
        train = (X, self._check_y(y, X.shape[0]))
        val = self._check_data(validation_data, "validation_data")
        self._train(train, epochs, eta, lmbda, val, None, print_batches=False, progress=progress)
        return self

    def _check_mini_batch_size(self, mini_batch_size):
        m = check_int(mini_batch_size, "mini_batch_size", 1)
        if m != self.mini_batch_size:
            raise ValueError(f"mini_batch_size={m} differs from the network's mini_batch_size="
                             f"{self.mini_batch_size} (which the layers' image_shape was built for); "
                             f"pass {self.mini_batch_size} or build the network for {m}")

    def _draw_masks(self, rows):
        """Dropout masks for ``rows`` samples: 1 (keep) with probability 1 - p, per input."""
        if self._mask_len == 0:
            return np.zeros((rows, 0), dtype=np.uint8)
        u = self.rng.random((rows, self._mask_len))
        return (u < self._mask_keep).astype(np.uint8)

    def _l2_term(self, lmbda, ntb):
        return 0.5 * lmbda * sum(float(np.sum(layer.w.astype(np.float64) ** 2)) for layer in self.layers) / ntb

    def _train(self, train, epochs, eta, lmbda, val, report, *, print_batches, progress):
        epochs = check_int(epochs, "epochs", 0)
        eta = check_float(eta, "eta", positive=True)
        lmbda = check_float(lmbda, "lmbda", nonnegative=True)
        X, y = train
        m = self.mini_batch_size
        ntb = X.shape[0] // m
        if ntb == 0:
            raise ValueError(f"training data have {X.shape[0]} rows, fewer than one mini-batch of {m}")
        self.fit_params_ = {"mini_batch_size": m, "eta": eta, "lmbda": lmbda, "n_train": int(X.shape[0])}
        rows = np.arange(ntb * m, dtype=np.int64)
        t = self.dtype.type
        eta_t, decay_t = t(eta), t(eta * lmbda / ntb)
        sizer = training.ChunkSizer(m, first=64)
        bar = training.make_progress(progress, epochs * ntb * m)
        guard = _guards.ParameterGuard(self._theta)
        self.interrupted_ = False
        try:
            for epoch in range(epochs):
                guard.commit()
                t0 = time.perf_counter()
                sums = np.zeros(2)
                for start, stop in self._chunks(sizer, ntb, epoch, print_batches):
                    masks = self._draw_masks(stop - start)
                    with self._numba_threads():
                        _kernels.sgd_chunk(self._theta, self._spec, self._keep, X, y, rows[start:stop], masks,
                                           m, eta_t, decay_t, sums, self.threads)
                    guard.check_parameters(self.epochs_done_, eta, stop, ntb * m)
                    sizer.done()
                    bar.update(stop - start)
                seconds = time.perf_counter() - t0
                l2 = self._l2_term(lmbda, ntb)
                record = {"epoch": self.epochs_done_, "eta": eta, "seconds": seconds,
                          "training_cost": float(sums[0] / (ntb * m) + l2),
                          "training_accuracy": float(sums[1] / (ntb * m))}
                if val is not None:
                    P = self._proba(val[0])
                    with np.errstate(divide="ignore"):
                        record["validation_cost"] = float(-np.mean(np.log(P[np.arange(len(val[1])), val[1]])) + l2)
                    record["validation_accuracy"] = float(np.mean(np.argmax(P, axis=1) == val[1]))
                guard.check_cost(self.epochs_done_, eta, record)
                if report is not None:
                    record_for_print = dict(record, validation_accuracy_batches=self._batch_accuracy(val, P))
                    report(epoch, record_for_print)
                training.append_history(self.history_, record)
                self.epochs_done_ += 1
                if record.get("validation_accuracy") is not None:
                    bar.set_postfix_str(f"acc={record['validation_accuracy']:.2%}")
        except KeyboardInterrupt:
            self.interrupted_ = True
            for values in self.history_.values():
                del values[self.epochs_done_:]
            raise
        finally:
            bar.close()

    @staticmethod
    def _chunks(sizer, ntb, epoch, print_batches):
        """``(start, stop)`` sample ranges of whole mini-batches covering one epoch.

        Chunks are sized by ``sizer`` (about 0.2 s each) and, when printing,
        end at every 1000th mini-batch so each "Training mini-batch number"
        line appears when training reaches that mini-batch.
        """
        m = sizer.mini_batch_size
        sizer._most = ntb
        batch = 0
        while batch < ntb:
            iteration = ntb * epoch + batch
            if print_batches and iteration % 1000 == 0:
                print("Training mini-batch number {0}".format(iteration))
            stop = min(ntb, batch + sizer.batches)
            if print_batches:
                stop = min(stop, batch + 1000 - iteration % 1000)
            sizer._t0 = time.perf_counter()
            yield batch * m, stop * m
            batch = stop

    def to_onnx(self, path=None, *, opset=None, dtype=None, allow_untrained=False):
        """Export the network's inference path to ONNX; optionally write it to ``path``.

        The model has input ``X`` ``(batch, n_in)`` (reshaped to images inside the
        graph) and outputs ``activations`` ``(batch, n_classes)`` (what
        :meth:`predict_proba` returns) and ``label`` ``(batch,)`` (int64, what
        :meth:`predict` returns).  See :func:`fastnn.onnx.to_onnx` and the user
        guide page *Deploying a trained network*.

        Parameters
        ----------
        path : str or os.PathLike, optional
            Write the model there, atomically.
        opset : int, optional
            ONNX operator set, :data:`fastnn.onnx.MIN_OPSET` or newer (default
            :data:`fastnn.onnx.DEFAULT_OPSET`).
        dtype : {"float64", "float32"}, optional
            Precision of the exported computation (default: the network's).
        allow_untrained : bool, default False
            Export a network that was never trained instead of raising.

        Returns
        -------
        onnx.ModelProto
            Passed by ``onnx.checker.check_model``.

        Raises
        ------
        ValueError
            For an untrained network, an unsupported opset, or parameters that
            overflow ``dtype``.
        OSError
            If ``path`` cannot be written.
        ImportError
            If onnx is not installed.
        """
        from . import _onnx_graph, _onnx_network3

        model = _onnx_network3.export_network3(self, opset=opset, dtype=dtype, allow_untrained=allow_untrained)
        if path is not None:
            _onnx_graph.write_model(model, path)
        return model

    # -- files ---------------------------------------------------------------------------------
    def save(self, path):
        """Save the network to ``path`` (``.npz``, no pickle, written atomically).

        Stores the layers, mini-batch size, dtype, parameters, RNG state,
        ``history_``, ``epochs_done_``, the last training's hyperparameters and
        ``seed`` (when it is an int; else None).
        """
        meta = {"layers": [layer._describe() for layer in self.layers], "mini_batch_size": self.mini_batch_size,
                "dtype": self.dtype.name, "fastnn_version": __version__, "epochs_done": int(self.epochs_done_),
                "interrupted": bool(self.interrupted_), "fit_params": self.fit_params_,
                "seed": _int_seed(self.seed)}
        arrays = {"format": np.array(FORMAT_NAME), "format_version": np.array(FORMAT_VERSION, dtype=np.int64),
                  "meta": np.array(json.dumps(meta)),
                  "rng_state": np.array(json.dumps(self.rng.bit_generator.state)),
                  "history": np.array(json.dumps(self.history_))}
        for l, layer in enumerate(self.layers):
            arrays[f"w_{l}"] = np.array(layer.w)
            arrays[f"b_{l}"] = np.array(layer.b)
        with persistence.atomic_write(path) as f:
            np.savez(f, **arrays)

    @classmethod
    def load(cls, path):
        """Load a network written by :meth:`save`.

        Returns
        -------
        Network
            Its layers, parameters, dtype, RNG state (so dropout masks continue as
            they would have), ``history_``, ``epochs_done_`` and ``seed`` (None from
            files written before it was saved); ``threads=1``.

        Raises
        ------
        FileNotFoundError
            When nothing exists at ``path``.
        fastnn.ModelFileError
            A ``ValueError`` saying what is wrong with an empty, cut-short, corrupted
            or foreign file, or with entries that contradict each other.
        """
        path = os.fspath(path)
        arrays = persistence.read_npz(path, FORMAT_NAME)
        version = arrays.get("format_version")
        if version is None or version.shape != () or version.dtype.kind != "i" or int(version) != FORMAT_VERSION:
            raise ModelFileError(f"{path!r}: unsupported format_version (this fastnn reads {FORMAT_VERSION})")
        meta = persistence.json_entry(arrays, "meta", path)
        keys = {"layers", "mini_batch_size", "dtype", "fastnn_version", "epochs_done", "interrupted", "fit_params"}
        if not isinstance(meta, dict) or set(meta) - {"seed"} != keys:  # older files have no seed
            raise ModelFileError(f"{path!r}: 'meta' must have the keys {sorted(keys)} (and 'seed')")
        seed = meta.get("seed")
        if seed is not None and (type(seed) is not int or seed < 0):
            raise ModelFileError(f"{path!r}: 'seed' in 'meta' must be a non-negative int or null, got {seed!r}")
        try:
            layers = [_layer_from_description(d) for d in meta["layers"]]
            net = cls(layers, meta["mini_batch_size"], seed=0, dtype=meta["dtype"])
        except (TypeError, ValueError, KeyError) as exc:
            raise ModelFileError(f"{path!r}: invalid network description in 'meta': {exc}") from exc
        expected = {"format", "format_version", "meta", "rng_state", "history"}
        expected |= {f"{k}_{l}" for k in "wb" for l in range(len(layers))}
        if set(arrays) != expected:
            raise ModelFileError(f"{path!r}: entries {sorted(set(arrays) ^ expected)} are missing or unexpected")
        for l, layer in enumerate(layers):
            for name, target in (("w", layer.w), ("b", layer.b)):
                a = arrays[f"{name}_{l}"]
                if a.shape != target.shape or a.dtype != net.dtype:
                    raise ModelFileError(f"{path!r}: {name}_{l} has shape {a.shape} and dtype {a.dtype}, "
                                         f"expected {target.shape} and {net.dtype.name}")
                if not np.isfinite(a).all():
                    raise ModelFileError(f"{path!r}: {name}_{l} contains NaN or infinity")
                target[...] = a
        net.rng = persistence.rng_from_state(persistence.json_entry(arrays, "rng_state", path), path)
        try:
            net.history_ = training.check_history(persistence.json_entry(arrays, "history", path))
        except ValueError as exc:
            raise ModelFileError(f"{path!r}: invalid 'history' ({exc})") from exc
        done = meta["epochs_done"]
        if isinstance(done, bool) or not isinstance(done, int) or done < len(net.history_["epoch"]):
            raise ModelFileError(f"{path!r}: invalid epochs_done {done!r}")
        if meta["fit_params"] is not None and not isinstance(meta["fit_params"], dict):
            raise ModelFileError(f"{path!r}: 'fit_params' must be an object or null")
        net.epochs_done_ = done
        net.interrupted_ = bool(meta["interrupted"])
        net.fit_params_ = meta["fit_params"]
        net.seed = seed
        return net
