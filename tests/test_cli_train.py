"""`fastnn train` and the book's loader module."""
import gzip
import pickle

import numpy as np
import pytest

from fastnn import cli, mnist_loader


def test_train_on_bundled_digits(capsys):
    assert cli.main(["train", "--epochs", "2", "--seed", "1"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("Network([64, 30, 10]") and "1297 training and 500 test" in out[0]
    assert [line.split(":")[0] for line in out[1:]] == ["Epoch 0", "Epoch 1"]
    correct = int(out[-1].split(": ")[1].split(" / ")[0])
    assert correct > 250  # well above chance (50 / 500) after two epochs


@pytest.mark.parametrize("engine", ["reference", "matrix"])
def test_train_engines_and_sizes(capsys, engine):
    assert cli.main(["train", "--epochs", "1", "--engine", engine, "--sizes", "64,20,10"]) == 0
    assert "Network([64, 20, 10], engine='%s'" % engine in capsys.readouterr().out


def test_train_bad_arguments_exit_with_message(capsys):
    assert cli.main(["train", "--epochs", "1", "--sizes", "63,10"]) == 2
    assert "features per sample" in capsys.readouterr().err
    assert cli.main(["train", "--data", "/no/such/dir"]) == 2
    with pytest.raises(SystemExit):
        cli.main(["train", "--sizes", "a,b"])


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
