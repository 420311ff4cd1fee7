"""The helpers with one home: the checks of _validation (choices, flags, hidden sizes) and the
progress bars of _progress, as every estimator and the sweep use them."""
import io

import numpy as np
import pytest

from fastnn import _progress
from fastnn._validation import check_choice, check_flag, check_hidden_sizes


@pytest.mark.parametrize("value, allow_int, expected", [
    ((32, 32), False, (32, 32)), ([8], False, (8,)), ((), False, ()), (np.array([3, 4]), False, (3, 4)),
    (30, True, (30,)), (np.int64(5), True, (5,)),
])
def test_hidden_sizes_accepted(value, allow_int, expected):
    got = check_hidden_sizes(value, allow_int=allow_int)
    assert got == expected and all(type(s) is int for s in got)


@pytest.mark.parametrize("value, allow_int, error, message", [
    (30, False, TypeError, r"must be a tuple of layer sizes such as \(30,\), got 30"),
    ("30", True, TypeError, r"such as \(30,\) or an int, got '30'"),
    (True, True, TypeError, "must be a tuple"),
    ((30, 2.5), False, TypeError, r"must contain integers, got 2.5 in \[30, 2.5\]"),
    ((30, True), False, TypeError, "must contain integers"),
    ((30, 0), False, ValueError, r"entries must be >= 1 \(positive layer sizes\), got 0"),
])
def test_hidden_sizes_refused(value, allow_int, error, message):
    with pytest.raises(error, match=message):
        check_hidden_sizes(value, allow_int=allow_int)


def test_choice_and_flag():
    assert check_choice("gd", "solver", ("gd", "sgd")) == "gd"
    with pytest.raises(ValueError, match=r"solver must be one of \['gd', 'sgd'\], got 'GD'"):
        check_choice("GD", "solver", ("gd", "sgd"))
    with pytest.raises(ValueError, match="got 1"):
        check_choice(1, "solver", ("gd",))
    assert check_flag(np.bool_(True), "shuffle") is True and check_flag(False, "shuffle") is False
    with pytest.raises(TypeError, match="shuffle must be True or False, got 1"):
        check_flag(1, "shuffle")


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_only_on_a_terminal(monkeypatch):
    assert not _progress.progress_enabled(True, io.StringIO())
    assert not _progress.progress_enabled(False, _Terminal())
    assert _progress.progress_enabled(True, _Terminal())
    monkeypatch.setattr("sys.stderr", io.StringIO())
    for bar in (_progress.make_progress(True, 10), _progress.make_bar(True, 10, unit="config"),
                _progress.EpochBar(True, 2, 5).bar):
        assert isinstance(bar, _progress.NoBar)


def test_epoch_bar_on_a_terminal(monkeypatch):
    err = _Terminal()
    monkeypatch.setattr("sys.stderr", err)
    bar = _progress.EpochBar(True, epochs=2, n_samples=500)
    assert bar.update(None, {"training_cost": 0.25}) is False
    bar.update(None, {"training_cost": 0.125})
    bar.close()
    assert "1.00k/1.00k" in err.getvalue() and "cost=0.1250" in err.getvalue()
    sweep_bar = _progress.make_bar(True, 4, initial=1, unit="config")
    sweep_bar.update(1)
    sweep_bar.close()
    assert "2/4" in err.getvalue() and "config" in err.getvalue()
