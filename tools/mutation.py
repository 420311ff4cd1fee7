"""Mutation testing of one or more fastnn source files with cosmic-ray.

Usage (from the repository root, after ``pip install -e ".[test,dev]"``)::

    python tools/mutation.py kernels/mlp.py                # the file's default fast tests
    python tools/mutation.py kernels/tiled.py --tests tests/kernels/test_kernel_tiled.py
    python tools/mutation.py fastnn/_guards.py --report    # summary of a finished session
    python tools/mutation.py fastnn/sweeps.py --sample 50% --seed 27   # a uniform random half
    python tools/mutation.py --quick --sample 8 --changed-since origin/main   # CI's quick job

Each file gets a session under ``.mutation/<name>/`` (cosmic-ray's config and SQLite
database; ``exec`` is resumable: run the command again to continue).  Every mutant runs its
tests in a fresh process: for a mutated kernel with an empty ``NUMBA_CACHE_DIR`` (numba's cache
would otherwise serve the unmutated compiled code), for any other file with a cache shared by
the session (the kernels are unchanged).  ``--mode nojit`` runs the tests with
``NUMBA_DISABLE_JIT=1`` (no compilation: seconds per mutant; the kernels are valid Python and
the arithmetic is the same), ``--mode jit`` compiles.

The summary counts killed, equivalent (listed with the reason in
``tools/mutation_equivalents.json``, matched by the original and the mutated line) and
surviving mutants, and prints each survivor's diff: write a test that kills it, or, if no
user could ever observe it, add it to the equivalents with the reason.
"""
import argparse
import json
import math
import os
import random
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SESSIONS = ROOT / ".mutation"
EQUIVALENTS = ROOT / "tools" / "mutation_equivalents.json"

# every test file of the colorizer (pytest runs a file named twice once, at its first place)
COLORIZE_TESTS = [f"tests/colorize/test_{name}.py" for name in (
    "colorize_mutants", "refine", "texture", "colorize_networks", "protocol", "colour", "colorize_tolerances",
    "rebalance", "colorize")]

# the quickest of test_conv_kernels.py's 28x28-image tests (the rest take minutes without the compiler)
CONV_QUICK_TESTS = [f"tests/test_conv_kernels.py::{name}" for name in (
    "test_pool_tie_gives_the_whole_gradient_to_the_first_maximum",
    "test_permute_filters_is_the_channel_last_order_with_the_flip_undone",
    "test_input_gradient_of_a_second_conv_layer_of_odd_shape",
    "test_odd_shapes_and_pools_match_reference", "test_dense_only_network_matches_reference",
    "test_zero_patches_tie_exactly_and_agree_with_reference")]

