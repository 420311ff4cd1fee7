"""scikit-learn estimators backed by :class:`fastnn.Network`.

:class:`MLPClassifier` and :class:`MLPRegressor` follow scikit-learn's
conventions (parameters stored unchanged by ``__init__``, fitted attributes
ending in ``_``, validation through ``sklearn.utils.validation``), so they
work in ``Pipeline``, ``GridSearchCV``, ``cross_val_score`` and with joblib.

Two things differ from a softmax network and are worth knowing:

* The output layer is the book's sigmoid layer, so the raw output activations
  of a classifier do not sum to 1.  ``predict_proba`` divides each row by its
  sum; the ranking of the classes (and so ``predict``) is unchanged.
* A sigmoid output lives in (0, 1), so the regressor rescales every target
  column linearly from its training range ``[min, max]`` to
  ``[TARGET_LOW, TARGET_HIGH] = [0.1, 0.9]`` before training and maps the
  outputs back in ``predict``.  Predictions can therefore extrapolate at most
  12.5 % of the training range beyond either end.

Pickling goes through ``fastnn.Network``'s own ``__getstate__``: the trained
parameters travel as one plain array, never a compiled kernel.
"""
import numbers

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, is_classifier
from sklearn.utils import check_array, check_random_state
from sklearn.utils.multiclass import check_classification_targets, type_of_target, unique_labels
from sklearn.utils.validation import check_is_fitted

from . import training
from ._sklearn_monitor import _EpochMonitor
from ._sklearn_names import _ALIASES, _DEFAULTS, _FIXED, _FIXED_WHY, _GUIDE, _REFUSED, _SklearnNames, _refuse, _same
from ._training_rows import check_chunked, in_memory, is_chunked, load_rows, row_bounds
from ._validation import check_dtype, check_flag, check_float, check_hidden_sizes, check_int, check_sample_weight
from .network import Network

try:  # scikit-learn >= 1.6
    from sklearn.utils.validation import validate_data as _validate_data
except ImportError:  # pragma: no cover - older scikit-learn
    def _validate_data(estimator, *args, **kwargs):
        return estimator._validate_data(*args, **kwargs)

__all__ = ["MLPClassifier", "MLPRegressor", "TARGET_LOW", "TARGET_HIGH"]

#: Range the regressor maps the training targets to (inside the sigmoid's (0, 1)).
TARGET_LOW = 0.1
TARGET_HIGH = 0.9

_SEED_BOUND = 2**31 - 1


def _seed(random_state):
    """A seed for ``Network``: ints and None pass through, a RandomState draws an int."""
    if random_state is None or (isinstance(random_state, numbers.Integral)
                                and not isinstance(random_state, bool)):
        return random_state
    return int(check_random_state(random_state).randint(_SEED_BOUND))


def _writeable(X):
    """``X`` itself, or a copy if it is read-only (e.g. a joblib memmap), so the
    Numba kernels see the one array type they were compiled for."""
    return X if X.flags.writeable else X.copy()


def _check_stopping_params(est):
    """Validate the parameters of scikit-learn's stopping rules and of the epoch loop."""
    for name in ("shuffle", "warm_start", "early_stopping"):
        check_flag(getattr(est, name), name)
    if not isinstance(est.verbose, (bool, np.bool_)) and not (
            isinstance(est.verbose, numbers.Integral) and est.verbose >= 0):
        raise TypeError(f"verbose must be a bool or a non-negative int, got {est.verbose!r}")
    fraction = est.validation_fraction
    if isinstance(fraction, bool) or not isinstance(fraction, numbers.Real) or not 0 < fraction < 1:
        raise ValueError(f"validation_fraction must be a number in (0, 1), got {fraction!r}")
    patience = est.n_iter_no_change
    if not (patience == np.inf or (isinstance(patience, numbers.Integral) and not isinstance(patience, bool)
                                   and patience >= 1)):
        raise ValueError(f"n_iter_no_change must be an int >= 1 or numpy.inf, got {patience!r}")
    tol = est.tol
    if isinstance(tol, bool) or not isinstance(tol, numbers.Real) or not np.isfinite(tol) or tol < 0:
        raise ValueError(f"tol must be a finite number >= 0, got {tol!r}")


