"""fastnn.Network: the book's ``network.py`` surface over a choice of engines.

The class only validates, converts and dispatches: the computing is done by
an engine (:mod:`fastnn.engines`) on one flat parameter buffer, of which
``net.weights`` and ``net.biases`` are views.
"""
import numbers
import os

import numpy as np

from . import _bookdata, _params, _speeds, _training_rows, persistence, training
from . import _guards
from ._validation import (check_array, check_dtype, check_finite, check_float, check_int, check_sample_weight,
                          check_sizes, check_targets)
from .engines import COST_CODES, ENGINES, INITS, check_threads
from ._epoch_reports import fit_report, network2_report, network_report

TRAINING_METRICS = ("running", "exact", "none")


class Network:
    """A sigmoid network trained by mini-batch stochastic gradient descent.

    Parameters
    ----------
    sizes : list of int
        Neurons per layer, input first, e.g. ``[784, 30, 10]``.
    seed : int or None
        Seeds ``numpy.random.default_rng``, which draws the initial
        parameters and every epoch's shuffle.  The same seed gives the same
        run in every engine.
    engine : {"jit", "reference", "matrix"}
        ``"jit"``: Numba kernels (fast).  ``"reference"``: the book's
        per-sample NumPy algorithm.  ``"matrix"``: chapter 2's NumPy matrix form.
    dtype : {"float64", "float32"}
        Precision of parameters and computation.
    cost : {"quadratic", "cross-entropy"}
        Chapter 1's quadratic cost or chapter 3's cross-entropy cost.
    init : {"large", "default"}
        ``"large"``: weights and biases N(0, 1) (chapter 1).  ``"default"``:
        weights N(0, 1/n_in), biases N(0, 1) (chapter 3).
    threads : int or None
        Threads of the ``"jit"`` engine (1 to ``numba.config.NUMBA_NUM_THREADS``).
        None (default): chosen at run time by timing short runs with 1, half and
        all of numba's current threads (``NUMBA_NUM_THREADS``,
        ``numba.set_num_threads``), and re-checked every few seconds of work, so
        a busy machine gets fewer threads.  Results are bit-identical for any
        count, so the choice never changes a result.

    Attributes
    ----------
    num_layers, sizes, weights, biases
        As in the book: ``weights[l]`` has shape ``(sizes[l+1], sizes[l])``,
        ``biases[l]`` has shape ``(sizes[l+1], 1)``.

    Examples
    --------
    >>> from fastnn import Network, datasets
    >>> X_train, y_train, X_test, y_test = datasets.train_test_digits()
    >>> net = Network([64, 30, 10], seed=0)
    >>> [w.shape for w in net.weights], [b.shape for b in net.biases]
    ([(30, 64), (10, 30)], [(30, 1), (10, 1)])
    >>> net.fit(X_train, y_train, epochs=5, mini_batch_size=10, eta=3.0).score(X_test, y_test) > 0.8
    True
    >>> net.predict(X_test[:3]).shape, net.predict_proba(X_test[:3]).shape
    ((3,), (3, 10))
    """

    def __init__(self, sizes, *, seed=None, engine="jit", dtype="float64", cost="quadratic",
                 init="large", threads=None):
        self.sizes = check_sizes(sizes)
        self.threads = check_threads(threads)
        self.num_layers = len(self.sizes)
        if engine not in ENGINES:
            raise ValueError(f"engine must be one of {sorted(ENGINES)}, got {engine!r}")
        if cost not in COST_CODES:
            raise ValueError(f"cost must be one of {sorted(COST_CODES)}, got {cost!r}")
        if init not in INITS:
            raise ValueError(f"init must be one of {list(INITS)}, got {init!r}")
        self.engine = engine
        self.cost = cost
        self.init = init
        self.dtype = np.dtype(check_dtype(dtype))
        self._engine = ENGINES[engine]()
        self.rng = np.random.default_rng(seed)
        self._sizes, self._w_off, self._b_off, n_params = _params.layout(self.sizes)
        self._theta = np.empty(n_params, dtype=self.dtype)
        self._w_views = _params.weight_views(self._theta, self._sizes, self._w_off)
        self._b_views = _params.bias_views(self._theta, self._sizes, self._b_off)
        self._weights = list(self._w_views)
        self._biases = list(self._b_views)
        self._initialise()
        self._reset_training_state()

    def _reset_training_state(self):
        """No epochs trained yet: empty history, no fit hyperparameters."""
        self.history_ = training.new_history()
        self.epochs_done_ = 0
        self.interrupted_ = False
        self.stop_reason_ = None
        self.fit_params_ = None
        self._rule_state = None

    def _initialise(self):
        """Draw biases, then weights, as network.py does (in that order)."""
        for b in self._b_views:
            b[...] = self.rng.standard_normal(b.shape)
        for w in self._w_views:
            scale = 1.0 if self.init == "large" else 1.0 / np.sqrt(w.shape[1])
            w[...] = self.rng.standard_normal(w.shape) * scale

    def __repr__(self):
        return (f"Network({self.sizes}, engine={self.engine!r}, dtype={self.dtype.name!r}, "
                f"cost={self.cost!r})")

    # -- pickling (joblib, multiprocessing): the flat buffer travels, views are rebuilt ------
    _VIEWS = ("_w_views", "_b_views", "_weights", "_biases", "_engine")

    def __getstate__(self):
        self._sync()
        return {k: v for k, v in self.__dict__.items() if k not in self._VIEWS}

    def __setstate__(self, state):
        self.__dict__.update(state)
        # own, writable copies: joblib may hand back read-only memmaps, which the kernels
        # cannot train and which would compile a second (read-only) signature
        for name in ("_theta", "_sizes", "_w_off", "_b_off"):
            setattr(self, name, np.array(getattr(self, name), order="C"))
        self._engine = ENGINES[self.engine]()
        self._w_views = _params.weight_views(self._theta, self._sizes, self._w_off)
        self._b_views = _params.bias_views(self._theta, self._sizes, self._b_off)
        self._weights = list(self._w_views)
        self._biases = list(self._b_views)

    # -- parameters: the book's lists, backed by the flat buffer -----------------
    @property
    def weights(self):
        """List of weight matrices, ``weights[l]`` of shape ``(sizes[l+1], sizes[l])``."""
        return self._weights

    @weights.setter
    def weights(self, new):
        self._replace(self._weights, self._w_views, list(new), "weights")

    @property
    def biases(self):
        """List of bias columns, ``biases[l]`` of shape ``(sizes[l+1], 1)``."""
        return self._biases

    @biases.setter
    def biases(self, new):
        self._replace(self._biases, self._b_views, list(new), "biases")

    def _replace(self, current, views, new, name):
        if len(new) != len(views):
            raise ValueError(f"{name} must have {len(views)} arrays (one per layer), got {len(new)}")
        self._sync_list(new, views, name)
        current[:] = views

    @staticmethod
    def _sync_list(arrays, views, name):
        """Copy any array the user put into ``arrays`` into the flat buffer.

        Every array is checked before anything is copied, so a bad one leaves
        the parameters untouched.
        """
        changed = [l for l, (arr, view) in enumerate(zip(arrays, views)) if arr is not view]
        for l in changed:
            arr, view = np.asarray(arrays[l]), views[l]
            column_as_vector = view.shape[1] == 1 and arr.shape == view.shape[:1]
            if arr.shape != view.shape and not column_as_vector:
                raise ValueError(f"{name}[{l}] must have shape {view.shape}, got {arr.shape}")
            if not np.isfinite(arr).all():
                raise ValueError(f"{name}[{l}] contains NaN or infinity")
        for l in changed:
            views[l][...] = np.reshape(arrays[l], views[l].shape)
            arrays[l] = views[l]

    def _sync(self):
        """Make edits of ``weights``/``biases`` list elements visible to every engine."""
        self._sync_list(self._weights, self._w_views, "weights")
        self._sync_list(self._biases, self._b_views, "biases")

    def _store(self, weights, biases):
        """Write full lists of new parameters (from a reference engine) into the buffer.

        One assignment of a complete new buffer: a KeyboardInterrupt can never
        leave some layers updated and others not.
        """
        self._theta[...] = self._flatten(weights, biases)

    def _flatten(self, weights, biases):
        """Flat buffer holding ``weights``/``biases`` lists in this network's layout."""
        flat = np.empty_like(self._theta)
        nabla_b, nabla_w = _params.split(flat, self._sizes, self._w_off, self._b_off)
        for view, w in zip(nabla_w, weights):
            view[...] = w
        for view, b in zip(nabla_b, biases):
            view[...] = b
        return flat

    # -- the book's surface ------------------------------------------------------
    def feedforward(self, a):
        """Return the output for input ``a``: an ``(n_in, 1)`` column, an ``(n_in,)`` vector
        or ``(n_in, k)`` columns; the result has the matching shape."""
        self._sync()
        a = np.asarray(a)
        n_in = self.sizes[0]
        if a.ndim == 1:
            X = check_array(a.reshape(1, -1), "a", dtype=self.dtype, n_features=n_in)
            return _guards.check_outputs(self._engine.feedforward(self, X), "a")[0]
        if a.ndim != 2 or a.shape[0] != n_in:
            raise ValueError(f"feedforward expects a column of shape ({n_in}, 1), a vector ({n_in},) "
                             f"or columns ({n_in}, k); got shape {a.shape}")
        X = check_array(a.T, "a", dtype=self.dtype, n_features=n_in)
        return np.ascontiguousarray(_guards.check_outputs(self._engine.feedforward(self, X), "a").T)

    def SGD(self, training_data, epochs, mini_batch_size, eta, lmbda=0.0, evaluation_data=None,
            monitor_evaluation_cost=False, monitor_evaluation_accuracy=False,
            monitor_training_cost=False, monitor_training_accuracy=False,
            early_stopping_n=0, eta_schedule_n=0, test_data=None):
        """Train with mini-batch SGD, printing and returning like the book's programs.

        Two behaviours, chosen by the arguments:

        * ``network.py`` (chapter 1): ``SGD(training_data, epochs, mini_batch_size,
          eta, test_data=None)`` prints ``Epoch j: correct / n_test`` after each
          epoch if ``test_data`` is given, else ``Epoch j complete``, and returns
          None.  ``lmbda`` may be added; the printing stays the same.
        * ``network2.py`` (chapter 3): as soon as ``evaluation_data``, a
          ``monitor_*`` flag, ``lmbda`` > 0, ``early_stopping_n`` or
          ``eta_schedule_n`` is given (and ``test_data`` is not), prints
          ``Epoch j training complete`` and the monitored costs/accuracies, and
          returns ``(evaluation_cost, evaluation_accuracy, training_cost,
          training_accuracy)``: per-epoch lists, empty where not monitored.
          Costs are :meth:`total_cost` (with the L2 term), accuracies are
          counts as from :meth:`accuracy`.

        Parameters
        ----------
        training_data : list or zip of (x, y) pairs, or arrays (X, y)
            ``y`` one-hot columns (as ``mnist_loader``) or int labels.
        epochs, mini_batch_size : int
        eta : float
            Learning rate.
        lmbda : float
            L2 regularisation parameter (eq. 93), with ``n = len(training_data)``.
        evaluation_data : list of (x, y) pairs or arrays (X, y), optional
            Validation or test data (int labels or one-hot).
        monitor_evaluation_cost, monitor_evaluation_accuracy, monitor_training_cost, monitor_training_accuracy : bool
            What to compute, print and return after each epoch.
        early_stopping_n : int
            Stop after this many epochs without improvement of the evaluation
            accuracy (0: off).  Needs ``evaluation_data``.
        eta_schedule_n : int
            Halve eta after this many epochs without improvement of the
            evaluation accuracy; stop once it reached eta/128 (0: off).
            Needs ``evaluation_data``.
        test_data : list of (x, y) pairs, optional
            ``network.py``'s argument: print the test accuracy after each epoch.

        Returns
        -------
        None or tuple of four lists
            See above.  Every epoch is also recorded in ``history_``.

        Raises
        ------
        KeyboardInterrupt
            Re-raised after Ctrl-C: see :meth:`fit`.
        """
        monitors = (monitor_evaluation_cost, monitor_evaluation_accuracy,
                    monitor_training_cost, monitor_training_accuracy)
        if test_data is not None and (evaluation_data is not None or any(monitors)):
            raise ValueError("test_data is network.py's argument (prints 'Epoch j: correct / n'); "
                             "with network2.py's monitor_* flags pass evaluation_data instead")
        book2 = test_data is None and bool(any(monitors) or evaluation_data is not None or lmbda
                                           or early_stopping_n or eta_schedule_n)
        n_in, n_out = self.sizes[0], self.sizes[-1]
        X, Y, labels = _bookdata.to_arrays(training_data, n_in, n_out, self.dtype)
        held_out = evaluation_data if test_data is None else test_data
        name = "evaluation_data" if test_data is None else "test_data"
        ev = None if held_out is None else _bookdata.to_arrays(held_out, n_in, n_out, self.dtype, name)
        rule = self._make_rule(eta, early_stopping_n, eta_schedule_n, ev is not None, "evaluation_data")
        lists = ([], [], [], [])
        if book2:
            report = network2_report(self, X, Y, labels, ev, lmbda, monitors, lists)
        else:
            report = network_report(self, ev)
        self._train(_training_rows.InMemoryRows(X, Y), epochs, mini_batch_size, eta, lmbda, report, rule=rule)
        return lists if book2 else None

    def update_mini_batch(self, mini_batch, eta, lmbda=0.0, n=1):
        """Apply one gradient-descent step using the ``(x, y)`` pairs of ``mini_batch``.

        With ``lmbda`` > 0 the weights first decay by ``1 - eta*(lmbda/n)``
        (eq. 93, network2.py), ``n`` being the size of the whole training set.
        """
        X, Y, _ = _bookdata.to_arrays(mini_batch, self.sizes[0], self.sizes[-1], self.dtype, "mini_batch")
        eta = check_float(eta, "eta", positive=True)
        lmbda = check_float(lmbda, "lmbda", nonnegative=True)
        n = check_int(n, "n", 1)
        self._sync()
        guard = _guards.ParameterGuard(self._theta)
        self._engine.update_mini_batch(self, X, Y, eta, lmbda, n)
        guard.check_parameters(self.epochs_done_, eta, len(X), len(X))

    def backprop(self, x, y):
        """Return ``(nabla_b, nabla_w)``, the gradient of the cost C_x for one sample,
        as lists shaped like ``biases`` and ``weights``."""
        X, Y, _ = _bookdata.to_arrays([(x, y)], self.sizes[0], self.sizes[-1], self.dtype, "(x, y)")
        self._sync()
        flat = self._engine.backprop(self, X[0], Y[0])
        nabla_b, nabla_w = _params.split(flat, self._sizes, self._w_off, self._b_off)
        return nabla_b, nabla_w

    def evaluate(self, test_data):
        """Number of test inputs for which the output neuron with the highest activation
        is the label."""
        X, _, labels = _bookdata.to_arrays(test_data, self.sizes[0], self.sizes[-1], self.dtype, "test_data")
        return self._count_correct(X, labels)

    def cost_derivative(self, output_activations, y):
        """Vector of partial derivatives dC_x/da for the output activations (quadratic cost)."""
        return np.asarray(output_activations) - np.asarray(y)

    def accuracy(self, data, convert=False):
        """Number of samples of ``data`` whose most active output neuron is the label (network2.py).

        ``data`` is a list of ``(x, y)`` pairs or arrays ``(X, y)``.  In
        network2.py ``convert=True`` marks one-hot targets (training data) and
        ``convert=False`` int labels (validation/test data); fastnn detects the
        label format itself, so ``convert`` is accepted for compatibility and
        either value gives the right count.
        """
        X, _, labels = _bookdata.to_arrays(data, self.sizes[0], self.sizes[-1], self.dtype, "data")
        return self._count_correct(X, labels)

    def total_cost(self, data, lmbda, convert=False):
        """network2.py's ``total_cost``: mean cost per sample plus the L2 term.

        Returns ``sum_x C_x / len(data) + 0.5*(lmbda/len(data))*sum_w ||w||^2``
        (eq. 85 with ``n = len(data)``, as network2.py computes it) with C_x the
        network's cost: ``0.5*||a - y||^2`` or the cross-entropy of eq. 63
        (``np.nan_to_num`` applied as in network2.py).  ``convert`` marks int
        labels in network2.py (the reverse of :meth:`accuracy`'s convention);
        fastnn detects the label format, so it is accepted and ignored.
        """
        X, Y, _ = _bookdata.to_arrays(data, self.sizes[0], self.sizes[-1], self.dtype, "data")
        lmbda = check_float(lmbda, "lmbda", nonnegative=True)
        self._sync()
        return self._total_cost(self._engine.feedforward(self, X), Y, lmbda)

    def layer_speeds(self, X, y):
        """Chapter 5's speed of learning: ||dC/db^l|| for each hidden layer l, first hidden layer first.

        The norm of the average over the rows of ``X`` (labels ``y``) of dC_x/db^l, as the book's
        ``fig/generate_gradient.py`` (float64 array of shape ``(num_layers - 2,)``).  ``lmbda``
        plays no part: the L2 term of eq. 85 has no biases.  See :mod:`fastnn.kernels.speeds`.
        """
        return _speeds.layer_speeds(self, X, y)

    def _total_cost(self, A, Y, lmbda):
        return training.total_cost(A, Y, self.cost, lmbda, self.weights)

    # -- array surface -----------------------------------------------------------
    def fit(self, X, y, epochs=30, mini_batch_size=10, eta=3.0, lmbda=0.0, validation_data=None, *,
            early_stopping_n=0, eta_schedule_n=0, progress=False, checkpoint=None, resume=False,
            callback=None, sample_weight=None, shuffle=True, training_metrics="running",
            record_layer_speeds=False):
        """Train on rows of ``X`` with labels ``y`` (ints ``(n,)`` or one-hot ``(n, n_out)``).

        Training continues from the current parameters; every epoch is
        appended to ``history_``.

        Parameters
        ----------
        X : array, shape (n, sizes[0])
            A NumPy array (or ``numpy.memmap``, list, DataFrame): each epoch
            is the book's, one shuffled order of all rows.  Or a chunked
            array (a Dask array, or any object with ``.chunks`` and
            ``__getitem__``): it is read one row chunk at a time and never
            held in memory whole; each epoch visits the chunks in a shuffled
            order and shuffles the rows within each chunk (``y`` and
            ``sample_weight`` are then loaded into memory; see the guide's
            page on data bigger than memory).
        y : array, shape (n,) of int labels or (n, sizes[-1]) targets
        epochs : int
            Epochs to train; with ``resume=True`` the *total* number of epochs
            of the run, of which those already done are skipped.
        mini_batch_size : int
        eta : float
            Learning rate (the initial one if ``eta_schedule_n`` is set).
        lmbda : float
            L2 regularisation parameter of chapter 3 (eq. 93), ``n = len(X)``.
        validation_data : tuple (X_val, y_val), optional
            Its cost and accuracy are recorded per epoch (``history_``; the
            accuracies also in ``validation_accuracy_``).
        early_stopping_n : int
            Stop after this many epochs without improvement of the validation
            accuracy (0: off).
        eta_schedule_n : int
            Halve eta after this many epochs without improvement of the
            validation accuracy; stop when it fell to eta/128 (0: off).
        progress : bool
            Show a tqdm bar (samples/s, last accuracy) on stderr if it is a
            terminal.  The bar is updated between chunks of whole mini-batches
            of ~0.2 s, never per sample.
        checkpoint : str or os.PathLike, optional
            Save the network (:meth:`save`, incl. RNG state and history) to
            this file, atomically, after every epoch.
        resume : bool
            Continue the run saved in ``checkpoint`` (if the file exists): load
            it into this network and train only the remaining epochs.  The
            result is bit-identical to an uninterrupted run.  The
            hyperparameters and training-set size must match the saved run.
        callback : callable, optional
            ``callback(net, record)`` after every epoch (``record``: that
            epoch's history entry as a dict); returning True stops training.
        sample_weight : array of shape (n,), optional
            Non-negative weight of every sample: each sample's gradient is
            multiplied by its weight and each mini-batch step is eta / (the
            mini-batch's weight sum) times that weighted sum (a mini-batch
            whose weights sum to 0 makes no gradient step).  Integer
            weights train like repeated rows in one mini-batch.  The
            training cost in ``history_`` is the weighted mean.
        shuffle : bool
            Shuffle the rows every epoch (the book).  False trains them in
            their order (chunks in their order for a chunked ``X``).
        training_metrics : {"running", "exact", "none"}
            How ``history_``'s ``training_cost`` and ``training_accuracy`` are
            measured.  ``"running"`` (default, no extra work): from the forward
            passes the epoch does anyway, each sample's output taken before its
            mini-batch's step (the way Keras reports training loss), so they
            describe the network *during* the epoch: the (weighted) mean of C_x
            over the epoch's samples plus the L2 term of eq. 85 with the
            end-of-epoch weights, and the fraction classified correctly.
            ``"exact"``: network2.py's ``total_cost`` and accuracy of the
            end-of-epoch network on the whole training set, at the cost of a
            second forward pass over it.  ``"none"``: not measured (None).
            Validation metrics are always exact.
        record_layer_speeds : bool
            Record :meth:`layer_speeds` on the (unweighted) training rows before each epoch's
            first step in ``history_["layer_speeds"]`` (chapter 5); the training is unchanged.

        Returns
        -------
        self
            ``history_`` holds per epoch: ``epoch``, ``eta``, ``seconds``
            (training time), ``training_cost``, ``training_accuracy``,
            ``validation_cost``, ``validation_accuracy`` (None when unknown).

        Raises
        ------
        KeyboardInterrupt
            Ctrl-C is handled between chunks: the running chunk of mini-batches
            completes, the parameters are those after its last mini-batch,
            ``history_`` keeps the completed epochs, ``interrupted_`` is set
            to True and the KeyboardInterrupt is re-raised (so scripts stop as
            usual; catch it to save the network).  The checkpoint file, if
            any, holds the last completed epoch.
        """
        if training_metrics not in TRAINING_METRICS:
            raise ValueError(f"training_metrics must be one of {list(TRAINING_METRICS)}, "
                             f"got {training_metrics!r}")
        before_fit = self._fit_state()
        # the jit engine counts non-finite inputs as it trains: no separate scan of X when
        # every row is trained before anything of this call is kept (see _rows)
        counted = (self._engine.counts_nonfinite and not resume and not record_layer_speeds
                   and isinstance(epochs, numbers.Integral) and epochs > 0)
        data = self._rows(X, y, sample_weight, shuffle, scan=not counted)
        val = None
        if validation_data is not None:
            X_val, y_val = validation_data
            val = self._check_X_y(X_val, y_val, "X_val", "y_val")
        epochs = check_int(epochs, "epochs", 0)
        rule = self._make_rule(eta, early_stopping_n, eta_schedule_n, val is not None, "validation_data")
        params = {"mini_batch_size": check_int(mini_batch_size, "mini_batch_size", 1),
                  "eta": rule.eta0, "lmbda": check_float(lmbda, "lmbda", nonnegative=True),
                  "early_stopping_n": rule.early_stopping_n, "eta_schedule_n": rule.eta_schedule_n,
                  "n_train": data.n, "shuffle": bool(shuffle)}
        if resume:
            if checkpoint is None:
                raise ValueError("resume=True needs checkpoint=PATH (the file to resume from)")
            rule = self._resume(checkpoint, params, rule)
            epochs = max(0, epochs - self.epochs_done_)
        self.fit_params_ = params
        self.validation_accuracy_ = []
        report = fit_report(self, data, val, params["lmbda"], training_metrics)
        try:
            self._train(data, epochs, params["mini_batch_size"], rule.eta0, params["lmbda"], report,
                        rule=rule, progress=progress, checkpoint=checkpoint, callback=callback,
                        running=training_metrics == "running",
                        before=_speeds.recorder(self, data, record_layer_speeds))
        except ValueError:
            if getattr(data, "found_nonfinite", False):  # parameters restored already
                self._restore_fit_state(before_fit)
            raise
        return self

    _FIT_STATE = ("fit_params_", "validation_accuracy_", "interrupted_", "stop_reason_")

    def _fit_state(self):
        """What ``fit`` changes before its first epoch ends, besides the parameters."""
        state = {name: getattr(self, name) for name in self._FIT_STATE if hasattr(self, name)}
        return state, self.rng.bit_generator.state

    def _restore_fit_state(self, saved):
        """Undo :meth:`_fit_state`'s changes: as if ``fit`` had refused its input at once."""
        state, rng_state = saved
        for name in self._FIT_STATE:
            if name in state:
                setattr(self, name, state[name])
            elif hasattr(self, name):
                delattr(self, name)
        self.rng.bit_generator.state = rng_state

    def _rows(self, X, y, sample_weight, shuffle, scan=True):
        """The training rows of ``fit``, checked: in memory, or read chunk by chunk.

        ``scan=False`` leaves the NaN/inf check of an in-memory ``X`` to the engine's count
        of non-finite inputs during the first epoch (:class:`~fastnn._training_rows.InMemoryRows`'s
        ``unchecked``); the caller restores its state if that check fails."""
        if not isinstance(shuffle, (bool, np.bool_)):
            raise TypeError(f"shuffle must be True or False, got {shuffle!r}")
        if _training_rows.is_chunked(X):
            n = _training_rows.check_chunked(X, self.sizes[0])
            Y, _ = check_targets(_training_rows.in_memory(y), n, self.sizes[-1], self.dtype)
            sw = check_sample_weight(_training_rows.in_memory(sample_weight), n, self.dtype)
            return _training_rows.ChunkedRows(X, Y, self.dtype, sw, shuffle)
        converted = getattr(X, "dtype", self.dtype) != self.dtype  # values cast from another dtype
        X, Y = self._check_X_y(X, y, finite=scan)
        sw = check_sample_weight(sample_weight, X.shape[0], self.dtype)
        return _training_rows.InMemoryRows(X, Y, sw, shuffle, unchecked=None if scan else ("X", converted))

    def _resume(self, checkpoint, params, rule):
        """Load ``checkpoint`` (if it exists) into self; return the rule to continue with."""
        if os.path.exists(checkpoint):
            persistence.restore_state(self, persistence.read_model_file(checkpoint), os.fspath(checkpoint))
        saved = None if self.fit_params_ is None else {"shuffle": True, **self.fit_params_}
        if self.epochs_done_ and saved is not None and saved != params:
            diff = {k: (saved.get(k), v) for k, v in params.items() if saved.get(k) != v}
            raise ValueError(f"cannot resume {os.fspath(checkpoint)!r}: these settings differ from the "
                             f"saved run (saved, now): {diff}")
        if self.epochs_done_ and self._rule_state is not None:
            return training.PlateauRule.from_state(self._rule_state)
        return rule

    def save(self, path):
        """Save the network to ``path`` (``.npz``, no pickle, written atomically).

        Stores sizes, dtype, cost, init, engine, parameters, the RNG state,
        ``history_``, ``epochs_done_`` and the last ``fit``'s hyperparameters:
        everything :meth:`load` and ``fit(..., resume=True)`` need.  See
        the user guide (guarantees and file formats) for the format.
        """
        persistence.save_network(self, path)

    @classmethod
    def load(cls, path, *, engine=None):
        """Load a network (or checkpoint) written by :meth:`save`.

        Parameters
        ----------
        path : str or os.PathLike
        engine : {"jit", "reference", "matrix"}, optional
            Overrides the saved engine.

        Returns
        -------
        Network
            With the saved parameters, RNG state, ``history_``, ``epochs_done_``
            and the hyperparameters of its last ``fit`` (``fit_params_``).

        Raises
        ------
        FileNotFoundError
            If ``path`` does not exist.
        fastnn.ModelFileError
            (a ``ValueError``) for an empty, truncated, corrupted, foreign or
            wrong-version file, naming the problem.
        """
        return persistence.network_from_payload(cls, persistence.read_model_file(path), os.fspath(path),
                                                engine)

    def to_onnx(self, path=None, *, opset=None, dtype=None, allow_untrained=False):
        """The network as an ONNX model, written atomically to ``path`` if given: input ``X``, outputs
        ``activations`` (:meth:`predict_proba`) and ``label`` (:meth:`predict`).  The arguments, return
        value and errors are those of :func:`fastnn.onnx.to_onnx`; needs ``pip install "fastnn[onnx]"``."""
        from . import _onnx_graph

        model = _onnx_graph.export_network(self, opset=opset, dtype=dtype, allow_untrained=allow_untrained)
        if path is not None:
            _onnx_graph.write_model(model, path)
        return model

    def predict_proba(self, X):
        """Output activations for every row of ``X``, shape ``(n, n_out)``."""
        X = check_array(X, "X", dtype=self.dtype, n_features=self.sizes[0], finite=False)
        self._sync()
        return self._outputs(X, "X")

    def _outputs(self, X, name):
        """The engine's outputs for ``X`` (checked by :func:`check_array` except for
        finiteness, which the forward pass itself reveals: no extra scan of ``X``)."""
        out, inputs_finite = self._engine.feedforward_checked(self, X)
        if not inputs_finite:
            check_finite(X, name)  # NaN/inf inputs; else the outputs overflowed, caught below
        return _guards.check_outputs(out, name)

    def predict(self, X):
        """Predicted class (index of the most active output neuron) per row, shape ``(n,)``."""
        return np.argmax(self.predict_proba(X), axis=1)

    def score(self, X, y):
        """Fraction of rows of ``X`` classified as their label in ``y``."""
        X, Y = self._check_X_y(X, y, finite=False)
        self._sync()
        return float(np.mean(np.argmax(self._outputs(X, "X"), axis=1) == np.argmax(Y, axis=1)))

    # -- internals ---------------------------------------------------------------
    def _check_X_y(self, X, y, x_name="X", y_name="y", finite=True):
        X = check_array(X, x_name, dtype=self.dtype, n_features=self.sizes[0], finite=finite)
        Y, _ = check_targets(y, X.shape[0], self.sizes[-1], self.dtype, name=y_name)
        return X, Y

    def _count_correct(self, X, labels):
        self._sync()
        outputs = _guards.check_outputs(self._engine.feedforward(self, X))
        return int(np.sum(np.argmax(outputs, axis=1) == labels))

    def _make_rule(self, eta, early_stopping_n, eta_schedule_n, have_validation, data_name):
        """Validate the chapter-3 stopping options; return a fresh :class:`~fastnn.training.PlateauRule`."""
        eta = check_float(eta, "eta", positive=True)
        early_stopping_n = check_int(early_stopping_n, "early_stopping_n", 0)
        eta_schedule_n = check_int(eta_schedule_n, "eta_schedule_n", 0)
        if (early_stopping_n or eta_schedule_n) and not have_validation:
            raise ValueError(f"early_stopping_n and eta_schedule_n watch the validation accuracy: "
                             f"pass {data_name}")
        return training.PlateauRule(eta, early_stopping_n, eta_schedule_n)

    def _train(self, data, epochs, mini_batch_size, eta, lmbda, report, *, rule=None,
               progress=False, checkpoint=None, callback=None, running=False, before=None):
        """The SGD loop shared by ``SGD`` and ``fit`` over the rows of ``data`` (:mod:`fastnn._training_rows`).

        Per epoch: shuffle and train the mini-batches in chunks (``data.epoch``;
        with ``running``, it also sums each sample's cost and correctness from
        its own forward pass), ``report(j)`` (measure and print), record in
        ``history_``, apply the stopping rule, save the checkpoint, call ``callback``.
        """
        epochs = check_int(epochs, "epochs", 0)
        mini_batch_size = check_int(mini_batch_size, "mini_batch_size", 1)
        eta = check_float(eta, "eta", positive=True)
        lmbda = check_float(lmbda, "lmbda", nonnegative=True)
        rule = rule or training.PlateauRule(eta)
        self._sync()
        guard = _guards.ParameterGuard(self._theta)  # NaN/inf -> restore + DivergenceError
        sizer = training.ChunkSizer(mini_batch_size)
        bar = training.make_progress(progress, epochs * data.n)
        self.interrupted_ = False
        self.stop_reason_ = rule.stopped
        try:
            for j in range(epochs):
                if rule.stopped:
                    break
                bar.set_description_str(f"epoch {self.epochs_done_}")  # numbered as printed: Epoch 0 first
                guard.commit()  # divergence restores the parameters of this epoch's start
                measured = before() if before is not None else {}  # e.g. layer speeds, before the first step
                seconds = data.epoch(self, mini_batch_size, rule.eta, lmbda, sizer, bar, guard, running=running)
                record = dict(report(j), **measured, epoch=self.epochs_done_, eta=rule.eta, seconds=seconds)
                guard.check_cost(self.epochs_done_, rule.eta, record)
                probe = self._engine.feedforward(self, data.probe())
                guard.warn_if_saturated(probe, self.epochs_done_, rule.eta)
                self._commit_epoch(record, rule, checkpoint)
                accuracy = record.get("validation_accuracy", record.get("training_accuracy"))
                if accuracy is not None:
                    bar.set_postfix_str(f"acc={accuracy:.2%}")
                if callback is not None and callback(self, record):
                    break
        except KeyboardInterrupt:
            self.interrupted_ = True
            self._trim_history()
            raise
        finally:
            bar.close()

    def _commit_epoch(self, record, rule, checkpoint):
        """Count a finished epoch: history, stopping rule, checkpoint."""
        training.append_history(self.history_, record)
        self.epochs_done_ += 1
        if rule.active:
            rule.update(record.get("validation_accuracy"))
        self._rule_state = rule.state()
        self.stop_reason_ = rule.stopped
        if checkpoint is not None:
            self.save(checkpoint)

    def _trim_history(self):
        """After an interrupt: keep exactly the ``epochs_done_`` completed epochs in ``history_``."""
        for values in self.history_.values():
            del values[self.epochs_done_:]
