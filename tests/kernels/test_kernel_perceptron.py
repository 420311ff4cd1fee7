"""The perceptron learning rule of :mod:`fastnn.kernels.perceptron` (run through
``Perceptron.fit``, which only checks and converts) against :mod:`fastnn.reference.linear_np`:
the same weights, bias, mistakes per epoch and convergence epoch (1e-12)."""
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from fastnn.perceptron import Perceptron
from fastnn.reference import linear_np as ref

BITS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])


@pytest.mark.parametrize("target", [[0, 0, 0, 1], [0, 1, 1, 1], [1, 1, 1, 0]])
def test_fit_learns_separable_gates(target):
    p = Perceptron([0.0, 0.0], 0.0)
    assert p.fit(BITS, target, max_epochs=50) is p
    assert p.converged_epoch_ is not None and p.converged_epoch_ <= 50
    assert p.errors_[-1] == 0 and p.errors_[0] > 0
    assert_array_equal(p.predict(BITS), target)


def test_fit_starts_from_current_weights():
    p = Perceptron.nand()
    p.fit(BITS, [1, 1, 1, 0])
    assert p.converged_epoch_ == 1
    assert_array_equal(p.weights, [-2.0, -2.0])
    assert p.bias == 3.0


def test_fit_matches_reference_on_random_separable_data():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((200, 4))
    y = (X @ np.array([1.0, -2.0, 0.5, 0.3]) + 0.2 > 0).astype(int)
    p = Perceptron(np.zeros(4), 0.0).fit(X, y, max_epochs=1000, eta=0.5)
    w, b, errors, epoch = ref.perceptron_fit(X, y, np.zeros(4), 0.0, 0.5, 1000)
    assert epoch > 0 and p.converged_epoch_ == epoch
    assert_array_equal(p.errors_, errors)
    assert_allclose(p.weights, w, rtol=1e-12, atol=1e-12)
    assert_allclose(p.bias, b, rtol=1e-12, atol=1e-12)
    assert p.score(X, y) == 1.0
