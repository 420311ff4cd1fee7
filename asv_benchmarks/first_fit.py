"""The first ``fit`` of a fresh process: the default thread choice against fixed counts.

Run from the repository root::

    python asv_benchmarks/first_fit.py                       # 7 runs of each case
    python asv_benchmarks/first_fit.py --runs 11 --busy-cpu 1 --nice -5

Each run is a new interpreter timing one ``fit`` of [784, 30, 10] on 5,000
samples (see ``benchmarks/bench_first_fit.py``); the three thread settings
("default" = ``threads=None``, 1, and all of numba's threads) run interleaved,
in a random order each round and a pause apart, so a change in the machine's
load touches all three alike.  "busy" cases run
while a Python busy loop keeps one core busy (``--busy-cpu`` pins it to that
CPU).  ``--nice`` runs the timed interpreters, and the busy loop, at that
niceness (negative values need the privilege), which shields both from other
processes of lower priority on a shared machine.

Printed: a Markdown table of the median (range) seconds per case, the
default's median against the best fixed count's, and the machine's 1-minute
load average at the end of the case (other processes than these count in it).
"""
import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "benchmarks"))

from bench_first_fit import N_SAMPLES, THREADS, busy_core, first_fit  # noqa: E402


def measure(mini_batch_size, runs, nice, pause, rng):
    """``{setting: [seconds, ...]}`` of ``runs`` rounds, each running every setting once in a
    random order, ``pause`` seconds apart (a slow two-thread run on a busy machine leaves the
    other processes behind, and they catch up right after it: no setting always follows it)."""
    times = {name: [] for name in THREADS}
    for _ in range(runs):
        for name in rng.permutation(list(THREADS)):
            time.sleep(pause)
            times[name].append(first_fit(THREADS[name], mini_batch_size, N_SAMPLES, nice))
    return times


def cell(values):
    return f"{statistics.median(values):.4f} ({min(values):.4f}-{max(values):.4f})"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--runs", type=int, default=7, help="runs of each case")
    parser.add_argument("--mini-batch-sizes", default="10,1", help="comma-separated mini-batch sizes")
    parser.add_argument("--loads", default="idle,busy", help="'idle', 'busy' or both, comma-separated")
    parser.add_argument("--busy-cpu", type=int, default=None, help="pin the busy loop to this CPU")
    parser.add_argument("--nice", type=int, default=0, help="niceness added to the timed interpreters")
    parser.add_argument("--pause", type=float, default=0.5, help="seconds between two runs")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random order of the settings")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    names = list(THREADS)
    print(f"| case | {' | '.join(f'threads={THREADS[n]}' for n in names)} | default vs best fixed "
          "| load average after |")
    print("|---|" + "---|" * len(names) + "---:|---:|")
    for load in args.loads.split(","):
        for mb in [int(m) for m in args.mini_batch_sizes.split(",")]:
            if load == "busy":
                with busy_core(args.busy_cpu, args.nice):
                    times = measure(mb, args.runs, args.nice, args.pause, rng)
            else:
                times = measure(mb, args.runs, args.nice, args.pause, rng)
            medians = {n: statistics.median(t) for n, t in times.items()}
            best = min(medians[n] for n in names if n != "default")
            ratio = medians["default"] / best - 1
            print(f"| mb {mb}, {load} | {' | '.join(cell(times[n]) for n in names)} | {ratio:+.0%} | "
                  f"{os.getloadavg()[0]:.1f} |", flush=True)


if __name__ == "__main__":
    main()
