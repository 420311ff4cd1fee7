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
