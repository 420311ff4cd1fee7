"""fastnn.ensemble: the plurality vote of chapter 6, ties to the smallest label."""
from collections import Counter

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from fastnn import Network
from fastnn.ensemble import EnsembleClassifier, plurality_vote


def vote_by_counting(column):
    """Definition: the label with most votes, the smallest of those tied."""
    counts = Counter(column)
    best = max(counts.values())
    return min(label for label, c in counts.items() if c == best)


def test_vote_matches_the_definition_on_random_votes():
    rng = np.random.default_rng(5)
    for n_models in (1, 2, 3, 4, 5, 6):
        votes = rng.integers(0, 4, size=(n_models, 200))   # few classes: many ties
        expected = [vote_by_counting(votes[:, j].tolist()) for j in range(200)]
        assert_array_equal(plurality_vote(votes), expected)


def test_ties_go_to_the_smallest_label():
    votes = np.array([[9, 3, 0, 2],
                      [1, 3, 5, 2],
                      [1, 7, 5, 8],
                      [9, 7, 0, 8]])
    # 9:2 1:2 -> 1;  3:2 7:2 -> 3;  0:2 5:2 -> 0;  2:2 8:2 -> 2
    assert_array_equal(plurality_vote(votes), [1, 3, 0, 2])
    assert_array_equal(plurality_vote(votes), [np.argmax(np.bincount(c)) for c in votes.T])


def test_string_and_float_labels():
    assert plurality_vote([["cat", "dog"], ["dog", "dog"]]).tolist() == ["cat", "dog"]
    out = plurality_vote(np.array([[2.0, 1.0], [2.0, 3.0], [1.0, 3.0]]))
    assert out.tolist() == [2, 3] and out.dtype == np.int64


@pytest.mark.parametrize("bad, match", [
    ([1, 2, 3], "2-D array"),
    (np.zeros((0, 3), dtype=int), "at least one model"),
    (np.zeros((2, 0), dtype=int), "one sample"),
    ([[0.5, 1.0]], "non-integer floats"),
    ([[np.nan, 1.0]], "non-integer floats"),
    (np.zeros((1, 2), dtype=complex), "class labels"),
])
def test_bad_predictions(bad, match):
    with pytest.raises(ValueError, match=match):
        plurality_vote(bad)


class Fixed:
    """A model predicting fixed labels (whatever X holds)."""

    def __init__(self, labels):
        self.labels = np.asarray(labels)

    def predict(self, X):
        return self.labels[:len(X)]


def test_ensemble_classifier_votes_and_scores():
    models = [Fixed([0, 1, 2, 3]), Fixed([0, 2, 2, 1]), Fixed([1, 2, 0, 3])]
    ens = EnsembleClassifier(models)
    X = np.zeros((4, 5))
    assert_array_equal(ens.predictions(X), [m.labels for m in models])
    assert_array_equal(ens.predict(X), [0, 2, 2, 3])
    assert ens.score(X, [0, 2, 1, 3]) == 0.75
    assert "3 models" in repr(ens)


def test_ensemble_of_fastnn_networks_equals_vote_of_their_predictions():
    rng = np.random.default_rng(0)
    X = rng.random((30, 4))
    nets = [Network([4, 5, 3], seed=s, engine="reference") for s in range(5)]
    ens = EnsembleClassifier(nets)
    each = np.stack([net.predict(X) for net in nets])
    assert_array_equal(ens.predict(X), plurality_vote(each))
    assert_array_equal(ens.predict(X), [vote_by_counting(each[:, j].tolist()) for j in range(30)])


def test_ensemble_bad_models():
    with pytest.raises(ValueError, match="at least one model"):
        EnsembleClassifier([])
    with pytest.raises(TypeError, match=r"models\[1\] \(int\) has no predict"):
        EnsembleClassifier([Fixed([0]), 3])
    with pytest.raises(ValueError, match=r"models\[0\]\.predict returned shape \(2,\); expected \(3,\)"):
        EnsembleClassifier([Fixed([0, 1])]).predict(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="one label per row"):
        EnsembleClassifier([Fixed([0, 1])]).score(np.zeros((2, 2)), [0])
