"""Perceptrons: gates, the NAND circuit, convergence warnings and bad input (the learning rule
against the NumPy reference: tests/kernels/test_kernel_perceptron.py)."""
import warnings

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from fastnn.linear import ConvergenceWarning
from fastnn.perceptron import Perceptron, nand_adder, nand_xor

BITS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])


@pytest.mark.parametrize("gate, expected", [
    (Perceptron.nand, [1, 1, 1, 0]),
    (Perceptron.and_, [0, 0, 0, 1]),
    (Perceptron.or_, [0, 1, 1, 1]),
])
def test_two_input_gates(gate, expected):
    assert_array_equal(gate().predict(BITS), expected)


def test_nand_has_the_books_weights():
    p = Perceptron.nand()
    assert_array_equal(p.weights, [-2.0, -2.0])
    assert p.bias == 3.0


def test_not_gate():
    assert_array_equal(Perceptron.not_().predict([[0], [1]]), [1, 0])


def test_output_is_zero_on_the_boundary():
    # w.x + b == 0 is not > 0
    assert_array_equal(Perceptron([1.0, -1.0], 0.0).predict([[2.0, 2.0], [3.0, 2.0]]), [0, 1])


def test_nand_xor_truth_table():
    assert_array_equal(nand_xor(BITS), [0, 1, 1, 0])


def test_nand_adder_truth_table():
    sum_bit, carry = nand_adder(BITS)
    assert_array_equal(sum_bit, [0, 1, 1, 0])
    assert_array_equal(carry, [0, 0, 0, 1])
    # sum + 2 * carry is the arithmetic sum of the two bits
    assert_array_equal(sum_bit + 2 * carry, BITS.sum(axis=1))


def test_nand_circuit_uses_only_nand(monkeypatch):
    calls = []
    original = Perceptron.nand.__func__

    def spy(cls):
        calls.append(1)
        return original(cls)
    monkeypatch.setattr(Perceptron, "nand", classmethod(spy))
    monkeypatch.setattr(Perceptron, "and_", classmethod(lambda cls: pytest.fail("used AND")))
    monkeypatch.setattr(Perceptron, "or_", classmethod(lambda cls: pytest.fail("used OR")))
    nand_adder(BITS)
    assert len(calls) == 5  # 4 NANDs for the sum, 1 for the carry


def test_nand_circuit_rejects_non_bits():
    with pytest.raises(ValueError, match="bits"):
        nand_xor([[0, 2]])


def test_xor_warns_and_stops_at_max_epochs():
    p = Perceptron([0.0, 0.0], 0.0)
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        p.fit(BITS, [0, 1, 1, 0], max_epochs=25)
    assert p.converged_epoch_ is None
    assert p.n_epochs_ == 25 and len(p.errors_) == 25
    assert (p.errors_ > 0).all()
    assert issubclass(ConvergenceWarning, UserWarning)


@pytest.mark.parametrize("y, exc, match", [
    ([0, 1, 2, 1], ValueError, "binary"),
    ([0, 1, 1], ValueError, "shape"),
    ([0.0, 1.0, np.nan, 1.0], ValueError, "binary"),
    (["a", "b", "a", "b"], TypeError, "0/1"),
])
def test_fit_rejects_bad_labels(y, exc, match):
    with pytest.raises(exc, match=match):
        Perceptron([0.0, 0.0]).fit(BITS, y)


@pytest.mark.parametrize("kwargs, exc, match", [
    ({"eta": 0.0}, ValueError, "eta"),
    ({"eta": -1.0}, ValueError, "eta"),
    ({"max_epochs": 0}, ValueError, "max_epochs"),
    ({"max_epochs": 2.5}, TypeError, "max_epochs"),
])
def test_fit_rejects_bad_hyperparameters(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        Perceptron([0.0, 0.0]).fit(BITS, [0, 0, 0, 1], **kwargs)


@pytest.mark.parametrize("X, exc, match", [
    ([0, 1], ValueError, "2D"),
    (np.empty((0, 2)), ValueError, "empty"),
    ([[0.0, np.inf]], ValueError, "NaN or infinity"),
    ([[0.0, 1.0, 1.0]], ValueError, "features"),
])
def test_predict_rejects_bad_input(X, exc, match):
    with pytest.raises(exc, match=match):
        Perceptron.nand().predict(X)


def test_constructor_rejects_bad_weights():
    with pytest.raises(ValueError, match="NaN"):
        Perceptron([np.nan, 1.0])
    with pytest.raises(ValueError, match="1D"):
        Perceptron([[1.0, 1.0]])


def test_fit_does_not_warn_when_it_converges():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Perceptron([0.0, 0.0]).fit(BITS, [0, 1, 1, 1])
