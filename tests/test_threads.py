"""The thread count chosen at run time (fastnn._threads) and its effect on results (none)."""
import json
import os
import subprocess
import sys
import tempfile
import textwrap

import pytest

from fastnn import _threads


@pytest.fixture
def machine(monkeypatch):
    """A 2-CPU machine whose other runnable threads the test sets (``machine.others``)."""
    class Machine:
        others = 0

    monkeypatch.setattr(_threads, "cpu_total", lambda: 2)
    monkeypatch.setattr(_threads, "others_running", lambda path=None: Machine.others)
    return Machine


def run(chooser, seconds_per_sample, total, unit=10, call_seconds=None):
    """Train ``total`` samples as the engine does (plan, run, record) on a machine where a
    count's speed is ``seconds_per_sample[count]`` (or a function of the work done so far),
    plus ``call_seconds[count]`` per run if given; return the runs ``[(count, samples, seconds)]``."""
    runs, start = [], 0
    while start < total:
        count, samples = chooser.plan(total - start, unit)
        assert 0 < samples <= total - start
        assert samples % unit == 0 or samples == total - start  # whole mini-batches
        speed = seconds_per_sample[count]
        seconds = (speed(chooser.work) if callable(speed) else speed) * samples
        seconds += call_seconds[count] if call_seconds else 0.0
        chooser.record(count, seconds, samples)
        runs.append((count, samples, seconds))
        start += samples
    return runs


def seconds_on(runs, count):
    return sum(s for c, _, s in runs if c == count)


def test_candidates():
    assert _threads.candidate_counts(1) == [1]
    assert _threads.candidate_counts(2) == [1, 2]
    assert _threads.candidate_counts(8) == [1, 4, 8]