# file -> (fast tests that exercise it, and pytest options; mode)
TARGETS = {
    # compiled: the one_like/zero_like and exp_nonpositive overloads exist only there; the
    # sigmoid's and exp's tests first, then the tiled kernel (which uses the overloads) in float64
    # and float32
    "kernels/activations.py": (["tests/kernels/test_kernel_activations.py",
                                "tests/kernels/test_kernel_tiled.py::test_one_step_matches_mlp",
                                "tests/kernels/test_kernel_tiled.py::test_float32_matches_mlp_in_float32",
                                "-k", "sigmoid or exp_nonpositive or (one_step and 5x7x3) or (float32 and 5x7x3)"],
                               "jit"),
    "kernels/mlp.py": (["tests/kernels/test_kernel_mlp.py"], "nojit"),
    "kernels/linear.py": (["tests/kernels/test_kernel_linear.py"], "nojit"),
    "kernels/perceptron.py": (["tests/kernels/test_kernel_perceptron.py", "tests/test_perceptron.py"], "nojit"),
    # nojit and a subset of shapes, the quickest broad tests first (pytest -x stops at the
    # first failure; about 18 s per surviving mutant).  tests/test_threads.py and the float32
    # typing need the compiler: run them on a survivor by hand.
    "kernels/tiled.py": ([f"tests/kernels/test_kernel_tiled.py::{name}" for name in (
        "test_one_step_matches_mlp", "test_epoch_matches_mlp", "test_feedforward_batch_matches_mlp",
        "test_chunks_of_whole_mini_batches_equal_one_call",
        "test_weighted_epoch_and_running_metrics_match_a_direct_computation",
        "test_float32_matches_mlp_in_float32", "test_weights_of_one_are_bit_identical_to_no_weights",
        "test_a_mini_batch_of_zero_weights_only_decays", "test_running_metrics_are_added_to_the_given_sums",
        "test_cross_entropy_term_is_network2s_nan_to_num", "test_running_accuracy_breaks_ties_like_argmax",
        "test_running_accuracy_takes_the_first_of_tied_outputs",
        "test_feedforward_batch_counts_the_non_finite_weighted_inputs_of_the_first_layer",
        "test_every_split_between_threads_gives_the_same_bits", "test_block_rows_for_cpu_follows_avx512",
        "test_block_rows_follow_numba_cpu_features", "test_other_block_rows_are_refused",
        "test_both_blocks_agree_on_a_wide_layer",
        "test_the_options_are_keyword_only_and_every_argument_can_be_named",
        "test_no_floating_point_error_in_a_sane_epoch_and_forward_pass")]
        + ["tests/kernels/test_kernel_team.py::test_copy_rows_gives_each_member_every_others_rows_of_one_set"]
        + ["-k", "5x7x3 or 8x12x4 or 13x1x11 or split or zero_weights or weights_of_one or added "
                 "or cross_entropy_term or counts_the or ties or tied or block_rows or both_blocks or keyword_only "
                 "or floating_point_error or copy_rows"], "nojit"),
    # the CPU's features: their own tests, then the register blocks' and panels' choices, nojit
    "kernels/cpu.py": (["tests/kernels/test_kernel_cpu.py",
                        "tests/kernels/test_kernel_tiled.py::test_block_rows_for_cpu_follows_avx512",
                        "tests/kernels/test_kernel_tiled.py::test_block_rows_follow_numba_cpu_features",
                        "tests/kernels/test_kernel_panels.py::test_panel_widths_follow_the_cpu"], "nojit"),
    # its code runs only while numba compiles the tiles: the fresh-process test of the compiled
    # tiles (the attribute on the tiles only, packed and, on AVX-512, 512-bit multiply-adds;
    # about 35 s a mutant), with the JIT
    "kernels/_wide_vectors.py": (["tests/kernels/test_kernel_panels.py::test_the_tiles_compile_once_as_vector_code"],
                                 "jit"),
    # nojit: the pointed small-shape tests first (about 8 s), then CONV_QUICK_TESTS
    "kernels/conv.py": (["tests/test_conv_kernels_mutants.py", "tests/test_conv_kernels_edges.py",
                         *CONV_QUICK_TESTS], "nojit"),
    # chapter 6's kernel parts (activations, buffer sizes, gathering, dot products, direct
    # convolution): their own edge tests, then the pointed conv tests (only kernels/conv.py
    # calls them), nojit
    "kernels/conv_parts.py": (["tests/test_conv_parts.py", "tests/test_conv_kernels_mutants.py",
                               "tests/test_conv_kernels_edges.py", *CONV_QUICK_TESTS], "nojit"),
    # chapter 5's layer speeds: the kernel on small networks first (milliseconds), then the
    # digits tests of Network.layer_speeds without the two that train while recording and the
    # deepest network (about 22 s in all), nojit
    "kernels/speeds.py": (["tests/test_presets_speeds_mutants.py", "tests/test_layer_speeds.py",
                           "-k", "not recording and not measures_before and not sizes3"], "nojit"),
    # Network.layer_speeds and fit's recorder: the pointed tests first, then the digits tests
    "fastnn/_speeds.py": (["tests/test_presets_speeds_mutants.py", "tests/test_layer_speeds.py"], "jit"),
    # chapter 6's presets and data: the pointed tests first, then the command's (about 6 s with
    # the session's warm cache)
    "fastnn/_conv_presets.py": (["tests/test_presets_speeds_mutants.py", "tests/test_cli_network3.py",
                                 "-m", "not slow"], "jit"),
    "fastnn/_guards.py": (["tests/test_guards.py", "tests/test_divergence.py", "-k", "not ctrl_c"], "jit"),
    "fastnn/_validation.py": (["tests/test_validation.py", "tests/test_bad_input.py", "tests/test_layouts.py",
                               "tests/test_sample_weight.py::test_invalid_sample_weight_raises"], "jit"),
    # the scikit-learn estimators and the modules behind them (training rows, early stopping)
    "fastnn/_training_rows.py": (["tests/test_training_rows_mutants.py", "tests/test_chunked.py",
                                  "tests/test_running_metrics.py", "tests/test_sample_weight_features.py",
                                  "-m", "not slow"], "jit"),
    # the experiments' networks, lines, numbers and figures first, then their runs and command
    "fastnn/experiments.py": (["tests/test_experiments_mutants.py", "tests/test_experiments.py"], "jit"),
    # export: its own rules first, then the network, estimator and command tests (not the slow
    # chapter-6 ones: one export of a chapter-6 file instead)
    "fastnn/onnx.py": (["tests/test_onnx_mutants.py", "tests/test_onnx.py", "tests/test_onnx_sklearn.py",
                        "tests/test_cli_export.py", "tests/test_onnx_network3.py::test_cli_export_of_a_network3_file",
                        "-m", "not slow"], "jit"),
    **dict.fromkeys(["fastnn/sklearn.py", "fastnn/_sklearn_monitor.py"], (
        ["tests/test_sklearn_parity.py", "tests/test_sklearn_mutants.py", "tests/test_sample_weight_features.py",
         "tests/test_round_trips.py", "tests/test_sklearn_params.py",
         "tests/test_sample_weight.py", "tests/test_running_metrics.py", "tests/test_sklearn.py",
         "-m", "not slow"], "jit")),
    # the results file: its own tests (the serial sweeps of test_sweep_results.py write and resume it)
    "fastnn/_sweep_file.py": (["tests/test_sweep_mutants.py", "tests/test_sweep_reader.py",
                               "tests/test_sweep_results.py", "-m", "not slow"], "jit"),
    "fastnn/sweeps.py": (["tests/test_sweep_mutants.py", "tests/test_sweep_reader.py", "tests/test_sweep_results.py",
                          "tests/test_sweep.py", "-m", "not slow"], "jit"),
    # the chooser's rules one at a time first (about a second), then the threaded runs
    "fastnn/_threads.py": (["tests/test_threads_mutants.py", "tests/test_threads.py", "tests/test_concurrency.py",
                            "-m", "not slow"], "jit"),
    "fastnn/_onnx_sklearn.py": (["tests/test_onnx_mutants.py", "tests/test_onnx_sklearn.py", "-m", "not slow"], "jit"),
    # the graph shared by both exports: its rules first, then the sigmoid network's export (whose
    # tests compare every output), the estimators', the chapter-6 networks' (sigmoid, opsets) and the command
    "fastnn/_onnx_graph.py": (["tests/test_onnx_mutants.py", "tests/test_onnx.py", "tests/test_onnx_sklearn.py",
                               "tests/test_onnx_network3.py", "tests/test_cli_export.py", "-m", "not slow"], "jit"),
    # the chapter-6 graph: its rules first, then its export compared with predict_proba, layer kind by kind
    "fastnn/_onnx_network3.py": (["tests/test_onnx_mutants.py", "tests/test_onnx_network3.py", "-m", "not slow"],
                                 "jit"),
    # chapter 6's training-data expansion and the ensemble's vote (plain NumPy): the rules written
    # against their mutants first, then each module's own tests (about 3 s a surviving mutant)
    "fastnn/expand.py": (["tests/test_expand_ensemble_mutants.py", "tests/test_book_data.py", "-m", "not slow"],
                         "jit"),
    "fastnn/ensemble.py": (["tests/test_expand_ensemble_mutants.py", "tests/test_ensemble.py", "-m", "not slow"],
                           "jit"),
    # the colorizer's package: its rules one at a time first (about a second), then the module's own
    # test file, then the rest of tests/colorize without the slow demo (about 7 s with a warm cache)
    **{f"fastnn/colorize/{module}.py": (["tests/colorize/test_colorize_mutants.py", *own, *COLORIZE_TESTS,
                                         "-m", "not slow"], "jit")
       for module, own in (("refine", ["tests/colorize/test_refine.py"]),
                           ("features", ["tests/colorize/test_texture.py", "tests/colorize/test_colorize_networks.py"]),
                           ("bins", ["tests/colorize/test_refine.py", "tests/colorize/test_rebalance.py"]),
                           ("params", ["tests/colorize/test_refine.py", "tests/colorize/test_texture.py",
                                       "tests/colorize/test_colorize_networks.py"]),
                           ("baselines", []), ("fileformat", ["tests/colorize/test_colorize_networks.py"]),
                           ("images", []), ("photos", []), ("evaluation", []),
                           ("estimator", ["tests/colorize/test_colorize_networks.py",
                                          "tests/test_colorize_steps.py"]), ("__init__", []),
                           ("protocol", ["tests/colorize/test_protocol.py"]))},
}

