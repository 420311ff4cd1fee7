"""fastnn.Network as the book's two programs: network2.py's surface (chapter 3: costs, L2
decay, SGD monitoring, early stopping, eta schedule), then network.py's (chapter 1: names,
shapes, data formats and printing).

Tolerances: jit vs the per-sample NumPy reference after one epoch of 1,200
digits <= EPOCH_TOL (1e-9, conftest); finite differences of the cross-entropy
cost agree with backprop to 1e-6 (relative, central differences, h = 1e-6);
costs vs a per-sample port of network2.py's total_cost to 1e-12 (relative).
"""
import numpy as np
import pytest
from conftest import EPOCH_TOL, STEP_TOL, max_param_diff

from fastnn import Network
from fastnn.reference import network_np

N_TRAIN = 1200


def book_pairs(X, y, one_hot):
    """Book-format data: (x column, one-hot column) or (x column, int label)."""
    if one_hot:
        return [(x.reshape(-1, 1), np.eye(10)[t].reshape(-1, 1)) for x, t in zip(X, y)]
    return [(x.reshape(-1, 1), int(t)) for x, t in zip(X, y)]


def book_total_cost(net, data, lmbda, convert):
    """network2.py's total_cost, sample by sample (independent of fastnn.training)."""
    cost = 0.0
    for x, y in data:
        a = net.feedforward(x)
        if convert:
            y = np.eye(10)[y].reshape(-1, 1)
        if net.cost == "quadratic":
            c = 0.5 * np.linalg.norm(a - y) ** 2
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                c = np.sum(np.nan_to_num(-y * np.log(a) - (1 - y) * np.log(1 - a)))
        cost += c / len(data)
    return cost + 0.5 * (lmbda / len(data)) * sum(np.linalg.norm(w) ** 2 for w in net.weights)


@pytest.mark.parametrize("cost", ["quadratic", "cross-entropy"])
@pytest.mark.parametrize("lmbda", [0.0, 5.0])
def test_jit_matches_reference_after_an_epoch(digits, cost, lmbda):
    X, y = digits
    nets = [Network([64, 30, 10], seed=3, engine=e, cost=cost, init="default") for e in ("jit", "reference")]
    for net in nets:
        net.fit(X[:N_TRAIN], y[:N_TRAIN], epochs=1, mini_batch_size=10, eta=0.5, lmbda=lmbda)
    assert np.max(np.abs(nets[0]._theta - nets[1]._theta)) <= EPOCH_TOL
    # the comparison is not vacuous: the epoch moved the parameters far beyond the tolerance ...
    untrained = Network([64, 30, 10], seed=3, init="default")._theta
    assert np.max(np.abs(nets[0]._theta - untrained)) > 1e3 * EPOCH_TOL
    if lmbda:
        # ... and the decay (1 - eta lmbda / n per step, eq. 93) did too: the same epoch
        # without it ends elsewhere, with larger weights
        plain = Network([64, 30, 10], seed=3, cost=cost, init="default").fit(
            X[:N_TRAIN], y[:N_TRAIN], epochs=1, mini_batch_size=10, eta=0.5, lmbda=0.0)
        assert np.max(np.abs(nets[0]._theta - plain._theta)) > 1e3 * EPOCH_TOL
        assert sum(np.sum(w ** 2) for w in nets[0].weights) < sum(np.sum(w ** 2) for w in plain.weights)


def test_lmbda_changes_the_result(digits):
    X, y = digits
    a, b = (Network([64, 30, 10], seed=0, cost="cross-entropy") for _ in range(2))
    a.fit(X[:500], y[:500], epochs=1, eta=0.5, lmbda=0.0)
    b.fit(X[:500], y[:500], epochs=1, eta=0.5, lmbda=5.0)
    assert np.sum(b.weights[0] ** 2) < np.sum(a.weights[0] ** 2)


@pytest.mark.parametrize("engine", ["jit", "reference"])
def test_cross_entropy_gradient_matches_finite_differences(digits, engine):
    X, y = digits
    net = Network([64, 12, 10], seed=5, engine=engine, cost="cross-entropy", init="default")
    x, t = X[7], np.eye(10)[y[7]]
    nabla_b, nabla_w = net.backprop(x.reshape(-1, 1), t.reshape(-1, 1))
    flat = net._flatten(nabla_w, nabla_b)

    def cost():
        a = net.feedforward(x.reshape(-1, 1)).ravel()
        return -np.sum(t * np.log(a) + (1 - t) * np.log(1 - a))  # eq. 63 for one sample

    rng = np.random.default_rng(0)
    h = 1e-6
    for i in rng.choice(net._theta.size, 40, replace=False):
        old = net._theta[i]
        net._theta[i] = old + h
        up = cost()
        net._theta[i] = old - h
        down = cost()
        net._theta[i] = old
        numeric = (up - down) / (2 * h)
        assert abs(numeric - flat[i]) <= 1e-6 * max(1.0, abs(numeric)), (i, numeric, flat[i])


