"""
Three engines, one algorithm
============================

A :class:`fastnn.Network` trains with one of three engines:

* ``"reference"``: the book's algorithm in NumPy, one sample at a time (``network.py``);
* ``"matrix"``: chapter 2's matrix form, one BLAS product per layer and mini-batch;
* ``"jit"``: explicit-loop Numba kernels (the default).

The same seed gives the same initial parameters and the same mini-batch order in every engine,
so the three runs below compute the same numbers, up to rounding, at different speeds.
"""
import time

import matplotlib.pyplot as plt
import numpy as np

from fastnn import Network, datasets

X_train, y_train, X_test, y_test = datasets.train_test_digits()
ENGINES = ("reference", "matrix", "jit")

# warm up: compile (or load from numba's cache) the jit kernels outside the timing
Network([64, 30, 10], seed=0).fit(X_train[:20], y_train[:20], epochs=1)

nets, seconds = {}, {}
for engine in ENGINES:
    net = Network([64, 30, 10], seed=0, engine=engine)
    start = time.perf_counter()
    net.fit(X_train, y_train, epochs=3, mini_batch_size=10, eta=3.0)
    seconds[engine] = (time.perf_counter() - start) / 3
    nets[engine] = net
    print(f"{engine:>9}: {seconds[engine] * 1e3:7.1f} ms per epoch, "
          f"test accuracy {net.score(X_test, y_test):.3f}")

# %%
# Same numbers: the largest difference of any weight or bias from the reference engine after
# three epochs.
for engine in ("matrix", "jit"):
    diff = max(np.max(np.abs(a - b)) for a, b in
               zip(nets[engine].weights + nets[engine].biases,
                   nets["reference"].weights + nets["reference"].biases))
    print(f"{engine} vs reference: max parameter difference {diff:.1e}")

# %%
# Different speeds. These are the timings of the documentation build's machine, on a small
# network and data set; the performance page has measured tables on MNIST-sized runs.
fig, ax = plt.subplots(figsize=(6, 3), layout="constrained")
bars = ax.barh(ENGINES, [seconds[e] * 1e3 for e in ENGINES], color=["#999999", "#6a9fd4", "#d4843a"])
ax.bar_label(bars, [f"{seconds['reference'] / seconds[e]:.1f}x" for e in ENGINES], padding=3)
ax.set_xlabel("milliseconds per epoch (1,297 digits, [64, 30, 10], mini-batch 10)")
ax.set_title("speed-up over the reference engine")
plt.show()