# The quick job (--quick, for CI): every test file runs with `-m "not slow"`, a mutant gets at
# most QUICK_TIMEOUT seconds and the mutants of all files QUICK_BUDGET (what is left then stays
# pending).  It skips the unmutated baseline run: CI ran the whole suite just before.
# When the change touched no file under fastnn/ or kernels/ (a documentation change, say), it
# mutates one of QUICK_FALLBACK, chosen by the seed: each has quick, pointed tests.
QUICK_TIMEOUT = 120.0
QUICK_BUDGET = 300.0
QUICK_FALLBACK = ["fastnn/_validation.py", "fastnn/_guards.py", "fastnn/_sklearn_monitor.py",
                  "kernels/mlp.py", "kernels/perceptron.py", "kernels/linear.py"]
MUTATED_FOLDERS = ("fastnn/", "kernels/")

# cosmic-ray's console scripts and the functions behind them: an environment whose scripts are
# not on disk (a package installed without its entry points) runs the functions directly
CONSOLE_SCRIPTS = {"cosmic-ray": ("cosmic_ray.cli", "main"),
                   "cr-filter-operators": ("cosmic_ray.tools.filters.operators_filter", "main")}

# Binary-operator replacements by bitwise, shift, power, modulo and floor-division operators:
# on float operands they raise TypeError at the first call (killed by any test that runs the
# line).  Excluded by default to keep a run in minutes; --all-operators includes them.
# RemoveDecorator drops @njit/@overload: the kernels are valid Python with the same results
# (tests/test_nojit.py), so removing @njit is equivalent by design.
DEFAULT_EXCLUDED = [
    r"core/ReplaceBinaryOperator_\w+_(BitOr|BitAnd|BitXor|LShift|RShift|Pow|Mod|FloorDiv)$",
    r"core/RemoveDecorator$",
]


