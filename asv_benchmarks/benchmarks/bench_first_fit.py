"""asv: the first ``fit`` of a fresh process, default thread choice against fixed counts.

A user judges the thread choice by the first ``fit`` they run, in a new
process, before the chooser has measured anything.  Each measurement here
starts a new interpreter which loads the compiled kernels from numba's cache
(a 8-sample fit of another network, so loading the cache is not timed), then
times one ``Network([784, 30, 10]).fit`` of one epoch on 5,000 synthetic
MNIST-shaped samples (eta 3, history on) and prints its seconds.

"busy" runs it while another process spins on one core (a Python busy loop
started before the interpreter and stopped after it).  The benchmarks are
``track_`` ones returning the child's own timing: asv's ``timeraw_`` would
time the whole interpreter, whose ~1 s of imports and cache loading hides a
20 ms ``fit``.  ``asv_benchmarks/first_fit.py`` runs the same children
interleaved, many times, and prints the table of medians.

Thread counts are named as in bench_network.py: "default" is ``threads=None``,
"one" is 1 and "all" is ``NUMBA_NUM_THREADS``.
"""
import contextlib
import os
import subprocess
import sys

import numba

N_SAMPLES = 5_000
THREADS = {"default": None, "one": 1, "all": numba.config.NUMBA_NUM_THREADS}

CHILD = """
import sys, time
from fastnn import Network
from fastnn.bench import synthetic_data, warm_up
threads = None if sys.argv[1] == "None" else int(sys.argv[1])
mini_batch_size, samples = int(sys.argv[2]), int(sys.argv[3])
X, y = synthetic_data(samples)
warm_up("float64")  # load the kernels from numba's cache: not part of the fit's time
net = Network([784, 30, 10], seed=0, threads=threads)
start = time.perf_counter()
net.fit(X, y, epochs=1, mini_batch_size=mini_batch_size, eta=3.0)
print(time.perf_counter() - start)
"""

BUSY = "while True: pass"


@contextlib.contextmanager
def busy_core(cpu=None, nice=0):
    """Keep one core busy inside the block: a Python busy loop in another process
    (pinned to ``cpu`` if given, on Linux; at niceness ``nice``), stopped on leaving."""
    def prepare():
        if cpu is not None:
            os.sched_setaffinity(0, {cpu})
        if nice:
            os.nice(nice)

    proc = subprocess.Popen([sys.executable, "-c", BUSY],
                            preexec_fn=prepare if cpu is not None or nice else None)
    try:
        yield proc
    finally:
        proc.terminate()
        proc.wait()


def first_fit(threads, mini_batch_size, samples=N_SAMPLES, nice=0):
    """Seconds of the first ``fit`` in a fresh process (see the module docstring).

    ``nice`` is added to the child's niceness (negative values need the privilege).
    """
    def renice():
        os.nice(nice)

    out = subprocess.run([sys.executable, "-c", CHILD, str(threads), str(mini_batch_size), str(samples)],
                         capture_output=True, text=True, check=True, timeout=600,
                         preexec_fn=renice if nice else None)
    return float(out.stdout.split()[-1])


class FirstFit:
    """Seconds of the first ``fit`` of a fresh process: 5,000 samples, one epoch, [784, 30, 10]."""

    params = ([1, 10], ["idle", "busy"], list(THREADS))
    param_names = ["mini_batch_size", "load", "threads"]
    timeout = 600

    def track_first_fit(self, mini_batch_size, load, threads):
        if load == "busy":
            with busy_core():
                return first_fit(THREADS[threads], mini_batch_size)
        return first_fit(THREADS[threads], mini_batch_size)

    track_first_fit.unit = "seconds"
