"""The agreement line shared by ``fastnn compare``'s dense and conv runs."""
import math

from fastnn.cli._agreement import report_agreement


def test_within_tolerance_prints_the_line_and_exits_0(capsys):
    assert report_agreement(3e-15, 1000, 1e-9, [], checked="fastnn fit", failed="the jit engine") == 0
    out = capsys.readouterr().out
    assert out == ("agreement check (1 epoch of 1000 samples): fastnn fit vs reference max abs "
                   "parameter difference 3.0e-15, tolerance 1e-09\n")


def test_a_disagreeing_row_prints_the_error_and_exits_1(capsys):
    assert report_agreement(2e-4, 200, 1e-4, [{"kind": "jit"}], checked="fastnn", failed="fastnn") == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[1] == "ERROR: fastnn differs from the reference by 0.0002 > tolerance 0.0001"


def test_nan_is_reported_as_the_callers_disagreement(capsys):
    # the callers count NaN as beyond the tolerance (not max_diff <= tolerance): the exit status follows them
    assert report_agreement(math.nan, 200, 1e-8, [{"kind": "jit"}], checked="fastnn", failed="fastnn") == 1
    assert "ERROR: fastnn differs from the reference by nan" in capsys.readouterr().out
