"""fastnn.bench.limits and fastnn.bench.sizes: the GEMM rate printed beside ``fastnn compare``'s
table, the GFLOP/s of every row, and ``fastnn bench --hidden-sweep``.  Nothing is timed against
a threshold: the rate is checked to be a positive finite number, the GFLOP/s to follow from the
flop count and the seconds, and the sweep's two trainers to agree on the parameters.
"""
import math

import pytest

from fastnn import bench, cli
from fastnn.bench import harness, limits

from conftest import EPOCH_TOL


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_gemm_rate_is_a_positive_rate(dtype):
    rate = limits.gemm_rate(dtype, threads=1, n=64, repeats=2)
    assert math.isfinite(rate) and rate > 0


@pytest.mark.parametrize("kwargs, message", [
    (dict(dtype="int64"), "dtype must be float64 or float32"),
    (dict(n=0), "n must be at least 1"),
    (dict(threads=0), "threads must be at least 1"),
    (dict(repeats=0), "repeats must be at least 1"),
])
def test_gemm_rate_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        limits.gemm_rate(**kwargs)


def test_machine_limits_has_one_rate_per_thread_count():
    rates = limits.machine_limits("float64", [1, 2], n=32)
    assert sorted(rates) == [1, 2] and all(r > 0 for r in rates.values())


def test_epoch_gflops_counts_six_flops_per_weight_but_four_in_the_first_layer():
    # [784, 30, 10]: 4 * (23520 + 300) + 2 * 300 = 95880 flops per sample
    assert bench.flops_per_sample([784, 30, 10]) == 95880
    assert limits.epoch_gflops([784, 30, 10], 50000, 0.5) == pytest.approx(95880 * 50000 / 0.5 / 1e9)
    assert limits.epoch_gflops([784, 30, 10], 50000, None) is None


def test_format_limits_names_the_gemm_and_the_epoch_floor():
    line = limits.format_limits("float32", {1: 100.0, 2: 200.0}, [784, 30, 10], 50000)
    assert line.startswith("Machine limit, sgemm through NumPy")
    floor = 95880 * 50000 / 100e9
    assert f"100 GFLOP/s on 1 thread (epoch floor {floor:.4f} s)" in line
    assert "200 GFLOP/s on 2 threads" in line
    assert "dgemm" in limits.format_limits("float64", {1: 50.0})


def test_compare_rows_have_the_rate_of_their_epoch():
    X, y, X_test, y_test, sizes = bench.load_data("synthetic", 60, [20, 8, 10])
    rows = bench.run_compare(X, y, X_test, y_test, sizes, engines=("jit", "reference"))
    for r in rows:
        assert r["gflops"] == pytest.approx(bench.flops_per_sample(sizes) * 60 / r["seconds"] / 1e9)
    table = bench.format_compare(rows)
    assert table.splitlines()[0].endswith("| GFLOP/s |")
    assert table.splitlines()[2].endswith(f" {rows[0]['gflops']:.1f} |")
    assert "GFLOP/s: the epoch's floating-point operations" in "\n".join(bench.compare_legend(rows))


def test_rows_without_a_rate_keep_the_old_table():
    row = {"engine": "r", "kind": "reference", "group": "", "seconds": 1.0, "speedup": 1.0, "max_diff": 0.0,
           "accuracy": 0.5, "warmup": None, "note": ""}
    assert "GFLOP/s" not in bench.format_compare([row])


def test_compare_cli_prints_the_machine_limit(capsys):
    argv = ["compare", "--sizes", "20,8,10", "--samples", "60", "--engines", "jit,reference"]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert "Machine limit, dgemm through NumPy" in out and "epoch floor" in out



# --------------------------------------------------------------------------- hidden-size sweep
@pytest.fixture
def pauses(monkeypatch):
    """The sleeps of harness.settle, recorded instead of slept."""
    slept = []
    monkeypatch.setattr(harness.time, "sleep", slept.append)
    return slept


def test_settle_sleeps_past_openblas_spinning_threads(pauses):
    bench.settle()
    assert pauses == [harness.SETTLE_SECONDS] and harness.SETTLE_SECONDS >= 0.1


def test_hidden_sweep_trains_the_same_run_as_numpy(pauses):
    X, y = bench.synthetic_data(120, 20, 10, seed=3)
    rows = bench.run_hidden_sweep(X, y, hidden=(4, 9), mini_batches=(10, 7))
    assert pauses == [harness.SETTLE_SECONDS] * 2 * len(rows)  # before each timed run, fastnn's and NumPy's
    assert [(r["hidden"], r["mini_batch_size"]) for r in rows] == [(4, 10), (4, 7), (9, 10), (9, 7)]
    for r in rows:
        assert r["sizes"] == [20, r["hidden"], 10] and r["threads"] == 1
        assert r["max_diff"] <= EPOCH_TOL  # fastnn and NumPy trained the same run
        assert r["speedup"] == pytest.approx(r["numpy_seconds"] / r["seconds"])
        assert r["gflops"] == pytest.approx(bench.flops_per_sample(r["sizes"]) * 120 / r["seconds"] / 1e9)
    table = bench.format_hidden_sweep(rows)
    assert len(table.splitlines()) == 2 + len(rows) and "| [20, 9, 10] | 7 | float64 | 1 |" in table


def test_hidden_sweep_refuses_no_threads():
    with pytest.raises(ValueError, match="threads must be at least 1"):
        bench.run_hidden_sweep(*bench.synthetic_data(20, 5, 3), threads=0)


def test_bench_cli_hidden_sweep(monkeypatch, capsys, pauses):
    seen = {}
    real = bench.run_hidden_sweep

    def small_sweep(X, y, **kw):
        seen.update(kw, n=len(X))
        return real(X[:60], y[:60], hidden=(5,), mini_batches=(10,), dtype=kw["dtype"], threads=kw["threads"])

    monkeypatch.setattr(bench, "run_hidden_sweep", small_sweep)
    assert cli.main(["bench", "--hidden-sweep", "--samples", "300"]) == 0
    out = capsys.readouterr().out
    assert seen["n"] == 300 and seen["threads"] == 1 and seen["dtype"] == "float64"
    assert "| [784, 5, 10] | 10 | float64 | 1 |" in out and "CPU time of the process" in out
    assert "Machine limit, dgemm" in out
