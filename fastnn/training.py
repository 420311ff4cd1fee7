"""Training helpers for :class:`fastnn.Network`: costs, chapter-3 stopping rules, progress.

Everything here is plain Python/NumPy around the compiled epoch:

* :func:`sample_costs` and :func:`total_cost` evaluate ``network2.py``'s cost
  functions (``QuadraticCost.fn``, ``CrossEntropyCost.fn``) on the output
  activations of a whole data set;
* :class:`PlateauRule` implements early stopping and the learning-rate
  schedule of chapter 3 (halve eta after a plateau of the validation accuracy,
  stop at eta0/128);
* :class:`ChunkSizer` splits an epoch into chunks of whole mini-batches, so a
  progress bar (:mod:`fastnn._progress`) and Ctrl-C are handled between
  compiled calls without slowing the epoch;
* :func:`new_history` / :func:`append_history` keep ``net.history_``.
"""
import time

import numpy as np

from ._progress import make_progress  # noqa: F401  (Network.fit's bar: training.make_progress)

HISTORY_KEYS = ("epoch", "eta", "seconds", "training_cost", "training_accuracy",
                "validation_cost", "validation_accuracy", "layer_speeds")
"""Keys of ``Network.history_``: a dict of per-epoch lists (``None`` where not measured).
``layer_speeds`` (a list per epoch, ``fit(..., record_layer_speeds=True)``) is the newest: a
history saved before it existed lacks it and is read with None there."""

ETA_FLOOR = 128
"""The schedule stops once eta has been halved down to eta0 / ETA_FLOOR (chapter 3's exercise)."""


# -- costs (network2.py's QuadraticCost.fn / CrossEntropyCost.fn, row-wise) --------------

