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
