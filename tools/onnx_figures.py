"""The precision, size and speed tables of the deployment guide (docs/guide/deploying.md).

Usage (from the repository root, after ``pip install -e ".[onnx]"``)::

    python tools/onnx_figures.py PATH/TO/fashion-mnist      # a folder of MNIST-named IDX files
    python tools/onnx_figures.py digits                     # the bundled digits, for a quick look
    python tools/onnx_figures.py PATH/TO/fashion-mnist --network3   # chapter-6 networks (28x28 images)

Dense networks ([n, 30, 10], [n, 100, 10], [n, 100, 30, 10]; 3 epochs, cross-entropy, eta 0.5)
or, with ``--network3``, chapter-6 networks (CP20-FC100-S with sigmoids, and CP20-CP40-FC100-S
with ReLUs and dropout 0.5; one epoch on the first 20,000 training images, eta 0.1 resp. 0.03),
each trained in float64 and float32, exported with ``to_onnx`` and run in ONNX Runtime on
10,000 rows: 6,000 test rows (cycled if there are fewer), 2,000 of them scaled by 2 to 20 and
2,000 rows uniform in [-100, 100] (far outside the training range [0, 1]).  Printed as Markdown:

* precision: the largest elementwise relative difference between ONNX Runtime's outputs and
  ``predict_proba`` (on the test rows, and on all 10,000), the largest absolute difference, the
  largest row-wise relative difference (max |diff| / max output of the row), the rows whose
  labels differ; for float32 also each one's largest absolute error against the same
  parameters evaluated in float64;
* the exported file's size;
* CPU seconds (``time.process_time``, one thread each: fastnn ``threads=1``, ONNX Runtime
  ``intra_op_num_threads=1``) of one pass over the 10,000 rows, the fastest of 3; ONNX Runtime
  is fed 1,000 rows per ``run`` (as the guide recommends for chapter-6 models).
"""
import argparse
import os
import sys
import tempfile
import time

import numpy as np
import onnxruntime

from fastnn import Network, datasets
from fastnn import network3 as n3

CHUNK = 1000


def rel(a, b):
    """Largest elementwise |a - b| / |b| (0 where equal)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.where(a == b, 0.0, np.abs(a - b) / np.abs(b)).max())


def row_rel(a, b):
    """Largest row-wise max |a - b| / max |b|."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float((np.abs(a - b).max(axis=1) / np.abs(b).max(axis=1)).max())


def session(path, threads=1):
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    return onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def run_chunks(ort, X):
    """ONNX Runtime's (activations, label) of every row of ``X``, CHUNK rows per run."""
    parts = [ort.run(None, {"X": X[i:i + CHUNK]}) for i in range(0, len(X), CHUNK)]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def cpu_seconds(run, X, repeats=3):
    run(X[:100])  # kernels compiled, buffers allocated
    times = []
    for _ in range(repeats):
        start = time.process_time()
        run(X)
        times.append(time.process_time() - start)
    return min(times)


def ten_thousand_rows(X_test):
    """6,000 test rows (cycled), 2,000 of them scaled by 2 to 20, 2,000 rows uniform in [-100, 100]."""
    rng = np.random.default_rng(0)
    test = np.resize(X_test, (6000, X_test.shape[1]))
    scaled = test[:2000] * rng.uniform(2, 20, (2000, 1))
    return np.concatenate([test, scaled, rng.uniform(-100, 100, (2000, X_test.shape[1]))])


def dense_nets(X_train, y_train):
    n_in = X_train.shape[1]
    for sizes in ([n_in, 30, 10], [n_in, 100, 10], [n_in, 100, 30, 10]):
        for dtype in ("float64", "float32"):
            net = Network(sizes, seed=0, dtype=dtype, cost="cross-entropy", init="default")
            net.fit(X_train, y_train, epochs=3, mini_batch_size=10, eta=0.5)
            exact = Network(sizes, seed=0, cost=net.cost)
            exact.weights = [w.astype(np.float64) for w in net.weights]
            exact.biases = [b.astype(np.float64) for b in net.biases]
            one = Network(sizes, seed=0, dtype=dtype, threads=1)
            one.weights, one.biases = net.weights, net.biases
            yield str(sizes), net, exact, one


