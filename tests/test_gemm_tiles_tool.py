"""tools/gemm_tiles.py, the measurement of a GEMM-style tile for issue 28 (docs/performance.md).

The rates are never asserted (speed is shown in benchmarks, not tests); what is tested is that
the tile's forward products and step compute what they claim, on shapes with every remainder
(rows not a multiple of the panel width, samples not a multiple of 6, inputs not a multiple of 6),
and that the tool prints and writes a row per case.  The tool runs in a child process: it sets
numba's environment before numba loads.
"""
import importlib.util
import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOL = os.path.join(ROOT, "tools", "gemm_tiles.py")


@pytest.fixture(scope="module")
def tool():
    spec = importlib.util.spec_from_file_location("gemm_tiles", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("n_rows, n_in, nr", [(13, 37, 8), (8, 6, 8), (1, 5, 8), (33, 40, 16)])
def test_panels_hold_w_transposed_and_give_it_back(tool, n_rows, n_in, nr):
    W = np.arange(n_rows * n_in, dtype=np.float64).reshape(n_rows, n_in)
    panels = tool.to_panels(W, nr).reshape(-1, n_in, nr)
    assert panels.shape[0] == -(-n_rows // nr)
    for j in range(panels.shape[0] * nr):  # panels[q, k, v] = W[q * nr + v, k], rows past the end zero
        expected = W[j] if j < n_rows else np.zeros(n_in)
        assert np.array_equal(panels[j // nr, :, j % nr], expected)
    assert np.array_equal(tool.from_panels(panels.ravel(), n_rows, n_in, nr), W)


@pytest.mark.parametrize("dtype, nr, tol", [("float64", 8, 1e-12), ("float32", 16, 2e-5), ("float64", 16, 1e-12)])
@pytest.mark.parametrize("n_rows, samples, n_in", [(13, 7, 37), (8, 6, 12), (3, 1, 5), (9, 5, 7), (17, 13, 785)])
def test_the_tiles_compute_the_forward_products_and_the_step(tool, dtype, nr, tol, n_rows, samples, n_in):
    forward, step = tool.compile_tiles(nr)
    case = tool.Case(n_rows, samples, dtype, nr, n_in=n_in, seed=samples)
    forward(*case.forward_args())
    x = case.X[case.rows]
    assert case.z.dtype == dtype
    np.testing.assert_allclose(case.z.reshape(samples, n_rows), x @ case.W.T, rtol=tol, atol=tol)
    panels = case.panels.copy()
    step(*case.step_args(panels))  # BP4 and eq. 20 into W kept as panels
    assert panels.dtype == dtype
    np.testing.assert_allclose(tool.from_panels(panels, n_rows, n_in, nr),
                               case.W - case.c * (case.delta.T @ x), rtol=tol, atol=tol)
    assert tool.errors(case, forward, step)[0] <= tol * n_in


def run(args):
    return subprocess.run([sys.executable, TOOL, *args], capture_output=True, text=True, timeout=600)


def test_the_tool_prints_and_writes_a_row_for_every_case(tmp_path):
    out = tmp_path / "tiles.json"
    result = run(["--seconds", "0.001", "--json", str(out)])
    assert result.returncode == 0, result.stderr
    rows = json.loads(out.read_text())
    assert [(r["rows"], r["samples"]) for r in rows] == [(100, 100), (100, 20), (32, 100), (32, 20)]
    for r in rows:
        for phase in ("forward", "step"):
            for kind in ("tile", "block", "numpy"):
                assert math.isfinite(r[f"{kind}_{phase}"]) and r[f"{kind}_{phase}"] > 0, r
        assert r["z_error"] < 1e-12 and r["w_error"] < 1e-14, r
    lines = result.stdout.splitlines()
    assert lines[0].startswith("GEMM-style tiles (6 x 8, SLP on) against fastnn's ")
    assert len([line for line in lines if line.startswith(("| 100 x 784 |", "| 32 x 784 |"))]) == 4
    assert lines[-1].startswith("Machine limit, dgemm")


def test_a_run_length_that_is_not_positive_is_refused():
    result = run(["--seconds", "-1"])
    assert result.returncode == 2
    assert "--seconds must be positive, got -1.0" in result.stderr
