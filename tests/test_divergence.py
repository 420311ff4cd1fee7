"""Training that goes wrong: divergence, overflow, exceptions and interrupts mid-training.

Divergence to NaN/inf raises DivergenceError naming the epoch and restores the
parameters of that epoch's start; saturation by a huge eta warns; exceptions
(callbacks, engines, Ctrl-C) never leave half-updated parameters.
"""
import sys

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from fastnn import Network, training
from fastnn._guards import DivergenceError, DivergenceWarning

ENGINES = ["jit", "reference", "matrix"]


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(3)
    X = rng.random((120, 8))
    return X, (X[:, 0] > X[:, 1]).astype(int) + (X[:, 2] > 0.5)


def overflowing(X):
    """Inputs of 1.7e308, finite but near the float64 maximum."""
    return np.full_like(X, 1.7e308)


def arm(model):
    """First-layer weights of +-2: with :func:`overflowing` inputs every product is +-inf,
    so every weighted sum is inf - inf = NaN in any summation order (with or without FMA)."""
    model.weights[0][:, ::2] = 2.0
    model.weights[0][:, 1::2] = -2.0
    return model


def net(engine="jit", **kw):
    return Network([8, 6, 3], seed=4, engine=engine, **kw)


# the matrix engine's BLAS happens to sum these without overflow (finite, hence no error):
# the poisoned-epoch test below covers it
@pytest.mark.parametrize("engine", ["jit", "reference"])
def test_nan_parameters_raise_and_restore(engine, data):
    X, y = data
    model = arm(net(engine).fit(X, y, epochs=1))
    before, history = model._theta.copy(), {k: list(v) for k, v in model.history_.items()}
    with pytest.raises(DivergenceError, match=r"diverged in epoch 1: the parameters became (NaN|infinite)"
                                              r".*eta=3.*Lower eta") as info:
        model.fit(overflowing(X), y, epochs=3)
    assert info.value.epoch == 1
    assert np.isfinite(model._theta).all()
    assert_array_equal(model._theta, before)  # the last finite parameters: end of epoch 0
    assert model.epochs_done_ == 1 and model.history_ == history
    assert np.isfinite(model.predict_proba(X)).all()


@pytest.mark.parametrize("engine", ENGINES)
def test_divergence_in_a_later_epoch_keeps_the_previous_epochs(engine, data, tmp_path, monkeypatch):
    X, y = data
    model = net(engine)
    real_epoch = model._engine.epoch

    def poisoned(network, *args, **kwargs):  # NaN appears in the middle of epoch 2
        real_epoch(network, *args, **kwargs)
        if network.epochs_done_ == 2:
            network._theta[3] = np.nan
    monkeypatch.setattr(model._engine, "epoch", poisoned)
    ck = tmp_path / "ck.npz"
    with pytest.raises(DivergenceError, match="epoch 2") as info:
        model.fit(X, y, epochs=5, checkpoint=ck)
    assert info.value.epoch == 2 and model.epochs_done_ == 2
    clean = net(engine).fit(X, y, epochs=2)
    assert_array_equal(model._theta, clean._theta)
    assert_array_equal(Network.load(ck)._theta, clean._theta)  # checkpoint: last good epoch


@pytest.mark.parametrize("engine", ["jit", "reference"])  # BLAS sums these finitely, as above
@pytest.mark.filterwarnings("ignore:overflow encountered")
def test_nan_validation_cost_raises_and_restores(engine, data):
    """Finite parameters, NaN cost: validation inputs near the float maximum overflow to
    inf - inf in the first layer, so the validation cost (quadratic) is NaN."""
    X, y = data
    model = arm(net(engine))
    before = model._theta.copy()
    with pytest.raises(DivergenceError, match=r"diverged in epoch 0: the validation cost became nan"
                                              r".*eta=3") as info:
        model.fit(X, y, epochs=2, validation_data=(overflowing(X[:10]), y[:10]))
    assert info.value.epoch == 0 and model.epochs_done_ == 0
    assert model.history_["epoch"] == []
    assert_array_equal(model._theta, before)  # the epoch's training was undone


