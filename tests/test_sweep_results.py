"""fastnn.sweep(results=...): the CSV results file, resuming from it, and refusing other sweeps' files.

Serial sweeps on a few digits (fast); tests/test_sweep_faults.py kills real
processes (a Dask worker, the client) and resumes on a LocalCluster.
"""
import csv
import io
import math
import sys

import numpy as np
import pytest
from sklearn.exceptions import FitFailedWarning
from sklearn.model_selection import KFold, ParameterGrid

from fastnn import __version__
from fastnn._sweep_file import PREFIX, ResultsFile, count_rows, fingerprint
from fastnn.sweep import sweep

GRID = {"eta": [0.5, 3.0], "hidden_layer_sizes": [(8,), (12,)], "cost": ["quadratic"]}
ARGS = {"epochs": 2, "random_state": 0, "cv": 2, "client": False}
N = 4


def _records(table):
    return table.to_dict("records") if hasattr(table, "to_dict") else list(table)


@pytest.fixture(scope="module")
def data(digits):
    return tuple(a[:240] for a in digits)


@pytest.fixture(scope="module")
def uninterrupted(data):
    return _records(sweep(GRID, *data, **ARGS))


@pytest.fixture
def done_file(tmp_path, data):
    """A results file of the whole sweep, and the table that call returned."""
    path = tmp_path / "sweep.csv"
    table = _records(sweep(GRID, *data, results=path, **ARGS))
    return path, table


@pytest.fixture
def count_evaluations(monkeypatch):
    """Count the configurations that the serial runner really evaluates."""
    module = sys.modules["fastnn.sweep"]
    calls = []
    real = module._evaluate

    def counting(params, *args):
        calls.append(params)
        return real(params, *args)
    monkeypatch.setattr(module, "_evaluate", counting)
    return calls


def _lines(path):
    return path.read_text().splitlines()


def test_file_format(done_file, uninterrupted):
    pd = pytest.importorskip("pandas")
    path, table = done_file
    lines = _lines(path)
    assert lines[0].startswith(PREFIX) and '"format": 1' in lines[0]
    assert lines[1] == "index,cost,eta,hidden_layer_sizes,score,score_std,seconds,error,fastnn_version"
    assert len(lines) == 2 + N
    frame = pd.read_csv(path, skiprows=1)
    assert sorted(frame["index"]) == list(range(N))
    for row in frame.to_dict("records"):
        expected = table[row["index"]]
        assert (row["eta"], row["hidden_layer_sizes"], row["cost"]) == (
            expected["eta"], str(expected["hidden_layer_sizes"]), "quadratic")
        assert row["score"] == expected["score"] and row["seconds"] == expected["seconds"]  # exact
        assert row["fastnn_version"] == __version__
    without_seconds = [{k: v for k, v in r.items() if k != "seconds"} for r in table]
    assert without_seconds == [{k: v for k, v in r.items() if k != "seconds"} for r in uninterrupted]


def test_resume_runs_only_missing_configurations(done_file, data, count_evaluations):
    path, table = done_file
    lines = _lines(path)
    path.write_text("\n".join(lines[:2 + 1]) + "\n")  # as if stopped after the first row
    resumed = _records(sweep(GRID, *data, results=path, **ARGS))
    assert len(count_evaluations) == N - 1
    kept = int(lines[2].split(",")[0])
    assert kept not in [list(ParameterGrid(GRID)).index(c) for c in count_evaluations]
    assert resumed[kept] == table[kept]  # seconds included: read back, not recomputed
    assert _without(resumed, "seconds") == _without(table, "seconds")
    assert _lines(path)[:3] == lines[:3] and count_rows(path) == N
    count_evaluations.clear()
    again = _records(sweep(GRID, *data, results=path, **ARGS))  # complete: nothing to run
    assert count_evaluations == [] and again == resumed


def _without(rows, column):
    return [{k: v for k, v in r.items() if k != column} for r in rows]


