"""fastnn.sweep: the same scores serially and on a real Dask LocalCluster (2 worker processes)."""
import sys

import numpy as np
import pytest

import fastnn
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
def client():
    """A real LocalCluster: 2 worker processes of 1 thread, closed after the module."""
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


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
    assert list(table[0]) == PARAM_COLUMNS + ["score", "score_std", "seconds"]
    assert _without_seconds(table) == _without_seconds(serial)
    text = format_table(table).splitlines()
    assert text[0].split() == PARAM_COLUMNS + ["score", "score_std", "seconds"]
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
    ({"client": False, "param_grid": {"learning_rate": [1.0]}}, ValueError, "unknown"),
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
