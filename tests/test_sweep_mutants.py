"""Tests written against surviving mutants of the sweep (fastnn/sweeps.py, fastnn/_sweep_file.py):
each fails on the mutant it was written for (run by hand first, see docs/guide/testing.md)."""
import sys
import time

import numpy as np
import pytest

from fastnn import sweeps
from fastnn._sweep_file import PREFIX, ResultsFile, count_rows, fingerprint, read_rows
from fastnn.sweep import best_row


def test_best_row_takes_the_first_of_tied_rows():
    """The documented rule: the highest score, the first such row on ties (NaN never chosen)."""
    rows = [{"eta": 1, "score": 0.5}, {"eta": 2, "score": 0.9}, {"eta": 3, "score": np.nan},
            {"eta": 4, "score": 0.9}]
    assert best_row(rows) is rows[1]
    assert best_row(rows[3:] + rows[:3]) is rows[3]
    assert best_row([{"eta": 5, "score": 0.9}] + rows)["eta"] == 5  # tied with the first row


def test_best_row_of_a_data_frame_takes_the_first_of_tied_rows():
    pd = pytest.importorskip("pandas")
    table = pd.DataFrame({"eta": [1.0, 2.0, 3.0], "score": [0.7, 0.8, 0.8]})
    assert best_row(table)["eta"] == 2.0


def test_count_rows_of_a_missing_file_is_zero(tmp_path):
    assert count_rows(tmp_path / "not-yet.csv") == 0  # documented: a sweep not started yet


@pytest.mark.parametrize("columns", [
    "index,eta,zcore,score_std,seconds,error,fastnn_version",   # a result column misnamed (after it)
    "index,eta,score,score_std,seconds,error,fastnn_versions",
    "index,eta,acore,score_std,seconds,error,fastnn_version",   # (before it)
    "index,eta,score,score_std,seconds,error",                  # a column missing
    "id,eta,score,score_std,seconds,error,fastnn_version",      # the first misnamed (before "index")
    "row,eta,score,score_std,seconds,error,fastnn_version",     # (after it)
])
def test_a_file_whose_result_columns_are_misnamed_is_refused(tmp_path, columns):
    path = tmp_path / "bad.csv"
    path.write_text(PREFIX + '{"format": 1}\n' + columns + "\n")
    with pytest.raises(ValueError, match="line 2 must name the columns"):
        sweeps.read_results(path)


PRINTS = {"data": "d", "folds": "f", "arguments": "a", "configurations": "c"}
CONFIGS = [{"eta": 0.5}, {"eta": 3.0}]


def test_a_results_file_whose_columns_line_differs_is_refused(tmp_path):
    path = tmp_path / "sweep.csv"
    with ResultsFile.open(path, CONFIGS, PRINTS, "0.0") as results:  # a new file: header and columns
        results.append(0, {"score": 0.9, "score_std": 0.0, "seconds": 1.0, "error": None})
    lines = path.read_text().splitlines(keepends=True)
    assert lines[1] == "index,eta,score,score_std,seconds,error,fastnn_version\n"
    with ResultsFile.open(path, CONFIGS, PRINTS, "0.0") as results:  # the same sweep: its row back
        assert sorted(results.rows) == [0]
    # read back with the columns in the file's order, the version last (as a string)
    assert list(read_rows(path)[0].items()) == [("index", 0), ("eta", 0.5), ("score", 0.9), ("score_std", 0.0),
                                                ("seconds", 1.0), ("error", None), ("fastnn_version", "0.0")]
    path.write_text(lines[0] + lines[1].replace("eta", "lmbda") + "".join(lines[2:]))
    with pytest.raises(ValueError, match="line 2 must name the columns"):
        ResultsFile.open(path, CONFIGS, PRINTS, "0.0")


