"""Training from chunked arrays (Dask, or anything with .chunks and __getitem__), chunk by chunk."""
import numpy as np
import pytest

from fastnn import Network
from fastnn import training
from fastnn.sklearn import MLPClassifier, MLPRegressor
from conftest import max_param_diff

da = pytest.importorskip("dask.array")


class ChunkStore:
    """A chunked array that only hands out whole row chunks, and records what was read.

    It has no ``__array__``: ``np.asarray`` of it fails instead of loading it,
    so any attempt to materialise it whole is an error.
    """

    def __init__(self, X, chunks):
        self._X, self.chunks, self.reads = X, chunks, []
        self.shape, self.dtype = X.shape, X.dtype
        rows = chunks[0] if isinstance(chunks[0], tuple) else None
        self._starts = set(np.cumsum((0,) + rows)[:-1]) if rows else set(range(0, X.shape[0], chunks[0]))

    def __getitem__(self, key):
        assert isinstance(key, slice) and key.start in self._starts, f"not a row chunk: {key}"
        self.reads.append((key.start, key.stop))
        return self._X[key].copy()

    def __array__(self, *args, **kwargs):
        raise AssertionError("the whole chunked array was materialised")


def _epoch_by_hand(net, chunks, Y, mb, eta, lmbda, sw=None):
    """The documented chunked epoch: chunks in a permuted order, rows permuted within each;
    returns the running (weighted) cost and accuracy, each mini-batch fed forward just
    before its own step."""
    starts = np.cumsum((0,) + tuple(len(c) for c in chunks))
    n = starts[-1]
    cost = weight = correct = 0.0
    for c in net.rng.permutation(len(chunks)):
        X_c, Y_c = chunks[c], Y[starts[c]:starts[c + 1]]
        sw_c = None if sw is None else sw[starts[c]:starts[c + 1]]
        order = net.rng.permutation(len(X_c))
        for k in range(0, len(order), mb):
            batch = order[k:k + mb]
            A = net._engine.feedforward(net, X_c[batch])
            costs = training.sample_costs(A, Y_c[batch], net.cost)
            w = np.ones(len(costs)) if sw_c is None else sw_c[batch]
            cost, weight = cost + np.sum(w * costs), weight + np.sum(w)
            correct += np.sum(np.argmax(A, axis=1) == np.argmax(Y_c[batch], axis=1))
            net._engine.epoch(net, X_c, Y_c, batch, mb, eta, lmbda, n, sample_weight=sw_c)
    return cost / weight + training.l2_term(net.weights, lmbda, n), correct / n


@pytest.mark.parametrize("engine", ["jit", "matrix"])
@pytest.mark.parametrize("weighted", [False, True])
def test_dask_epoch_is_the_documented_chunk_shuffle(digits, engine, weighted):
    X, y = digits
    rows = (400, 397, 500, 500)  # uneven chunks: short mini-batches at their ends
    sw = np.random.default_rng(0).uniform(0, 2, len(X)) if weighted else None
    net = Network([64, 20, 10], seed=1, engine=engine, cost="cross-entropy")
    net.fit(da.from_array(X, chunks=(rows, 64)), y, epochs=2, mini_batch_size=7, eta=0.5, lmbda=3.0,
            sample_weight=sw)
    twin = Network([64, 20, 10], seed=1, engine=engine, cost="cross-entropy")
    chunks = np.split(X, np.cumsum(rows)[:-1])
    for epoch in range(2):
        cost, accuracy = _epoch_by_hand(twin, chunks, np.eye(10)[y], 7, 0.5, 3.0, sw)
        assert net.history_["training_cost"][epoch] == pytest.approx(cost, rel=1e-12)
        assert net.history_["training_accuracy"][epoch] == accuracy
    np.testing.assert_array_equal(net._theta, twin._theta)


def test_unshuffled_chunks_of_whole_batches_equal_the_in_memory_fit(digits):
    X, y = digits
    X, y = X[:1500], y[:1500]
    kw = dict(epochs=2, mini_batch_size=10, eta=3.0, lmbda=2.0, shuffle=False)
    chunked = Network([64, 15, 10], seed=0).fit(da.from_array(X, chunks=(300, 64)), y, **kw)
    in_memory = Network([64, 15, 10], seed=0).fit(X, y, **kw)
    np.testing.assert_array_equal(chunked._theta, in_memory._theta)


