"""asv: the sigmoid network's epoch, inference, memory and cold start.

Data are synthetic MNIST-shaped arrays (:func:`fastnn.bench.synthetic_data`,
no files).  Every ``setup`` warms the jit kernels up first, so timings never
include compilation; the ``timeraw_`` benchmark measures exactly that.
"""
import os
import subprocess
import sys
import tempfile

import numpy as np

from fastnn import Network
from fastnn.bench import synthetic_data, warm_up

N_TRAIN = 10_000
N_INFER = 10_000
SIZES = {"784-30-10": [784, 30, 10], "784-100-10": [784, 100, 10]}


class Epoch:
    """Seconds for one epoch of N_TRAIN samples (eta 3, quadratic cost)."""

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


class Inference:
    """Seconds for predict_proba on N_INFER samples of [784, 30, 10]; "numpy" is X @ W.T + b by BLAS."""

    params = (["float64", "float32"], ["jit", "matrix", "numpy"])
    param_names = ["dtype", "engine"]

    def setup(self, dtype, engine):
        warm_up(dtype)
        self.X = synthetic_data(N_INFER, dtype=dtype)[0]
        self.net = Network([784, 30, 10], seed=0, engine="jit" if engine == "numpy" else engine,
                           dtype=dtype)
        self.net.predict_proba(self.X[:10])

    def time_predict_proba(self, dtype, engine):
        if engine == "numpy":
            a = self.X
            for w, b in zip(self.net.weights, self.net.biases):
                a = 1 / (1 + np.exp(-(a @ w.T + b.T)))
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
import numpy as np
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
