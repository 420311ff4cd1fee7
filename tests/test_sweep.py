"""fastnn.sweep: the same scores serially and on a real Dask LocalCluster (2 worker processes)."""
import json
import pickle
import sys

import numpy as np
import pytest
from scipy.stats import loguniform, randint
from sklearn.exceptions import FitFailedWarning
from sklearn.model_selection import ParameterSampler

import fastnn
from fastnn import _progress
from fastnn._guards import DivergenceError
from fastnn.cli import main
from fastnn.sweep import best_row, format_table, sweep

distributed = pytest.importorskip("distributed")

GRID = {"eta": [0.5, 3.0], "hidden_layer_sizes": [(10,), (20,)]}
SWEEP_ARGS = {"epochs": 3, "random_state": 0, "cv": 3}
PARAM_COLUMNS = ["eta", "hidden_layer_sizes"]


def _records(table):
    return table.to_dict("records") if hasattr(table, "to_dict") else list(table)


def _without_seconds(table):
    """Rows minus the (machine-dependent) timing column."""
    return [{k: v for k, v in row.items() if k != "seconds"} for row in _records(table)]


def _kernel_signatures():
    """Compiled signatures of every Numba dispatcher loaded from fastnn.kernels (run on a worker)."""
    out = {}
    for name, module in list(sys.modules.items()):
        if name.startswith("fastnn.kernels.") and module is not None:
            for attr, obj in vars(module).items():
                sigs = getattr(obj, "signatures", None)
                if sigs and hasattr(obj, "py_func"):
                    out[f"{name}.{attr}"] = [str(s) for s in sigs]
    return out


@pytest.fixture(scope="module")
def data(digits):
    X, y = digits
    return X[:450], y[:450]


@pytest.fixture(scope="module")
def serial(data):
    return sweep(GRID, *data, client=False, **SWEEP_ARGS)


@pytest.fixture(scope="module")
def client(dask_client):
    """The LocalCluster of 2 worker processes (conftest.py) for this module."""
    return dask_client


def test_serial_table(serial):
    rows = _records(serial)
    assert [(r["eta"], r["hidden_layer_sizes"]) for r in rows] == [
        (0.5, (10,)), (0.5, (20,)), (3.0, (10,)), (3.0, (20,))]
    scores = np.array([r["score"] for r in rows])
    assert ((scores > 0.1) & (scores <= 1)).all()
    assert len(set(scores.tolist())) > 1  # the configurations really differ
    assert all(r["seconds"] > 0 for r in rows)


def test_serial_scores_are_cross_val_scores(serial, data):
    from sklearn.model_selection import cross_val_score

    from fastnn.sklearn import MLPClassifier

    row = _records(serial)[3]
    est = MLPClassifier(hidden_layer_sizes=row["hidden_layer_sizes"], eta=row["eta"],
                        epochs=SWEEP_ARGS["epochs"], random_state=0)
    assert row["score"] == np.mean(cross_val_score(est, *data, cv=3))


def test_cluster_equals_serial(client, data, serial):
    on_cluster = sweep(GRID, *data, client=client, **SWEEP_ARGS)
    assert _without_seconds(on_cluster) == _without_seconds(serial)
    assert client.status == "running"  # a user's Client is left open


def test_scheduler_address_equals_serial(client, data, serial):
    by_address = sweep(GRID, *data, client=client.scheduler.address, **SWEEP_ARGS)
    assert _without_seconds(by_address) == _without_seconds(serial)


def test_workers_load_each_kernel_once(client, data):
    """After warm-up and the tasks, each worker holds one float64 specialisation per
    kernel: scattered (possibly read-only) data did not trigger a second compilation."""
    sweep(GRID, *data, client=client, **SWEEP_ARGS)
    per_worker = client.run(_kernel_signatures)
    assert len(per_worker) == 2
    for worker, kernels in per_worker.items():
        assert kernels, f"{worker} has no compiled fastnn kernel"
        for name, sigs in kernels.items():
            assert len(sigs) == 1, f"{worker}: {name} compiled {len(sigs)} times: {sigs}"
            assert "readonly" not in sigs[0]


