"""Tests written against surviving mutants of the scikit-learn estimators (fastnn/sklearn.py,
fastnn/_sklearn_monitor.py, fastnn/_training_rows.py): each fails on the mutant it was written
for (run by hand first, see docs/guide/testing.md)."""
import numpy as np
import pytest

from fastnn.sklearn import MLPClassifier, MLPRegressor


@pytest.fixture(scope="module")
def small(digits):
    return digits[0][:300], digits[1][:300]


@pytest.mark.parametrize("early_stopping, what", [(False, "Training loss"), (True, "Validation score")])
def test_verbose_prints_every_epoch_and_the_stop_as_scikit_learn_does(small, capsys, early_stopping, what):
    X, y = small
    clf = MLPClassifier((5,), epochs=20, n_iter_no_change=1, tol=10.0, early_stopping=early_stopping,
                        verbose=True, random_state=0).fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    assert clf.n_iter_ == 3  # no rise of 10 in two epochs after the first: stopped, as scikit-learn
    iterations = [f"Iteration {i + 1}, loss = {loss:.8f}" for i, loss in enumerate(clf.loss_curve_)]
    scores = [f"Validation score: {score:f}" for score in clf.validation_scores_ or []]
    epochs = [[a, b] for a, b in zip(iterations, scores)] if early_stopping else [[a] for a in iterations]
    stop = f"{what} did not improve more than tol=10.000000 for 1 consecutive epochs. Stopping."
    assert lines == [line for epoch in epochs for line in epoch] + [stop]


@pytest.mark.parametrize("Est", [MLPClassifier, MLPRegressor])
@pytest.mark.parametrize("early_stopping", [False, True])
def test_without_verbose_nothing_is_printed_even_at_a_stop(small, capsys, Est, early_stopping):
    X, y = small
    est = Est((5,), epochs=20, n_iter_no_change=1, tol=10.0, early_stopping=early_stopping, random_state=0)
    est.fit(X, y if Est is MLPClassifier else y / 9.0)
    assert est.n_iter_ == 3 and capsys.readouterr().out == ""


class _Stopping:
    """A stopping rule that never stops (the monitor's tie rule is tested on its own)."""
    stopped = None

    def update(self, watched):
        pass


def test_early_stopping_keeps_the_first_of_epochs_tied_for_the_best_score():
    from types import SimpleNamespace

    from fastnn._sklearn_monitor import _EpochMonitor

    scores = iter([0.5, 0.8, 0.8, 0.7, 0.8])
    est = SimpleNamespace(loss_curve_=[], t_=0, verbose=False, validation_scores_=[],
                          best_validation_score_=-np.inf, _stopping=_Stopping(),
                          score=lambda X, y, sample_weight=None: next(scores))
    monitor = _EpochMonitor(est, n_train=10, validation=(None, None, None), incremental=False)
    net = SimpleNamespace(_theta=np.zeros(3))
    for epoch in range(1, 6):
        net._theta[...] = epoch  # the parameters after that epoch
        assert monitor(net, {"training_cost": 1.0 / epoch}) is False
    monitor.finish(net)
    np.testing.assert_array_equal(net._theta, np.full(3, 2.0))  # epoch 2, not the tied 3 or 5
    assert est.best_validation_score_ == 0.8 and est.validation_scores_ == [0.5, 0.8, 0.8, 0.7, 0.8]
    assert est.n_iter_ == 5 and est.loss_ == 0.2 and est.t_ == 50


@pytest.mark.parametrize("Est", [MLPClassifier, MLPRegressor])
@pytest.mark.parametrize("name", ["mini_batch_size", "batch_size"])
@pytest.mark.parametrize("text", ["Auto", "", "a"])  # strings that sort before "auto"
def test_only_the_string_auto_is_scikit_learns_batch_size(small, Est, name, text):
    X, y = small
    with pytest.raises((TypeError, ValueError), match=name):
        Est(**{name: text}, epochs=1).fit(X[:20], y[:20])


def test_partial_fit_refuses_fewer_target_columns_than_the_network_has(small):
    """A regressor fitted on 2 target columns gets 1: an error, not a column broadcast to both."""
    X, y = small
    Y = np.column_stack([y, 9.0 - y]).astype(float)
    reg = MLPRegressor((4,), random_state=0).partial_fit(X[:20], Y[:20])
    with pytest.raises(ValueError, match="y has 1 target columns, but the fitted network has 2 outputs"):
        reg.partial_fit(X[:20], Y[:20, 0])
    with pytest.raises(ValueError, match="y has 3 target columns, but the fitted network has 2 outputs"):
        reg.partial_fit(X[:20], np.column_stack([Y[:20], Y[:20, 0]]))


