"""The tables of ``fastnn demo gates`` and ``fastnn demo regression`` (the command is :mod:`fastnn.cli.demo`)."""
import time
import warnings

import numpy as np

from .perceptron import Perceptron, nand_adder, nand_xor

_BITS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])

# (solver, loss) pairs shown by regression_table, closed form first (the reference row)
REGRESSION_RUNS = [("closed", "l2"), ("gd", "l2"), ("sgd", "l2"), ("gd", "l1"), ("sgd", "l1")]


def gates_table():
    """Truth tables of the NAND/AND/OR/NOT perceptrons, XOR from NANDs, and the NAND adder.

    Returns
    -------
    str
    """
    gates = {"NAND": Perceptron.nand(), "AND": Perceptron.and_(), "OR": Perceptron.or_()}
    lines = ["Perceptron gates (output 1 if w.x + b > 0)"]
    lines += [f"  {name:<4} w={p.weights.tolist()} b={p.bias:g}" for name, p in gates.items()]
    lines += ["", " x1 x2 | NAND AND OR | XOR(NANDs) | sum carry"]
    outs = {name: p.predict(_BITS) for name, p in gates.items()}
    xor = nand_xor(_BITS)
    sum_bit, carry = nand_adder(_BITS)
    for i, (x1, x2) in enumerate(_BITS):
        lines.append(f"  {x1}  {x2} |  {outs['NAND'][i]}    {outs['AND'][i]}   {outs['OR'][i]} |"
                     f"      {xor[i]}     |  {sum_bit[i]}    {carry[i]}")
    nots = Perceptron.not_().predict([[0], [1]])
    lines += ["", f"NOT (w=[-2.0] b=1): NOT 0 = {nots[0]}, NOT 1 = {nots[1]}",
              "XOR = NAND(NAND(x1, n), NAND(x2, n)) and carry = NAND(n, n), with n = NAND(x1, x2)"]
    return "\n".join(lines)


def _diabetes():
    """scikit-learn's diabetes data with standardised features (y unchanged)."""
    from sklearn.datasets import load_diabetes
    X, y = load_diabetes(return_X_y=True)
    return (X - X.mean(axis=0)) / X.std(axis=0), y


def regression_table(random_state=0):
    """Fit the diabetes set with every solver and loss; one table row per fit.

    Columns: coefficient max-abs difference from the closed-form least-squares
    solution, R^2, iterations (epochs for sgd) and seconds (the first jit fit
    includes compilation unless the numba cache is warm).

    Returns
    -------
    str
    """
    from .linear import ConvergenceWarning, LinearRegression  # loads scikit-learn: only here

    X, y = _diabetes()
    closed = LinearRegression().fit(X, y)
    lines = ["Linear regression on the diabetes set (442 x 10, standardised X)",
             f"{'solver':<7}{'loss':<5}{'max|coef - closed|':>20}{'R^2':>9}{'iters':>7}"
             f"{'seconds':>9}  note"]
    for solver, loss in REGRESSION_RUNS:
        model = LinearRegression(solver=solver, loss=loss, random_state=random_state)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            start = time.perf_counter()
            model.fit(X, y)
            seconds = time.perf_counter() - start
        note = "not converged" if caught else ("least absolute deviation" if loss == "l1" else "")
        diff = np.max(np.abs(model.coef_ - closed.coef_))
        lines.append(f"{solver:<7}{loss:<5}{diff:>20.3e}{model.score(X, y):>9.4f}"
                     f"{model.n_iter_:>7}{seconds:>9.4f}  {note}".rstrip())
    return "\n".join(lines)
