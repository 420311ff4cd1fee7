"""
Linear and logistic regression against scikit-learn
===================================================

:class:`fastnn.LinearRegression` and :class:`fastnn.LogisticRegression` are the one-layer
models of chapter 1 and 3, fitted by fastnn's own Numba kernels, and they are
scikit-learn estimators. Here they solve the same problems as scikit-learn's ``Ridge`` and
``LogisticRegression`` and should find the same coefficients.
"""
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn import linear_model
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.preprocessing import StandardScaler

import fastnn

X, y = load_diabetes(return_X_y=True)
X = StandardScaler().fit_transform(X)

reference = linear_model.Ridge(alpha=5.0).fit(X, y)
print(f"{'solver':>7} | max |coef - Ridge coef| | R^2")
for solver in ("closed", "gd", "sgd"):
    model = fastnn.LinearRegression(solver=solver, lmbda=5.0, random_state=0).fit(X, y)
    gap = np.max(np.abs(model.coef_ - reference.coef_))
    print(f"{solver:>7} | {gap:22.2e} | {model.score(X, y):.4f}")
print(f"  Ridge |                        | {reference.score(X, y):.4f}")

# %%
# ``lmbda`` is the book's L2 parameter: the penalty ``(lmbda/2n)||w||^2`` is averaged over
# the n samples, so ``lmbda = 5`` is scikit-learn's ``Ridge(alpha=5)``.
closed = fastnn.LinearRegression(lmbda=5.0).fit(X, y)
fig, ax = plt.subplots(figsize=(6, 3.2), layout="constrained")
idx = np.arange(X.shape[1])
ax.bar(idx - 0.2, reference.coef_, width=0.4, label="scikit-learn Ridge(alpha=5)")
ax.bar(idx + 0.2, closed.coef_, width=0.4, label="fastnn LinearRegression(lmbda=5)")
ax.set_xticks(idx, load_diabetes().feature_names)
ax.set_ylabel("coefficient")
ax.legend(fontsize=8)
plt.show()

# %%
# Logistic regression: the default ``lmbda=1.0`` is scikit-learn's default ``C=1.0``
# (``lmbda = 1/C``), and labels of any type are kept in ``classes_``.
Xc, yc = load_breast_cancer(return_X_y=True)
Xc = StandardScaler().fit_transform(Xc)
labels = np.where(yc == 1, "benign", "malignant")

sk = linear_model.LogisticRegression(C=1.0).fit(Xc, labels)
ours = fastnn.LogisticRegression(lmbda=1.0).fit(Xc, labels)
print("classes:", ours.classes_)
print(f"max |coef difference| {np.max(np.abs(ours.coef_ - sk.coef_)):.2e}, "
      f"max |probability difference| "
      f"{np.max(np.abs(ours.predict_proba(Xc) - sk.predict_proba(Xc))):.2e}")
print(f"accuracy: fastnn {ours.score(Xc, labels):.4f}, scikit-learn {sk.score(Xc, labels):.4f}")

# %%
# Stochastic gradient descent reaches the same optimum more roughly; ``loss_history_`` holds
# the objective after every epoch.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", fastnn.ConvergenceWarning)
    sgd = fastnn.LogisticRegression(solver="sgd", random_state=0, max_iter=200).fit(Xc, labels)
fig, ax = plt.subplots(figsize=(6, 3), layout="constrained")
ax.plot(np.arange(1, len(sgd.loss_history_) + 1), sgd.loss_history_)
ax.set_xlabel("epoch")
ax.set_ylabel("objective J")
ax.set_title(f"SGD: {sgd.n_iter_} epochs, accuracy {sgd.score(Xc, labels):.4f}")
plt.show()
