"""Where a training epoch's rows come from (fastnn._training_rows), rule by rule: tests written
against the mutants that survived the chunked, running-metrics and sample-weight tests, each
first run against its mutant and failed."""
import numpy as np
import pytest

from fastnn import _training_rows as rows


class Chunked:
    """A minimal chunked array: ``chunks``, ``shape``, ``dtype`` and ``__getitem__``."""

    def __init__(self, X, chunks):
        self._X, self.chunks, self.shape, self.dtype = X, chunks, X.shape, X.dtype

    def __getitem__(self, key):
        return self._X[key]


def test_check_chunked_compares_the_width_by_value_both_ways():
    X = Chunked(np.zeros((4, 300)), (2, 300))
    assert rows.check_chunked(X, int("300")) == 4  # an int equal to 300, not the same object
    with pytest.raises(ValueError, match="X has 300 features per sample, but the network expects 299"):
        rows.check_chunked(X, 299)
    with pytest.raises(ValueError, match="X has 300 features per sample, but the network expects 301"):
        rows.check_chunked(X, 301)


def test_row_bounds_of_both_forms_and_their_errors():
    assert rows.row_bounds((2, 5), 5).tolist() == [[0, 2], [2, 4], [4, 5]]  # zarr/h5py: one chunk shape
    assert rows.row_bounds(((2, 0, 3), (5,)), 5).tolist() == [[0, 2], [2, 5]]  # Dask: an empty chunk dropped
    assert rows.row_bounds(((5,), (5,)), 5).tolist() == [[0, 5]]
    assert rows.row_bounds((1, 5), 3).tolist() == [[0, 1], [1, 2], [2, 3]]  # chunks of one row
    with pytest.raises(ValueError, match="do not split its 0 rows"):  # no row chunk at all
        rows.row_bounds(((), (5,)), 0)
    for bad in ((0, 5), (-2, 5), (None, 5), ()):  # a chunk length of 0 or below is no length
        with pytest.raises(ValueError, match=r"Z.chunks must give the row chunks as Dask does"):
            rows.row_bounds(bad, 5, name="Z")
    for bad in (((), (5,)), ((6, -1), (5,)), ((2, 2), (5,)), ((3, 3), (5,))):
        with pytest.raises(ValueError, match=r"Z.chunks .* do not split its 5 rows"):
            rows.row_bounds(bad, 5, name="Z")


def test_check_chunked_refuses_what_it_can_see_without_reading():
    with pytest.raises(ValueError, match=r"Expected 2D array for Z, got 1D array with shape \(4,\)"):
        rows.check_chunked(Chunked(np.zeros(4), (2,)), None, name="Z")
    with pytest.raises(TypeError, match="Z has non-numeric dtype <U"):
        rows.check_chunked(Chunked(np.zeros((4, 3)).astype(str), (2, 3)), None, name="Z")
    for dtype in (bool, np.int8, np.uint16, np.float32):
        assert rows.check_chunked(Chunked(np.zeros((4, 3), dtype=dtype), (2, 3)), 3) == 4
    with pytest.raises(ValueError, match=r"Z must have a known, positive number of rows, got shape \(0, 3\)"):
        rows.check_chunked(Chunked(np.zeros((0, 3)), (2, 3)), None, name="Z")
    unknown = Chunked(np.zeros((4, 3)), (2, 3))
    unknown.shape = (float("nan"), 3)  # Dask's rows of unknown length
    with pytest.raises(ValueError, match="known, positive number of rows"):
        rows.check_chunked(unknown, 3)
    assert type(rows.check_chunked(Chunked(np.zeros((4, 3)), (2, 3)), None)) is int


def test_is_chunked_and_in_memory():
    X = np.zeros((4, 3))
    assert not rows.is_chunked(X) and rows.in_memory(X) is X
    chunked = Chunked(X, (2, 3))
    assert rows.is_chunked(chunked) and rows.in_memory(chunked) is chunked  # no compute(): passes
    chunked.compute = lambda: X
    assert rows.in_memory(chunked) is X
    chunked.chunks = None
    assert not rows.is_chunked(chunked)

    class NoItems:
        chunks, shape = (2, 3), (4, 3)
    assert not rows.is_chunked(NoItems())


def test_load_rows_checks_and_converts():
    X = Chunked(np.arange(12.0).reshape(4, 3), (2, 3))
    out = rows.load_rows(X, 2, 4, np.float32)
    assert out.dtype == np.float32 and out.flags.c_contiguous and out.tolist() == [[6, 7, 8], [9, 10, 11]]



class TurnsBad(Chunked):
    """Rows whose reads after the first ``good`` ones hold a NaN (a store that changed)."""

    def __init__(self, X, chunks, good):
        super().__init__(X, chunks)
        self.reads = 0
        self.good = good

    def __getitem__(self, key):
        self.reads += 1
        out = self._X[key].copy()
        if self.reads > self.good:
            out[0, 0] = np.nan
        return out


def test_a_bad_chunk_names_its_rows_and_what_the_network_keeps():
    from fastnn import Network

    X = np.random.default_rng(0).random((40, 4))
    y = np.arange(40) % 3
    net = Network([4, 5, 3], seed=1)
    net.fit(X, y, epochs=1, mini_batch_size=5)
    before = net._theta.copy()
    # the second chunk read in the second epoch turns bad: the epoch's start is restored
    with pytest.raises(ValueError, match=r"^rows 20:40 of the chunked X: .*NaN.*\. The network keeps the "
                                         r"parameters of the start of epoch 1$"):
        net.fit(TurnsBad(X, (20, 4), good=1), y, epochs=1, mini_batch_size=5, shuffle=False,
                training_metrics="none")
    np.testing.assert_array_equal(net._theta, before)
    # the exact training metrics read every chunk again after the epoch: nothing to restore
    with pytest.raises(ValueError, match=r"^rows 0:20 of the chunked X: [^.]*NaN[^.]*\.?$"):
        net.fit(TurnsBad(X, (20, 4), good=2), y, epochs=1, mini_batch_size=5, shuffle=False,
                training_metrics="exact")