@pytest.mark.parametrize("chunks", [((300, 500, 997), (64,)), (256, 64)])  # Dask's form, zarr's form
def test_any_chunked_object_is_read_one_chunk_at_a_time(digits, chunks):
    X, y = digits
    store = ChunkStore(X, chunks)
    net = Network([64, 30, 10], seed=2).fit(store, y, epochs=3, mini_batch_size=10)
    if isinstance(chunks[0], tuple):
        bounds = [(0, 300), (300, 800), (800, 1797)]
    else:
        bounds = [(a, min(a + 256, 1797)) for a in range(0, 1797, 256)]
    assert len(store.reads) == 3 * len(bounds)
    for epoch in range(3):  # every chunk once per epoch, in a new order each time
        assert sorted(store.reads[epoch * len(bounds):(epoch + 1) * len(bounds)]) == bounds
    orders = {tuple(store.reads[e * len(bounds):(e + 1) * len(bounds)]) for e in range(3)}
    assert len(orders) > 1
    assert net.score(X, y) > 0.85


def test_chunked_input_errors(digits):
    X, y = digits
    net = Network([64, 10, 10], seed=0)
    bad = X.copy()
    bad[1500, 3] = np.nan
    before = net._theta.copy()
    with pytest.raises(ValueError, match="X contains NaN or infinity"):
        net.fit(da.from_array(bad, chunks=(500, 64)), y, epochs=1, shuffle=False)
    np.testing.assert_array_equal(net._theta, before)  # two chunks were trained: undone
    with pytest.raises(ValueError, match="features per sample"):
        net.fit(da.from_array(X[:, :10], chunks=(500, 10)), y)
    with pytest.raises(ValueError, match="2D"):
        net.fit(da.from_array(X[:, 0], chunks=500), y)
    with pytest.raises(ValueError, match="different numbers of samples"):
        net.fit(da.from_array(X, chunks=(500, 64)), y[:-1])
    with pytest.raises(TypeError, match="non-numeric"):
        net.fit(da.from_array(X.astype(str), chunks=(500, 64)), y)
    with pytest.raises(ValueError, match="do not split"):
        net.fit(ChunkStore(X, ((100, 100), (64,))), y)


def test_estimators_train_on_dask_arrays(digits):
    X, y = digits
    Xd = da.from_array(X, chunks=(450, 64))
    clf = MLPClassifier((20,), epochs=3, random_state=0).fit(Xd, da.from_array(y, chunks=450))
    net = Network([64, 20, 10], seed=0).fit(Xd, y, epochs=3)
    np.testing.assert_array_equal(clf.network_._theta, net._theta)
    assert clf.n_features_in_ == 64 and clf.t_ == 3 * len(X)
    np.testing.assert_array_equal(clf.predict(Xd), clf.predict(X))
    assert clf.score(X, y) > 0.85
    reg = MLPRegressor((5,), epochs=2, random_state=0).fit(Xd, y.astype(float))
    assert reg.predict(Xd).shape == (len(X),)
    with pytest.raises(ValueError, match="early_stopping=True needs X in memory"):
        MLPClassifier(early_stopping=True).fit(Xd, y)


def test_dask_ml_incremental_trains_the_classifier(digits):
    wrappers = pytest.importorskip("dask_ml.wrappers")
    X, y = digits
    Xd, yd = da.from_array(X, chunks=(300, 64)), da.from_array(y, chunks=300)
    inc = wrappers.Incremental(MLPClassifier((30,), random_state=0), scoring="accuracy",
                               shuffle_blocks=False)
    inc.fit(Xd, yd, classes=np.arange(10))
    by_hand = MLPClassifier((30,), random_state=0)
    for start in range(0, len(X), 300):
        by_hand.partial_fit(X[start:start + 300], y[start:start + 300], classes=np.arange(10))
    np.testing.assert_array_equal(inc.estimator_.network_._theta, by_hand.network_._theta)
    assert inc.estimator_.t_ == len(X)
    assert inc.score(Xd, yd) > 0.7
    assert max_param_diff(inc.estimator_.network_, Network([64, 30, 10], seed=0)) > 0


def test_memmap_rows_are_trained_in_place_without_a_copy(digits, tmp_path, monkeypatch):
    """A copy-on-write memmap (mmap_mode="c") is writeable, so it is used as it is (read row by
    row through the page cache); a read-only one (mode "r") is copied into memory."""
    from fastnn import _validation

    X, y = digits
    np.save(tmp_path / "X.npy", X)
    mapped = np.load(tmp_path / "X.npy", mmap_mode="c")
    monkeypatch.setattr(_validation, "_FINITE_BLOCK", 1000)  # the blockwise finiteness check
    assert np.shares_memory(_validation.check_array(mapped), mapped)
    assert not np.shares_memory(_validation.check_array(np.load(tmp_path / "X.npy", mmap_mode="r")), mapped)
    bad = np.load(tmp_path / "X.npy", mmap_mode="c")
    bad[1790, 5] = np.inf  # in the last block
    with pytest.raises(ValueError, match="NaN or infinity"):
        _validation.check_array(bad)
    from_file = Network([64, 12, 10], seed=0).fit(mapped, y, epochs=1)
    from_memory = Network([64, 12, 10], seed=0).fit(X, y, epochs=1)
    np.testing.assert_array_equal(from_file._theta, from_memory._theta)