@pytest.mark.parametrize("engine", ENGINES)
def test_nan_training_cost_raises_and_restores(engine, data, monkeypatch):
    """Finite parameters, NaN training cost (here an L2 term that cannot be computed, as a
    0 * inf once was): the epoch is undone and DivergenceError names the training cost."""
    X, y = data
    model = net(engine)
    before = model._theta.copy()
    monkeypatch.setattr(training, "l2_term", lambda weights, lmbda, n: float("nan"))
    with pytest.raises(DivergenceError, match=r"diverged in epoch 0: the training cost became nan") as info:
        model.fit(X, y, epochs=2, lmbda=0.5)
    assert info.value.epoch == 0 and model.epochs_done_ == 0
    assert model.history_["epoch"] == []
    assert_array_equal(model._theta, before)


def test_book_sgd_diverges_clearly(data, capsys):
    X, y = data
    model = arm(net())
    before = model._theta.copy()
    with pytest.raises(DivergenceError, match="epoch 0"):
        model.SGD((overflowing(X), y), 2, 10, 3.0)
    assert_array_equal(model._theta, before)


def test_update_mini_batch_refuses_nan(data):
    X, y = data
    model = arm(net())
    before = model._theta.copy()
    pairs = [(x.reshape(-1, 1), int(t)) for x, t in zip(overflowing(X)[:4], y[:4])]
    with pytest.raises(DivergenceError, match="NaN"):
        model.update_mini_batch(pairs, 3.0)
    assert_array_equal(model._theta, before)
    model.update_mini_batch([(x.reshape(-1, 1), int(t)) for x, t in zip(X[:4], y[:4])], 3.0)
    assert not np.array_equal(model._theta, before)  # still usable


def test_huge_eta_saturates_and_warns(data):
    X, y = data
    with pytest.warns(DivergenceWarning, match=r"epoch 0: \d+% of the output activations are saturated.*eta=1e\+06"):
        model = net().fit(X, y, epochs=2, eta=1e6)
    assert np.isfinite(model._theta).all()


def test_normal_training_does_not_warn(data, recwarn):
    X, y = data
    net().fit(X, y, epochs=3)
    assert not [w for w in recwarn if issubclass(w.category, DivergenceWarning)]


def test_overflowing_prediction_is_refused_not_nan(data):
    X, y = data
    model = arm(net())
    with pytest.raises(ValueError, match="not finite"):
        model.predict_proba(overflowing(X))
    with pytest.raises(ValueError, match="not finite"):
        model.feedforward(overflowing(X)[0])
    with pytest.raises(ValueError, match="not finite"):
        model.score(overflowing(X), y)


# -- exceptions leave consistent parameters ------------------------------------------------

def test_exception_in_callback_keeps_whole_epochs(data):
    X, y = data

    def boom(network, record):
        if record["epoch"] == 1:
            raise RuntimeError("callback failed")
    model = net()
    with pytest.raises(RuntimeError, match="callback failed"):
        model.fit(X, y, epochs=5, callback=boom)
    assert model.epochs_done_ == 2 and model.history_["epoch"] == [0, 1]
    assert_array_equal(model._theta, net().fit(X, y, epochs=2)._theta)
    model.fit(X, y, epochs=1)  # and the network trains on normally


@pytest.mark.parametrize("engine", ["reference", "matrix"])
def test_failed_store_changes_no_layer(engine, data, monkeypatch):
    """The NumPy engines write all layers in one assignment: an exception (or Ctrl-C)
    while storing cannot leave the first layer new and the second one old."""
    X, y = data
    model = net(engine)
    before = model._theta.copy()
    module = model._engine.module
    real = module.sgd_epoch

    def broken(*args, **kwargs):
        w, b = real(*args, **kwargs)
        return w[:1] + [np.zeros((2, 2))], b  # second layer malformed
    monkeypatch.setattr(module, "sgd_epoch", broken)
    with pytest.raises(ValueError):
        model.fit(X, y, epochs=1)
    assert_array_equal(model._theta, before)