@pytest.mark.parametrize("cost", ["quadratic", "cross-entropy"])
def test_total_cost_and_accuracy_follow_network2(digits, cost):
    X, y = digits
    net = Network([64, 20, 10], seed=2, cost=cost, init="default")
    net.fit(X[:300], y[:300], epochs=1, eta=0.5)
    training = book_pairs(X[:200], y[:200], one_hot=True)
    evaluation = book_pairs(X[200:300], y[200:300], one_hot=False)
    assert net.total_cost(training, 5.0) == pytest.approx(book_total_cost(net, training, 5.0, False), rel=1e-12)
    assert net.total_cost(evaluation, 5.0, convert=True) == pytest.approx(
        book_total_cost(net, evaluation, 5.0, True), rel=1e-12)
    predicted = net.predict(X[:200])
    assert net.accuracy(training, convert=True) == int(np.sum(predicted == y[:200]))
    assert net.accuracy(evaluation) == int(np.sum(net.predict(X[200:300]) == y[200:300]))


def test_cross_entropy_cost_uses_nan_to_num():
    net = Network([2, 2], seed=0, cost="cross-entropy")
    net.weights = [np.zeros((2, 2))]
    net.biases = [np.array([[800.0], [-800.0]])]  # outputs exactly 1 and 0
    ok = net.total_cost([(np.zeros((2, 1)), 0)], 0.0, convert=True)  # y = [1, 0]: 0*log(0) -> 0
    net.biases = [np.array([[800.0], [800.0]])]  # outputs exactly 1 and 1
    bad = net.total_cost([(np.zeros((2, 1)), 0)], 0.0, convert=True)  # -(1-0)*log(1-1): huge, finite
    assert ok == 0.0
    assert bad == np.finfo(np.float64).max


def test_update_mini_batch_with_lmbda_matches_reference(digits):
    X, y = digits
    net = Network([64, 15, 10], seed=4, cost="cross-entropy", init="default")
    batch = book_pairs(X[:10], y[:10], one_hot=True)
    w, b = network_np.update_mini_batch(net.weights, net.biases, batch, 0.5, 5.0, 1000, "cross-entropy")
    net.update_mini_batch(batch, 0.5, 5.0, 1000)
    for got, want in zip(net.weights + net.biases, w + b):
        np.testing.assert_allclose(got, want, rtol=0, atol=STEP_TOL)


def test_sgd_returns_network2_lists_and_prints(digits, capsys):
    X, y = digits
    training = book_pairs(X[:400], y[:400], one_hot=True)
    evaluation = book_pairs(X[400:500], y[400:500], one_hot=False)
    net = Network([64, 20, 10], seed=8, cost="cross-entropy", init="default")
    twin = Network([64, 20, 10], seed=8, cost="cross-entropy", init="default")
    ev_cost, ev_acc, tr_cost, tr_acc = net.SGD(
        training, 3, 10, 0.5, lmbda=2.0, evaluation_data=evaluation, monitor_evaluation_cost=True,
        monitor_evaluation_accuracy=True, monitor_training_cost=True, monitor_training_accuracy=True)
    out = capsys.readouterr().out.splitlines()
    assert len(ev_cost) == len(ev_acc) == len(tr_cost) == len(tr_acc) == 3
    for j in range(3):
        twin.SGD(training, 1, 10, 0.5, lmbda=2.0)  # same shuffles: one permutation per epoch
        assert tr_cost[j] == pytest.approx(book_total_cost(twin, training, 2.0, False), rel=1e-12)
        assert ev_cost[j] == pytest.approx(book_total_cost(twin, evaluation, 2.0, True), rel=1e-12)
        assert tr_acc[j] == twin.accuracy(training, convert=True)
        assert ev_acc[j] == twin.accuracy(evaluation)
        block = out[6 * j:6 * j + 6]
        assert block == [f"Epoch {j} training complete", f"Cost on training data: {tr_cost[j]}",
                         f"Accuracy on training data: {tr_acc[j]} / 400",
                         f"Cost on evaluation data: {ev_cost[j]}",
                         f"Accuracy on evaluation data: {ev_acc[j]} / 100", ""]
    assert net.history_["validation_accuracy"] == [a / 100 for a in ev_acc]


