"""The book's experiments in detail (fastnn.experiments): the networks they train, the lines they
log, the numbers they keep and the figures they draw.  Written against the mutants that survived
tests/test_experiments.py, each first run against its mutant and failed."""
import inspect
import time

import numpy as np
import pytest

from fastnn import Network, datasets, experiments


@pytest.fixture(scope="module")
def digits():
    return datasets.train_test_digits()


@pytest.fixture
def trained(monkeypatch):
    """Record every network an experiment builds and the arguments of its fit."""
    calls = []

    class Recording(Network):
        def __init__(self, sizes, **kwargs):
            super().__init__(sizes, **kwargs)
            calls.append({"sizes": list(sizes), **kwargs})

        def fit(self, X, y, **kwargs):
            calls[-1].update(rows=len(X), **{k: v for k, v in kwargs.items() if k != "validation_data"})
            calls[-1]["validation"] = kwargs.get("validation_data") is not None
            return super().fit(X, y, **kwargs)

    monkeypatch.setattr(experiments, "Network", Recording)
    return calls


def test_the_defaults_are_the_books_settings():
    # the module's docstring gives the book's values; SETTINGS["full"] repeats them
    book = {
        experiments.overfitting: dict(n_train=1000, epochs=400, lmbdas=(0.0, 0.1), eta=0.5,
                                      mini_batch_size=10, seed=12345678),
        experiments.weight_init: dict(epochs=30, hidden=30, eta=0.1, lmbda=5.0, mini_batch_size=10,
                                      seed=12345678),
        experiments.multiple_eta: dict(etas=(0.025, 0.25, 2.5), epochs=30, lmbda=5.0, mini_batch_size=10,
                                       seed=12345678),
        experiments.more_data: dict(train_sizes=(100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000),
                                    samples_per_size=1500000, eta=0.5, mini_batch_size=10, svm=False,
                                    seed=12345678),
        experiments.vanishing_gradient: dict(n_train=1000, epochs=500, hidden_layers=(2, 3, 4), eta=0.1,
                                             lmbda=5.0, seed=12345678),
    }
    for function, values in book.items():
        defaults = {name: p.default for name, p in inspect.signature(function).parameters.items()
                    if p.default is not inspect.Parameter.empty and name not in ("log", "X_test", "y_test")}
        assert defaults == values, function.__name__
    for name, function in experiments.FUNCTIONS.items():
        assert name in experiments.EXPERIMENTS
        full = experiments.SETTINGS[name]["full"]
        assert {k: v for k, v in book[function].items() if k in full} == full, name


def test_the_quick_settings_fit_the_digits(digits):
    # scaled down for scikit-learn's digits (1,297 training rows here): every size fits, and
    # the quick runs are shorter than the book's
    X_train = digits[0]
    quick = {name: s["quick"] for name, s in experiments.SETTINGS.items()}
    assert quick["overfitting"] == {"n_train": 300, "epochs": 200, "lmbdas": (0.0, 0.1)}
    assert quick["weight-init"] == {"epochs": 30} and quick["multiple-eta"] == {"epochs": 30}
    assert quick["more-data"] == {"train_sizes": (50, 100, 200, 500, 1000, 1297), "samples_per_size": 60000}
    assert quick["vanishing-gradient"] == {"n_train": 1000, "epochs": 200}
    assert max(quick["more-data"]["train_sizes"]) == len(X_train)


