"""tools/dense_blocks.py, the probe of the dense register blocks' speed (docs/performance.md).

It runs in child processes: the tool sets NUMBA_NUM_THREADS=1 for numba before importing it.
The rates themselves are never asserted (speed is shown in benchmarks, not tests); what is
tested is that the tool drives the real kernels over the operands it claims, and its output.
"""
import json
import math
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOL = os.path.join(ROOT, "tools", "dense_blocks.py")

# the tool's compiled driver, run once per phase and block on a small case, against NumPy
CHECK_DRIVER = r"""
import importlib.util, sys
import numpy as np
spec = importlib.util.spec_from_file_location("dense_blocks", sys.argv[1])
tool = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tool)
rng = np.random.default_rng(0)
n_in, n_rows, samples = 37, 8, 10
for dtype, tol in (("float64", 1e-12), ("float32", 1e-4)):
    for block_rows in tool.tiled.BLOCK_ROWS:
        W = rng.standard_normal((n_rows, n_in)).astype(dtype)
        X = rng.random((samples, n_in)).astype(dtype)
        D = rng.standard_normal((samples, n_rows)).astype(dtype)
        step = np.dtype(dtype).type(0.25)
        theta, out = W.ravel().copy(), np.zeros(samples * n_rows, dtype=dtype)
        tool._drive(tool.FORWARD, block_rows, theta, n_in, n_rows, X.ravel(), np.arange(samples), out,
                    D.ravel(), step, 1)
        assert out.dtype == dtype
        np.testing.assert_allclose(out.reshape(samples, n_rows), X @ W.T, rtol=tol, atol=tol)
        tool._drive(tool.STEP, block_rows, theta, n_in, n_rows, X.ravel(), np.arange(samples), out,
                    D.ravel(), step, 2)  # two passes: W - 2 step D^T X (BP4, eq. 20)
        assert theta.dtype == dtype
        np.testing.assert_allclose(theta.reshape(n_rows, n_in), W - 2 * step * (D.T @ X), rtol=tol, atol=tol)
print("ok")
"""


def run(args, **kwargs):
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=600, **kwargs)


def test_the_driver_computes_the_forward_products_and_the_step_of_every_block():
    result = run(["-c", CHECK_DRIVER, TOOL])
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_the_tool_prints_and_writes_a_rate_for_every_block_and_case(tmp_path, dtype):
    out = tmp_path / "rates.json"
    result = run([TOOL, "--dtype", dtype, "--seconds", "0.001", "--json", str(out)])
    assert result.returncode == 0, result.stderr
    rows = json.loads(out.read_text())
    assert [(r["block_rows"], r["n_in"], r["rows"], r["samples"]) for r in rows] == [
        (b, *case) for b in (2, 4) for case in ((256, 4, 5), (784, 4, 5), (784, 32, 20), (784, 100, 20))]
    for r in rows:
        for key in ("forward_gflops", "step_gflops"):
            assert math.isfinite(r[key]) and r[key] > 0, r
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"register blocks of fastnn.kernels.tiled alone, {dtype}, 1 thread")
    assert len([line for line in lines if line.startswith("| 2 x 5 |") or line.startswith("| 4 x 5 |")]) == 8
    assert lines[-1].startswith("Machine limit, " + ("dgemm" if dtype == "float64" else "sgemm"))


def test_a_run_length_that_is_not_positive_is_refused():
    result = run([TOOL, "--seconds", "0"])
    assert result.returncode == 2
    assert "--seconds must be positive, got 0.0" in result.stderr
