"""Where an epoch of chapter 6's conv net spends its time: CPU time per image, per layer and phase.

Usage (a folder of MNIST-named IDX files, e.g. Fashion-MNIST's; random images without one)::

    python tools/conv_profile.py [DATA_DIR] --n 1000 --dtype float64 --mini-batch-size 10

Runs on one thread (``NUMBA_NUM_THREADS=1`` is set before numba loads).  Each phase of the
training kernel (:mod:`fastnn.kernels.conv`) is called on its own, on the chapter's net
(CP20 5x5 -> CP40 5x5 -> FC100 -> softmax, ReLU), over ``--n`` images, from a compiled loop
written here, so no Python call is timed; the phases are timed in the order the epoch runs
them, on the buffers the previous phase filled.  The last line times the whole training
kernel (:func:`fastnn.kernels.conv.sgd_chunk`) on the same images: the phases should add up
to about that.  ``time.process_time`` is used (the machine may be shared).
"""
import argparse
import json
import os
import sys
import time

os.environ["NUMBA_NUM_THREADS"] = "1"
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
from numba import njit  # noqa: E402

from fastnn import network3 as n3  # noqa: E402
from fastnn.kernels import conv as K  # noqa: E402


def book_net(m, dtype):
    """The chapter's net (ReLU) for mini-batches of ``m``."""
    return n3.Network([
        n3.ConvPoolLayer((20, 1, 5, 5), (m, 1, 28, 28), activation_fn=n3.ReLU),
        n3.ConvPoolLayer((40, 20, 5, 5), (m, 20, 12, 12), activation_fn=n3.ReLU),
        n3.FullyConnectedLayer(640, 100, activation_fn=n3.ReLU),
        n3.SoftmaxLayer(100, 10)], m, seed=0, dtype=dtype)


# phases: code -> name (the compiled loop below dispatches on the code)
PHASES = {0: "conv1 forward (direct conv, pool, activation)", 1: "conv2 forward: gather (im2col)",
          2: "conv2 forward: dot products", 3: "conv2 forward: pool, bias, activation",
          4: "dense layers forward (block)", 5: "dense layers backward (block)",
          6: "conv2 backward: dW, db", 7: "conv2 backward: dx (channel-last), f'",
          8: "conv1 backward: gather + dW, db", 9: "step (per mini-batch)"}


@njit
def _run_phase(code, theta, spec, keep, X, y, m, bufs, nabla, masks):
    """Run phase ``code`` over every sample of X (blocks of ``m``)."""
    act, args, cols, zc, xd, z, delta, dprev, dcols = bufs
    n = X.shape[0]
    one = theta.dtype.type(1)
    s1 = spec[1]
    q_len = s1[K.C] * s1[K.FH] * s1[K.FW]
    p_len = s1[K.OH] * s1[K.OW]
    c0 = s1[K.COLS_OFF]
    for b in range(0, n - m + 1, m):
        for s in range(m):
            if code == 0:
                for k in range(X.shape[1]):
                    act[s, k] = X[b + s, k]
                K.conv_pool_forward(theta, spec[0], act[s], cols[s], zc[s], args[s])
            elif code == 1:
                K.im2col(act[s], s1[K.IN_OFF], s1, cols[s])
            elif code == 2:
                K.dot_rows(theta, s1[K.W_OFF], s1[K.F], cols[s][c0:c0 + p_len * q_len], p_len, q_len, zc[s], p_len)
            elif code == 3:
                for f in range(s1[K.F]):
                    K.pool_filter(theta, s1, f, zc[s][f * p_len:(f + 1) * p_len], s1[K.OW], act[s], args[s])
            elif code == 6:
                for f in range(s1[K.F]):
                    K.filter_gradient(theta, s1, f, args[s], delta[s], cols[s], nabla)
            elif code == 7:
                if s == 0:  # once per block, as the training kernel does
                    K.permute_filters(theta, s1, dcols[0])
                K.input_gradient(theta, s1, args[s], delta[s], dcols[0], dprev[s])
                code0 = spec[0, K.ACT]
                for k in range(s1[K.N_IN]):
                    dprev[s, k] = dprev[s, k] * K.derivative_from_output(code0, act[s, s1[K.IN_OFF] + k])
            elif code == 8:
                K.conv_pool_backward(theta, spec[0], act[s], args[s], dprev[s], delta[s], nabla, cols[s], dcols[0],
                                     False)
        if code == 4:
            K.batch_forward_dense(theta, spec, keep, act, m, masks, 0, True, xd, z)
        elif code == 5:
            rows = np.arange(b, b + m)
            last = spec.shape[0] - 1
            out0 = spec[last, K.OUT_OFF]
            for s in range(m):
                for j in range(spec[last, K.N_OUT]):
                    delta[s, j] = act[s, out0 + j]
                delta[s, y[rows[s]]] -= one
            for l in range(last, 1, -1):
                K.dense_backward_batch(theta, spec[l], act, m, masks, 0, delta, dprev, nabla, True)
                code_l = spec[l - 1, K.ACT]
                in0 = spec[l, K.IN_OFF]
                for s in range(m):
                    for k in range(spec[l, K.N_IN]):
                        delta[s, k] = dprev[s, k] * K.derivative_from_output(code_l, act[s, in0 + k])
        elif code == 9:
            K.apply_step(theta, nabla, spec, theta.dtype.type(0), theta.dtype.type(0))


