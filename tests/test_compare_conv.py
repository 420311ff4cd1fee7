"""``fastnn compare --net conv``: the rows, the agreement check and its exit code, PyTorch absent."""
import numpy as np
import pytest

from fastnn import cli
from fastnn.bench import compare_conv as cc
from fastnn.rivals_conv import book_conv_spec

SAMPLES = ["--samples", "20"]


def test_flops_of_the_books_net():
    # conv1: 20 filters of 1x5x5 at 24x24 positions forward, 12x12 pooled positions for dW (no dX);
    # conv2: 40x20x5x5 at 8x8 forward, 4x4 for dW and dX; FC 640x100 and softmax 100x10 three times
    macs = (20 * 25 * 576 + 20 * 25 * 144 + 40 * 20 * 25 * 64 + 2 * 40 * 20 * 25 * 16
            + 3 * 640 * 100 + 3 * 100 * 10)
    assert cc.conv_flops_per_sample(book_conv_spec("relu")) == 2 * macs == 4_950_000


def test_rows_share_the_weights_and_agree_with_the_reference(monkeypatch):
    monkeypatch.setattr(cc, "torch_available", lambda: False)
    X, y = cc.conv_data("synthetic", 30, seed=1)
    rows = cc.run_compare_conv(X, y, epochs=1, mini_batch_size=10, seed=1)
    kinds = [(r["kind"], r["threads"]) for r in rows]
    counts = cc._thread_counts()
    assert kinds == [("jit", t) for t in counts] + [("reference", 1), ("torch", counts[0])]
    for r in rows[:-1]:
        assert r["wall"] > 0 and r["cpu"] > 0 and r["speedup"] > 0 and r["max_diff"] <= 1e-12
        assert r["gflops"] == pytest.approx(4_950_000 * 30 / r["wall"] / 1e9)
    assert rows[-1]["wall"] is None and "PyTorch is not installed" in rows[-1]["note"]
    assert rows[len(counts)]["max_diff"] == 0.0 and rows[len(counts)]["speedup"] == 1.0
    # the rows trained: the parameters moved away from the initial weights
    start = __import__("fastnn.rivals_conv", fromlist=["x"]).init_book_weights(book_conv_spec("relu"), seed=1)
    assert np.abs(rows[0]["weights"][1][0] - start[1][0]).max() > 1e-6


def test_cli_table_and_exit_0(monkeypatch, capsys):
    monkeypatch.setattr(cc, "torch_available", lambda: False)
    assert cli.main(["compare", "--net", "conv", *SAMPLES]) == 0
    out = capsys.readouterr().out
    assert "20 samples from 'synthetic', 1 epoch(s), float64" in out
    assert "| fastnn, 1 thread |" in out and "| NumPy reference, 1 thread |" in out
    assert "| PyTorch CPU, 1 thread | skipped: PyTorch is not installed" in out
    assert "tolerance 1e-08" in out and "Yardstick: NumPy's dgemm" in out


def test_cli_exits_1_when_fastnn_disagrees(monkeypatch, capsys):
    real = cc._fastnn_row

    def off_by_a_little(*args):
        row = real(*args)
        row["weights"][0] = (row["weights"][0][0] + 1e-6, row["weights"][0][1])
        return row

    monkeypatch.setattr(cc, "_fastnn_row", off_by_a_little)
    assert cli.main(["compare", "--net", "conv", "--engines", "jit,reference", *SAMPLES]) == 1
    out = capsys.readouterr().out
    assert "ERROR: fastnn differs from the reference by 1e-06 > tolerance 1e-08" in out
    # float32's tolerance is 1e-4: the same perturbation passes, ten times that fails
    assert cli.main(["compare", "--net", "conv", "--engines", "jit,reference", "--dtype", "float32", *SAMPLES]) == 0
    assert "tolerance 0.0001" in capsys.readouterr().out

    def off_by_more(*args):
        row = real(*args)
        row["weights"][0] = (row["weights"][0][0] + 2e-4, row["weights"][0][1])
        return row

    monkeypatch.setattr(cc, "_fastnn_row", off_by_more)
    assert cli.main(["compare", "--net", "conv", "--engines", "jit,reference", "--dtype", "float32", *SAMPLES]) == 1
    assert "ERROR: fastnn differs from the reference by 0.0002 > tolerance 0.0001" in capsys.readouterr().out


