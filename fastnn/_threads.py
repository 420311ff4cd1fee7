"""How many threads the jit engine uses: a bounded OpenMP spin and a choice made at run time.

Two facts decide the speed of a multi-threaded epoch:

* **Fork/join cost.**  Every mini-batch starts a parallel region (unless the
  call runs as a team, :mod:`fastnn.kernels.team`, which meets at a barrier
  instead), and at the book's sizes the serial work between two regions is a
  few microseconds, less than a region costs when OpenMP's threads sleep at
  once (its passive wait).
  :func:`set_default_spin` sets ``GOMP_SPINCOUNT`` to a bounded spin that
  outlasts that serial work (:data:`SPIN_COUNT` iterations, well under a
  millisecond, a third of libgomp's own default) unless the user chose
  ``OMP_WAIT_POLICY`` or ``GOMP_SPINCOUNT``; libgomp reads it when Numba first
  loads it.
* **Busy cores.**  When another process keeps a core busy, a 2-thread region
  waits for the descheduled thread and one thread is faster.  No fixed count
  is right on every machine, so :class:`ThreadChooser` measures: it times
  short probe runs with 1, half and all threads, keeps the fastest, and probes
  again every few seconds.  The kernels give bit-identical results for any
  thread count, so switching (even in the middle of an epoch, between
  mini-batches) never changes a result.

The timings behind the spin count are in docs/performance.md ("Measurements
behind the code").
"""
import os

SPIN_COUNT = "100000"
"""``GOMP_SPINCOUNT`` set by default: spin 10^5 iterations, then sleep."""

WARM_SAMPLES = 64
"""Samples of the first run of a kind of work, on one thread and not timed: it includes
compilation or loading numba's cache, and cold caches."""

BASE_SAMPLES = 256
"""Samples of the first timed one-thread run, before any speed is known."""

SHORTEST_TIMED = 1e-4
"""Runs shorter than this (seconds) judge nothing: the call's own overhead and the
timer's noise dominate them (they still size the next run)."""

FIRST_SEGMENT = 2.5e-4
"""Seconds (at the speed expected) of the first run of a trial of more threads.  A
descheduled thread makes every parallel region wait a scheduler time slice
(~1-3 ms), so a trial starts with a run far shorter than that: one such wait
shows at once, and costs about one slice."""

PAID_SECONDS = 1e-3
"""The shortest run of more threads whose speed is weighed against one thread's.  A call
has a cost of its own that a long run pays once (the first and the last step of the
pipelined mini-batches, waking the threads): measured on AMD Zen 5 in float32 at mini-batch
100, runs of one mini-batch on 2 threads took 1.65-2.15 us per sample, a whole epoch 1.0,
one thread 1.44.  A shorter run only shows a busy core (:data:`CLEARLY_SLOWER`)."""

SHORT_JUDGED = 4e-3
"""Seconds of a trial's runs shorter than :data:`PAID_SECONDS` after which, if none was
paid, they are weighed after all (tiny epochs or chunks: the work itself is that short)."""

STAKE = 0.1
"""A trial's runs double in length while they are fast, up to this fraction of the
work done so far (but at least :data:`PAID_SECONDS`, and at most
:data:`PROBE_SECONDS`): what a sudden slowdown can cost stays a small part of the
whole."""

PROBE_SECONDS = 0.02
"""The longest run of more than one thread: it is timed, and checked against one
thread, at least this often."""

CLEARLY_SLOWER = 2.0
"""A run of more threads slower than this many times one thread's speed ends the
trial at once (a busy core makes two threads 3-20x slower; a short run's own cost,
up to 1.5x: :data:`PAID_SECONDS`)."""

RETRY_SECONDS = 0.1
"""Seconds of work on fewer threads before a count that lost is tried again; doubled
after each loss in a row, up to :data:`RECHECK_SECONDS` (a busy core stays busy,
a short disturbance does not)."""

SKIP_SECONDS = 1e-3
"""Seconds of work on one thread before the machine is looked at again, after a trial was
skipped because other threads were running (:func:`others_running`); doubled after each
skip in a row, up to :data:`RECHECK_SECONDS`.  A glance costs ~30 us."""

RECHECK_SECONDS = 3.0
"""The longest wait before a count is tried again, and how often one thread's speed is
measured again while more threads run."""


def set_default_spin(environ=os.environ):
    """Give libgomp a bounded spin unless the user chose a wait policy or a spin count.

    Returns True if ``GOMP_SPINCOUNT`` was set.
    """
    if "OMP_WAIT_POLICY" in environ or "GOMP_SPINCOUNT" in environ:
        return False
    environ["GOMP_SPINCOUNT"] = SPIN_COUNT
    return True


