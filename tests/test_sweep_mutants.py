"""Tests written against surviving mutants of the sweep (fastnn/sweeps.py, fastnn/_sweep_file.py):
each fails on the mutant it was written for (run by hand first, see docs/guide/testing.md)."""
