"""Plain NumPy references for the perceptron, linear and logistic regression.

Written from the equations (see :mod:`fastnn.kernels.linear` for the list),
vectorised over samples, and independent of the kernels.  Parameters: ``W``
of shape (K, d) and ``b`` of shape (K,); ``model`` is "l2", "l1" or
"logistic".  Status codes: 0 converged, 1 budget exhausted, 2 diverged.
"""
import numpy as np

CONVERGED, BUDGET, DIVERGED = 0, 1, 2


def perceptron_fit(X, y, w, b, eta, max_epochs):
    """Perceptron rule, samples in order: w += eta (y - o) x, b += eta (y - o).

    Returns
    -------
    w, b, errors, converged_epoch
        ``errors`` lists the mistakes per epoch; ``converged_epoch`` is the
        1-based epoch without mistakes, or 0.
    """
    w = np.array(w, dtype=float)
    b = float(b)
    errors = []
    for epoch in range(1, max_epochs + 1):
        mistakes = 0
        for x, target in zip(X, y):
            err = target - (1.0 if np.dot(w, x) + b > 0 else 0.0)
            if err != 0:
                mistakes += 1
                w = w + eta * err * x
                b = b + eta * err
        errors.append(mistakes)
        if mistakes == 0:
            return w, b, errors, epoch
    return w, b, errors, 0


def closed_form(X, y, lmbda=0.0):
    """Minimise (1/2n)||X w + b - y||^2 + (lmbda/2n)||w||^2 with ``np.linalg.lstsq``.

    The intercept is removed by centring; the penalty enters as extra rows
    sqrt(lmbda) I of the least-squares system (no matrix inverse).

    Returns
    -------
    w : ndarray, shape (d,)
    b : float
    """
    x_mean, y_mean = X.mean(axis=0), y.mean()
    A, t = X - x_mean, y - y_mean
    if lmbda > 0:
        A = np.vstack([A, np.sqrt(lmbda) * np.eye(X.shape[1])])
        t = np.concatenate([t, np.zeros(X.shape[1])])
    w = np.linalg.lstsq(A, t, rcond=None)[0]
    return w, y_mean - x_mean @ w


def sigmoid(z):
    """sigma(z) = 1 / (1 + e^-z), written as (1 + tanh(z/2)) / 2 to avoid overflow."""
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def costs_and_deltas(Z, y, model):
    """Per-sample costs C_x (shape (m,)) and dC_x/dz (shape (m, K)) for weighted inputs Z."""
    if model == "l2":
        R = Z[:, 0] - y
        return 0.5 * R ** 2, R[:, None]
    if model == "l1":
        R = Z[:, 0] - y
        return np.abs(R), np.sign(R)[:, None]
    if Z.shape[1] == 1:  # sigmoid + cross-entropy, eq. 57
        z = Z[:, 0]
        return np.logaddexp(0.0, z) - y * z, (sigmoid(z) - y)[:, None]
    labels = y.astype(int)  # softmax + log-likelihood, eq. 78-80
    shifted = Z - Z.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(shifted).sum(axis=1))
    A = np.exp(shifted - log_norm[:, None])
    rows = np.arange(len(labels))
    D = A.copy()
    D[rows, labels] -= 1.0
    return log_norm - shifted[rows, labels], D


def objective(X, y, W, b, model, lmbda):
    """J = (1/n) sum_x C_x + (lmbda/2n) ||W||^2."""
    costs, _ = costs_and_deltas(X @ W.T + b, y, model)
    n = X.shape[0]
    return costs.mean() + 0.5 * lmbda / n * np.sum(W ** 2)


def gradient(X, y, W, b, model, lmbda):
    """Gradient of :func:`objective`: (dJ/dW, dJ/db)."""
    _, D = costs_and_deltas(X @ W.T + b, y, model)
    n = X.shape[0]
    return D.T @ X / n + lmbda / n * W, D.mean(axis=0)


def step(X, y, W, b, V, v, model, lmbda, eta, mu, n):
    """One momentum update (equations 107-108 with the L2 term of equation 93) on the batch (X, y).

    ``n`` is the size of the whole data set (for the penalty); ``V``, ``v``
    are the velocities of W and b.

    Returns
    -------
    W, b, V, v : new parameters and velocities
    cost_sum : sum of C_x over the batch at the old parameters
    biggest : largest absolute parameter change
    """
    costs, D = costs_and_deltas(X @ W.T + b, y, model)
    m = X.shape[0]
    V = mu * V - eta * (D.T @ X / m + lmbda / n * W)
    v = mu * v - eta * D.sum(axis=0) / m
    biggest = max(np.abs(V).max(), np.abs(v).max())
    return W + V, b + v, V, v, costs.sum(), biggest


class _Stall:
    """Stall rule: stop once J has not beaten its best by tol*max(1,|J|) for `patience` checks."""

    def __init__(self, tol, patience):
        self.tol, self.patience, self.best, self.count = tol, patience, np.inf, 0

    def done(self, J):
        self.count = 0 if J < self.best - self.tol * max(1.0, abs(J)) else self.count + 1
        self.best = min(self.best, J)
        return self.count >= self.patience


def gd(X, y, W, b, model, lmbda, eta, mu, max_iter, tol, n_iter_no_change):
    """Full-batch (momentum) gradient descent with the kernels' schedule and stopping rules.

    The step is eta (smooth costs) or eta/sqrt(t) (L1).  Smooth costs stop when
    the largest parameter change is <= tol*max(1, max|parameter|); L1 uses the
    stall rule on J.  ``history[t]`` is J before update t.

    Returns
    -------
    W, b, history, status
    """
    n = X.shape[0]
    smooth = model != "l1"
    stall = _Stall(tol, n_iter_no_change)
    history = []
    V, v = np.zeros_like(W), np.zeros_like(b)
    for t in range(1, max_iter + 1):
        eta_t = eta if smooth else eta / np.sqrt(t)
        W_old = W
        W, b, V, v, cost_sum, biggest = step(X, y, W, b, V, v, model, lmbda, eta_t, mu, n)
        J = cost_sum / n + 0.5 * lmbda / n * np.sum(W_old ** 2)
        history.append(J)
        if not (np.isfinite(J) and np.isfinite(biggest)):
            return W, b, np.array(history), DIVERGED
        scale = max(np.abs(W).max(), np.abs(b).max())
        if (biggest <= tol * max(1.0, scale)) if smooth else stall.done(J):
            return W, b, np.array(history), CONVERGED
    return W, b, np.array(history), BUDGET


def sgd(X, y, W, b, model, lmbda, eta, mu, batch_size, perms, tol, n_iter_no_change):
    """Mini-batch SGD: epoch e uses eta/sqrt(e) and the order ``perms[e-1]``.

    ``history[e-1]`` is J after epoch e; stops by the stall rule.

    Returns
    -------
    W, b, history, status
    """
    n = X.shape[0]
    stall = _Stall(tol, n_iter_no_change)
    history = []
    V, v = np.zeros_like(W), np.zeros_like(b)
    for e, order in enumerate(perms, start=1):
        for start in range(0, n, batch_size):
            batch = order[start:start + batch_size]
            W, b, V, v, _, _ = step(X[batch], y[batch], W, b, V, v, model, lmbda,
                                    eta / np.sqrt(e), mu, n)
        J = objective(X, y, W, b, model, lmbda)
        history.append(J)
        if not np.isfinite(J):
            return W, b, np.array(history), DIVERGED
        if stall.done(J):
            return W, b, np.array(history), CONVERGED
    return W, b, np.array(history), BUDGET
