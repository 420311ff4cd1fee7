"""scikit-learn's parameter names on fastnn.sklearn's estimators: the ones with an exact meaning
in fastnn train exactly as fastnn's own names, the others are refused with the name to use."""
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

from fastnn.datasets import load_digits
from fastnn.sklearn import MLPClassifier, MLPRegressor

GUIDE = "docs/guide/sklearn.md"


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits()
    return X[:240], y[:240]


def fitted_theta(est, X, y):
    return est.fit(X, y).network_._theta.copy()


# --------------------------------------------------------------------------- accepted names

ALIASES = [
    (dict(max_iter=3), dict(epochs=3)),
    (dict(batch_size=7, epochs=2), dict(mini_batch_size=7, epochs=2)),
    (dict(learning_rate_init=0.5, epochs=2), dict(eta=0.5, epochs=2)),
    # scikit-learn's "auto": min(200, n) rows per mini-batch (240 rows here)
    (dict(batch_size="auto", epochs=2), dict(mini_batch_size=200, epochs=2)),
    (dict(solver="sgd", activation="logistic", learning_rate="constant", momentum=0, epochs=2),
     dict(epochs=2)),
    (dict(max_iter=2, batch_size=20, learning_rate_init=1.0, solver="sgd"),
     dict(epochs=2, mini_batch_size=20, eta=1.0)),
]


@pytest.mark.parametrize("Estimator", [MLPClassifier, MLPRegressor])
@pytest.mark.parametrize("sklearn_names, fastnn_names", ALIASES)
def test_an_alias_trains_exactly_as_fastnns_name(digits, Estimator, sklearn_names, fastnn_names):
    X, y = digits
    y = y if Estimator is MLPClassifier else y.astype(float)
    ours = fitted_theta(Estimator(random_state=0, **fastnn_names), X, y)
    theirs = fitted_theta(Estimator(random_state=0, **sklearn_names), X, y)
    assert np.array_equal(ours, theirs)
    # and the names do matter: another value trains differently
    assert not np.array_equal(ours, fitted_theta(Estimator(random_state=0, epochs=1), X, y))


def test_auto_batch_size_is_the_rows_when_fewer_than_200(digits):
    X, y = digits
    small = fitted_theta(MLPClassifier(batch_size="auto", epochs=2, random_state=0), X[:50], y[:50])
    assert np.array_equal(small, fitted_theta(MLPClassifier(mini_batch_size=50, epochs=2, random_state=0),
                                              X[:50], y[:50]))


def test_aliases_survive_get_params_clone_and_set_params():
    est = MLPClassifier((12,), max_iter=4, batch_size=16, learning_rate_init=0.25, solver="sgd",
                        activation="logistic", learning_rate="constant", momentum=0.0)
    params = est.get_params()
    assert params["max_iter"] == 4 and params["batch_size"] == 16 and params["momentum"] == 0.0
    assert params["epochs"] == 30  # stored unchanged: the alias is resolved at fit
    copy = clone(est)
    assert copy.get_params() == params
    copy.set_params(max_iter=2, learning_rate_init=None)
    assert copy.max_iter == 2 and copy.learning_rate_init is None
    assert MLPClassifier().get_params()["max_iter"] is None


def test_grid_search_over_an_alias(digits):
    X, y = digits
    search = GridSearchCV(MLPClassifier((10,), random_state=0), {"max_iter": [1, 3]}, cv=2)
    search.fit(X, y)
    assert {p["max_iter"] for p in search.cv_results_["params"]} == {1, 3}
    assert search.best_estimator_.n_iter_ == search.best_params_["max_iter"]


def test_both_names_given_is_refused_at_fit(digits):
    X, y = digits
    with pytest.raises(ValueError, match=r"both epochs=5 and scikit-learn's max_iter=3.*give one of them"):
        MLPClassifier(epochs=5, max_iter=3).fit(X, y)
    with pytest.raises(ValueError, match=r"both eta=0\.5 and scikit-learn's learning_rate_init=1\.0"):
        MLPClassifier(eta=0.5, learning_rate_init=1.0).fit(X, y)
    # the same value twice is no conflict
    a = fitted_theta(MLPClassifier(epochs=2, max_iter=2, random_state=0), X, y)
    assert np.array_equal(a, fitted_theta(MLPClassifier(epochs=2, random_state=0), X, y))


def test_a_bad_alias_value_names_the_alias(digits):
    X, y = digits
    with pytest.raises(ValueError, match=r"^max_iter must be >= 0, got -1"):
        MLPClassifier(max_iter=-1).fit(X, y)
    with pytest.raises(TypeError, match=r"^batch_size must be an integer, got 'big'"):
        MLPClassifier(batch_size="big").fit(X, y)
    with pytest.raises(ValueError, match=r"^learning_rate_init must be > 0"):
        MLPClassifier(learning_rate_init=0.0).fit(X, y)


# --------------------------------------------------------------------------- refused names

@pytest.mark.parametrize("param, value, fastnn_name", [
    ("solver", "adam", "sgd"),
    ("solver", "lbfgs", "sgd"),
    ("activation", "relu", "sigmoid"),
    ("activation", "tanh", "sigmoid"),
    ("learning_rate", "adaptive", "eta_schedule_n"),
    ("momentum", 0.9, "momentum=0"),
])
@pytest.mark.parametrize("Estimator", [MLPClassifier, MLPRegressor])
def test_a_choice_fastnn_does_not_make_is_refused_at_fit(digits, Estimator, param, value, fastnn_name):
    X, y = digits
    est = Estimator(**{param: value})  # scikit-learn's rule: __init__ stores, fit validates
    with pytest.raises(ValueError) as info:
        est.fit(X, y)
    message = str(info.value)
    assert f"{Estimator.__name__}({param}={value!r}) is not available" in message
    assert fastnn_name in message and GUIDE in message
    assert not hasattr(est, "network_")


@pytest.mark.parametrize("param, value, fastnn_name", [
    ("alpha", 1e-4, "lmbda = alpha * n / mini_batch_size"),
    ("loss", "squared_error", "cost='quadratic'"),
    ("beta_1", 0.9, "solver='sgd'"),
    ("epsilon", 1e-8, "solver='sgd'"),
    ("nesterovs_momentum", True, "momentum=0"),
    ("power_t", 0.5, "eta is constant"),
    ("max_fun", 15000, "solver='sgd'"),
])
@pytest.mark.parametrize("Estimator", [MLPClassifier, MLPRegressor])
def test_a_parameter_with_no_fastnn_meaning_is_refused(Estimator, param, value, fastnn_name):
    with pytest.raises(TypeError) as info:
        Estimator(**{param: value})
    message = str(info.value)
    assert message.startswith(f"{Estimator.__name__}({param}=...) is not supported")
    assert fastnn_name in message and GUIDE in message
    assert "_BaseMLP" not in message
    with pytest.raises(TypeError, match=rf"{param}=\.\.\.\) is not supported"):
        Estimator().set_params(**{param: value})


def test_an_unknown_keyword_names_the_public_class():
    with pytest.raises(TypeError, match=r"^MLPRegressor\(\) got an unexpected keyword argument 'hiden'$"):
        MLPRegressor(hiden=(3,))