def test_the_books_numbers_are_consistent():
    book = experiments.BOOK
    fractions = [book["overfitting"][k][m] for k in ("lmbda 0.0", "lmbda 0.1")
                 for m in ("final test accuracy", "best test accuracy", "final training accuracy")]
    fractions += [v for k in ("default", "large") for v in book["weight-init"][k].values()]
    fractions += book["more-data"]["network accuracy"] + book["more-data"]["svm accuracy"]
    assert all(0 < f <= 1 for f in fractions)
    for lmbda in ("lmbda 0.0", "lmbda 0.1"):  # overfitting: the training data learnt by heart
        run = book["overfitting"][lmbda]
        assert run["final training accuracy"] == 1.0
        assert run["final test accuracy"] <= run["best test accuracy"]
    assert book["overfitting"]["lmbda 0.0"]["epoch of the lowest test cost"] == 14
    # regularisation helps; the new initialisation learns faster, to about the same end
    assert book["overfitting"]["lmbda 0.1"]["best test accuracy"] > book["overfitting"]["lmbda 0.0"]["best test accuracy"]
    new, old = book["weight-init"]["default"], book["weight-init"]["large"]
    assert new["accuracy after epoch 1"] > old["accuracy after epoch 1"] + 0.05
    assert abs(new["final accuracy"] - old["final accuracy"]) < 0.01
    costs = book["multiple-eta"]["final training cost"]
    assert list(costs) == ["0.025", "0.25", "2.5"] and all(0 < c < 1 for c in costs.values())
    assert costs["2.5"] > costs["0.25"]
    # more data: more accuracy, for the network and the SVM, at the sizes of the full setting
    more = book["more-data"]
    assert more["train_sizes"] == list(experiments.SETTINGS["more-data"]["full"]["train_sizes"])
    for key in ("network accuracy", "svm accuracy"):
        assert len(more[key]) == len(more["train_sizes"]) and more[key] == sorted(more[key])
    # vanishing gradient: each layer learns faster than the one before, and all slow down
    speeds = book["vanishing-gradient"]
    for depth in ("2", "3", "4"):
        for when in ("initial", "after 500 epochs"):
            row = speeds[when][depth]
            assert len(row) == int(depth) and row == sorted(row) and all(0 < s < 1 for s in row)
        assert all(a > b for a, b in zip(speeds["initial"][depth], speeds["after 500 epochs"][depth]))


def test_overfitting_trains_the_books_network_and_logs_its_lines(digits, trained):
    X, y, X_test, y_test = digits
    lines = []
    result = experiments.overfitting(X, y, X_test, y_test, n_train=60, epochs=3, lmbdas=(0.0, 0.5), log=lines.append)
    assert [c["sizes"] for c in trained] == [[64, 30, 10]] * 2
    for call, lmbda in zip(trained, (0.0, 0.5)):
        assert call == {"sizes": [64, 30, 10], "seed": 12345678, "cost": "cross-entropy", "init": "large",
                        "rows": 60, "epochs": 3, "mini_batch_size": 10, "eta": 0.5, "lmbda": lmbda,
                        "training_metrics": "exact", "validation": True}
    assert result["settings"] == dict(n_train=60, epochs=3, lmbdas=[0.0, 0.5], eta=0.5, mini_batch_size=10,
                                      seed=12345678)
    assert lines[:6] == expected_overfitting_lines(result["runs"][0], 3, 60, len(y_test))
    assert lines[6:] == expected_overfitting_lines(result["runs"][1], 3, 60, len(y_test))


def expected_overfitting_lines(run, epochs, n, n_test):
    acc = run["test_accuracy"]
    return [f"lmbda = {run['lmbda']}: Epoch {epochs - 1} training complete",
            f"Cost on training data: {run['training_cost'][-1]}",
            f"Accuracy on training data: {round(run['training_accuracy'][-1] * n)} / {n}",
            f"Cost on evaluation data: {run['test_cost'][-1]}",
            f"Accuracy on evaluation data: {round(acc[-1] * n_test)} / {n_test}",
            f"Best test accuracy {max(acc):.2%} after epoch {int(np.argmax(acc))}; lowest test cost "
            f"after epoch {int(np.argmin(run['test_cost']))}"]


def test_weight_init_trains_both_initialisations_alike(digits, trained):
    X, y, X_test, y_test = digits
    lines = []
    result = experiments.weight_init(X, y, X_test, y_test, epochs=3, hidden=7, log=lines.append)
    assert [c.pop("init") for c in trained] == ["default", "large"]
    for call in trained:
        assert call == {"sizes": [64, 7, 10], "seed": 12345678, "cost": "cross-entropy", "rows": len(X),
                        "epochs": 3, "mini_batch_size": 10, "eta": 0.1, "lmbda": 5.0,
                        "training_metrics": "none", "validation": True}
    n = len(y_test)
    for line, run in zip(lines, result["runs"]):
        acc = run["accuracy"]
        assert len(acc) == 3 and acc[1] != acc[2]
        assert line == (f"{run['init']} weights: accuracy after epoch 0: {round(acc[0] * n)} / {n}, "
                        f"after epoch 2: {round(acc[2] * n)} / {n}")
    assert result["settings"] == dict(epochs=3, hidden=7, eta=0.1, lmbda=5.0, mini_batch_size=10, seed=12345678)


