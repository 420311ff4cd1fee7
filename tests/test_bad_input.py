"""Every bad input of the core API raises a clear ValueError/TypeError."""
import numpy as np
import pytest

from fastnn import Network


@pytest.mark.parametrize("sizes, exc, match", [
    ([5], ValueError, "at least 2 layers"),
    ([], ValueError, "at least 2 layers"),
    ([5, 0, 2], ValueError, "must be positive"),
    ([5, -3], ValueError, "must be positive"),
    ([5, 2.5], TypeError, "integers"),
    ("784,30", TypeError, "list of layer sizes"),
    (7, TypeError, "list of layer sizes"),
])
def test_bad_sizes(sizes, exc, match):
    with pytest.raises(exc, match=match):
        Network(sizes)


@pytest.mark.parametrize("kwargs, exc, match", [
    ({"engine": "gpu"}, ValueError, "engine must be one of"),
    ({"dtype": "int32"}, TypeError, "dtype must be"),
    ({"cost": "hinge"}, ValueError, "cost must be one of"),
    ({"init": "zeros"}, ValueError, "init must be one of"),
])
def test_bad_options(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        Network([3, 2], **kwargs)


@pytest.fixture
def net():
    return Network([4, 3, 2], seed=0)


X_OK = np.zeros((6, 4))
Y_OK = np.array([0, 1, 0, 1, 1, 0])


@pytest.mark.parametrize("X, y, kwargs, exc, match", [
    (np.zeros((6, 5)), Y_OK, {}, ValueError, "has 5 features per sample, but the network expects 4"),
    (np.zeros(4), Y_OK[:1], {}, ValueError, "Expected 2D array"),
    (np.zeros((0, 4)), Y_OK[:0], {}, ValueError, "empty"),
    (np.full((6, 4), np.nan), Y_OK, {}, ValueError, "NaN or infinity"),
    (np.full((6, 4), np.inf), Y_OK, {}, ValueError, "NaN or infinity"),
    (X_OK, np.array([0, 1, 2, 0, 1, 0]), {}, ValueError, "labels outside 0..1"),
    (X_OK, np.array([0, 1, -1, 0, 1, 0]), {}, ValueError, "labels outside"),
    (X_OK, Y_OK[:5], {}, ValueError, "different numbers of samples: 6 and 5"),
    (X_OK, np.zeros((6, 3)), {}, ValueError, "targets of shape"),
    (X_OK, Y_OK, {"mini_batch_size": 0}, ValueError, "mini_batch_size must be >= 1"),
    (X_OK, Y_OK, {"mini_batch_size": 2.0}, TypeError, "mini_batch_size must be an integer"),
    (X_OK, Y_OK, {"epochs": -1}, ValueError, "epochs must be >= 0"),
    (X_OK, Y_OK, {"eta": 0.0}, ValueError, "eta must be > 0"),
    (X_OK, Y_OK, {"eta": float("nan")}, ValueError, "eta must be finite"),
    (X_OK.astype(object), Y_OK, {}, TypeError, "dtype object"),
    (X_OK.astype(complex), Y_OK, {}, TypeError, "complex"),
    (np.full((6, 4), "a"), Y_OK, {}, TypeError, "non-numeric"),
    (np.zeros((6, 4, 1)), Y_OK, {}, ValueError, "Expected 2D array"),
])
def test_bad_fit_arguments(net, X, y, kwargs, exc, match):
    before = [w.copy() for w in net.weights]
    with pytest.raises(exc, match=match):
        net.fit(X, y, **kwargs)
    for w, old in zip(net.weights, before):  # nothing changed on failure
        np.testing.assert_array_equal(w, old)


def test_ragged_list_input(net):
    with pytest.raises(ValueError, match="could not be converted"):
        net.predict([[1, 2, 3, 4], [1, 2]])


def test_feedforward_wrong_length(net):
    with pytest.raises(ValueError, match="feedforward expects a column of shape \\(4, 1\\)"):
        net.feedforward(np.zeros((5, 1)))
    with pytest.raises(ValueError, match="expects 4"):
        net.feedforward(np.zeros(3))


def test_book_data_errors(net):
    with pytest.raises(ValueError, match="training_data is empty"):
        net.SGD([], 1, 10, 3.0)
    with pytest.raises(ValueError, match="x has 3 values"):
        net.SGD([(np.zeros((3, 1)), np.zeros((2, 1)))], 1, 1, 3.0)
    with pytest.raises(ValueError, match="vector of 2 values"):
        net.SGD([(np.zeros((4, 1)), np.zeros((5, 1)))], 1, 1, 3.0)
    with pytest.raises(ValueError, match="not an \\(x, y\\) pair"):
        net.SGD([np.zeros(4)], 1, 1, 3.0)
    with pytest.raises(TypeError, match="list of \\(x, y\\) pairs"):
        net.SGD(42, 1, 1, 3.0)
    with pytest.raises(ValueError, match="labels outside"):
        net.evaluate([(np.zeros((4, 1)), 7)])


def test_bad_parameter_assignment(net):
    with pytest.raises(ValueError, match=r"weights\[0\] must have shape \(3, 4\)"):
        net.weights = [np.zeros((4, 3)), np.zeros((2, 3))]
    with pytest.raises(ValueError, match="must have 2 arrays"):
        net.biases = [np.zeros((3, 1))]
    net.weights[1] = np.full((2, 3), np.nan)
    with pytest.raises(ValueError, match=r"weights\[1\] contains NaN"):
        net.predict(X_OK)


# --------------------------------------------------------------------------- NaN/inf found while training
# The jit engine counts non-finite inputs as it trains, so fit does not scan X first; a NaN or inf
# must still give the same error, and leave the network as if fit had refused X at once.
def _trained_state(net):
    return (net._theta.copy(), net.rng.bit_generator.state, net.epochs_done_, dict(net.history_),
            net.fit_params_, getattr(net, "validation_accuracy_", None))


def _assert_same_state(net, state):
    theta, rng, epochs, history, params, val = state
    np.testing.assert_array_equal(net._theta, theta)
    assert net.rng.bit_generator.state == rng
    assert (net.epochs_done_, dict(net.history_), net.fit_params_) == (epochs, history, params)
    assert getattr(net, "validation_accuracy_", None) == val


@pytest.mark.parametrize("engine", ["jit", "matrix"])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("row", [0, 1234, 2999])
def test_a_bad_row_anywhere_gives_the_error_and_changes_nothing(engine, bad, row):
    rng = np.random.default_rng(3)
    X, y = rng.random((3000, 4)), rng.integers(0, 2, 3000)
    net = Network([4, 3, 2], seed=0, engine=engine)
    net.fit(X[:50], y[:50], epochs=1, mini_batch_size=10, eta=1.0)  # a trained state to keep
    state = _trained_state(net)
    good = X[row, 2]
    X[row, 2] = bad
    with pytest.raises(ValueError, match=r"^X contains NaN or infinity; clean or impute it first$"):
        net.fit(X, y, epochs=3, mini_batch_size=10, eta=1.0)
    _assert_same_state(net, state)
    # the refused call consumed no random numbers: the next fit is that of an untouched network
    X[row, 2] = good
    twin = Network([4, 3, 2], seed=0, engine=engine)
    twin.fit(X[:50], y[:50], epochs=1, mini_batch_size=10, eta=1.0)
    net.fit(X, y, epochs=1, mini_batch_size=10, eta=1.0)
    twin.fit(X, y, epochs=1, mini_batch_size=10, eta=1.0)
    np.testing.assert_array_equal(net._theta, twin._theta)


def test_a_bad_row_with_validation_data_and_a_new_network():
    X, y = np.random.default_rng(4).random((400, 4)), np.arange(400) % 2
    X[377, 0] = np.nan
    net = Network([4, 3, 2], seed=0)
    state = _trained_state(net)
    with pytest.raises(ValueError, match="X contains NaN or infinity"):
        net.fit(X, y, epochs=2, mini_batch_size=10, eta=1.0, validation_data=(X[:10], y[:10]))
    _assert_same_state(net, state)
    assert net.fit_params_ is None and not hasattr(net, "validation_accuracy_")


def test_no_epochs_still_refuses_bad_input():
    net = Network([4, 3, 2], seed=0)
    with pytest.raises(ValueError, match="X contains NaN or infinity"):
        net.fit(np.full((6, 4), np.nan), Y_OK, epochs=0)


def test_a_value_too_large_for_float32_is_named():
    X = np.zeros((60, 4))
    X[41, 1] = 1e39  # finite in float64, inf in float32
    net = Network([4, 3, 2], seed=0, dtype="float32")
    before = net._theta.copy()
    with pytest.raises(ValueError, match=r"X contains NaN or infinity.*values must also fit in float32"):
        net.fit(X, np.arange(60) % 2, epochs=1, mini_batch_size=10)
    np.testing.assert_array_equal(net._theta, before)


def test_finite_x_is_not_scanned_before_training(monkeypatch):
    """The jit engine's count replaces the scan of X (a full pass over it); the y checks stay."""
    from fastnn import _training_rows, _validation

    scans = []
    real = _validation._all_finite
    monkeypatch.setattr(_validation, "_all_finite", lambda X: scans.append(X.shape) or real(X))
    X = np.random.default_rng(5).random((200, 4))
    Network([4, 3, 2], seed=0).fit(X, np.arange(200) % 2, epochs=2, mini_batch_size=10)
    assert (200, 4) not in scans
    with pytest.raises(ValueError, match="y contains NaN"):
        Network([4, 3, 2], seed=0).fit(X, np.r_[np.nan, np.ones(199)], epochs=1)
    # a finite X whose weighted inputs overflow is scanned once, then trains as before
    data = _training_rows.InMemoryRows(X, np.zeros((200, 2)), unchecked=("X", False))
    data._nonfinite(guard=None)
    assert data.unchecked is None and not data.found_nonfinite and scans[-1] == (200, 4)


def test_overflowing_finite_inputs_are_not_called_nan():
    X = np.full((40, 4), 1e308)
    net = Network([4, 3, 2], seed=0)
    try:
        net.fit(X, np.arange(40) % 2, epochs=1, mini_batch_size=10)
    except ValueError as exc:  # a DivergenceError is a ValueError too; it must not blame X
        assert "X contains NaN" not in str(exc), exc
    assert np.isfinite(net._theta).all()
