"""fastnn.bench.limits: the GEMM rate printed beside ``fastnn compare``'s table and the GFLOP/s
of every row.  Nothing is timed against a threshold: the rate is checked to be a positive
finite number and the GFLOP/s to follow from the flop count and the seconds.
"""
import math

import pytest

from fastnn import bench, cli
from fastnn.bench import limits


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