def test_equal_object_labels_give_the_same_fingerprint():
    """String labels (an object array) are identified by their text, not by where they live in
    memory: a resumed sweep with the same labels is the same sweep."""
    def labels(*words):
        return np.array(["".join(w) for w in words], dtype=object)  # new str objects every time

    a, b = labels(("ca", "t"), ("do", "g")), labels(("ca", "t"), ("do", "g"))
    assert a[0] is not b[0]
    prints = [fingerprint(np.zeros((2, 1)), y, [], {}, [])["data"] for y in (a, b, labels(("co", "w"), ("do", "g")))]
    assert prints[0] == prints[1] != prints[2]


def _results_text(*rows, fmt=1):
    return (PREFIX + '{"format": %d}\n' % fmt + "index,eta,score,score_std,seconds,error,fastnn_version\n"
            + "".join(row + "\n" for row in rows))


@pytest.mark.parametrize("fmt", [0, 2])
def test_a_file_of_another_format_older_or_newer_is_refused(tmp_path, fmt):
    path = tmp_path / "old.csv"
    path.write_text(_results_text(fmt=fmt))
    with pytest.raises(ValueError, match=f"has format {fmt}; this fastnn reads format 1"):
        sweeps.read_results(path)


def test_count_rows_of_a_file_cut_in_its_first_lines_is_zero(tmp_path):
    path = tmp_path / "cut.csv"
    for text in ("", PREFIX, PREFIX + "{}\n", PREFIX + "{}\nindex,eta"):
        path.write_text(text)
        assert count_rows(path) == 0


def _written(tmp_path, configs=CONFIGS):
    path = tmp_path / "sweep.csv"
    with ResultsFile.open(path, configs, PRINTS, "0.0"):
        pass
    return path


@pytest.mark.parametrize("row, message", [
    ("-1,0.5,0.9,0.0,1.0,,0.0", "configuration index -1 is not in 0..1"),
    ("2,0.5,0.9,0.0,1.0,,0.0", "configuration index 2 is not in 0..1"),
    ("1,2.5,0.9,0.0,1.0,,0.0", "eta='2.5' but configuration 1 has eta='3.0'"),   # smaller
    ("0,0.75,0.9,0.0,1.0,,0.0", "eta='0.75' but configuration 0 has eta='0.5'"),  # larger
])
def test_a_row_that_is_not_one_of_the_configurations_is_refused(tmp_path, row, message):
    path = _written(tmp_path)
    path.write_text(path.read_text() + row + "\n")
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        ResultsFile.open(path, CONFIGS, PRINTS, "0.0")


def test_a_file_system_without_locks_is_used_unlocked(tmp_path, monkeypatch):
    fcntl = pytest.importorskip("fcntl")

    def no_locks(fd, operation):
        raise OSError(95, "Operation not supported")  # some network mounts
    monkeypatch.setattr(fcntl, "flock", no_locks)
    path = _written(tmp_path)
    with ResultsFile.open(path, CONFIGS, PRINTS, "0.0") as results:
        results.append(1, {"score": 0.5, "score_std": 0.1, "seconds": 2.0, "error": None})
    assert count_rows(path) == 1


def test_a_file_in_use_by_another_sweep_is_refused(tmp_path):
    pytest.importorskip("fcntl")
    path = _written(tmp_path)
    with ResultsFile.open(path, CONFIGS, PRINTS, "0.0"):
        with pytest.raises(ValueError, match="in use by another running sweep"):
            ResultsFile.open(path, CONFIGS, PRINTS, "0.0")


def test_without_posix_locks_the_file_is_used_unlocked(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "fcntl", None)  # `import fcntl` raises ImportError, as on Windows
    path = _written(tmp_path)
    with ResultsFile.open(path, CONFIGS, PRINTS, "0.0") as results:
        results.append(0, {"score": 0.5, "score_std": 0.1, "seconds": 2.0, "error": None})
    assert count_rows(path) == 1


