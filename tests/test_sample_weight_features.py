"""Sample weights together with every feature that reads them: the exact training metrics of
chunked data, and scikit-learn-style early stopping (the held-out rows keep their weights)."""
import numpy as np
import pytest
from sklearn.model_selection import train_test_split

from fastnn import Network, training
from fastnn.sklearn import MLPClassifier, MLPRegressor

da = pytest.importorskip("dask.array")


def _weights(n, seed):
    w = np.random.default_rng(seed).uniform(0.0, 3.0, n)
    w[::5] = 0.0
    return w


@pytest.mark.parametrize("chunked", [False, True])
@pytest.mark.parametrize("cost", ["quadratic", "cross-entropy"])
def test_exact_training_metrics_with_weights_are_the_weighted_cost_of_the_final_network(digits, chunked, cost):
    X, y = digits[0][:900], digits[1][:900]
    sw = _weights(len(y), seed=7)
    data = da.from_array(X, chunks=(250, 64)) if chunked else X  # uneven: a last chunk of 150
    net = Network([64, 13, 10], seed=2, cost=cost).fit(data, y, epochs=2, mini_batch_size=9, eta=0.7,
                                                       lmbda=1.5, sample_weight=sw, training_metrics="exact")
    A = net.predict_proba(X)
    per_sample = training.sample_costs(A, np.eye(10)[y], cost)
    expected = np.sum(sw * per_sample) / np.sum(sw) + training.l2_term(net.weights, 1.5, len(y))
    assert net.history_["training_cost"][-1] == pytest.approx(expected, rel=1e-12)
    unweighted = np.mean(per_sample) + training.l2_term(net.weights, 1.5, len(y))
    assert abs(expected - unweighted) > 1e-6  # the weights matter here
    # the accuracy counts rows, as documented (only the cost is weighted)
    assert net.history_["training_accuracy"][-1] == np.mean(np.argmax(A, axis=1) == y)


@pytest.mark.parametrize("Est", [MLPClassifier, MLPRegressor])
def test_early_stopping_scores_the_held_out_rows_with_their_weights(Est, digits):
    X, y = digits[0][:600], digits[1][:600]
    target = y if Est is MLPClassifier else y / 9.0
    sw = _weights(len(y), seed=8)
    est = Est((6,), epochs=1, eta=0.3, early_stopping=True, validation_fraction=0.3, random_state=4)
    est.fit(X, target, sample_weight=sw)
    # the held-out rows, split as the estimator does (scikit-learn's stratified split)
    stratify = y if Est is MLPClassifier else None
    _, X_val, _, t_val, _, sw_val = train_test_split(X, target, sw, test_size=0.3, random_state=4,
                                                     stratify=stratify)
    weighted = est.score(X_val, t_val, sample_weight=sw_val)  # one epoch: the final network is its
    assert est.validation_scores_ == [weighted] and est.best_validation_score_ == weighted
    assert abs(weighted - est.score(X_val, t_val)) > 1e-6  # the weights matter here