def test_a_classifier_on_chunked_rows_refuses_two_label_columns(small):
    """Chunked X (a Dask array): y of two columns is refused as with X in memory; only a single
    column (n, 1) is taken as the labels."""
    da = pytest.importorskip("dask.array")
    X, y = small
    chunked = da.from_array(X[:100], chunks=(50, X.shape[1]))
    with pytest.raises(ValueError, match="one label per sample"):
        MLPClassifier((3,), epochs=1, random_state=0).fit(chunked, np.column_stack([y[:100], y[:100]]))
    one_column = MLPClassifier((3,), epochs=1, random_state=0).fit(chunked, y[:100, None])
    assert list(one_column.classes_) == sorted(set(y[:100]))


def test_partial_fit_scales_later_targets_of_a_first_constant_column_by_one(small):
    """A target column constant in the first call (range 0) keeps its range; later targets of it
    map as if the range were 1: 0.1 + 0.8 * (y - min) (the user guide, scikit-learn estimators)."""
    from fastnn.sklearn import TARGET_HIGH, TARGET_LOW

    X, y = small
    first = np.column_stack([y[:20], np.full(20, 5.0)])
    reg = MLPRegressor((3,), random_state=0).partial_fit(X[:20], first)
    later = np.column_stack([y[20:40], 4.0 + y[20:40] / 4.0])
    scaled = reg._targets(later, first=False, incremental=True, classes=None)
    np.testing.assert_allclose(scaled[:, 1], TARGET_LOW + (TARGET_HIGH - TARGET_LOW) * (later[:, 1] - 5.0),
                               rtol=1e-12)
    np.testing.assert_allclose(scaled[:, 0], TARGET_LOW + (TARGET_HIGH - TARGET_LOW) * (later[:, 0] - y[:20].min())
                               / np.ptp(y[:20]), rtol=1e-12)
    assert np.all(reg.predict(X[:40])[:, 1] == 5.0)  # the constant column is predicted as its constant


@pytest.mark.parametrize("Est", [MLPClassifier, MLPRegressor])
def test_n_iter_no_change_defaults_to_scikit_learns(small, Est):
    from sklearn import neural_network

    X, y = small
    assert Est().n_iter_no_change == getattr(neural_network, Est.__name__)().n_iter_no_change
    default = Est((3,), epochs=40, tol=10.0, random_state=0).fit(X[:60], y[:60])
    explicit = Est((3,), epochs=40, tol=10.0, n_iter_no_change=10, random_state=0).fit(X[:60], y[:60])
    assert default.n_iter_ == explicit.n_iter_ < 40


def test_early_stopping_switched_on_for_a_warm_start_starts_its_best_score_afresh(small):
    """warm_start after a fit without early stopping: the held-out score's best starts at -inf,
    so the best is the highest validation score of the new fit."""
    X, y = small
    clf = MLPClassifier((5,), epochs=3, random_state=0).fit(X, y)
    clf.set_params(warm_start=True, early_stopping=True, epochs=4).fit(X, y)
    assert len(clf.validation_scores_) == clf.n_iter_ > 0
    assert clf.best_validation_score_ == max(clf.validation_scores_)


def test_random_state_none_draws_a_fresh_seed_without_numpys_global_state(small):
    """random_state=None: a fresh seed from the operating system at each fit (as
    ``Network(seed=None)``); NumPy's global random state is neither read nor advanced."""
    X, y = small
    np.random.seed(0)
    before = np.random.get_state()[1].copy()
    first = MLPClassifier((3,), epochs=1).fit(X[:50], y[:50])
    assert np.array_equal(np.random.get_state()[1], before)
    np.random.seed(0)
    second = MLPClassifier((3,), epochs=1).fit(X[:50], y[:50])
    assert not np.array_equal(first.network_.weights[0], second.network_.weights[0])