def _session(path):
    return SESSIONS / path.replace("/", "-").removesuffix(".py")


def _python():
    """This interpreter, relative to the checkout when it is the checkout's own virtual
    environment (a session copied to another checkout then runs that checkout's install)."""
    exe = Path(sys.executable)
    return os.path.relpath(exe, ROOT) if exe.parent.parent.parent == ROOT else str(exe)


def write_config(path, tests, mode, timeout, excluded):
    """cosmic-ray's TOML config for ``path``; returns (config file, database file, test command)."""
    session = _session(path)
    session.mkdir(parents=True, exist_ok=True)
    cache = "fresh" if path.startswith("kernels/") else "numba-cache"
    command = [_python(), "tools/mutation.py", "--run-tests", "--target", path, "--mode", mode,
               "--cache", cache, "--tests", *tests]
    lines = [
        "[cosmic-ray]",
        f'module-path = "{path}"',
        f"timeout = {timeout}",
        "excluded-modules = []",
        f"test-command = {json.dumps(shlex.join(command))}",
        "",
        "[cosmic-ray.distributor]",
        'name = "local"',
        "",
        "[cosmic-ray.filters.operators-filter]",
        f"exclude-operators = {json.dumps(excluded)}",
        "",
    ]
    config = session / "config.toml"
    config.write_text("\n".join(lines))
    return config, session / "session.sqlite", command


def _drop_bytecode(target):
    """Delete ``target``'s cached bytecode: a mutant of the same size written within the same
    second as the last one would otherwise be served from a stale ``.pyc``."""
    path = ROOT / target
    for pyc in (path.parent / "__pycache__").glob(f"{path.stem}.*.pyc"):
        pyc.unlink(missing_ok=True)


