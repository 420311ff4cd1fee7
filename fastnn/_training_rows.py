"""Where the rows of a training epoch come from: arrays in memory, or a chunked array.

:class:`fastnn.Network` trains an epoch through one of two sources, which
share one interface (``n``, ``epoch``, ``training_measures``, ``probe``):

Both can also return the epoch's *running* training cost and accuracy: each
sample measured on the output of its own forward pass (before its
mini-batch's step), summed by the engine while it trains (no second pass).

* :class:`InMemoryRows` — NumPy arrays (including ``numpy.memmap``): each epoch
  is one permutation of all ``n`` rows, cut into mini-batches, exactly the
  book's ``SGD`` loop.  The kernels read the rows in that random order.
* :class:`ChunkedRows` — an array that is only read chunk by chunk (a Dask
  array, or any object with ``.chunks`` and ``__getitem__``, such as a zarr
  array): each epoch visits the row chunks in a random order, loads one
  chunk into memory, shuffles its rows, trains its mini-batches and drops
  it.  At most one chunk (plus its forward pass) is in memory at a time.
"""
import numbers
import time

import numpy as np

from . import _guards, training
from ._validation import check_array, check_finite


def is_chunked(X):
    """True for an array read in chunks: not a NumPy array, has ``chunks`` (not None) and ``__getitem__``."""
    return (not isinstance(X, np.ndarray) and getattr(X, "chunks", None) is not None
            and hasattr(X, "__getitem__"))


def in_memory(a):
    """``a`` as a NumPy-convertible object: a lazy (Dask) array is computed, anything else passes."""
    if is_chunked(a) and hasattr(a, "compute"):
        return a.compute()
    return a


def row_bounds(chunks, n_rows, name="X"):
    """Start and stop row of every row chunk, as an int64 array of shape (n_chunks, 2).

    ``chunks`` is either Dask's form (a tuple per dimension of chunk lengths,
    e.g. ``((1000, 1000, 500), (784,))``) or zarr/h5py's (one chunk shape,
    e.g. ``(1000, 784)``: equal chunks of 1000 rows, the last one shorter).

    Raises
    ------
    ValueError
        If the row chunks are empty, not positive or do not add up to ``n_rows``.
    """
    first = chunks[0] if len(chunks) else None
    if isinstance(first, numbers.Integral) and first > 0:
        starts = np.arange(0, n_rows, int(first), dtype=np.int64)
        stops = np.minimum(starts + int(first), n_rows)
    else:
        try:
            lengths = np.array([int(c) for c in first], dtype=np.int64)
        except (TypeError, ValueError):
            raise ValueError(f"{name}.chunks must give the row chunks as Dask does ((rows, ...), "
                             f"(cols,)) or as one chunk shape (rows, cols), got {chunks!r}") from None
        if lengths.size == 0 or (lengths < 0).any() or lengths.sum() != n_rows:
            raise ValueError(f"{name}.chunks {chunks!r} do not split its {n_rows} rows")
        lengths = lengths[lengths > 0]
        stops = np.cumsum(lengths)
        starts = stops - lengths
    return np.column_stack([starts, stops])


def check_chunked(X, n_features, name="X"):
    """Check what can be checked of a chunked ``X`` without reading it: 2-D, numeric, its width.

    Returns the number of rows.  Values (NaN, inf) are checked chunk by chunk as they are read.

    Raises
    ------
    TypeError
        For a non-numeric dtype.
    ValueError
        For a wrong number of dimensions or features, or no rows.
    """
    shape = tuple(X.shape)
    if len(shape) != 2:
        raise ValueError(f"Expected 2D array for {name}, got {len(shape)}D array with shape {shape} instead.")
    if np.dtype(X.dtype).kind not in "biuf":
        raise TypeError(f"{name} has non-numeric dtype {X.dtype}; expected real numbers")
    if n_features is not None and shape[1] != n_features:
        raise ValueError(f"{name} has {shape[1]} features per sample, but the network expects {n_features}")
    if shape[0] == 0 or any(isinstance(s, float) and np.isnan(s) for s in shape):
        raise ValueError(f"{name} must have a known, positive number of rows, got shape {shape}")
    return int(shape[0])


def load_rows(X, start, stop, dtype, name="X"):
    """Rows ``start:stop`` of a chunked ``X`` as a checked C-contiguous NumPy array of ``dtype``."""
    return check_array(in_memory(X[start:stop]), name, dtype=dtype)