def _stopping_rule(est):
    """scikit-learn's no-improvement rule as a :class:`fastnn.training.PlateauRule`.

    scikit-learn stops when the watched score has not risen by ``tol`` for
    more than ``n_iter_no_change`` epochs in a row, i.e. after
    ``n_iter_no_change + 1`` of them: PlateauRule's ``early_stopping_n``.
    """
    patience = 0 if est.n_iter_no_change == np.inf else int(est.n_iter_no_change) + 1
    # eta is not scheduled here (eta_schedule_n=0): the rule only stops
    return training.PlateauRule(1.0, early_stopping_n=patience, tol=float(est.tol))


class _BaseMLP(BaseEstimator, _SklearnNames):
    """Parameters, fitting and pickling shared by the classifier and the regressor."""

    def __init__(self, hidden_layer_sizes=(30,), *, epochs=30, mini_batch_size=10, eta=3.0,
                 cost="quadratic", lmbda=0.0, init="large", engine="jit", dtype="float64",
                 random_state=None, shuffle=True, verbose=False, warm_start=False,
                 early_stopping=False, validation_fraction=0.1, n_iter_no_change=10, tol=1e-4,
                 max_iter=None, batch_size=None, learning_rate_init=None, solver=None,
                 activation=None, learning_rate=None, momentum=None):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.epochs = epochs
        self.mini_batch_size = mini_batch_size
        self.eta = eta
        self.cost = cost
        self.lmbda = lmbda
        self.init = init
        self.engine = engine
        self.dtype = dtype
        self.random_state = random_state
        self.shuffle = shuffle
        self.verbose = verbose
        self.warm_start = warm_start
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        # scikit-learn's names, stored unchanged; resolved at fit (_training_params)
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.solver = solver
        self.activation = activation
        self.learning_rate = learning_rate
        self.momentum = momentum

    def set_params(self, **params):
        """Set parameters (scikit-learn's ``set_params``); scikit-learn's names with no exact
        meaning in fastnn are refused with the name to use instead."""
        _refuse(type(self).__name__, [key for key in params if key in _REFUSED])
        return super().set_params(**params)

    def _training_params(self, n=None):
        """``(epochs, mini_batch_size, eta)`` for ``n`` training rows: fastnn's parameters or
        scikit-learn's aliases (``max_iter``, ``batch_size``, ``learning_rate_init``), and a
        check of the fixed choices (``solver``, ``activation``, ``learning_rate``, ``momentum``)."""
        name = type(self).__name__
        for alias, allowed in _FIXED.items():
            value = getattr(self, alias)
            if value is not None and not _same(value, allowed):
                raise ValueError(f"{name}({alias}={value!r}) is not available: {_FIXED_WHY[alias]} "
                                 f"Leave {alias} out or pass {allowed!r}. {_GUIDE}")
        values = {}
        for alias, own in _ALIASES.items():
            given, mine = getattr(self, alias), getattr(self, own)
            if given is None:
                values[own] = mine
                continue
            if not _same(mine, _DEFAULTS[own]) and not _same(mine, given):
                raise ValueError(f"{name} got both {own}={mine!r} and scikit-learn's {alias}={given!r}, "
                                 f"which mean the same; give one of them")
            values[own] = given
        if isinstance(values["mini_batch_size"], str) and values["mini_batch_size"] == "auto":
            # scikit-learn's batch_size="auto" (n None: the parameters are only being checked)
            values["mini_batch_size"] = 200 if n is None else max(1, min(200, n))
        for alias, own in _ALIASES.items():  # errors name the parameter the user gave
            label = alias if getattr(self, alias) is not None else own
            if own == "eta":
                values[own] = check_float(values[own], label, positive=True)
            else:
                values[own] = check_int(values[own], label, 0 if own == "epochs" else 1)
        return values["epochs"], values["mini_batch_size"], values["eta"]

    # -- fitted attributes in scikit-learn's layout ---------------------------------
    @property
    def coefs_(self):
        """Weight matrices as scikit-learn lays them out: ``coefs_[l]`` is ``(n_in, n_out)``
        (transposed views of ``network_.weights``)."""
        return [w.T for w in self.network_.weights]

    @property
    def intercepts_(self):
        """Bias vectors, ``intercepts_[l]`` of shape ``(n_out,)`` (views of ``network_.biases``)."""
        return [b[:, 0] for b in self.network_.biases]

    @property
    def n_layers_(self):
        """Number of layers, input and output included."""
        return self.network_.num_layers

    @property
    def out_activation_(self):
        """Name of the output activation: always ``"logistic"`` (the book's sigmoid)."""
        check_is_fitted(self, "network_")
        return "logistic"

    # -- fitting -------------------------------------------------------------------
    def _float_dtype(self):
        return np.dtype(check_dtype(self.dtype))

    def _fit(self, X, y, sample_weight, incremental, classes=None):
        """fit (``incremental=False``) or partial_fit (one epoch, continuing)."""
        _check_stopping_params(self)
        self._training_params()  # refuse bad parameters before any work
        if incremental and self.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True: there is no "
                             "held-out set across calls; score your own validation data instead")
        fitted = hasattr(self, "network_")
        first = not fitted or (not incremental and not self.warm_start)
        X, y = self._check_data(X, y, reset=first)
        n = X.shape[0]
        Y = self._targets(y, first, incremental, classes)
        sw = check_sample_weight(in_memory(sample_weight), n, self._float_dtype())
        if first:
            self._new_network(X.shape[1], Y.shape[1])
        else:
            self._check_same_network(X.shape[1], Y.shape[1])
        if not incremental:
            self._stopping.stopped = None  # a new fit may go on after a stop (warm_start)
        X, Y, sw, validation = self._split_validation(X, Y, y, sw, incremental)
        epochs, mini_batch_size, eta = self._training_params(X.shape[0])
        monitor = _EpochMonitor(self, X.shape[0], validation, incremental)
        try:
            self.network_.fit(X, Y, epochs=1 if incremental else epochs,
                              mini_batch_size=mini_batch_size, eta=eta, lmbda=self.lmbda,
                              sample_weight=sw, shuffle=self.shuffle, callback=monitor)
        finally:
            monitor.finish(self.network_)
        return self

    def _check_data(self, X, y, reset):
        """Validated ``X`` and ``y``; a chunked ``X`` is checked without being read."""
        if not is_chunked(X):
            X, y = _validate_data(self, X, y, reset=reset, dtype=self._float_dtype(), order="C",
                                  **self._y_checks)
            return _writeable(X), y
        n = check_chunked(X, None if reset else self.n_features_in_)
        if reset:
            self.n_features_in_ = int(X.shape[1])
            if hasattr(self, "feature_names_in_"):
                del self.feature_names_in_
        y = check_array(in_memory(y), ensure_2d=False, dtype="numeric" if self._y_checks else None)
        if y.shape[0] != n:
            raise ValueError(f"X and y have different numbers of samples: {n} and {y.shape[0]}")
        if y.ndim == 2 and y.shape[1] == 1 and not self._y_checks.get("multi_output"):
            y = y[:, 0]
        return X, y

    def _new_network(self, n_features, n_outputs):
        """A freshly initialised ``network_`` and empty training curves."""
        sizes = [n_features, *check_hidden_sizes(self.hidden_layer_sizes, allow_int=True), n_outputs]
        self.network_ = Network(sizes, seed=_seed(self.random_state), engine=self.engine,
                                dtype=self._float_dtype(), cost=self.cost, init=self.init)
        self.loss_curve_ = []
        self.t_ = 0
        self.n_iter_ = 0
        self._stopping = _stopping_rule(self)
        if self.early_stopping:
            self.validation_scores_ = []
            self.best_validation_score_ = -np.inf
            self.best_loss_ = None
        else:
            self.validation_scores_ = None
            self.best_validation_score_ = None
            self.best_loss_ = np.inf

    def _check_same_network(self, n_features, n_outputs):
        """Continuing (warm_start, partial_fit) needs the network these parameters describe."""
        sizes = [n_features, *check_hidden_sizes(self.hidden_layer_sizes, allow_int=True), n_outputs]
        net = self.network_
        mine = (sizes, self._float_dtype(), self.cost)
        if (net.sizes, net.dtype, net.cost) != mine:
            raise ValueError(f"cannot continue training: the fitted network has sizes {net.sizes}, "
                             f"dtype {net.dtype.name} and cost {net.cost!r}, the parameters now ask for "
                             f"{sizes}, {mine[1].name}, {mine[2]!r}. Fit with warm_start=False to start afresh")
        if self.early_stopping and self.validation_scores_ is None:
            self.validation_scores_, self.best_validation_score_, self.best_loss_ = [], -np.inf, None
        elif not self.early_stopping and self.best_loss_ is None:
            self.best_loss_ = min(self.loss_curve_, default=np.inf)

    def _split_validation(self, X, Y, y, sw, incremental):
        """With early_stopping: hold out ``validation_fraction`` of the rows (stratified for a
        classifier), as scikit-learn does.  Returns the training rows and the held-out set."""
        if not self.early_stopping or incremental:
            return X, Y, sw, None
        if is_chunked(X):
            raise ValueError("early_stopping=True needs X in memory (it holds out rows at random); "
                             "for a chunked X, train with early_stopping=False and score a "
                             "validation set of your own")
        from sklearn.model_selection import train_test_split

        stratify = y if is_classifier(self) else None
        arrays = (X, Y, y) if sw is None else (X, Y, y, sw)
        parts = train_test_split(*arrays, test_size=self.validation_fraction,
                                 random_state=check_random_state(self.random_state), stratify=stratify)
        if parts[1].shape[0] < 2:
            raise ValueError("The validation set is too small. Increase 'validation_fraction' "
                             "or the size of your dataset.")
        X_tr, X_val, Y_tr, _, _, y_val = parts[:6]
        sw_tr, sw_val = (None, None) if sw is None else parts[6:8]
        return np.ascontiguousarray(X_tr), np.ascontiguousarray(Y_tr), sw_tr, (X_val, y_val, sw_val)

    def _outputs(self, X):
        """Output activations of the fitted network for validated rows of ``X`` (chunk by chunk
        for a chunked ``X``)."""
        check_is_fitted(self, "network_")
        if is_chunked(X):
            check_chunked(X, self.n_features_in_)
            bounds = row_bounds(X.chunks, int(X.shape[0]))
            return np.concatenate([self.network_.predict_proba(load_rows(X, a, b, self._float_dtype()))
                                   for a, b in bounds])
        X = _validate_data(self, X, reset=False, dtype=self._float_dtype(), order="C")
        return self.network_.predict_proba(_writeable(X))


