"""How many threads the jit engine uses: a bounded OpenMP spin and a choice made at run time.

Two facts decide the speed of a multi-threaded epoch (docs/performance.md):

* **Fork/join cost.**  A mini-batch of 10 samples on ``[784, 30, 10]`` takes
  tens of microseconds, and every mini-batch starts a parallel region.  With
  OpenMP's passive wait (threads sleep at once) a region costs ~25-45 us; with
  a spin that outlasts the serial work between regions, ~2 us.
  :func:`set_default_spin` sets ``GOMP_SPINCOUNT`` to a bounded spin (100,000
  iterations, well under a millisecond, a third of libgomp's own default)
  unless the user chose ``OMP_WAIT_POLICY`` or ``GOMP_SPINCOUNT``; libgomp
  reads it when Numba first loads it.  (10,000 ran out within the ~5 us of
  serial work between two mini-batches' regions, and waking a sleeping thread
  cost 2 us more per region.)
* **Busy cores.**  When another process keeps a core busy, a 2-thread region
  waits for the descheduled thread and one thread is faster.  No fixed count
  is right on every machine, so :class:`ThreadChooser` measures: it times
  short probe runs with 1 and with all threads, keeps the faster, and probes
  again every few seconds.  The kernels give bit-identical results for any
  thread count, so switching (even in the middle of an epoch, between
  mini-batches) never changes a result.
"""
import os
import threading

SPIN_COUNT = "100000"
"""``GOMP_SPINCOUNT`` set by default: spin 10^5 iterations, then sleep."""

PROBE_SECONDS = 0.02
"""Target length of one probe run (long enough to time, short enough to waste little)."""

PROBE_SAMPLES = 256
"""Samples of the first probe, before any speed is known."""

RECHECK_SECONDS = 3.0
"""Work done with the chosen count before the other counts are probed again."""

MEASURED_RUNS = 2
"""Probe runs of each count before the choice is trusted."""


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


class ThreadChooser:
    """Picks the thread count of each run of a kernel from measured speed.

    One chooser serves one kind of work (one network shape, mini-batch size and
    dtype), whose cost per sample is roughly constant.  Call :meth:`plan` for
    the next run, then :meth:`record` its time.

    Parameters
    ----------
    most : int
        The largest thread count allowed.
    """

    def __init__(self, most):
        self.counts = candidate_counts(most)
        self.speed = {}  # count -> seconds per sample, the mean of its last two runs
        self.last = {}  # count -> seconds per sample of its last run
        self.runs = {c: 0 for c in self.counts}  # runs since the count was last (re)probed
        self.since_probe = 0.0  # seconds of work with the best count since the last probe round
        self.warm = False  # the first run (compilation or cache loading, cold caches) is not timed
        self.lock = threading.Lock()

    @property
    def best(self):
        """The count with the smallest measured seconds per sample (None before any run)."""
        if not self.speed:
            return None
        return min(self.speed, key=lambda c: (self.speed[c], c))

    def _to_probe(self):
        """The count to probe next (fewest runs first), or None when every count has 2 runs."""
        if self.since_probe >= RECHECK_SECONDS:
            best = self.best
            for c in self.counts:
                if c != best:
                    self.runs[c] = 0
            self.since_probe = 0.0
        todo = [c for c in self.counts if self.runs[c] < MEASURED_RUNS]
        return min(todo, key=lambda c: self.runs[c]) if todo else None

    def plan(self, remaining, unit):
        """Return ``(threads, samples)`` for the next run of at most ``remaining`` samples.

        ``samples`` is a multiple of ``unit`` (the mini-batch size) unless it is
        all of ``remaining``.  Probe runs are short (~``PROBE_SECONDS``);
        otherwise the whole rest runs with the best count.
        """
        with self.lock:
            count = self._to_probe()
            if count is None:
                return self.best, remaining
            per_sample = min(self.speed.values()) if self.speed else None
        samples = int(PROBE_SECONDS / per_sample) if per_sample else PROBE_SAMPLES
        samples = max(unit, samples // unit * unit)
        return count, min(samples, remaining)

    def record(self, threads, seconds, samples):
        """Record that ``samples`` samples took ``seconds`` on ``threads`` threads."""
        if samples <= 0 or threads not in self.runs:
            return
        per_sample = seconds / samples
        with self.lock:
            if not self.warm:
                self.warm = True
                return
            previous = self.last.get(threads)
            self.last[threads] = per_sample
            self.speed[threads] = per_sample if previous is None else 0.5 * (previous + per_sample)
            self.runs[threads] += 1
            if threads == self.best and not any(r < MEASURED_RUNS for r in self.runs.values()):
                self.since_probe += seconds


_CHOOSERS = {}
_CHOOSERS_LOCK = threading.Lock()


def chooser_for(key, most):
    """The shared :class:`ThreadChooser` of one kind of work (``key``) and thread limit."""
    with _CHOOSERS_LOCK:
        chooser = _CHOOSERS.get((key, most))
        if chooser is None:
            chooser = _CHOOSERS[(key, most)] = ThreadChooser(most)
        return chooser
