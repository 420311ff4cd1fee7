"""The thread chooser's rules one at a time (fastnn._threads): tests written against the
mutants that survived tests/test_threads.py, each first run against its mutant and failed."""
import pytest

from fastnn import _threads

BASE = 4e-6  # one thread's seconds per sample in these tests


@pytest.fixture
def idle(monkeypatch):
    """A 2-CPU machine with nothing else running."""
    monkeypatch.setattr(_threads, "cpu_total", lambda: 2)
    monkeypatch.setattr(_threads, "others_running", lambda path=None: 0)


def timed(unit=10):
    """A 2-thread chooser past its untimed first run and its first one-thread run (BASE), whose
    two threads have run once (that untimed start-up run: tests/test_threads.py)."""
    chooser = _threads.ThreadChooser(2)
    count, samples = chooser.plan(10**9, unit)
    chooser.record(count, 1.0, samples)
    count, samples = chooser.plan(10**9, unit)
    chooser.record(count, BASE * samples, samples)
    assert chooser.base == pytest.approx(BASE) and count == 1
    chooser.started.add(2)
    return chooser


def step(chooser, speeds, unit=10):
    """Plan one run, take ``speeds[count]`` seconds per sample, record it; return (count, samples)."""
    count, samples = chooser.plan(10**9, unit)
    chooser.record(count, speeds[count] * samples, samples)
    return count, samples


def test_one_thread_runs_too_short_to_time_keep_the_base(idle):
    chooser = timed()
    chooser.record(1, 0.5 * _threads.SHORTEST_TIMED, 10)  # 5e-6 s per sample: noise, not news
    assert chooser.base == pytest.approx(BASE)
    chooser.record(1, 2 * _threads.SHORTEST_TIMED, 100)  # long enough: the new speed counts
    assert chooser.base == pytest.approx(2e-6)


def test_a_slow_run_too_short_to_time_does_not_end_a_trial(idle):
    chooser = timed()
    assert step(chooser, {1: BASE, 2: 3e-6})[0] == 2
    # a 10-sample run at 3x one thread's speed, but shorter than SHORTEST_TIMED: no verdict
    chooser.record(2, 0.9 * _threads.SHORTEST_TIMED, 10)
    assert chooser.best == 2 and chooser.losses == 0
    # the same speed over a run long enough to time ends the trial at once
    chooser.record(2, 3 * BASE * 100, 100)
    assert chooser.best == 1 and chooser.losses == 1


def test_a_skipped_trial_is_counted_once(monkeypatch):
    monkeypatch.setattr(_threads, "cpu_total", lambda: 2)
    monkeypatch.setattr(_threads, "others_running", lambda path=None: 1)
    chooser = timed()
    assert chooser.skipped == 0 and chooser.losses == 0
    assert step(chooser, {1: BASE})[0] == 1
    assert chooser.skipped == 1 and chooser.losses == 0


def wait_after_loss(chooser, fast_seconds, unit=10):
    """Run two threads fast for about ``fast_seconds`` of trial (in mini-batches of ``unit``),
    then slow: the wait set by the loss."""
    fast, slow = {1: BASE, 2: 3e-6}, {1: BASE, 2: 10 * BASE}
    while chooser.best == 1:  # one thread until two are due
        step(chooser, fast, unit)
    held = 0.0
    while held < fast_seconds:
        count, samples = step(chooser, fast, unit)
        assert count == 2
        held += 3e-6 * samples
    assert step(chooser, slow, unit)[0] == 2 and chooser.best == 1
    return chooser.due[2] - chooser.work


def test_a_short_win_keeps_doubling_the_wait_a_long_one_resets_it(idle):
    chooser = timed()
    first = wait_after_loss(chooser, 0.0)  # loses at its first run
    assert first == pytest.approx(_threads.RETRY_SECONDS)
    # held briefly (far less than RETRY_SECONDS of trial), then lost: still a loss in a row
    second = wait_after_loss(chooser, 0.01)
    assert second == pytest.approx(2 * _threads.RETRY_SECONDS)
    # held for longer than RETRY_SECONDS (in runs of at most PROBE_SECONDS), then lost: news,
    # the wait starts again
    third = wait_after_loss(chooser, 3 * _threads.RETRY_SECONDS)
    assert third == pytest.approx(_threads.RETRY_SECONDS)
    # the next trial's short win counts from its own start: a loss in a row again
    fourth = wait_after_loss(chooser, 0.01)
    assert fourth == pytest.approx(2 * _threads.RETRY_SECONDS)