class _Measures:
    """Weighted sums of the cost C_x and of the correct predictions, for ``history_``."""

    def __init__(self):
        self.cost = 0.0
        self.weight = 0.0
        self.correct = 0
        self.count = 0

    def add_sums(self, sums, count):
        """Add an engine's running sums (``[sum w C_x, correct, sum w]``) of ``count`` samples."""
        self.cost += float(sums[0])
        self.correct += int(sums[1])
        self.weight += float(sums[2])
        self.count += count

    def add(self, A, Y, cost, sample_weight):
        costs = training.sample_costs(A, Y, cost)
        with np.errstate(over="ignore", invalid="ignore"):
            if sample_weight is None:
                self.cost += float(np.sum(costs))
                self.weight += len(costs)
            else:
                self.cost += float(np.sum(sample_weight * costs, dtype=np.float64))
                self.weight += float(np.sum(sample_weight, dtype=np.float64))
        self.correct += int(np.sum(np.argmax(A, axis=1) == np.argmax(Y, axis=1)))
        self.count += len(costs)

    def record(self, net, lmbda, n):
        with np.errstate(over="ignore", invalid="ignore"):
            mean = self.cost / self.weight
        return {"training_cost": float(mean + training.l2_term(net.weights, lmbda, n)),
                "training_accuracy": self.correct / self.count}


def _train_rows(net, X, Y, order, sample_weight, n, mini_batch_size, eta, lmbda, sizer, bar, guard, done,
                measures=None, nonfinite=None):
    """Train the mini-batches of ``order`` (rows of ``X``) in compiled chunks of whole mini-batches.

    One compiled call per chunk: Ctrl-C and the progress bar are handled
    between calls, and the result is the same as one call for all of ``order``.
    ``done`` samples of the epoch were trained before (for the divergence message).
    With ``measures`` (a :class:`_Measures`), the running cost and accuracy of
    the trained samples are added to it.  ``nonfinite(guard)`` is called when a
    chunk met non-finite weighted inputs (an engine that counts them), before
    the parameters are checked.
    """
    # one accumulator for all the compiled calls, so that the sums never depend on how the
    # (timed) chunks cut the epoch
    sums = None if measures is None else np.zeros(3)
    for start, stop in sizer.chunks(len(order)):
        bad = net._engine.epoch(net, X, Y, order[start:stop], mini_batch_size, eta, lmbda, n,
                                sample_weight=sample_weight, metrics=sums)
        if bad and nonfinite is not None:
            nonfinite(guard)
        guard.check_parameters(net.epochs_done_, eta, done + stop, n)
        sizer.done()
        bar.update(stop - start)
    if measures is not None:
        measures.add_sums(sums, len(order))


class InMemoryRows:
    """Training rows held in memory (or memory-mapped): the book's epoch.

    Parameters
    ----------
    X : ndarray, shape (n, n_in)
    Y : ndarray, shape (n, n_out)
    sample_weight : ndarray of shape (n,), optional
    shuffle : bool
        Draw a new permutation of the rows every epoch (the book), or keep
        their order (no random numbers are drawn).
    unchecked : tuple (name, converted), optional
        ``X`` was not scanned for NaN and inf (``check_array(..., finite=False)``;
        ``name`` and ``converted`` as :func:`~fastnn._validation.check_finite` takes
        them).  The engine must count non-finite weighted inputs
        (``counts_nonfinite``): when a chunk meets some, ``X`` is scanned, and a
        NaN or inf in it restores the parameters of the epoch's start and raises
        the ValueError the scan before training would have raised (see
        :attr:`found_nonfinite`).  Every row is trained in the first epoch, so a
        first epoch without a count proves ``X`` finite.
    """

    def __init__(self, X, Y, sample_weight=None, shuffle=True, unchecked=None):
        self.X, self.Y, self.sample_weight, self.shuffle = X, Y, sample_weight, shuffle
        self.n = X.shape[0]
        self._labels = None
        self._running = _Measures()
        self.unchecked = unchecked
        self.found_nonfinite = False
        """True once training stopped because ``X`` holds NaN or inf."""

    def _nonfinite(self, guard):
        """A chunk met non-finite weighted inputs: scan ``X`` once; NaN/inf in it restores
        the parameters and raises ValueError (else an overflow: training goes on)."""
        name, converted = self.unchecked
        self.unchecked = None  # scanned: finite, or the error below ends the fit
        try:
            check_finite(self.X, name, converted=converted)
        except ValueError:
            guard.restore()
            self.found_nonfinite = True
            raise

    def epoch(self, net, mini_batch_size, eta, lmbda, sizer, bar, guard, running=False):
        """Train one epoch (summing the running measures if ``running``); return its seconds."""
        start_time = time.perf_counter()
        order = net.rng.permutation(self.n) if self.shuffle else np.arange(self.n, dtype=np.int64)
        self._running = _Measures()
        _train_rows(net, self.X, self.Y, order, self.sample_weight, self.n, mini_batch_size, eta,
                    lmbda, sizer, bar, guard, 0, self._running if running else None,
                    self._nonfinite if self.unchecked is not None else None)
        self.unchecked = None  # every row was trained: a NaN or inf would have been counted
        return time.perf_counter() - start_time

    def running_measures(self, net, lmbda):
        """The last epoch's running cost (with the L2 term) and accuracy."""
        return self._running.record(net, lmbda, self.n)

    def training_measures(self, net, lmbda):
        """Cost (with the L2 term) and accuracy on all rows, with the current parameters."""
        A = net._engine.feedforward(net, self.X)
        if self._labels is None:
            self._labels = np.argmax(self.Y, axis=1)
        return {"training_cost": training.total_cost(A, self.Y, net.cost, lmbda, net.weights,
                                                     self.sample_weight),
                "training_accuracy": float(np.mean(np.argmax(A, axis=1) == self._labels))}

    def probe(self):
        """Rows fed forward after each epoch to detect saturation."""
        return self.X[:_guards.SATURATION_PROBE]


