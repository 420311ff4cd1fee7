"""The command line: `fastnn train` (and its save, plot, predict, resume and Ctrl-C) and the
one-line messages of bad arguments (the book's loader module: tests/test_mnist_loader.py)."""
import gzip
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from fastnn import Network, _numba_cache, cli


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


# -- training from the command line: save, plot, predict, resume, Ctrl-C -------------------------

def test_cli_sigint_saves_the_model(tmp_path):
    ck, model = tmp_path / "ck.npz", tmp_path / "model.npz"
    cmd = [sys.executable, "-m", "fastnn", "train", "--epochs", "100000", "--checkpoint", str(ck),
           "--save", str(model), "--no-progress", "--cost", "cross-entropy", "--eta", "0.5"]
    # A shell that starts a job in the background (as CI runners may) makes it ignore SIGINT, and
    # the child would inherit that: give it the default disposition, as a terminal would.
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 120
        while not ck.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert ck.exists(), proc.stderr.read() if proc.poll() is not None else "no checkpoint"
        time.sleep(0.3)
        os.kill(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "Interrupted after" in err and f"Saved model to {model}" in out
    saved, last = Network.load(model), Network.load(ck)
    assert saved.interrupted_ and saved.epochs_done_ >= last.epochs_done_ >= 1
    assert len(saved.history_["epoch"]) == saved.epochs_done_


def test_cli_train_save_plot_predict(tmp_path, capsys):
    model, curves, preds = tmp_path / "m.npz", tmp_path / "c.png", tmp_path / "p.txt"
    args = ["train", "--epochs", "3", "--cost", "cross-entropy", "--init", "default", "--eta", "0.5",
            "--lmbda", "1", "--save", str(model), "--plot", str(curves), "--no-progress"]
    assert cli.main(args) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1].startswith("Epoch 0: ") and out[3].startswith("Epoch 2: ")
    last_correct = int(out[3].split(":")[1].split("/")[0])
    assert curves.stat().st_size > 10_000
    net = Network.load(model)
    assert net.epochs_done_ == 3 and net.cost == "cross-entropy" and net.fit_params_["lmbda"] == 1.0
    assert cli.main(["predict", str(model), "--output", str(preds)]) == 0
    out = capsys.readouterr().out
    assert f"{last_correct} / 500" in out
    from fastnn.datasets import load_dataset

    X_test = load_dataset("digits")[2]
    np.testing.assert_array_equal(np.loadtxt(preds, dtype=int), net.predict(X_test))


def test_cli_resume_matches_one_run(tmp_path, capsys):
    one, ck = tmp_path / "one.npz", tmp_path / "ck.npz"
    base = ["train", "--no-progress", "--eta", "2.0"]
    assert cli.main(base + ["--epochs", "3", "--save", str(one)]) == 0
    assert cli.main(base + ["--epochs", "1", "--checkpoint", str(ck)]) == 0
    assert cli.main(base + ["--epochs", "3", "--checkpoint", str(ck), "--resume"]) == 0
    assert "Resuming from" in capsys.readouterr().out
    np.testing.assert_array_equal(Network.load(ck)._theta, Network.load(one)._theta)
    assert cli.main(base + ["--resume"]) == 2
