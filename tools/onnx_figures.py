"""The precision and speed tables of the deployment guide (docs/guide/deploying.md).

Usage (from the repository root, after ``pip install -e ".[onnx]"``)::

    python tools/onnx_figures.py PATH/TO/fashion-mnist      # a folder of MNIST-named IDX files
    python tools/onnx_figures.py digits                     # the bundled digits, for a quick look

Trains [n, 30, 10] and [n, 100, 10] networks (3 epochs, cross-entropy, eta 0.5) in float64
and float32, exports each with ``Network.to_onnx`` and prints two Markdown tables: the
largest differences between ONNX Runtime and ``predict_proba`` on the test rows and on rows
far outside the training range (with, for float32, each one's largest error against the same
parameters evaluated in float64), and the seconds of one forward pass over 50,000 training
rows (the fastest of 5 runs; all cores, then one thread).
"""
import os
import sys
import tempfile
import time

import numpy as np
import onnxruntime

from fastnn import Network, datasets


def rel(a, b):
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.where(a == b, 0.0, np.abs(a - b) / np.abs(b)).max())


def fastest(run, X, repeats=5):
    run(X[:1000])  # threads started, kernels compiled
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run(X)
        times.append(time.perf_counter() - start)
    return min(times)


def session(path, threads=0):
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads  # 0: ONNX Runtime's default (every core)
    return onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def main(data):
    X_train, y_train, X_test, y_test = datasets.load_dataset(data)
    n_in = X_train.shape[1]
    rng = np.random.default_rng(0)
    k = min(2000, len(X_test))
    far = np.concatenate([X_test[:k] * rng.uniform(2, 20, (k, 1)), rng.uniform(-100, 100, (2000, n_in))])
    rows = np.resize(X_train, (50_000, n_in))
    folder = tempfile.mkdtemp()
    precision, speed = [], []
    for hidden in (30, 100):
        sizes = [n_in, hidden, 10]
        for dtype in ("float64", "float32"):
            net = Network(sizes, seed=0, dtype=dtype, cost="cross-entropy", init="default")
            net.fit(X_train, y_train, epochs=3, mini_batch_size=10, eta=0.5)
            exact = Network(sizes, seed=0, cost=net.cost)
            exact.weights = [w.astype(np.float64) for w in net.weights]
            exact.biases = [b.astype(np.float64) for b in net.biases]
            path = os.path.join(folder, f"{'-'.join(map(str, sizes))}-{dtype}.onnx")
            net.to_onnx(path)
            ort = session(path)
            cells = []
            for X in (X_test.astype(dtype), far.astype(dtype)):
                activations, label = ort.run(None, {"X": X})
                ours = net.predict_proba(X)
                cell = f"{rel(activations, ours):.1e} / {np.abs(activations - ours).max():.1e}"
                if dtype == "float32":
                    truth = exact.predict_proba(X.astype(np.float64))
                    cell += (f" (fastnn {np.abs(ours - truth).max():.1e}, "
                             f"ONNX Runtime {np.abs(activations - truth).max():.1e})")
                cells.append(cell + ("" if np.array_equal(label, net.predict(X)) else ", LABELS DIFFER"))
            precision.append(f"| {sizes} | {dtype} | {os.path.getsize(path):,} | {net.score(X_test, y_test):.3f} "
                             f"| {cells[0]} | {cells[1]} |")
            X = rows.astype(dtype)
            one = Network(sizes, seed=0, dtype=dtype, threads=1)
            one.weights, one.biases = net.weights, net.biases
            ort_one = session(path, threads=1)
            seconds = [fastest(net.predict_proba, X), fastest(lambda X: ort.run(["activations"], {"X": X}), X),
                       fastest(one.predict_proba, X), fastest(lambda X: ort_one.run(["activations"], {"X": X}), X)]
            speed.append(f"| {sizes} | {dtype} | " + " | ".join(f"{s * 1e3:.0f} ms" for s in seconds)
                         + f" | {seconds[0] / seconds[1]:.2f}x, {seconds[2] / seconds[3]:.2f}x |")
            print(precision[-1], speed[-1], sep="\n", file=sys.stderr, flush=True)
    print("| network | dtype | file (bytes) | test accuracy | test rows: max relative / absolute difference "
          "| far rows: max relative / absolute difference |")
    print("|---|---|---|---|---|---|")
    print("\n".join(precision))
    print()
    print("| network | dtype | fastnn | ONNX Runtime | fastnn, 1 thread | ONNX Runtime, 1 thread "
          "| fastnn / ONNX Runtime |")
    print("|---|---|---|---|---|---|---|")
    print("\n".join(speed))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "digits")