def test_cpu_total_is_one_where_the_system_cannot_tell(monkeypatch):
    monkeypatch.setattr(_threads.os, "cpu_count", lambda: None)
    assert _threads.cpu_total() == 1
    monkeypatch.setattr(_threads.os, "cpu_count", lambda: 6)
    assert _threads.cpu_total() == 6


def test_others_running_is_zero_when_only_the_caller_runs(tmp_path):
    loadavg = tmp_path / "loadavg"
    loadavg.write_text("0.50 0.40 0.30 1/98 11679\n")
    assert _threads.others_running(str(loadavg)) == 0
    # a count that leaves out the caller (a container's own view of the file): never negative
    loadavg.write_text("0.50 0.40 0.30 0/98 11679\n")
    assert _threads.others_running(str(loadavg)) == 0


def test_a_one_cpu_chooser_runs_recheck_seconds_at_a_time(idle):
    # no count to try: each run lasts RECHECK_SECONDS at one thread's speed
    chooser = _threads.ThreadChooser(1)
    count, samples = chooser.plan(10**9, 10)
    chooser.record(count, 1.0, samples)
    count, samples = chooser.plan(10**9, 10)
    chooser.record(count, BASE * samples, samples)
    for _ in range(3):
        count, samples = chooser.plan(10**9, 10)
        assert count == 1 and samples == pytest.approx(_threads.RECHECK_SECONDS / BASE, rel=1e-3)
        chooser.record(count, BASE * samples, samples)


def test_a_first_run_a_little_slower_does_not_end_a_trial(idle):
    chooser = timed()
    count, samples = chooser.plan(10**9, 10)
    chooser.record(count, 1.1 * BASE * samples, samples)  # noise: 10% slower, under CLEARLY_SLOWER
    assert count == 2 and chooser.best == 2 and chooser.losses == 0
    count, samples = chooser.plan(10**9, 10)
    chooser.record(count, 0.75 * BASE * samples, samples)  # then faster: the trial's mean is too
    assert count == 2 and chooser.best == 2 and chooser.losses == 0


def test_more_threads_exactly_as_fast_as_one_are_kept(idle):
    exact = 2.0 ** -18  # seconds per sample, so that every sum and mean below is exact
    chooser = _threads.ThreadChooser(2)
    count, samples = chooser.plan(10**9, 10)
    chooser.record(count, 1.0, samples)
    count, samples = chooser.plan(10**9, 10)
    chooser.record(count, exact * samples, samples)
    for _ in range(20):  # well past PAID_SECONDS of weighed runs
        count, samples = chooser.plan(10**9, 10)
        chooser.record(count, exact * samples, samples)
    assert chooser.trial[0] >= _threads.PAID_SECONDS
    assert count == 2 and chooser.best == 2 and chooser.losses == 0


def test_a_trial_doubles_its_runs(idle):
    chooser = timed()
    chooser.record(1, BASE * 250_000, 250_000)  # 1 s of work: STAKE allows runs up to 0.1 s
    lengths = []
    for _ in range(8):
        count, samples = chooser.plan(10**9, 1)
        chooser.record(count, 3e-6 * samples, samples)
        lengths.append(samples)
    assert count == 2 and chooser.best == 2
    first = int(_threads.FIRST_SEGMENT / BASE)  # at one thread's speed, then at the trial's
    expected = [first] + [int(_threads.FIRST_SEGMENT * 2 ** k / 3e-6) for k in range(1, 8)]
    expected = [min(n, int(_threads.PROBE_SECONDS / 3e-6)) for n in expected]
    assert lengths == expected


