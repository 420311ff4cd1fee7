"""``fastnn compare --net conv``: chapter 6's convolutional net timed in fastnn, the NumPy
reference and PyTorch CPU, from the same weights on the same mini-batches.

The net is the chapter's CP20 5x5 -> CP40 5x5 -> FC 640->100 -> softmax 10 with ReLU
(:func:`fastnn.rivals_conv.book_conv_spec`), trained by the book's SGD (rows in order,
L2 divided by the number of training batches).  Rows:

* fastnn: :meth:`fastnn.network3.Network.fit` at 1 and 2 threads (up to numba's limit);
* reference: :func:`fastnn.reference.network3_np.sgd_epoch` (plain NumPy/SciPy, float64,
  1 BLAS thread), against which every row's parameters are compared;
* PyTorch CPU: :func:`fastnn.rivals_conv.train_conv_torch` at 1 and 2 threads, in its
  own process (skipped with a note when PyTorch is not installed).

Each row reports wall and CPU seconds per epoch, its speed against the reference, the
GFLOP/s of :func:`conv_flops_per_sample` and the largest parameter difference from the
reference after training.
"""
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

from . import harness

__all__ = ["FLOAT64_TOLERANCE", "FLOAT32_TOLERANCE", "CHECK_SAMPLES", "CONV_ENGINES", "conv_flops_per_sample",
           "conv_data", "run_compare_conv", "format_compare_conv", "conv_disagreements", "conv_agreement",
           "dgemm_rate"]

FLOAT64_TOLERANCE = 1e-8
"""Largest fastnn-vs-reference parameter difference after the agreement check's epoch in float64."""
FLOAT32_TOLERANCE = 1e-4
"""The same for float32 (the float32 differences after 20 mini-batches of Fashion-MNIST were at
most 5e-6 over 30 starts; see :data:`CHECK_SAMPLES`)."""

CHECK_SAMPLES = 200
"""Samples of the agreement check's epoch (20 mini-batches of 10).  Longer float32 runs of a
ReLU / max-pool net drift apart from the float64 reference by up to 1e-2 in any correct
implementation (PyTorch's too): float32 rounding flips the choice between near-tied pool
maxima or the sign of a ReLU input close to 0 now and then, which sends a sample's gradient
elsewhere, and SGD then carries the difference on.  Over 20 mini-batches the float32
differences stay at rounding level."""

CONV_ENGINES = ("jit", "reference", "torch")
"""Row kinds of ``fastnn compare --net conv``, in the order they run."""

ACTIVATION = "relu"
LMBDA = 0.1


