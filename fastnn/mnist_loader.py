"""Drop-in for the book's ``mnist_loader.py``, loading ``mnist.pkl.gz`` safely.

The book's scripts run unchanged apart from the imports::

    from fastnn import mnist_loader, network
    training_data, validation_data, test_data = mnist_loader.load_data_wrapper()
    net = network.Network([784, 30, 10])
    net.SGD(training_data, 30, 10, 3.0, test_data=test_data)

Unlike the original, the pickle is read with a restricted unpickler that can
only build NumPy arrays (:func:`fastnn.datasets.load_mnist_pkl`).
"""
from .datasets import load_mnist_pkl, to_book_format

DEFAULT_PATH = "../data/mnist.pkl.gz"  # where the book's src/ scripts look


def load_data(path=DEFAULT_PATH):
    """``(training_data, validation_data, test_data)`` as ``(X, y)`` array pairs (50k/10k/10k)."""
    return load_mnist_pkl(path)


def load_data_wrapper(path=DEFAULT_PATH):
    """The book's format: training pairs with one-hot ``(10, 1)`` columns, validation
    and test pairs with int labels; every ``x`` a ``(784, 1)`` column."""
    (X_tr, y_tr), (X_va, y_va), (X_te, y_te) = load_data(path)
    return (to_book_format(X_tr, y_tr, one_hot=True),
            to_book_format(X_va, y_va, one_hot=False),
            to_book_format(X_te, y_te, one_hot=False))
