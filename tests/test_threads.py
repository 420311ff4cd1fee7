"""The thread count chosen at run time (fastnn._threads) and its effect on results (none)."""
import json
import os
import subprocess
import sys
import tempfile
import textwrap

import pytest

from fastnn import _threads


def feed(chooser, seconds_per_sample, remaining=10**6, unit=10, rounds=1):
    """Run ``rounds`` plans against a machine where ``seconds_per_sample[count]`` is the speed."""
    chooser.warm = True  # (the untimed first run is tested on its own)
    chooser.scale = min(seconds_per_sample.values())  # probes long enough to time
    plans = []
    for _ in range(rounds):
        count, samples = chooser.plan(remaining, unit)
        chooser.record(count, seconds_per_sample[count] * samples, samples)
        plans.append((count, samples))
    return plans


def long_run(chooser, remaining=10**6, unit=10):
    """The count of the run after the probes; checks it lasts until the next round is due."""
    count, samples = chooser.plan(remaining, unit)
    due = (chooser.recheck_after() - chooser.since_probe) / chooser.speed[count]
    assert samples % unit == 0 and due <= samples <= due + 2 * unit
    return count


def test_candidates():
    assert _threads.candidate_counts(1) == [1]
    assert _threads.candidate_counts(2) == [1, 2]
    assert _threads.candidate_counts(8) == [1, 4, 8]


def test_close_counts_are_probed_three_times_each_then_the_fastest_runs_the_rest():
    chooser = _threads.ThreadChooser(2)
    probes = feed(chooser, {1: 4e-6, 2: 2.5e-6}, rounds=6)
    assert [c for c, _ in probes] == [1, 2, 1, 2, 1, 2]  # interleaved
    assert all(samples % 10 == 0 and samples < 10**6 for _, samples in probes)  # short, whole mini-batches
    assert long_run(chooser) == 2  # then the whole rest on the best count


def test_a_clearly_slower_count_is_probed_twice_only():
    chooser = _threads.ThreadChooser(2)
    probes = feed(chooser, {1: 4e-6, 2: 1.2e-5}, rounds=5)  # 3x slower
    assert [c for c, _ in probes] == [1, 2, 1, 2, 1]
    assert long_run(chooser) == 1
    # the first round is checked again soon (it may have met another library's spinning
    # threads); after that, a clear choice is checked only every RECHECK_SECONDS
    assert chooser.recheck_after() == _threads.FIRST_RECHECK_SECONDS
    chooser.rounds = 1
    assert chooser.recheck_after() == _threads.RECHECK_SECONDS


def test_a_hopeless_count_is_probed_once():
    # another process busy on one core: two threads ~10x slower than one
    chooser = _threads.ThreadChooser(2)
    probes = feed(chooser, {1: 4e-6, 2: 4e-5}, rounds=4)
    assert [c for c, _ in probes] == [1, 2, 1, 1]
    assert long_run(chooser) == 1


def test_one_slow_probe_does_not_decide():
    # a vCPU descheduled during one probe of two threads (under HOPELESS times slower): the
    # median of three ignores it
    chooser = _threads.ThreadChooser(2)
    chooser.warm, chooser.scale = True, 2.5e-6
    for count, per_sample in [(1, 4e-6), (2, 1.5e-5), (1, 4e-6), (2, 2.5e-6), (1, 4e-6), (2, 2.5e-6)]:
        planned, samples = chooser.plan(10**6, 10)
        assert planned == count
        chooser.record(count, per_sample * samples, samples)
    assert long_run(chooser) == 2


def test_probes_again_after_a_while_and_follows_a_change():
    chooser = _threads.ThreadChooser(2)
    feed(chooser, {1: 4e-6, 2: 2e-6}, rounds=6)
    assert chooser.best == 2
    # the machine gets busy: 2 threads become slow; after RECHECK_SECONDS of work on
    # the best count, every count is probed again, and 1 thread wins
    busy = {1: 4e-6, 2: 2e-5}
    samples = int(_threads.RECHECK_SECONDS / busy[2]) + 10
    chooser.record(2, busy[2] * samples, samples)
    feed(chooser, busy, rounds=4)  # 1, 2 (10x slower: done), 1, 1
    assert chooser.best == 1
    assert long_run(chooser) == 1


def test_the_first_run_is_not_timed():
    # it includes compilation (or loading numba's cache): 1000x slower than the rest
    chooser = _threads.ThreadChooser(2)
    count, samples = chooser.plan(10**6, 10)
    chooser.record(count, 1.0, samples)
    assert chooser.speed == {} and chooser.runs == {1: 0, 2: 0}


def test_rounds_come_sooner_at_first():
    # a choice made from unlucky probes must not last a whole short fit
    chooser = _threads.ThreadChooser(2)
    speeds = {1: 4e-6, 2: 2.5e-6}
    intervals = []
    for _ in range(6):
        feed(chooser, speeds, rounds=6)  # one round of probes
        intervals.append(chooser.recheck_after())
        count, samples = chooser.plan(10**6, 10)
        chooser.record(count, speeds[count] * samples, samples)  # until the next round is due
    assert intervals == [0.375, 0.75, 1.5, 3.0, 3.0, 3.0]


