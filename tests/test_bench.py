"""fastnn.bench: ``fastnn compare`` rows (the engines, tuned NumPy, JAX, PyTorch), its table,
legend and bar chart, its check that the jit engine agrees (and exit code when it does not),
and ``fastnn bench``'s fit and inference tables.  Nothing here is timed: every row is checked
for agreement with the book's per-sample reference (<= EPOCH_TOL in float64, as the jit
engine), never for speed.  JAX and PyTorch rows are skipped when the library is missing.
"""
import os
import sys

import numpy as np
import pytest

from fastnn import Network, bench, cli, rivals

from conftest import EPOCH_TOL, max_param_diff

FLOAT32_TOL = 1e-4  # float32 rows vs the float32 reference after 2 epochs of 203 samples
SIZES = [30, 12, 10]
RUN = dict(epochs=2, mini_batch_size=10, eta=3.0, seed=0)

needs_jax = pytest.mark.skipif(not rivals.library_available("jax"), reason="JAX is not installed")
needs_torch = pytest.mark.skipif(not rivals.library_available("torch"), reason="PyTorch is not installed")


@pytest.fixture(scope="module")
def data():
    # 203 samples: the last mini-batch of every epoch has 3 samples (its own eta / m)
    X, y, X_test, y_test, sizes = bench.load_data("synthetic", 203, SIZES)
    return X, y, X_test, y_test


def _compare(data, engines, dtype="float64", **kw):
    X, y, X_test, y_test = data
    return bench.run_compare(X, y, X_test, y_test, SIZES, dtype=dtype, engines=engines, **dict(RUN, **kw))


def _rows_of(rows, kind):
    return [r for r in rows if r["kind"] == kind]


def _reference_fit(X, y, sizes, dtype="float64"):
    net = Network(sizes, seed=RUN["seed"], engine="reference", dtype=dtype)
    return net.fit(X, y, epochs=RUN["epochs"], mini_batch_size=RUN["mini_batch_size"], eta=RUN["eta"])


@pytest.mark.parametrize("dtype, tol", [("float64", EPOCH_TOL), ("float32", FLOAT32_TOL)])
def test_in_process_rows_train_the_reference_run(data, dtype, tol):
    rows = _compare(data, ("jit", "reference", "matrix", "numpy"), dtype)
    threads = bench.thread_choices()
    assert [r["engine"] for r in _rows_of(rows, "jit")] == [
        "fastnn fit, threads=None (default)"] + [f"fastnn fit, threads={t}" for t in threads[1:]]
    assert len(_rows_of(rows, "numpy")) == len(_rows_of(rows, "matrix")) == len(threads) - 1
    reference = _rows_of(rows, "reference")[0]
    assert reference["max_diff"] == 0 and reference["speedup"] == 1
    for r in rows:
        assert r["seconds"] > 0 and r["max_diff"] <= tol, r
        # the same parameters classify the test set the same way
        assert r["accuracy"] == pytest.approx(reference["accuracy"], abs=0.01)


def test_tuned_numpy_matches_the_reference_on_a_deep_network(data):
    X, y = data[0], data[1]
    sizes = [30, 9, 7, 10]
    weights, biases, orders = bench.initial_state(sizes, len(X), epochs=2, seed=RUN["seed"], dtype="float64")
    before = [w.copy() for w in weights]
    W, b, seconds, warmup = rivals.train_tuned_numpy(weights, biases, X, np.eye(10)[y], orders,
                                                     RUN["mini_batch_size"], RUN["eta"], threads=1)
    assert all(np.array_equal(w, w0) for w, w0 in zip(weights, before))  # inputs are not modified
    assert len(seconds) == 2 and warmup >= 0
    assert [w.shape for w in W] == [(9, 30), (7, 9), (10, 7)] and [v.shape for v in b] == [(9, 1), (7, 1), (10, 1)]
    tuned = bench.network_with(sizes, "float64", W, b)
    assert max_param_diff(tuned, _reference_fit(X, y, sizes)) <= EPOCH_TOL


