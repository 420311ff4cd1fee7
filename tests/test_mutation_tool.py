"""tools/mutation.py's own logic (cosmic-ray itself is not needed): reading a mutant's diff,
choosing which survivors to run again, and refusing to run on another checkout's kernels."""
import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import mutation  # noqa: E402

DIFF = """--- mutation diff ---
--- akernels/tiled.py
+++ bkernels/tiled.py
@@ -48,1 +48,1 @@
-PARALLEL_MIN_WORK = 16384
+PARALLEL_MIN_WORK = 16383
"""


def test_changed_lines_of_a_one_line_mutant():
    assert mutation._changed_lines(DIFF) == ("PARALLEL_MIN_WORK = 16384", "PARALLEL_MIN_WORK = 16383")


def test_only_unlisted_survivors_are_run_again(tmp_path, monkeypatch):
    listed = tmp_path / "equivalents.json"
    listed.write_text(json.dumps([{"file": "kernels/tiled.py", "original": "PARALLEL_MIN_WORK = 16384",
                                   "mutant": "PARALLEL_MIN_WORK = 16383", "why": "speed only"}]))
    monkeypatch.setattr(mutation, "EQUIVALENTS", listed)
    db = tmp_path / "session.sqlite"
    with sqlite3.connect(db) as c:
        c.execute("CREATE TABLE work_results (job_id TEXT, test_outcome TEXT, diff TEXT)")
        c.executemany("INSERT INTO work_results VALUES (?, ?, ?)", [
            ("listed", "SURVIVED", DIFF),                                      # an equivalent
            ("hole", "SURVIVED", DIFF.replace("16383", "0")),                  # not listed
            ("killed", "KILLED", DIFF.replace("16383", "1")),
        ])
    assert mutation.unlisted_survivors("kernels/tiled.py", db) == ["hole"]


def test_this_checkout_is_the_one_tested():
    mutation.check_imports_this_checkout()  # exits if fastnn.kernels came from elsewhere


def test_another_checkouts_kernels_are_refused(monkeypatch, tmp_path):
    monkeypatch.setattr(mutation, "ROOT", tmp_path)
    with pytest.raises(SystemExit, match="from outside"):
        mutation.check_imports_this_checkout()


# --sample, --seed, --changed-since, --quick (CI's quick job) and the budget

def _session_db(path, mutants, skipped=()):
    """A database with cosmic-ray's three tables, reduced to the columns the tool reads:
    ``mutants`` are (job id, line, column), ``skipped`` job ids already have a result."""
    with sqlite3.connect(path) as c:
        c.execute("CREATE TABLE work_items (job_id TEXT PRIMARY KEY)")
        c.execute("CREATE TABLE mutation_specs (job_id TEXT, start_pos_row INT, start_pos_col INT, "
                  "operator_name TEXT, occurrence INT)")
        c.execute("CREATE TABLE work_results (job_id TEXT, test_outcome TEXT, diff TEXT)")
        for job, line, column in mutants:
            c.execute("INSERT INTO work_items VALUES (?)", (job,))
            c.execute("INSERT INTO mutation_specs VALUES (?, ?, ?, 'op', 0)", (job, line, column))
        c.executemany("INSERT INTO work_results VALUES (?, 'SKIPPED', '')", [(j,) for j in skipped])


def _kept_places(db):
    with sqlite3.connect(db) as c:
        return sorted(c.execute("SELECT start_pos_row, start_pos_col FROM mutation_specs "
                                "WHERE job_id NOT IN (SELECT job_id FROM work_results)"))


@pytest.mark.parametrize("sample, total, kept", [("8", 100, 8), ("8", 5, 5), ("50%", 25, 13),
                                                 ("50%", 24, 12), ("100%", 7, 7), ("1%", 3, 1)])
def test_sample_size_of_a_count_or_a_percentage(sample, total, kept):
    assert mutation.sample_size(sample, total) == kept


@pytest.mark.parametrize("sample", ["0", "-3", "0%", "150%"])
def test_an_empty_or_impossible_sample_is_refused(sample):
    with pytest.raises(ValueError, match="--sample"):
        mutation.sample_size(sample, 10)


