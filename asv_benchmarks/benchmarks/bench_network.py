"""asv: the sigmoid network's epoch, thread choice, inference, memory and cold start.

Data are synthetic MNIST-shaped arrays (:func:`fastnn.bench.synthetic_data`,
no files).  Every ``setup`` warms the jit kernels up first (and starts the
threads of the count it times), so timings never include compilation; the
``timeraw_`` benchmark measures exactly that.  Epoch times are ``Network.fit``
as a user calls it: the whole call, with the per-epoch history on.

Thread counts are named, not numbered, so that results of machines with
different core counts share benchmark names: "default" is ``threads=None``
(fastnn's own choice), "one" is 1 and "all" is ``NUMBA_NUM_THREADS``.
"""
import os
import subprocess
import sys
import tempfile

import numba

from fastnn import Network
from fastnn.bench import numpy_forward, synthetic_data, warm_up

N_TRAIN = 10_000
N_INFER = 10_000
SIZES = {"784-30-10": [784, 30, 10], "784-100-10": [784, 100, 10]}
THREADS = {"default": None, "one": 1, "all": numba.config.NUMBA_NUM_THREADS}


class Epoch:
    """Seconds of ``fit(X, y, epochs=1)`` on N_TRAIN samples (eta 3, quadratic cost,
    history on), per engine; the jit engine with its default threads."""

    params = (list(SIZES), [1, 10, 100], ["float64", "float32"], ["jit", "matrix", "reference"])
    param_names = ["sizes", "mini_batch_size", "dtype", "engine"]
    timeout = 300

    def setup_cache(self):
        return synthetic_data(N_TRAIN)

    def setup(self, data, sizes, mini_batch_size, dtype, engine):
        # the reference engine is ~20x slower: only its smallest case
        if engine == "reference" and (sizes, mini_batch_size, dtype) != ("784-30-10", 10, "float64"):
            raise NotImplementedError("reference engine: only 784-30-10, mini-batch 10, float64")
        warm_up(dtype)
        X, y = data
        self.X, self.y = X.astype(dtype), y
        self.net = Network(SIZES[sizes], seed=0, engine=engine, dtype=dtype)

    def time_epoch(self, data, sizes, mini_batch_size, dtype, engine):
        self.net.fit(self.X, self.y, epochs=1, mini_batch_size=mini_batch_size, eta=3.0)


class Threads:
    """Seconds of the jit engine's ``fit(X, y, epochs=1)`` on N_TRAIN samples (history on)
    with threads=None ("default") against fixed counts ("one", "all")."""

    params = (list(SIZES), [10, 100], ["float64", "float32"], list(THREADS))
    param_names = ["sizes", "mini_batch_size", "dtype", "threads"]
    timeout = 300

    def setup_cache(self):
        return synthetic_data(N_TRAIN)

    def setup(self, data, sizes, mini_batch_size, dtype, threads):
        warm_up(dtype)
        X, y = data
        self.X, self.y = X.astype(dtype), y
        self.net = Network(SIZES[sizes], seed=0, dtype=dtype, threads=THREADS[threads])
        # start the threads (and any run-time choice of their number) outside the timing
        self.net.fit(self.X[:500], y[:500], epochs=1, mini_batch_size=mini_batch_size, eta=3.0)

    def time_fit(self, data, sizes, mini_batch_size, dtype, threads):
        self.net.fit(self.X, self.y, epochs=1, mini_batch_size=mini_batch_size, eta=3.0)


class Inference:
    """Seconds of predict_proba on N_INFER samples of [784, 30, 10]; "numpy" is
    :func:`fastnn.bench.numpy_forward` (sigma(X W^T + b) per layer by BLAS, its own threads)."""

    params = (["float64", "float32"], ["jit", "matrix", "numpy"], list(THREADS))
    param_names = ["dtype", "engine", "threads"]

    def setup(self, dtype, engine, threads):
        if engine != "jit" and threads != "default":
            raise NotImplementedError("threads apply to the jit engine only")
        warm_up(dtype)
        self.X = synthetic_data(N_INFER, dtype=dtype)[0]
        self.net = Network([784, 30, 10], seed=0, engine="jit" if engine == "numpy" else engine,
                           dtype=dtype, threads=THREADS[threads])
        self.net.predict_proba(self.X[:1000])

    def time_predict_proba(self, dtype, engine, threads):
        if engine == "numpy":
            numpy_forward(self.net.weights, self.net.biases, self.X)
        else:
            self.net.predict_proba(self.X)


class Memory:
    """Peak resident memory of a fit (the data set itself is ~63 MB in float64)."""

    params = (["float64", "float32"],)
    param_names = ["dtype"]

    def setup_cache(self):
        return synthetic_data(N_TRAIN)

    def setup(self, data, dtype):
        warm_up(dtype)

    def peakmem_fit(self, data, dtype):
        X, y = data
        Network([784, 30, 10], seed=0, dtype=dtype).fit(X, y, epochs=1, mini_batch_size=10)


_COLD_CODE = """
from fastnn import Network
from fastnn.bench import synthetic_data
X, y = synthetic_data(1000)
Network([784, 30, 10], seed=0).fit(X, y, epochs=1, mini_batch_size=10)
"""


class ColdStart:
    """Fresh interpreter: import fastnn + a 1,000-sample epoch, with an empty or a warm numba cache."""

    params = (["empty", "warm"],)
    param_names = ["cache"]
    timeout = 300
    number = 1
    repeat = 1

    def setup(self, cache):
        self.cache_dir = tempfile.mkdtemp(prefix="fastnn-asv-numba-")
        if cache == "warm":
            env = dict(os.environ, NUMBA_CACHE_DIR=self.cache_dir)
            subprocess.run([sys.executable, "-c", _COLD_CODE], env=env, check=True)

    def timeraw_import_and_epoch(self, cache):
        # the timed interpreter points numba at this benchmark's own cache folder
        return f"import os\nos.environ['NUMBA_CACHE_DIR'] = {self.cache_dir!r}\n" + _COLD_CODE