def test_initial_state_is_what_fit_starts_from(data):
    X, y = data[0], data[1]
    weights, biases, orders = bench.initial_state(SIZES, len(X), epochs=2, seed=5, dtype="float64")
    net = Network(SIZES, seed=5, engine="reference")
    assert all(np.array_equal(a, b) for a, b in zip(weights + biases, net.weights + net.biases))
    assert np.array_equal(orders[0], net.rng.permutation(len(X)))
    assert np.array_equal(orders[1], net.rng.permutation(len(X)))


@needs_jax
@pytest.mark.parametrize("dtype, tol", [("float64", EPOCH_TOL), ("float32", FLOAT32_TOL)])
def test_jax_row_trains_the_reference_run(data, dtype, tol):
    rows = _compare(data, ("reference", "jax"), dtype)
    (row,) = _rows_of(rows, "jax")
    assert row["engine"] == "JAX jit epoch" and row["seconds"] > 0 and row["warmup"] > 0
    assert row["max_diff"] <= tol


@needs_torch
def test_torch_rows_train_the_reference_run(data):
    rows = _compare(data, ("reference", "torch"))
    torch_rows = _rows_of(rows, "torch")
    assert [r["engine"] for r in torch_rows] == [f"PyTorch, {t} thr" for t in bench.thread_choices()[1:]]
    assert all(r["seconds"] > 0 and r["max_diff"] <= EPOCH_TOL for r in torch_rows)


@pytest.mark.parametrize("library", ["jax", "torch"])
def test_a_missing_library_gives_a_row_that_says_so(data, monkeypatch, library, tmp_path):
    monkeypatch.setitem(sys.modules, library, None)  # import fails, find_spec returns None
    assert not rivals.library_available(library)
    rows = _compare(data, ("reference", library), epochs=1)
    (row,) = _rows_of(rows, library)
    assert row["seconds"] is None and row["max_diff"] is None
    assert row["note"] == f"not installed ({rivals.INSTALL_HINT[library]})"
    assert f"| {row['note']} |" in bench.format_compare(rows)
    bench.plot_compare(rows, tmp_path / "bars.png")  # the row without a time is left out
    assert (tmp_path / "bars.png").stat().st_size > 0


def test_child_process_failure_is_reported(tmp_path):
    with pytest.raises(RuntimeError, match="the numpy child process failed"):
        rivals.run_child("numpy", str(tmp_path / "missing.npz"))
    with pytest.raises(ValueError, match="library must be one of"):
        rivals.run_child("tensorflow", str(tmp_path / "missing.npz"))


def test_child_process_runs_the_trainer(data):
    X, y = data[0], data[1]
    weights, biases, orders = bench.initial_state(SIZES, len(X), epochs=2, seed=RUN["seed"], dtype="float64")
    with rivals.child_inputs(weights, biases, X, np.eye(10)[y], orders, 10, 3.0) as path:
        W, b, seconds, warmup = rivals.run_child("numpy", path, threads=1)
    assert not os.path.exists(path)  # the temporary inputs are removed
    assert len(seconds) == 2 and all(isinstance(s, float) for s in seconds)
    assert max_param_diff(bench.network_with(SIZES, "float64", W, b), _reference_fit(X, y, SIZES)) <= EPOCH_TOL


def test_child_environment_has_the_openmp_settings_of_startup(monkeypatch):
    if not os.path.exists("/proc/self/environ"):
        pytest.skip("needs /proc/self/environ")
    monkeypatch.setenv("OMP_FASTNN_TEST_SETTING", "set after start")
    monkeypatch.setenv("FASTNN_TEST_OTHER", "kept")
    env = rivals.library_environment()
    assert "OMP_FASTNN_TEST_SETTING" not in env  # not in this process's starting environment
    assert env["FASTNN_TEST_OTHER"] == "kept"


