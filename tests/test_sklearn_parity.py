"""The parts of scikit-learn's MLP API the estimators add: partial_fit, warm_start,
early stopping, the stopping rule, verbose, shuffle, sample_weight and the fitted curves."""
import numpy as np
import pytest
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as SkMLPClassifier
from sklearn.utils import check_random_state

from fastnn import Network
from fastnn.sklearn import MLPClassifier, MLPRegressor


@pytest.fixture(scope="module")
def small(digits):
    X, y = digits
    return X[:600], y[:600]


def _same_parameters(a, b):
    np.testing.assert_array_equal(a.network_._theta, b.network_._theta)


# -- partial_fit --------------------------------------------------------------------------

@pytest.mark.parametrize("chunk", [100, 250])  # whole mini-batches of 10 (600 = 2 * 250 + 100)
def test_partial_fit_per_chunk_equals_one_epoch_of_fit(small, chunk):
    X, y = small
    fitted = MLPClassifier((20,), epochs=1, shuffle=False, random_state=0).fit(X, y)
    inc = MLPClassifier((20,), shuffle=False, random_state=0)
    for start in range(0, len(X), chunk):
        inc.partial_fit(X[start:start + chunk], y[start:start + chunk], classes=np.arange(10))
    _same_parameters(fitted, inc)
    assert inc.t_ == fitted.t_ == len(X)
    assert inc.n_iter_ == 1 and len(inc.loss_curve_) == -(-len(X) // chunk)


def test_partial_fit_regressor_per_chunk_equals_one_epoch_of_fit():
    rng = np.random.default_rng(0)
    X = rng.random((300, 3))
    y = X @ [1.0, -2.0, 0.5]
    y[[0, 1]] = y.min() - 1, y.max() + 1  # the first chunk holds the range, which fixes the scaling
    fitted = MLPRegressor((8,), epochs=1, shuffle=False, random_state=1).fit(X, y)
    inc = MLPRegressor((8,), shuffle=False, random_state=1)
    for start in range(0, 300, 100):
        inc.partial_fit(X[start:start + 100], y[start:start + 100])
    _same_parameters(fitted, inc)
    np.testing.assert_array_equal(inc.y_min_, fitted.y_min_)


def test_partial_fit_with_sample_weight_equals_fit(small):
    X, y = small
    sw = np.random.default_rng(2).uniform(0, 2, len(X))
    fitted = MLPClassifier((12,), epochs=1, shuffle=False, random_state=0).fit(X, y, sample_weight=sw)
    inc = MLPClassifier((12,), shuffle=False, random_state=0)
    for start in range(0, len(X), 200):
        part = slice(start, start + 200)
        inc.partial_fit(X[part], y[part], sample_weight=sw[part], classes=np.arange(10))
    _same_parameters(fitted, inc)


def test_partial_fit_shuffles_within_each_call(small):
    X, y = small
    a = MLPClassifier((12,), random_state=0).partial_fit(X, y, classes=np.arange(10))
    net = Network([64, 12, 10], seed=0).fit(X, y, epochs=1)  # the same permutation stream
    np.testing.assert_array_equal(a.network_._theta, net._theta)


def test_partial_fit_classes(small):
    X, y = small
    clf = MLPClassifier((5,), random_state=0)
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        clf.partial_fit(X, y)
    clf.partial_fit(X[:50], y[:50], classes=np.arange(12))  # classes beyond those seen
    np.testing.assert_array_equal(clf.classes_, np.arange(12))
    assert clf.network_.sizes[-1] == 12
    clf.partial_fit(X[50:100], y[50:100])  # later calls may omit classes
    with pytest.raises(ValueError, match="not the same as on last call"):
        clf.partial_fit(X[:50], y[:50], classes=np.arange(10))
    with pytest.raises(ValueError, match="labels not in classes"):
        clf.partial_fit(X[:3], [0, 1, 99])
    with pytest.raises(ValueError, match="features"):
        clf.partial_fit(X[:10, :20], y[:10])


def test_partial_fit_refuses_early_stopping(small):
    X, y = small
    with pytest.raises(ValueError, match="partial_fit does not support early_stopping"):
        MLPClassifier(early_stopping=True).partial_fit(X, y, classes=np.arange(10))


def test_fit_after_partial_fit_starts_afresh(small):
    X, y = small
    clf = MLPClassifier((10,), epochs=2, random_state=0)
    clf.partial_fit(X, y, classes=np.arange(10)).fit(X, y)
    _same_parameters(clf, MLPClassifier((10,), epochs=2, random_state=0).fit(X, y))
    assert len(clf.loss_curve_) == 2


# -- warm_start -----------------------------------------------------------------------------

def test_warm_start_continues_the_same_run(small):
    X, y = small
    warm = MLPClassifier((15,), epochs=3, warm_start=True, random_state=4).fit(X, y)
    warm.set_params(epochs=2).fit(X, y)
    once = MLPClassifier((15,), epochs=5, random_state=4).fit(X, y)
    _same_parameters(warm, once)
    assert warm.loss_curve_ == once.loss_curve_ and len(warm.loss_curve_) == 5
    assert warm.n_iter_ == 2 and once.n_iter_ == 5
    assert warm.t_ == once.t_ == 5 * len(X)
    cold = MLPClassifier((15,), epochs=2, random_state=4).fit(X, y).fit(X, y)
    assert len(cold.loss_curve_) == 2  # without warm_start every fit starts afresh


def test_warm_start_may_switch_early_stopping(small):
    X, y = small
    clf = MLPClassifier((5,), epochs=2, warm_start=True, random_state=0).fit(X, y)
    clf.set_params(early_stopping=True).fit(X, y)
    assert len(clf.validation_scores_) == 2 and len(clf.loss_curve_) == 4
    clf.set_params(early_stopping=False).fit(X, y)
    assert clf.best_loss_ == min(clf.loss_curve_) and len(clf.loss_curve_) == 6


def test_warm_start_needs_the_same_classes_and_sizes(small):
    X, y = small
    clf = MLPClassifier((5,), epochs=1, warm_start=True, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="same classes"):
        clf.fit(X[y < 5], y[y < 5])
    with pytest.raises(ValueError, match="cannot continue training"):
        clf.set_params(hidden_layer_sizes=(6,)).fit(X, y)


# -- stopping rules -------------------------------------------------------------------------

def _sklearn_stop_epoch(values, tol, patience, higher_is_better):
    """The epoch (1-based) at which scikit-learn's no-improvement rule stops, or None."""
    best, count = (-np.inf if higher_is_better else np.inf), 0
    for epoch, v in enumerate(values, 1):
        worse = v < best + tol if higher_is_better else v > best - tol
        count = count + 1 if worse else 0
        best = max(best, v) if higher_is_better else min(best, v)
        if count > patience:
            return epoch
    return None


def test_training_loss_rule_stops_like_sklearn(small):
    X, y = small
    # tol=10: no epoch lowers the loss that much, so both stop after n_iter_no_change + 2 epochs
    ours = MLPClassifier((5,), epochs=50, tol=10.0, n_iter_no_change=2, random_state=0).fit(X, y)
    theirs = SkMLPClassifier((5,), solver="sgd", max_iter=50, tol=10.0, n_iter_no_change=2,
                             random_state=0).fit(X, y)
    assert ours.n_iter_ == theirs.n_iter_ == 4
    assert ours.best_loss_ == min(ours.loss_curve_) and ours.loss_ == ours.loss_curve_[-1]
    assert ours.validation_scores_ is None and ours.best_validation_score_ is None


@pytest.mark.parametrize("tol", [1e-4, 0.05])
def test_training_loss_rule_matches_sklearns_rule_on_our_curve(small, tol):
    X, y = small
    clf = MLPClassifier((10,), epochs=40, eta=8.0, tol=tol, n_iter_no_change=3, random_state=1).fit(X, y)
    stop = _sklearn_stop_epoch(clf.loss_curve_, tol, 3, higher_is_better=False)
    assert clf.n_iter_ == (stop or 40)
    assert clf.loss_curve_ == clf.network_.history_["training_cost"]


def test_n_iter_no_change_inf_runs_every_epoch(small):
    X, y = small
    clf = MLPClassifier((5,), epochs=6, tol=10.0, n_iter_no_change=np.inf, random_state=0).fit(X, y)
    assert clf.n_iter_ == 6


def _stop_with_strict_ties(scores, tol, patience):
    """With tol=0 a tie with the best is no improvement (the book's rule; scikit-learn counts it)."""
    best, count = -np.inf, 0
    for epoch, v in enumerate(scores, 1):
        count = 0 if v > best else count + 1
        best = max(best, v)
        if count > patience:
            return epoch
    return None


@pytest.mark.parametrize("tol, rule", [(0.0, _stop_with_strict_ties),
                                       (1e-3, lambda s, tol, p: _sklearn_stop_epoch(s, tol, p, True))])
def test_early_stopping_keeps_the_best_epoch(small, tol, rule):
    X, y = small
    clf = MLPClassifier((10,), epochs=60, early_stopping=True, validation_fraction=0.2,
                        n_iter_no_change=2, tol=tol, random_state=3).fit(X, y)
    scores = clf.validation_scores_
    assert len(scores) == clf.n_iter_ == len(clf.loss_curve_)
    assert clf.n_iter_ < 60 and clf.n_iter_ == rule(scores, tol, 2)
    assert clf.best_validation_score_ == max(scores) and clf.best_loss_ is None
    # the held-out rows are scikit-learn's stratified split with the same random_state, and
    # the parameters are those of the best epoch
    _, X_val, _, y_val = train_test_split(X, y, test_size=0.2, random_state=check_random_state(3), stratify=y)
    assert clf.score(X_val, y_val) == clf.best_validation_score_
    assert clf.t_ == clf.n_iter_ * (len(X) - len(X_val))


def test_early_stopping_regressor_scores_r2():
    rng = np.random.default_rng(0)
    X = rng.random((400, 2))
    y = np.sin(3 * X[:, 0]) + X[:, 1]
    reg = MLPRegressor((10,), epochs=30, eta=1.0, early_stopping=True, random_state=0).fit(X, y)
    _, X_val, _, y_val = train_test_split(X, y, test_size=0.1, random_state=check_random_state(0))
    assert reg.best_validation_score_ == pytest.approx(reg.score(X_val, y_val), rel=1e-12)
    assert reg.best_validation_score_ == max(reg.validation_scores_)


@pytest.mark.parametrize("param, value, exc", [
    ("validation_fraction", 1.0, ValueError), ("validation_fraction", 0, ValueError),
    ("n_iter_no_change", 0, ValueError), ("n_iter_no_change", 2.5, ValueError),
    ("tol", -1e-3, ValueError), ("tol", np.nan, ValueError),
    ("shuffle", "yes", TypeError), ("warm_start", 1, TypeError), ("early_stopping", None, TypeError),
    ("verbose", -1, TypeError),
])
def test_bad_new_parameters_raise_at_fit(small, param, value, exc):
    X, y = small
    clf = MLPClassifier(**{param: value})  # no validation in __init__
    with pytest.raises(exc, match=param):
        clf.fit(X, y)


# -- the rest of the surface ----------------------------------------------------------------

def test_verbose_prints_like_sklearn(small, capsys):
    X, y = small
    MLPClassifier((5,), epochs=3, verbose=True, random_state=0).fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(",")[0] for line in lines] == ["Iteration 1", "Iteration 2", "Iteration 3"]
    assert all(line.split(", loss = ")[1].count(".") == 1 for line in lines)
    MLPClassifier((5,), epochs=2, verbose=1, early_stopping=True, random_state=0).fit(X, y)
    assert capsys.readouterr().out.count("Validation score: ") == 2


