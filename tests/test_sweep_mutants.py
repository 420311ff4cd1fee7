"""Tests written against surviving mutants of the sweep (fastnn/sweeps.py, fastnn/_sweep_file.py):
each fails on the mutant it was written for (run by hand first, see docs/guide/testing.md)."""
import numpy as np
import pytest

from fastnn.sweep import best_row


def test_best_row_takes_the_first_of_tied_rows():
    """The documented rule: the highest score, the first such row on ties (NaN never chosen)."""
    rows = [{"eta": 1, "score": 0.5}, {"eta": 2, "score": 0.9}, {"eta": 3, "score": np.nan},
            {"eta": 4, "score": 0.9}]
    assert best_row(rows) is rows[1]
    assert best_row(rows[3:] + rows[:3]) is rows[3]
    assert best_row([{"eta": 5, "score": 0.9}] + rows)["eta"] == 5  # tied with the first row


def test_best_row_of_a_data_frame_takes_the_first_of_tied_rows():
    pd = pytest.importorskip("pandas")
    table = pd.DataFrame({"eta": [1.0, 2.0, 3.0], "score": [0.7, 0.8, 0.8]})
    assert best_row(table)["eta"] == 2.0
