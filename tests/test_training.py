"""Training experience: history_, progress bar, checkpoints/resume, Ctrl-C, and the stopping
rule (fastnn.training.PlateauRule).  The command line's training: tests/test_cli.py; the
learning curves: tests/test_plot.py."""
import io
import sys

import numpy as np
import pytest

from fastnn import Network, training
from fastnn.training import PlateauRule


@pytest.fixture
def data(digits_split):
    X_tr, y_tr, X_te, y_te = digits_split
    return X_tr[:600], y_tr[:600], X_te[:200], y_te[:200]


def new_net(seed=0, **kw):
    return Network([64, 16, 10], seed=seed, cost="cross-entropy", init="default", **kw)


FIT = dict(mini_batch_size=10, eta=0.5, lmbda=1.0)


def without_seconds(history):
    return {k: v for k, v in history.items() if k != "seconds"}


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


class SmallChunks(training.ChunkSizer):
    """Fixed chunks of 3 mini-batches (many compiled calls per epoch)."""

    def __init__(self, mini_batch_size, target=0.2, first=512):
        super().__init__(mini_batch_size, target, first=3 * mini_batch_size)

    def done(self):
        self.batches = 3


# -- history --------------------------------------------------------------------------------

def test_history_records_every_epoch(data):
    X, y, X_val, y_val = data
    net = new_net().fit(X, y, epochs=3, validation_data=(X_val, y_val), training_metrics="exact", **FIT)
    h = net.history_
    assert set(h) == set(training.HISTORY_KEYS)
    assert h["epoch"] == [0, 1, 2] and h["eta"] == [0.5] * 3
    assert all(s > 0 for s in h["seconds"])
    assert h["validation_accuracy"] == net.validation_accuracy_
    assert h["validation_accuracy"][-1] == net.score(X_val, y_val)
    assert h["training_accuracy"][-1] == net.score(X, y)
    assert h["training_cost"][-1] == pytest.approx(net.total_cost((X, y), 1.0), rel=1e-12)
    assert h["validation_cost"][-1] == pytest.approx(net.total_cost((X_val, y_val), 1.0), rel=1e-12)
    net.fit(X, y, epochs=2, **FIT)  # continues: epochs 3, 4 without validation
    assert net.history_["epoch"] == [0, 1, 2, 3, 4] and net.epochs_done_ == 5
    assert net.history_["validation_accuracy"][3:] == [None, None]


def test_chunked_epochs_equal_one_call_per_epoch(data, monkeypatch):
    X, y, _, _ = data
    monkeypatch.setattr(training, "ChunkSizer", SmallChunks)
    net = new_net().fit(X, y, epochs=2, **FIT)
    twin = new_net()
    Y = np.eye(10)[y]
    for _ in range(2):
        twin._engine.epoch(twin, X, Y, twin.rng.permutation(len(X)), 10, 0.5, 1.0, len(X))
    np.testing.assert_array_equal(net._theta, twin._theta)


# -- progress bar -----------------------------------------------------------------------------

def test_progress_bar_on_a_terminal(data, monkeypatch):
    X, y, X_val, y_val = data
    fake = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", fake)
    new_net().fit(X, y, epochs=2, validation_data=(X_val, y_val), progress=True, **FIT)
    text = fake.getvalue()
    # epochs numbered as fastnn train prints them (the book's "Epoch 0" first)
    assert "sample/s" in text and "epoch 0" in text and "epoch 1" in text and "acc=" in text
    assert "epoch 2" not in text
    assert "1.20k/1.20k" in text  # 2 epochs x 600 samples


@pytest.mark.parametrize("progress, terminal", [(False, True), (True, False)])
def test_no_progress_bar(data, monkeypatch, progress, terminal):
    X, y, _, _ = data
    stream = FakeTerminal() if terminal else io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    a = new_net().fit(X, y, epochs=1, progress=progress, **FIT)
    assert stream.getvalue() == ""
    b = new_net().fit(X, y, epochs=1, progress=False, **FIT)
    np.testing.assert_array_equal(a._theta, b._theta)