def conv_flops_per_sample(spec):
    """Floating-point operations of one training sample of a conv spec (multiply-add = 2).

    Forward: every layer's products (conv: ``F*C*fh*fw`` per output position, all
    positions; fully connected and softmax: ``n_in*n_out``).  Backward: the weight
    gradient of every layer and the input gradient of every layer but the first; in a
    conv layer both only over the positions the max-pooling routes the gradient to (one
    per pooling block), the others having zero gradient.  Activations, pooling and the
    step are not counted.

    Parameters
    ----------
    spec : sequence of dict
        A layer spec (:func:`fastnn.rivals_conv.check_spec`).

    Returns
    -------
    int
    """
    from ..rivals_conv import check_spec

    total = 0
    for l, layer in enumerate(check_spec(spec)):
        if layer["kind"] == "conv":
            F, C, fh, fw = layer["filter_shape"]
            _, H, W = layer["image_shape"]
            ph, pw = layer["poolsize"]
            positions = (H - fh + 1) * (W - fw + 1)
            routed = ((H - fh + 1) // ph) * ((W - fw + 1) // pw)
            forward, backward = F * C * fh * fw * positions, F * C * fh * fw * routed
        else:
            forward = backward = layer["n_in"] * layer["n_out"]
        total += forward + backward + (backward if l > 0 else 0)
    return 2 * total


def dgemm_rate(dtype="float64", n=512, repeats=10):
    """GFLOP/s of NumPy's matrix product (BLAS gemm) of two ``n`` x ``n`` matrices on 1 thread.

    The best of ``repeats`` products, each timed in CPU time (``time.process_time``,
    so that time the process spends waiting for a core on a busy machine is not
    counted); a yardstick for the rows' GFLOP/s on this machine.
    """
    a = np.random.default_rng(0).random((n, n)).astype(dtype)
    best = float("inf")
    with harness.blas_threads(1):
        a @ a
        for _ in range(repeats):
            t0 = time.process_time()
            a @ a
            best = min(best, time.process_time() - t0)
    return 2 * n ** 3 / max(best, 1e-9) / 1e9


def conv_data(data, samples, seed=0):
    """``(X, y)``: ``samples`` rows of 28x28 images for the comparison.

    ``data`` is ``"synthetic"`` (:func:`fastnn.bench.synthetic_data`,
    784 pixels), ``"digits"`` (the 8x8 digits enlarged to 28x28) or a folder of
    IDX files / the book's ``mnist.pkl.gz``; rows are repeated when there are
    fewer than ``samples``.
    """
    if data == "synthetic":
        return harness.synthetic_data(samples, 784, 10, seed)
    from .._conv_presets import load_conv_data

    (X, y), _, _ = load_conv_data(data)
    if samples > len(X):
        reps = -(-samples // len(X))
        X, y = np.tile(X, (reps, 1)), np.tile(y, reps)
    return X[:samples], y[:samples]


def _fastnn_row(spec, weights, X, y, threads, common):
    from .._conv_presets import network_from_spec

    m = common["mini_batch_size"]
    warm = network_from_spec(spec, m, weights, dtype=common["dtype"], threads=threads)
    t0 = time.perf_counter()
    warm.fit(X[:2 * m], y[:2 * m], 1, m, common["eta"], common["lmbda"])
    warm.predict_proba(X[:m])
    warmup = time.perf_counter() - t0
    net = network_from_spec(spec, m, weights, dtype=common["dtype"], threads=threads)
    wall, cpu = time.perf_counter(), time.process_time()
    net.fit(X, y, common["epochs"], m, common["eta"], common["lmbda"])
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"engine": f"fastnn, {threads} thread{'s' if threads > 1 else ''}", "kind": "jit", "threads": threads,
            "wall": wall / common["epochs"], "cpu": cpu / common["epochs"], "warmup": warmup,
            "weights": [(layer.w.copy(), layer.b.copy()) for layer in net.layers], "note": ""}


def _reference_layers(spec):
    out = []
    for layer in spec:
        if layer["kind"] == "conv":
            out.append(("conv", layer["filter_shape"], layer["image_shape"], layer["poolsize"], layer["activation"]))
        elif layer["kind"] == "fc":
            out.append(("fc", layer["n_in"], layer["n_out"], layer["activation"], layer.get("p_dropout", 0.0)))
        else:
            out.append(("softmax", layer["n_in"], layer["n_out"], layer.get("p_dropout", 0.0)))
    return out


def _reference_row(spec, weights, X, y, common):
    from ..reference import network3_np

    layers = _reference_layers(spec)
    params = [(w.astype(np.float64), b.astype(np.float64)) for w, b in weights]
    X64 = X.astype(np.float64)
    with harness.blas_threads(1):
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(common["epochs"]):
            params = network3_np.sgd_epoch(layers, params, X64, y, common["mini_batch_size"], common["eta"],
                                           lmbda=common["lmbda"])
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"engine": "NumPy reference, 1 thread", "kind": "reference", "threads": 1,
            "wall": wall / common["epochs"], "cpu": cpu / common["epochs"], "warmup": None,
            "weights": params, "note": ""}


def torch_available():
    """True if PyTorch is installed (found, not imported)."""
    from .rivals import library_available

    return library_available("torch")