def test_a_refit_on_chunked_rows_forgets_the_feature_names_of_a_data_frame(small):
    pd = pytest.importorskip("pandas")
    da = pytest.importorskip("dask.array")
    X, y = small
    clf = MLPClassifier((3,), epochs=1, random_state=0).fit(pd.DataFrame(X[:100]).add_prefix("pixel"), y[:100])
    assert len(clf.feature_names_in_) == X.shape[1]
    clf.fit(da.from_array(X[:100, :40], chunks=(50, 40)), y[:100])
    assert clf.n_features_in_ == 40 and not hasattr(clf, "feature_names_in_")


@pytest.mark.parametrize("fraction", [-0.1, -1.5, 0.0, 1.0])
def test_validation_fraction_outside_zero_one_is_refused(small, fraction):
    X, y = small
    with pytest.raises(ValueError, match=r"validation_fraction must be a number in \(0, 1\)"):
        MLPClassifier((3,), epochs=1, early_stopping=True, validation_fraction=fraction).fit(X[:50], y[:50])


def test_predict_proba_of_a_row_whose_outputs_all_underflow_is_uniform(small):
    """Every output saturated to 0 (the user guide: extreme, unscaled inputs): uniform
    probabilities, not 0/0."""
    X, y = small
    clf = MLPClassifier((3,), epochs=1, random_state=0).fit(X, y)
    clf.network_.weights[-1][...] = 0.0
    clf.network_.biases[-1][...] = -1000.0  # exp(-1000) underflows: every output is exactly 0
    proba = clf.predict_proba(X[:5])
    assert np.array_equal(proba, np.full((5, len(clf.classes_)), 1.0 / len(clf.classes_)))


def test_early_stopping_refuses_a_held_out_set_of_one_row(small):
    """10 rows and validation_fraction=0.1 hold out one row: too few to score, as in scikit-learn."""
    X, y = small
    with pytest.raises(ValueError, match="The validation set is too small"):
        MLPRegressor((3,), epochs=1, early_stopping=True, random_state=0).fit(X[:10], y[:10].astype(float))
    MLPRegressor((3,), epochs=1, early_stopping=True, random_state=0).fit(X[:20], y[:20].astype(float))


def test_partial_fit_refuses_a_label_between_the_given_classes(small):
    X, y = small
    labels = np.where(y[:40] % 2 == 0, 0, 2)
    labels[5] = 1  # between the two classes: not one of them
    with pytest.raises(ValueError, match=r"y has labels not in classes \[0 2\]: \[1\]"):
        MLPClassifier((3,), random_state=0).partial_fit(X[:40], labels, classes=[0, 2])


def test_a_classifier_on_chunked_rows_takes_string_labels(small):
    da = pytest.importorskip("dask.array")
    X, y = small
    names = np.array(["even", "odd"])[y[:100] % 2]
    clf = MLPClassifier((3,), epochs=1, random_state=0).fit(da.from_array(X[:100], chunks=(50, X.shape[1])), names)
    assert list(clf.classes_) == ["even", "odd"] and set(clf.predict(X[:10])) <= {"even", "odd"}


def test_a_warm_start_fit_after_an_early_stop_trains_while_it_improves(small):
    """A stop ends that fit only: a warm-start fit after it goes on while its score improves."""
    X, y = small
    clf = MLPClassifier((10,), epochs=20, eta=1e-9, n_iter_no_change=1, tol=1e-3, random_state=0).fit(X, y)
    assert clf.n_iter_ == 3  # no progress at eta=1e-9: stopped
    clf.set_params(warm_start=True, eta=3.0, epochs=5).fit(X, y)
    assert clf.n_iter_ == 5 and np.all(np.diff(clf.loss_curve_[3:]) < -1e-3)


@pytest.mark.parametrize("Est", [MLPClassifier, MLPRegressor])
def test_an_int_hidden_layer_size_continues_with_partial_fit_and_warm_start(small, Est):
    """hidden_layer_sizes=5 (scikit-learn's one-layer int) is accepted when training goes on, not
    only by the first fit."""
    X, y = small
    est = Est(5, epochs=1, warm_start=True, random_state=0).fit(X, y).fit(X, y)
    assert est.network_.sizes == [64, 5, est.network_.sizes[-1]] and est.n_iter_ == 1
    est = Est(5, random_state=0)
    classes = {"classes": np.unique(y)} if Est is MLPClassifier else {}
    est.partial_fit(X, y, **classes).partial_fit(X, y)
    assert est.network_.sizes[:2] == [64, 5] and est.t_ == 2 * len(X)