def test_shuffle_false_trains_rows_in_order(small):
    X, y = small
    clf = MLPClassifier((8,), epochs=2, shuffle=False, random_state=0).fit(X, y)
    net = Network([64, 8, 10], seed=0)
    state = net.rng.bit_generator.state
    for _ in range(2):
        net._engine.epoch(net, X, np.eye(10)[y], np.arange(len(X)), 10, 3.0, 0.0, len(X))
    np.testing.assert_array_equal(clf.network_._theta, net._theta)
    assert clf.network_.rng.bit_generator.state == state  # no permutation drawn
    shuffled = MLPClassifier((8,), epochs=2, random_state=0).fit(X, y)
    assert not np.array_equal(shuffled.network_._theta, clf.network_._theta)


def test_sample_weight_reaches_the_network(small):
    X, y = small
    sw = np.random.default_rng(1).uniform(0, 4, len(X))
    clf = MLPClassifier((10,), epochs=2, random_state=0).fit(X, y, sample_weight=list(sw))
    net = Network([64, 10, 10], seed=0).fit(X, y, epochs=2, sample_weight=sw)
    np.testing.assert_array_equal(clf.network_._theta, net._theta)
    assert clf.loss_curve_ == net.history_["training_cost"]
    reg = MLPRegressor((4,), epochs=1, random_state=0).fit(X, y.astype(float), sample_weight=sw)
    assert reg.n_iter_ == 1
    with pytest.raises(ValueError, match="non-negative"):
        clf.fit(X, y, sample_weight=-sw)