def test_chunk_sizer_covers_the_epoch_in_whole_mini_batches():
    sizer = training.ChunkSizer(7, target=1e-9, first=30)
    seen = []
    for start, stop in sizer.chunks(100):
        seen.append((start, stop))
        sizer.done()
    assert seen[0] == (0, 35) and seen[-1][1] == 100
    assert all(b == c for (_, b), (c, _) in zip(seen, seen[1:]))
    assert all((stop - start) % 7 == 0 for start, stop in seen[:-1])



# -- checkpoints and resume ---------------------------------------------------------------------

@pytest.mark.parametrize("schedule", [0, 1])
def test_resume_is_bit_identical(data, tmp_path, schedule):
    X, y, X_val, y_val = data
    kw = dict(FIT, validation_data=(X_val, y_val), eta_schedule_n=schedule)
    full = new_net().fit(X, y, epochs=5, checkpoint=tmp_path / "full.npz", **kw)
    part = tmp_path / "part.npz"
    new_net().fit(X, y, epochs=2, checkpoint=part, **kw)
    loaded = Network.load(part)
    assert loaded.epochs_done_ == 2
    loaded.fit(X, y, epochs=5, checkpoint=part, resume=True, **kw)
    np.testing.assert_array_equal(loaded._theta, full._theta)
    assert without_seconds(loaded.history_) == without_seconds(full.history_)
    assert loaded.rng.bit_generator.state == full.rng.bit_generator.state
    fresh = new_net(seed=99).fit(X, y, epochs=5, checkpoint=part, resume=True, **kw)  # loads the file
    np.testing.assert_array_equal(fresh._theta, full._theta)
    np.testing.assert_array_equal(Network.load(part)._theta, full._theta)


# every setting fit() refuses to change on resume, with a changed value
RESUME_CHANGES = [("mini_batch_size", 20), ("eta", 0.25), ("lmbda", 2.0), ("early_stopping_n", 3),
                  ("eta_schedule_n", 2), ("n_train", None)]


@pytest.mark.parametrize("setting, value", RESUME_CHANGES)
def test_resume_refuses_each_changed_setting(data, tmp_path, setting, value):
    X, y, X_val, y_val = data
    path = tmp_path / "ck.npz"
    saved = dict(FIT, validation_data=(X_val, y_val), early_stopping_n=5, eta_schedule_n=4)
    new_net().fit(X, y, epochs=1, checkpoint=path, **saved)
    before = Network.load(path)._theta
    now = dict(saved)
    X_now, y_now = (X[:-10], y[:-10]) if setting == "n_train" else (X, y)
    if value is not None:
        now[setting] = value
    net = new_net()
    with pytest.raises(ValueError, match=rf"cannot resume .*'{setting}'"):
        net.fit(X_now, y_now, epochs=2, checkpoint=path, resume=True, **now)
    assert net.epochs_done_ == 1  # loaded, refused before training anything
    np.testing.assert_array_equal(Network.load(path)._theta, before)
    new_net().fit(X, y, epochs=2, checkpoint=path, resume=True, **saved)  # unchanged: resumes


def test_resume_checks_settings(data, tmp_path):
    X, y, _, _ = data
    path = tmp_path / "ck.npz"
    new_net().fit(X, y, epochs=1, checkpoint=path, **FIT)
    with pytest.raises(ValueError, match="checkpoint"):
        new_net().fit(X, y, epochs=2, resume=True, **FIT)
    with pytest.raises(ValueError, match="sizes"):
        Network([64, 17, 10], seed=0, cost="cross-entropy").fit(X, y, epochs=2, checkpoint=path,
                                                                 resume=True, **FIT)


# -- Ctrl-C -------------------------------------------------------------------------------------

