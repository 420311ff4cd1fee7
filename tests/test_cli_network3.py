"""``fastnn network3``: chapter 6's networks by name, the book's printed lines, options, errors, saving."""
import gzip
import struct
import subprocess
import sys

import numpy as np
import pytest

from fastnn import _conv_presets, cli, datasets
from fastnn import network3 as n3
from fastnn.cli import network3 as cmd

# (preset, layers as (class, shape facts), activation, eta, lmbda, epochs)
EXPECTED = {
    "ch6-fc": ([("fc", 784, 100, 0.0), ("softmax", 100, 10, 0.0)], n3.sigmoid, 0.1, 0.0, 60),
    "ch6-conv1": ([("conv", (20, 1, 5, 5), (10, 1, 28, 28)), ("fc", 20 * 12 * 12, 100, 0.0),
                   ("softmax", 100, 10, 0.0)], n3.sigmoid, 0.1, 0.0, 60),
    "ch6-conv2": ([("conv", (20, 1, 5, 5), (10, 1, 28, 28)), ("conv", (40, 20, 5, 5), (10, 20, 12, 12)),
                   ("fc", 40 * 4 * 4, 100, 0.0), ("softmax", 100, 10, 0.0)], n3.sigmoid, 0.1, 0.0, 60),
    "ch6-relu": ([("conv", (20, 1, 5, 5), (10, 1, 28, 28)), ("conv", (40, 20, 5, 5), (10, 20, 12, 12)),
                  ("fc", 40 * 4 * 4, 100, 0.0), ("softmax", 100, 10, 0.0)], n3.ReLU, 0.03, 0.1, 60),
    "ch6-dropout": ([("conv", (20, 1, 5, 5), (10, 1, 28, 28)), ("conv", (40, 20, 5, 5), (10, 20, 12, 12)),
                     ("fc", 40 * 4 * 4, 1000, 0.5), ("fc", 1000, 1000, 0.5), ("softmax", 1000, 10, 0.5)],
                    n3.ReLU, 0.03, 0.0, 40),
}


def describe(layer):
    if isinstance(layer, n3.ConvPoolLayer):
        return ("conv", layer.filter_shape, layer.image_shape)
    if isinstance(layer, n3.SoftmaxLayer):
        return ("softmax", layer.n_in, layer.n_out, layer.p_dropout)
    return ("fc", layer.n_in, layer.n_out, layer.p_dropout)


def parse(*argv):
    return cli.build_parser().parse_args(["network3", *argv])


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_preset_builds_the_books_layers(name):
    layers, act, eta, lmbda, epochs = EXPECTED[name]
    args = parse("--preset", name)
    net = cmd.build_network(args)
    assert [describe(layer) for layer in net.layers] == layers
    assert all(layer.activation_fn is act for layer in net.layers if not isinstance(layer, n3.SoftmaxLayer))
    assert all(layer.poolsize == (2, 2) for layer in net.layers if isinstance(layer, n3.ConvPoolLayer))
    preset, hyper = cmd.settings(args)
    assert preset.name == name and hyper == {"epochs": epochs, "eta": eta, "lmbda": lmbda}
    assert net.dtype == np.float64 and net.threads == 1 and net.mini_batch_size == 10


def test_the_default_preset_is_the_relu_net():
    assert parse().preset == "ch6-relu"


def test_options_override_the_preset():
    args = parse("--preset", "ch6-conv1", "--epochs", "3", "--eta", "0.5", "--lmbda", "2", "--mini-batch-size", "4",
                 "--dtype", "float32", "--seed", "7", "--threads", "1")
    assert cmd.settings(args)[1] == {"epochs": 3, "eta": 0.5, "lmbda": 2.0}
    net = cmd.build_network(args)
    assert net.dtype == np.float32 and all(p.dtype == np.float32 for p in net.params)
    assert net.mini_batch_size == 4 and net.layers[0].image_shape == (4, 1, 28, 28)
    assert net.seed == 7
    # the same seed draws the same parameters, another seed others
    again = cmd.build_network(args)
    other = cmd.build_network(parse("--preset", "ch6-conv1", "--mini-batch-size", "4", "--dtype", "float32"))
    assert all(np.array_equal(a, b) for a, b in zip(net.params, again.params))
    assert not np.array_equal(net.params[0], other.params[0])