def test_multiple_eta_trains_one_network_per_eta(digits, trained):
    X, y, X_test, y_test = digits
    lines = []
    result = experiments.multiple_eta(X, y, X_test, y_test, etas=(0.5, 0.05), epochs=3, log=lines.append)
    for call, eta in zip(trained, (0.5, 0.05)):
        assert call == {"sizes": [64, 30, 10], "seed": 12345678, "cost": "cross-entropy", "init": "default",
                        "rows": len(X), "epochs": 3, "mini_batch_size": 10, "eta": eta, "lmbda": 5.0,
                        "training_metrics": "exact", "validation": False}
    assert [r["eta"] for r in result["runs"]] == [0.5, 0.05] and len(trained) == 2
    for line, run in zip(lines, result["runs"]):
        cost = run["training_cost"]
        assert len(cost) == 3 and f"{cost[1]:.4f}" != f"{cost[2]:.4f}"
        assert line == (f"eta = {run['eta']}: cost on training data after epoch 0: {cost[0]:.4f}, "
                        f"after epoch 2: {cost[2]:.4f}")


def test_more_data_trains_each_size_for_the_same_samples(digits, trained):
    X, y, X_test, y_test = digits
    lines = []
    result = experiments.more_data(X, y, X_test, y_test, train_sizes=(20, 50, 90), samples_per_size=100,
                                   log=lines.append)
    # epochs = samples // size (at least 1), lmbda = size / 10,000, a new seed per size
    expected = [(20, 5, 0.002, 12345678), (50, 2, 0.005, 12345679), (90, 1, 0.009, 12345680)]
    for call, (size, epochs, lmbda, seed) in zip(trained, expected):
        assert call == {"sizes": [64, 30, 10], "seed": seed, "cost": "cross-entropy", "init": "large",
                        "rows": size, "epochs": epochs, "mini_batch_size": 10, "eta": 0.5,
                        "lmbda": pytest.approx(lmbda, rel=1e-12), "training_metrics": "none", "validation": False}
    assert [(r["size"], r["epochs"]) for r in result["runs"]] == [(20, 5), (50, 2), (90, 1)]
    assert [r["lmbda"] for r in result["runs"]] == pytest.approx([0.002, 0.005, 0.009], rel=1e-12)
    assert lines == [f"Training set size {r['size']} ({r['epochs']} epochs): accuracy {r['accuracy']:.2%}"
                     for r in result["runs"]]


def test_more_data_keeps_a_size_equal_to_the_data(digits, trained):
    X, y, X_test, y_test = digits
    lines = []
    result = experiments.more_data(X[:40], y[:40], X_test, y_test, train_sizes=(40, 41), samples_per_size=40,
                                   log=lines.append)
    assert [r["size"] for r in result["runs"]] == [40]
    assert lines[0] == "Skipping the sizes [41]: the training set has 40 rows"


def test_vanishing_gradient_trains_full_batches_and_logs_the_speeds(digits, trained, monkeypatch):
    import types

    X, y, X_test, y_test = digits
    lines = []
    calls = iter(range(1000))  # a clock whose every reading advances more than the last
    monkeypatch.setattr(experiments, "time", types.SimpleNamespace(perf_counter=lambda: float(next(calls)) ** 2))
    result = experiments.vanishing_gradient(X, y, X_test, y_test, n_train=50, epochs=3, hidden_layers=(1, 6),
                                            log=lines.append)
    for call, depth in zip(trained, (1, 6)):
        assert call == {"sizes": [64] + [30] * depth + [10], "seed": 12345678, "cost": "cross-entropy",
                        "init": "default", "rows": 50, "epochs": 3, "mini_batch_size": 50, "eta": 0.1,
                        "lmbda": 5.0, "record_layer_speeds": True, "training_metrics": "none",
                        "validation": False}
    assert lines[0] == f"One hidden layers: {[64, 30, 10]}"
    assert lines[3] == f"6 hidden layers: {[64] + [30] * 6 + [10]}"
    for k, run in enumerate(result["runs"]):
        assert lines[3 * k + 1] == f"Average gradient for the hidden layers: {[round(s, 4) for s in run['initial']]}"
        assert lines[3 * k + 2].startswith("After 3 epochs: [")
        assert lines[3 * k + 2].endswith(f"] ({run['seconds']:.1f} s)")
        assert len(run["speeds"]) == 3
    assert result["runs"][0]["seconds"] != result["runs"][1]["seconds"]
    assert result["settings"] == dict(n_train=50, epochs=3, hidden_layers=[1, 6], eta=0.1, lmbda=5.0, seed=12345678)


