"""The kernels stay valid Python: a small subset runs under ``NUMBA_DISABLE_JIT=1``.

With the JIT disabled every ``@njit`` function runs as plain Python/NumPy, so
kernels must avoid overflowing math (``math.exp`` raises OverflowError in
Python), keep float32 through typed constants (``one_like``), and library code
must not introspect dispatchers.  ``test_kernels_run_as_plain_python`` runs
tests/kernels/test_kernel_mlp.py, tests/kernels/test_kernel_activations.py and
:func:`test_engines_agree_in_this_mode` in a subprocess with the JIT disabled; the
latter also runs here, compiled.
"""
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numba
import numpy as np
import pytest

from fastnn import Network
from fastnn.linear import LinearRegression, LogisticRegression
from fastnn.perceptron import Perceptron
from fastnn.reference import linear_np

ROOT = Path(__file__).resolve().parents[1]
TOL = {"float64": 1e-9, "float32": 2e-4}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("cost", ["quadratic", "cross-entropy"])
def test_engines_agree_in_this_mode(dtype, cost):
    """jit engine (compiled, or plain Python without JIT) vs the NumPy reference."""
    rng = np.random.default_rng(5)
    X = rng.random((30, 7)) * 4 - 2
    X[0, 0] = 800.0  # saturating sums: exp must not overflow in plain Python
    y = rng.integers(0, 3, 30)
    nets = [Network([7, 5, 4, 3], seed=6, dtype=dtype, cost=cost, engine=e) for e in ("jit", "reference")]
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no overflow warnings from the kernels
        for net in nets:
            net.fit(X, y, epochs=2, mini_batch_size=4, eta=0.5, lmbda=0.1)
        jit_out = nets[0].predict_proba(X)
    with np.errstate(over="ignore"):
        ref_out = nets[1].predict_proba(X)
    assert nets[0]._theta.dtype == np.dtype(dtype) and jit_out.dtype == np.dtype(dtype)
    np.testing.assert_allclose(nets[0]._theta, nets[1]._theta, rtol=TOL[dtype], atol=TOL[dtype])
    np.testing.assert_allclose(jit_out, ref_out, rtol=TOL[dtype], atol=TOL[dtype])


def test_simple_model_kernels_in_this_mode():
    rng = np.random.default_rng(7)
    X = rng.random((40, 3))
    y = (X @ [1.0, -2.0, 0.5] > -0.2).astype(int)
    per = Perceptron(np.zeros(3)).fit(X, y, max_epochs=4)
    w, b, _, _ = linear_np.perceptron_fit(X, y.astype(float), np.zeros(3), 0.0, 1.0, 4)
    np.testing.assert_array_equal(per.weights, w)
    assert per.bias == b
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence warnings
        lin = LinearRegression(solver="gd", max_iter=200).fit(X, X @ [1.0, 2.0, 3.0])
        log = LogisticRegression(max_iter=50).fit(X, y)
    assert np.isfinite(lin.coef_).all() and np.isfinite(log.coef_).all()
    assert lin.score(X, X @ [1.0, 2.0, 3.0]) > 0.5


@pytest.mark.skipif(numba.config.DISABLE_JIT, reason="this is the subprocess itself")
def test_kernels_run_as_plain_python():
    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    cmd = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
           "tests/kernels/test_kernel_mlp.py", "tests/kernels/test_kernel_activations.py", "tests/test_nojit.py"]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert " passed" in proc.stdout and "1 skipped" in proc.stdout, proc.stdout[-500:]