@pytest.mark.parametrize("chunked", [False, True])
def test_an_epochs_seconds_lie_within_the_call(chunked):
    import time

    from fastnn import Network

    X = np.random.default_rng(0).random((40, 4))
    y = np.arange(40) % 3
    net = Network([4, 5, 3], seed=1)
    net.fit(X, y, epochs=1)  # compiled before timing
    start = time.perf_counter()
    net.fit(Chunked(X, (20, 4)) if chunked else X, y, epochs=2, training_metrics="none")
    elapsed = time.perf_counter() - start
    seconds = net.history_["seconds"][-2:]
    assert all(0 < s <= elapsed for s in seconds) and sum(seconds) <= elapsed


def test_check_chunked_refuses_three_dimensions():
    with pytest.raises(ValueError, match=r"Expected 2D array for X, got 3D array with shape \(4, 3, 2\)"):
        rows.check_chunked(Chunked(np.zeros((4, 3, 2)), (2, 3, 2)), None)


def test_divergence_in_a_later_chunk_counts_the_samples_of_the_chunks_before(monkeypatch):
    import re

    from fastnn import DivergenceError, Network

    X = np.random.default_rng(0).random((40, 4))
    net = Network([4, 6, 3], seed=1)
    real_epoch = net._engine.epoch

    def poisoned(network, X_chunk, *args, **kwargs):  # NaN appears while the second chunk trains
        real_epoch(network, X_chunk, *args, **kwargs)
        if X_chunk[0, 0] == X[20, 0]:
            network._theta[3] = np.nan
    monkeypatch.setattr(net._engine, "epoch", poisoned)
    with pytest.raises(DivergenceError) as info:
        net.fit(Chunked(X, (20, 4)), np.arange(40) % 3, epochs=1, mini_batch_size=5, shuffle=False,
                training_metrics="none")
    done = int(re.search(r"after (\d+) of its 40 samples", str(info.value)).group(1))
    assert 20 < done <= 40 and done % 5 == 0  # whole mini-batches, counted from the epoch's start


# -- the in-memory epoch's chunks and its NaN/inf check by the kernel's count ------------------

class Recorder:
    """A progress bar and a divergence guard that record what the epoch tells them."""

    def __init__(self):
        self.shown, self.checked, self.restored = 0, [], 0

    def update(self, samples):  # the bar
        self.shown += samples

    def check_parameters(self, epoch, eta, samples_done, n_samples):  # the guard
        self.checked.append((samples_done, n_samples))

    def restore(self):
        self.restored += 1


def _rows_and_net(X, unchecked=None):
    from fastnn import Network

    Y = np.eye(3)[np.arange(len(X)) % 3]
    return rows.InMemoryRows(X, Y, shuffle=False, unchecked=unchecked), Network([4, 5, 3], seed=1)


def _epoch(data, net, first=10):
    from fastnn import training

    recorder = Recorder()
    data.epoch(net, 5, 0.5, 0.0, training.ChunkSizer(5, target=1e-9, first=first), recorder, recorder)
    return recorder


@pytest.mark.parametrize("unchecked", [None, ("X", False)])
def test_an_epoch_in_chunks_reports_each_chunk_s_end_once_to_the_bar_and_the_guard(unchecked, monkeypatch):
    from fastnn import _validation

    scans = []
    real = _validation._all_finite
    monkeypatch.setattr(_validation, "_all_finite", lambda X: scans.append(X.shape) or real(X))
    data, net = _rows_and_net(np.random.default_rng(0).random((40, 4)), unchecked)
    recorder = _epoch(data, net)
    # chunks of 10 samples, then at most 4x the last (the sizer's target is never reached)
    ends = [done for done, _ in recorder.checked]
    assert ends[0] == 10 and ends[-1] == 40 and len(ends) > 1 and all(d % 5 == 0 for d in ends)
    assert ends == sorted(set(ends)) and all(n == 40 for _, n in recorder.checked)
    assert recorder.shown == 40 and recorder.restored == 0
    assert scans == [] and data.unchecked is None and not data.found_nonfinite  # finite: never scanned


def test_a_nan_met_by_the_kernel_is_found_by_one_scan_which_restores_and_raises(monkeypatch):
    from fastnn import _validation

    scans = []
    real = _validation._all_finite
    monkeypatch.setattr(_validation, "_all_finite", lambda X: scans.append(X.shape) or real(X))
    X = np.random.default_rng(0).random((40, 4))
    X[3, 2] = np.nan
    data, net = _rows_and_net(X, ("X", False))
    assert not data.found_nonfinite
    recorder = Recorder()
    from fastnn import training

    with pytest.raises(ValueError, match="X contains NaN or infinity"):
        data.epoch(net, 5, 0.5, 0.0, training.ChunkSizer(5, first=10), recorder, recorder)
    assert data.found_nonfinite and recorder.restored == 1 and recorder.checked == [] and scans == [(40, 4)]


def test_a_nan_in_rows_scanned_before_is_left_to_the_guard():
    X = np.random.default_rng(0).random((40, 4))
    X[3, 2] = np.nan  # (a caller that scanned X would have refused it: the count is not read)
    data, net = _rows_and_net(X)
    recorder = _epoch(data, net)
    assert recorder.shown == 40 and recorder.restored == 0 and not data.found_nonfinite
