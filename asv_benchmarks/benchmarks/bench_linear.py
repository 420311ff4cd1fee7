"""asv: GD/SGD kernels of fastnn.kernels.linear vs their NumPy references.

Each timing runs a fixed number of iterations (tol = 0, so nothing stops
early) on synthetic standardised data of 2000 samples x 20 features.
"""
import numpy as np

from fastnn.kernels import linear as K
from fastnn.reference import linear_np as R

N_SAMPLES, N_FEATURES = 2000, 20
ITERATIONS = {"gd": 50, "sgd": 3}  # GD iterations or SGD epochs per timed call
MODELS = {"l2": (K.MODEL_L2, 1), "l1": (K.MODEL_L1, 1), "binary": (K.MODEL_LOGISTIC, 1),
          "softmax": (K.MODEL_LOGISTIC, 10)}


def _data(model):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((N_SAMPLES, N_FEATURES))
    if model in ("l2", "l1"):
        y = X @ rng.standard_normal(N_FEATURES) + 0.1 * rng.standard_normal(N_SAMPLES)
    else:
        y = rng.integers(0, 2 if model == "binary" else 10, N_SAMPLES).astype(float)
    return X, y


class LinearSolvers:
    """Time one fit of a fixed length: kernel ("jit") vs NumPy reference."""

    params = (["gd", "sgd"], list(MODELS), ["jit", "reference"])
    param_names = ["solver", "model", "impl"]

    def setup(self, solver, model, impl):
        self.X, self.y = _data(model)
        self.code, self.rows = MODELS[model]
        self.model = model
        self.iters = ITERATIONS[solver]
        rng = np.random.default_rng(1)
        self.perms = np.array([rng.permutation(N_SAMPLES) for _ in range(self.iters)])
        self.run = getattr(self, f"_{solver}_{impl}")
        self.run(2)  # warm up: compile the kernel (or load it from the numba cache)

    def _zeros(self):
        return np.zeros((self.rows, N_FEATURES)), np.zeros(self.rows)

    def _gd_jit(self, iters):
        W, b = self._zeros()
        K.gd(self.X, self.y, W, b, self.code, 1.0, 0.05, 0.9, iters, 0.0, iters + 1,
             np.empty(iters))

    def _gd_reference(self, iters):
        W, b = self._zeros()
        R.gd(self.X, self.y, W, b, self.model if self.code != K.MODEL_LOGISTIC else "logistic",
             1.0, 0.05, 0.9, iters, 0.0, iters + 1)

    def _sgd_jit(self, iters):
        W, b = self._zeros()
        K.sgd(self.X, self.y, W, b, self.code, 1.0, 0.05, 0.0, 10, self.perms[:iters], 0, 0.0,
              iters + 1, np.zeros_like(W), np.zeros_like(b), np.array([np.inf, 0.0]),
              np.empty(iters))

    def _sgd_reference(self, iters):
        W, b = self._zeros()
        R.sgd(self.X, self.y, W, b, self.model if self.code != K.MODEL_LOGISTIC else "logistic",
              1.0, 0.05, 0.0, 10, self.perms[:iters], 0.0, iters + 1)

    def time_fit(self, solver, model, impl):
        self.run(self.iters)