def candidate_counts(most):
    """Thread counts worth comparing on a machine allowing ``most`` threads: 1, half and all."""
    return sorted({1, max(1, most // 2), most})


def others_running(path="/proc/loadavg"):
    """Runnable threads of the whole machine other than the caller, or None where unknown.

    Linux's ``/proc/loadavg`` gives the number of runnable threads at this
    instant (its fourth field, ``running/total``), the caller included.
    """
    try:
        with open(path) as f:
            running = f.read().split()[3].split("/")[0]
        return max(0, int(running) - 1)
    except (OSError, IndexError, ValueError):
        return None


def cpu_total():
    """The machine's CPUs (the count ``/proc/loadavg``'s runnable threads share)."""
    return os.cpu_count() or 1


class ThreadChooser:
    """Picks the thread count of each run of a kernel from measured speed.

    One chooser serves one kind of work (one network shape, mini-batch size and
    dtype), whose cost per sample is roughly constant.  Call :meth:`plan` for
    the next run, then :meth:`record` its time.

    One thread is the safe count: it never waits for another thread, so it
    runs first (the untimed first run, then a timed one that gives
    :attr:`base`, one thread's seconds per sample).  Then more threads are
    tried in short runs (a trial): the very first run of a count is not timed
    either (OpenMP starts its threads then: measured on AMD Zen 5, that run
    was twice as slow per sample as one thread, and the trial was lost for a
    whole 50,000-sample epoch); the first timed run lasts :data:`FIRST_SEGMENT`,
    each next one twice as long while the count keeps beating one thread.  A
    run that is :data:`CLEARLY_SLOWER`, or a trial slower on the whole than
    one thread, ends the trial at once.  "On the whole" weighs only the runs
    planned (or found) long enough to pay for their call (:data:`PAID_SECONDS`):
    the trial's first, short runs (and the ends of the epoch's first, short
    chunks) would judge the call's own cost, not the speed.  The trial is
    judged on the whole once its weighed runs last half of :data:`PAID_SECONDS`
    (a run planned that long may fall short by a mini-batch) or, if the work
    only comes in shorter runs (tiny epochs), once those last
    :data:`SHORT_JUDGED`.  A loss means back to one thread, and that count is
    tried again after :data:`RETRY_SECONDS` of work (doubled after each loss in
    a row).  A trial is not even started while other threads keep the CPUs
    it needs busy (:func:`others_running`, where the system tells): the machine is
    looked at again after :data:`SKIP_SECONDS` of work, then less and less often.
    While more threads run, one thread's speed is measured again
    every :data:`RECHECK_SECONDS`.  With three counts or more (1, half, all),
    the largest count due for a trial is tried first.

    Parameters
    ----------
    most : int
        The largest thread count allowed.
    """

    def __init__(self, most):
        self.counts = candidate_counts(most)
        self.warm = False  # the first run (compilation or cache loading, cold caches) is not timed
        self.base = None  # one thread's seconds per sample (the last run long enough to time)
        self.speed = {}  # count -> seconds per sample of its current trial (counts > 1)
        self.started = set()  # counts > 1 whose first run (thread start-up, not timed) is done
        self.current = 1  # the count running now
        self.trial = [0.0, 0]  # seconds and samples of the paid runs on ``current`` since it was chosen
        self.short = [0.0, 0]  # the same of its shorter runs, while it has no paid one
        self.held = 0.0  # seconds of all the timed runs on ``current`` since it was chosen
        self.segment = FIRST_SEGMENT  # seconds of the next run on ``current`` (counts > 1)
        self.work = 0.0  # seconds of timed work so far
        self.due = {c: 0.0 for c in self.counts[1:]}  # count -> ``work`` from which it may be tried
        self.wait = {c: RETRY_SECONDS for c in self.counts[1:]}  # count -> its next wait after a loss
        self.skip_wait = {c: SKIP_SECONDS for c in self.counts[1:]}  # count -> its next wait after a skip
        self.base_due = RECHECK_SECONDS  # ``work`` from which one thread is measured again
        self.planned = None  # (threads, samples, weighed) of the last plan of more threads
        self.losses = 0  # trials ended because more threads were slower (for tests and reports)
        self.skipped = 0  # trials not started because other threads were running

    @staticmethod
    def _units(samples, remaining, unit):
        """About ``samples`` samples in whole ``unit``s (at least one), or all of ``remaining``
        if fewer."""
        return min(remaining, max(unit, int(samples) // unit * unit))

    def plan(self, remaining, unit):
        """Return ``(threads, samples)`` for the next run of at most ``remaining`` samples.

        ``samples`` is a multiple of ``unit`` (the mini-batch size) unless it is
        all of ``remaining``.
        """
        if not self.warm:
            return 1, self._units(WARM_SAMPLES, remaining, unit)
        base = self.base
        if base is None:  # one thread's speed first
            return 1, self._units(BASE_SAMPLES, remaining, unit)
        if self.current == 1:
            due = [c for c in self.counts[1:] if self.work >= self.due[c]]
            others = others_running() if due else None
            if others is not None:  # too few idle CPUs: a trial would wait for a busy core
                for c in [c for c in due if others + c > cpu_total()]:
                    due.remove(c)
                    self._lost(c, tried=False)
                for c in due:
                    self.skip_wait[c] = SKIP_SECONDS
            if due:  # a trial of more threads starts
                self.current, self.trial, self.segment = max(due), [0.0, 0], FIRST_SEGMENT
                self.short, self.held = [0.0, 0], 0.0
            else:  # one thread until the next trial is due
                soonest = min(self.due.values(), default=self.work + RECHECK_SECONDS)
                return 1, self._units(max(soonest - self.work, SHORTEST_TIMED) / base, remaining, unit)
        elif self.work >= self.base_due:  # measure one thread again, briefly
            self.base_due = self.work + RECHECK_SECONDS
            return 1, self._units(PROBE_SECONDS / 4 / base, remaining, unit)
        count = self.current
        samples = self._units(self.segment / self.speed.get(count, base), remaining, unit)
        # paid: planned at least PAID_SECONDS long (it may fall short by a mini-batch), and not
        # cut by the samples left (the end of a chunk)
        self.planned = (count, samples, self.segment >= PAID_SECONDS and samples < remaining)
        return count, samples

    def record(self, threads, seconds, samples):
        """Record that ``samples`` samples took ``seconds`` on ``threads`` threads."""
        if samples <= 0:
            return
        if not self.warm:
            self.warm = True
            return
        self.work += seconds
        per_sample = max(seconds / samples, 1e-12)  # never 0: plans divide by speeds
        if threads == 1:
            if seconds >= SHORTEST_TIMED or self.base is None:
                self.base = per_sample
            return
        if threads != self.current or self.base is None:
            return  # (another Python thread's run, planned before a switch)
        if threads not in self.started:  # the count's first run starts its threads: not timed
            self.started.add(threads)
            return
        self.held += seconds
        paid = seconds >= PAID_SECONDS or self.planned == (threads, samples, True)
        self._weigh(seconds, samples, paid)
        trial = max(self.trial[0] / self.trial[1], 1e-12) if self.trial[1] else per_sample
        if seconds >= SHORTEST_TIMED and per_sample > CLEARLY_SLOWER * self.base or (
                self.trial[0] >= 0.5 * PAID_SECONDS and trial > self.base) or (
                self.short[0] >= SHORT_JUDGED and self.short[0] > self.base * self.short[1]):
            self._lost(threads)
            return
        self.speed[threads] = trial
        if self.held >= RETRY_SECONDS:
            self.wait[threads] = RETRY_SECONDS  # it has held for a while: a later loss is news
        self.segment = min(2 * self.segment, max(PAID_SECONDS, STAKE * self.work), PROBE_SECONDS)

    def _weigh(self, seconds, samples, paid):
        """Add a run of the trial to its paid runs, or (while it has none) to its short ones."""
        if paid:
            if self.trial[0] >= 2 * PROBE_SECONDS:  # the recent runs weigh most: halve the old
                self.trial = [0.5 * self.trial[0], 0.5 * self.trial[1]]
            self.trial[0] += seconds
            self.trial[1] += samples
        elif not self.trial[1]:
            self.short[0] += seconds
            self.short[1] += samples

    def _lost(self, threads, tried=True):
        """End the trial of ``threads`` (or skip it, ``tried`` False: too few idle CPUs):
        back to one thread; try it again after a wait."""
        waits = self.wait if tried else self.skip_wait
        if tried:
            self.losses += 1
        else:
            self.skipped += 1
        self.current = 1
        self.speed.pop(threads, None)
        self.due[threads] = self.work + waits[threads]
        waits[threads] = min(2 * waits[threads], RECHECK_SECONDS)

    @property
    def best(self):
        """The count running now (one thread until a trial of more threads holds)."""
        return self.current


_CHOOSERS = {}


def chooser_for(key, most):
    """The shared :class:`ThreadChooser` of one kind of work (``key``) and thread limit.

    No lock, here or in the chooser: a Ctrl-C between taking and releasing one
    would leave it taken and hang the next ``fit``.  ``dict.setdefault`` is
    atomic, and two threads sharing a chooser can at worst mix their timings.
    """
    chooser = _CHOOSERS.get((key, most))
    if chooser is None:
        chooser = _CHOOSERS.setdefault((key, most), ThreadChooser(most))
    return chooser
