"""``fastnn compare --net conv``: the table of :mod:`fastnn.bench.compare_conv` and its exit code."""
import os

from ._agreement import report_agreement


def cmd_compare_conv(args):
    """Print the conv rows, their legend and the agreement check; exit 1 on disagreement."""
    from ..bench import compare_conv as cc
    from ..bench import cpu_model

    if args.sizes is not None:
        raise ValueError("--sizes belongs to the dense net; --net conv trains chapter 6's CP20 -> CP40 -> FC100 -> "
                         "softmax")
    if args.plot:
        raise ValueError("--plot draws the dense net's rows only; leave it out with --net conv")
    samples = args.samples or 1000
    eta = args.eta or 0.03
    engines = [e for e in args.engines if e in cc.CONV_ENGINES]
    tolerance = args.tolerance
    if tolerance is None:
        tolerance = cc.FLOAT32_TOLERANCE if args.dtype == "float32" else cc.FLOAT64_TOLERANCE
    X, y = cc.conv_data(args.data, samples, args.seed)
    if len(X) < args.mini_batch_size:
        raise ValueError(f"--samples {len(X)} is less than one mini-batch of {args.mini_batch_size}")
    rows = cc.run_compare_conv(X, y, epochs=args.epochs, mini_batch_size=args.mini_batch_size, eta=eta,
                               seed=args.seed, dtype=args.dtype, threads=args.threads, engines=engines)
    print(f"chapter 6's conv net (CP20 5x5 -> CP40 5x5 -> FC 640->100 -> softmax 10, ReLU, lmbda {cc.LMBDA}), "
          f"mini-batch {args.mini_batch_size}, eta {eta}, {len(X)} samples from {args.data!r}, "
          f"{args.epochs} epoch(s), {args.dtype}; {cpu_model()}, {os.cpu_count()} CPUs")
    print(cc.format_compare_conv(rows))
    for line in legend(rows, args.dtype):
        print(line)
    if not any(r["kind"] == "jit" for r in rows):
        return 0
    # Agreement check on its own short run: longer float32 runs of this ReLU / max-pool net drift
    # apart from the float64 reference in any correct implementation (cc.CHECK_SAMPLES).
    n_check, check = cc.conv_agreement(X, y, mini_batch_size=args.mini_batch_size, eta=eta, seed=args.seed,
                                       dtype=args.dtype, check_samples=args.check_samples or cc.CHECK_SAMPLES,
                                       rows=rows, epochs=args.epochs)
    worst = max(r["max_diff"] for r in check if r["kind"] == "jit")
    return report_agreement(worst, n_check, tolerance, cc.conv_disagreements(check, tolerance),
                            checked="fastnn", failed="fastnn")


def legend(rows, dtype):
    """Lines under the table: what the rows and columns are, the ratios that matter, the yardstick."""
    from ..bench import compare_conv as cc

    lines = ["Rows: fastnn = fastnn.network3.Network.fit (explicit-loop Numba kernels, a chunk of mini-batches "
             "per compiled call); NumPy reference = fastnn.reference.network3_np (SciPy convolutions per map, "
             "hand-written backprop, float64, 1 BLAS thread); PyTorch CPU = autograd and an in-place SGD step "
             "per mini-batch, torch.set_num_threads(k), in its own process.",
             "Same initial weights and the same mini-batches in every row. Wall and CPU (time.process_time) "
             "seconds per epoch, training only; warm-ups (compilation, first mini-batches) not timed. GFLOP/s: "
             f"{cc.conv_flops_per_sample(_spec()) / 1e6:.2f} MFLOP per training sample (forward over every "
             "position, backward over the max-pooled positions) / wall or CPU seconds."]
    fast = {r["threads"]: r for r in rows if r["kind"] == "jit" and r["wall"] is not None}
    torch = [r for r in rows if r["kind"] == "torch" and r["wall"] is not None]
    if 1 in fast and torch:
        best = min(torch, key=lambda r: r["wall"])
        one = next((r for r in torch if r["threads"] == 1), None)
        text = f"fastnn 1 thread vs PyTorch's best ({best['engine']}): {best['wall'] / fast[1]['wall']:.2f}x wall"
        if one is not None:
            text += f"; vs PyTorch 1 thread: {one['cpu'] / fast[1]['cpu']:.2f}x CPU time"
        lines.append(text + ".")
    if dtype == "float32":
        lines.append("In float32 the last column grows with the run's length (to ~1e-2 after 200 mini-batches of "
                     "real images, PyTorch's rows alike): rounding now and then flips a near-tied max-pool choice "
                     "or ReLU sign, and SGD carries the difference on; the agreement check uses its own short run.")
    lines.append(f"Yardstick: NumPy's {'d' if dtype == 'float64' else 's'}gemm (512x512, 1 thread, CPU time) runs at "
                 f"{cc.dgemm_rate(dtype):.1f} GFLOP/s here.")
    return lines


def _spec():
    from ..rivals_conv import book_conv_spec

    return book_conv_spec("relu")