def test_a_sample_keeps_the_same_mutants_for_the_same_seed_whatever_the_job_ids(tmp_path):
    places = [(line, column) for line in range(1, 21) for column in (0, 4)]
    first, second, other = tmp_path / "a.sqlite", tmp_path / "b.sqlite", tmp_path / "c.sqlite"
    _session_db(first, [(f"a{i}", *p) for i, p in enumerate(places)])
    _session_db(second, [(f"z{i}", *p) for i, p in enumerate(reversed(places))])  # other ids, other order
    _session_db(other, [(f"a{i}", *p) for i, p in enumerate(places)])
    assert mutation.keep_a_sample(first, "25%", seed=27) == (10, 40)
    assert mutation.keep_a_sample(second, "25%", seed=27) == (10, 40)
    assert mutation.keep_a_sample(other, "25%", seed=28) == (10, 40)
    assert _kept_places(first) == _kept_places(second)
    assert _kept_places(first) != _kept_places(other)
    with sqlite3.connect(first) as c:  # the dropped mutants are gone from both tables
        assert c.execute("SELECT COUNT(*) FROM work_items").fetchone() == (10,)


def test_a_sample_leaves_the_skipped_mutants_out_of_the_draw(tmp_path):
    db = tmp_path / "s.sqlite"
    _session_db(db, [(f"j{i}", i, 0) for i in range(10)], skipped=[f"j{i}" for i in range(6)])
    assert mutation.keep_a_sample(db, "100%", seed=1) == (4, 4)
    assert _kept_places(db) == [(i, 0) for i in range(6, 10)]


def _git(repo, *args):
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=repo, check=True,
                   capture_output=True)