def test_short_runs_on_the_chosen_count_bring_the_next_round():
    # e.g. predict_proba on a few rows at a time: every run is too short to time
    chooser = _threads.ThreadChooser(2)
    feed(chooser, {1: 4e-6, 2: 2.5e-6}, rounds=6)
    short = 0.5 * _threads.SHORTEST_TIMED
    for _ in range(int(chooser.recheck_after() / short) + 1):
        assert chooser.plan(100, 10)[0] == 2
        chooser.record(2, short, 100)
    assert chooser.plan(100, 10)[0] == 1  # a new round of probes


def test_runs_too_short_to_time_are_ignored():
    chooser = _threads.ThreadChooser(2)
    chooser.warm = True
    chooser.record(2, 0.5 * _threads.SHORTEST_TIMED, 20)  # a probe cut short by the caller's chunk
    assert chooser.runs == {1: 0, 2: 0}
    chooser.record(2, 2 * _threads.SHORTEST_TIMED, 2000)
    assert chooser.runs == {1: 0, 2: 1}


def test_a_first_probe_too_short_to_time_sizes_the_next():
    chooser = _threads.ThreadChooser(2)
    chooser.warm = True
    count, samples = chooser.plan(10**6, 10)
    assert samples == _threads.PROBE_SAMPLES // 10 * 10  # whole mini-batches
    chooser.record(count, 4e-6 * samples, samples)  # 1 ms: not timed
    assert chooser.runs == {1: 0, 2: 0}
    count, samples = chooser.plan(10**6, 10)
    assert samples == int(_threads.PROBE_SECONDS / 4 / 4e-6) // 10 * 10  # a short first probe


def test_a_short_remainder_is_never_exceeded():
    chooser = _threads.ThreadChooser(2)
    count, samples = chooser.plan(30, 10)
    assert samples == 30 and count in (1, 2)


def test_default_spin_respects_the_user():
    env = {}
    assert _threads.set_default_spin(env) and env == {"GOMP_SPINCOUNT": _threads.SPIN_COUNT}
    env = {"OMP_WAIT_POLICY": "active"}
    assert not _threads.set_default_spin(env) and "GOMP_SPINCOUNT" not in env


SWITCHING = textwrap.dedent("""
    import numpy as np
    from fastnn import Network, _threads, datasets
    from fastnn.kernels import tiled

    class Alternating(_threads.ThreadChooser):
        # switch between 1 and 2 threads every 3 mini-batches, in the middle of epochs
        calls = 0
        def plan(self, remaining, unit):
            Alternating.calls += 1
            return 1 + Alternating.calls % 2, min(remaining, 3 * unit)

    _threads.ThreadChooser = Alternating
    X, y = datasets.load_digits()
    X, y = X[:997], y[:997]  # 997 = 7 * 142 + 3: a short last mini-batch
    for dtype in ("float64", "float32"):
        # [64, 40, 33, 10]: layers big enough for the row-parallel path (odd widths too)
        kw = dict(seed=5, dtype=dtype, cost="cross-entropy")
        fixed = Network([64, 40, 33, 10], threads=1, **kw).fit(X, y, epochs=2, mini_batch_size=7, eta=0.5)
        auto = Network([64, 40, 33, 10], **kw).fit(X, y, epochs=2, mini_batch_size=7, eta=0.5)
        assert np.array_equal(fixed._theta, auto._theta), dtype
        assert fixed.history_["training_cost"] == auto.history_["training_cost"], dtype
        assert np.array_equal(fixed.predict_proba(X), auto.predict_proba(X)), dtype
    assert Alternating.calls > 20
    print("ok", Alternating.calls)
""")