def profile(X, y, m, dtype, repeats=3):
    """CPU microseconds per image of every phase, best of ``repeats`` (one block of ``m`` at a time)."""
    net = book_net(m, dtype)
    # the softmax layer starts at zero (the book's init), which would stop every gradient below it
    net.layers[-1].w = np.random.default_rng(1).normal(0.0, 0.1, net.layers[-1].w.shape)
    theta, spec, keep = net._theta.copy(), net._spec, net._keep  # the phases leave theta as it is
    block = min(m, K.TRAIN_BLOCK)
    bufs = K.batch_buffers(theta, spec, block, 1)
    nabla = np.zeros_like(theta)
    masks = np.zeros((block, 0), dtype=np.uint8)
    times = {}
    for code in PHASES:
        _run_phase(code, theta, spec, keep, X[:block], y[:block], block, bufs, nabla, masks)  # compile
    for _ in range(repeats):
        for code, name in PHASES.items():
            # the step runs once per mini-batch of m; the other phases per block of samples
            t = time.process_time()
            _run_phase(code, theta, spec, keep, X, y, block, bufs, nabla, masks)
            us = (time.process_time() - t) / X.shape[0] * 1e6
            if code == 9:  # timed once per block of samples, run once per mini-batch
                us *= block / m
            times[name] = min(times.get(name, np.inf), us)
    # the whole kernel
    metrics = np.zeros(2)
    rows = np.arange(X.shape[0], dtype=np.int64)
    t_ = theta.dtype.type
    K.sgd_chunk(theta.copy(), spec, keep, X, y, rows[:m], np.zeros((m, 0), np.uint8), m, t_(0.03), t_(0),
                metrics, 1)
    best = np.inf
    for _ in range(repeats):
        th = theta.copy()
        t = time.process_time()
        K.sgd_chunk(th, spec, keep, X, y, rows, np.zeros((X.shape[0], 0), np.uint8), m, t_(0.03), t_(1e-6),
                    metrics, 1)
        best = min(best, (time.process_time() - t) / X.shape[0] * 1e6)
    return times, best


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="?", help="folder with train-images/labels IDX files")
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    parser.add_argument("--mini-batch-size", type=int, default=10)
    parser.add_argument("--json", action="store_true", help="one JSON object instead of a table")
    args = parser.parse_args(argv)
    if args.data:
        from fastnn.datasets import load_idx_dir

        X, y = load_idx_dir(args.data, "train")
        X, y = X[:args.n], y[:args.n]
    else:
        rng = np.random.default_rng(0)
        X, y = rng.random((args.n, 784)), rng.integers(0, 10, args.n)
    X = np.ascontiguousarray(X, dtype=args.dtype)
    times, whole = profile(X, y.astype(np.int64), args.mini_batch_size, args.dtype)
    from fastnn.bench import cpu_model

    if args.json:
        print(json.dumps({"cpu": cpu_model(), "dtype": args.dtype, "mini_batch_size": args.mini_batch_size,
                          "n": len(X), "phases_us": times, "sum_us": sum(times.values()), "kernel_us": whole}))
        return 0
    print(f"{cpu_model()}, {args.dtype}, mini-batch {args.mini_batch_size}, {len(X)} images, 1 thread, "
          f"CPU microseconds per image")
    for name, us in times.items():
        print(f"  {name:48s} {us:8.1f}")
    print(f"  {'sum of the phases':48s} {sum(times.values()):8.1f}")
    print(f"  {'the training kernel (sgd_chunk)':48s} {whole:8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