def test_the_agreement_check_has_its_own_short_run(monkeypatch, capsys):
    # the check trains the first --check-samples samples on their own and scores that run, not
    # the timed one: a difference planted in the long run only does not fail it, one planted
    # in the short run does
    real = cc._fastnn_row
    planted = {}

    def off_when(n_off):
        def row(spec, weights, X, y, threads, common):
            out = real(spec, weights, X, y, threads, common)
            if len(X) == n_off:
                out["weights"][1] = (out["weights"][1][0] - 1e-3, out["weights"][1][1])
                planted[len(X)] = True
            return out
        return row

    argv = ["compare", "--net", "conv", "--engines", "jit,reference", "--samples", "40", "--check-samples", "20"]
    monkeypatch.setattr(cc, "_fastnn_row", off_when(40))
    assert cli.main(argv) == 0 and planted == {40: True}
    out = capsys.readouterr().out
    assert "| fastnn, 1 thread |" in out and "1.0e-03 |" in out
    assert "agreement check (1 epoch of 20 samples)" in out and "ERROR" not in out
    monkeypatch.setattr(cc, "_fastnn_row", off_when(20))
    assert cli.main(argv) == 1
    assert "agreement check (1 epoch of 20 samples)" in capsys.readouterr().out


def test_the_default_check_is_20_mini_batches(monkeypatch):
    seen = {"lengths": []}
    real_run, real_check = cc.run_compare_conv, cc.conv_agreement

    def run_spy(X, y, **kw):
        seen["lengths"].append(len(X))
        return real_run(X, y, **kw)

    def check_spy(X, y, **kw):
        seen["check_samples"] = kw["check_samples"]
        return real_check(X, y, **kw)

    monkeypatch.setattr(cc, "run_compare_conv", run_spy)
    monkeypatch.setattr(cc, "conv_agreement", check_spy)
    assert cc.CHECK_SAMPLES == 200
    # a run no longer than the check's is scored as it is, not trained twice
    assert cli.main(["compare", "--net", "conv", "--engines", "jit,reference", "--samples", "30"]) == 0
    assert seen == {"lengths": [30], "check_samples": 200}


@pytest.mark.parametrize("argv, message", [
    (["--sizes", "784,30,10"], "--sizes belongs to the dense net"),
    (["--plot", "x.png"], "--plot draws the dense net's rows only"),
    (["--samples", "5", "--data", "digits"], "less than one mini-batch"),
])
def test_bad_options(argv, message, capsys):
    assert cli.main(["compare", "--net", "conv", *argv]) == 2
    assert message in capsys.readouterr().err


def test_bad_engines():
    X, y = cc.conv_data("synthetic", 10)
    with pytest.raises(ValueError, match="unknown engine 'jax'"):
        cc.run_compare_conv(X, y, engines=("jax", "reference"))
    with pytest.raises(ValueError, match="needs the 'reference' engine"):
        cc.run_compare_conv(X, y, engines=("jit",))


def test_enlarged_digits_data_repeat_to_the_sample_count():
    X, y = cc.conv_data("digits", 2500)
    assert X.shape == (2500, 784) and np.array_equal(X[1000:1010], X[:10]) and np.array_equal(y[1000:], y[:1500])


def test_the_dense_compare_keeps_its_defaults(monkeypatch):
    seen = {}
    from fastnn import bench

    def fake(X, y, X_test, y_test, sizes, **kw):
        seen.update(kw, n=len(X))
        raise ValueError("stop here")

    monkeypatch.setattr(bench, "run_compare", fake)
    assert cli.main(["compare"]) == 2
    assert seen["n"] == 5000 and seen["eta"] == 3.0


def test_the_gemm_yardstick_is_a_rate():
    rate = cc.dgemm_rate(n=64, repeats=2)
    assert np.isfinite(rate) and rate > 0.01


def test_the_compile_note_checks_the_conv_kernels_for_compare_conv():
    from fastnn import _numba_cache

    parse = cli.build_parser().parse_args
    assert _numba_cache.command_entry_points(parse(["compare", "--net", "conv"])) == _numba_cache.CONV_ENTRY_POINTS
    assert _numba_cache.command_entry_points(parse(["compare"])) == _numba_cache.ENTRY_POINTS
    assert _numba_cache.command_dtypes(parse(["compare", "--net", "conv", "--dtype", "float32"])) == ["float32"]