def test_switching_threads_mid_epoch_changes_no_bit():
    # numba may have one thread on the CI machine: force two in a fresh process
    env = dict(os.environ, NUMBA_NUM_THREADS="2")
    out = subprocess.run([sys.executable, "-c", SWITCHING], env=env, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("ok")


# --------------------------------------------------------------------------- 1, 2 and 3 threads
# Results do not depend on the number of numba threads, bit for bit: the parameters, the running
# metrics, the outputs and the non-finite count of the kernels and of Network (with sample
# weights).  Runs in a subprocess started with NUMBA_NUM_THREADS=3, so the threaded code paths
# also run on a machine or CI runner where numba would start a single thread.  Every parallel=True kernel of fastnn.kernels must be
# reached through the calls made there, and the layers are far above the size at which a layer's
# rows are split across threads, so the parallel path really runs.

BIT_IDENTITY = r'''
import hashlib, importlib, json, pkgutil
import numba, numpy as np
from numba.core.registry import CPUDispatcher
from fastnn import Network, _params
import fastnn.kernels
from fastnn.kernels import mlp, tiled

assert numba.config.NUMBA_NUM_THREADS == 3, numba.config.NUMBA_NUM_THREADS
digest = lambda *arrays: hashlib.sha256(b"".join(a.tobytes() for a in arrays)).hexdigest()
# the first layer's work per mini-batch step, against the size from which rows are split
min_work = tiled.PARALLEL_MIN_WORK
cases = [([784, 100, 10], 10, mlp.QUADRATIC, 1.0), ([300, 67, 33, 10], 9, mlp.CROSS_ENTROPY, 0.998)]
assert all(s[0] * s[1] * mb >= 10 * min_work for s, mb, _, _ in cases)
out = {}
rng = np.random.default_rng(0)
for dtype in (np.float64, np.float32):
    for sizes, mb, cost, decay in cases:
        sizes_arr, w_off, b_off, n = _params.layout(sizes)
        theta0 = rng.standard_normal(n).astype(dtype)
        X = rng.random((203, sizes[0])).astype(dtype)   # 203 = 20 x 10 + 3 = 22 x 9 + 5: a short last batch
        Y = np.eye(sizes[-1], dtype=dtype)[rng.integers(0, sizes[-1], 203)]
        order = rng.permutation(203)
        key = f"{np.dtype(dtype).name} {sizes} mb {mb}"
        weight = rng.choice([0.0, 0.5, 1.0, 2.0], 203)
        for threads in (1, 2, 3):
            numba.set_num_threads(threads)
            theta = theta0.copy()
            tiled.sgd_epoch(theta, w_off, b_off, sizes_arr, X, Y, order, mb, 3.0, dtype(decay), cost)
            weighted, metrics = theta0.copy(), np.zeros(3)
            tiled.sgd_epoch(weighted, w_off, b_off, sizes_arr, X, Y, order, mb, 3.0, dtype(decay), cost,
                            sample_weight=weight, metrics=metrics)
            # inference splits the samples between threads: 803 = 2 chunks of INFER_CHUNK + 3
            Xi = np.concatenate([X, X[::-1], X, X[:194]])
            Xi[[7, 402, 801]] = np.nan  # one bad sample per chunk: the count is summed over threads
            proba = np.empty((803, sizes[-1]), dtype=dtype)
            bad = tiled.feedforward_batch(theta, w_off, b_off, sizes_arr, Xi, proba)
            assert bad == 3 * sizes[1], bad
            out.setdefault("kernels " + key, {})[threads] = digest(theta, weighted, metrics, proba)
            net = Network(sizes, seed=1, dtype=np.dtype(dtype).name, threads=threads)
            net.fit(X, Y, epochs=2, mini_batch_size=mb, eta=0.5, lmbda=1.0, sample_weight=weight)
            history = np.array(net.history_["training_cost"] + net.history_["training_accuracy"])
            out.setdefault("Network " + key, {})[threads] = digest(net._theta, net.predict_proba(X), history)
# chapter 6's conv network (fastnn.network3): its parallel forward passes, training and inference
from fastnn import network3 as n3
for dtype in ("float64", "float32"):
    X = rng.random((60, 196)).astype(dtype)
    y = rng.integers(0, 10, 60)
    for threads in (1, 2, 3):
        net = n3.Network([n3.ConvPoolLayer((4, 1, 3, 3), (10, 1, 14, 14), activation_fn=n3.ReLU),
                          n3.ConvPoolLayer((6, 4, 3, 3), (10, 4, 6, 6)),
                          n3.FullyConnectedLayer(24, 12, p_dropout=0.3), n3.SoftmaxLayer(12, 10)], 10,
                         seed=2, dtype=dtype, threads=threads)
        net.fit(X, y, 2, 10, 0.1, lmbda=0.2)
        out.setdefault("network3 " + dtype, {})[threads] = digest(net._theta, net.predict_proba(X))
parallel = {}
for info in pkgutil.iter_modules(fastnn.kernels.__path__):
    module = importlib.import_module(f"fastnn.kernels.{info.name}")
    for name, obj in vars(module).items():
        if isinstance(obj, CPUDispatcher) and obj.targetoptions.get("parallel"):
            parallel[f"{info.name}.{name}"] = len(obj.signatures)
out["parallel kernels"] = parallel
print(json.dumps(out))
'''


@pytest.mark.slow  # compiles the kernels afresh (a callee loaded from numba's cache lists no signature)
def test_one_two_and_three_threads_are_bit_identical():
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_NUM_THREADS"}
    env["NUMBA_NUM_THREADS"] = "3"
    with tempfile.TemporaryDirectory(prefix="fastnn-threads-cache-") as cache:
        env["NUMBA_CACHE_DIR"] = cache
        proc = subprocess.run([sys.executable, "-c", BIT_IDENTITY], env=env, capture_output=True,
                              text=True, timeout=1800)
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads(proc.stdout.strip().splitlines()[-1])
    parallel = results.pop("parallel kernels")
    assert parallel, "no parallel=True kernel found in fastnn.kernels"
    # every parallel kernel was compiled, i.e. ran, for the calls above (float64 and float32)
    assert all(count >= 2 for count in parallel.values()), parallel
    assert len(results) == 10  # 8 of the sigmoid network, 2 of chapter 6's
    for case, by_threads in results.items():
        assert len(set(by_threads.values())) == 1, f"{case}: results differ by thread count {by_threads}"
    # not vacuous: different cases give different numbers
    assert len({next(iter(v.values())) for v in results.values()}) == len(results)