def run_tests(tests, mode, cache, target=None):
    """The test command of every mutant: pytest on ``tests``, stopping at the first failure.

    cosmic-ray sets PYTHONDONTWRITEBYTECODE so that no stale bytecode of the mutated file is
    run; that makes every run recompile numba's and NumPy's bytecode too (seconds).  Instead,
    only the mutated file's bytecode is deleted, before and after the run.
    """
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    # pytest's installed plugins (hypothesis, cov, dask's, ...) are not needed here; loading
    # them doubled the CPU time of a mutant's run
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    if target:
        _drop_bytecode(target)
    if mode == "nojit":
        env["NUMBA_DISABLE_JIT"] = "1"
    fresh = cache == "fresh"
    if fresh:
        env["NUMBA_CACHE_DIR"] = tempfile.mkdtemp(prefix="fastnn-mutant-")
    else:  # one cache per session and checkout: the kernels are not mutated
        env["NUMBA_CACHE_DIR"] = str(_session(target) / cache)
        Path(env["NUMBA_CACHE_DIR"]).mkdir(parents=True, exist_ok=True)
    try:
        cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
               "-W", "ignore", *tests]
        return subprocess.run(cmd, cwd=ROOT, env=env).returncode
    finally:
        if target:
            _drop_bytecode(target)
        if fresh:
            shutil.rmtree(env["NUMBA_CACHE_DIR"], ignore_errors=True)


def _changed_lines(diff):
    """(original line, mutated line) of a one-line mutant's unified diff, stripped."""
    removed = [l[1:].strip() for l in diff.splitlines() if l.startswith("-") and not l.startswith("---")]
    added = [l[1:].strip() for l in diff.splitlines() if l.startswith("+") and not l.startswith("+++")]
    return " / ".join(removed), " / ".join(added)


def _entries():
    """The entries of the equivalents file (equivalent, or killed by a run in the other mode)."""
    return json.loads(EQUIVALENTS.read_text()) if EQUIVALENTS.exists() else []


def summary(path):
    """Counts of killed / equivalent / surviving mutants of ``path`` and each survivor's diff."""
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import TestOutcome, WorkerOutcome

    entries = _entries()
    known = {(e["file"], e["original"], e["mutant"]): e["why"] for e in entries if "why" in e}
    by_hand = {(e["file"], e["original"], e["mutant"]): e["killed"] for e in entries if "killed" in e}
    counts = {"killed": 0, "equivalent": 0, "survived": 0, "skipped": 0, "incompetent": 0}
    survivors, equivalents, killed_by_hand = [], [], []
    if not (_session(path) / "session.sqlite").exists():
        print(f"{path}: no session yet (run: python tools/mutation.py {path})")
        return counts
    with use_db(str(_session(path) / "session.sqlite"), WorkDB.Mode.open) as db:
        pending = db.num_work_items - db.num_results
        for item, result in db.completed_work_items:
            if result.worker_outcome in (WorkerOutcome.SKIPPED, WorkerOutcome.NO_TEST):
                counts["skipped"] += 1
            elif result.test_outcome == TestOutcome.KILLED:
                counts["killed"] += 1
            elif result.test_outcome == TestOutcome.INCOMPETENT:
                counts["incompetent"] += 1
            else:
                mutation = item.mutations[0]
                original, mutant = _changed_lines(result.diff)
                how = by_hand.get((path, original, mutant))
                why = known.get((path, original, mutant))
                entry = (mutation.start_pos[0], mutation.operator_name, original, mutant, how or why)
                if how:  # survived this session's mode, killed by the run the entry names
                    killed_by_hand.append(entry)
                    counts["killed"] += 1
                else:
                    (equivalents if why else survivors).append(entry)
                    counts["equivalent" if why else "survived"] += 1
    print(f"{path}: " + ", ".join(f"{v} {k}" for k, v in counts.items()) + f", {pending} pending")
    drawn = _session(path) / "sample.json"
    if drawn.exists():
        drawn = json.loads(drawn.read_text())
        print(f"  a uniform random sample of {drawn['kept']} of the {drawn['of']} mutants not skipped "
              f"(--sample {drawn['sample']} --seed {drawn['seed']})")
    for line, op, original, mutant, how in sorted(killed_by_hand):
        print(f"  killed by   line {line} {op}: {original!r} -> {mutant!r}: {how}")
    for line, op, original, mutant, why in sorted(equivalents):
        print(f"  equivalent  line {line} {op}: {original!r} -> {mutant!r}: {why}")
    for line, op, original, mutant, _ in sorted(survivors):
        print(f"  SURVIVED    line {line} {op}: {original!r} -> {mutant!r}")
    return counts