def _fake_rows():
    rows = [{"engine": "fastnn fit, threads=None (default)", "kind": "jit", "group": "fastnn fit",
             "seconds": 0.02, "speedup": 50.0, "max_diff": 1e-15, "accuracy": 0.9, "warmup": 1.5, "note": ""},
            {"engine": "fastnn fit, threads=1", "kind": "jit", "group": "fastnn fit", "seconds": 0.01,
             "speedup": 100.0, "max_diff": 1e-15, "accuracy": 0.9, "warmup": None, "note": ""},
            {"engine": "book per-sample (reference)", "kind": "reference", "group": "", "seconds": 1.0,
             "speedup": 1.0, "max_diff": 0.0, "accuracy": 0.9, "warmup": None, "note": ""},
            {"engine": "JAX jit epoch", "kind": "jax", "group": "", "seconds": None, "speedup": None,
             "max_diff": None, "accuracy": None, "warmup": None, "note": "not installed (pip ...)"}]
    return rows


def test_table_and_legend():
    rows = _fake_rows()
    table = bench.format_compare(rows)
    assert table.splitlines()[2] == "| fastnn fit, threads=None (default) | 0.0200 | 50.0x | 1.0e-15 | 90.00% |"
    assert table.splitlines()[5] == "| JAX jit epoch | not installed (pip ...) | | | |"
    legend = "\n".join(bench.compare_legend(rows))
    for kind in ("jit", "reference", "jax"):
        assert bench.LEGEND[kind] in legend
    assert bench.LEGEND["torch"] not in legend
    assert "Best thread count: fastnn fit 0.0100 s (threads=1)" in legend
    assert "fastnn kernels 1.50 s" in legend


def test_bar_chart_is_written_atomically(tmp_path):
    path = tmp_path / "compare.png"
    path.write_bytes(b"old")
    fig = bench.plot_compare(_fake_rows(), path, title="a title")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(os.listdir(tmp_path)) == ["compare.png"]  # no temporary file left behind
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "book per-sample (reference)", "fastnn fit, threads=1", "fastnn fit, threads=None (default)"]
    assert ax.get_xscale() == "log"  # 1.0 s vs 0.01 s
    bench.plot_compare(_fake_rows(), tmp_path / "compare.svg")
    assert (tmp_path / "compare.svg").read_text().lstrip().startswith("<?xml")
    with pytest.raises(ValueError, match="no row has a time"):
        bench.plot_compare(_fake_rows()[3:], tmp_path / "empty.png")


def test_compare_cli_rows_legend_and_plot(tmp_path, capsys):
    plot = tmp_path / "bars.png"
    argv = ["compare", "--sizes", "30,12,10", "--samples", "200", "--engines", "jit,reference,numpy",
            "--plot", str(plot)]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert "| tuned NumPy, 1 BLAS thr |" in out and bench.LEGEND["numpy"] in out
    assert "matrix engine" not in out and f"Wrote the bar chart to {plot}" in out
    assert plot.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("value", ["jit,matrix", "reference,tensorflow"])
def test_compare_cli_rejects_bad_engines(value, capsys):
    with pytest.raises(SystemExit):
        cli.main(["compare", "--engines", value])
    assert "argument --engines: must include 'reference'" in capsys.readouterr().err


def test_thread_choices():
    cores = bench.core_count()
    assert bench.thread_choices() == [None] + sorted({1, cores})
    assert bench.thread_choices(1) == [1]


