"""Training cost and accuracy measured in the epoch's own forward passes (``training_metrics``).

The oracle is a direct computation with the book's per-sample NumPy code: walk
the same mini-batches in the same order, feed each mini-batch forward *before*
its step, and add up network2.py's cost of every output.
"""
import numpy as np
import pytest

from fastnn import Network
from fastnn.reference import network_np

SIZES = [64, 15, 10]
FIT = dict(epochs=1, mini_batch_size=7, eta=0.5)  # 7 does not divide the 300 samples


@pytest.fixture
def data(digits_split):
    X, y, _, _ = digits_split
    return X[:300], y[:300]


def book_cost(a, y, cost):
    """network2.py's QuadraticCost.fn / CrossEntropyCost.fn for one column pair."""
    if cost == "quadratic":
        return 0.5 * np.linalg.norm(a - y) ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.sum(np.nan_to_num(-y * np.log(a) - (1 - y) * np.log(1 - a)))


def direct_running_metrics(X, y, cost, lmbda, seed):
    """(mean cost + L2 term with the final weights, accuracy) computed sample by sample."""
    twin = Network(SIZES, seed=seed, engine="reference", cost=cost)
    weights, biases = twin.weights, twin.biases
    order = twin.rng.permutation(len(X))  # the order fit draws next
    Y = np.eye(10)[y]
    total, correct = 0.0, 0
    mb = FIT["mini_batch_size"]
    for k in range(0, len(order), mb):
        batch = [(X[i].reshape(-1, 1), Y[i].reshape(-1, 1)) for i in order[k:k + mb]]
        for (x, t), i in zip(batch, order[k:k + mb]):
            a = network_np.feedforward(weights, biases, x)
            total += book_cost(a, t, cost)
            correct += int(np.argmax(a) == y[i])
        weights, biases = network_np.update_mini_batch(weights, biases, batch, FIT["eta"], lmbda,
                                                       len(X), cost)
    l2 = 0.5 * (lmbda / len(X)) * sum(np.linalg.norm(w) ** 2 for w in weights)
    return total / len(X) + l2, correct / len(X)


@pytest.mark.parametrize("engine", ["jit", "reference", "matrix"])
@pytest.mark.parametrize("cost, lmbda", [("quadratic", 0.0), ("cross-entropy", 2.0)])
def test_running_metrics_equal_a_direct_computation(data, engine, cost, lmbda):
    X, y = data
    net = Network(SIZES, seed=3, engine=engine, cost=cost).fit(X, y, lmbda=lmbda, **FIT)
    expected_cost, expected_accuracy = direct_running_metrics(X, y, cost, lmbda, seed=3)
    assert net.history_["training_cost"][0] == pytest.approx(expected_cost, rel=1e-10)
    assert net.history_["training_accuracy"][0] == expected_accuracy


def test_running_metrics_describe_the_epoch_not_its_end(data):
    # a first epoch from random weights: the running accuracy (mostly made before the
    # network learned) is below the end-of-epoch accuracy that "exact" measures
    X, y = data
    running = Network(SIZES, seed=0).fit(X, y, epochs=1, mini_batch_size=10, eta=3.0)
    exact = Network(SIZES, seed=0).fit(X, y, epochs=1, mini_batch_size=10, eta=3.0, training_metrics="exact")
    np.testing.assert_array_equal(running._theta, exact._theta)  # the option never changes training
    assert running.history_["training_accuracy"][0] < exact.history_["training_accuracy"][0]
    assert exact.history_["training_accuracy"][0] == exact.score(X, y)


def test_running_metrics_in_float32_match_float64(data):
    X, y = data
    nets = [Network(SIZES, seed=1, dtype=dt).fit(X, y, **FIT) for dt in ("float64", "float32")]
    h64, h32 = (n.history_ for n in nets)
    assert h32["training_cost"][0] == pytest.approx(h64["training_cost"][0], rel=1e-4)
    assert abs(h32["training_accuracy"][0] - h64["training_accuracy"][0]) <= 2 / len(X)


def test_training_metrics_none_records_nothing(data):
    X, y = data
    net = Network(SIZES, seed=0).fit(X, y, epochs=2, training_metrics="none")
    assert net.history_["training_cost"] == [None, None]
    assert net.history_["training_accuracy"] == [None, None]


@pytest.mark.parametrize("bad", ["fast", None, 1])
def test_bad_training_metrics_raise(data, bad):
    X, y = data
    with pytest.raises(ValueError, match="training_metrics"):
        Network(SIZES, seed=0).fit(X, y, epochs=1, training_metrics=bad)
