"""fastnn.sweep under faults, on a real LocalCluster of 2 worker processes.

* a worker SIGKILLed while tasks run: Dask reruns its tasks elsewhere and the
  table is bit-identical to the serial one;
* failing configurations on workers: NaN rows with their errors, or the first
  error re-raised with ``error_score="raise"``;
* the client SIGKILLed (a subprocess) after some rows: the results file is
  valid and the rerun computes only the missing configurations;
* ``fastnn sweep`` interrupted by SIGINT (Ctrl-C): exit 130, rows kept, and
  the same command completes the sweep.

Each configuration takes most of a second (1,297 digits, 20 epochs), so
kills land while tasks run.  Timeouts are generous and nothing is timed.
"""
import json
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from sklearn.exceptions import FitFailedWarning

from fastnn import datasets
from fastnn._sweep_file import count_rows
from fastnn.cli import main
from fastnn.sweep import sweep

distributed = pytest.importorskip("distributed")
pytestmark = pytest.mark.slow

GRID = {"eta": [0.5, 1.0, 2.0, 3.0, 4.0, 5.0], "hidden_layer_sizes": [(30,)]}
ARGS = {"epochs": 20, "random_state": 0, "cv": 3}
N = 6
TIMEOUT = 600  # seconds: a loaded 2-core machine can be very slow; nothing here is timed


def _records(table):
    return table.to_dict("records") if hasattr(table, "to_dict") else list(table)


def _without_seconds(table):
    return [{k: v for k, v in row.items() if k != "seconds"} for row in _records(table)]


def _wait_until(condition, what, proc=None):
    """Poll ``condition`` until true; fail (with the child's stderr) on timeout or early exit."""
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"child exited ({proc.returncode}) before {what}: "
                                 f"{proc.communicate()[1][-3000:]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.fixture(scope="module")
def data():
    """The digits' training split (1,297 images): what ``fastnn sweep`` runs on."""
    X_train, y_train, _, _ = datasets.load_dataset("digits")
    return X_train, y_train


@pytest.fixture(scope="module")
def reference(data):
    """The uninterrupted serial sweep."""
    return _records(sweep(GRID, *data, client=False, **ARGS))


@pytest.fixture(scope="module")
def client(dask_client):
    """The LocalCluster of 2 worker processes (conftest.py) for this module."""
    return dask_client


@pytest.fixture
def children():
    """Subprocesses started by a test; killed (by pid) at teardown if still running."""
    procs = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=60)


def _start(children, argv, tmp_path):
    proc = subprocess.Popen(argv, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=dict(os.environ, PYTHONUNBUFFERED="1"))
    children.append(proc)
    return proc


def test_killed_worker_costs_nothing(client, data, reference, tmp_path):
    pids = client.run(os.getpid)  # worker address -> pid
    results = tmp_path / "sweep.csv"
    outcome = {}

    def run():
        try:
            outcome["table"] = sweep(GRID, *data, client=client, results=results, **ARGS)
        except BaseException as exc:  # reported by the main thread
            outcome["error"] = exc
    thread = threading.Thread(target=run, daemon=True)
    thread.start()

    victim = []

    def a_task_runs():  # remember the first worker seen running a task of the sweep
        busy = [w for w, keys in client.processing().items() if any("_evaluate" in k for k in keys)]
        victim.extend(busy[:1])
        return bool(busy) or not thread.is_alive()
    _wait_until(a_task_runs, "a task to run")
    rows_before = count_rows(results)
    assert victim and rows_before < N, "the sweep finished before the kill"
    os.kill(pids[victim[0]], signal.SIGKILL)
    thread.join(TIMEOUT)
    assert not thread.is_alive(), "the sweep did not finish after a worker was killed"
    assert "error" not in outcome, outcome.get("error")
    assert _without_seconds(outcome["table"]) == _without_seconds(reference)
    assert count_rows(results) == N
    assert pids[victim[0]] not in client.run(os.getpid).values()  # it really died


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
def test_failing_configurations_on_workers(client, data, reference):
    grid = {"eta": [-1.0, 3.0, 1e300], "hidden_layer_sizes": [(30,)]}  # invalid, fine, diverges
    with pytest.warns(FitFailedWarning, match="2 of 3 configurations failed"):
        rows = _records(sweep(grid, *data, client=client, **ARGS))
    assert rows[0]["error"] == "ValueError: eta must be > 0, got -1.0" and np.isnan(rows[0]["score"])
    assert rows[2]["error"].startswith("DivergenceError: training diverged") and np.isnan(rows[2]["score"])
    assert _without_seconds([rows[1]]) == [r for r in _without_seconds(reference) if r["eta"] == 3.0]
    with pytest.raises(ValueError, match="eta must be > 0"):
        sweep(grid, *data, client=client, error_score="raise", **ARGS)


