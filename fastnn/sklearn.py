"""scikit-learn estimators backed by :class:`fastnn.Network`.

:class:`MLPClassifier` and :class:`MLPRegressor` follow scikit-learn's
conventions (parameters stored unchanged by ``__init__``, fitted attributes
ending in ``_``, validation through :mod:`sklearn.utils.validation`), so they
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
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_is_fitted

from ._validation import check_dtype
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


def _hidden_sizes(hidden_layer_sizes):
    """``hidden_layer_sizes`` (an int or a sequence of ints) as a list of ints."""
    if isinstance(hidden_layer_sizes, numbers.Integral) and not isinstance(hidden_layer_sizes, bool):
        hidden_layer_sizes = [hidden_layer_sizes]
    if isinstance(hidden_layer_sizes, (str, bytes)) or not hasattr(hidden_layer_sizes, "__iter__"):
        raise TypeError("hidden_layer_sizes must be an int or a sequence of ints such as (30,), "
                        f"got {hidden_layer_sizes!r}")
    sizes = list(hidden_layer_sizes)
    for s in sizes:
        if isinstance(s, bool) or not isinstance(s, numbers.Integral):
            raise TypeError(f"hidden_layer_sizes must contain integers, got {s!r} in {sizes!r}")
        if s <= 0:
            raise ValueError(f"hidden layer sizes must be positive, got {s} in {sizes!r}")
    return [int(s) for s in sizes]


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


class _BaseMLP(BaseEstimator):
    """Parameters, fitting and pickling shared by the classifier and the regressor."""

    def __init__(self, hidden_layer_sizes=(30,), *, epochs=30, mini_batch_size=10, eta=3.0,
                 cost="quadratic", lmbda=0.0, init="large", engine="jit", dtype="float64",
                 random_state=None):
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

    # -- fitting -------------------------------------------------------------------
    def _float_dtype(self):
        return np.dtype(check_dtype(self.dtype))

    def _fit_network(self, X, Y):
        """Build ``network_`` for ``Y``'s columns and train it (the whole SGD run)."""
        sizes = [X.shape[1], *_hidden_sizes(self.hidden_layer_sizes), Y.shape[1]]
        net = Network(sizes, seed=_seed(self.random_state), engine=self.engine,
                      dtype=self._float_dtype(), cost=self.cost, init=self.init)
        net.fit(_writeable(X), Y, epochs=self.epochs, mini_batch_size=self.mini_batch_size,
                eta=self.eta, lmbda=self.lmbda)
        self.network_ = net
        return self

    def _outputs(self, X):
        """Output activations of the fitted network for validated rows of ``X``."""
        check_is_fitted(self, "network_")
        X = _validate_data(self, X, reset=False, dtype=self._float_dtype(), order="C")
        return self.network_.predict_proba(_writeable(X))


