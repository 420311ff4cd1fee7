"""Warning classes shared by light modules (no scikit-learn import here)."""

__all__ = ["ConvergenceWarning"]


class ConvergenceWarning(UserWarning):
    """An iterative fit stopped at its iteration budget without converging."""
