"""
Chapter 3: cross-entropy, L2 and learning curves
================================================

Chapter 3 improves the chapter-1 network with the cross-entropy cost, weights initialised
with N(0, 1/n_in) and L2 regularisation (``network2.py``). Here both recipes train on the
digits with ``validation_data``, which fills ``history_`` with the cost and accuracy of every
epoch on both sets; :func:`fastnn.plot.learning_curves` draws them.
"""
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt

from fastnn import Network, datasets
from fastnn.plot import learning_curves

X_train, y_train, X_val, y_val = datasets.train_test_digits()

chapter1 = Network([64, 30, 10], seed=0)
chapter1.fit(X_train, y_train, epochs=30, mini_batch_size=10, eta=3.0,
             validation_data=(X_val, y_val))

chapter3 = Network([64, 30, 10], seed=0, cost="cross-entropy", init="default")
chapter3.fit(X_train, y_train, epochs=30, mini_batch_size=10, eta=0.5, lmbda=5.0,
             validation_data=(X_val, y_val))

for name, net in (("chapter 1", chapter1), ("chapter 3", chapter3)):
    acc = net.history_["validation_accuracy"]
    print(f"{name}: {net!r}: validation accuracy {acc[-1]:.1%} after 30 epochs, best {max(acc):.1%}")

# %%
# The learning curves of the chapter-3 network, as ``fastnn train --plot`` draws them (the
# function also writes the PNG file).
png = Path(tempfile.mkdtemp()) / "chapter3_curves.png"
fig = learning_curves(chapter3.history_, png, title="chapter 3 on the digits")
print(f"wrote {png.name}, {png.stat().st_size:,} bytes")

# %%
# ``history_`` is a plain dict of per-epoch lists, so any plot is a few lines: here the
# validation accuracy of both recipes.
fig2, ax = plt.subplots(figsize=(6, 3.5), layout="constrained")
for name, net in (("chapter 1 (quadratic, N(0,1), eta 3)", chapter1),
                  ("chapter 3 (cross-entropy, N(0,1/n), eta 0.5, lmbda 5)", chapter3)):
    ax.plot([e + 1 for e in net.history_["epoch"]],
            [100 * a for a in net.history_["validation_accuracy"]], marker="o", ms=3, label=name)
ax.set_xlabel("epoch")
ax.set_ylabel("validation accuracy (%)")
ax.legend()
plt.show()