def test_embedded_local_cluster(data, serial):
    """client=None starts (and closes) its own 2-process LocalCluster."""
    small = {"eta": [3.0], "hidden_layer_sizes": [(10,), (20,)]}
    embedded = sweep(small, *data, client=None, **SWEEP_ARGS)
    expected = [r for r in _without_seconds(serial) if r["eta"] == 3.0]
    assert _without_seconds(embedded) == expected


def test_list_of_dicts_without_pandas(monkeypatch, data, serial):
    monkeypatch.setattr(sys.modules["fastnn.sweep"], "_pandas", lambda: None)  # as if not installed
    table = sweep(GRID, *data, client=False, **SWEEP_ARGS)
    assert isinstance(table, list) and all(isinstance(r, dict) for r in table)
    assert list(table[0]) == PARAM_COLUMNS + ["score", "score_std", "seconds", "error"]
    assert all(r["error"] is None for r in table)
    assert _without_seconds(table) == _without_seconds(serial)
    text = format_table(table).splitlines()
    assert text[0].split() == PARAM_COLUMNS + ["score", "score_std", "seconds"]  # no failure: no error column
    assert len(text) == 1 + len(table)
    best = best_row(table)
    assert best["score"] == max(r["score"] for r in table)
    assert f"{best['score']:.4f}" in "\n".join(text)


def test_format_table_same_for_dataframe_and_list(serial):
    pytest.importorskip("pandas")
    assert format_table(serial) == format_table(_records(serial))
    assert best_row(serial) == best_row(_records(serial))


def test_grid_overrides_epochs(data):
    rows = _records(sweep({"epochs": [1, 2], "hidden_layer_sizes": [(5,)]}, *data, client=False,
                          epochs=50, cv=2))
    assert [r["epochs"] for r in rows] == [1, 2]
    assert rows[0]["score"] != rows[1]["score"]


def test_package_exports_the_function():
    assert fastnn.sweep is sweep


@pytest.mark.parametrize("kwargs, exc, match", [
    ({"client": 42}, TypeError, "client"),
    ({"client": False, "param_grid": {"learning_speed": [1.0]}}, ValueError, "unknown"),
    ({"client": False, "param_grid": "eta"}, TypeError, "param_grid"),
])
def test_bad_arguments(data, kwargs, exc, match):
    kwargs = {"param_grid": GRID, **kwargs}
    with pytest.raises(exc, match=match):
        sweep(kwargs.pop("param_grid"), *data, epochs=1, **kwargs)


def test_cli_sweep_serial(capsys):
    assert main(["sweep", "--serial", "--epochs", "1", "--cv", "2"]) == 0
    out = capsys.readouterr().out
    assert "8 configurations x 2 folds" in out
    assert out.count("\n") >= 11  # summary, header, 8 rows, best
    assert "best: {" in out and "test accuracy" in out


# --------------------------------------------------------------------------- failing configurations

FAILING_GRID = {"eta": [-1.0, 3.0, 1e300], "hidden_layer_sizes": [(10,)]}  # invalid, fine, diverges


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")  # eta=1e300, before it diverges
def test_failing_configurations_get_nan_and_their_error(data, serial):
    with pytest.warns(FitFailedWarning) as caught:
        rows = _records(sweep(FAILING_GRID, *data, client=False, **SWEEP_ARGS))
    failed = [w for w in caught if issubclass(w.category, FitFailedWarning)]
    assert len(failed) == 1 and "2 of 3 configurations failed" in str(failed[0].message)
    invalid, fine, diverged = rows
    assert np.isnan(invalid["score"]) and np.isnan(invalid["score_std"])
    assert invalid["error"] == "ValueError: eta must be > 0, got -1.0"
    assert np.isnan(diverged["score"])
    assert diverged["error"].startswith("DivergenceError: training diverged in epoch 0")
    expected = next(r for r in _without_seconds(serial) if r["eta"] == 3.0 and r["hidden_layer_sizes"] == (10,))
    assert _without_seconds([fine]) == [expected]