@pytest.mark.parametrize("row, cells", [("0,0.5,0.9,0.0,1.0,,0.0,extra", 8), ("0,0.5,0.9,0.0,1.0,", 6)])
def test_read_results_refuses_a_row_of_more_or_fewer_cells(tmp_path, row, cells):
    path = tmp_path / "sweep.csv"
    path.write_text(_results_text(row))
    with pytest.raises(ValueError, match=f"line 3: {cells} cells, expected 7"):
        sweeps.read_results(path)


def test_the_seconds_of_serial_configurations_add_up_to_at_most_the_sweeps_time(digits):
    """Each row's ``seconds`` is the time its configuration took: run one after another, they
    add up to no more than the whole call (a bound, not a speed claim)."""
    import time

    from fastnn.sweep import sweep

    X, y = digits[0][:60], digits[1][:60]
    grid = {"eta": [0.5, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0], "hidden_layer_sizes": [(3,)]}
    start = time.perf_counter()
    rows = sweep(grid, X, y, epochs=1, cv=2, client=False)
    elapsed = time.perf_counter() - start
    rows = rows.to_dict("records") if hasattr(rows, "to_dict") else list(rows)
    seconds = [row["seconds"] for row in rows]
    assert all(s > 0 for s in seconds) and sum(seconds) <= elapsed


@pytest.mark.parametrize("error_score", ["raisE", "warn", "zero", "Raise"])  # strings on either side of "raise"
def test_error_score_strings_other_than_raise_are_refused(error_score):
    from fastnn.sweeps import _check_error_score

    _check_error_score("raise")
    with pytest.raises(ValueError, match="error_score must be 'raise' or a number"):
        _check_error_score(error_score)


def _in_process_cluster():
    """A one-thread LocalCluster inside this process: seconds to start, no worker processes."""
    import distributed

    return distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                    dashboard_address=None)


def test_a_sweep_stopped_by_an_error_cancels_its_tasks_left_on_the_users_cluster(digits):
    """error_score="raise": the first failing configuration stops the sweep, and the tasks of the
    others are cancelled on the user's cluster, not left to run (and hold their results) there
    while the user still holds the exception, as an interactive session keeps the last one."""
    distributed = pytest.importorskip("distributed")
    from fastnn.sweep import sweep

    X, y = digits[0][:60], digits[1][:60]
    grid = [{"eta": [-1.0]}, {"eta": [0.5, 1.0, 2.0, 3.0, 4.0, 5.0], "epochs": [200]}]

    def evaluate_tasks(dask_scheduler):
        return [key for key in dask_scheduler.tasks if str(key).startswith("_evaluate")]

    with _in_process_cluster() as cluster, distributed.Client(cluster) as client:
        with pytest.raises(ValueError, match="eta must be > 0") as raised:
            sweep(grid, X, y, epochs=1, cv=2, client=client, error_score="raise", progress=False)
        left = client.run_on_scheduler(evaluate_tasks)
        for _ in range(50):  # the scheduler forgets cancelled tasks at once; allow it 5 s
            if not left:
                break
            time.sleep(0.1)
            left = client.run_on_scheduler(evaluate_tasks)
        assert raised.traceback  # the sweep's frames (and any future they hold) are alive here
        assert left == []


def test_the_embedded_clusters_close_warning_names_the_users_line(digits, monkeypatch):
    """The warning that the embedded LocalCluster did not close cleanly points at the line
    that called sweep, not at a line inside fastnn."""
    distributed = pytest.importorskip("distributed")
    from fastnn.sweep import sweep

    class ClusterThatTimesOut(distributed.LocalCluster):
        def __init__(self, **kwargs):
            super().__init__(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None)

        def close(self, *args, **kwargs):
            super().close(*args, **kwargs)
            raise TimeoutError("nanny did not stop")

    monkeypatch.setattr(distributed, "LocalCluster", ClusterThatTimesOut)
    X, y = digits[0][:60], digits[1][:60]
    with pytest.warns(RuntimeWarning, match="did not close cleanly") as caught:
        rows = sweep({"eta": [3.0]}, X, y, epochs=1, cv=2, client=None, progress=False)
    assert len(rows) == 1
    closing = [w for w in caught if "did not close cleanly" in str(w.message)]
    assert [w.filename for w in closing] == [__file__]


