"""fastnn._guards one rule at a time: the saturation warning, the threading-layer lock, and
warnings that name the user's line (the training-level behaviour is in test_divergence.py)."""
import warnings

import numpy as np
import pytest

from fastnn import LinearRegression, Network, Perceptron, _guards
from fastnn.exceptions import ConvergenceWarning, DivergenceWarning, UnscaledInputWarning
from fastnn.sklearn import MLPClassifier


def guard():
    return _guards.ParameterGuard(np.zeros(3))


def saturation_warnings(outputs, g=None):
    g = g or guard()
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("error")  # a RuntimeWarning (mean of nothing) fails the test
        warnings.simplefilter("always", DivergenceWarning)
        g.warn_if_saturated(np.asarray(outputs, dtype=float), epoch=0, eta=1.0)
    return [w for w in rec if issubclass(w.category, DivergenceWarning)]


@pytest.mark.parametrize("outputs", [[1.0, 1.0, 0.3], [0.0, 0.0, 0.7], [0.0, 1.0], [1.0], [0.0]],
                         ids=["ones", "zeros", "both", "one-one", "one-zero"])
def test_a_majority_saturated_at_either_end_warns(outputs):
    assert len(saturation_warnings(outputs)) == 1


def test_exactly_the_limit_warns_and_just_below_does_not():
    assert _guards.SATURATION_LIMIT == 0.5
    assert len(saturation_warnings([1.0, 0.5])) == 1  # 50% saturated
    assert saturation_warnings([1.0, 0.5, 0.5]) == []  # 33%


@pytest.mark.parametrize("outputs", [[0.5, 0.999999, 1e-9], np.empty((0, 3))], ids=["inside", "empty"])
def test_unsaturated_or_empty_outputs_do_not_warn(outputs):
    assert saturation_warnings(outputs) == []


def test_the_saturation_warning_comes_once_per_guard():
    g = guard()
    assert len(saturation_warnings([1.0, 1.0], g)) == 1
    assert saturation_warnings([1.0, 1.0], g) == []


def test_the_threading_layer_is_numbas(monkeypatch):
    import numba

    monkeypatch.setattr(_guards, "_layer", None)
    assert _guards._threading_layer() == numba.threading_layer()


def test_a_failing_layer_query_assumes_the_unsafe_layer(monkeypatch):
    import numba

    def broken():
        raise RuntimeError("no threading layer")

    monkeypatch.setattr(_guards, "_layer", None)
    monkeypatch.setattr(numba, "threading_layer", broken)
    assert _guards._threading_layer() == "unknown"


@pytest.mark.parametrize("layer, locked", [("omp", False), ("tbb", False), ("workqueue", True),
                                           ("unknown", True)])
def test_parallel_sections_lock_only_on_unsafe_layers(monkeypatch, layer, locked):
    monkeypatch.setattr(_guards, "_layer", layer)
    with _guards.parallel_section():
        assert _guards._WORKQUEUE_LOCK.locked() == locked
    assert not _guards._WORKQUEUE_LOCK.locked()


# -- a warning points at the line of the user's code that caused it -------------------------

@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(3)
    X = rng.random((60, 4))
    return X, (X[:, 0] > X[:, 1]).astype(int)


def book_sgd(X, y):
    pairs = [(x.reshape(-1, 1), np.eye(2)[t].reshape(-1, 1)) for x, t in zip(X, y)]
    Network([4, 3, 2], seed=0).SGD(pairs, 1, 10, 1e6)


CALLS = {
    "Network.fit": (DivergenceWarning, lambda X, y: Network([4, 3, 2], seed=0).fit(X, y, epochs=1, eta=1e6)),
    "Network.SGD": (DivergenceWarning, book_sgd),
    "MLPClassifier.fit": (DivergenceWarning, lambda X, y: MLPClassifier((3,), epochs=1, eta=1e6).fit(X, y)),
    "uint8 input": (UnscaledInputWarning,
                    lambda X, y: Network([4, 2], seed=0).fit((X * 255).astype(np.uint8), y, epochs=1)),
    "LinearRegression": (ConvergenceWarning,
                         lambda X, y: LinearRegression(solver="gd", max_iter=1).fit(X, X[:, 0])),
    "Perceptron": (ConvergenceWarning,
                   lambda X, y: Perceptron(np.zeros(4)).fit(X, np.arange(len(X)) % 2, max_epochs=1)),
}


@pytest.mark.parametrize("name", CALLS)
def test_warnings_name_the_callers_line(name, data, capsys):
    category, call = CALLS[name]
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        call(*data)
    ours = [w for w in rec if issubclass(w.category, category)]
    assert ours, f"no {category.__name__}"
    assert all(w.filename == __file__ for w in ours), [(w.filename, w.lineno) for w in ours]