def test_error_score_number_and_raise(data):
    grid = {"eta": [-1.0, 3.0], "hidden_layer_sizes": [(10,)]}
    with pytest.warns(FitFailedWarning):
        rows = _records(sweep(grid, *data, client=False, error_score=-1, **SWEEP_ARGS))
    assert (rows[0]["score"], rows[0]["score_std"]) == (-1.0, 0.0)
    assert best_row(rows) is rows[1]
    with pytest.raises(ValueError, match="eta must be > 0"):
        sweep(grid, *data, client=False, error_score="raise", **SWEEP_ARGS)


def test_best_row_skips_failed_rows():
    rows = [{"eta": 1, "score": np.nan}, {"eta": 2, "score": 0.5}, {"eta": 3, "score": 0.7}]
    assert best_row(rows)["eta"] == 3
    with pytest.raises(ValueError, match="every configuration"):
        best_row(rows[:1])


def test_format_table_shows_errors():
    rows = [{"eta": -1.0, "score": np.nan, "score_std": np.nan, "seconds": np.nan,
             "error": "ValueError: eta must be > 0, got -1.0"},
            {"eta": 3.0, "score": 0.9, "score_std": 0.01, "seconds": 0.1, "error": None}]
    lines = format_table(rows).splitlines()
    assert lines[0].split() == ["eta", "score", "score_std", "seconds", "error"]
    assert lines[1].endswith("ValueError: eta must be > 0, got -1.0")
    assert lines[2].split() == ["3.0", "0.9000", "0.0100", "0.100"]


def test_divergence_error_survives_pickle():
    """A worker sends a configuration's DivergenceError back to the client by pickle."""
    err = pickle.loads(pickle.dumps(DivergenceError("training diverged in epoch 2", 2)))
    assert isinstance(err, DivergenceError) and err.epoch == 2
    assert str(err) == "training diverged in epoch 2"


# --------------------------------------------------------------------------- random search

DISTRIBUTIONS = {"eta": loguniform(0.1, 10.0), "mini_batch_size": randint(5, 40),
                 "hidden_layer_sizes": [(10,), (20,)]}


def test_random_search_is_reproducible_and_samples_like_sklearn(data):
    kwargs = {"n_iter": 4, "client": False, "epochs": 1, "cv": 2}
    first = _records(sweep(DISTRIBUTIONS, *data, random_state=3, **kwargs))
    again = _records(sweep(DISTRIBUTIONS, *data, random_state=3, **kwargs))
    assert _without_seconds(first) == _without_seconds(again)
    sampled = list(ParameterSampler(DISTRIBUTIONS, 4, random_state=3))
    assert [{k: r[k] for k in ("eta", "hidden_layer_sizes", "mini_batch_size")} for r in first] == sampled
    assert all(type(r["eta"]) is float and type(r["mini_batch_size"]) is int for r in first)
    assert len({r["eta"] for r in first}) == 4
    other = _records(sweep(DISTRIBUTIONS, *data, random_state=4, **kwargs))
    assert [r["eta"] for r in other] != [r["eta"] for r in first]


def test_random_search_of_lists_samples_without_replacement(data):
    rows = _records(sweep(GRID, *data, n_iter=3, client=False, **SWEEP_ARGS))
    picked = [(r["eta"], r["hidden_layer_sizes"]) for r in rows]
    assert len(set(picked)) == 3
    by_config = {(r["eta"], r["hidden_layer_sizes"]): r["score"] for r in _records(sweep(GRID, *data, client=False, **SWEEP_ARGS))}
    assert [r["score"] for r in rows] == [by_config[p] for p in picked]


@pytest.mark.parametrize("n_iter", [0, -2, 2.5, True, "3"])
def test_bad_n_iter(data, n_iter):
    with pytest.raises(ValueError, match="n_iter"):
        sweep(DISTRIBUTIONS, *data, n_iter=n_iter, client=False)


