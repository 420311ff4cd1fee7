"""The fast paths (tiled, row-parallel, float32 kernels) against the reference, and the
``fastnn compare`` / ``fastnn bench`` commands.  Nothing here is timed.

Tolerances: jit vs the per-sample reference after an epoch, float64: 1e-9
(``EPOCH_TOL``); float32 vs float64 after an epoch at mini-batch 10: 2e-3.
"""
import numba
import numpy as np
import pytest

from fastnn import Network, bench, cli

from conftest import EPOCH_TOL, max_param_diff

FLOAT32_TOL = 2e-3

def _train(X, y, sizes, *, engine="jit", threads=None, dtype="float64", cost="quadratic",
           mini_batch_size=7, epochs=1, eta=3.0, lmbda=0.0, seed=3):
    net = Network(sizes, seed=seed, engine=engine, dtype=dtype, cost=cost, threads=threads)
    return net.fit(X, y, epochs=epochs, mini_batch_size=mini_batch_size, eta=eta, lmbda=lmbda)


def _params(net):
    return np.concatenate([a.ravel() for a in net.weights + net.biases])


def test_parallel_sized_network_matches_the_reference(digits):
    # [64, 48, 10] at mini-batch 7 is above the size from which a layer's row blocks are
    # split across threads (bit-identity across thread counts: tests/test_threads.py);
    # 1297 % 7 != 0 leaves a partial last mini-batch.
    X, y = digits[0][:1297], digits[1][:1297]
    jit = _train(X, y, [64, 48, 10], threads=numba.config.NUMBA_NUM_THREADS)
    ref = _train(X, y, [64, 48, 10], engine="reference")
    assert max_param_diff(jit, ref) <= EPOCH_TOL


@pytest.mark.parametrize("cost, lmbda", [("quadratic", 0.0), ("cross-entropy", 5.0)])
def test_deep_network_matches_reference(digits, cost, lmbda):
    X, y = digits[0][:400], digits[1][:400]
    kw = dict(cost=cost, lmbda=lmbda, mini_batch_size=9, eta=0.5)
    jit = _train(X, y, [64, 13, 9, 10], **kw)
    ref = _train(X, y, [64, 13, 9, 10], engine="reference", **kw)
    assert max_param_diff(jit, ref) <= EPOCH_TOL
    np.testing.assert_allclose(jit.predict_proba(X), ref.predict_proba(X), rtol=0, atol=EPOCH_TOL)


def test_mini_batch_one_and_larger_than_data_match_reference(digits):
    X, y = digits[0][:60], digits[1][:60]
    for mb in (1, 100):
        jit = _train(X, y, [64, 6, 10], mini_batch_size=mb, eta=0.5)
        ref = _train(X, y, [64, 6, 10], engine="reference", mini_batch_size=mb, eta=0.5)
        assert max_param_diff(jit, ref) <= EPOCH_TOL


def test_two_runs_are_bit_identical(digits):
    X, y = digits
    a = _train(X, y, [64, 30, 10], epochs=2)
    b = _train(X, y, [64, 30, 10], epochs=2)
    assert np.array_equal(_params(a), _params(b))
    c = _train(X, y, [64, 30, 10], epochs=2, seed=4)
    assert not np.array_equal(_params(a), _params(c))


def test_float32_stays_float32_and_agrees_with_float64(digits):
    X, y = digits
    f32 = _train(X, y, [64, 30, 10], dtype="float32", mini_batch_size=10)
    f64 = _train(X, y, [64, 30, 10], dtype="float64", mini_batch_size=10)
    assert all(a.dtype == np.float32 for a in f32.weights + f32.biases)
    proba = f32.predict_proba(X)
    assert proba.dtype == np.float32
    assert 0 < max_param_diff(f32, f64) <= FLOAT32_TOL
    np.testing.assert_allclose(proba, f64.predict_proba(X), rtol=0, atol=FLOAT32_TOL)


@pytest.mark.parametrize("threads, error", [(0, ValueError), (10**6, ValueError), (1.5, TypeError),
                                            ("2", TypeError)])
def test_bad_threads_raise(threads, error):
    with pytest.raises(error, match="threads"):
        Network([4, 3, 2], threads=threads)


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


@pytest.mark.parametrize("preset, expected", [
    ({}, "100000"),  # nothing chosen: a bounded spin
    ({"OMP_WAIT_POLICY": "passive"}, None),  # the user's policy decides the spin
    ({"GOMP_SPINCOUNT": "5"}, "5"),  # the user's spin count is kept
])
def test_openmp_spins_briefly_unless_the_user_chose(preset, expected):
    # Passive waiting made a 2-thread fork/join cost ~45 us (0.23 s per epoch at mini-batch
    # 10); libgomp's default spin is long.  fastnn.engines sets GOMP_SPINCOUNT only when the
    # user set neither OMP_WAIT_POLICY nor GOMP_SPINCOUNT.
    import os
    import subprocess
    import sys
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    env.update(preset)
    code = "import os, fastnn.engines; print(os.environ.get('GOMP_SPINCOUNT'))"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == str(expected)
