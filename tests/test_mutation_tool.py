"""tools/mutation.py's own logic (cosmic-ray itself is not needed): reading a mutant's diff,
choosing which survivors to run again, and refusing to run on another checkout's kernels."""
import json
import sqlite3
import sys
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