def test_the_books_printed_lines(capsys):
    assert cli.main(["network3", "--preset", "ch6-conv1", "--epochs", "2", "--train-size", "200"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("ch6-conv1: CP20 -> FC100 -> softmax, sigmoid; eta 0.1, lmbda 0, mini-batch 10, "
                             "2 epochs, float64; 200 training, 297 validation and 500 test images from 'digits'")
    assert out[1] == "Training mini-batch number 0"
    assert out[2].startswith("Epoch 0: validation accuracy ") and out[2].endswith("%")
    assert out[3] == "This is the best validation accuracy to date."
    assert out[4].startswith("The corresponding test accuracy is ")
    assert any(line.startswith("Epoch 1: validation accuracy ") for line in out)
    end = out.index("Finished training network.")
    assert out[end + 1].startswith("Best validation accuracy of ") and "obtained at iteration" in out[end + 1]
    assert out[end + 2].startswith("Corresponding test accuracy of ")
    assert out[end + 3].startswith("2 epochs in ") and "of CPU, 1 thread)" in out[end + 3]


def test_training_matches_the_api_and_save_loads(tmp_path, capsys):
    model = tmp_path / "conv.npz"
    argv = ["network3", "--epochs", "1", "--train-size", "100", "--seed", "3", "--save", str(model)]
    assert cli.main(argv) == 0
    assert f"Saved model to {model} (1 epoch)" in capsys.readouterr().out
    loaded = n3.Network.load(model)
    # the same run through the API: same seed, same data, same book SGD
    training, validation, test = _conv_presets.load_conv_data("digits", train_size=100)
    net = cmd.build_network(parse("--seed", "3"))
    net.SGD(training, 1, 10, 0.03, validation, test, lmbda=0.1)
    capsys.readouterr()
    assert loaded.epochs_done_ == 1
    assert [describe(layer) for layer in loaded.layers] == EXPECTED["ch6-relu"][0]
    assert all(np.array_equal(a, b) for a, b in zip(loaded.params, net.params))
    fresh = cmd.build_network(parse("--seed", "3"))
    assert not np.array_equal(fresh.params[0], loaded.params[0])  # it was trained


def test_book_pickle_data(tmp_path, capsys):
    rng = np.random.default_rng(0)
    splits = [(rng.random((n, 784)), rng.integers(0, 10, n)) for n in (40, 20, 30)]
    path = tmp_path / "mnist.pkl.gz"
    datasets.write_mnist_pkl(path, *splits)
    assert cli.main(["network3", "--preset", "ch6-fc", "--epochs", "1", "--data", str(path)]) == 0
    out = capsys.readouterr().out
    assert "40 training, 20 validation and 30 test images" in out and "Finished training network." in out


def write_idx(path, array):
    array = np.asarray(array, dtype=np.uint8)
    header = struct.pack(">I", 0x0800 | array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(gzip.compress(header + array.tobytes()))


def idx_folder(tmp_path, side, n_train=30, n_test=20):
    rng = np.random.default_rng(1)
    for kind, n in (("train", n_train), ("t10k", n_test)):
        write_idx(tmp_path / f"{kind}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, side, side)))
        write_idx(tmp_path / f"{kind}-labels-idx1-ubyte.gz", rng.integers(0, 10, n))
    return tmp_path


def test_idx_folder_and_validation_size(tmp_path, capsys):
    folder = idx_folder(tmp_path, 28)
    assert cli.main(["network3", "--preset", "ch6-fc", "--epochs", "1", "--data", str(folder),
                     "--validation-size", "10"]) == 0
    assert "20 training, 10 validation and 20 test images" in capsys.readouterr().out


def error_of(argv, capsys):
    code = cli.main(argv)
    err = capsys.readouterr().err
    return code, err


@pytest.mark.parametrize("argv, message", [
    (["--preset", "ch6-nope"], "invalid choice: 'ch6-nope'"),
    (["--epochs", "-1"], "argument --epochs: expected an integer >= 0"),
    (["--eta", "0"], "argument --eta: expected a number > 0"),
    (["--dtype", "float16"], "invalid choice: 'float16'"),
    (["--threads", "0"], "argument --threads: expected a positive integer"),
])
def test_bad_options_exit_2(argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["network3", *argv])
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_bad_values_exit_2_with_a_message(tmp_path, capsys):
    rng = np.random.default_rng(0)
    pkl = tmp_path / "mnist.pkl.gz"
    datasets.write_mnist_pkl(pkl, *[(rng.random((n, 784)), rng.integers(0, 10, n)) for n in (20, 10, 10)])
    (tmp_path / "small").mkdir()
    small = idx_folder(tmp_path / "small", 8)
    cases = [
        (["--data", str(tmp_path / "missing")], "not found"),
        (["--data", str(pkl), "--validation-size", "5"], "mnist.pkl.gz has its own validation split"),
        (["--save", str(tmp_path / "model.pkl")], "must end in .npz"),
        (["--threads", "100000"], "--threads 100000: at most"),
        (["--data", str(small), "--validation-size", "10"], "take 28x28 images (784 pixels)"),
        (["--validation-size", "1297"], "validation size 1297 must leave training rows"),
        (["--train-size", "5000"], "train size 5000 is more than the 1000 training rows"),
    ]
    for argv, message in cases:
        code, err = error_of(["network3", "--epochs", "0", *argv], capsys)
        assert code == 2, argv
        assert err.startswith("fastnn network3: error: ") and message in err, (argv, err)


def test_the_dense_path_does_not_import_the_conv_kernels(tmp_path):
    script = ("import sys, fastnn, fastnn.cli\n"
              "assert 'fastnn.kernels.conv' not in sys.modules, 'import fastnn'\n"
              "assert fastnn.cli.main(['train', '--epochs', '1', '--no-progress']) == 0\n"
              "assert 'fastnn.kernels.conv' not in sys.modules, 'fastnn train'\n"
              "assert 'fastnn.network3' not in sys.modules\n"
              "assert fastnn.cli.main(['network3', '--epochs', '0']) == 0\n"
              "assert 'fastnn.kernels.conv' in sys.modules  # the check above can fail\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                            cwd=tmp_path)
    assert result.returncode == 0, result.stderr


def test_the_compile_note_checks_the_conv_kernels(monkeypatch, capsys):
    from fastnn import _numba_cache

    seen = []
    monkeypatch.setattr(_numba_cache, "cold_kernels", lambda dtypes, entry_points: seen.append(entry_points) or [1])
    monkeypatch.setattr(_numba_cache, "_ANNOUNCED", set())
    assert cli.main(["network3", "--epochs", "0"]) == 0
    assert seen == [_numba_cache.CONV_ENTRY_POINTS]
    assert _numba_cache.COMPILE_NOTE in capsys.readouterr().err
    assert _numba_cache.command_entry_points(parse()) == _numba_cache.ENTRY_POINTS


def test_conv_entry_points_name_compiled_kernels():
    from fastnn import _numba_cache

    kernels = _numba_cache.entry_kernels(_numba_cache.CONV_ENTRY_POINTS)
    assert len(kernels) == 2 and all(callable(k) for k in kernels)


def test_enlarged_digits_keep_the_pixels():
    X = np.arange(2 * 64, dtype=float).reshape(2, 64)
    big = _conv_presets.enlarge_digits(X).reshape(2, 28, 28)
    assert big.shape == (2, 28, 28)
    assert np.array_equal(big[:, 2:26:3, 2:26:3], X.reshape(2, 8, 8))
    assert np.array_equal(big[:, 4, 3], X.reshape(2, 8, 8)[:, 0, 0])
    assert big[:, :2].sum() == 0 and big[:, :, 26:].sum() == 0
    with pytest.raises(ValueError, match="8x8 digits"):
        _conv_presets.enlarge_digits(np.zeros((2, 63)))


def test_network_from_spec_takes_the_given_weights():
    from fastnn.rivals_conv import book_conv_spec, init_book_weights

    spec = book_conv_spec("relu", p_dropout=0.5)
    weights = init_book_weights(spec, seed=5)
    net = _conv_presets.network_from_spec(spec, 10, weights)
    assert [describe(layer) for layer in net.layers] == [
        ("conv", (20, 1, 5, 5), (10, 1, 28, 28)), ("conv", (40, 20, 5, 5), (10, 20, 12, 12)),
        ("fc", 640, 100, 0.5), ("softmax", 100, 10, 0.5)]
    for layer, (w, b) in zip(net.layers, weights):
        assert np.array_equal(layer.w, w) and np.array_equal(layer.b, b)
    with pytest.raises(ValueError, match="4 layers"):
        _conv_presets.network_from_spec(spec, 10, weights[:3])
    with pytest.raises(ValueError, match="unknown preset 'x'"):
        _conv_presets.build_layers("x", 10)