def _torch_row(inputs, threads, timeout):
    """Run :func:`_torch_child` in a fresh process (PyTorch's threads apart from numba's)."""
    from .rivals import library_environment

    output = os.path.join(os.path.dirname(inputs), f"torch-{threads}.npz")
    done = subprocess.run([sys.executable, "-m", "fastnn.bench.compare_conv", inputs, output, str(threads)],
                          env=library_environment(), capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"the PyTorch child process failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
    with np.load(output, allow_pickle=False) as f:
        n = int(f["layers"])
        weights = [(f[f"w{l}"], f[f"b{l}"]) for l in range(n)]
        return {"engine": f"PyTorch CPU, {threads} thread{'s' if threads > 1 else ''}", "kind": "torch",
                "threads": threads, "wall": float(f["wall"]), "cpu": float(f["cpu"]),
                "warmup": float(f["warmup"]), "weights": weights, "note": ""}


def _torch_child(inputs, output, threads):
    """The PyTorch row's process: warm up on a copy, then the timed epochs; write weights and times."""
    from ..rivals_conv import book_conv_spec, train_conv_torch

    with np.load(inputs, allow_pickle=False) as f:
        X, y = f["X"], f["y"]
        n = int(f["layers"])
        weights = [(f[f"w{l}"], f[f"b{l}"]) for l in range(n)]
        m, epochs = int(f["mini_batch_size"]), int(f["epochs"])
        eta, lmbda, dtype = float(f["eta"]), float(f["lmbda"]), str(f["dtype"])
    spec = book_conv_spec(ACTIVATION)
    common = dict(mini_batch_size=m, eta=eta, lmbda=lmbda, dtype=dtype, threads=int(threads))
    t0 = time.perf_counter()
    train_conv_torch(spec, weights, X, y, epochs=1, n_batches=20, **common)
    warmup = time.perf_counter() - t0
    wall, cpu = time.perf_counter(), time.process_time()
    result = train_conv_torch(spec, weights, X, y, epochs=epochs, **common)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    arrays = {"layers": np.int64(n), "wall": np.float64(wall / epochs), "cpu": np.float64(cpu / epochs),
              "warmup": np.float64(warmup)}
    for l, (w, b) in enumerate(result["weights"]):
        arrays[f"w{l}"], arrays[f"b{l}"] = np.asarray(w), np.asarray(b)
    np.savez(output, **arrays)


def _thread_counts(extra=None):
    import numba

    limit = numba.config.NUMBA_NUM_THREADS
    return sorted({1, min(2, limit)} | ({extra} if extra else set()))


def run_compare_conv(X, y, *, epochs=1, mini_batch_size=10, eta=0.03, lmbda=LMBDA, seed=0, dtype="float64",
                     threads=None, engines=CONV_ENGINES, timeout=None, perturb=None):
    """Train every row from the same initial weights on the same mini-batches; return scored rows.

    Parameters
    ----------
    X : array of shape (n, 784)
    y : array of int, shape (n,)
    epochs, mini_batch_size, eta, lmbda :
        The book's SGD (rows in order, leftover rows dropped).
    seed : int
        Seed of the initial weights (:func:`fastnn.rivals_conv.init_book_weights`).
    dtype : {"float64", "float32"}
        Of the fastnn and PyTorch rows (the reference is float64).
    threads : int, optional
        One more thread count for the fastnn and PyTorch rows, besides 1 and 2.
    engines : sequence of str
        Row kinds from :data:`CONV_ENGINES`; "reference" is required.
    timeout : float, optional
        Seconds before a PyTorch child process is stopped.
    perturb : callable, optional
        ``perturb(rows)`` may change the rows' weights before scoring (tests).

    Returns
    -------
    list of dict
        Per row: ``engine``, ``kind``, ``threads``, ``wall`` and ``cpu`` seconds per
        epoch, ``speedup`` (reference wall / row wall), ``cpu_speedup`` (the same with CPU
        time), ``gflops`` (:func:`conv_flops_per_sample` x samples / wall), ``cpu_gflops``
        (the same per CPU second), ``max_diff``
        (largest parameter difference from the reference), ``warmup`` and ``note``.  A row
        that could not run has None in these fields and says why in ``note``.
    """
    from ..rivals_conv import book_conv_spec, init_book_weights

    unknown = [e for e in engines if e not in CONV_ENGINES]
    if unknown:
        raise ValueError(f"unknown engine {unknown[0]!r} for the conv net; expected some of {', '.join(CONV_ENGINES)}")
    if "reference" not in engines:
        raise ValueError("compare needs the 'reference' engine (differences are measured against it)")
    spec = book_conv_spec(ACTIVATION)
    X = np.ascontiguousarray(X, dtype=dtype)
    y = np.asarray(y, dtype=np.int64)
    weights = init_book_weights(spec, seed=seed, dtype=dtype)
    common = dict(epochs=epochs, mini_batch_size=mini_batch_size, eta=eta, lmbda=lmbda, dtype=dtype)
    counts = _thread_counts(threads)
    rows = []
    if "jit" in engines:
        rows += [_fastnn_row(spec, weights, X, y, t, common) for t in counts]
    rows.append(_reference_row(spec, weights, X, y, common))
    if "torch" in engines:
        rows += _torch_rows(weights, X, y, counts, common, timeout)
    if perturb is not None:
        perturb(rows)
    return _score(rows, conv_flops_per_sample(spec) * (len(X) // mini_batch_size) * mini_batch_size)


def _torch_rows(weights, X, y, counts, common, timeout):
    names = [f"PyTorch CPU, {t} thread{'s' if t > 1 else ''}" for t in counts]
    if not torch_available():
        return [{"engine": names[0], "kind": "torch", "threads": counts[0], "weights": None,
                 "note": 'skipped: PyTorch is not installed (pip install "fastnn[torch]")'}]
    rows = []
    with tempfile.TemporaryDirectory(prefix="fastnn-compare-conv-") as folder:
        inputs = os.path.join(folder, "inputs.npz")
        arrays = {"X": X, "y": y, "layers": np.int64(len(weights)), "epochs": np.int64(common["epochs"]),
                  "mini_batch_size": np.int64(common["mini_batch_size"]), "eta": np.float64(common["eta"]),
                  "lmbda": np.float64(common["lmbda"]), "dtype": np.array(common["dtype"])}
        for l, (w, b) in enumerate(weights):
            arrays[f"w{l}"], arrays[f"b{l}"] = w, b
        np.savez(inputs, **arrays)
        for t, name in zip(counts, names):
            try:
                rows.append(_torch_row(inputs, t, timeout))
            except (RuntimeError, subprocess.TimeoutExpired) as exc:
                rows.append({"engine": name, "kind": "torch", "threads": t, "weights": None,
                             "note": f"failed: {str(exc).splitlines()[0]}"})
    return rows


def _max_diff(weights, reference):
    return max(float(max(np.max(np.abs(w.astype(np.float64) - rw)), np.max(np.abs(b.astype(np.float64) - rb))))
               for (w, b), (rw, rb) in zip(weights, reference))


def _score(rows, flops_per_epoch):
    reference = next(r for r in rows if r["kind"] == "reference")
    for r in rows:
        ran = r.get("weights") is not None
        for key in ("wall", "cpu", "warmup"):
            r.setdefault(key, None)
        r["speedup"] = reference["wall"] / r["wall"] if ran else None
        r["cpu_speedup"] = reference["cpu"] / r["cpu"] if ran else None
        r["gflops"] = flops_per_epoch / r["wall"] / 1e9 if ran else None
        r["cpu_gflops"] = flops_per_epoch / r["cpu"] / 1e9 if ran else None
        r["max_diff"] = _max_diff(r["weights"], reference["weights"]) if ran else None
    return rows


def conv_disagreements(rows, tolerance):
    """fastnn rows whose parameters differ from the reference by more than ``tolerance``."""
    return [r for r in rows if r["kind"] == "jit" and not r["max_diff"] <= tolerance]


def conv_agreement(X, y, *, mini_batch_size=10, eta=0.03, lmbda=LMBDA, seed=0, dtype="float64",
                   check_samples=CHECK_SAMPLES, rows=None, epochs=1):
    """The agreement check: fastnn against the reference over one epoch of the first ``check_samples`` rows.

    Parameters
    ----------
    X, y, mini_batch_size, eta, lmbda, seed, dtype :
        As in :func:`run_compare_conv`.
    check_samples : int
        Samples of the check's epoch (:data:`CHECK_SAMPLES` by default).
    rows : list of dict, optional
        Scored rows of a run over ``X`` already made (:func:`run_compare_conv`);
        used as they are when that run was the check's (one epoch over at most
        ``check_samples`` rows), so nothing is trained twice.
    epochs : int
        The epochs of that run.

    Returns
    -------
    (n_check, rows)
        The samples checked and the scored fastnn and reference rows of the check
        (pass them to :func:`conv_disagreements`).
    """
    n_check = min(check_samples, len(X))
    if rows is not None and n_check == len(X) and epochs == 1:
        return n_check, [r for r in rows if r["kind"] in ("jit", "reference")]
    return n_check, run_compare_conv(X[:n_check], y[:n_check], mini_batch_size=mini_batch_size, eta=eta,
                                     lmbda=lmbda, seed=seed, dtype=dtype, engines=("jit", "reference"))


def format_compare_conv(rows):
    """The table as Markdown (rows that did not run show their note)."""
    lines = ["| row | wall s/epoch | CPU s/epoch | speed vs reference (wall, CPU) | GFLOP/s (wall, CPU) "
             "| max abs param diff |",
             "|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        if r["wall"] is None:
            lines.append(f"| {r['engine']} | {r['note']} | | | | |")
            continue
        lines.append(f"| {r['engine']} | {r['wall']:.4f} | {r['cpu']:.4f} | {r['speedup']:.1f}x, "
                     f"{r['cpu_speedup']:.1f}x | {r['gflops']:.2f}, {r['cpu_gflops']:.2f} | {r['max_diff']:.1e} |")
    return "\n".join(lines)


if __name__ == "__main__":
    _torch_child(*sys.argv[1:4])