def test_a_results_file_without_rows_reads_as_an_empty_list(tmp_path):
    """A sweep that has not finished a configuration yet: read_results gives [] (documented in
    the guide, Sweeps), with pandas too, not a DataFrame of one stray column."""
    path = tmp_path / "started.csv"
    path.write_text(_results_text())
    assert sweeps.read_results(path) == []


def test_error_score_raise_built_at_run_time_is_accepted():
    """"raise" read from a file or a command line is an equal string, not the same object."""
    from fastnn.sweeps import _check_error_score

    built = "".join(["rai", "se"])
    assert built == "raise" and built is not sys.intern("raise")  # equal, another object
    _check_error_score(built)


def test_a_sweep_without_epochs_is_the_sweep_of_ten_epochs(digits, tmp_path):
    """epochs defaults to 10 (documented): a results file written with epochs=10 is this
    sweep's, so the call without epochs reads every row back instead of refusing the file."""
    from fastnn.sweep import sweep

    X, y = digits[0][:60], digits[1][:60]
    path = tmp_path / "ten.csv"
    grid = {"eta": [3.0], "hidden_layer_sizes": [(3,)]}
    written = sweep(grid, X, y, epochs=10, cv=2, client=False, results=path, progress=False)
    again = sweep(grid, X, y, cv=2, client=False, results=path, progress=False)
    records = [r.to_dict("records") if hasattr(r, "to_dict") else list(r) for r in (written, again)]
    assert records[1] == records[0]  # the seconds too: read back, not run again


def test_without_pandas_read_results_gives_a_list_of_dicts(tmp_path, monkeypatch):
    """pandas is optional: where it cannot be imported the table is a list of dicts."""
    path = tmp_path / "one.csv"
    path.write_text(_results_text("0,3.0,0.5,0.0,1.0,,0.1"))
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas raises ImportError
    assert sweeps._pandas() is None
    rows = sweeps.read_results(path)
    assert isinstance(rows, list) and [r["eta"] for r in rows] == [3.0]


def test_the_progress_bar_keeps_the_best_score_not_the_last():
    bar = sweeps._Progress(False, 4, [])
    for score, error in [(0.9, None), (0.5, None), (np.nan, "ValueError: eta must be > 0"), (0.7, None)]:
        bar.update({"score": score, "error": error})
    assert bar.best == 0.9
    bar.close()


