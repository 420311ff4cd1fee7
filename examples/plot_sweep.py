"""
A hyper-parameter sweep
=======================

:func:`fastnn.sweep` cross-validates every configuration of a grid of
:class:`fastnn.sklearn.MLPClassifier` parameters (``GridSearchCV`` syntax), one Dask task per
configuration. With ``client=False`` it runs in this process, without Dask; the same call
with ``client=None`` (the default) starts a local cluster, and with a scheduler address it
runs on a cluster.
"""
import matplotlib.pyplot as plt
import numpy as np

import fastnn
from fastnn.datasets import train_test_digits
from fastnn.sklearn import MLPClassifier
from fastnn.sweeps import best_row, format_table, row_params

X_train, y_train, X_test, y_test = train_test_digits()
grid = {"eta": [0.3, 1.0, 3.0], "hidden_layer_sizes": [(10,), (30,)]}
table = fastnn.sweep(grid, X_train, y_train, epochs=10, cv=3, random_state=0, client=False)
print(format_table(table))

# %%
# The best configuration, retrained on the whole training split and scored on the test split:
best = best_row(table)
params = row_params(best)
print("best:", params, f"cross-validated accuracy {best['score']:.3f}")
clf = MLPClassifier(epochs=10, random_state=0, **params).fit(X_train, y_train)
print(f"test accuracy {clf.score(X_test, y_test):.3f}")

# %%
# The mean cross-validated accuracy of every configuration.
rows = table.to_dict("records") if hasattr(table, "to_dict") else table
scores = np.array([[next(r["score"] for r in rows if r["eta"] == eta
                         and tuple(r["hidden_layer_sizes"]) == hidden)
                    for eta in grid["eta"]] for hidden in grid["hidden_layer_sizes"]])
fig, ax = plt.subplots(figsize=(5, 2.8), layout="constrained")
image = ax.imshow(scores, cmap="viridis")
ax.set_xticks(range(len(grid["eta"])), [f"eta {e:g}" for e in grid["eta"]])
ax.set_yticks(range(len(grid["hidden_layer_sizes"])),
              [f"hidden {h[0]}" for h in grid["hidden_layer_sizes"]])
for (i, j), value in np.ndenumerate(scores):
    ax.text(j, i, f"{value:.3f}", ha="center", va="center", color="white")
fig.colorbar(image, label="accuracy")
plt.show()
