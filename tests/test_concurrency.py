"""Thread safety: concurrent predictions and fits give exactly the serial results.

A fitted network is only read by ``predict``/``predict_proba`` (every call
allocates its own buffers), and fitting touches only that network's own
parameters and generator, so Python threads can share one network for
prediction and train different networks at once.  Sizes are large enough
that the kernels run their parallel (multi-task) path.
"""
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from fastnn import Network

ROOT = Path(__file__).resolve().parents[1]
N_THREADS = 4
REPEATS = 5


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(11)
    X = rng.random((600, 64))
    return X, rng.integers(0, 10, 600)


def _run_threads(target, n):
    """Start ``n`` threads of ``target(i)`` together (a barrier), join, re-raise any error."""
    barrier = threading.Barrier(n)
    errors = []

    def wrapped(i):
        try:
            barrier.wait()
            target(i)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
    threads = [threading.Thread(target=wrapped, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    if errors:
        raise errors[0]


@pytest.mark.parametrize("engine, dtype", [("jit", "float64"), ("jit", "float32"),
                                           ("matrix", "float64")])
def test_concurrent_predictions_equal_serial(data, engine, dtype):
    X, y = data
    net = Network([64, 40, 10], seed=1, engine=engine, dtype=dtype).fit(X, y, epochs=1)
    # (a row's output may depend on the rows batched with it -- BLAS blocking, sample tiles --
    # so each thread's call is compared with the same call made serially)
    serial_proba = {i: net.predict_proba(X[i * 50:]) for i in range(N_THREADS)}
    serial_pred = net.predict(X)
    results = {}

    def predict(i):
        rows = slice(i * 50, None)  # different inputs per thread, and shared ones
        for r in range(REPEATS):
            results[i, r] = (net.predict_proba(X[rows]), net.predict(X), net.score(X, y))
    _run_threads(predict, N_THREADS)
    score = net.score(X, y)
    for (i, _), (proba, pred, sc) in results.items():
        np.testing.assert_array_equal(proba, serial_proba[i])
        np.testing.assert_array_equal(pred, serial_pred)
        assert sc == score


def test_concurrent_fits_equal_serial(data):
    X, y = data
    configs = [dict(seed=2, dtype="float64"), dict(seed=3, dtype="float32"),
               dict(seed=4, dtype="float64", cost="cross-entropy")]
    serial = [Network([64, 30, 10], **c).fit(X, y, epochs=2, mini_batch_size=20)._theta
              for c in configs]
    nets = [Network([64, 30, 10], **c) for c in configs]
    _run_threads(lambda i: nets[i].fit(X, y, epochs=2, mini_batch_size=20), len(nets))
    for net, theta in zip(nets, serial):
        np.testing.assert_array_equal(net._theta, theta)


def test_fit_and_predict_of_different_networks_at_once(data):
    X, y = data
    fitted = Network([64, 30, 10], seed=5).fit(X, y, epochs=1)
    expected_proba = fitted.predict_proba(X)
    expected_theta = Network([64, 30, 10], seed=6).fit(X, y, epochs=2)._theta
    training = Network([64, 30, 10], seed=6)
    out = {}

    def work(i):
        if i == 0:
            training.fit(X, y, epochs=2)
        else:
            out[i] = [fitted.predict_proba(X) for _ in range(REPEATS)]
    _run_threads(work, 3)
    np.testing.assert_array_equal(training._theta, expected_theta)
    for probas in out.values():
        for p in probas:
            np.testing.assert_array_equal(p, expected_proba)


CONCURRENT_SCRIPT = """
import threading, numpy as np, numba
from fastnn import Network
X = np.random.default_rng(0).random((1000, 64)); y = np.arange(1000) % 10
net = Network([64, 40, 10], seed=0).fit(X, y, epochs=1)
ref = net.predict_proba(X)
out = [None] * 4
def work(i):
    for _ in range(10):
        out[i] = net.predict_proba(X)
threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
[t.start() for t in threads]; [t.join() for t in threads]
assert all(np.array_equal(o, ref) for o in out)
print("layer", numba.threading_layer(), "ok")
"""


def test_workqueue_threading_layer_does_not_abort():
    """numba's workqueue layer aborts on concurrent parallel launches: fastnn serialises them."""
    env = dict(os.environ, NUMBA_THREADING_LAYER="workqueue", NUMBA_NUM_THREADS="2")
    result = subprocess.run([sys.executable, "-c", CONCURRENT_SCRIPT], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "layer workqueue ok" in result.stdout
