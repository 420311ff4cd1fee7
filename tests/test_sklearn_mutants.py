"""Tests written against surviving mutants of the scikit-learn estimators (fastnn/sklearn.py,
fastnn/_sklearn_monitor.py, fastnn/_training_rows.py): each fails on the mutant it was written
for (run by hand first, see docs/guide/testing.md)."""