def cr_command(name, *args):
    """The command line of cosmic-ray's console script ``name``: the script beside this
    interpreter, or, when it is absent, this interpreter calling the script's function."""
    script = Path(sys.executable).parent / name
    if script.exists():
        return [str(script), *args]
    module, function = CONSOLE_SCRIPTS[name]
    code = f"import sys; from {module} import {function}; sys.argv[0] = {name!r}; sys.exit({function}())"
    return [sys.executable, "-c", code, *args]


def _cr(*args):
    subprocess.run(cr_command(*args), cwd=ROOT, check=True)


def sample_size(sample, total):
    """How many of ``total`` mutants a ``--sample`` of ``N`` (a count) or ``N%`` keeps."""
    if sample.endswith("%"):
        fraction = float(sample[:-1]) / 100
        if not 0 < fraction <= 1:
            raise ValueError(f"--sample {sample}: a percentage must be in (0%, 100%]")
        return min(total, math.ceil(total * fraction))
    if int(sample) < 1:
        raise ValueError(f"--sample {sample}: at least one mutant")
    return min(total, int(sample))


def _pending_jobs(connection):
    """Job ids of the mutants without a result, in the order of their place in the file (line,
    column, operator, occurrence): the same list for the same source, whatever ids init drew."""
    return [job for (job,) in connection.execute(
        "SELECT job_id FROM mutation_specs WHERE job_id NOT IN (SELECT job_id FROM work_results) "
        "ORDER BY start_pos_row, start_pos_col, operator_name, occurrence")]


def keep_a_sample(db, sample, seed):
    """Drop all but a uniform random sample (``random.Random(seed)``) of the pending mutants of
    a new session; returns (kept, pending before)."""
    import sqlite3

    with sqlite3.connect(db) as connection:
        connection.execute("PRAGMA foreign_keys = OFF")
        pending = _pending_jobs(connection)
        kept = set(random.Random(seed).sample(pending, sample_size(sample, len(pending))))
        dropped = [(job,) for job in pending if job not in kept]
        for table in ("mutation_specs", "work_items"):
            connection.executemany(f"DELETE FROM {table} WHERE job_id = ?", dropped)
    return len(kept), len(pending)


def changed_files(ref, root=ROOT):
    """The Python files under fastnn/ and kernels/ that differ from git ref ``ref`` (committed
    or not) and still exist, or None when git cannot compare with ``ref`` (no such commit, say
    the parent in a clone of depth one)."""
    result = subprocess.run(["git", "diff", "--name-only", ref, "--", *MUTATED_FOLDERS], cwd=root,
                            capture_output=True, text=True)
    if result.returncode != 0:
        return None
    names = sorted(set(result.stdout.split()))
    return [n for n in names if n.endswith(".py") and (Path(root) / n).is_file()
            and Path(n).name != "__init__.py"]


def default_tests(path):
    """(tests, mode) for ``path``: its entry in TARGETS, else the test files named after it
    (``tests/**/test_<name>*.py``, ``test_kernel_<name>*.py`` for a kernel), else (None, "jit")."""
    if path in TARGETS:
        return TARGETS[path]
    name = Path(path).stem.lstrip("_")
    pattern = f"test_kernel_{name}*.py" if path.startswith("kernels/") else f"test_{name}*.py"
    found = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests").rglob(pattern))
    return (found or None), "jit"


def quick_tests(tests):
    """``tests`` without the slow ones: ``-m "not slow"`` unless they choose markers already."""
    return list(tests) if "-m" in tests else [*tests, "-m", "not slow"]


def _listed():
    """(file, original, mutant) of every entry of the equivalents file."""
    return {(e["file"], e["original"], e["mutant"]) for e in _entries()}


def unlisted_survivors(path, db):
    """Job ids of the surviving mutants of ``path`` not listed in the equivalents file."""
    import sqlite3

    listed = _listed()
    with sqlite3.connect(db) as connection:
        rows = connection.execute(
            "SELECT job_id, diff FROM work_results WHERE test_outcome = 'SURVIVED'").fetchall()
    return [job for job, diff in rows if (path, *_changed_lines(diff)) not in listed]


