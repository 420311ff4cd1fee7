"""Shared fixtures and tolerances.

Tolerances (max abs difference of parameters, float64):
* one mini-batch step, jit vs reference: 1e-12
* one epoch (>= 1,000 samples, mb >= 7): 1e-9
"""
import numpy as np
import pytest
from sklearn.datasets import load_digits

STEP_TOL = 1e-12
EPOCH_TOL = 1e-9
SIZES = [[64, 10], [64, 30, 10], [64, 20, 15, 10]]

# Hypothesis profiles for tests/test_fuzz.py (issue 8).  "ci" (default): a bounded,
# derandomized (reproducible) run.  "long": >= 10,000 examples in total, selected by
# HYPOTHESIS_PROFILE=long or by `pytest -m fuzz`.
import os  # noqa: E402

from hypothesis import HealthCheck, settings  # noqa: E402

_FUZZ_HEALTH = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]
settings.register_profile("ci", max_examples=30, deadline=None, derandomize=True, database=None,
                          suppress_health_check=_FUZZ_HEALTH, print_blob=True)
settings.register_profile("long", max_examples=1500, deadline=None, database=None,
                          suppress_health_check=_FUZZ_HEALTH, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_configure(config):
    """`pytest -m fuzz` runs the fuzz tests with the long profile (unless one is named)."""
    if config.getoption("markexpr", "").strip() == "fuzz" and "HYPOTHESIS_PROFILE" not in os.environ:
        settings.load_profile("long")


@pytest.fixture(scope="session")
def digits():
    """scikit-learn's 8x8 digits (real images, offline): X in [0, 1] (1797, 64), y int."""
    d = load_digits()
    return d.data / 16.0, d.target.astype(np.int64)


@pytest.fixture(scope="session")
def digits_split(digits):
    """A fixed train/test split of the digits: 1,297 / 500."""
    X, y = digits
    order = np.random.default_rng(0).permutation(len(y))
    train, test = order[:1297], order[1297:]
    return X[train], y[train], X[test], y[test]


def max_param_diff(a, b):
    """Largest absolute difference between two networks' parameters."""
    return max(max(np.abs(wa - wb).max() for wa, wb in zip(a.weights, b.weights)),
               max(np.abs(ba - bb).max() for ba, bb in zip(a.biases, b.biases)))


@pytest.fixture(scope="module")
def dask_client():
    """A real Dask LocalCluster of 2 worker processes of 1 thread (nannies restart killed
    workers) and its Client; both closed after the module, also when a test fails."""
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()