class MLPClassifier(ClassifierMixin, _BaseMLP):
    """Sigmoid-network classifier trained by mini-batch SGD (Nielsen's ``network.py``).

    One output neuron per class; the network is trained on one-hot targets of
    the classes in ``classes_`` (any labels: ints, strings, ...).

    Parameters
    ----------
    hidden_layer_sizes : int or tuple of int, default (30,)
        Neurons of each hidden layer; ``()`` gives no hidden layer.
    epochs : int, default 30
        Passes of SGD over the training set.
    mini_batch_size : int, default 10
        Samples per gradient step (the book's ``m``; the step is ``eta/m``
        times the summed gradient).
    eta : float, default 3.0
        Learning rate.
    cost : {"quadratic", "cross-entropy"}, default "quadratic"
        Chapter 1's quadratic cost or chapter 3's cross-entropy cost.
    lmbda : float, default 0.0
        L2 regularisation parameter (chapter 3, eq. 93).
    init : {"large", "default"}, default "large"
        Weight initialisation: N(0, 1) (chapter 1) or N(0, 1/n_in) (chapter 3).
    engine : {"jit", "reference", "matrix"}, default "jit"
        Backend of :class:`fastnn.Network`.
    dtype : {"float64", "float32"}, default "float64"
        Precision of the parameters and of the computation.
    random_state : int, RandomState or None, default None
        Seeds the initial parameters and every epoch's shuffle; an int gives
        the same run as ``Network(..., seed=random_state)``.

    Attributes
    ----------
    network_ : fastnn.Network
        The trained network, sizes ``[n_features_in_, *hidden_layer_sizes, n_classes]``.
    classes_ : ndarray of shape (n_classes,)
        Sorted class labels; output neuron ``j`` stands for ``classes_[j]``.
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of str
        Column names of ``X`` in ``fit``, only if ``X`` was a DataFrame with string column names.

    Notes
    -----
    ``predict_proba`` normalises the sigmoid output activations of each row to
    sum to 1 (they are not a softmax); ``predict`` returns the class of the
    most active output neuron, as the book's ``evaluate`` does.
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = True
        tags.classifier_tags.multi_label = False
        return tags

    def fit(self, X, y):
        """Train a new network on ``X`` (n_samples, n_features) and labels ``y`` (n_samples,).

        Returns
        -------
        self : MLPClassifier

        Raises
        ------
        ValueError
            For continuous or multi-output targets, NaN/inf, or inconsistent lengths.
        """
        X, y = _validate_data(self, X, y, dtype=self._float_dtype(), order="C")
        check_classification_targets(y)
        if type_of_target(y) not in ("binary", "multiclass"):
            raise ValueError(f"MLPClassifier needs one label per sample, got {type_of_target(y)} targets")
        self.classes_, encoded = np.unique(y, return_inverse=True)
        # one-hot targets: output neuron j should fire for class classes_[j]
        Y = np.zeros((len(encoded), len(self.classes_)), dtype=X.dtype)
        Y[np.arange(len(encoded)), encoded] = 1
        return self._fit_network(X, Y)

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

    Parameters
    ----------
    hidden_layer_sizes, epochs, mini_batch_size, eta, cost, lmbda, init, engine, dtype, random_state
        As for :class:`MLPClassifier`.

    Attributes
    ----------
    network_ : fastnn.Network
        The trained network, sizes ``[n_features_in_, *hidden_layer_sizes, n_outputs_]``.
    n_outputs_ : int
        Number of target columns (1 for a 1-D ``y``).
    y_min_, y_range_ : ndarray of shape (n_outputs_,)
        Training minimum and range (``max - min``, 0 for a constant column) of
        each target column.
    n_features_in_, feature_names_in_
        As for :class:`MLPClassifier`.
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags

    def fit(self, X, y):
        """Train a new network on ``X`` (n_samples, n_features) and real targets ``y``.

        ``y`` has shape ``(n_samples,)`` or ``(n_samples, n_outputs)``; ``predict``
        returns the same number of dimensions.

        Returns
        -------
        self : MLPRegressor
        """
        X, y = _validate_data(self, X, y, dtype=self._float_dtype(), multi_output=True, y_numeric=True, order="C")
        self._y_ndim = y.ndim
        Y = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
        self.n_outputs_ = Y.shape[1]
        self.y_min_ = Y.min(axis=0)
        self.y_range_ = Y.max(axis=0) - self.y_min_
        # a constant column is scaled to TARGET_LOW (divided by 1, not 0); predict multiplies
        # by its range 0 and so returns the constant itself, whatever the network outputs
        divisor = np.where(self.y_range_ > 0, self.y_range_, 1.0)
        scaled = TARGET_LOW + (TARGET_HIGH - TARGET_LOW) * (Y - self.y_min_) / divisor
        return self._fit_network(X, scaled.astype(X.dtype))

    def predict(self, X):
        """Predicted targets, shape ``(n_samples,)`` or ``(n_samples, n_outputs_)`` as in ``fit``."""
        out = self._outputs(X).astype(np.float64)
        pred = self.y_min_ + (out - TARGET_LOW) / (TARGET_HIGH - TARGET_LOW) * self.y_range_
        return pred[:, 0] if self._y_ndim == 1 else pred