def test_the_first_run_is_on_one_thread_and_not_timed(machine):
    # it includes compilation (or loading numba's cache): 1000x slower than the rest
    chooser = _threads.ThreadChooser(2)
    count, samples = chooser.plan(10**6, 10)
    assert (count, samples) == (1, _threads.WARM_SAMPLES // 10 * 10)
    chooser.record(count, 1.0, samples)
    assert chooser.base is None and chooser.work == 0.0
    # then one thread's speed, on one thread
    count, samples = chooser.plan(10**6, 10)
    assert (count, samples) == (1, _threads.BASE_SAMPLES // 10 * 10)
    chooser.record(count, 4e-6 * samples, samples)
    assert chooser.base == pytest.approx(4e-6)


def test_runs_are_whole_mini_batches_and_never_exceed_the_remainder(machine):
    # a mini-batch larger than the first runs' sizes: still one whole mini-batch
    chooser = _threads.ThreadChooser(2)
    assert chooser.plan(10**6, 100) == (1, 100)
    assert chooser.plan(30, 100) == (1, 30)
    runs = run(chooser, {1: 4e-6, 2: 3e-6}, 10_007, unit=7)
    assert sum(s for _, s, _ in runs) == 10_007


def test_an_idle_machine_gets_more_threads_after_a_short_trial(machine):
    # the first fit of a process: 1 thread's speed, then two threads from a short first
    # run, doubling while they are faster
    chooser = _threads.ThreadChooser(2)
    runs = run(chooser, {1: 4e-6, 2: 3e-6}, 5000)
    assert [c for c, _, _ in runs[:3]] == [1, 1, 2]
    assert runs[2][1] == int(_threads.FIRST_SEGMENT / 4e-6) // 10 * 10  # short, at 1 thread's speed
    lengths = [s for c, s, _ in runs[2:-1]]
    assert all(b >= a for a, b in zip(lengths, lengths[1:]))  # growing runs
    assert {c for c, _, _ in runs[2:]} == {2} and chooser.best == 2
    # the one-thread runs cost little: the epoch within 5% of two threads throughout
    assert sum(s for _, _, s in runs) < 1.05 * 5000 * 3e-6


def test_a_counts_first_run_starts_its_threads_and_is_not_timed(machine):
    # measured on AMD Zen 5: the first 2-thread run of a process took twice one thread's time per
    # sample (OpenMP starting its thread); judged, it lost the trial for a whole epoch
    chooser = _threads.ThreadChooser(2)
    start_up = {"done": False}

    def two_threads(work):
        slow, start_up["done"] = not start_up["done"], True
        return 1e-5 if slow else 3e-6

    runs = run(chooser, {1: 4e-6, 2: two_threads}, 5000)
    assert [c for c, _, _ in runs[:4]] == [1, 1, 2, 2]
    assert runs[2][2] / runs[2][1] == pytest.approx(1e-5)  # 2.5x one thread's time, not judged
    assert chooser.losses == 0 and chooser.best == 2 and chooser.started == {2}
    assert {c for c, _, _ in runs[2:]} == {2}
    # a later trial of the same count is timed from its first run: a busy core ends it at once
    chooser.current, chooser.due[2] = 1, chooser.work
    count, samples = chooser.plan(10**6, 10)
    chooser.record(count, 4e-5 * samples, samples)
    assert count == 2 and chooser.losses == 1 and chooser.best == 1


def test_a_busy_core_ends_a_trial_with_its_first_run(machine):
    # a core busy with a process that /proc/loadavg does not show (another VM on the
    # host): two threads wait for a descheduled thread, ~10x slower
    chooser = _threads.ThreadChooser(2)
    runs = run(chooser, {1: 4e-6, 2: 4e-5}, 5000)
    trials = [r for r in runs if r[0] == 2]
    # the count's first run starts its threads and is not timed; the first timed run ends it
    assert len(trials) == 2 and chooser.losses == 1
    # what the trial cost: a few of its short run's worth, a few percent of the epoch
    assert all(seconds < 4 * _threads.FIRST_SEGMENT * 10 for _, _, seconds in trials)
    assert chooser.best == 1


def test_a_lost_count_is_tried_again_later_and_less_often(machine):
    chooser = _threads.ThreadChooser(2)
    runs = run(chooser, {1: 4e-6, 2: 4e-5}, 2_000_000)  # 8 s of work at one thread
    work, trials, previous = 0.0, [], 1
    for count, _, seconds in runs:
        if count == 2 and previous == 1:  # a trial starts (its first, untimed run the first time)
            trials.append(work)
        work += seconds
        previous = count
    gaps = [b - a for a, b in zip(trials, trials[1:])]
    # RETRY_SECONDS, then doubled per loss in a row, up to RECHECK_SECONDS (+ the trial itself)
    assert gaps[0] == pytest.approx(_threads.RETRY_SECONDS, rel=0.1)
    assert gaps[1] == pytest.approx(2 * _threads.RETRY_SECONDS, rel=0.1)
    assert all(g <= _threads.RECHECK_SECONDS * 1.1 for g in gaps)
    assert gaps[-1] == pytest.approx(_threads.RECHECK_SECONDS, rel=0.1)
    assert seconds_on(runs, 2) < 0.02 * seconds_on(runs, 1)


def test_a_trial_slower_on_the_whole_ends_without_a_clearly_slower_run(machine):
    # two threads 20% slower than one (e.g. tiny layers): under CLEARLY_SLOWER per run,
    # the trial's running mean decides
    chooser = _threads.ThreadChooser(2)
    runs = run(chooser, {1: 4e-6, 2: 4.8e-6}, 5000)
    assert chooser.losses == 1 and chooser.best == 1
    # the untimed first run, two short runs (only a clearly slower one would count) and one
    # weighed run planned PAID_SECONDS long
    assert seconds_on(runs, 2) < 2.5 * _threads.PAID_SECONDS


def run_chunks(chooser, costs, chunks, unit):
    """Like :func:`run`, over the compiled chunks of an epoch (``fit`` calls the engine once
    per chunk), on a machine where a run of ``n`` samples on ``count`` threads takes
    ``call + n * per_sample`` seconds, ``(call, per_sample) = costs[count]``."""
    calls = {count: call for count, (call, _) in costs.items()}
    speeds = {count: per_sample for count, (_, per_sample) in costs.items()}
    return [r for chunk in chunks for r in run(chooser, speeds, chunk, unit, call_seconds=calls)]


# measured on AMD Zen 5 in float32 at mini-batch 100 ([784, 30, 10]): a run of one mini-batch
# took 1.65-2.15 us per sample on 2 threads, 1.0 in a whole epoch; one thread 1.26-1.44
CALL_COSTS = {1: (1.5e-5, 1.26e-6), 2: (1e-4, 1.0e-6)}
FIT_CHUNKS = [600, 200, 800, 3200, 12800, 32400]  # fit's first epoch of 50,000 samples


def test_a_calls_own_cost_does_not_lose_a_trial_that_long_runs_win(machine):
    # the trial's first runs are a mini-batch long and pay a call each (1.5x one thread's
    # time per sample): only runs long enough to pay for it weigh, and two threads win
    chooser = _threads.ThreadChooser(2)
    runs = run_chunks(chooser, CALL_COSTS, FIT_CHUNKS, 100)
    assert chooser.losses == 0 and chooser.best == 2
    on_two = sum(n for c, n, _ in runs if c == 2)
    assert on_two > 0.9 * sum(FIT_CHUNKS)
    short = [s / n for c, n, s in runs if c == 2 and s < _threads.PAID_SECONDS]
    assert max(short) > 1.5 * CALL_COSTS[1][1]  # such runs were there, and did not count


def test_a_trial_of_short_runs_only_is_weighed_after_short_judged(machine):
    # tiny epochs (or chunks) come in runs shorter than a paid one: those are the work
    # itself, so two threads 20% slower on them lose
    chooser = _threads.ThreadChooser(2)
    costs = {1: (0.0, 4e-6), 2: (0.0, 4.8e-6)}
    run_chunks(chooser, costs, [50] * 200, 10)
    assert chooser.losses >= 1 and chooser.best == 1


def test_a_short_run_cut_by_the_trial_is_not_weighed(machine):
    chooser = _threads.ThreadChooser(2)
    for _ in range(2):  # the untimed run and the base run: one thread
        count, samples = chooser.plan(10**6, 10)
        chooser.record(count, 4e-6 * samples, samples)
    chooser.started.add(2)  # its threads started
    count, samples = chooser.plan(10**6, 10)
    assert count == 2 and samples * 4e-6 < _threads.PAID_SECONDS
    chooser.record(count, 1.9 * 4e-6 * samples, samples)  # under CLEARLY_SLOWER: not judged
    assert chooser.best == 2 and chooser.trial == [0.0, 0]
    chooser.record(count, 2.1 * 4e-6 * samples, samples)  # clearly slower: judged at once
    assert chooser.best == 1 and chooser.losses == 1


def test_other_running_threads_skip_the_trial(machine):
    # a busy loop in another process, seen by the system: no trial at all
    machine.others = 1
    chooser = _threads.ThreadChooser(2)
    runs = run(chooser, {1: 4e-6, 2: 4e-5}, 5000)
    assert {c for c, _, _ in runs} == {1} and chooser.losses == 0 and chooser.skipped >= 1
    # the machine is looked at again soon, then less often; once the other process is
    # gone, two threads are tried
    skipped = chooser.skipped
    run(chooser, {1: 4e-6, 2: 4e-5}, 50_000)
    assert 1 <= chooser.skipped - skipped <= 5  # 0.2 s of work: SKIP_SECONDS doubled
    machine.others = 0
    runs = run(chooser, {1: 4e-6, 2: 3e-6}, 1_000_000)
    assert runs[-1][0] == 2


def test_a_machine_getting_busy_during_a_long_run_is_noticed_at_once(machine):
    chooser = _threads.ThreadChooser(2)
    run(chooser, {1: 4e-6, 2: 3e-6}, 200_000)
    assert chooser.best == 2
    start = chooser.work
    busy = {1: 4e-6, 2: lambda work: 3e-6 if work < start + 0.1 else 4e-5}
    runs = run(chooser, busy, 100_000)
    assert chooser.best == 1 and chooser.losses >= 1
    # the first slow two-thread run was the last; it was one of at most PROBE_SECONDS at the
    # speed expected (here 13x slower)
    slow = [i for i, (c, n, s) in enumerate(runs) if c == 2 and s > 4e-5 * n * 0.99]
    assert runs[slow[0] + 1][0] == 1
    assert max(s for c, _, s in runs if c == 2) <= 4e-5 / 3e-6 * _threads.PROBE_SECONDS * 1.01


def test_one_thread_is_measured_again_while_more_threads_run(machine):
    chooser = _threads.ThreadChooser(2)
    runs = run(chooser, {1: 4e-6, 2: 3e-6}, 4_000_000)  # ~12 s of work
    rechecks = [r for r in runs[3:] if r[0] == 1]
    assert 3 <= len(rechecks) <= 5  # every RECHECK_SECONDS
    assert all(s == pytest.approx(_threads.PROBE_SECONDS / 4, rel=0.1) for _, _, s in rechecks)
    assert chooser.best == 2


def test_more_counts_the_largest_first(machine, monkeypatch):
    # 8 CPUs: 1, 4 and 8 threads; all 8 lose (a descheduled vCPU), then 4 is tried
    monkeypatch.setattr(_threads, "cpu_total", lambda: 8)
    chooser = _threads.ThreadChooser(8)
    runs = run(chooser, {1: 4e-6, 4: 1.5e-6, 8: 2e-5}, 200_000)
    counts = [c for c, _, _ in runs]
    tried = [c for c, before in zip(counts[1:], counts) if c != 1 and c != before]  # trials' starts
    assert tried[0] == 8 and tried[1] == 4 and runs[-1][0] == 4


def test_runs_too_short_to_time_judge_nothing(machine):
    chooser = _threads.ThreadChooser(2)
    run(chooser, {1: 4e-6, 2: 3e-6}, 2000)
    assert chooser.best == 2
    count, samples = chooser.plan(10, 10)
    chooser.record(count, 100 * _threads.SHORTEST_TIMED / 10 * 0.001, 10)  # far too short
    assert chooser.best == 2


def test_a_run_timed_at_zero_seconds_breaks_nothing(machine):
    # a coarse clock (or a mocked one) may report 0 s for a short run
    chooser = _threads.ThreadChooser(2)
    for _ in range(50):
        count, samples = chooser.plan(10**6, 10)
        chooser.record(count, 0.0, samples)
    assert chooser.plan(10**6, 10)[1] % 10 == 0


def test_others_running_reads_the_runnable_count(tmp_path):
    loadavg = tmp_path / "loadavg"
    loadavg.write_text("4.15 2.74 1.26 3/98 11679\n")
    assert _threads.others_running(str(loadavg)) == 2  # the caller is one of the 3
    loadavg.write_text("garbage")
    assert _threads.others_running(str(loadavg)) is None
    assert _threads.others_running(str(tmp_path / "missing")) is None


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
# (mini-batch 40: the first layer as panels, kernels/panels.py)
cases = [([784, 100, 10], 10, mlp.QUADRATIC, 1.0), ([300, 67, 33, 10], 9, mlp.CROSS_ENTROPY, 0.998),
         ([784, 100, 10], 40, mlp.CROSS_ENTROPY, 0.999)]
assert all(s[0] * s[1] * mb >= 10 * min_work for s, mb, _, _ in cases)
out = {}
rng = np.random.default_rng(0)
for dtype in (np.float64, np.float32):
    for sizes, mb, cost, decay in cases:
        sizes_arr, w_off, b_off, n = _params.layout(sizes)
        theta0 = rng.standard_normal(n).astype(dtype)
        X = rng.random((203, sizes[0])).astype(dtype)   # 203 = 20 x 10 + 3 = 22 x 9 + 5 = 5 x 40 + 3: a short last batch
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
    assert len(results) == 14  # 12 of the sigmoid network, 2 of chapter 6's
    for case, by_threads in results.items():
        assert len(set(by_threads.values())) == 1, f"{case}: results differ by thread count {by_threads}"
    # not vacuous: different cases give different numbers
    assert len({next(iter(v.values())) for v in results.values()}) == len(results)


@pytest.mark.parametrize("preset, expected", [
    ({}, "100000"),  # nothing chosen: a bounded spin
    ({"OMP_WAIT_POLICY": "passive"}, None),  # the user's policy decides the spin
    ({"GOMP_SPINCOUNT": "5"}, "5"),  # the user's spin count is kept
])
def test_openmp_spins_briefly_unless_the_user_chose(preset, expected):
    # Passive waiting made a 2-thread fork/join cost ~45 us (0.23 s per epoch at mini-batch
    # 10); libgomp's default spin is long.  fastnn.engines sets GOMP_SPINCOUNT only when the
    # user set neither OMP_WAIT_POLICY nor GOMP_SPINCOUNT.
    import os
    import subprocess
    import sys
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    env.update(preset)
    code = "import os, fastnn.engines; print(os.environ.get('GOMP_SPINCOUNT'))"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == str(expected)
