"""Plurality vote of several trained classifiers, as in chapter 6 of the book.

Chapter 6 trains five copies of its best convolutional network and lets them
vote: each image gets the class most of the networks predict.  This works for
any models with a ``predict(X)`` method returning one class label per row,
such as :class:`fastnn.Network`, fastnn's scikit-learn estimators, the
chapter-6 networks, or scikit-learn classifiers.

Ties: when several classes get the same, largest number of votes, the
smallest label wins (labels in sorted order; for integer labels this is
``np.argmax(np.bincount(votes))``).  With an odd number of models and two
classes there are no ties; with more classes there can be.
"""
import numpy as np

__all__ = ["plurality_vote", "EnsembleClassifier"]


def plurality_vote(predictions):
    """The most frequent label in every column of ``predictions``; ties go to the smallest label.

    Parameters
    ----------
    predictions : array-like, shape (n_models, n_samples)
        Row ``k`` holds model ``k``'s predicted label for every sample.
        Labels may be integers or any sortable values (strings, for example).

    Returns
    -------
    ndarray, shape (n_samples,)
        The winning label per sample, of the labels' dtype.

    Raises
    ------
    ValueError
        If ``predictions`` is not 2-D, has no model or no sample, or holds
        floats that are not whole numbers (or NaN).

    Examples
    --------
    >>> from fastnn.ensemble import plurality_vote
    >>> plurality_vote([[3, 1, 2],
    ...                 [3, 0, 4],
    ...                 [5, 0, 2]]).tolist()
    [3, 0, 2]
    >>> plurality_vote([[7, 1], [2, 9]]).tolist()   # 1-1 ties: the smallest label
    [2, 1]
    """
    votes = np.asarray(predictions)
    if votes.ndim != 2 or votes.shape[0] == 0 or votes.shape[1] == 0:
        raise ValueError(f"predictions must be a 2-D array (n_models, n_samples) with at least one "
                         f"model and one sample, got shape {votes.shape}")
    if votes.dtype.kind == "f":
        if not (np.isfinite(votes).all() and np.array_equal(np.floor(votes), votes)):
            raise ValueError("predictions holds non-integer floats or NaN; expected class labels")
        votes = votes.astype(np.int64)
    elif votes.dtype.kind not in "iubUSO":
        raise ValueError(f"predictions must hold class labels (integers or strings), got dtype "
                         f"{votes.dtype}")
    labels, codes = np.unique(votes, return_inverse=True)  # sorted labels, votes as 0..L-1
    codes = codes.reshape(votes.shape)
    n_models, n_samples = votes.shape
    counts = np.zeros((n_samples, len(labels)), dtype=np.int64)
    columns = np.arange(n_samples)
    for row in codes:                     # one pass per model
        counts[columns, row] += 1
    return labels[np.argmax(counts, axis=1)]  # argmax: the first (smallest) label among ties


class EnsembleClassifier:
    """Classify by the plurality vote of several trained models.

    Parameters
    ----------
    models : sequence
        At least one trained model with a ``predict(X)`` method.

    Attributes
    ----------
    models : list
        The models, in the order given.

    Examples
    --------
    >>> import numpy as np
    >>> from fastnn.ensemble import EnsembleClassifier
    >>> class Constant:
    ...     def __init__(self, label):
    ...         self.label = label
    ...     def predict(self, X):
    ...         return np.full(len(X), self.label)
    >>> vote = EnsembleClassifier([Constant(4), Constant(2), Constant(4)])
    >>> vote.predict(np.zeros((2, 3))).tolist()
    [4, 4]
    >>> vote.score(np.zeros((2, 3)), [4, 2])
    0.5
    """

    def __init__(self, models):
        models = list(models)
        if not models:
            raise ValueError("EnsembleClassifier needs at least one model")
        for i, model in enumerate(models):
            if not callable(getattr(model, "predict", None)):
                raise TypeError(f"models[{i}] ({type(model).__name__}) has no predict(X) method")
        self.models = models

    def __repr__(self):
        return f"EnsembleClassifier({len(self.models)} models)"

    def predictions(self, X):
        """Every model's predictions, shape ``(n_models, n_samples)``.

        Raises
        ------
        ValueError
            If a model does not return one label per row of ``X``.
        """
        rows = [np.asarray(model.predict(X)) for model in self.models]
        n = len(X)
        for i, row in enumerate(rows):
            if row.shape != (n,):
                raise ValueError(f"models[{i}].predict returned shape {row.shape}; expected ({n},), "
                                 f"one label per row of X")
        return np.stack(rows)

    def predict(self, X):
        """The plurality vote of the models for every row of ``X`` (ties: smallest label)."""
        return plurality_vote(self.predictions(X))

    def score(self, X, y):
        """Fraction of rows of ``X`` whose voted label equals ``y``."""
        y = np.asarray(y)
        predicted = self.predict(X)
        if y.shape != predicted.shape:
            raise ValueError(f"y must hold one label per row of X ({predicted.shape[0]}), got shape "
                             f"{y.shape}")
        return float(np.mean(predicted == y))
