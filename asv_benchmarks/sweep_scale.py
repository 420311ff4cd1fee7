"""Scale of fastnn.sweep: 1,000 short configurations, client peak RSS and configurations per second.

Run from the repository root (keep the ``__main__`` guard: Dask spawns processes)::

    python asv_benchmarks/sweep_scale.py --where serial
    python asv_benchmarks/sweep_scale.py --where local            # LocalCluster, 2 worker processes
    python asv_benchmarks/sweep_scale.py --where dask-cli         # `dask scheduler` + `dask worker`

Each configuration is a 2-fold cross-validation of an ``MLPClassifier((10,))``
for 1 epoch on 450 digits (a few tens of milliseconds serially), so the
figures measure the sweep's own overhead: task round trips, the results file
(one fsync'ed row per configuration) and the client's memory.

* ``serial``: ``client=False``.
* ``local``: a ``LocalCluster(n_workers, threads_per_worker=1)`` started
  before the timer (its start-up is printed separately).  Its scheduler runs
  inside this process, so the RSS includes the scheduler.
* ``dask-cli``: a scheduler and workers started as separate processes with
  the ``dask scheduler`` / ``dask worker`` commands (as on a real cluster);
  the RSS is the client's alone.

Printed: wall seconds of the ``sweep`` call, configurations per second, the
summed ``seconds`` of the tasks, the CPU time of this process, the peak RSS of this process before and after the sweep (``ru_maxrss``), and the
growth.  Run with ``--configs 250`` too: a bounded client grows about the
same for 250 and 1,000 configurations.
"""
import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np


def peak_rss_mib():
    """Peak resident set size of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds():
    """User + system CPU time of this process so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def grid(n):
    """``n`` configurations: ``eta`` from 0.5 to 5.0 (distinct values), one hidden layer of 10."""
    return {"eta": np.linspace(0.5, 5.0, n).tolist(), "hidden_layer_sizes": [(10,)]}


def dask_command():
    """The ``dask`` command of this environment."""
    beside = os.path.join(os.path.dirname(sys.executable), "dask")
    return beside if os.path.exists(beside) else shutil.which("dask")


def start_dask_cli_cluster(folder, n_workers):
    """``dask scheduler`` and ``dask worker`` subprocesses; returns (processes, scheduler file)."""
    scheduler_file = os.path.join(folder, "scheduler.json")
    dask = dask_command()
    scheduler = subprocess.Popen([dask, "scheduler", "--scheduler-file", scheduler_file,
                                  "--port", "0", "--no-dashboard"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while not os.path.exists(scheduler_file):
        time.sleep(0.1)
    workers = subprocess.Popen([dask, "worker", "--scheduler-file", scheduler_file,
                                "--nworkers", str(n_workers), "--nthreads", "1", "--no-dashboard"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return [workers, scheduler], scheduler_file


def stop(processes):
    for proc in processes:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--where", choices=["serial", "local", "dask-cli"], default="local")
    parser.add_argument("--configs", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-results", action="store_true", help="no results file")
    args = parser.parse_args(argv)

    import distributed

    from fastnn.datasets import load_digits
    from fastnn.sweep import sweep

    X, y = load_digits()
    X, y = X[:450], y[:450]
    processes, client = [], False
    with tempfile.TemporaryDirectory() as folder:
        try:
            start = time.perf_counter()
            if args.where == "local":
                cluster = distributed.LocalCluster(n_workers=args.workers, threads_per_worker=1,
                                                   processes=True, dashboard_address=None)
                client = distributed.Client(cluster)
            elif args.where == "dask-cli":
                processes, scheduler_file = start_dask_cli_cluster(folder, args.workers)
                client = distributed.Client(scheduler_file=scheduler_file)
                client.wait_for_workers(args.workers, timeout=600)
            started = time.perf_counter() - start
            sweep({"eta": [1.0], "hidden_layer_sizes": [(10,)]}, X, y, epochs=1, cv=2, client=client,
                  progress=False)  # warm-up: kernels loaded here and on every worker
            before = peak_rss_mib()
            results = None if args.no_results else os.path.join(folder, "sweep.csv")
            start, cpu = time.perf_counter(), cpu_seconds()
            table = sweep(grid(args.configs), X, y, epochs=1, cv=2, client=client, results=results,
                          progress=False)
            wall, cpu = time.perf_counter() - start, cpu_seconds() - cpu
            after = peak_rss_mib()
            assert len(table) == args.configs and table["error"].isna().all()
            busy = float(table["seconds"].sum())
        finally:
            if client is not False:
                client.close()
            if args.where == "local":
                cluster.close()
            stop(processes)
    where = {"serial": "serial", "local": f"LocalCluster, {args.workers} workers",
             "dask-cli": f"dask scheduler + dask worker, {args.workers} workers"}[args.where]
    print(f"{args.configs} configurations, {where}, results file: {'no' if args.no_results else 'yes'}")
    if args.where != "serial":
        print(f"  cluster start-up {started:.1f} s (not included below)")
    print(f"  sweep {wall:.1f} s, {args.configs / wall:.1f} configurations/s; the tasks themselves "
          f"took {busy:.1f} s in all ({busy / args.configs * 1000:.0f} ms each)")
    print(f"  client CPU time {cpu:.1f} s ({cpu / args.configs * 1000:.1f} ms per configuration)")
    print(f"  client peak RSS {before:.0f} MiB before the sweep, {after:.0f} MiB after "
          f"(+{after - before:.0f} MiB)")


if __name__ == "__main__":
    main()
