"""
Exporting a network to ONNX and running it in ONNX Runtime
==========================================================

A network trained on the digits is exported with :meth:`fastnn.Network.to_onnx` and run by
ONNX Runtime, which serves it without fastnn or numba. The two compute the same outputs up to
the order of the additions in the weighted sums: the relative differences below are those of
rounding, on held-out digits and on rows far outside the training range [0, 1] (which
saturate the sigmoids). Needs ``pip install "fastnn[onnx]"``.
"""
import os
import tempfile
import time

import matplotlib.pyplot as plt
import numpy as np
import onnxruntime

from fastnn import Network, datasets

X_train, y_train, X_test, y_test = datasets.train_test_digits()
rng = np.random.default_rng(0)
far = rng.uniform(-100, 100, (5000, 64))          # 100 times the training range

folder = tempfile.mkdtemp()
differences, nets = {}, {}
for dtype in ("float64", "float32"):
    net = Network([64, 30, 10], seed=0, dtype=dtype).fit(X_train, y_train, epochs=10, mini_batch_size=10,
                                                         eta=3.0)
    nets[dtype] = net
    path = os.path.join(folder, f"digits-{dtype}.onnx")
    model = net.to_onnx(path)
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    for name, X in (("held-out digits", X_test), ("far outside", far)):
        X = X.astype(dtype)
        activations, label = session.run(None, {"X": X})
        ours = net.predict_proba(X)
        differences[dtype, name] = (np.abs(activations - ours) / ours).ravel()
        print(f"{dtype:>7} {name:>15}: max relative difference {differences[dtype, name].max():.1e}, "
              f"labels identical: {np.array_equal(label, net.predict(X))}")
    print(f"{dtype:>7} model file: {os.path.getsize(path):,} bytes, accuracy {net.score(X_test, y_test):.3f}")

# %%
# The differences are those of float64 (about 1e-16 per operation) and float32 (about 6e-8)
# rounding, accumulated over a weighted sum of 64 or 30 terms; zeros (identical results) are
# drawn at the left edge.
fig, axes = plt.subplots(1, 2, figsize=(8, 3.2), layout="constrained", sharey=True)
for ax, dtype in zip(axes, ("float64", "float32")):
    for name in ("held-out digits", "far outside"):
        rel = differences[dtype, name]
        floor = 1e-18 if dtype == "float64" else 1e-10
        ax.hist(np.log10(np.maximum(rel, floor)), bins=40, alpha=0.6, label=name)
    ax.set_title(dtype)
    ax.set_xlabel("log10 |ONNX Runtime - fastnn| / fastnn")
axes[0].set_ylabel("outputs")
axes[0].legend(fontsize=8)
plt.show()

# %%
# ONNX Runtime and fastnn's own ``predict_proba`` on the same 50,000 rows (one run, on the
# machine that built this page; ``bench_onnx`` in the asv suite times both properly).
X_many = np.repeat(X_test, 100, axis=0).astype("float64")
session = onnxruntime.InferenceSession(os.path.join(folder, "digits-float64.onnx"),
                                       providers=["CPUExecutionProvider"])
net = nets["float64"]
times = {}
for name, run in (("fastnn predict_proba", lambda: net.predict_proba(X_many)),
                  ("ONNX Runtime", lambda: session.run(["activations"], {"X": X_many}))):
    run()
    start = time.perf_counter()
    run()
    times[name] = time.perf_counter() - start
    print(f"{name:>21}: {times[name] * 1e3:.1f} ms for {len(X_many):,} rows")