class MLPClassifier(ClassifierMixin, _BaseMLP):
    """Sigmoid-network classifier trained by mini-batch SGD (Nielsen's ``network.py``).

    One output neuron per class; the network is trained on one-hot targets of
    the classes in ``classes_`` (any labels: ints, strings, ...).  A drop-in
    for scikit-learn's ``sklearn.neural_network.MLPClassifier`` where the book's
    algorithm allows (see ``docs/guide/sklearn.md`` for the parameter table).

    Parameters
    ----------
    hidden_layer_sizes : int or tuple of int, default (30,)
        Neurons of each hidden layer; ``()`` gives no hidden layer.
    epochs : int, default 30
        Passes of SGD over the training set (scikit-learn's ``max_iter``).
    mini_batch_size : int, default 10
        Samples per gradient step (the book's ``m``; the step is ``eta/m``
        times the summed gradient).  scikit-learn's ``batch_size``.
    eta : float, default 3.0
        Learning rate (scikit-learn's ``learning_rate_init``).
    cost : {"quadratic", "cross-entropy"}, default "quadratic"
        Chapter 1's quadratic cost or chapter 3's cross-entropy cost.
    lmbda : float, default 0.0
        L2 regularisation parameter (chapter 3, eq. 93), ``n`` the number
        of training rows (in ``partial_fit``: the rows of that call).
    init : {"large", "default"}, default "large"
        Weight initialisation: N(0, 1) (chapter 1) or N(0, 1/n_in) (chapter 3).
    engine : {"jit", "reference", "matrix"}, default "jit"
        Backend of :class:`fastnn.Network`.
    dtype : {"float64", "float32"}, default "float64"
        Precision of the parameters and of the computation.
    random_state : int, RandomState or None, default None
        Seeds the initial parameters and every epoch's shuffle; an int gives
        the same run as ``Network(..., seed=random_state)``.  Also draws the
        held-out set of ``early_stopping``.  None: a fresh seed from the
        operating system at every fit, as ``Network(seed=None)``; NumPy's
        global random state is not used for the network (unlike scikit-learn).
    shuffle : bool, default True
        Shuffle the rows every epoch (False: train them in their order).
    verbose : bool or int, default False
        Print the loss (and validation score) after every epoch, as
        scikit-learn does.
    warm_start : bool, default False
        ``fit`` continues from the fitted network (same layer sizes and
        classes) instead of starting afresh; the curves are appended to.
    early_stopping : bool, default False
        Hold out ``validation_fraction`` of the training rows (stratified),
        score them after every epoch (accuracy, weighted by
        ``sample_weight``), stop when the score has not risen by ``tol`` for
        more than ``n_iter_no_change`` epochs, and keep the parameters of the
        best epoch (the first of epochs tied for the best score, as
        scikit-learn).  Not available in ``partial_fit``.
    validation_fraction : float, default 0.1
        Share of the training rows held out by ``early_stopping``.
    n_iter_no_change : int or numpy.inf, default 10
        Epochs without improvement by ``tol`` that are tolerated: training
        stops after ``n_iter_no_change + 1`` of them in a row (the training
        loss is watched without ``early_stopping``).  ``numpy.inf`` never stops.
    tol : float, default 1e-4
        Improvement that counts: the training loss must fall (the validation
        score rise) by at least ``tol``.
    max_iter, batch_size, learning_rate_init : optional
        scikit-learn's names of ``epochs``, ``mini_batch_size`` and ``eta``
        (same meaning; ``batch_size="auto"`` is ``min(200, n)`` rows).
        Give either name: a value for both that differ raises ``ValueError``
        at ``fit``.  None (the default) uses fastnn's parameter.
    solver, activation, learning_rate, momentum : optional
        scikit-learn's choices that fastnn makes one way: accepted as
        ``"sgd"``, ``"logistic"``, ``"constant"`` and ``0`` (scikit-learn's
        plain SGD without momentum); any other value raises ``ValueError``
        at ``fit``, naming what fastnn does instead.  scikit-learn's
        ``alpha``, ``loss``, ``nesterovs_momentum``, ``beta_1``, ``beta_2``,
        ``epsilon``, ``power_t`` and ``max_fun`` raise ``TypeError``, with the
        fastnn parameter to use (see the guide's parameter table).

    Attributes
    ----------
    network_ : fastnn.Network
        The trained network, sizes ``[n_features_in_, *hidden_layer_sizes, n_classes]``.
    classes_ : ndarray of shape (n_classes,)
        Sorted class labels; output neuron ``j`` stands for ``classes_[j]``.
    loss_curve_ : list of float
        Training cost of each epoch, over all fits of a warm start or
        ``partial_fit`` run: like scikit-learn's, a running value, each
        sample's cost taken from its own mini-batch's forward pass (no second
        pass over the data); the mean cost per sample, weighted by
        ``sample_weight``, plus the L2 term (``Network.fit``'s
        ``training_metrics="running"``).
    loss_ : float
        The last entry of ``loss_curve_``.
    best_loss_ : float or None
        Smallest ``loss_curve_`` entry (None with ``early_stopping``).
    validation_scores_ : list of float or None
        Score on the held-out rows after each epoch (``early_stopping`` only).
    best_validation_score_ : float or None
        Best of ``validation_scores_``; its epoch's parameters are kept.
    n_iter_ : int
        Epochs run by the last ``fit`` (1 after ``partial_fit``).
    t_ : int
        Training rows seen over all epochs and calls.
    coefs_, intercepts_ : list of ndarray
        The weights ``(n_in, n_out)`` and biases ``(n_out,)`` of each layer in
        scikit-learn's layout (views of ``network_``'s parameters).
    n_layers_, out_activation_ : int, str
        Layers, input and output included; the output activation, always
        ``"logistic"``.
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of str
        Column names of ``X`` in ``fit``, only if ``X`` was a DataFrame with string column names.

    Notes
    -----
    ``predict_proba`` normalises the sigmoid output activations of each row to
    sum to 1 (they are not a softmax); ``predict`` returns the class of the
    most active output neuron, as the book's ``evaluate`` does.

    Examples
    --------
    >>> from fastnn.datasets import train_test_digits
    >>> from fastnn.sklearn import MLPClassifier
    >>> X_train, y_train, X_test, y_test = train_test_digits()
    >>> clf = MLPClassifier(hidden_layer_sizes=(30,), epochs=5, random_state=0).fit(X_train, y_train)
    >>> clf.classes_.tolist(), clf.predict_proba(X_test[:2]).sum(axis=1).round(6).tolist()
    ([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1.0, 1.0])
    >>> clf.score(X_test, y_test) > 0.8
    True
    >>> clf.n_iter_, len(clf.loss_curve_)
    (5, 5)
    """

    _y_checks = {}

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = True
        tags.classifier_tags.multi_label = False
        return tags

    def fit(self, X, y, sample_weight=None):
        """Train a new network (or continue it with ``warm_start``) on ``X`` and labels ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or a chunked array
            A Dask array (or any object with ``.chunks`` and ``__getitem__``)
            is trained chunk by chunk without being loaded whole.
        y : array-like of shape (n_samples,)
            Labels of any sortable type.
        sample_weight : array-like of shape (n_samples,), optional
            Non-negative weight of each sample: its gradient is multiplied by
            it, and each mini-batch step is eta / (the batch's weight sum).

        Returns
        -------
        self : MLPClassifier

        Raises
        ------
        ValueError
            For continuous or multi-output targets, NaN/inf, inconsistent
            lengths or invalid ``sample_weight``.
        """
        return self._fit(X, y, sample_weight, incremental=False)

    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One epoch of SGD over the rows of ``X``, continuing the network (created on the first call).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), optional
        classes : array-like of shape (n_classes,), optional
            Every class of the whole training set: required on the first
            call (when the estimator is not fitted yet), optional later.

        Returns
        -------
        self : MLPClassifier
            The estimator, trained for one more epoch.

        Raises
        ------
        ValueError
            Without ``classes`` on the first call, with other ``classes``
            than ``classes_`` later, with a label of ``y`` outside
            ``classes_``, or with ``early_stopping=True``.
        """
        return self._fit(X, y, sample_weight, incremental=True, classes=classes)

    def _targets(self, y, first, incremental, classes):
        """One-hot targets of ``y`` in the network's dtype; sets or checks ``classes_``."""
        check_classification_targets(y)
        kind = type_of_target(y)
        if kind not in ("binary", "multiclass"):
            raise ValueError(f"MLPClassifier needs one label per sample, got {kind} targets")
        if incremental:
            self._check_classes(classes)
        elif first:
            self.classes_ = np.unique(y)
        else:
            seen = np.unique(y)
            if not np.array_equal(seen, self.classes_):
                raise ValueError(f"warm_start can only be used where `y` has the same classes as in "
                                 f"the previous call to fit. Previous classes: {self.classes_}, "
                                 f"`y`: {seen}")
        encoded = np.searchsorted(self.classes_, y)
        unknown = (encoded >= len(self.classes_)) | (self.classes_[np.minimum(encoded, len(self.classes_) - 1)] != y)
        if unknown.any():
            raise ValueError(f"y has labels not in classes {self.classes_}: {np.unique(y[unknown])[:5]}")
        # one-hot targets: output neuron j should fire for class classes_[j]
        Y = np.zeros((len(encoded), len(self.classes_)), dtype=self._float_dtype())
        Y[np.arange(len(encoded)), encoded] = 1
        return Y

    def _check_classes(self, classes):
        """partial_fit's ``classes``: required until the estimator is fitted, then must match."""
        if classes is None:
            if not hasattr(self, "network_"):
                raise ValueError("classes must be passed on the first call to partial_fit.")
            return
        classes = unique_labels(classes)
        if not hasattr(self, "network_"):
            self.classes_ = classes
        elif not np.array_equal(self.classes_, classes):
            raise ValueError(f"`classes={classes!r}` is not the same as on last call to "
                             f"partial_fit, was: {self.classes_!r}")

    def predict_proba(self, X):
        """Class probabilities: each row's sigmoid outputs divided by their sum.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Non-negative rows summing to 1, columns ordered as ``classes_``.
        """
        out = self._outputs(X)
        total = out.sum(axis=1, keepdims=True)
        # every output saturated to 0 (extreme inputs): no information, so uniform
        out[total[:, 0] == 0] = 1
        return out / out.sum(axis=1, keepdims=True)

    def predict_log_proba(self, X):
        """Natural logarithm of :meth:`predict_proba` (``-inf`` where a probability is 0).

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X):
        """Label (from ``classes_``) of the most active output neuron for each row of ``X``."""
        out = self._outputs(X)
        return self.classes_[np.argmax(out, axis=1)]


class MLPRegressor(RegressorMixin, _BaseMLP):
    """Sigmoid-network regressor trained by mini-batch SGD (one output neuron per target).

    The targets are scaled column by column from their training range
    ``[min, max]`` to ``[TARGET_LOW, TARGET_HIGH] = [0.1, 0.9]``, inside the
    sigmoid's (0, 1); ``predict`` inverts the scaling.  Predictions therefore
    stay within the training range widened by 12.5 % on each side, and a
    constant target column is predicted exactly as that constant (its range
    is 0).  Scale the inputs too (e.g. ``StandardScaler`` in a ``Pipeline``).
    With ``partial_fit`` (and ``warm_start``) the range is the one of the
    first call's targets: later targets outside it are scaled beyond
    [0.1, 0.9], and a column constant in the first call stays predicted as
    that constant.

    Parameters
    ----------
    hidden_layer_sizes, epochs, mini_batch_size, eta, cost, lmbda, init, engine, dtype, random_state
        As for :class:`MLPClassifier`.
    shuffle, verbose, warm_start, early_stopping, validation_fraction, n_iter_no_change, tol
        As for :class:`MLPClassifier`; the validation score is R^2.
    max_iter, batch_size, learning_rate_init, solver, activation, learning_rate, momentum
        scikit-learn's names, as for :class:`MLPClassifier`.

    Attributes
    ----------
    network_ : fastnn.Network
        The trained network, sizes ``[n_features_in_, *hidden_layer_sizes, n_outputs_]``.
    n_outputs_ : int
        Number of target columns (1 for a 1-D ``y``).
    y_min_, y_range_ : ndarray of shape ``(n_outputs_,)``
        Training minimum and range (``max - min``, 0 for a constant column) of
        each target column.
    loss_curve_, loss_, best_loss_, validation_scores_, best_validation_score_, n_iter_, t_
        As for :class:`MLPClassifier` (the loss is that of the scaled targets).
    coefs_, intercepts_, n_layers_, out_activation_, n_features_in_, feature_names_in_
        As for :class:`MLPClassifier`.

    Examples
    --------
    >>> import numpy as np
    >>> from fastnn.sklearn import MLPRegressor
    >>> X = np.random.default_rng(0).random((40, 2))
    >>> reg = MLPRegressor((5,), epochs=2, random_state=0).fit(X, X.sum(axis=1))
    >>> reg.predict(X[:3]).shape
    (3,)
    """

    _y_checks = {"multi_output": True, "y_numeric": True}

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags

    def fit(self, X, y, sample_weight=None):
        """Train a new network (or continue it with ``warm_start``) on ``X`` and real targets ``y``.

        ``y`` has shape ``(n_samples,)`` or ``(n_samples, n_outputs)``; ``predict``
        returns the same number of dimensions.  ``X`` and ``sample_weight`` as
        for :meth:`MLPClassifier.fit`.

        Returns
        -------
        self : MLPRegressor
        """
        return self._fit(X, y, sample_weight, incremental=False)

    def partial_fit(self, X, y, sample_weight=None):
        """One epoch of SGD over the rows of ``X``, continuing the network (created on the first call).

        The target scaling is fixed by the first call (see the class notes).

        Returns
        -------
        self : MLPRegressor
        """
        return self._fit(X, y, sample_weight, incremental=True)

    def _targets(self, y, first, incremental, classes):
        """Targets scaled into [TARGET_LOW, TARGET_HIGH] by the first fit's range."""
        Y = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
        if first:
            self._y_ndim = y.ndim
            self.n_outputs_ = Y.shape[1]
            self.y_min_ = Y.min(axis=0)
            self.y_range_ = Y.max(axis=0) - self.y_min_
        elif Y.shape[1] != self.n_outputs_:
            raise ValueError(f"y has {Y.shape[1]} target columns, but the fitted network has "
                             f"{self.n_outputs_} outputs")
        # a constant column is scaled by 1, not 0; predict multiplies by its range 0 and so
        # returns the constant itself, whatever the network outputs
        divisor = np.where(self.y_range_ > 0, self.y_range_, 1.0)
        scaled = TARGET_LOW + (TARGET_HIGH - TARGET_LOW) * (Y - self.y_min_) / divisor
        return scaled.astype(self._float_dtype())

    def predict(self, X):
        """Predicted targets, shape ``(n_samples,)`` or ``(n_samples, n_outputs_)`` as in ``fit``."""
        out = self._outputs(X).astype(np.float64)
        pred = self.y_min_ + (out - TARGET_LOW) / (TARGET_HIGH - TARGET_LOW) * self.y_range_
        return pred[:, 0] if self._y_ndim == 1 else pred
