"""network.py's surface: names, shapes, data formats and printing."""
import numpy as np
import pytest

from fastnn import Network
from conftest import max_param_diff


def book_data(X, y, n_classes=10):
    """Like mnist_loader.load_data_wrapper: one-hot columns for training, ints for testing."""
    training = [(x.reshape(-1, 1), np.eye(n_classes)[t].reshape(-1, 1)) for x, t in zip(X, y)]
    test = [(x.reshape(-1, 1), int(t)) for x, t in zip(X, y)]
    return training, test


def test_attributes_and_shapes():
    net = Network([6, 4, 3], seed=0)
    assert net.num_layers == 3 and net.sizes == [6, 4, 3]
    assert [w.shape for w in net.weights] == [(4, 6), (3, 4)]
    assert [b.shape for b in net.biases] == [(4, 1), (3, 1)]


def test_initialisation_is_standard_normal_and_seeded():
    a, b = Network([100, 50, 10], seed=5), Network([100, 50, 10], seed=5)
    assert max_param_diff(a, b) == 0.0
    assert max_param_diff(a, Network([100, 50, 10], seed=6)) > 0
    w = np.concatenate([w.ravel() for w in a.weights])
    assert abs(w.mean()) < 0.05 and abs(w.std() - 1) < 0.05


@pytest.mark.parametrize("engine", ["jit", "reference", "matrix"])
def test_feedforward_shapes(engine):
    net = Network([6, 4, 3], seed=0, engine=engine)
    col = np.linspace(0, 1, 6).reshape(6, 1)
    assert net.feedforward(col).shape == (3, 1)
    np.testing.assert_allclose(net.feedforward(col.ravel()), net.feedforward(col).ravel())
    cols = np.random.default_rng(0).random((6, 5))
    out = net.feedforward(cols)
    assert out.shape == (3, 5)
    np.testing.assert_allclose(out[:, 2:3], net.feedforward(cols[:, 2:3]), atol=1e-15)


def test_book_script_prints_like_network_py(digits, capsys):
    X, y = digits
    training_data, test_data = book_data(X[:300], y[:300])
    net = Network([64, 30, 10], seed=0)
    net.SGD(training_data, 2, 10, 3.0, test_data=test_data)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    for j, line in enumerate(lines):
        prefix, count = line.split(": ")
        assert prefix == f"Epoch {j}"
        correct, total = count.split(" / ")
        assert total == "300" and 0 <= int(correct) <= 300
    assert int(lines[-1].split(": ")[1].split(" / ")[0]) == net.evaluate(test_data)


def test_sgd_without_test_data_prints_complete(digits, capsys):
    X, y = digits
    training_data, _ = book_data(X[:50], y[:50])
    Network([64, 10], seed=0).SGD(training_data, 2, 10, 3.0)
    assert capsys.readouterr().out.splitlines() == ["Epoch 0 complete", "Epoch 1 complete"]


def test_zip_list_and_array_inputs_train_identically(digits):
    X, y = digits
    training_data, _ = book_data(X[:200], y[:200])
    nets = [Network([64, 20, 10], seed=2) for _ in range(3)]
    nets[0].SGD(training_data, 1, 10, 3.0)
    nets[1].SGD(zip([x for x, _ in training_data], [t for _, t in training_data]), 1, 10, 3.0)
    nets[2].SGD((X[:200], y[:200]), 1, 10, 3.0)
    assert max_param_diff(nets[0], nets[1]) == 0.0
    assert max_param_diff(nets[0], nets[2]) == 0.0


def test_evaluate_counts_argmax_matches(digits):
    X, y = digits
    _, test_data = book_data(X[:100], y[:100])
    net = Network([64, 30, 10], seed=0)
    net.fit(X[:1000], y[:1000], epochs=3)
    expected = sum(int(np.argmax(net.feedforward(x)) == t) for x, t in test_data)
    assert net.evaluate(test_data) == expected
    assert isinstance(net.evaluate(test_data), int)
    assert net.score(X[:100], y[:100]) == expected / 100


def test_cost_derivative_is_a_minus_y():
    net = Network([2, 2], seed=0)
    np.testing.assert_array_equal(net.cost_derivative(np.array([[0.5], [0.25]]), np.array([[1.0], [0.0]])),
                                  np.array([[-0.5], [0.25]]))


def test_backprop_returns_book_shapes():
    net = Network([5, 4, 3], seed=0)
    nabla_b, nabla_w = net.backprop(np.ones((5, 1)), np.eye(3)[:, [1]])
    assert [b.shape for b in nabla_b] == [(4, 1), (3, 1)]
    assert [w.shape for w in nabla_w] == [(4, 5), (3, 4)]


def test_fit_predict_with_one_hot_labels(digits):
    X, y = digits
    a, b = Network([64, 10], seed=1), Network([64, 10], seed=1)
    assert a.fit(X[:300], y[:300], epochs=1) is a
    b.fit(X[:300], np.eye(10)[y[:300]], epochs=1)
    assert max_param_diff(a, b) == 0.0
    assert a.predict(X[:7]).shape == (7,)
    assert a.predict_proba(X[:7]).shape == (7, 10)


def test_validation_accuracy_recorded(digits):
    X, y = digits
    net = Network([64, 30, 10], seed=0).fit(X[:500], y[:500], epochs=2, validation_data=(X[500:700], y[500:700]))
    assert len(net.validation_accuracy_) == 2
    assert net.validation_accuracy_[-1] == net.score(X[500:700], y[500:700])


def test_pickled_network_keeps_views_and_trains_identically(digits):
    import pickle
    X, y = digits
    net = Network([64, 20, 10], seed=3).fit(X[:200], y[:200], epochs=1)
    net.weights[0] = net.weights[0] * 0.5  # a pending user edit travels too
    clone = pickle.loads(pickle.dumps(net))
    assert np.shares_memory(clone.weights[0], clone._theta)
    assert max_param_diff(net, clone) == 0.0
    net.fit(X[200:400], y[200:400], epochs=1)
    clone.fit(X[200:400], y[200:400], epochs=1)
    assert max_param_diff(net, clone) == 0.0
    clone.biases[1][:] = 0.0  # edits of the clone's lists reach its buffer
    assert np.all(clone._theta[clone._b_off[1]:clone._b_off[1] + 10] == 0.0)