def network3_nets(X_train, y_train, side):
    """CP20-FC100-S (sigmoid) and CP20-CP40-FC100-S (ReLU, dropout 0.5) on side x side images."""
    n = min(20_000, len(X_train))
    X, y = X_train[:n], y_train[:n]
    c1 = side - 4
    p1 = c1 // 2
    p2 = (p1 - 4) // 2

    def shallow(dtype):
        return n3.Network([n3.ConvPoolLayer((20, 1, 5, 5), (10, 1, side, side), (2, 2)),
                           n3.FullyConnectedLayer(20 * p1 * p1, 100),
                           n3.SoftmaxLayer(100, 10)], 10, seed=0, dtype=dtype)

    def deep(dtype):
        return n3.Network([n3.ConvPoolLayer((20, 1, 5, 5), (10, 1, side, side), (2, 2), n3.ReLU),
                           n3.ConvPoolLayer((40, 20, 5, 5), (10, 20, p1, p1), (2, 2), n3.ReLU),
                           n3.FullyConnectedLayer(40 * p2 * p2, 100, n3.ReLU, p_dropout=0.5),
                           n3.SoftmaxLayer(100, 10, p_dropout=0.5)], 10, seed=0, dtype=dtype)

    for name, make, eta in (("CP20-FC100-S (sigmoid)", shallow, 0.1),
                            ("CP20-CP40-FC100-S (ReLU, dropout 0.5)", deep, 0.03)):
        for dtype in ("float64", "float32"):
            net = make(dtype).fit(X, y, epochs=1, mini_batch_size=10, eta=eta)
            exact = make("float64")
            for mine, theirs in zip(exact.layers, net.layers):
                mine.w, mine.b = theirs.w.astype(np.float64), theirs.b.astype(np.float64)
            yield name, net, exact, net   # network3.Network is built with threads=1


def main(data, chapter6):
    X_train, y_train, X_test, y_test = datasets.load_dataset(data)
    rows = ten_thousand_rows(X_test)
    folder = tempfile.mkdtemp()
    if chapter6:
        side = int(round(np.sqrt(X_train.shape[1])))
        if side < 13:
            sys.exit("--network3 needs images of at least 13x13 pixels (e.g. Fashion-MNIST's 28x28)")
        nets = network3_nets(X_train, y_train, side)
    else:
        nets = dense_nets(X_train, y_train)
    precision, speed = [], []
    for name, net, exact, one in nets:
        dtype = net.dtype
        path = os.path.join(folder, f"model-{len(precision)}-{dtype.name}.onnx")
        net.to_onnx(path)
        ort = session(path)
        X = rows.astype(dtype)
        activations, label = run_chunks(ort, X)
        ours = net.predict_proba(X)
        k = 6000
        differ = int(np.sum(label != np.argmax(ours, axis=1)))
        cell = (f"{rel(activations[:k], ours[:k]):.1e} | {rel(activations, ours):.1e} | "
                f"{np.abs(activations - ours).max():.1e} | {row_rel(activations, ours):.1e} | {differ}")
        if dtype == np.float32:
            truth = exact.predict_proba(rows)
            cell += (f" | fastnn {np.abs(ours - truth).max():.1e}, "
                     f"ONNX Runtime {np.abs(activations - truth).max():.1e}")
        else:
            cell += " | "
        precision.append(f"| {name} | {dtype.name} | {os.path.getsize(path):,} | "
                         f"{net.score(X_test.astype(dtype), y_test):.3f} | {cell} |")
        seconds = [cpu_seconds(one.predict_proba, X), cpu_seconds(lambda X: run_chunks(ort, X), X)]
        speed.append(f"| {name} | {dtype.name} | {seconds[0] * 1e3:,.0f} ms | {seconds[1] * 1e3:,.0f} ms | "
                     f"{seconds[0] / seconds[1]:.2f}x |")
        print(precision[-1], speed[-1], sep="\n", file=sys.stderr, flush=True)
    print("| network | dtype | file (bytes) | test accuracy | max rel. diff., test rows | max rel. diff., "
          "10,000 rows | max abs. diff. | max row-wise rel. diff. | labels differing | float32: max abs. "
          "error vs float64 |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    print("\n".join(precision))
    print()
    print("| network | dtype | fastnn, CPU time for 10,000 rows | ONNX Runtime, CPU time | fastnn / ONNX Runtime |")
    print("|---|---|---|---|---|")
    print("\n".join(speed))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="?", default="digits", help="'digits' or a folder of MNIST-named IDX files")
    parser.add_argument("--network3", action="store_true", help="chapter-6 networks instead of dense ones")
    args = parser.parse_args()
    main(args.data, args.network3)