def test_fitted_attributes_and_log_proba(small):
    X, y = small
    clf = MLPClassifier((7,), epochs=2, random_state=0).fit(X, y)
    np.testing.assert_allclose(clf.predict_log_proba(X[:20]), np.log(clf.predict_proba(X[:20])), rtol=1e-15)
    assert [c.shape for c in clf.coefs_] == [(64, 7), (7, 10)]
    assert [b.shape for b in clf.intercepts_] == [(7,), (10,)]
    np.testing.assert_array_equal(clf.coefs_[1], clf.network_.weights[1].T)
    assert clf.n_layers_ == 3 and clf.out_activation_ == "logistic"
    assert clf.t_ == 2 * len(X) and clf.n_iter_ == 2 and clf.loss_ == clf.loss_curve_[-1]
    # the first-layer sums of scikit-learn's layout reproduce the hidden activations
    hidden = 1 / (1 + np.exp(-(X[:5] @ clf.coefs_[0] + clf.intercepts_[0])))
    out = 1 / (1 + np.exp(-(hidden @ clf.coefs_[1] + clf.intercepts_[1])))
    np.testing.assert_allclose(out, clf.network_.predict_proba(X[:5]), rtol=1e-12)


# -- what the estimators build on -----------------------------------------------------------

def test_plateau_rule_tol_needs_a_rise_of_at_least_tol():
    from fastnn.training import PlateauRule

    rule = PlateauRule(1.0, early_stopping_n=2, tol=0.1)
    for score in (0.5, 0.55, 0.58):  # best creeps up by less than tol: no improvement counted
        rule.update(score)
    assert rule.best == 0.58 and rule.stopped == "early stopping"
    rule = PlateauRule(1.0, early_stopping_n=2, tol=0.1)
    for score in (0.5, 0.6, 0.65, 0.75):  # +0.1 counts (>= tol), then the creep from 0.65 too
        rule.update(score)
    assert rule.since_best == 0 and rule.stopped is None
    back = PlateauRule.from_state(rule.state())
    assert back.tol == 0.1 and back.state() == rule.state()
    old = rule.state()
    del old["tol"]  # a checkpoint written before tol existed
    assert PlateauRule.from_state(old).tol == 0.0


def test_resume_accepts_checkpoints_without_shuffle_and_checks_it(small, tmp_path):
    X, y = small
    ck = tmp_path / "ck.npz"
    net = Network([64, 8, 10], seed=0).fit(X, y, epochs=1, checkpoint=ck)
    assert net.fit_params_["shuffle"] is True
    net.fit_params_.pop("shuffle")  # as saved before the option existed
    net.save(ck)
    resumed = Network([64, 8, 10], seed=0).fit(X, y, epochs=2, checkpoint=ck, resume=True)
    full = Network([64, 8, 10], seed=0).fit(X, y, epochs=2)
    np.testing.assert_array_equal(resumed._theta, full._theta)
    with pytest.raises(ValueError, match="shuffle"):
        Network([64, 8, 10], seed=0).fit(X, y, epochs=3, checkpoint=ck, resume=True, shuffle=False)