@pytest.mark.parametrize("error_score", ["nan", None, [1.0], True])
def test_bad_error_score(data, error_score):
    with pytest.raises(ValueError, match="error_score"):
        sweep(GRID, *data, error_score=error_score, client=False)


# --------------------------------------------------------------------------- progress

def test_progress_bar_counts_configurations_and_best_score(data, serial, monkeypatch, capsys):
    monkeypatch.setattr(_progress, "progress_enabled", bool)  # as on a terminal
    sweep(GRID, *data, client=False, **SWEEP_ARGS)
    err = capsys.readouterr().err
    best = max(r["score"] for r in _records(serial))
    assert "4/4" in err and f"best score {best:.4f}" in err
    sweep(GRID, *data, client=False, progress=False, **SWEEP_ARGS)
    assert capsys.readouterr().err == ""


# --------------------------------------------------------------------------- command line

def _write_json(path, obj):
    path.write_text(json.dumps(obj))
    return str(path)


def test_cli_grid_file_and_results(tmp_path, capsys):
    grid = _write_json(tmp_path / "grid.json", {"hidden_layer_sizes": [[10], [20]], "eta": [3.0]})
    results = str(tmp_path / "sweep.csv")
    argv = ["sweep", "--serial", "--epochs", "1", "--cv", "2", "--grid", grid, "--results", results]
    assert main(argv) == 0
    first = capsys.readouterr().out
    assert "2 configurations x 2 folds" in first and "(10,)" in first and "(20,)" in first
    assert main(argv) == 0  # everything is in the file: the same table again, nothing recomputed
    second = capsys.readouterr().out
    assert first.splitlines()[1:] == second.splitlines()[1:]  # all but the wall time


def test_cli_random_search_from_distributions(tmp_path, capsys):
    grid = _write_json(tmp_path / "grid.json",
                       {"eta": {"distribution": "loguniform", "args": [0.5, 5.0]}, "hidden_layer_sizes": [[10]]})
    assert main(["sweep", "--serial", "--epochs", "1", "--cv", "2", "--grid", grid, "--n-iter", "3"]) == 0
    out = capsys.readouterr().out
    assert "3 configurations x 2 folds" in out and "best: {" in out


@pytest.mark.parametrize("content, match", [
    ("{not json", "not valid JSON"),
    ('["eta"]', "JSON object"),
    ('{"eta": 3.0}', "list of values"),
    ('{"eta": {"distribution": "eval", "args": []}}', "not a scipy.stats distribution"),
    ('{"eta": {"distribution": "loguniform", "args": [1, 2, 3, 4, 5]}}', "'eta'"),
    ('{"learning_speed": [1.0]}', "unknown"),
])
def test_cli_bad_grid_file(tmp_path, capsys, content, match):
    (tmp_path / "grid.json").write_text(content)
    assert main(["sweep", "--serial", "--epochs", "1", "--grid", str(tmp_path / "grid.json")]) == 2
    assert match in capsys.readouterr().err


def test_embedded_cluster_close_failure_keeps_the_results(monkeypatch):
    """A LocalCluster whose close times out (a loaded machine) warns instead of losing the table."""
    class SlowCluster:
        def __init__(self, **kwargs):
            self.kwargs = kwargs

        def close(self):
            raise TimeoutError("nanny did not stop")

    class FakeClient:
        def __init__(self, cluster):
            self.cluster = cluster

        def close(self):
            pass
    monkeypatch.setattr(distributed, "LocalCluster", SlowCluster)
    monkeypatch.setattr(distributed, "Client", FakeClient)
    own, cleanup = sys.modules["fastnn.sweep"]._connect(None, 3)
    assert own.cluster.kwargs["n_workers"] == 3 and own.cluster.kwargs["threads_per_worker"] == 1
    with pytest.warns(RuntimeWarning, match="did not close cleanly.*nanny did not stop"):
        cleanup()