def test_changed_files_are_the_python_files_under_fastnn_and_kernels(tmp_path):
    for name in ("fastnn/a.py", "fastnn/b.py", "fastnn/__init__.py", "kernels/k.py", "docs/x.md", "tools/t.py"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text("x = 1\n")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-qm", "one")
    assert mutation.changed_files("HEAD", tmp_path) == []
    assert mutation.changed_files("HEAD~1", tmp_path) is None  # no parent: nothing to compare with
    for name in ("fastnn/a.py", "fastnn/__init__.py", "kernels/k.py", "docs/x.md", "tools/t.py"):
        (tmp_path / name).write_text("x = 2\n")
    (tmp_path / "fastnn" / "b.py").unlink()
    assert mutation.changed_files("HEAD", tmp_path) == ["fastnn/a.py", "kernels/k.py"]  # uncommitted too
    _git(tmp_path, "commit", "-qam", "two")
    assert mutation.changed_files("HEAD~1", tmp_path) == ["fastnn/a.py", "kernels/k.py"]
    assert mutation.changed_files("HEAD", tmp_path) == []


def test_the_console_script_or_its_function(tmp_path, monkeypatch):
    monkeypatch.setattr(mutation.sys, "executable", str(tmp_path / "python"))
    command = mutation.cr_command("cosmic-ray", "exec", "c.toml", "s.sqlite")
    assert command[0] == str(tmp_path / "python") and command[1] == "-c" and command[-2:] == ["c.toml", "s.sqlite"]
    assert "from cosmic_ray.cli import main" in command[2]
    (tmp_path / "cosmic-ray").write_text("")
    assert mutation.cr_command("cosmic-ray", "init") == [str(tmp_path / "cosmic-ray"), "init"]


def test_the_fallback_runs_the_scripts_function(tmp_path, monkeypatch):
    pytest.importorskip("cosmic_ray")  # the dev extra
    python = sys.executable
    monkeypatch.setattr(mutation.sys, "executable", str(tmp_path / "bin" / "python"))  # no scripts there
    command = mutation.cr_command("cosmic-ray", "--help")
    command[0] = python
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 0 and "exec" in result.stdout


def test_default_tests_are_the_target_or_the_files_named_after_the_module():
    assert mutation.default_tests("kernels/mlp.py") == mutation.TARGETS["kernels/mlp.py"]
    assert mutation.default_tests("fastnn/perceptron.py") == (["tests/test_perceptron.py"], "jit")
    assert mutation.default_tests("kernels/linear.py")[0][0] == "tests/kernels/test_kernel_linear.py"
    assert mutation.default_tests("fastnn/no_such_module.py") == (None, "jit")
    for tests, _ in mutation.TARGETS.values():  # every default test file exists
        assert all((ROOT / t.split("::")[0]).is_file() for t in tests if t.startswith("tests/")), tests


def test_the_quick_job_leaves_out_the_slow_tests_unless_markers_are_chosen():
    assert mutation.quick_tests(["tests/test_a.py"]) == ["tests/test_a.py", "-m", "not slow"]
    assert mutation.quick_tests(["tests/test_a.py", "-m", "fuzz"]) == ["tests/test_a.py", "-m", "fuzz"]


def _main_with(monkeypatch, changed, survived=0):
    """main()'s files and exit status, without running cosmic-ray."""
    calls = []
    monkeypatch.setattr(mutation, "changed_files", lambda ref: changed)

    def fake_mutate(path, tests, mode, timeout, excluded, fresh, retry, sample, seed, budget, baseline):
        assert not baseline  # the quick job: CI ran the suite just before
        calls.append((path, tests, timeout, fresh, sample, seed))
        return {"survived": survived}
    monkeypatch.setattr(mutation, "mutate", fake_mutate)
    return calls


def test_quick_mutates_the_changed_files_with_the_seed_printed(monkeypatch, capsys):
    calls = _main_with(monkeypatch, ["fastnn/_validation.py", "kernels/mlp.py"])
    assert mutation.main(["--quick", "--sample", "8", "--seed", "31", "--changed-since", "HEAD~1"]) == 0
    assert sorted(c[0] for c in calls) == ["fastnn/_validation.py", "kernels/mlp.py"]
    assert all(c[2] == mutation.QUICK_TIMEOUT and c[3] and c[4:] == ("8", 31) for c in calls)
    assert all(c[1][-2:] == ["-m", "not slow"] for c in calls)
    assert "seed 31" in capsys.readouterr().out


def test_quick_fails_on_a_survivor_not_listed_as_equivalent(monkeypatch, capsys):
    _main_with(monkeypatch, ["fastnn/_guards.py"], survived=1)
    assert mutation.main(["--quick", "--sample", "2", "--changed-since", "HEAD~1"]) == 1
    out = capsys.readouterr().out
    assert "1 surviving mutants not listed" in out and "seed " in out  # a random seed, printed


@pytest.mark.parametrize("changed", [[], None])  # nothing under fastnn/ or kernels/, or no parent
def test_quick_mutates_one_fallback_file_chosen_by_the_seed_when_nothing_changed(monkeypatch, changed):
    chosen = []
    for seed in range(12):
        calls = _main_with(monkeypatch, changed)
        assert mutation.main(["--quick", "--sample", "4", "--seed", str(seed), "--changed-since", "HEAD~1"]) == 0
        assert len(calls) == 1 and calls[0][0] in mutation.QUICK_FALLBACK
        chosen.append(calls[0][0])
    again = _main_with(monkeypatch, changed)
    mutation.main(["--quick", "--sample", "4", "--seed", "3", "--changed-since", "HEAD~1"])
    assert again[0][0] == chosen[3] and len(set(chosen)) > 1


def test_without_quick_nothing_to_mutate_is_an_error(monkeypatch):
    _main_with(monkeypatch, [])
    with pytest.raises(SystemExit):
        mutation.main(["--changed-since", "HEAD~1"])


def test_a_run_stopped_at_the_budget_restores_the_file(tmp_path, monkeypatch, capsys):
    source = tmp_path / "fastnn" / "m.py"
    source.parent.mkdir()
    source.write_text("x = 1\n")
    monkeypatch.setattr(mutation, "ROOT", tmp_path)
    mutant = f"import pathlib, time; pathlib.Path({str(source)!r}).write_text('x = 2\\n'); time.sleep(60)"
    monkeypatch.setattr(mutation, "cr_command", lambda *args: [sys.executable, "-c", mutant])
    start = time.perf_counter()
    mutation.execute(tmp_path / "c.toml", tmp_path / "s.sqlite", "fastnn/m.py", budget=2.0)
    assert time.perf_counter() - start < 30
    assert source.read_text() == "x = 1\n"
    assert "stopped at the time budget" in capsys.readouterr().out