def test_too_few_rows_are_refused_and_exactly_enough_are_taken(digits):
    X, y, X_test, y_test = digits
    with pytest.raises(ValueError, match="overfitting needs 41 training rows, the data has 40"):
        experiments.overfitting(X[:40], y[:40], X_test, y_test, n_train=41, epochs=1, log=None)
    result = experiments.overfitting(X[:40], y[:40], X_test, y_test, n_train=40, epochs=1, lmbdas=(0.0,), log=None)
    assert len(result["runs"]) == 1


def test_run_applies_the_quick_or_full_settings_and_the_overrides(digits, monkeypatch):
    seen = []
    monkeypatch.setitem(experiments.FUNCTIONS, "overfitting", lambda *data, **kw: seen.append(kw) or kw)
    experiments.run("overfitting", *digits, log=None)
    experiments.run("overfitting", *digits, full=True, log=None, epochs=3)
    assert seen == [{"log": None, "n_train": 300, "epochs": 200, "lmbdas": (0.0, 0.1)},
                    {"log": None, "n_train": 1000, "epochs": 3, "lmbdas": (0.0, 0.1)}]


def lines_of(ax):
    return [(list(line.get_xdata()), list(line.get_ydata()), line.get_label()) for line in ax.get_lines()]


def test_the_figures_draw_the_results():
    runs = [{"lmbda": 0.0, "training_cost": [3.0, 2.0], "training_accuracy": [0.5, 0.75],
             "test_cost": [4.0, 3.5], "test_accuracy": [0.25, 0.5]},
            {"lmbda": 0.1, "training_cost": [3.5, 2.5], "training_accuracy": [0.25, 1.0],
             "test_cost": [4.5, 3.0], "test_accuracy": [0.5, 0.75]}]
    fig = experiments.figure({"experiment": "overfitting", "runs": runs})
    assert tuple(fig.get_size_inches()) == (10, 7)
    axes = fig.get_axes()
    assert [ax.get_title() for ax in axes] == ["Cost on the training data", "Accuracy (%) on the test data",
                                               "Cost on the test data", "Accuracy (%) on the training data"]
    assert lines_of(axes[0]) == [([0, 1], [3.0, 2.0], "lmbda = 0"), ([0, 1], [3.5, 2.5], "lmbda = 0.1")]
    assert lines_of(axes[1])[1] == ([0, 1], [50.0, 75.0], "lmbda = 0.1")
    assert lines_of(axes[3])[0] == ([0, 1], [50.0, 75.0], "lmbda = 0")
    assert all(ax.get_xlabel() == "Epoch" and ax.get_legend() is not None for ax in axes)

    fig = experiments.figure({"experiment": "weight-init", "runs": [
        {"init": "default", "accuracy": [0.5, 0.75]}, {"init": "large", "accuracy": [0.25, 0.5]}]})
    assert tuple(fig.get_size_inches()) == (6.4, 4.4)
    (ax,) = fig.get_axes()
    assert lines_of(ax) == [([0, 1], [25.0, 50.0], "Old approach to weight initialization"),
                            ([0, 1], [50.0, 75.0], "New approach to weight initialization")]
    assert ax.get_title() == "Classification accuracy" and ax.get_xlabel() == "Epoch"

    fig = experiments.figure({"experiment": "multiple-eta", "runs": [{"eta": 0.25, "training_cost": [2.0, 1.0]}]})
    (ax,) = fig.get_axes()
    assert lines_of(ax) == [([0, 1], [2.0, 1.0], "$\\eta$ = 0.25")]
    (line,) = ax.get_lines()  # the book's small round markers on a line
    assert (line.get_marker(), line.get_markersize(), line.get_linestyle()) == ("o", 3, "-")
    assert ax.get_ylabel() == "Cost" and ax.get_xlabel() == "Epoch"

    more = [{"size": 10, "accuracy": 0.5, "svm_accuracy": 0.25}, {"size": 100, "accuracy": 0.75, "svm_accuracy": 0.5}]
    (ax,) = experiments.figure({"experiment": "more-data", "runs": more}).get_axes()
    assert lines_of(ax) == [([10, 100], [50.0, 75.0], "Neural network accuracy (%)"),
                            ([10, 100], [25.0, 50.0], "SVM accuracy (%)")]
    assert ax.get_xscale() == "log" and ax.get_xlabel() == "Training set size"
    (ax,) = experiments.figure({"experiment": "more-data", "runs": [{"size": 10, "accuracy": 0.5}]}).get_axes()
    assert len(ax.get_lines()) == 1

    speeds = [{"speeds": [[0.1, 0.2], [0.05, 0.1]]}, {"speeds": [[0.1, 0.2, 0.3]]}]
    fig = experiments.figure({"experiment": "vanishing-gradient", "runs": speeds})
    assert tuple(fig.get_size_inches()) == (10.4, 4.0)
    assert [len(ax.get_lines()) for ax in fig.get_axes()] == [2, 3]