def test_sgd_unmonitored_lists_are_empty(digits):
    X, y = digits
    net = Network([64, 10], seed=0)
    result = net.SGD(book_pairs(X[:100], y[:100], True), 2, 10, 1.0, lmbda=1.0,
                     evaluation_data=book_pairs(X[100:150], y[100:150], False),
                     monitor_evaluation_accuracy=True)
    assert result[0] == [] and result[2] == [] and result[3] == []
    assert len(result[1]) == 2


def test_chapter1_sgd_prints_like_network_py(digits, capsys):
    X, y = digits
    net = Network([64, 20, 10], seed=1)
    test = book_pairs(X[300:400], y[300:400], one_hot=False)
    assert net.SGD(book_pairs(X[:300], y[:300], True), 2, 10, 3.0, test_data=test) is None
    lines = capsys.readouterr().out.splitlines()
    assert lines[1] == f"Epoch 1: {net.evaluate(test)} / 100"
    assert lines[0].startswith("Epoch 0: ") and lines[0].endswith(" / 100")
    net.SGD(book_pairs(X[:300], y[:300], True), 1, 10, 3.0)
    assert capsys.readouterr().out == "Epoch 0 complete\n"


def test_sgd_rejects_ambiguous_arguments(digits):
    X, y = digits
    net = Network([64, 10], seed=0)
    data = book_pairs(X[:50], y[:50], True)
    with pytest.raises(ValueError, match="evaluation_data"):
        net.SGD(data, 1, 10, 1.0, test_data=book_pairs(X[:5], y[:5], False), monitor_evaluation_accuracy=True)
    with pytest.raises(ValueError, match="evaluation_data"):
        net.SGD(data, 1, 10, 1.0, early_stopping_n=2)
    with pytest.raises(ValueError, match="validation_data"):
        net.fit(X[:50], y[:50], epochs=1, eta_schedule_n=2)
    with pytest.raises(ValueError, match="early_stopping_n"):
        net.fit(X[:50], y[:50], epochs=1, early_stopping_n=-1, validation_data=(X[:5], y[:5]))


# -- early stopping and the learning-rate schedule -----------------------------------------


def replay_rule(accuracies, early_stopping_n, eta_schedule_n, eta0):
    """Independent re-implementation: (etas used per epoch, epochs trained)."""
    best, since_best, since_change, eta, etas = -1.0, 0, 0, eta0, []
    for acc in accuracies:
        etas.append(eta)
        if acc > best:
            best, since_best, since_change = acc, 0, 0
        else:
            since_best += 1
            since_change += 1
        if early_stopping_n and since_best == early_stopping_n:
            return etas, len(etas)
        if eta_schedule_n and since_change == eta_schedule_n:
            eta, since_change = eta / 2, 0
            if eta <= eta0 / 128:
                return etas, len(etas)
    return etas, len(etas)


@pytest.mark.parametrize("early, schedule", [(2, 0), (0, 1), (4, 2)])
def test_fit_stopping_rules_follow_the_validation_accuracy(digits_split, early, schedule):
    X_tr, y_tr, X_te, y_te = digits_split
    net = Network([64, 10, 10], seed=0)
    net.fit(X_tr[:400], y_tr[:400], epochs=300, eta=4.0, validation_data=(X_te, y_te),
            early_stopping_n=early, eta_schedule_n=schedule)
    h = net.history_
    assert net.stop_reason_ is not None
    etas, n_epochs = replay_rule(h["validation_accuracy"], early, schedule, 4.0)
    assert len(h["epoch"]) == n_epochs < 300
    assert h["eta"] == etas


def test_sgd_early_stopping_shortens_the_lists(digits):
    X, y = digits
    net = Network([64, 10, 10], seed=0)
    lists = net.SGD(book_pairs(X[:300], y[:300], True), 200, 10, 4.0,
                    evaluation_data=book_pairs(X[300:500], y[300:500], False),
                    monitor_evaluation_accuracy=True, early_stopping_n=2)
    accuracies = lists[1]
    assert 2 < len(accuracies) < 200
    assert max(accuracies[-2:]) <= max(accuracies[:-2])


# -- chapter 1: network.py's surface (names, shapes, data formats, printing)
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