class ChunkedRows:
    """Training rows read chunk by chunk from a Dask-like array; never all in memory.

    Each epoch visits the row chunks in a random order (``shuffle``) and
    shuffles the rows within each chunk; the mini-batches are cut within a
    chunk, so a chunk whose length is not a multiple of the mini-batch size
    ends with a shorter mini-batch (its step divides by its own size, as
    the book's last mini-batch does).

    Parameters
    ----------
    X : chunked array, shape (n, n_in)
    Y : ndarray, shape (n, n_out)
        In memory (``n_out`` numbers per row).
    dtype : numpy dtype
        The network's; each chunk is converted to it.
    sample_weight : ndarray of shape (n,), optional
    shuffle : bool
    """

    def __init__(self, X, Y, dtype, sample_weight=None, shuffle=True):
        self.X, self.Y, self.dtype = X, Y, dtype
        self.sample_weight, self.shuffle = sample_weight, shuffle
        self.n = Y.shape[0]
        self.bounds = row_bounds(X.chunks, self.n)
        self._running = _Measures()
        self._last = None

    def _chunk(self, c, net, guard):
        """Rows, targets and weights of chunk ``c``."""
        start, stop = (int(v) for v in self.bounds[c])
        sw = None if self.sample_weight is None else self.sample_weight[start:stop]
        return self._load(start, stop, net, guard), self.Y[start:stop], sw

    def epoch(self, net, mini_batch_size, eta, lmbda, sizer, bar, guard, running=False):
        """Train one epoch, chunk by chunk (summing the running measures if ``running``);
        return its seconds (including reading the chunks)."""
        start_time = time.perf_counter()
        n_chunks = len(self.bounds)
        chunk_order = net.rng.permutation(n_chunks) if self.shuffle else np.arange(n_chunks)
        self._running = _Measures()
        done = 0
        for c in chunk_order:
            X, Y, sw = self._chunk(c, net, guard)
            rows = len(Y)
            order = net.rng.permutation(rows) if self.shuffle else np.arange(rows, dtype=np.int64)
            _train_rows(net, X, Y, order, sw, self.n, mini_batch_size, eta, lmbda, sizer, bar, guard, done,
                        self._running if running else None)
            done += rows
            self._last = X[:_guards.SATURATION_PROBE]
        return time.perf_counter() - start_time

    def _load(self, start, stop, net, guard):
        """Rows ``start:stop``, checked; a bad chunk restores the epoch's start and raises."""
        try:
            return load_rows(self.X, start, stop, self.dtype)
        except (ValueError, TypeError) as exc:
            if guard is None:  # a measuring pass after the epoch: nothing to restore
                raise type(exc)(f"rows {start}:{stop} of the chunked X: {exc}") from exc
            guard.restore()
            raise type(exc)(f"rows {start}:{stop} of the chunked X: {exc}. The network keeps the "
                            f"parameters of the start of epoch {net.epochs_done_}") from exc

    def running_measures(self, net, lmbda):
        """The last epoch's running cost (with the L2 term) and accuracy."""
        return self._running.record(net, lmbda, self.n)

    def training_measures(self, net, lmbda):
        """Cost (with the L2 term) and accuracy on all rows with the current parameters:
        a second pass over the chunks, one in memory at a time."""
        measures = _Measures()
        for c in range(len(self.bounds)):
            X, Y, sw = self._chunk(c, net, None)
            measures.add(net._engine.feedforward(net, X), Y, net.cost, sw)
        return measures.record(net, lmbda, self.n)

    def probe(self):
        """Rows of the last chunk trained (to detect saturation)."""
        return self._last