def test_the_weight_init_figure_puts_the_old_approach_first_after_a_json_round_trip():
    import json

    # strings read back from JSON are new objects, not the interned literals of the code
    result = json.loads(json.dumps({"experiment": "weight-init", "runs": [
        {"init": "default", "accuracy": [0.5, 0.75]}, {"init": "large", "accuracy": [0.25, 0.5]}]}))
    (ax,) = experiments.figure(result).get_axes()
    assert [label for _, _, label in lines_of(ax)] == ["Old approach to weight initialization",
                                                      "New approach to weight initialization"]


def test_vanishing_gradient_names_each_depth_and_times_each_run(digits):
    X, y, X_test, y_test = digits
    lines = []
    start = time.perf_counter()
    result = experiments.vanishing_gradient(X, y, X_test, y_test, n_train=20, epochs=1,
                                            hidden_layers=(2, 3, 4, 5), log=lines.append)
    assert result["seconds"] <= time.perf_counter() - start
    assert [line.split(":")[0] for line in lines[::3]] == ["Two hidden layers", "Three hidden layers",
                                                         "Four hidden layers", "Five hidden layers"]
    assert all(0 < run["seconds"] <= result["seconds"] for run in result["runs"])
    assert sum(run["seconds"] for run in result["runs"]) <= result["seconds"]


def test_every_figure_has_a_grid():
    results = [{"experiment": "weight-init", "runs": [{"init": "large", "accuracy": [0.5]}]},
               {"experiment": "multiple-eta", "runs": [{"eta": 0.25, "training_cost": [2.0, 1.0]}]},
               {"experiment": "more-data", "runs": [{"size": 10, "accuracy": 0.5}]},
               {"experiment": "overfitting", "runs": [{"lmbda": 0.0, "training_cost": [1.0], "training_accuracy": [0.5],
                                                       "test_cost": [1.0], "test_accuracy": [0.5]}]},
               {"experiment": "vanishing-gradient", "runs": [{"speeds": [[0.1, 0.2]]}]}]
    for result in results:
        for ax in experiments.figure(result).get_axes():
            assert ax.get_xgridlines() and all(line.get_visible() for line in ax.get_xgridlines()), result["experiment"]


def test_the_options_are_keyword_only():
    for function in experiments.FUNCTIONS.values():
        params = list(inspect.signature(function).parameters.values())
        assert [p.name for p in params[:4]] == ["X_train", "y_train", "X_test", "y_test"]
        assert all(p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD for p in params[:4]), function.__name__
        assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params[4:]), function.__name__
    kinds = {name: p.kind for name, p in inspect.signature(experiments.run).parameters.items()}
    assert kinds["full"] is kinds["log"] is inspect.Parameter.KEYWORD_ONLY


def test_more_data_trains_a_size_larger_than_its_samples_for_one_epoch(digits):
    X, y, X_test, y_test = digits
    result = experiments.more_data(X, y, X_test, y_test, train_sizes=(150,), samples_per_size=100, log=None)
    assert [(r["size"], r["epochs"]) for r in result["runs"]] == [(150, 1)]


def test_a_figure_of_an_unknown_experiment_is_refused_whatever_its_name():
    for name in ("dropout", "nonsense", "zzz", ""):  # before and after the known names in sort order
        with pytest.raises(ValueError, match="unknown experiment"):
            experiments.figure({"experiment": name, "runs": []})


def test_targets_of_more_than_two_dimensions_are_refused_by_their_shape(digits):
    # before, a 3-D y sized the network from its largest value (a width of 2 for one-hot
    # targets) and the error named that width
    X, y, X_test, y_test = digits
    for experiment in (experiments.weight_init, experiments.more_data):
        with pytest.raises(ValueError, match=r"y must be int labels of shape \(n,\) or one-hot targets of "
                                             r"shape \(n, n_out\), got shape \(1297, 10, 1\)"):
            experiment(X, np.eye(10)[y][:, :, None], X_test, y_test, log=None)
