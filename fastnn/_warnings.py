"""Kept for older imports: the warning classes live in :mod:`fastnn.exceptions`."""
from .exceptions import ConvergenceWarning

__all__ = ["ConvergenceWarning"]
