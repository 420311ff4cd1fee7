"""Training that goes wrong: divergence, overflow, exceptions and interrupts mid-training.

Divergence to NaN/inf raises DivergenceError naming the epoch and restores the
parameters of that epoch's start; saturation by a huge eta warns; exceptions
(callbacks, engines, Ctrl-C) never leave half-updated parameters.
"""
import numpy as np
import pytest
from numpy.testing import assert_array_equal

from fastnn import Network
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


@pytest.mark.parametrize("engine", ENGINES)
def test_keyboard_interrupt_inside_engine_leaves_whole_chunks(engine, data, monkeypatch):
    X, y = data
    model = net(engine)
    real = model._engine.epoch
    states = [model._theta.copy()]

    def interrupted(network, *args, **kwargs):
        real(network, *args, **kwargs)
        states.append(network._theta.copy())
        if len(states) == 3:
            raise KeyboardInterrupt
    monkeypatch.setattr(model._engine, "epoch", interrupted)
    with pytest.raises(KeyboardInterrupt):
        model.fit(X, y, epochs=50, mini_batch_size=1)
    assert model.interrupted_
    assert any(np.array_equal(model._theta, s) for s in states[-2:])