def run_survivors_again(path, config, db):
    """Run the unlisted survivors again (against new tests), and only them, even while other
    mutants are pending: in a copy of the session that holds just those, whose results then
    replace theirs in the session."""
    import sqlite3

    jobs = unlisted_survivors(path, db)
    print(f"{len(jobs)} surviving mutants to run again", flush=True)
    if not jobs:
        return
    copy = db.with_name("retry.sqlite")
    shutil.copy(db, copy)
    marks = ",".join("?" * len(jobs))
    with sqlite3.connect(copy) as c:
        c.execute("PRAGMA foreign_keys = OFF")
        c.execute(f"DELETE FROM work_results WHERE job_id IN ({marks})", jobs)
        for table in ("mutation_specs", "work_items"):  # everything else: done, or not asked for
            c.execute(f"DELETE FROM {table} WHERE job_id NOT IN ({marks})", jobs)
        c.execute("DELETE FROM work_results")
    _cr("cosmic-ray", "exec", str(config), str(copy))
    with sqlite3.connect(db) as c:
        c.execute("ATTACH DATABASE ? AS retry", (str(copy),))
        c.execute(f"DELETE FROM work_results WHERE job_id IN ({marks})", jobs)
        c.execute("INSERT INTO work_results SELECT * FROM retry.work_results")
    copy.unlink()


def check_imports_this_checkout():
    """Exit unless ``fastnn`` and ``fastnn.kernels`` import from this checkout: an editable
    install of another checkout would run the tests on unmutated code (every mutant survives)."""
    code = "import fastnn, fastnn.kernels; print(fastnn.__file__); print(fastnn.kernels.__file__)"
    found = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                           check=True).stdout.split()
    strays = [f for f in found if not Path(f).resolve().is_relative_to(ROOT)]
    if strays:
        sys.exit(f"the tests would import {strays} from outside {ROOT}: run `pip install -e .` "
                 f"in this checkout (or use its own virtual environment)")


def execute(config, db, target, budget=None):
    """``cosmic-ray exec``; stopped after ``budget`` seconds (the mutants left stay pending), and
    the file restored if the stop caught a mutant on disk."""
    source = ROOT / target
    original = source.read_bytes()
    process = subprocess.Popen(cr_command("cosmic-ray", "exec", str(config), str(db)), cwd=ROOT,
                               start_new_session=True)
    try:
        process.wait(timeout=budget)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGTERM)  # cosmic-ray and its mutant's test run
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        print(f"{target}: stopped at the time budget ({budget:.0f} s); the rest stays pending", flush=True)
    finally:
        if source.read_bytes() != original:
            source.write_bytes(original)
            _drop_bytecode(target)
    if process.returncode > 0:
        sys.exit(f"cosmic-ray exec failed ({process.returncode})")


def mutate(path, tests, mode, timeout, excluded, fresh, retry_survivors=False, sample=None, seed=None,
           budget=None, baseline=True):
    """Mutation-test ``path``; a new session keeps a ``sample`` (N or N%) of the mutants drawn
    with ``seed``; ``budget`` limits the seconds of the mutants' runs; ``baseline`` runs the
    tests once unmutated first (they must pass).  Returns the summary's counts."""
    check_imports_this_checkout()
    config, db, command = write_config(path, tests, mode, timeout, excluded)
    if retry_survivors and db.exists() and not fresh:
        run_survivors_again(path, config, db)
        return summary(path)
    if fresh or not db.exists():
        if db.exists():
            db.unlink()
        _cr("cosmic-ray", "init", str(config), str(db))
        _cr("cr-filter-operators", str(db), str(config))
        (db.parent / "sample.json").unlink(missing_ok=True)
        if sample:
            kept, of = keep_a_sample(db, sample, seed)
            (db.parent / "sample.json").write_text(json.dumps({"sample": sample, "seed": seed,
                                                                "kept": kept, "of": of}))
    if baseline:
        start = time.perf_counter()
        if subprocess.run(command, cwd=ROOT).returncode != 0:  # the mutants' own test command
            sys.exit(f"the tests fail without any mutation ({tests}): fix them first")
        print(f"baseline: {time.perf_counter() - start:.1f} s", flush=True)
    execute(config, db, path, budget)
    return summary(path)


