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
