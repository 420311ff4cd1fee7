"""Saved and restored models keep every parameter: round trips in which every parameter has a
value other than its default (a parameter lost on the way would fall back to the default and
go unseen by a round trip of defaults).  The restored model must continue the same run, bit for
bit."""
import pickle

import numpy as np
import pytest

from fastnn import Network
from fastnn.sklearn import MLPClassifier, MLPRegressor

# fastnn's names of the training parameters, every one away from its default
OWN_NAMES = dict(hidden_layer_sizes=(7, 5), epochs=4, mini_batch_size=6, eta=0.8, lmbda=0.2,
                 cost="cross-entropy", init="default", dtype="float32", engine="matrix",
                 early_stopping=True, validation_fraction=0.25, n_iter_no_change=3, tol=1e-3,
                 random_state=5, shuffle=False, warm_start=True, verbose=1)
# scikit-learn's names of three of them, and the four fixed choices it accepts
ALIASES = dict(max_iter=4, batch_size=6, learning_rate_init=0.8, solver="sgd", activation="logistic",
               learning_rate="constant", momentum=0)


def _every_parameter_set(Est):
    """Two estimators that together give every parameter a value other than its default."""
    defaults = Est().get_params()
    own = Est(**OWN_NAMES)
    aliased = Est(**ALIASES, **{k: v for k, v in OWN_NAMES.items()
                                if k not in ("epochs", "mini_batch_size", "eta")})
    assert set(OWN_NAMES) | set(ALIASES) == set(defaults)  # a new parameter must be added here
    for est, names in ((own, OWN_NAMES), (aliased, ALIASES)):
        assert all(est.get_params()[k] != defaults[k] for k in names)
    return own, aliased


FITTED = ("loss_curve_", "validation_scores_", "best_validation_score_", "n_iter_", "t_", "loss_")


@pytest.mark.parametrize("Est", [MLPClassifier, MLPRegressor])
def test_a_pickled_estimator_with_every_parameter_set_continues_the_same_run(Est, digits, capsys):
    X, y = digits[0][:300], digits[1][:300]
    target = y if Est is MLPClassifier else y / 9.0
    for est in _every_parameter_set(Est):
        est.fit(X, target)
        back = pickle.loads(pickle.dumps(est))
        assert back.get_params() == est.get_params()
        for name in FITTED:
            assert getattr(back, name) == getattr(est, name), name
        est.fit(X, target)  # warm_start: both continue, with every parameter in force
        back.fit(X, target)
        assert back.network_.dtype == np.float32 and back.network_.cost == "cross-entropy"
        for a, b in zip(est.network_.weights, back.network_.weights):
            np.testing.assert_array_equal(a, b)
        for name in FITTED:
            assert getattr(back, name) == getattr(est, name), name
    assert "Validation score" in capsys.readouterr().out  # verbose travelled too


def test_a_run_resumed_from_a_checkpoint_with_every_value_set_matches_the_uninterrupted_run(tmp_path, digits):
    X, y = digits[0][:200], digits[1][:200]
    val = (digits[0][200:202], digits[1][200:202])  # two rows: accuracy plateaus, eta halves
    weights = np.random.default_rng(3).uniform(0.2, 2.0, len(y))

    def network():  # every constructor value away from its default (threads is not saved)
        return Network([64, 11, 10], seed=9, engine="reference", dtype="float32", cost="cross-entropy",
                       init="default")

    def fit(net, epochs, path, resume=False):
        return net.fit(X, y, epochs=epochs, mini_batch_size=7, eta=0.6, lmbda=0.4, validation_data=val,
                       early_stopping_n=50, eta_schedule_n=1, checkpoint=path, resume=resume,
                       sample_weight=weights, shuffle=False)

    whole = fit(network(), 8, tmp_path / "whole.npz")
    part = fit(network(), 4, tmp_path / "part.npz")
    saved = Network.load(tmp_path / "part.npz")
    assert (saved.sizes, saved.dtype, saved.cost, saved.init, saved.engine) == (
        [64, 11, 10], np.float32, "cross-entropy", "default", "reference")
    assert saved.fit_params_ == part.fit_params_ == {
        "mini_batch_size": 7, "eta": 0.6, "lmbda": 0.4, "early_stopping_n": 50, "eta_schedule_n": 1,
        "n_train": 200, "shuffle": False}
    assert saved._rule_state == part._rule_state and saved.history_ == part.history_
    resumed = fit(network(), 8, tmp_path / "part.npz", resume=True)
    assert resumed.history_["eta"] == whole.history_["eta"]
    assert len(set(whole.history_["eta"][:4])) > 1  # halved before the checkpoint: its state travelled
    np.testing.assert_array_equal(resumed._theta, whole._theta)
    drop = lambda h: {k: v for k, v in h.items() if k != "seconds"}  # noqa: E731
    assert drop(resumed.history_) == drop(whole.history_)