class OneMiniBatchChunks(training.ChunkSizer):
    """Chunks of exactly one mini-batch: Python runs between every two mini-batches."""

    def __init__(self, mini_batch_size, target=0.2, first=512):
        super().__init__(mini_batch_size, target, first=mini_batch_size)

    def done(self):
        self.batches = 1


def ctrl_c_at(line):
    """A trace function that raises KeyboardInterrupt at the ``line``-th line executed in
    fastnn's code once training started (``Network._train``), as a Ctrl-C arriving there would
    (Python raises it between two bytecodes).  Returns (tracer, modules): the module of every
    line run (``line=0``: never interrupt)."""
    modules = []

    def local(frame, event, arg):
        if event == "line":
            modules.append(frame.f_globals["__name__"])
            if len(modules) == line:
                raise KeyboardInterrupt  # the trace is unset: a single interrupt
        return local

    def tracer(frame, event, arg):
        if not modules and frame.f_code.co_name == "_train":
            modules.append("armed")  # count from here on
        if modules and frame.f_globals.get("__name__", "").startswith("fastnn"):
            return local
        return None
    return tracer, modules


def fit_interrupted_at(engine, line, X, y):
    """Train with a Ctrl-C at ``line``; return (network, parameters after every finished chunk,
    modules of the lines run).

    A fixed thread count: with ``threads=None`` the run-time thread chooser takes a lock, and
    an exception injected at the line event of a ``with lock:`` block's exit (``return``
    inside the block) comes before ``__exit__`` and leaves the lock held (a limit of
    exceptions raised by a trace function, reported separately)."""
    model = net(engine, threads=1)
    states = [model._theta.copy()]
    real = model._engine.epoch

    depth = [0]  # the reference engine's epoch calls itself per mini-batch: record the outer call

    def recording(network, *args, **kwargs):  # test code: not traced, so never interrupted itself
        depth[0] += 1
        try:
            real(network, *args, **kwargs)
        finally:
            depth[0] -= 1
        if not depth[0]:
            states.append(network._theta.copy())
    model._engine.epoch = recording
    tracer, modules = ctrl_c_at(line)
    previous = sys.gettrace()  # e.g. coverage's tracer: put back afterwards
    sys.settrace(tracer)
    try:
        model.fit(X, y, epochs=2, mini_batch_size=2, lmbda=0.5)
    except KeyboardInterrupt:
        pass
    finally:
        sys.settrace(previous)
    return model, states, modules


@pytest.mark.parametrize("engine", ENGINES)
def test_ctrl_c_at_any_line_leaves_whole_mini_batches(engine, data, monkeypatch):
    """A Ctrl-C at every line fastnn runs while training (chunks of one mini-batch, 2 epochs):
    the parameters are always exactly those after a whole number of chunks, never some layers
    of a mini-batch's step without the others, and history_ holds the completed epochs.
    (Inside the NumPy references, which only compute on copies, every 5th line is enough.)"""
    X, y = data[0][:4], data[1][:4]
    monkeypatch.setattr(training, "ChunkSizer", OneMiniBatchChunks)
    _, boundaries, modules = fit_interrupted_at(engine, 0, X, y)
    assert len(boundaries) == 1 + 2 * 2  # the start and after each of 2 x 2 mini-batches
    lines = [i + 1 for i, m in enumerate(modules)
             if i and (not m.startswith("fastnn.reference") or i % 5 == 0)]
    for line in lines:
        model, states, _ = fit_interrupted_at(engine, line, X, y)
        assert_array_equal(states, boundaries[:len(states)])
        # the chunks that returned to the test, or one more (the interrupt came after the
        # engine's compiled call or store, before the test's wrapper saw it return)
        done = [k for k in (len(states) - 1, len(states))
                if k < len(boundaries) and np.array_equal(model._theta, boundaries[k])]
        assert done, f"Ctrl-C at line {line} ({modules[line - 1]}): not the parameters of whole chunks"
        assert len(model.history_["epoch"]) == model.epochs_done_ <= done[-1] // 2
