"""asv keys its results by benchmark name and parameter values: they must be stable and the
same on every machine, so results from different CPUs and commits line up in one report.

``asv_benchmarks/benchmark_names.txt`` lists them; renaming a benchmark or changing its
parameters (which orphans its history) means updating that file on purpose.
"""
import importlib.util
import inspect
import itertools
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCH_DIR = ROOT / "asv_benchmarks" / "benchmarks"
PREFIXES = ("time_", "timeraw_", "peakmem_", "mem_", "track_")


def _load(path):
    spec = importlib.util.spec_from_file_location(f"asv_suite_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def benchmark_names():
    """Sorted ``module.Class.method(param=value, ...)`` of every benchmark and parameter set."""
    names = []
    for path in sorted(BENCH_DIR.glob("bench_*.py")):
        module = _load(path)
        for cls_name, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ != module.__name__:
                continue
            params = getattr(cls, "params", ())
            param_names = getattr(cls, "param_names", [])
            if params and not isinstance(params[0], (list, tuple)):
                params = (params,)
            combos = list(itertools.product(*params)) if params else [()]
            for method in sorted(m for m in vars(cls) if m.startswith(PREFIXES)):
                for combo in combos:
                    args = ", ".join(f"{n}={v!r}" for n, v in zip(param_names, combo))
                    names.append(f"{path.stem}.{cls_name}.{method}({args})")
    return sorted(names)


def test_benchmark_names_are_the_committed_list():
    committed = (ROOT / "asv_benchmarks" / "benchmark_names.txt").read_text().split("\n")
    assert benchmark_names() == [line for line in committed if line]


def test_names_do_not_depend_on_the_machine(monkeypatch):
    before = benchmark_names()
    monkeypatch.setattr("os.cpu_count", lambda: 64)
    import numba

    monkeypatch.setattr(numba.config, "NUMBA_NUM_THREADS", 64)
    assert benchmark_names() == before


@pytest.mark.parametrize("name", ["bench_network.Epoch.time_epoch(sizes='784-30-10', mini_batch_size=10, "
                                  "dtype='float64', engine='jit')"])
def test_a_known_benchmark_is_listed(name):
    assert name in benchmark_names()
