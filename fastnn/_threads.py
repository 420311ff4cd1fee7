"""How many threads the jit engine uses: a bounded OpenMP spin and a choice made at run time.

Two facts decide the speed of a multi-threaded epoch:

* **Fork/join cost.**  Every mini-batch starts a parallel region, and at the
  book's sizes the serial work between two regions is a few microseconds, less
  than a region costs when OpenMP's threads sleep at once (its passive wait).
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

PROBE_SECONDS = 0.02
"""Target length of one probe run (long enough to time, short enough to waste little)."""

SHORTEST_TIMED = PROBE_SECONDS / 8
"""Runs shorter than this (seconds) are not timed: waking the threads and the
first fork/join dominate them.  (A caller's chunks can cut a probe short.)"""

PROBE_SAMPLES = 256
"""Samples of the first probe, before any speed is known."""

RECHECK_SECONDS = 3.0
"""Work done with the chosen count before every count is probed again."""

FIRST_RECHECK_SECONDS = 0.375
"""While the counts are close, the first rounds come sooner (0.375, 0.75, 1.5 s,
then every 3 s), so that a choice made from unlucky probes does not last a whole
short ``fit``."""

MEASURED_RUNS = 3
"""Probe runs of each count per round; their median is the count's speed.  On a
shared VM a short run can be many times slower than usual (the other vCPU is
descheduled for a while): the median of three ignores one such run."""

CLEARLY_SLOWER = 2.0
"""A count whose two fastest probes are both this many times slower than another
count's fastest needs no third probe (a busy core makes more threads ~10x slower)."""

HOPELESS = 4.0
"""A count whose first probe is this many times slower than another count's
fastest needs no second one; a rare unlucky probe costs one round."""


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


def _median(values):
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else 0.5 * (ordered[middle - 1] + ordered[middle])


def _fastest(speed):
    """The count with the smallest seconds per sample in ``speed`` (the fewer threads on a
    tie), or None when it is empty."""
    return min(speed, key=lambda c: (speed[c], c)) if speed else None


class ThreadChooser:
    """Picks the thread count of each run of a kernel from measured speed.

    One chooser serves one kind of work (one network shape, mini-batch size and
    dtype), whose cost per sample is roughly constant.  Call :meth:`plan` for
    the next run, then :meth:`record` its time.  Work goes in rounds: short
    probe runs of every count, interleaved (the first of each short), until each has
    :data:`MEASURED_RUNS` runs or is clearly slower than another; then the
    count with the smallest median runs everything until
    :meth:`recheck_after` seconds of work have passed, and a new round starts.

    Parameters
    ----------
    most : int
        The largest thread count allowed.
    """

    def __init__(self, most):
        self.counts = candidate_counts(most)
        self.times = {c: [] for c in self.counts}  # count -> seconds per sample of this round's runs
        self.scale = None  # the fastest seconds per sample seen: sizes the probes
        self.since_probe = 0.0  # seconds of work with the best count since the probes ended
        self.rounds = 0  # probe rounds finished
        self.warm = False  # the first run (compilation or cache loading, cold caches) is not timed

    @property
    def speed(self):
        """count -> median seconds per sample of this round's runs (counts with runs only)."""
        return {c: _median(t) for c, t in self.times.items() if t}

    @property
    def runs(self):
        """count -> number of runs timed in this round."""
        return {c: len(t) for c, t in self.times.items()}

    @property
    def best(self):
        """The count with the smallest median seconds per sample (None before any run)."""
        return _fastest(self.speed)

    def _settled(self, count):
        """True when ``count`` needs no more probes this round."""
        times = self.times[count]
        if len(times) >= MEASURED_RUNS:
            return True
        others = [min(t) for c, t in self.times.items() if t and c != count]
        if not times or not others:
            return False
        return min(times) > (CLEARLY_SLOWER if len(times) >= 2 else HOPELESS) * min(others)

    def _clear_choice(self):
        """True when every other count was clearly slower than the best this round."""
        fastest = [min(t) for t in self.times.values() if t]
        if len(fastest) < len(self.counts):
            return False
        best = min(fastest)
        return sum(f > CLEARLY_SLOWER * best for f in fastest) == len(fastest) - 1

    def recheck_after(self):
        """Seconds of work on the chosen count before the next round of probes: soon
        while the counts are close (probing costs little, and noise may have
        decided), every :data:`RECHECK_SECONDS` once the others are clearly slower
        (each probe of a clearly slower count costs that much more)."""
        if self.rounds == 0:
            # the first round may be misled by transients: another library's threads still
            # spinning (OpenBLAS's keep two cores busy for ~0.1-0.4 s after a NumPy matmul),
            # cold caches, first page touches
            return FIRST_RECHECK_SECONDS
        if self._clear_choice():
            return RECHECK_SECONDS
        return min(RECHECK_SECONDS, FIRST_RECHECK_SECONDS * 2 ** self.rounds)

    def _to_probe(self):
        """The count to probe next (fewest runs first), or None when the round's probes are done."""
        if self.since_probe >= self.recheck_after():
            self.times = {c: [] for c in self.counts}
            self.since_probe = 0.0
            self.rounds += 1
        todo = [c for c in self.counts if not self._settled(c)]
        return min(todo, key=lambda c: (len(self.times[c]), c)) if todo else None

    def plan(self, remaining, unit):
        """Return ``(threads, samples)`` for the next run of at most ``remaining`` samples.

        ``samples`` is a multiple of ``unit`` (the mini-batch size) unless it is
        all of ``remaining``.  Probe runs are short (~``PROBE_SECONDS``);
        otherwise the best count runs until the next round of probes is due.
        """
        count = self._to_probe()
        speed = self.speed  # a snapshot: another Python thread may start a new round meanwhile
        if count is None and speed:  # the best count, until the next round is due
            best = _fastest(speed)
            samples = int((self.recheck_after() - self.since_probe) / speed[best])
            return best, min(remaining, max(unit, samples // unit * unit + unit))
        count = self.counts[0] if count is None else count
        own, scale = self.times.get(count, []), self.scale
        if scale is None:
            samples = PROBE_SAMPLES
        else:
            # short probes (a quarter of PROBE_SECONDS at the fastest speed seen), since this
            # count may be ~10x slower (a busy core); once its speed is known, PROBE_SECONDS
            samples = int(PROBE_SECONDS / 4 / scale)
            if own:
                samples = max(samples, int(PROBE_SECONDS / min(own)))
        samples = max(unit, samples // unit * unit)
        return count, min(samples, remaining)

    def record(self, threads, seconds, samples):
        """Record that ``samples`` samples took ``seconds`` on ``threads`` threads."""
        if samples <= 0 or threads not in self.times:
            return
        per_sample = seconds / samples
        if not self.warm:
            self.warm = True
            return
        self.scale = per_sample if self.scale is None else min(self.scale, per_sample)
        if self._to_probe() is None and threads == self.best:
            self.since_probe += seconds  # work on the chosen count: toward the next round
        elif seconds >= SHORTEST_TIMED:  # (shorter: only sizes the next probe)
            self.times[threads].append(per_sample)


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
