"""The "compiling kernels" line of the command line (fastnn/_numba_cache.py).

A fresh ``NUMBA_CACHE_DIR`` in a subprocess is a cold cache: the line is
printed.  The cache this test session uses is warm once the kernels ran here
(``warm_up``), and a subprocess pointed at it prints nothing.
"""
import argparse
import os
import subprocess
import sys

import pytest

from fastnn import _numba_cache, cli
from fastnn.bench import warm_up

_ANNOUNCE = ("import sys; from fastnn import _numba_cache; "
             "sys.exit(0 if _numba_cache.announce_if_cold(sys.argv[1:]) else 3)")


def _announce_in_subprocess(dtypes, **env):
    run = subprocess.run([sys.executable, "-c", _ANNOUNCE, *dtypes], env=dict(os.environ, **env),
                         capture_output=True, text=True, timeout=300)
    return run.returncode, run.stdout, run.stderr


def test_entry_points_are_cached_numba_kernels():
    kernels = _numba_cache.entry_kernels()
    assert len(kernels) == len(_numba_cache.ENTRY_POINTS) >= 1
    if os.environ.get("NUMBA_DISABLE_JIT") != "1":
        assert all(getattr(k, "_cache", None) is not None and hasattr(k, "py_func") for k in kernels)


def test_cold_cache_prints_the_line_once(tmp_path):
    code, out, err = _announce_in_subprocess(["float64", "float32"], NUMBA_CACHE_DIR=str(tmp_path))
    assert code == 0 and out == ""
    assert err == _numba_cache.COMPILE_NOTE + "\n"


def test_warm_cache_prints_nothing():
    warm_up("float64")  # compiles or loads the kernels: the session's cache now holds them
    assert _numba_cache.cold_kernels(["float64"]) == []
    code, out, err = _announce_in_subprocess(["float64"])
    assert (code, out, err) == (3, "", "")


def test_no_line_without_numba_compilation(tmp_path):
    code, _, err = _announce_in_subprocess(["float64"], NUMBA_CACHE_DIR=str(tmp_path), NUMBA_DISABLE_JIT="1")
    assert (code, err) == (3, "")


def test_a_stale_index_counts_as_cold(tmp_path):
    # an index written for other bytecode (an older fastnn) is one numba would not load
    kernel = _numba_cache.entry_kernels()[0]
    if not hasattr(kernel, "py_func"):
        pytest.skip("NUMBA_DISABLE_JIT")
    warm_up("float64")
    cache = kernel._cache
    usable = _numba_cache._usable_cached_signatures(kernel)
    assert any(_numba_cache._has_dtype(sig, "float64") for sig in usable)
    real_key = cache._index_key
    try:
        cache._index_key = lambda sig, codegen: ("other bytecode",) + real_key(sig, codegen)[1:]
        assert _numba_cache._usable_cached_signatures(kernel) == []
    finally:
        cache._index_key = real_key


def test_an_entry_cached_for_the_other_register_block_counts_as_cold(tmp_path):
    """The dense kernel is compiled once per register block (tiled.row_block): a cache that
    holds only the other block's specialisation would still compile."""
    from fastnn.kernels import tiled

    code = ("import sys, numpy as np\n"
            "from fastnn import _params, _numba_cache\n"
            "from fastnn.kernels import tiled\n"
            "other = 6 - tiled.block_rows_for_cpu()\n"
            "sizes, w_off, b_off, n = _params.layout([3, 2])\n"
            "theta = np.zeros(n)\n"
            "tiled.feedforward_batch(theta, w_off, b_off, sizes, np.ones((1, 3)), np.empty((1, 2)), "
            "block_rows=other)\n"
            "print(_numba_cache.cold_kernels(['float64']) == [('tiled:_run', 'float64')])\n"
            "sig = tiled._run.signatures[0]\n"
            "print(_numba_cache._has_dtype(sig, 'float64'), _numba_cache.is_cold(tiled._run, 'float64'))\n")
    if os.environ.get("NUMBA_DISABLE_JIT") == "1":
        pytest.skip("NUMBA_DISABLE_JIT")
    assert tiled.block_rows_for_cpu() in (2, 4)
    run = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path)),
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["True", "True", "False"]


@pytest.mark.parametrize("argv, dtypes", [
    (["train"], ["float64"]),
    (["train", "--engine", "reference"], []),
    (["predict", "model.npz"], ["float64"]),
    (["compare", "--dtype", "float32"], ["float32"]),
    (["bench"], ["float64", "float32"]),
    (["bench", "--dtype", "float32"], ["float32"]),
    (["demo", "gates"], []),
])
def test_command_dtypes(argv, dtypes):
    assert _numba_cache.command_dtypes(cli.build_parser().parse_args(argv)) == dtypes


@pytest.mark.parametrize("argv, panels", [
    (["train"], False),  # the book's mini-batch of 10
    (["train", "--mini-batch-size", "31"], False),
    (["train", "--mini-batch-size", "32"], True),
    (["predict", "model.npz"], False),
    (["compare"], True),  # its warm-up compiles both paths
    (["bench"], True),
])
def test_command_panels(argv, panels):
    assert _numba_cache.command_panels(cli.build_parser().parse_args(argv)) is panels


def test_the_panel_specialisation_is_checked_on_its_own(tmp_path):
    """Training at mini-batch 10 leaves the dense kernel's panel specialisation (mini-batches of
    32 and more, kernels/panels.py) uncompiled: cold for panels=True only, until it is used."""
    if os.environ.get("NUMBA_DISABLE_JIT") == "1":
        pytest.skip("NUMBA_DISABLE_JIT")
    code = ("import numpy as np\n"
            "from fastnn import Network, _numba_cache\n"
            "X = np.random.default_rng(0).random((40, 5))\n"
            "y = np.arange(40) % 3\n"
            "Network([5, 4, 3], seed=0).fit(X, y, epochs=1, mini_batch_size=10)\n"
            "print(_numba_cache.cold_kernels(['float64']), _numba_cache.cold_kernels(['float64'], panels=True))\n"
            "Network([5, 4, 3], seed=0).fit(X, y, epochs=1, mini_batch_size=32)\n"
            "print(_numba_cache.cold_kernels(['float64'], panels=True))\n")
    run = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path)),
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == ["[] [('tiled:_run', 'float64')]", "[]"]


def test_main_announces_before_running(monkeypatch):
    calls = []
    monkeypatch.setattr(_numba_cache, "announce_if_cold",
                        lambda dtypes, entry_points, panels: calls.append((list(dtypes), panels)))
    assert cli.main(["demo", "gates"]) == 0
    monkeypatch.setattr(cli, "build_parser", lambda: _parser_that_fails_in_its_command())
    assert cli.main(["x"]) == 2
    assert calls == [([], False), (["float32"], True)]


def _parser_that_fails_in_its_command():
    parser = argparse.ArgumentParser()
    parser.add_argument("x")

    def fail(args):
        raise ValueError("the command runs after the announcement")

    parser.set_defaults(func=fail, command="compare", dtype="float32")
    return parser


@pytest.mark.slow
def test_first_cli_run_prints_the_line_and_the_second_does_not(tmp_path):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    command = [sys.executable, "-m", "fastnn", "train", "--epochs", "1", "--sizes", "64,10,10", "--no-progress"]
    first = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
    second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
    assert first.returncode == second.returncode == 0
    assert first.stderr.splitlines().count(_numba_cache.COMPILE_NOTE) == 1
    assert _numba_cache.COMPILE_NOTE not in second.stderr
    assert "Epoch 0:" in first.stdout and "Epoch 0:" in second.stdout
