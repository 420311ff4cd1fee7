"""The book's experiments (``fastnn.experiments``) and their command, ``fastnn book``, on tiny settings."""
import json

import numpy as np
import pytest
from PIL import Image

from fastnn import Network, datasets, experiments
from fastnn.cli import main


@pytest.fixture(scope="module")
def digits():
    return datasets.train_test_digits()


TINY = {
    "overfitting": {"n_train": 60, "epochs": 3, "lmbdas": (0.0, 0.1)},
    "weight-init": {"epochs": 2},
    "multiple-eta": {"epochs": 2},
    "more-data": {"train_sizes": (20, 40, 5000), "samples_per_size": 400, "svm": True},
    "vanishing-gradient": {"n_train": 100, "epochs": 4, "hidden_layers": (2, 3)},
}


@pytest.mark.parametrize("name", experiments.EXPERIMENTS)
def test_each_experiment_runs_and_draws(name, digits, tmp_path):
    lines = []
    result = experiments.run(name, *digits, log=lines.append, **TINY[name])
    assert result["experiment"] == name and result["book"] == experiments.BOOK[name]
    assert lines and result["runs"]
    experiments.save_json(result, tmp_path / "r.json")
    again = json.loads((tmp_path / "r.json").read_text())
    assert again["runs"] == json.loads(json.dumps(result["runs"]))
    experiments.save_figure(again, tmp_path / "r.png")
    with Image.open(tmp_path / "r.png") as image:
        image.load()
        assert image.format == "PNG"


def test_overfitting_records_the_books_four_lists(digits):
    result = experiments.run("overfitting", *digits, log=None, **TINY["overfitting"])
    assert [r["lmbda"] for r in result["runs"]] == [0.0, 0.1]
    for run in result["runs"]:
        for key in ("training_cost", "training_accuracy", "test_cost", "test_accuracy"):
            assert len(run[key]) == 3
    # the same network trained by hand: network2.py's monitored numbers after the last epoch
    X, y, X_test, y_test = digits
    net = Network([64, 30, 10], seed=12345678, cost="cross-entropy", init="large")
    net.fit(X[:60], y[:60], epochs=3, mini_batch_size=10, eta=0.5, lmbda=0.1)
    assert result["runs"][1]["test_accuracy"][-1] == net.score(X_test, y_test)


def test_vanishing_gradient_matches_layer_speeds(digits):
    X, y, _, _ = digits
    result = experiments.run("vanishing-gradient", *digits, log=None, **TINY["vanishing-gradient"])
    assert [r["sizes"] for r in result["runs"]] == [[64, 30, 30, 10], [64, 30, 30, 30, 10]]
    for run in result["runs"]:
        net = Network(run["sizes"], seed=12345678, cost="cross-entropy", init="default")
        np.testing.assert_allclose(run["initial"], net.layer_speeds(X[:100], y[:100]), rtol=1e-12)
        assert len(run["speeds"]) == 4 and run["speeds"][0] == run["initial"]


def test_more_data_skips_sizes_beyond_the_data(digits):
    lines = []
    result = experiments.run("more-data", *digits, log=lines.append, **TINY["more-data"])
    assert [r["size"] for r in result["runs"]] == [20, 40]
    assert [r["epochs"] for r in result["runs"]] == [20, 10]
    assert "Skipping the sizes [5000]" in lines[0]
    assert all(0 <= r["svm_accuracy"] <= 1 for r in result["runs"])


def test_bad_requests_are_refused(digits):
    with pytest.raises(ValueError, match="unknown experiment"):
        experiments.run("dropout", *digits)
    with pytest.raises(ValueError, match="needs 5000 training rows"):
        experiments.run("vanishing-gradient", *digits, n_train=5000, log=None)
    with pytest.raises(ValueError, match="unknown experiment"):
        experiments.figure({"experiment": "dropout", "runs": []})


def test_cli_book_writes_the_figure_and_the_json(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(experiments.SETTINGS["vanishing-gradient"], "quick", TINY["vanishing-gradient"])
    assert main(["book", "vanishing-gradient", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "Two hidden layers" in out and "Average gradient for the hidden layers: [" in out
    saved = json.loads((tmp_path / "book-vanishing-gradient.json").read_text())
    assert saved["data"] == {"spec": "digits", "n_train": 1297, "n_test": 500}
    assert len(saved["runs"]) == 2
    with Image.open(tmp_path / "book-vanishing-gradient.png") as image:
        image.load()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["book-vanishing-gradient.json",
                                                         "book-vanishing-gradient.png"]


def test_cli_book_refuses_bad_options(tmp_path, capsys):
    assert main(["book", "overfitting", "--out", str(tmp_path / "missing")]) == 2
    assert "not an existing folder" in capsys.readouterr().err
    assert main(["book", "overfitting", "--svm", "--out", str(tmp_path)]) == 2
    assert "more-data" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["book", "dropout"])
    assert list(tmp_path.iterdir()) == []


def test_cli_train_plot_units(tmp_path, capsys):
    path = tmp_path / "units.png"
    assert main(["train", "--epochs", "1", "--no-progress", "--plot-units", str(path)]) == 0
    assert f"Wrote the hidden units' weights to {path}" in capsys.readouterr().out
    with Image.open(path) as image:
        image.load()
        assert image.format == "PNG"


def test_one_hot_targets_work_like_labels(digits):
    X, y, X_test, y_test = digits
    one_hot = np.eye(10)[y], np.eye(10)[y_test]
    kwargs = {"train_sizes": (30,), "samples_per_size": 60, "svm": True}
    by_labels = experiments.run("more-data", X, y, X_test, y_test, log=None, **kwargs)["runs"]
    by_one_hot = experiments.run("more-data", X, one_hot[0], X_test, one_hot[1], log=None, **kwargs)["runs"]
    assert by_labels == by_one_hot
