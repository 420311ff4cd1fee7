"""CPU time per training image of chapter 6's conv net: fastnn, PyTorch CPU and the NumPy reference.

Usage (a folder of MNIST-named IDX files, e.g. Fashion-MNIST's)::

    python tools/conv_speed.py DATA_DIR --n 3000 --dtype float64 float32 --mini-batch-size 10 100

The net is the chapter's CP20 5x5 -> CP40 5x5 -> FC 640->100 -> softmax 10 (ReLU, eta 0.03,
lmbda 0.1), the same initial weights (``fastnn.rivals_conv.init_book_weights``) and the same
first ``--n`` training images for every library.  Each measurement runs in its own process
with one thread (numba, PyTorch and the BLAS), after a warm-up that compiles / allocates,
and reports ``time.process_time`` per image: the machine may be shared, and CPU time at one
thread is what a loaded machine distorts least.  PyTorch is also timed on 2 threads (wall
clock, as it would be used; ``--torch-threads 1`` skips that: on a loaded machine its two
threads can take minutes).  The reference (plain NumPy, ~20 ms per image) is timed on
``--n-reference`` images.  The BLAS rate (dgemm, sgemm: NumPy's ``@`` on 1000x1000 matrices,
one thread) is measured in the same run, and every line names the CPU.

"Useful" FLOPs per training image count the forward pass at every conv position and the
backward pass at the positions the max-pool routes gradient to (a quarter of them for 2x2
pools): 4.95 MFLOP for the chapter's net (3.27 forward).
"""
import argparse
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def useful_flops(spec):
    """FLOPs of one training image: (forward, forward + backward), multiply-adds counted as 2."""
    forward = backward = 0
    for i, layer in enumerate(spec):
        if layer["kind"] == "conv":
            f, c, fh, fw = layer["filter_shape"]
            _, h, w = layer["image_shape"]
            oh, ow = h - fh + 1, w - fw + 1
            ph, pw = layer["poolsize"]
            q = c * fh * fw
            forward += 2 * f * oh * ow * q
            pooled = f * (oh // ph) * (ow // pw)
            backward += 2 * pooled * q * (2 if i > 0 else 1)  # dW, and dX below the first layer
        else:
            macs = layer["n_in"] * layer["n_out"]
            forward += 2 * macs
            backward += 2 * macs * (2 if i > 0 else 1)
    return forward, forward + backward


def _data(path, n, dtype):
    import numpy as np

    from fastnn.datasets import load_idx_dir

    X, y = load_idx_dir(path, "train")
    return np.ascontiguousarray(X[:n], dtype=dtype), y[:n]


def _fastnn_net(spec, weights, m, dtype):
    from fastnn import network3 as n3

    act = {"relu": n3.ReLU, "sigmoid": n3.sigmoid, "tanh": n3.tanh}[spec[0]["activation"]]
    layers = [n3.ConvPoolLayer(s["filter_shape"], (m,) + tuple(s["image_shape"]), s["poolsize"], act)
              if s["kind"] == "conv" else
              n3.FullyConnectedLayer(s["n_in"], s["n_out"], act) if s["kind"] == "fc" else
              n3.SoftmaxLayer(s["n_in"], s["n_out"]) for s in spec]
    net = n3.Network(layers, m, seed=0, dtype=dtype, threads=1)
    for layer, (w, b) in zip(net.layers, weights):
        layer.w, layer.b = w, b
    return net


def measure_one(kind, path, n, dtype, m, threads):
    """CPU seconds (and wall seconds) of one epoch over ``n`` images, after a warm-up."""
    import numpy as np

    from fastnn.rivals_conv import book_conv_spec, init_book_weights

    spec = book_conv_spec("relu")
    weights = init_book_weights(spec, seed=0, dtype=dtype)
    X, y = _data(path, n, dtype)
    eta, lmbda = 0.03, 0.1
    if kind == "fastnn":
        net = _fastnn_net(spec, weights, m, dtype)
        net.fit(X[:2 * m], y[:2 * m], 1, m, eta, lmbda=lmbda)  # compile / load the kernels
        net = _fastnn_net(spec, weights, m, dtype)
        run = lambda: net.fit(X, y, 1, m, eta, lmbda=lmbda)  # noqa: E731
    elif kind == "torch":
        from fastnn.rivals_conv import train_conv_torch

        train_conv_torch(spec, weights, X, y, mini_batch_size=m, eta=eta, lmbda=lmbda, n_batches=20,
                         dtype=dtype, threads=threads)
        run = lambda: train_conv_torch(spec, weights, X, y, mini_batch_size=m, eta=eta,  # noqa: E731
                                       lmbda=lmbda, dtype=dtype, threads=threads)
    elif kind == "reference":
        from fastnn.reference import network3_np as ref

        layers = [("conv", s["filter_shape"], tuple(s["image_shape"]), s["poolsize"], "relu")
                  if s["kind"] == "conv" else
                  ("fc", s["n_in"], s["n_out"], "relu", 0.0) if s["kind"] == "fc" else
                  ("softmax", s["n_in"], s["n_out"], 0.0) for s in spec]
        params = [(w.astype(np.float64), b.astype(np.float64)) for w, b in weights]
        ref.sgd_epoch(layers, params, X[:m], y[:m], m, eta, None, lmbda)
        run = lambda: ref.sgd_epoch(layers, params, X, y, m, eta, None, lmbda)  # noqa: E731
    else:
        raise ValueError(kind)
    c0, w0 = time.process_time(), time.perf_counter()
    run()
    return time.process_time() - c0, time.perf_counter() - w0


def blas_rate(dtype, size=1000, repeats=5):
    """GFLOP/s of NumPy's matrix product at one thread (CPU time, best of ``repeats``)."""
    import numpy as np

    rng = np.random.default_rng(0)
    a, b = rng.random((size, size)).astype(dtype), rng.random((size, size)).astype(dtype)
    a @ b
    best = min(_cpu(lambda: a @ b) for _ in range(repeats))
    return 2 * size ** 3 / best / 1e9


def _cpu(fn):
    t = time.process_time()
    fn()
    return time.process_time() - t


def _child(args):
    """Run one measurement in a fresh process with ``threads`` threads everywhere."""
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        env[var] = str(args["threads"])
    code = (f"import sys, json; sys.path.insert(0, {os.path.join(ROOT, 'tools')!r}); import conv_speed as c; "
            f"a = json.loads({json.dumps(json.dumps(args))}); "
            "r = c.blas_rate(a['dtype']) if a['kind'] == 'blas' else "
            "c.measure_one(a['kind'], a['path'], a['n'], a['dtype'], a['m'], a['threads']); print(json.dumps(r))")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", help="folder with train-images/labels IDX files")
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--n-reference", type=int, default=100)
    parser.add_argument("--dtype", nargs="+", default=["float64", "float32"])
    parser.add_argument("--mini-batch-size", nargs="+", type=int, default=[10, 100])
    parser.add_argument("--rivals", nargs="+", default=["fastnn", "torch", "reference"])
    parser.add_argument("--torch-threads", nargs="+", type=int, default=[1, 2],
                        help="PyTorch's thread counts (2 threads on a loaded machine can take minutes)")
    parser.add_argument("--log", help="append the JSON lines to this file")
    args = parser.parse_args(argv)

    sys.path.insert(0, ROOT)
    from fastnn.bench import cpu_model
    from fastnn.rivals_conv import book_conv_spec

    fwd, total = useful_flops(book_conv_spec("relu"))
    cpu = cpu_model()
    lines = []

    def emit(record):
        record = {**record, "cpu": cpu, "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        print(json.dumps(record), flush=True)
        lines.append(record)

    for dtype in args.dtype:
        gflops = _child({"kind": "blas", "dtype": dtype, "threads": 1})
        emit({"what": "gemm GFLOP/s, 1 thread", "dtype": dtype, "gflops": round(gflops, 1)})
        for m in args.mini_batch_size:
            for kind in args.rivals:
                runs = args.torch_threads if kind == "torch" else [1]
                for threads in runs:
                    n = max(args.n_reference, m) if kind == "reference" else args.n
                    cpu_s, wall_s = _child({"kind": kind, "path": args.data, "n": n, "dtype": dtype, "m": m,
                                            "threads": threads})
                    emit({"what": kind, "dtype": dtype, "mini_batch_size": m, "threads": threads, "n": n,
                          "cpu_us_per_image": round(cpu_s / n * 1e6, 1),
                          "wall_us_per_image": round(wall_s / n * 1e6, 1),
                          "gflops_cpu": round(total / (cpu_s / n) / 1e9, 2)})
    if args.log:
        with open(args.log, "a") as f:
            for record in lines:
                f.write(json.dumps(record) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