def test_torn_last_line_is_dropped_and_rerun(done_file, data, count_evaluations):
    path, table = done_file
    lines = _lines(path)
    torn = lines[-1][: len(lines[-1]) // 2]  # a row cut mid-write by a crash
    path.write_text("\n".join(lines[:-1]) + "\n" + torn)
    resumed = _records(sweep(GRID, *data, results=path, **ARGS))
    assert len(count_evaluations) == 1
    assert _without(resumed, "seconds") == _without(table, "seconds")
    assert _lines(path)[:-1] == lines[:-1] and count_rows(path) == N
    assert torn not in path.read_text().splitlines()
    # the rerun row stands whole on its own line: a fragment left in place would merge with it
    # into one line of the same count (the checks above would pass) that no reader accepts
    last = next(csv.reader([_lines(path)[-1]]))
    assert len(last) == len(next(csv.reader([lines[1]]))) and last[0] == lines[-1].split(",")[0]
    count_evaluations.clear()
    assert _records(sweep(GRID, *data, results=path, **ARGS)) == resumed  # read back whole
    assert count_evaluations == []


@pytest.mark.parametrize("change, what", [
    (lambda X, y: ({**GRID, "eta": [0.5, 2.0]}, X, y, {}), "configurations"),
    (lambda X, y: (GRID, X + 1e-9, y, {}), "the data"),
    (lambda X, y: (GRID, X, y[::-1].copy(), {}), "the data"),
    (lambda X, y: (GRID, X, y, {"cv": 3}), "folds"),
    (lambda X, y: (GRID, X, y, {"cv": KFold(2, shuffle=True, random_state=1)}), "folds"),
    (lambda X, y: (GRID, X, y, {"epochs": 3}), "fixed arguments"),
    (lambda X, y: (GRID, X, y, {"random_state": 1}), "fixed arguments"),
    (lambda X, y: (GRID, X, y, {"n_iter": 3}), "configurations"),
])
def test_other_sweeps_file_is_refused(done_file, data, change, what):
    path, _ = done_file
    before = path.read_bytes()
    grid, X, y, kwargs = change(*data)
    with pytest.raises(ValueError, match=f"different sweep: .*{what}.* differ"):
        sweep(grid, X, y, results=path, **{**ARGS, **kwargs})
    assert path.read_bytes() == before


@pytest.mark.parametrize("content", [
    b"a,b,c\n1,2,3\n",
    b"index,eta,score\n0,0.5,0.9\n",
    b"\x89PNG\r\n\x1a\n" + bytes(100),
    b"no newline at all",
])
def test_foreign_file_is_refused_and_left_alone(tmp_path, data, content):
    path = tmp_path / "sweep.csv"
    path.write_bytes(content)
    with pytest.raises(ValueError, match="not a fastnn sweep results file"):
        sweep(GRID, *data, results=path, **ARGS)
    assert path.read_bytes() == content


def _set_cell(line, position, value):
    cells = next(csv.reader([line]))
    cells[position] = value
    if value == "":  # a NaN score that claims to have succeeded
        cells[4] = "nan"
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(cells)
    return out.getvalue()


@pytest.mark.parametrize("edit, match", [
    (lambda line: line.replace(",", ";"), "cells"),
    (lambda line: "7" + line[1:], "index 7"),
    (lambda line: line.replace("(8,)", "(9,)").replace("(12,)", "(9,)"), "hidden_layer_sizes"),
    (lambda line: _set_cell(line, 4, "high"), "not a number"),
    (lambda line: _set_cell(line, 7, ""), "score is nan but the error cell is empty"),
])
def test_malformed_row_is_refused(done_file, data, edit, match):
    path, _ = done_file
    lines = _lines(path)
    lines[3] = edit(lines[3])
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=f"line 4: .*{match}"):
        sweep(GRID, *data, results=path, **ARGS)


def test_duplicate_row_is_refused(done_file, data):
    path, _ = done_file
    lines = _lines(path)
    path.write_text("\n".join(lines + [lines[2]]) + "\n")
    with pytest.raises(ValueError, match="appears twice"):
        sweep(GRID, *data, results=path, **ARGS)


def test_empty_file_starts_a_new_sweep(tmp_path, data, uninterrupted):
    path = tmp_path / "sweep.csv"
    path.touch()
    rows = _records(sweep(GRID, *data, results=path, **ARGS))
    assert _without(rows, "seconds") == _without(uninterrupted, "seconds")
    assert count_rows(path) == N


def test_missing_directory(tmp_path, data):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        sweep(GRID, *data, results=tmp_path / "no" / "sweep.csv", **ARGS)


def test_file_in_use_by_another_sweep_is_refused(tmp_path, data):
    pytest.importorskip("fcntl")
    X, y = data
    configs = [{"eta": 1.0}]
    prints = fingerprint(X, y, [(np.arange(2), np.arange(2, 4))], {"epochs": 1}, configs)
    with ResultsFile.open(tmp_path / "s.csv", configs, prints, "0") as first:
        with pytest.raises(ValueError, match="in use by another running sweep"):
            ResultsFile.open(tmp_path / "s.csv", configs, prints, "0")
        first.append(0, {"score": 0.5, "score_std": 0.0, "seconds": 1.0, "error": None})
    with ResultsFile.open(tmp_path / "s.csv", configs, prints, "0") as reopened:  # lock released
        assert reopened.rows == {0: {"score": 0.5, "score_std": 0.0, "seconds": 1.0, "error": None}}


def test_failed_rows_are_kept_and_not_rerun(tmp_path, data, count_evaluations):
    grid = {"eta": [-1.0, 3.0], "hidden_layer_sizes": [(8,)]}
    path = tmp_path / "sweep.csv"
    with pytest.warns(FitFailedWarning, match="1 of 2 configurations failed"):
        first = _records(sweep(grid, *data, results=path, **ARGS))
    assert _lines(path)[2].startswith('0,-1.0,"(8,)",nan,nan,nan,"ValueError: eta must be > 0')
    count_evaluations.clear()
    with pytest.warns(FitFailedWarning, match="1 of 2 configurations failed"):
        again = _records(sweep(grid, *data, results=path, **ARGS))
    assert count_evaluations == []
    assert again[0]["error"] == first[0]["error"] and math.isnan(again[0]["score"])
    assert again[1] == first[1]
    with pytest.warns(FitFailedWarning):  # the table follows this call's error_score
        assert _records(sweep(grid, *data, results=path, error_score=0, **ARGS))[0]["score"] == 0.0
    with pytest.raises(ValueError, match="holds failed configurations"):
        sweep(grid, *data, results=path, error_score="raise", **ARGS)


def test_error_messages_are_one_line(tmp_path, data, monkeypatch):
    module = sys.modules["fastnn.sweep"]

    def fails(params, *args):
        raise RuntimeError('line one\nline "two", with a comma')
    monkeypatch.setattr(module, "_evaluate", fails)
    path = tmp_path / "sweep.csv"
    with pytest.warns(FitFailedWarning):
        rows = _records(sweep({"eta": [1.0]}, *data, results=path, **ARGS))
    assert rows[0]["error"] == 'RuntimeError: line one line "two", with a comma'
    assert len(_lines(path)) == 3
    with pytest.warns(FitFailedWarning):
        again = _records(sweep({"eta": [1.0]}, *data, results=path, **ARGS))
    assert again[0]["error"] == rows[0]["error"] and math.isnan(again[0]["score"])