def test_an_unknown_label_message_names_at_most_five_labels(small):
    X, y = small
    first = y < 3
    clf = MLPClassifier((3,), random_state=0).partial_fit(X[first], y[first], classes=[0, 1, 2])
    with pytest.raises(ValueError, match=r"y has labels not in classes \[0 1 2\]: \[3 4 5 6 7\]$"):
        clf.partial_fit(X[:100], y[:100])


def test_a_random_state_object_seeds_from_the_whole_int_range():
    """A RandomState draws the network's seed from [0, 2**31 - 1): a hundred generators give a
    hundred different seeds (not a handful of networks)."""
    from fastnn.sklearn import _seed

    seeds = [_seed(np.random.RandomState(i)) for i in range(100)]
    assert len(set(seeds)) == 100 and max(seeds) > 2**24 and all(0 <= s < 2**31 - 1 for s in seeds)


def test_verbose_zero_is_accepted_and_prints_nothing(small, capsys):
    X, y = small
    MLPClassifier((3,), epochs=1, verbose=0, random_state=0).fit(X, y)
    assert capsys.readouterr().out == ""


def test_n_iter_no_change_of_a_float_infinity_never_stops(small):
    """float("inf") is numpy.inf's value but another object: accepted, and no epoch stops the fit."""
    X, y = small
    clf = MLPClassifier((3,), epochs=4, n_iter_no_change=float("inf"), tol=100.0, random_state=0).fit(X, y)
    assert clf.n_iter_ == 4


@pytest.mark.parametrize("name", ["mini_batch_size", "batch_size"])
def test_a_mini_batch_size_of_zero_is_refused(small, name):
    """Only epochs may be 0 (nothing trained); a mini-batch needs at least one row, and the
    message names the parameter the user gave."""
    X, y = small
    with pytest.raises(ValueError, match=f"^{name} must be >= 1, got 0$"):
        MLPClassifier((3,), random_state=0, **{name: 0}).fit(X, y)


def test_a_classifier_on_chunked_rows_takes_a_column_of_labels_as_one_label_each(small):
    """y of shape (n, 1) with chunked X is one label per row: the same fit as the flat labels."""
    da = pytest.importorskip("dask.array")
    X, y = small
    chunked = da.from_array(X[:100], chunks=(50, 64))
    column = MLPClassifier((3,), epochs=1, random_state=0).fit(chunked, y[:100].reshape(-1, 1))
    flat = MLPClassifier((3,), epochs=1, random_state=0).fit(chunked, y[:100])
    assert column.predict(X[:10]).shape == (10,)
    np.testing.assert_array_equal(column.predict_proba(X), flat.predict_proba(X))


def test_predictions_for_chunked_rows_are_those_for_the_rows_in_memory(small):
    """predict and predict_proba of a chunked X (100 rows of 64 features, chunks of 30) cover
    every row, as for the same rows in memory."""
    da = pytest.importorskip("dask.array")
    X, y = small
    clf = MLPClassifier((3,), epochs=1, random_state=0).fit(X, y)
    chunked = da.from_array(X[:100], chunks=(30, 64))
    np.testing.assert_array_equal(clf.predict_proba(chunked), clf.predict_proba(X[:100]))
    np.testing.assert_array_equal(clf.predict(chunked), clf.predict(X[:100]))


def test_chunked_rows_and_labels_of_different_lengths_are_refused(small):
    da = pytest.importorskip("dask.array")
    X, y = small
    with pytest.raises(ValueError, match="X and y have different numbers of samples: 100 and 99"):
        MLPClassifier((3,), epochs=1).fit(da.from_array(X[:100], chunks=(50, 64)), y[:99])


@pytest.mark.parametrize("n_labels", [99, 101])
def test_chunked_rows_with_too_few_or_too_many_labels_are_refused_before_anything_is_fitted(small, n_labels):
    """The length check comes first: a refused fit leaves no network, classes or curves behind
    (the network's own later check gives the same message, but only after they were made)."""
    da = pytest.importorskip("dask.array")
    X, y = small
    labels = np.resize(y, n_labels)
    est = MLPClassifier((3,), epochs=1)
    with pytest.raises(ValueError, match=f"X and y have different numbers of samples: 100 and {n_labels}"):
        est.fit(da.from_array(X[:100], chunks=(50, 64)), labels)
    assert not any(hasattr(est, name) for name in ("network_", "classes_", "loss_curve_", "n_iter_"))