def test_a_trial_grows_to_paid_runs_while_little_work_is_done(idle):
    # after about 1 ms of timed work, STAKE (a tenth of it) is below PAID_SECONDS: the runs
    # double from FIRST_SEGMENT up to PAID_SECONDS (long enough to pay for a call), no further
    chooser = timed()
    assert chooser.work < 2e-3
    runs = [step(chooser, {1: BASE, 2: 3e-6}) for _ in range(4)]
    assert runs[0] == (2, int(_threads.FIRST_SEGMENT / BASE) // 10 * 10)
    seconds = [_threads.FIRST_SEGMENT * 2, _threads.PAID_SECONDS, _threads.PAID_SECONDS]
    assert _threads.PAID_SECONDS == 4 * _threads.FIRST_SEGMENT
    assert runs[1:] == [(2, int(s / 3e-6) // 10 * 10) for s in seconds]


def test_a_run_of_fewer_threads_planned_before_a_switch_is_ignored(monkeypatch):
    # 8 CPUs: 1, 4 and 8 threads.  Another Python thread's 4-thread run, planned before the
    # switch to 8, ends while 8 threads are on trial: it is not counted in their trial.
    monkeypatch.setattr(_threads, "cpu_total", lambda: 8)
    monkeypatch.setattr(_threads, "others_running", lambda path=None: 0)
    chooser = _threads.ThreadChooser(8)
    for seconds in (1.0, BASE * 256):
        count, samples = chooser.plan(10**9, 1)
        chooser.record(count, seconds, samples)
    count, samples = chooser.plan(10**9, 1)
    assert count == 8
    chooser.record(8, 2e-6 * samples, samples)
    chooser.record(4, 100 * BASE * 1000, 1000)  # slow, but not the count on trial
    assert chooser.best == 8 and chooser.losses == 0


def test_candidate_counts_are_whole_numbers_for_odd_limits():
    assert _threads.candidate_counts(3) == [1, 3]
    assert _threads.candidate_counts(5) == [1, 2, 5]
    assert all(type(c) is int for c in _threads.candidate_counts(7))


def test_a_trial_is_due_as_soon_as_the_work_reaches_its_time(idle):
    # a coarse clock timed the first one-thread run at 0 s: the work done (0.0) is exactly
    # the time from which two threads may be tried (0.0), and they are
    chooser = _threads.ThreadChooser(2)
    count, samples = chooser.plan(10**9, 10)
    chooser.record(count, 1.0, samples)
    count, samples = chooser.plan(10**9, 10)
    chooser.record(count, 0.0, samples)
    assert chooser.work == 0.0 == chooser.due[2]
    assert chooser.plan(10**9, 10)[0] == 2


def test_a_started_trial_resets_the_wait_between_glances(monkeypatch):
    machine = {"others": 1}
    monkeypatch.setattr(_threads, "cpu_total", lambda: 2)
    monkeypatch.setattr(_threads, "others_running", lambda path=None: machine["others"])
    chooser = timed()
    busy, slow = {1: BASE}, {1: BASE, 2: 10 * BASE}
    for _ in range(3):  # skipped three times: the glances become rarer
        step(chooser, busy)
    assert chooser.skipped == 3
    machine["others"] = 0
    while step(chooser, slow)[0] == 1:  # the other process is gone: a trial (lost at once)
        pass
    assert chooser.losses == 1
    machine["others"] = 1
    while True:
        count, samples = chooser.plan(10**9, 10)
        if chooser.skipped > 3:
            break
        chooser.record(count, BASE * samples, samples)
    # the next skip waits SKIP_SECONDS again, not the wait doubled before the trial
    assert chooser.due[2] - chooser.work == pytest.approx(_threads.SKIP_SECONDS)


def test_a_long_trial_notices_a_moderate_slowdown_soon(idle):
    # two threads twice as fast for 0.5 s of trial, then 30% slower than one thread (under
    # CLEARLY_SLOWER): the trial's old runs weigh less and less, so the loss comes within
    # a few PROBE_SECONDS, not after as long as the good runs lasted
    chooser = timed()
    while chooser.best == 1:
        step(chooser, {1: BASE, 2: 0.5 * BASE})
    good = 0.0
    while good < 0.5:
        count, samples = step(chooser, {1: BASE, 2: 0.5 * BASE})
        good += 0.5 * BASE * samples if count == 2 else 0.0
    slow = 0.0
    while chooser.best == 2 and slow < 1.0:
        count, samples = step(chooser, {1: BASE, 2: 1.3 * BASE})
        slow += 1.3 * BASE * samples if count == 2 else 0.0
    assert chooser.best == 1 and chooser.losses == 1
    assert slow < 5 * _threads.PROBE_SECONDS


def test_runs_exactly_shortest_timed_long_are_timed(idle):
    # SHORTEST_TIMED is the shortest run that judges: one thread's speed from it counts...
    chooser = timed()
    chooser.record(1, _threads.SHORTEST_TIMED, 50)
    assert chooser.base == _threads.SHORTEST_TIMED / 50
    # ...and a clearly slower run of more threads that long ends their trial at once
    chooser = timed()
    assert chooser.plan(10**9, 10)[0] == 2
    chooser.record(2, _threads.SHORTEST_TIMED, 10)  # 2.5x one thread's time per sample
    assert chooser.best == 1 and chooser.losses == 1


def test_a_trial_exactly_paid_seconds_long_is_judged_on_its_mean(idle):
    chooser = timed()
    assert chooser.plan(10**9, 10)[0] == 2
    chooser.record(2, _threads.PAID_SECONDS, 200)  # 1.25x one thread's time per sample
    assert chooser.best == 1 and chooser.losses == 1


def paid_trial():
    """A chooser in a trial of 2 threads whose next run is planned PAID_SECONDS long."""
    chooser = timed()
    while chooser.segment < _threads.PAID_SECONDS:
        assert step(chooser, {1: BASE, 2: BASE})[0] == 2
    assert chooser.trial == [0.0, 0]  # the short runs so far weigh nothing on the whole
    return chooser


def test_a_paid_run_short_by_a_mini_batch_is_weighed(idle):
    chooser = paid_trial()
    count, samples = chooser.plan(10**9, 70)
    assert count == 2 and samples * BASE < _threads.PAID_SECONDS  # rounded down to whole units
    chooser.record(count, BASE * samples, samples)
    assert chooser.trial == [BASE * samples, samples]


def test_a_paid_run_cut_by_the_end_of_a_chunk_is_not_weighed(idle):
    chooser = paid_trial()
    count, samples = chooser.plan(50, 10)  # 50 samples left in the chunk
    assert (count, samples) == (2, 50)
    chooser.record(count, 1.9 * BASE * samples, samples)  # a call's own cost: under CLEARLY_SLOWER
    assert chooser.trial == [0.0, 0] and chooser.best == 2


def test_short_runs_are_judged_once_they_last_short_judged(idle):
    chooser = timed()
    assert chooser.plan(10**9, 10)[0] == 2
    short = _threads.SHORT_JUDGED / 8  # each run under PAID_SECONDS, not planned paid
    for _ in range(7):
        chooser.record(2, short, round(short / (1.25 * BASE)))  # 1.25x one thread's time
    assert chooser.best == 2 and chooser.short[0] < _threads.SHORT_JUDGED
    chooser.record(2, short, round(short / (1.25 * BASE)))
    assert chooser.best == 1 and chooser.losses == 1


def test_short_runs_after_a_paid_one_are_not_added_up(idle):
    chooser = paid_trial()
    count, samples = chooser.plan(10**9, 10)
    chooser.record(count, BASE * samples, samples)  # a paid run as fast as one thread: holds
    assert chooser.best == 2 and chooser.trial[1] == samples
    before = list(chooser.short)  # the trial's first runs, before the paid one
    for _ in range(40):  # far more than SHORT_JUDGED of short runs 1.25x slower, not weighed
        chooser.record(2, _threads.SHORT_JUDGED / 8, round(_threads.SHORT_JUDGED / 8 / (1.25 * BASE)))
    assert chooser.best == 2 and chooser.short == before


def test_a_new_trial_adds_up_its_own_short_runs_only(idle):
    chooser = timed()
    assert chooser.plan(10**9, 10)[0] == 2
    short = _threads.SHORT_JUDGED / 8
    for _ in range(7):  # as fast as one thread, not yet judged
        chooser.record(2, short, round(short / BASE))
    chooser.record(2, 3 * BASE * 100, 100)  # then clearly slower: lost
    assert chooser.best == 1 and chooser.losses == 1
    chooser.due[2] = chooser.work  # tried again at once
    assert chooser.plan(10**9, 10)[0] == 2
    chooser.record(2, short, round(short / (1.25 * BASE)))  # one short run, not judged on its own
    assert chooser.best == 2 and chooser.short[0] == short


def test_short_runs_faster_than_one_thread_hold_once_judged(idle):
    chooser = timed()
    assert chooser.plan(10**9, 10)[0] == 2
    short = _threads.SHORT_JUDGED / 8
    for _ in range(10):  # past SHORT_JUDGED of short runs, 0.8x one thread's time
        chooser.record(2, short, round(short / (0.8 * BASE)))
    assert chooser.short[0] >= _threads.SHORT_JUDGED
    assert chooser.best == 2 and chooser.losses == 0


def test_a_run_of_one_sample_counts(idle):
    # a mini-batch of 1 (or the last sample of a chunk): the first run is the untimed one,
    # the next gives one thread's speed
    chooser = _threads.ThreadChooser(2)
    chooser.record(1, 1.0, 1)
    assert chooser.warm and chooser.base is None
    chooser.record(1, 2 * _threads.SHORTEST_TIMED, 1)
    assert chooser.base == 2 * _threads.SHORTEST_TIMED


def test_the_trials_mean_weighs_its_runs_alike_until_it_is_long(idle):
    # a fast paid run, then a longer, slower one: their mean (0.94x one thread) holds the trial;
    # halving the first before adding the second (1.05x) would end it
    chooser = paid_trial()
    chooser.record(2, 1e-3, round(1e-3 / (0.6 * BASE)))
    chooser.record(2, 2e-3, round(2e-3 / (1.3 * BASE)))
    assert chooser.best == 2 and chooser.losses == 0


def test_a_late_run_of_more_threads_after_a_loss_is_ignored(idle):
    # another Python thread's 2-thread run, planned before the trial was lost, ends after it
    chooser = timed()
    assert step(chooser, {1: BASE, 2: 3 * BASE})[0] == 2
    assert chooser.best == 1 and chooser.losses == 1
    chooser.record(2, 3 * BASE * 1000, 1000)  # slow, but two threads are no longer on trial
    assert chooser.losses == 1 and 2 not in chooser.speed


def test_a_run_longer_than_paid_seconds_is_weighed_however_it_was_planned(idle):
    chooser = timed()
    assert chooser.plan(10**9, 10)[0] == 2  # a short run planned (FIRST_SEGMENT)
    chooser.record(2, 1.5e-3, 300)  # it took 1.5 ms, 1.25x one thread's time per sample
    assert chooser.best == 1 and chooser.losses == 1


def test_a_run_exactly_clearly_slower_does_not_end_the_trial(idle):
    exact = 2.0 ** -18  # one thread's seconds per sample, so that 2x is exact
    chooser = _threads.ThreadChooser(2)
    for seconds in (1.0, exact * 250):
        count, samples = chooser.plan(10**9, 10)
        chooser.record(count, seconds, samples)
    chooser.started.add(2)
    count, samples = chooser.plan(10**9, 10)
    assert count == 2 and samples * exact < _threads.PAID_SECONDS
    chooser.record(2, _threads.CLEARLY_SLOWER * exact * samples, samples)  # a tie: not slower
    assert chooser.best == 2 and chooser.losses == 0


def test_a_paid_run_shorter_than_half_paid_seconds_is_not_judged_alone(idle):
    # short runs at 1.9x one thread's time (under CLEARLY_SLOWER) size the first paid run, and
    # mini-batches of 70 round it down to 70 samples: at 1.1x, 0.31 ms, too short to judge
    chooser = timed()
    while chooser.segment < _threads.PAID_SECONDS:
        assert step(chooser, {1: BASE, 2: 1.9 * BASE})[0] == 2
    count, samples = chooser.plan(10**9, 70)
    assert (count, samples) == (2, 70)
    chooser.record(count, 1.1 * BASE * samples, samples)
    assert chooser.trial == [1.1 * BASE * samples, samples]  # weighed, not yet judged
    assert chooser.best == 2 and chooser.losses == 0


def test_a_trial_held_exactly_retry_seconds_resets_the_wait(idle):
    chooser = timed()
    assert wait_after_loss(chooser, 0.0) == pytest.approx(_threads.RETRY_SECONDS)
    count, samples = chooser.plan(10**9, 10)
    while count == 1:  # one thread until two are due again
        chooser.record(count, BASE * samples, samples)
        count, samples = chooser.plan(10**9, 10)
    chooser.record(2, _threads.RETRY_SECONDS, round(_threads.RETRY_SECONDS / 3e-6))  # held exactly that
    assert chooser.held == _threads.RETRY_SECONDS and chooser.best == 2
    chooser.record(2, 10 * BASE * 100, 100)
    assert chooser.best == 1 and chooser.due[2] - chooser.work == pytest.approx(_threads.RETRY_SECONDS)


def test_the_trials_mean_is_halved_only_past_two_probes(idle):
    # 25 ms at 0.6x one thread, then 20 ms at 1.9x (under CLEARLY_SLOWER): 0.86x on the whole;
    # halving the first before adding the second (1.04x) would end the trial
    chooser = paid_trial()
    chooser.record(2, 0.025, round(0.025 / (0.6 * BASE)))
    chooser.record(2, 0.020, round(0.020 / (1.9 * BASE)))
    assert chooser.best == 2 and chooser.losses == 0


def test_a_run_planned_longer_than_paid_seconds_is_weighed_when_it_ran_fast(idle):
    chooser = timed()
    chooser.record(1, BASE * 250_000, 250_000)  # 1 s of work: STAKE allows runs up to 0.1 s
    while chooser.segment <= _threads.PAID_SECONDS:
        assert step(chooser, {1: BASE, 2: BASE})[0] == 2
    count, samples = chooser.plan(10**9, 10)
    before = list(chooser.trial)
    chooser.record(count, 0.25 * _threads.PAID_SECONDS, samples)  # far faster than expected
    assert count == 2 and chooser.trial[1] == before[1] + samples


def test_one_thread_is_measured_again_the_moment_it_is_due(idle):
    chooser = paid_trial()
    chooser.base_due = chooser.work  # RECHECK_SECONDS of work reached exactly
    count, samples = chooser.plan(10**9, 10)
    assert count == 1 and samples == int(_threads.PROBE_SECONDS / 4 / BASE) // 10 * 10


def test_short_runs_exactly_as_fast_as_one_thread_hold_once_judged(idle):
    exact = 2.0 ** -18  # seconds per sample, so that every sum below is exact
    chooser = _threads.ThreadChooser(2)
    for seconds in (1.0, exact * 250):
        count, samples = chooser.plan(10**9, 10)
        chooser.record(count, seconds, samples)
    chooser.started.add(2)
    assert chooser.plan(10**9, 10)[0] == 2
    while chooser.short[0] < _threads.SHORT_JUDGED:
        chooser.record(2, exact * 64, 64)  # short, not planned paid
    assert chooser.short[0] == exact * chooser.short[1]  # a tie with one thread: kept
    assert chooser.best == 2 and chooser.losses == 0


def test_the_trial_is_halved_from_exactly_two_probes(idle):
    # 40 ms (exactly 2 * PROBE_SECONDS) at 0.9x one thread, then 20 ms at 1.2x: with the first
    # halved (it reached 2 * PROBE_SECONDS) the mean is 1.03x, and the trial ends
    chooser = paid_trial()
    chooser.trial = [0.0, 0]
    chooser.record(2, 2 * _threads.PROBE_SECONDS, round(2 * _threads.PROBE_SECONDS / (0.9 * BASE)))
    assert chooser.trial[0] == 2 * _threads.PROBE_SECONDS and chooser.best == 2
    chooser.record(2, _threads.PROBE_SECONDS, round(_threads.PROBE_SECONDS / (1.2 * BASE)))
    assert chooser.best == 1 and chooser.losses == 1
