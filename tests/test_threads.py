"""The thread count chosen at run time (fastnn._threads) and its effect on results (none)."""
import os
import subprocess
import sys
import textwrap

import pytest

from fastnn import _threads


def feed(chooser, seconds_per_sample, remaining=10**6, unit=10, rounds=1):
    """Run ``rounds`` plans against a machine where ``seconds_per_sample[count]`` is the speed."""
    chooser.warm = True  # (the untimed first run is tested on its own)
    plans = []
    for _ in range(rounds):
        count, samples = chooser.plan(remaining, unit)
        chooser.record(count, seconds_per_sample[count] * samples, samples)
        plans.append((count, samples))
    return plans


def test_candidates():
    assert _threads.candidate_counts(1) == [1]
    assert _threads.candidate_counts(2) == [1, 2]
    assert _threads.candidate_counts(8) == [1, 4, 8]


@pytest.mark.parametrize("speeds, best", [({1: 4e-6, 2: 2.5e-6}, 2), ({1: 4e-6, 2: 9e-6}, 1)])
def test_probes_every_count_twice_then_keeps_the_fastest(speeds, best):
    chooser = _threads.ThreadChooser(2)
    probes = feed(chooser, speeds, rounds=4)
    assert sorted(c for c, _ in probes) == [1, 1, 2, 2]
    assert all(samples % 10 == 0 and samples < 10**6 for _, samples in probes)  # short, whole mini-batches
    assert chooser.plan(10**6, 10) == (best, 10**6)  # then the whole rest on the best count


def test_probes_again_after_a_while_and_follows_a_change():
    chooser = _threads.ThreadChooser(2)
    feed(chooser, {1: 4e-6, 2: 2e-6}, rounds=4)
    assert chooser.best == 2
    # the machine gets busy: 2 threads become slow; after RECHECK_SECONDS of work on
    # the best count, 1 thread is probed again, and wins
    busy = {1: 4e-6, 2: 2e-5}
    samples = int(_threads.RECHECK_SECONDS / busy[2]) + 10
    chooser.record(2, busy[2] * samples, samples)
    feed(chooser, busy, rounds=4)
    assert chooser.best == 1


def test_the_first_run_is_not_timed():
    # it includes compilation (or loading numba's cache): 1000x slower than the rest
    chooser = _threads.ThreadChooser(2)
    count, samples = chooser.plan(10**6, 10)
    chooser.record(count, 1.0, samples)
    assert chooser.speed == {} and chooser.runs == {1: 0, 2: 0}


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