CHILD = """
import sys
from fastnn import datasets, sweep

X, y, _, _ = datasets.load_dataset("digits")
sweep({grid!r}, X, y, client=sys.argv[1], results=sys.argv[2], **{args!r})
"""


def test_client_killed_then_resumed(client, data, reference, tmp_path, children):
    results = tmp_path / "sweep.csv"
    code = CHILD.format(grid=GRID, args=ARGS)
    proc = _start(children, [sys.executable, "-c", code, client.scheduler.address, str(results)], tmp_path)
    _wait_until(lambda: count_rows(results) >= 2, "two rows in the results file", proc)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=TIMEOUT)
    kept = results.read_text().splitlines()
    assert 2 <= len(kept) - 2 < N, "the child finished before the kill"
    with open(results, "a") as f:
        f.write(kept[-1][:9])  # and a row torn mid-write, as a kill inside write() could leave
    resumed = _records(sweep(GRID, *data, client=client.scheduler.address, results=results, **ARGS))
    assert _without_seconds(resumed) == _without_seconds(reference)
    lines = results.read_text().splitlines()
    assert lines[:len(kept)] == kept and len(lines) == N + 2  # only the missing rows were added
    for line in kept[2:]:  # rows read back, not recomputed: same seconds
        index, seconds = int(line.split(",")[0]), float(line.split(",")[-3])
        assert resumed[index]["seconds"] == seconds
    assert _records(sweep(GRID, *data, client=False, results=results, **ARGS)) == resumed


# As `fastnn ...` in a terminal.  The handler is set explicitly because a child inherits an
# ignored SIGINT from a test run started in the background (`pytest &` in a script), and
# Python then leaves it ignored.
CLI_CHILD = """
import signal, sys
signal.signal(signal.SIGINT, signal.default_int_handler)
from fastnn.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_cli_ctrl_c_keeps_rows_and_resumes(client, data, reference, tmp_path, children, capsys):
    grid = tmp_path / "grid.json"
    grid.write_text(json.dumps({"eta": GRID["eta"], "hidden_layer_sizes": [[30]]}))
    results = tmp_path / "sweep.csv"
    argv = ["sweep", "--grid", str(grid), "--results", str(results), "--epochs", "20",
            "--scheduler", client.scheduler.address]
    proc = _start(children, [sys.executable, "-c", CLI_CHILD, *argv], tmp_path)
    _wait_until(lambda: count_rows(results) >= 1, "a row in the results file", proc)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=TIMEOUT)
    kept = count_rows(results)
    assert proc.returncode == 130, err[-3000:]
    assert f"interrupted: {kept} finished configuration{'s' * (kept != 1)} kept in {results}" in err
    assert 1 <= kept < N
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert f"{N} configurations x 3 folds" in out and "best: {" in out
    assert count_rows(results) == N
    from_file = sweep(GRID, *data, client=False, results=results, **ARGS)  # all read back
    assert _without_seconds(from_file) == _without_seconds(reference)
