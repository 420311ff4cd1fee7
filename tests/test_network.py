"""Chapter 3 (network2.py): costs, L2 decay, SGD monitoring, early stopping, eta schedule.

Tolerances: jit vs the per-sample NumPy reference after one epoch of 1,200
digits <= EPOCH_TOL (1e-9, conftest); finite differences of the cross-entropy
cost agree with backprop to 1e-6 (relative, central differences, h = 1e-6);
costs vs a per-sample port of network2.py's total_cost to 1e-12 (relative).
"""
import numpy as np
import pytest
from conftest import EPOCH_TOL, STEP_TOL

from fastnn import Network
from fastnn.reference import network_np
from fastnn.training import PlateauRule

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
