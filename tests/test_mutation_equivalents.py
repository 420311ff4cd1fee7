"""tools/mutation_equivalents.json follows the code: every entry names an existing file, a line
still in it, and a reason (or the compiled run that kills the mutant).  A stale entry (its line
changed) fails here, so an equivalence is never claimed for code that no longer exists."""
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ENTRIES = json.loads((ROOT / "tools" / "mutation_equivalents.json").read_text())


def test_entries_are_well_formed_and_unique():
    keys = [(e["file"], e["original"], e["mutant"]) for e in ENTRIES]
    assert len(keys) == len(set(keys))
    for e in ENTRIES:
        assert set(e) in ({"file", "original", "mutant", "why"}, {"file", "original", "mutant", "killed"}), e
        assert e["original"] != e["mutant"] and len(e.get("why", e.get("killed"))) > 20, e


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: f"{e['file']}:{e['original'][:40]}")
def test_the_original_line_is_still_in_the_file(entry):
    lines = {line.strip() for line in (ROOT / entry["file"]).read_text().splitlines()}
    # a mutant of a statement over several lines prints its changed lines joined by " / "
    parts = [p for p in entry["original"].split(" / ") if p]
    assert entry["original"] in lines or all(p in lines for p in parts), entry["original"]
