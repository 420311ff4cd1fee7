"""Every exception and warning class of fastnn, in one light module.

All of them are also importable from the top level (``from fastnn import
ModelFileError``).  Each error subclasses the built-in exception that code
written without fastnn in mind already catches: a bad model file is a
``ValueError``, a rejected pickle is a ``pickle.UnpicklingError``.

Besides these, fastnn raises the built-in ``ValueError`` and ``TypeError``
for bad arguments (the message names the argument, what was expected and what
was found), ``FileNotFoundError`` for missing files, and re-raises
``KeyboardInterrupt`` after stopping cleanly.  The scikit-learn estimators
raise scikit-learn's own ``NotFittedError`` (a ``ValueError``) when used
before ``fit``.
"""
import pickle

__all__ = ["ConvergenceWarning", "DivergenceError", "DivergenceWarning", "ModelFileError",
           "UnsafePickleError", "UnscaledInputWarning"]


class ModelFileError(ValueError):
    """A file is not a valid fastnn model file (empty, truncated, corrupted, foreign, wrong version).

    Raised by :meth:`fastnn.Network.load`, by ``fit(..., resume=True)`` when
    it reads a checkpoint, and by ``fastnn predict``.  The message names the
    file and the problem.

    Examples
    --------
    >>> import fastnn
    >>> with open("notes.npz", "w") as f:             # a text file named like a model
    ...     _ = f.write("not a model")
    >>> try:
    ...     fastnn.Network.load("notes.npz")
    ... except fastnn.ModelFileError as exc:
    ...     print("not loaded:", "not an .npz" in str(exc))
    not loaded: True
    """


class DivergenceError(ValueError):
    """Training produced non-finite parameters or cost; the network was restored.

    The network keeps the parameters it had at the start of the epoch that
    diverged, consistent with ``history_``, ``epochs_done_`` and any
    checkpoint.  Lower ``eta`` and train again.

    Parameters
    ----------
    message : str
        What went wrong, naming the epoch and the cause.
    epoch : int
        The epoch in which training diverged.

    Attributes
    ----------
    epoch : int
        The epoch (numbered from 0, as in ``history_["epoch"]`` and the
        book's ``Epoch j`` lines) in which training diverged.
    """

    def __init__(self, message, epoch):
        super().__init__(message)
        self.epoch = epoch

    def __reduce__(self):
        # pickle with both arguments: a Dask worker sends the error back to the client
        return type(self), (self.args[0], self.epoch)


class DivergenceWarning(RuntimeWarning):
    """Training saturated the network: its gradients vanished in floating point.

    A learning rate far too large (e.g. eta = 1e6) does not always produce
    NaN: the sigmoid neurons saturate at exactly 0 or 1, every gradient
    becomes 0 and training silently stops learning.  Lower eta.
    """


class ConvergenceWarning(UserWarning):
    """An iterative fit stopped at its iteration budget without converging.

    Emitted by :class:`fastnn.Perceptron` on data that are not linearly
    separable and by :class:`fastnn.LinearRegression` and
    :class:`fastnn.LogisticRegression` when ``max_iter`` runs out.  The
    fitted model is still usable.  This is fastnn's own class, not
    scikit-learn's warning of the same name.
    """


class UnscaledInputWarning(UserWarning):
    """Integer pixel data (e.g. uint8 in 0..255) was given where the book uses [0, 1].

    fastnn never rescales inputs: values are used as the numbers they are.  A
    sigmoid network fed 0..255 saturates its first layer and learns poorly, so
    divide by 255 first (``X / 255.0``).
    """


class UnsafePickleError(pickle.UnpicklingError):
    """A pickle asked for a global outside the allow-list, so it was rejected unread.

    :func:`fastnn.datasets.load_mnist_pkl` (and so the book's
    ``mnist_loader``) unpickles ``mnist.pkl.gz`` with an unpickler that can
    only build NumPy arrays.  A file that names any other global (such as
    ``os.system``) could run code when unpickled; it raises this error
    before anything is called.  It is a ``pickle.UnpicklingError``.
    """