def files_to_mutate(args, parser):
    """The files named on the command line, plus those --changed-since finds; the quick job
    falls back to one of QUICK_FALLBACK (chosen by the seed) when that leaves none."""
    files = list(args.files)
    if args.changed_since:
        changed = changed_files(args.changed_since)
        if changed is None:
            print(f"git cannot compare with {args.changed_since!r}: no changed files", flush=True)
        else:
            print(f"changed since {args.changed_since}: {', '.join(changed) or 'no file under fastnn/ or kernels/'}")
        files += [f for f in changed or [] if f not in files]
    if not files and args.quick:
        files = [random.Random(args.seed).choice(QUICK_FALLBACK)]
        print(f"nothing changed to mutate: {files[0]} instead (chosen by the seed)")
    elif args.quick:  # in an order drawn by the seed: the budget does not always spare the same ones
        random.Random(args.seed).shuffle(files)
    if not files:
        parser.error("no files to mutate")
    return files


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", help="source files, relative to the repository root")
    parser.add_argument("--tests", nargs=argparse.REMAINDER,
                        help="test files and pytest options, last on the line (default: the file's own)")
    parser.add_argument("--mode", choices=["jit", "nojit"], help="compile, or NUMBA_DISABLE_JIT=1")
    parser.add_argument("--timeout", type=float,
                        help=f"seconds per mutant (a mutant that runs longer counts as killed); default 120, "
                             f"--quick {QUICK_TIMEOUT:.0f}")
    parser.add_argument("--all-operators", action="store_true",
                        help="also the bitwise/shift/pow/mod/floordiv replacements and RemoveDecorator")
    parser.add_argument("--fresh", action="store_true", help="start the session again")
    parser.add_argument("--report", action="store_true", help="only print the summary")
    parser.add_argument("--retry-survivors", action="store_true",
                        help="run the surviving mutants not listed as equivalent again (after a new test)")
    parser.add_argument("--sample", metavar="N|N%",
                        help="a new session runs a uniform random sample of N mutants (or N%%) per file")
    parser.add_argument("--seed", type=int, help="the sample's seed (default: a random one, printed)")
    parser.add_argument("--changed-since", metavar="REF",
                        help="also mutate the .py files under fastnn/ and kernels/ that differ from git REF")
    parser.add_argument("--budget", type=float, metavar="SECONDS",
                        help=f"stop after this many seconds in all (default: none; --quick {QUICK_BUDGET:.0f})")
    parser.add_argument("--quick", action="store_true",
                        help="CI's quick job: fresh sessions, the tests without the slow ones, a time budget, "
                             "and one fallback file when nothing changed")
    parser.add_argument("--run-tests", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--cache", help=argparse.SUPPRESS)
    parser.add_argument("--target", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.run_tests:
        return run_tests(args.tests, args.mode, args.cache, args.target)
    if args.sample:
        try:
            sample_size(args.sample, 1)
        except ValueError as error:
            parser.error(str(error))
    if args.seed is None:
        args.seed = secrets.randbelow(10**6)
    if args.sample or args.quick:
        print(f"seed {args.seed} (repeat this sample with --seed {args.seed})", flush=True)
    timeout = args.timeout or (QUICK_TIMEOUT if args.quick else 120.0)
    budget = args.budget or (QUICK_BUDGET if args.quick else None)
    deadline = None if budget is None else time.perf_counter() + budget
    unlisted = 0
    for path in files_to_mutate(args, parser):
        tests, mode = default_tests(path)
        tests, mode = args.tests or tests, args.mode or mode
        if not tests:
            if args.quick:
                print(f"{path}: no test file named after it, not mutated (add it to TARGETS)")
                continue
            parser.error(f"no default tests for {path}: pass --tests")
        if args.quick:
            tests = quick_tests(tests)
        if args.report:
            counts = summary(path)
        else:
            left = None if deadline is None else deadline - time.perf_counter()
            if left is not None and left <= 0:
                print(f"{path}: not mutated, the time budget is spent")
                continue
            counts = mutate(path, tests, mode, timeout, [] if args.all_operators else DEFAULT_EXCLUDED,
                            args.fresh or args.quick, args.retry_survivors, args.sample, args.seed, left,
                            baseline=not args.quick)
        unlisted += counts["survived"]
    if unlisted:
        print(f"{unlisted} surviving mutants not listed as equivalent: write a test that kills each, "
              f"or list it in tools/mutation_equivalents.json with the reason no user can observe it")
    return 1 if unlisted else 0


if __name__ == "__main__":
    sys.exit(main())
