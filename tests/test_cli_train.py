"""`fastnn train` and the book's loader module."""
import gzip
import pickle
import subprocess
import sys

import numpy as np
import pytest

from fastnn import _numba_cache, cli, mnist_loader


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


def _error_line(err, command):
    """The single ``fastnn <command>: error: ...`` line of stderr (argparse may print usage first)."""
    errors = [line for line in err.splitlines() if "error:" in line]
    assert len(errors) == 1, err
    prefix = f"fastnn {command}: error: " if command else "fastnn: error: "
    assert errors[0].startswith(prefix), err
    assert err.rstrip("\n").splitlines()[-1] == errors[0], err  # the message is the last line
    return errors[0]


# every subcommand: a value argparse refuses (type, choice, missing, unknown option)
PARSER_ERRORS = [
    (["train", "--epochs", "x"], "train", "argument --epochs: expected an integer >= 0, got 'x'"),
    (["train", "--sizes", "a,b"], "train", "argument --sizes: 'a' in 'a,b' is not an integer"),
    (["train", "--cost", "cubic"], "train", "invalid choice"),
    (["predict"], "predict", "required: model"),
    (["compare", "--samples", "0"], "compare", "positive integer"),
    (["bench", "--dtype", "float16"], "bench", "invalid choice"),
    (["sweep", "--no-such-option"], "", "unrecognized arguments"),  # reported by the top parser
    (["demo", "nand"], "demo", "invalid choice"),
    (["fly"], "", "invalid choice"),
    ([], "", "required: command"),
]


@pytest.mark.parametrize("argv, command, message", PARSER_ERRORS)
def test_bad_arguments_exit_2_with_a_one_line_message(argv, command, message, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    assert info.value.code == 2
    assert message in _error_line(capsys.readouterr().err, command)


def _evil_pickle(path):
    """A gzipped pickle whose only global is os.system (never called by fastnn)."""
    with gzip.open(path, "wb") as f:
        f.write(b"\x80\x02cos\nsystem\nX\x04\x00\x00\x00trueq\x85R.")
    return path


def test_bad_values_exit_2_with_a_one_line_message(capsys, tmp_path):
    """Values that pass argparse but not fastnn's checks: the same status and one line, no traceback."""
    cases = [(["train", "--epochs", "1", "--sizes", "63,10"], "features per sample"),
             (["train", "--data", "/no/such/dir"], "not found"),
             (["train", "--resume"], "--resume needs --checkpoint"),
             (["train", "--data", str(_evil_pickle(tmp_path / "evil.pkl.gz"))], "forbidden global"),
             (["predict", str(tmp_path / "missing.npz")], "missing.npz")]
    for argv, message in cases:
        assert cli.main(argv) == 2, argv
        # with an empty numba cache the first command also prints the compile note first
        err = capsys.readouterr().err.removeprefix(_numba_cache.COMPILE_NOTE + "\n")
        assert err.count("\n") == 1, err
        assert message in _error_line(err, argv[0])


def test_the_process_exit_status_is_2():
    """The status reaches the shell through ``python -m fastnn`` (as through the ``fastnn`` script)."""
    for argv in (["train", "--epochs", "x"], ["train", "--epochs", "1", "--sizes", "63,10"]):
        proc = subprocess.run([sys.executable, "-m", "fastnn", *argv], capture_output=True, text=True,
                              timeout=300)
        assert proc.returncode == 2, proc.stderr[-2000:]
        assert "Traceback" not in proc.stderr
        _error_line(proc.stderr, "train")


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
