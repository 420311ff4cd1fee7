"""Anchors for chapter 6's conv net: accuracy per epoch and seconds per epoch, PyTorch or fastnn.

Usage (Fashion-MNIST or MNIST as a folder of IDX files)::

    python tools/conv_anchor.py accuracy DATA_DIR --epochs 3 --dtype float64 --threads 1 --log acc.jsonl
    python tools/conv_anchor.py accuracy DATA_DIR --engine fastnn --epochs 3 --log acc.jsonl
    python tools/conv_anchor.py timing DATA_DIR --n 10000 --dtype float32 --mini-batch-size 10 --threads 1

``--engine torch`` (the default) trains with :func:`fastnn.rivals_conv.train_conv_torch`;
``--engine fastnn`` with :class:`fastnn.network3.Network` from the same initial
weights (:func:`fastnn.rivals_conv.init_book_weights`), so the two logs compare
epoch by epoch.

The net is the chapter's CP20 5x5 -> CP40 5x5 -> FC 640->100 -> softmax 10
(``fastnn.rivals_conv.book_conv_spec``), trained by the book's SGD (fixed batch
order, leftover rows dropped, L2 divided by the number of training batches).
One JSON line per epoch goes to ``--log`` (appended) and to stdout.
"""
import argparse
import json
import os
import sys
import time

import numpy as np

from fastnn.bench import cpu_model
from fastnn.datasets import load_idx_dir
from fastnn.rivals_conv import book_conv_spec, init_book_weights, train_conv_torch


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["accuracy", "timing"])
    parser.add_argument("data", help="folder with train-* and t10k-* IDX files")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--n", type=int, default=None, help="use the first N training images")
    parser.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    parser.add_argument("--mini-batch-size", type=int, default=10)
    parser.add_argument("--eta", type=float, default=0.03)
    parser.add_argument("--lmbda", type=float, default=0.1)
    parser.add_argument("--activation", default="relu")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--log", help="append one JSON line per epoch to this file")
    parser.add_argument("--engine", choices=["torch", "fastnn"], default="torch")
    args = parser.parse_args(argv)

    X, y = load_idx_dir(args.data, "train")
    X_te, y_te = load_idx_dir(args.data, "t10k")
    if args.n:
        X, y = X[:args.n], y[:args.n]
    spec = book_conv_spec(args.activation)
    weights = init_book_weights(spec, seed=args.seed, dtype=args.dtype)
    base = {"mode": args.mode, "dtype": args.dtype, "mini_batch_size": args.mini_batch_size,
            "eta": args.eta, "lmbda": args.lmbda, "activation": args.activation,
            "threads": args.threads, "n_train": len(X), "n_test": len(X_te), "seed": args.seed,
            "engine": args.engine, "epochs": args.epochs, "cpu": cpu_model(), "cpus": os.cpu_count()}

    def report(record):
        line = json.dumps({**base, **record, "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
        print(line, flush=True)
        if args.log:
            with open(args.log, "a") as f:
                f.write(line + "\n")

    if args.engine == "fastnn":
        train_fastnn(spec, weights, X, y, args, eval_data=(X_te, y_te) if args.mode == "accuracy" else None,
                     callback=report)
    elif args.mode == "accuracy":
        train_conv_torch(spec, weights, X, y, mini_batch_size=args.mini_batch_size, eta=args.eta,
                         lmbda=args.lmbda, epochs=args.epochs, dtype=args.dtype,
                         threads=args.threads, eval_data=(X_te, y_te), callback=report)
    else:
        # warm-up: 20 mini-batches on a copy, then timed epochs without evaluation
        train_conv_torch(spec, weights, X, y, mini_batch_size=args.mini_batch_size, eta=args.eta,
                         lmbda=args.lmbda, epochs=1, n_batches=20, dtype=args.dtype,
                         threads=args.threads)
        train_conv_torch(spec, weights, X, y, mini_batch_size=args.mini_batch_size, eta=args.eta,
                         lmbda=args.lmbda, epochs=args.epochs, dtype=args.dtype,
                         threads=args.threads, callback=report)
    return 0


def train_fastnn(spec, weights, X, y, args, eval_data, callback):
    """The same training with fastnn.network3 (one ``fit`` call per epoch, same order of rows)."""
    from fastnn._conv_presets import network_from_spec

    m = args.mini_batch_size
    net = network_from_spec(spec, m, weights, dtype=args.dtype, threads=args.threads, seed=args.seed)
    X = X.astype(args.dtype)
    if args.mode == "timing":  # warm-up: compile, on a throw-away copy
        warm = network_from_spec(spec, m, weights, dtype=args.dtype, threads=args.threads, seed=args.seed)
        warm.fit(X[:20 * m], y[:20 * m], 1, m, args.eta, args.lmbda)
    for epoch in range(args.epochs):
        wall, cpu = time.perf_counter(), time.process_time()
        net.fit(X, y, 1, m, args.eta, args.lmbda)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        acc = None
        if eval_data is not None:  # the book's accuracy: whole mini-batches only
            n = len(eval_data[1]) // m * m
            acc = net.score(eval_data[0][:n].astype(args.dtype), eval_data[1][:n])
        callback({"epoch": epoch, "seconds": wall, "cpu_seconds": cpu, "accuracy": acc})


if __name__ == "__main__":
    sys.exit(main())
