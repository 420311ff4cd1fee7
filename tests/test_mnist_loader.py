"""fastnn.mnist_loader, the drop-in for the book's loader module: ``load_data_wrapper`` on a
generated ``mnist.pkl.gz``, and the book's chapter-1 script on its output."""
import gzip
import pickle

import numpy as np

from fastnn import mnist_loader


def _write_mnist_pkl(path, splits):
    """A gzipped pickle of the book's ((X, y), (X, y), (X, y)) structure."""
    with gzip.open(path, "wb") as f:
        pickle.dump(splits, f, protocol=4)


def test_book_loader_and_script(tmp_path, capsys):
    rng = np.random.default_rng(0)
    def split(n):
        return rng.random((n, 784), dtype=np.float32), rng.integers(0, 10, n)
    path = tmp_path / "mnist.pkl.gz"
    _write_mnist_pkl(path, (split(40), split(10), split(10)))
    training_data, validation_data, test_data = mnist_loader.load_data_wrapper(str(path))
    assert training_data[0][0].shape == (784, 1) and training_data[0][1].shape == (10, 1)
    assert isinstance(test_data[0][1], int) and len(validation_data) == 10
    # the book's chapter-1 script, verbatim apart from the import
    from fastnn import network
    net = network.Network([784, 30, 10])
    net.SGD(training_data, 2, 10, 3.0, test_data=test_data)
    assert capsys.readouterr().out.splitlines()[1].startswith("Epoch 1: ")
