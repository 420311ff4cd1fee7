"""Linear and logistic regression: validating API over :mod:`fastnn.kernels.linear`.

Both models minimise J = (1/n) sum_x C_x + (lmbda / 2n) ||w||^2, with the
book's L2 penalty convention (chapter 3, eq. 85-87).  For comparison with
scikit-learn: ``LinearRegression(lmbda=a)`` (loss "l2") solves the same
problem as ``sklearn.linear_model.Ridge(alpha=a)``, and
``LogisticRegression(lmbda=l)`` the same as
``sklearn.linear_model.LogisticRegression(C=1/l)``.
"""
import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from . import _validation as _v
from ._stacklevel import outside_fastnn
from .exceptions import ConvergenceWarning
from .kernels import linear as _k
from .reference import linear_np as _ref

__all__ = ["ConvergenceWarning", "LinearRegression", "LogisticRegression"]

# Permutations handed to one SGD kernel call hold at most this many indices
# (8 MB); longer fits are split into several calls that give identical results.
_PERM_BUDGET = 1 << 20


def _check_y(y, n_samples, *, labels=False):
    """Return ``y`` as a 1-D array with one entry per sample.

    Regression targets must be numbers; class ``labels`` may also be an
    object array (e.g. of strings), as scikit-learn classifiers accept.
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D with shape ({n_samples},), got shape {y.shape}")
    if y.shape[0] != n_samples:
        raise ValueError(f"X and y have different numbers of samples: {n_samples} and {y.shape[0]}")
    if y.dtype == object and not labels:
        raise TypeError("y has dtype object; convert it to numbers or strings first")
    if np.issubdtype(y.dtype, np.number) and not np.isfinite(y).all():
        raise ValueError("y contains NaN or infinity; clean or impute it first")
    return y


def _curvature(X, solver, batch_size):
    """Curvature estimate L of the L2 cost, for the default learning rate 1/L.

    GD: the largest eigenvalue of [X 1]^T [X 1] / n.  SGD adds the mean squared
    row norm over the batch size, the typical extra curvature of a mini-batch.
    """
    Xa = np.hstack([X, np.ones((X.shape[0], 1))])
    L = float(np.linalg.eigvalsh(Xa.T @ Xa / X.shape[0])[-1])
    if solver == "sgd":
        L += float(np.mean(np.einsum("ij,ij->i", Xa, Xa))) / min(batch_size, X.shape[0])
    return L


class _GradientFit(BaseEstimator):
    """Shared machinery: parameter checks, input validation and the GD/SGD driver.

    Following scikit-learn's conventions, ``__init__`` only stores the
    parameters; they are checked (and the ``None`` defaults resolved) at the
    start of every ``fit``, so ``set_params``/``clone`` never see a
    half-validated estimator.
    """

    _default_max_iter = {"gd": 10_000, "sgd": 1_000}
    _default_gd_tol = 1e-8

    def _common_params(self):
        """Checked gradient-descent parameters, ``None`` defaults resolved (a dict)."""
        solver = self.solver
        eta = None if self.eta is None else _v.check_float(self.eta, "eta", positive=True)
        momentum = self.momentum
        if momentum is None:
            momentum = 0.9 if solver == "gd" else 0.0
        momentum = _v.check_float(momentum, "momentum", nonnegative=True)
        if momentum >= 1:
            raise ValueError(f"momentum must be < 1, got {momentum}")
        max_iter = self.max_iter
        max_iter = (self._default_max_iter.get(solver) if max_iter is None
                    else _v.check_int(max_iter, "max_iter", 1))
        tol = self.tol
        if tol is None:
            tol = self._default_gd_tol if solver == "gd" else 1e-5
        n_iter_no_change = self.n_iter_no_change
        if n_iter_no_change is None:
            n_iter_no_change = 50 if solver == "gd" else 20
        random_state = self.random_state
        if random_state is not None:
            random_state = _v.check_int(random_state, "random_state", 0)
        return {
            "solver": solver, "eta": eta, "momentum": momentum, "max_iter": max_iter,
            "lmbda": _v.check_float(self.lmbda, "lmbda", nonnegative=True),
            "tol": _v.check_float(tol, "tol", nonnegative=True),
            "batch_size": _v.check_int(self.batch_size, "batch_size", 1),
            "n_iter_no_change": _v.check_int(n_iter_no_change, "n_iter_no_change", 1),
            "random_state": random_state,
        }

    def _validate_X(self, X, *, reset):
        """``X`` as a C-contiguous finite float64 array; records or checks ``n_features_in_``.

        fastnn's :func:`~fastnn._validation.check_array` converts and checks
        the values (its messages name the problem and the fix); scikit-learn's
        ``validate_data`` then keeps ``n_features_in_``/``feature_names_in_``
        (``reset=True`` in ``fit``) or compares ``X`` with them (``reset=False``).
        """
        Xa = _v.check_array(X, "X", allow_empty=True)
        if Xa.shape[0] == 0:
            raise ValueError(f"X is empty (shape {Xa.shape}); at least one sample is required")
        if Xa.shape[1] == 0:
            raise ValueError(f"X has 0 feature(s) (shape={Xa.shape}) while a minimum of 1 is "
                             f"required.")
        validate_data(self, X, reset=reset, skip_check_array=True)
        return Xa

    def _validate_X_y(self, X, y, *, labels=False):
        """Validated ``X`` (see ``_validate_X``, resetting) and 1-D ``y`` for ``fit``."""
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target "
                             f"y is None")
        X = self._validate_X(X, reset=True)
        return X, _check_y(y, X.shape[0], labels=labels)

    def _run(self, X, t, model, W, b, eta, hp):
        """Run the chosen kernel in place on (W, b); set n_iter_, loss_history_, eta_, momentum_.

        ``hp`` holds the checked parameters of :meth:`_common_params`.
        """
        max_iter, tol = hp["max_iter"], hp["tol"]
        history = np.empty(max_iter)
        args = (model, hp["lmbda"], eta, hp["momentum"])
        if hp["solver"] == "gd":
            n_iter, status = _k.gd(X, t, W, b, *args, max_iter, tol,
                                   hp["n_iter_no_change"], history)
        else:
            n_iter, status = self._run_sgd(X, t, W, b, args, hp, history)
        self.eta_, self.momentum_, self.n_iter_ = eta, hp["momentum"], int(n_iter)
        self.loss_history_ = history[:n_iter].copy()
        if status == _k.DIVERGED or not (np.isfinite(W).all() and np.isfinite(b).all()):
            raise ValueError(
                f"{type(self).__name__}(solver={self.solver!r}) diverged after {n_iter} "
                f"iterations with eta={eta:g}: lower eta or standardise X")
        self.converged_ = status == _k.CONVERGED
        if not self.converged_:
            unit = "iterations" if self.solver == "gd" else "epochs"
            warnings.warn(
                f"{type(self).__name__}(solver={self.solver!r}) did not converge in "
                f"{max_iter} {unit} (tol={tol:g}); raise max_iter or tol, or standardise X",
                ConvergenceWarning, stacklevel=outside_fastnn())

    def _run_sgd(self, X, t, W, b, args, hp, history):
        """Mini-batch SGD, shuffling in Python with a seeded Generator."""
        n, max_iter = X.shape[0], hp["max_iter"]
        rng = np.random.default_rng(hp["random_state"])
        state = np.array([np.inf, 0.0])
        VW, vb = np.zeros_like(W), np.zeros_like(b)
        chunk = max(1, _PERM_BUDGET // n)
        done, status = 0, _k.RUNNING
        while done < max_iter and status == _k.RUNNING:
            perms = np.array([rng.permutation(n) for _ in range(min(chunk, max_iter - done))])
            ran, status = _k.sgd(X, t, W, b, *args, min(hp["batch_size"], n), perms, done,
                                 hp["tol"], hp["n_iter_no_change"], VW, vb, state, history)
            done += ran
        return done, status

    def _check_X(self, X):
        """Validated ``X`` for a fitted model (NotFittedError, a ValueError, if unfitted)."""
        check_is_fitted(self, "coef_")
        return self._validate_X(X, reset=False)


class LinearRegression(RegressorMixin, _GradientFit):
    """Least-squares (``loss="l2"``) or least-absolute-deviation (``"l1"``) regression.

    Minimises J = (1/n) sum_i C(w . x_i + b - y_i) + (lmbda / 2n) ||w||^2 with
    C(r) = r^2 / 2 (l2, the book's quadratic cost) or ``|r|`` (l1).

    Parameters
    ----------
    solver : {"closed", "gd", "sgd"}
        "closed": least squares with ``numpy.linalg.lstsq`` (l2 only);
        "gd": full-batch gradient descent; "sgd": mini-batch SGD.
    loss : {"l2", "l1"}
    lmbda : float, default 0
        L2 penalty (same as ``sklearn.linear_model.Ridge(alpha=lmbda)`` for l2).
    eta : float, optional
        Learning rate.  Default: 1/L, where L is the curvature of the l2 cost
        (largest eigenvalue of the data's Gram matrix, plus the mean squared
        row norm / batch_size for sgd); for l1 that value times the mean
        absolute deviation of y.  The l1 cost and SGD use eta / sqrt(t).
    max_iter : int, optional
        Iterations (gd, default 10000) or epochs (sgd, default 1000).
    momentum : float, optional
        Momentum coefficient mu of momentum-based gradient descent (chapter 3);
        default 0.9 for gd, 0 (plain SGD) for sgd.
    tol : float, optional
        Default 1e-8 for gd, 1e-5 for sgd.  gd/l2 stops once no parameter
        moves more than tol * max(1, max|param|); l1 and sgd stop once J has
        not improved by tol * max(1, J) for ``n_iter_no_change``
        iterations/epochs.
    batch_size : int, default 32
    n_iter_no_change : int, optional
        Patience of the stall rule: 50 iterations (gd) or 20 epochs (sgd).
    random_state : int, optional
        Seed of the SGD shuffles.

    Attributes
    ----------
    coef_ : ndarray, shape (n_features,)
    intercept_ : float
    loss_history_ : ndarray
        J before each GD update, or after each SGD epoch; one value for "closed".
    n_iter_ : int
    eta_ : float or None
        Learning rate used.
    momentum_ : float or None
        Momentum coefficient used (``momentum`` with its default resolved).
    converged_ : bool
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of str
        Column names of ``X`` in ``fit``, only if ``X`` was a DataFrame with string column names.

    Notes
    -----
    A scikit-learn estimator: ``__init__`` stores the parameters unchanged
    and ``fit`` checks them, so invalid values raise at ``fit``.
    """

    def __init__(self, solver="closed", loss="l2", lmbda=0.0, eta=None, momentum=None,
                 max_iter=None, tol=None, batch_size=32, n_iter_no_change=None, random_state=None):
        self.solver = solver
        self.loss = loss
        self.lmbda = lmbda
        self.eta = eta
        self.momentum = momentum
        self.max_iter = max_iter
        self.tol = tol
        self.batch_size = batch_size
        self.n_iter_no_change = n_iter_no_change
        self.random_state = random_state

    def _check_params(self):
        """Check every parameter; return them with ``None`` defaults resolved (a dict)."""
        _v.check_choice(self.solver, "solver", ("closed", "gd", "sgd"))
        _v.check_choice(self.loss, "loss", ("l2", "l1"))
        if self.solver == "closed" and self.loss == "l1":
            raise ValueError(
                "solver='closed' only solves loss='l2'; use solver='gd' or 'sgd' for l1")
        return self._common_params()

    def fit(self, X, y):
        """Fit to data ``X`` (n, d) and targets ``y`` (n,).

        Returns
        -------
        self : LinearRegression

        Raises
        ------
        ValueError, TypeError
            For invalid parameters or data (naming the problem), or a diverged fit.
        """
        hp = self._check_params()
        X, y = self._validate_X_y(X, y)
        y = np.ascontiguousarray(y, dtype=np.float64)
        if hp["solver"] == "closed":
            self._fit_closed(X, y, hp["lmbda"])
            return self
        model = _k.MODEL_L2 if self.loss == "l2" else _k.MODEL_L1
        W, b = np.zeros((1, X.shape[1])), np.zeros(1)
        self._run(X, y, model, W, b, self._default_eta(X, y, hp), hp)
        self.coef_, self.intercept_ = W[0], float(b[0])
        return self

    def _fit_closed(self, X, y, lmbda):
        """Least squares with lstsq (no inverse): the plain NumPy solve of fastnn.reference,
        there being nothing for a kernel to add; then refuse a non-finite solution."""
        with np.errstate(over="ignore", invalid="ignore"):  # checked just below
            coef, intercept = _ref.closed_form(X, y, lmbda)
            intercept = float(intercept)
        if not (np.isfinite(coef).all() and np.isfinite(intercept)):
            # e.g. features spread over subnormal numbers: the exact slope exceeds float64
            raise ValueError("LinearRegression(solver='closed'): the least-squares solution "
                             "overflowed (coefficients not finite); standardise X")
        self.coef_, self.intercept_ = coef, intercept
        W, b = self.coef_[None, :].copy(), np.array([self.intercept_])
        self.loss_history_ = np.array([_k.objective(X, y, W, b, _k.MODEL_L2, lmbda)])
        self.n_iter_, self.eta_, self.momentum_, self.converged_ = 1, None, None, True

    def _default_eta(self, X, y, hp):
        if hp["eta"] is not None:
            return hp["eta"]
        curvature = _curvature(X, hp["solver"], hp["batch_size"])
        eta = 1.0 / (curvature + hp["lmbda"] / X.shape[0])
        if self.loss == "l1":  # subgradients lack the residual's scale: restore it
            eta *= max(float(np.mean(np.abs(y - np.median(y)))), 1e-12)
        return eta

    def predict(self, X):
        """Return w . x + b for each row of ``X`` (n, d)."""
        X = self._check_X(X)
        return X @ self.coef_ + self.intercept_

    def score(self, X, y):
        """Coefficient of determination R^2 = 1 - SS_res / SS_tot."""
        X = self._check_X(X)
        y = np.asarray(_check_y(y, X.shape[0]), dtype=np.float64)
        ss_res = np.sum((y - self.predict(X)) ** 2)
        ss_tot = np.sum((y - y.mean()) ** 2)
        return 1.0 - ss_res / ss_tot if ss_tot > 0 else (1.0 if ss_res == 0 else 0.0)


class LogisticRegression(ClassifierMixin, _GradientFit):
    """Logistic regression: a sigmoid neuron (2 classes) or a softmax layer (more).

    Minimises J = (1/n) sum_x C_x + (lmbda / 2n) ||W||^2 with the
    cross-entropy cost (eq. 57) for two classes and the log-likelihood of a
    softmax layer (eq. 78-80) for more; the choice follows the labels.

    Parameters
    ----------
    solver : {"gd", "sgd"}
    lmbda : float, default 1.0
        L2 penalty; equals ``sklearn.linear_model.LogisticRegression(C=1/lmbda)``.
    eta : float, optional
        Learning rate; default 1/L with L a bound on the curvature of J.
        SGD uses eta / sqrt(epoch).
    max_iter : int, optional
        Iterations (gd, default 10000) or epochs (sgd, default 1000).
    momentum : float, optional
        Momentum coefficient (chapter 3); default 0.9 for gd, 0 (plain SGD) for sgd.
    tol : float, optional
        Default 1e-6 for gd, 1e-5 for sgd.  gd stops once no parameter moves
        more than tol * max(1, max|param|); sgd once J has not improved by
        tol * max(1, J) for ``n_iter_no_change`` epochs.
    batch_size : int, default 32
    n_iter_no_change : int, optional
        Default 20 epochs (sgd); unused by gd.
    random_state : int, optional

    Attributes
    ----------
    classes_ : ndarray
        Sorted distinct labels (any type ``numpy.unique`` can sort).
    coef_ : ndarray, shape (1, n_features) for 2 classes, else (n_classes, n_features)
    intercept_ : ndarray, shape (1,) or (n_classes,)
    loss_history_, n_iter_, eta_, momentum_, converged_, n_features_in_, feature_names_in_
        As in :class:`LinearRegression`.

    Notes
    -----
    A scikit-learn classifier: ``__init__`` stores the parameters unchanged
    and ``fit`` checks them, so invalid values raise at ``fit``.
    """

    # Looser than least squares' 1e-8: on ill-conditioned standardised data (the digits) the
    # softmax fit creeps by 1e-8 per step for thousands of steps after its accuracy and loss settled.
    _default_gd_tol = 1e-6

    def __init__(self, solver="gd", lmbda=1.0, eta=None, momentum=None, max_iter=None, tol=None,
                 batch_size=32, n_iter_no_change=None, random_state=None):
        self.solver = solver
        self.lmbda = lmbda
        self.eta = eta
        self.momentum = momentum
        self.max_iter = max_iter
        self.tol = tol
        self.batch_size = batch_size
        self.n_iter_no_change = n_iter_no_change
        self.random_state = random_state

    def _check_params(self):
        """Check every parameter; return them with ``None`` defaults resolved (a dict)."""
        _v.check_choice(self.solver, "solver", ("gd", "sgd"))
        return self._common_params()

    def fit(self, X, y):
        """Fit to data ``X`` (n, d) and labels ``y`` (n,) of at least two distinct values.

        Returns
        -------
        self : LogisticRegression

        Raises
        ------
        ValueError, TypeError
            For invalid parameters or data, continuous targets ("Unknown label
            type"), a single class, or a diverged fit.
        """
        hp = self._check_params()
        X, y = self._validate_X_y(X, y, labels=True)
        check_classification_targets(y)  # refuses continuous and multi-output targets
        self.classes_, codes = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(f"y needs at least 2 classes, got only 1 class: "
                             f"{self.classes_.tolist()}")
        K = 1 if len(self.classes_) == 2 else len(self.classes_)
        W, b = np.zeros((K, X.shape[1])), np.zeros(K)
        self._run(X, codes.astype(np.float64), _k.MODEL_LOGISTIC, W, b,
                  self._default_eta(X, K, hp), hp)
        self.coef_, self.intercept_ = W, b
        return self

    def _default_eta(self, X, K, hp):
        if hp["eta"] is not None:
            return hp["eta"]
        # Hessian of the cross-entropy <= Gram/4; of the softmax log-likelihood <= Gram/2
        curvature = _curvature(X, hp["solver"], hp["batch_size"])
        return 1.0 / ((0.25 if K == 1 else 0.5) * curvature + hp["lmbda"] / X.shape[0])

    def decision_function(self, X):
        """Weighted inputs z = W x + b, shape (n,) for 2 classes, else (n, n_classes)."""
        Z = self._check_X(X) @ self.coef_.T + self.intercept_
        return Z[:, 0] if Z.shape[1] == 1 else Z

    def predict_proba(self, X):
        """Class probabilities, shape (n, n_classes), columns in the order of ``classes_``."""
        Z = self.decision_function(X)
        if Z.ndim == 1:
            p = 0.5 * (1.0 + np.tanh(0.5 * Z))  # sigmoid without overflow
            return np.column_stack([1.0 - p, p])
        E = np.exp(Z - Z.max(axis=1, keepdims=True))
        return E / E.sum(axis=1, keepdims=True)

    def predict(self, X):
        """Most probable label for each row of ``X``."""
        check_is_fitted(self, "coef_")
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def score(self, X, y):
        """Accuracy: fraction of samples whose predicted label equals ``y``."""
        X = self._check_X(X)
        y = _check_y(y, X.shape[0], labels=True)
        return float(np.mean(self.predict(X) == y))
