"""Results do not depend on the number of numba threads: 1, 2 and 3 threads, bit for bit.

Runs in a subprocess started with ``NUMBA_NUM_THREADS=3``, so it also runs (and so the threaded
code paths run) on a machine or CI runner where numba would start a single thread.  Every
``parallel=True`` kernel of ``fastnn.kernels`` must be reached through the public calls made
there (``tiled.sgd_epoch``, ``tiled.feedforward_batch`` and ``Network.fit``/``predict_proba``
with ``threads=``), and the layers are far above the size at which a layer's rows are split
across threads, so the parallel path really runs.
"""
import json
import os
import subprocess
import sys

SCRIPT = r'''
import hashlib, importlib, json, pkgutil
import numba, numpy as np
from numba.core.registry import CPUDispatcher
from fastnn import Network, _params
import fastnn.kernels
from fastnn.kernels import mlp, tiled

assert numba.config.NUMBA_NUM_THREADS == 3, numba.config.NUMBA_NUM_THREADS
digest = lambda *arrays: hashlib.sha256(b"".join(a.tobytes() for a in arrays)).hexdigest()
# the first layer's work per mini-batch step, against the size from which rows are split
min_work = getattr(tiled, "PARALLEL_MIN_WORK", 16384)
cases = [([784, 100, 10], 10, mlp.QUADRATIC, 1.0), ([300, 67, 33, 10], 9, mlp.CROSS_ENTROPY, 0.998)]
assert all(s[0] * s[1] * mb >= 10 * min_work for s, mb, _, _ in cases)
out = {}
rng = np.random.default_rng(0)
for dtype in (np.float64, np.float32):
    for sizes, mb, cost, decay in cases:
        sizes_arr, w_off, b_off, n = _params.layout(sizes)
        theta0 = rng.standard_normal(n).astype(dtype)
        X = rng.random((203, sizes[0])).astype(dtype)   # 203 = 20 x 10 + 3 = 22 x 9 + 5: a short last batch
        Y = np.eye(sizes[-1], dtype=dtype)[rng.integers(0, sizes[-1], 203)]
        order = rng.permutation(203)
        key = f"{np.dtype(dtype).name} {sizes} mb {mb}"
        for threads in (1, 2, 3):
            numba.set_num_threads(threads)
            theta = theta0.copy()
            tiled.sgd_epoch(theta, w_off, b_off, sizes_arr, X, Y, order, mb, 3.0, dtype(decay), cost)
            proba = np.empty((203, sizes[-1]), dtype=dtype)
            tiled.feedforward_batch(theta, w_off, b_off, sizes_arr, X, proba)
            out.setdefault("kernels " + key, {})[threads] = digest(theta, proba)
            net = Network(sizes, seed=1, dtype=np.dtype(dtype).name, threads=threads)
            net.fit(X, Y, epochs=2, mini_batch_size=mb, eta=0.5, lmbda=1.0)
            out.setdefault("Network " + key, {})[threads] = digest(net._theta, net.predict_proba(X))
parallel = {}
for info in pkgutil.iter_modules(fastnn.kernels.__path__):
    module = importlib.import_module(f"fastnn.kernels.{info.name}")
    for name, obj in vars(module).items():
        if isinstance(obj, CPUDispatcher) and obj.targetoptions.get("parallel"):
            parallel[f"{info.name}.{name}"] = len(obj.signatures)
out["parallel kernels"] = parallel
print(json.dumps(out))
'''


def test_one_two_and_three_threads_are_bit_identical():
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_NUM_THREADS"}
    env["NUMBA_NUM_THREADS"] = "3"
    proc = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads(proc.stdout.strip().splitlines()[-1])
    parallel = results.pop("parallel kernels")
    assert parallel, "no parallel=True kernel found in fastnn.kernels"
    # every parallel kernel was compiled, i.e. ran, for the calls above (float64 and float32)
    assert all(count >= 2 for count in parallel.values()), parallel
    assert len(results) == 8
    for case, by_threads in results.items():
        assert len(set(by_threads.values())) == 1, f"{case}: results differ by thread count {by_threads}"
    # not vacuous: different cases give different numbers
    assert len({next(iter(v.values())) for v in results.values()}) == len(results)