def sample_costs(A, Y, cost):
    """Cost C_x of every sample, from output activations ``A`` and targets ``Y`` (rows).

    Parameters
    ----------
    A, Y : ndarray, shape (n, n_out)
        Output activations and desired outputs.
    cost : {"quadratic", "cross-entropy"}

    Returns
    -------
    ndarray of float64, shape (n,)
        Quadratic: ``0.5 * ||a - y||^2`` (eq. 6).  Cross-entropy: eq. 63,
        ``sum(nan_to_num(-y ln a - (1 - y) ln(1 - a)))``; as in network2.py,
        ``nan_to_num`` turns ``0 * log(0)`` into 0 and ``log(0)`` into a huge
        finite number.
    """
    A = np.asarray(A, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    if cost == "quadratic":
        return 0.5 * np.sum((A - Y) ** 2, axis=1)
    if cost == "cross-entropy":
        # a saturated wrong output costs nan_to_num(inf) = 1.8e308; sums of those overflow to inf
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            terms = -Y * np.log(A) - (1 - Y) * np.log(1 - A)
            return np.sum(np.nan_to_num(terms), axis=1)
    raise ValueError(f"cost must be 'quadratic' or 'cross-entropy', got {cost!r}")


def running_cost(cost_sum, weight_sum, lmbda, n, weights):
    """Training cost of an epoch from its running sums (see ``Network.fit``'s
    ``training_metrics``): ``cost_sum / weight_sum`` (the mean C_x, weighted if the
    samples were) plus :func:`l2_term` with the training-set size ``n``."""
    with np.errstate(over="ignore", invalid="ignore"):
        return float(cost_sum / weight_sum + l2_term(weights, lmbda, n))


def total_cost(A, Y, cost, lmbda, weights, sample_weight=None):
    """network2.py's ``total_cost``: mean C_x plus the L2 term of eq. 85.

    Parameters
    ----------
    A, Y : ndarray, shape (n, n_out)
        Output activations and targets of the ``n`` samples of the data set.
    cost : {"quadratic", "cross-entropy"}
    lmbda : float
        Regularisation parameter.
    weights : list of ndarray
        The network's weight matrices.
    sample_weight : ndarray of shape (n,), optional
        Weights of the samples: the mean becomes ``sum s_x C_x / sum s_x``.

    Returns
    -------
    float
        ``mean(C_x) + 0.5 * (lmbda / n) * sum_w ||w||^2`` with ``n`` the size
        of this data set, exactly as network2.py computes it.
    """
    n = len(A)
    costs = sample_costs(A, Y, cost)
    with np.errstate(over="ignore", invalid="ignore"):
        if sample_weight is None:
            mean = np.sum(costs) / n
        else:
            mean = np.sum(sample_weight * costs, dtype=np.float64) / np.sum(sample_weight, dtype=np.float64)
        return float(mean + l2_term(weights, lmbda, n))


def l2_term(weights, lmbda, n):
    """The L2 term of eq. 85, ``0.5 * (lmbda / n) * sum_w ||w||^2``, as a float."""
    # weights whose squares overflow give inf (NaN when lmbda is 0): the guards report
    # either as divergence (fastnn/_guards.py), so no NumPy warning is wanted here
    with np.errstate(over="ignore", invalid="ignore"):
        penalty = sum(float(np.sum(np.asarray(w, dtype=np.float64) ** 2)) for w in weights)
        return 0.5 * (lmbda / n) * penalty


# -- chapter 3: early stopping and the learning-rate schedule ---------------------------

class PlateauRule:
    """Early stopping and the halve-eta-on-plateau schedule of chapter 3.

    Each epoch's validation accuracy (or any score where higher is better)
    is compared with the best so far: an improvement is a score greater than
    the best (network2.py's early stopping) and, if ``tol`` > 0, by at least
    ``tol`` (scikit-learn's rule).  The best is the highest score seen, even
    when it rose by less than ``tol``.

    Parameters
    ----------
    eta : float
        The initial learning rate eta0.
    early_stopping_n : int
        Stop after this many epochs without improvement (0: never).
    eta_schedule_n : int
        Halve eta after this many epochs without improvement and start
        counting again; stop once eta has fallen to eta0/128 (0: constant eta).
    tol : float
        The smallest rise of the score that counts as an improvement (0: any rise).

    Attributes
    ----------
    eta : float
        The learning rate for the next epoch.
    stopped : str or None
        Why training stopped (``"early stopping"`` or ``"eta schedule"``), or None.
    """

    def __init__(self, eta, early_stopping_n=0, eta_schedule_n=0, tol=0.0):
        self.eta0 = float(eta)
        self.tol = float(tol)
        self.eta = float(eta)
        self.early_stopping_n = int(early_stopping_n)
        self.eta_schedule_n = int(eta_schedule_n)
        self.best = None
        self.since_best = 0  # epochs without improvement (early stopping)
        self.since_change = 0  # epochs without improvement at the current eta (schedule)
        self.stopped = None

    @property
    def active(self):
        """True if a rule needs the validation accuracy."""
        return self.early_stopping_n > 0 or self.eta_schedule_n > 0

    def update(self, accuracy):
        """Record one epoch's validation accuracy; return True if training must stop."""
        if not self.active:
            return False
        improved = self.best is None or (accuracy > self.best and accuracy >= self.best + self.tol)
        if self.best is None or accuracy > self.best:
            self.best = accuracy
        if improved:
            self.since_best = 0
            self.since_change = 0
        else:
            self.since_best += 1
            self.since_change += 1
        if self.early_stopping_n and self.since_best >= self.early_stopping_n:
            self.stopped = "early stopping"
        elif self.eta_schedule_n and self.since_change >= self.eta_schedule_n:
            self.eta /= 2
            self.since_change = 0
            if self.eta <= self.eta0 / ETA_FLOOR:
                self.stopped = "eta schedule"
        return self.stopped is not None

    def state(self):
        """JSON-serialisable state (for checkpoints)."""
        return {"eta0": self.eta0, "eta": self.eta, "early_stopping_n": self.early_stopping_n,
                "eta_schedule_n": self.eta_schedule_n, "best": self.best,
                "since_best": self.since_best, "since_change": self.since_change,
                "stopped": self.stopped, "tol": self.tol}

    @classmethod
    def from_state(cls, state):
        """Rebuild a rule saved by :meth:`state`."""
        rule = cls(state["eta0"], state["early_stopping_n"], state["eta_schedule_n"], state.get("tol", 0.0))
        rule.eta = float(state["eta"])
        rule.best = state["best"]
        rule.since_best = int(state["since_best"])
        rule.since_change = int(state["since_change"])
        rule.stopped = state["stopped"]
        return rule


# -- history ------------------------------------------------------------------------------

def new_history():
    """An empty ``history_``: a dict with one empty list per key of :data:`HISTORY_KEYS`."""
    return {key: [] for key in HISTORY_KEYS}


def append_history(history, record):
    """Append one epoch's ``record`` (a dict; missing keys become None) to ``history``."""
    unknown = set(record) - set(HISTORY_KEYS)
    if unknown:
        raise ValueError(f"unknown history keys {sorted(unknown)}; expected {list(HISTORY_KEYS)}")
    for key in HISTORY_KEYS:
        history[key].append(record.get(key))


def check_history(history):
    """Validate a history loaded from a file: the keys of :data:`HISTORY_KEYS`, equal lengths."""
    if isinstance(history, dict) and "layer_speeds" not in history and isinstance(history.get("epoch"), list):
        history = {**history, "layer_speeds": [None] * len(history["epoch"])}  # saved before it existed
    if not isinstance(history, dict) or set(history) != set(HISTORY_KEYS):
        raise ValueError(f"history must be a dict with keys {list(HISTORY_KEYS)}")
    lengths = {len(v) if isinstance(v, list) else -1 for v in history.values()}
    if len(lengths) != 1 or -1 in lengths:
        raise ValueError("history must hold one list per key, all of the same length")
    return history


# -- chunks of an epoch and the progress bar ------------------------------------------------

class ChunkSizer:
    """Chooses how many whole mini-batches the next compiled call trains.

    Starts small, then sizes chunks so that one takes about ``target``
    seconds: the Python work between chunks (progress update, signal check)
    stays negligible, and a progress bar or Ctrl-C reacts within ``target``.
    Chunking does not change the result: an epoch's mini-batches are the same
    whichever calls they are trained in.

    Parameters
    ----------
    mini_batch_size : int
    target : float
        Wanted seconds per chunk.
    first : int
        Number of samples in the first chunk (rounded up to whole mini-batches).
    """

    def __init__(self, mini_batch_size, target=0.2, first=512):
        self.mini_batch_size = mini_batch_size
        self.target = target
        self.batches = max(1, -(-first // mini_batch_size))

    def chunks(self, n):
        """Yield ``(start, stop)`` sample ranges covering ``0..n``; call :meth:`done` after each."""
        self._most = max(1, -(-n // self.mini_batch_size))  # a whole epoch in one call
        start = 0
        while start < n:
            stop = min(n, start + self.batches * self.mini_batch_size)
            self._t0 = time.perf_counter()
            yield start, stop
            start = stop

    def done(self):
        """Adapt the chunk size to the time the last chunk took (at most 4x growth, and
        never beyond one epoch, so the size stays bounded however fast the chunks are)."""
        seconds = time.perf_counter() - self._t0
        scale = 4.0 if seconds <= 0 else min(4.0, max(0.25, self.target / seconds))
        self.batches = max(1, min(self._most, int(self.batches * scale)))