def test_inference_bench_and_numpy_forward_agree():
    X, _ = bench.synthetic_data(37, 20, 10)
    rows = bench.run_inference_bench(X, sizes_list=([20, 6, 10],), dtypes=("float64", "float32"), repeats=2)
    assert [(r["dtype"], r["threads"]) for r in rows] == [
        (dt, t) for dt in ("float64", "float32") for t in bench.thread_choices()]
    assert all(r["seconds"] > 0 and r["speedup"] == r["numpy_seconds"] / r["seconds"] for r in rows)
    table = bench.format_inference(rows, len(X))
    assert table.count("\n") == len(rows) + 1 and "predict_proba s (37 rows)" in table
    net = Network([20, 6, 10], seed=0)
    np.testing.assert_allclose(bench.numpy_forward(net.weights, net.biases, X), net.predict_proba(X),
                               rtol=0, atol=1e-12)


def test_bench_fit_rows_cover_every_thread_choice():
    X, y = bench.synthetic_data(30, 20, 10)
    rows = bench.run_bench(X, y, sizes_list=([20, 6, 10],), mini_batches=(7,), dtypes=("float64",), epochs=2)
    assert [r["threads"] for r in rows] == bench.thread_choices()
    for r in rows:
        # the whole fit call includes the training loop
        assert 0 < r["loop_seconds"] <= r["seconds"]


def test_bench_cli(capsys):
    argv = ["bench", "--samples", "40", "--infer-samples", "20", "--epochs", "1", "--dtype", "float32",
            "--threads", "1"]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert "| [784, 100, 10] | 100 | float32 | 1 |" in out
    assert "| [784, 30, 10] | float32 | 1 |" in out


def _small_compare(perturb=None):
    X, y, X_test, y_test, sizes = bench.load_data("synthetic", 300, [30, 12, 10])
    return bench.run_compare(X, y, X_test, y_test, sizes, mini_batch_size=10,
                             engines=("jit", "reference", "matrix"), perturb=perturb)


def test_compare_agrees_and_reports_a_perturbation():
    rows = _small_compare()
    assert {r["kind"] for r in rows} == {"jit", "jit-loop", "reference", "matrix"}
    assert all(r["max_diff"] <= EPOCH_TOL for r in rows)
    assert bench.jit_disagreements(rows, EPOCH_TOL) == []

    def perturb(runs):
        for run in runs:
            if run.kind == "jit":
                run.net.weights[0][0, 0] += 1e-6

    bad = bench.jit_disagreements(_small_compare(perturb), EPOCH_TOL)
    assert len(bad) == len(bench.thread_choices()) and all(0.9e-6 < r["max_diff"] < 1.1e-6 for r in bad)


def test_compare_cli_exit_code_reflects_disagreement(monkeypatch, capsys):
    argv = ["compare", "--sizes", "30,12,10", "--samples", "200", "--mini-batch-size", "10",
            "--engines", "jit,reference"]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert "| book per-sample (reference) |" in out and "| fastnn fit, threads=1 |" in out

    real_fit = bench.time_fit

    def perturbed_fit(*args, **kwargs):
        net, seconds = real_fit(*args, **kwargs)
        net.biases[-1][0, 0] += 1e-3
        return net, seconds

    monkeypatch.setattr(bench.harness, "time_fit", perturbed_fit)  # where compare looks it up
    assert cli.main(argv) == 1
    assert "ERROR: the jit engine differs" in capsys.readouterr().out


def test_bench_tiny_case():
    X, y = bench.synthetic_data(40, 20, 10)
    rows = bench.run_bench(X, y, sizes_list=([20, 6, 10],), mini_batches=(1, 16),
                           dtypes=("float32",), epochs=1, threads=1)
    assert [(r["mini_batch_size"], r["dtype"]) for r in rows] == [(1, "float32"), (16, "float32")]
    assert all(r["seconds"] > 0 and r["gflops"] > 0 for r in rows)
    table = bench.format_bench(rows)
    assert table.count("\n") == 3 and "[20, 6, 10]" in table


def test_flops_per_sample():
    # forward + gradient for both layers, W^T delta only for the second
    assert bench.flops_per_sample([784, 30, 10]) == 4 * (784 * 30 + 30 * 10) + 2 * 30 * 10
