"""fastnn.sweeps.read_results and row_params: the results file read back as a table (serial sweeps,
no Dask needed)."""
import math

import numpy as np
import pytest

from fastnn import sweeps
from fastnn._sweep_file import PREFIX

GRID = [{"eta": [0.5, 3.0], "hidden_layer_sizes": [(4,)]}, {"cost": ["cross-entropy"], "eta": [-1.0]}]


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    rng = np.random.default_rng(0)
    X = rng.random((60, 5))
    y = np.arange(60) % 3
    path = tmp_path_factory.mktemp("sweep") / "sweep.csv"
    with pytest.warns(Warning):  # the failing eta=-1 configuration
        table = sweeps.sweep(GRID, X, y, epochs=2, cv=2, client=False, results=path, progress=False)
    return path, table


def _rows(table):
    return table.to_dict("records") if hasattr(table, "to_dict") else list(table)


def test_read_results_gives_back_the_sweep_table(finished):
    path, table = finished
    read = _rows(sweeps.read_results(path))
    swept = _rows(table)
    assert [r["index"] for r in read] == [0, 1, 2]
    for got, want in zip(read, swept):
        assert got["eta"] == want["eta"]
        assert got["fastnn_version"]
        for key in ("score", "score_std", "seconds"):
            assert got[key] == want[key] or (math.isnan(got[key]) and math.isnan(want[key]))
    assert read[0]["hidden_layer_sizes"] == (4,)        # a tuple again, not the text "(4,)"
    assert read[2]["cost"] == "cross-entropy"           # a string parameter stays a string
    assert read[2]["error"].startswith("ValueError") and read[0]["error"] is None
    assert _missing(read[2]["hidden_layer_sizes"]) and _missing(read[0]["cost"])


def _missing(value):
    return value is None or (isinstance(value, float) and math.isnan(value))


def test_best_row_and_row_params_of_the_file(finished):
    path, table = finished
    best = sweeps.best_row(sweeps.read_results(path))
    params = sweeps.row_params(best)
    assert params == sweeps.row_params(sweeps.best_row(table))
    assert set(params) == {"eta", "hidden_layer_sizes"} and params["hidden_layer_sizes"] == (4,)


def test_an_incomplete_last_line_is_ignored_and_the_file_is_not_changed(finished, tmp_path):
    path, _ = finished
    cut = tmp_path / "cut.csv"
    data = path.read_bytes() + b"7,0.5,(4,),0.9"
    cut.write_bytes(data)
    assert len(_rows(sweeps.read_results(cut))) == 3
    assert cut.read_bytes() == data


@pytest.mark.parametrize("text, message", [
    ("index,eta\n", "not a fastnn sweep results file"),
    (PREFIX + "{]\n", "malformed first line"),
    (PREFIX + '{"format": 2}\n', "has format 2"),
    (PREFIX + '{"format": 1}\n', "no line naming the columns"),
    (PREFIX + '{"format": 1}\nindex,eta,score\n', "line 2 must name"),
    (PREFIX + '{"format": 1}\nindex,eta,score,score_std,seconds,error,fastnn_version\nx,1,1,1,1,,0\n',
     "line 3: index, score"),
    (PREFIX + '{"format": 1}\nindex,eta,score,score_std,seconds,error,fastnn_version\n0,1\n',
     "line 3: 2 cells"),
])
def test_bad_files_are_refused_with_the_reason(tmp_path, text, message):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        sweeps.read_results(path)


def test_a_missing_file():
    with pytest.raises(FileNotFoundError):
        sweeps.read_results("no/such/sweep.csv")


def test_row_params_leaves_out_results_and_unset_cells():
    row = {"index": 4, "eta": 3.0, "cost": None, "lmbda": float("nan"), "score": 0.9, "score_std": 0.0,
           "seconds": 1.0, "error": None, "fastnn_version": "0.1.0"}
    assert sweeps.row_params(row) == {"eta": 3.0}