def test_interrupt_mid_epoch_keeps_a_consistent_state(data, tmp_path, monkeypatch):
    X, y, X_val, y_val = data
    monkeypatch.setattr(training, "ChunkSizer", SmallChunks)
    ck = tmp_path / "ck.npz"
    net = new_net()
    engine_epoch = net._engine.epoch
    calls = []

    def epoch_then_signal(*args, **kwargs):
        engine_epoch(*args, **kwargs)  # a compiled call always completes ...
        calls.append(len(args[3]))
        if len(calls) == 25:  # ... and Python sees the signal after it: 150 samples into epoch 2
            raise KeyboardInterrupt

    monkeypatch.setattr(net._engine, "epoch", epoch_then_signal)
    with pytest.raises(KeyboardInterrupt):
        net.fit(X, y, epochs=5, validation_data=(X_val, y_val), checkpoint=ck, **FIT)
    assert net.interrupted_ and net.epochs_done_ == 1
    assert all(len(v) == 1 for v in net.history_.values())
    # parameters = epoch 1 plus exactly the mini-batches of the completed chunks of epoch 2
    twin = new_net()
    Y = np.eye(10)[y]
    twin._engine.epoch(twin, X, Y, twin.rng.permutation(len(X)), 10, 0.5, 1.0, len(X))
    twin._engine.epoch(twin, X, Y, twin.rng.permutation(len(X))[:sum(calls[20:])], 10, 0.5, 1.0, len(X))
    np.testing.assert_array_equal(net._theta, twin._theta)
    # the checkpoint holds epoch 1, and resuming from it gives the uninterrupted result
    monkeypatch.undo()
    resumed = Network.load(ck).fit(X, y, epochs=3, validation_data=(X_val, y_val), checkpoint=ck,
                                   resume=True, **FIT)
    full = new_net().fit(X, y, epochs=3, validation_data=(X_val, y_val), **FIT)
    np.testing.assert_array_equal(resumed._theta, full._theta)


def test_interrupt_between_epochs_from_a_callback(data):
    X, y, _, _ = data

    def stop_after_two(net, record):
        if record["epoch"] == 1:
            raise KeyboardInterrupt

    net = new_net()
    with pytest.raises(KeyboardInterrupt):
        net.fit(X, y, epochs=10, callback=stop_after_two, **FIT)
    assert net.epochs_done_ == 2 and net.history_["epoch"] == [0, 1] and net.interrupted_
    np.testing.assert_array_equal(net._theta, new_net().fit(X, y, epochs=2, **FIT)._theta)


def test_callback_returning_true_stops(data):
    X, y, _, _ = data
    net = new_net().fit(X, y, epochs=10, callback=lambda net, rec: rec["epoch"] == 2, **FIT)
    assert net.epochs_done_ == 3 and not net.interrupted_


def test_chunk_size_stays_bounded_when_chunks_are_instant(monkeypatch):
    """Regression: instant chunks grew the size 4x per call until int(inf) raised OverflowError."""
    import itertools
    import types

    from fastnn import training
    sizer = training.ChunkSizer(10)
    ticks = itertools.count()  # every chunk "takes" 1 ns
    monkeypatch.setattr(training, "time", types.SimpleNamespace(perf_counter=lambda: next(ticks) * 1e-9))
    for _ in range(2000):  # 2000 epochs of 95 samples
        chunks = list(_drain(sizer, 95))
        assert chunks[0][0] == 0 and chunks[-1][1] == 95
    assert sizer.batches == 10  # one epoch (ceil(95 / 10) mini-batches), not 4**2000


def _drain(sizer, n):
    for start, stop in sizer.chunks(n):
        sizer.done()
        yield start, stop


# -- the stopping rule (PlateauRule) --------------------------------------------------------

def test_plateau_rule_early_stopping():
    rule = PlateauRule(1.0, early_stopping_n=2)
    stops = [rule.update(a) for a in [0.5, 0.6, 0.6, 0.7, 0.65, 0.7]]
    assert stops == [False, False, False, False, False, True]
    assert rule.stopped == "early stopping" and rule.eta == 1.0


def test_plateau_rule_schedule_halves_then_stops_at_eta_over_128():
    rule = PlateauRule(0.5, eta_schedule_n=2)
    etas = []
    for a in [0.9] + [0.1] * 30:
        if rule.update(a):
            break
        etas.append(rule.eta)
    assert rule.stopped == "eta schedule"
    assert rule.eta == 0.5 / 128
    # halved after every 2nd non-improving epoch: 1 + 2*7 accuracies were seen
    assert len(etas) == 1 + 2 * 7 - 1
    assert sorted(set(etas), reverse=True) == [0.5 / 2 ** k for k in range(7)]
    assert PlateauRule.from_state(rule.state()).state() == rule.state()
