"""
Perceptrons, logic gates and the NAND adder
===========================================

Chapter 1 starts with perceptrons: a perceptron outputs 1 if ``w . x + b > 0`` and 0
otherwise. With ``w = (-2, -2)`` and ``b = 3`` it is a NAND gate, and NAND gates alone can
build any circuit, such as the book's adder of two bits.
"""
import warnings

import matplotlib.pyplot as plt
import numpy as np

from fastnn import ConvergenceWarning, Perceptron
from fastnn.perceptron import nand_adder, nand_xor

bits = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
gates = {"NAND": Perceptron.nand(), "AND": Perceptron.and_(), "OR": Perceptron.or_()}

print("x1 x2 | " + " ".join(f"{name:>4}" for name in gates) + "  XOR | sum carry")
sum_bit, carry = nand_adder(bits)
xor = nand_xor(bits)
for i, (x1, x2) in enumerate(bits):
    outputs = " ".join(f"{int(g.predict(bits[i:i + 1])[0]):>4}" for g in gates.values())
    print(f" {x1}  {x2} | {outputs} {xor[i]:>4} | {sum_bit[i]:>3} {carry[i]:>5}")

# %%
# Each gate is a line in the plane of its two inputs: the perceptron says 1 on one side of
# ``w . x + b = 0``. XOR is not linearly separable, which is why it needs several NAND
# perceptrons (``nand_xor``) instead of one.
fig, axes = plt.subplots(1, 3, figsize=(9, 3), layout="constrained")
grid = np.linspace(-0.5, 1.5, 201)
xx, yy = np.meshgrid(grid, grid)
points = np.column_stack([xx.ravel(), yy.ravel()])
for ax, (name, gate) in zip(axes, gates.items()):
    ax.contourf(xx, yy, gate.predict(points).reshape(xx.shape), levels=[-0.5, 0.5, 1.5],
                colors=["#f3d9c4", "#c9dcf0"])
    out = gate.predict(bits)
    ax.scatter(bits[:, 0], bits[:, 1], c=["#d4843a" if o == 0 else "#2f6db3" for o in out], s=80)
    ax.set_title(f"{name}: w = {gate.weights.tolist()}, b = {gate.bias:g}")
    ax.set_xlabel("x1")
axes[0].set_ylabel("x2")
plt.show()

# %%
# The perceptron learning rule finds such a line from data when one exists: OR converges in
# a few epochs. On XOR it runs out of epochs and warns with
# :class:`fastnn.ConvergenceWarning` instead of raising.
learned_or = Perceptron([0.0, 0.0], 0.0).fit(bits, [0, 1, 1, 1], max_epochs=100, eta=1.0)
print("OR learned: w =", learned_or.weights, "b =", learned_or.bias,
      "converged in epoch", learned_or.converged_epoch_, "mistakes per epoch", learned_or.errors_)

with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    learned_xor = Perceptron([0.0, 0.0]).fit(bits, [0, 1, 1, 0], max_epochs=20)
print("XOR:", caught[0].category.__name__, "-", caught[0].message)
print("converged_epoch_ =", learned_xor.converged_epoch_)