def _sweep_in_a_thread(grid, X, y, client):
    """Start ``sweep(grid, X, y, cv=2)`` on ``client`` in a thread; wait (up to 60 s) until its
    tasks reach the scheduler.  Returns the thread, the dict that receives its ``table`` or
    ``error``, and the keys of the sweep's tasks."""
    import threading

    from fastnn.sweep import sweep

    outcome = {}

    def run():
        try:
            outcome["table"] = sweep(grid, X, y, cv=2, client=client, progress=False)
        except Exception as exc:  # the caller's assertion names it
            outcome["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    keys = []
    for _ in range(600):
        keys = client.run_on_scheduler(
            lambda dask_scheduler: [k for k in dask_scheduler.tasks if str(k).startswith("_evaluate")])
        if keys:
            break
        time.sleep(0.1)
    return thread, outcome, keys


def test_a_task_cancelled_on_the_cluster_stops_the_sweep_with_a_message(digits):
    """A sweep's task cancelled from outside (another client, a scheduler restart) is not a
    failed configuration: the sweep stops and says how to resume."""
    distributed = pytest.importorskip("distributed")
    X, y = digits[0][:60], digits[1][:60]
    grid = {"eta": [0.5, 1.0, 2.0, 3.0], "epochs": [400]}
    with _in_process_cluster() as cluster, distributed.Client(cluster) as client:
        thread, outcome, keys = _sweep_in_a_thread(grid, X, y, client)
        client.cancel([distributed.Future(key, client) for key in keys], force=True)
        thread.join(120)
    assert keys and not thread.is_alive()
    assert isinstance(outcome.get("error"), RuntimeError), outcome
    assert "was cancelled" in str(outcome["error"]) and "call sweep again to resume" in str(outcome["error"])


def test_a_configuration_trains_on_one_numba_thread_and_the_count_comes_back():
    """A sweep runs one configuration per worker core: inside, Numba gets one thread (more would
    only compete for the cores, and a Numba limited to one thread refuses two)."""
    import numba

    before = numba.get_num_threads()
    with sweeps._one_numba_thread():
        assert numba.get_num_threads() == 1
    assert numba.get_num_threads() == before


@pytest.mark.parametrize("threads", [[1], [1, 1], [40, 40], [7] * 10])
def test_every_worker_thread_of_a_big_cluster_gets_tasks_in_flight(threads):
    """Submitted at a time: at least one task per worker thread (a cluster of 80 threads is not
    left half idle) and at most a few per thread (the client's memory stays bounded)."""
    class Cluster:
        @staticmethod
        def nthreads():
            return {f"worker-{i}": n for i, n in enumerate(threads)}

    limit = sweeps._in_flight_limit(Cluster())
    assert sum(threads) < limit <= max(sweeps._MIN_IN_FLIGHT, 8 * sum(threads))


def test_the_embedded_cluster_runs_worker_processes(monkeypatch):
    """client=None: a LocalCluster of worker processes (documented), so a crashing or stuck
    configuration cannot take the user's process with it."""
    distributed = pytest.importorskip("distributed")
    made = {}

    class Recorder:
        def __init__(self, **kwargs):
            made.update(kwargs)

        def close(self):
            pass

    class Client:
        def __init__(self, cluster):
            pass

        def close(self):
            pass
    monkeypatch.setattr(distributed, "LocalCluster", Recorder)
    monkeypatch.setattr(distributed, "Client", Client)
    _, cleanup = sweeps._connect(None, 2)
    cleanup()
    assert made["processes"] is True and made["n_workers"] == 2 and made["threads_per_worker"] == 1


def test_format_table_shows_a_parameter_set_to_none():
    """A configuration that sets a parameter to None shows None, not an empty (unset) cell."""
    rows = [{"batch_size": None, "eta": 1.0, "score": 0.5, "score_std": 0.1, "seconds": 0.2, "error": None},
            {"batch_size": 50, "eta": 1.0, "score": 0.6, "score_std": 0.1, "seconds": 0.2, "error": None}]
    lines = sweeps.format_table(rows).splitlines()
    assert lines[1].split()[0] == "None" and lines[2].split()[0] == "50"


def test_format_table_of_one_row():
    row = {"eta": 3.0, "score": 0.95, "score_std": 0.01, "seconds": 0.2, "error": None}
    assert sweeps.format_table([row]).splitlines() == ["eta   score  score_std  seconds",
                                                        "3.0  0.9500     0.0100    0.200"]


def test_the_progress_bar_shows_no_best_score_before_a_configuration_succeeds(monkeypatch, capsys):
    from fastnn import _progress

    monkeypatch.setattr(_progress, "progress_enabled", bool)  # as on a terminal
    bar = sweeps._Progress(True, 2, [])
    bar.update({"score": np.nan, "error": "ValueError: eta must be > 0"})
    bar.close()
    err = capsys.readouterr().err
    assert "1/2" in err and "best score" not in err


def test_a_failed_configuration_on_dask_gets_its_error(digits):
    distributed = pytest.importorskip("distributed")
    from fastnn.sweep import sweep

    X, y = digits[0][:60], digits[1][:60]
    with _in_process_cluster() as cluster, distributed.Client(cluster) as client:
        with pytest.warns(Warning, match="1 of 2 configurations failed"):
            rows = sweep({"eta": [-1.0, 3.0]}, X, y, epochs=1, cv=2, client=client, progress=False)
    rows = rows.to_dict("records") if hasattr(rows, "to_dict") else list(rows)
    assert rows[0]["error"] == "ValueError: eta must be > 0, got -1.0" and rows[1]["error"] is None


def test_a_configuration_listed_twice_runs_twice_on_dask(digits):
    """Each configuration is its own task (pure=False): one listed twice gets two rows, each
    measured on its own."""
    distributed = pytest.importorskip("distributed")
    from fastnn.sweep import sweep

    X, y = digits[0][:60], digits[1][:60]
    with _in_process_cluster() as cluster, distributed.Client(cluster) as client:
        rows = sweep([{"eta": [3.0]}, {"eta": [3.0]}], X, y, epochs=1, cv=2, client=client, progress=False)
    rows = rows.to_dict("records") if hasattr(rows, "to_dict") else list(rows)
    assert len(rows) == 2 and rows[0]["score"] == rows[1]["score"]
    assert rows[0]["seconds"] != rows[1]["seconds"]  # two runs, timed apart


@pytest.mark.parametrize("threads, limit", [([1], 32), ([1, 1, 1, 1], 32), ([5], 40), ([40, 40], 640),
                                            ([7] * 10, 560)])
def test_the_tasks_in_flight_are_eight_per_worker_thread_and_at_least_32(threads, limit):
    """The guide's bound (*Sweeps*): 8 tasks per worker thread, and at least 32."""
    class Cluster:
        @staticmethod
        def nthreads():
            return {f"worker-{i}": n for i, n in enumerate(threads)}

    assert sweeps._in_flight_limit(Cluster()) == limit


def test_the_embedded_cluster_has_two_workers_by_default(digits, monkeypatch):
    """client=None without n_workers: the documented default of 2 workers reaches the cluster."""
    asked = {}

    def run_dask(todo, configs, data, record, raise_errors, client, n_workers):
        asked.update(client=client, n_workers=n_workers)
        for index in todo:
            record(index, {"score": 0.5, "score_std": 0.0, "seconds": 0.1, "error": None})

    monkeypatch.setattr(sweeps, "_run_dask", run_dask)
    X, y = digits[0][:60], digits[1][:60]
    sweeps.sweep({"eta": [3.0]}, X, y, epochs=1, cv=2, progress=False)
    assert asked == {"client": None, "n_workers": 2}


def test_another_client_cancelling_the_same_data_leaves_the_sweep_running(digits):
    """The sweep scatters its data under keys of its own (hash=False): another client that
    scatters the same arrays and cancels them (force=True) does not cancel the sweep's tasks."""
    distributed = pytest.importorskip("distributed")
    from sklearn.model_selection import StratifiedKFold

    X, y = digits[0][:60], digits[1][:60]
    splits = list(StratifiedKFold(2).split(X, y))  # cv=2's folds, as the sweep computes them
    grid = {"eta": [0.5, 1.0, 2.0, 3.0], "epochs": [400]}
    with _in_process_cluster() as cluster, distributed.Client(cluster) as client, \
            distributed.Client(cluster) as other:
        thread, outcome, keys = _sweep_in_a_thread(grid, X, y, client)
        other.cancel(other.scatter([X, y, splits], broadcast=True), force=True)
        thread.join(120)
    assert keys and not thread.is_alive()
    assert "error" not in outcome, outcome
    rows = outcome["table"]
    rows = rows.to_dict("records") if hasattr(rows, "to_dict") else list(rows)
    assert len(rows) == 4 and all(row["error"] is None for row in rows)


def test_n_iter_of_one_samples_one_configuration():
    """n_iter=1 is the smallest positive integer: one configuration drawn, not refused."""
    configs = sweeps._configs({"eta": [0.5, 1.0, 2.0]}, n_iter=1, random_state=0)
    assert len(configs) == 1 and configs[0]["eta"] in (0.5, 1.0, 2.0)
