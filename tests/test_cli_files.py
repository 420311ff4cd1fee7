"""The files of a command: checked before any work, never the file it reads, locked while written.

Every mistake ends with exit status 2 and one line naming the option, before any data is loaded
or any kernel compiled or trained (no "compiling", no network header, no "Epoch" line), and
leaves the folder exactly as it was.
"""
import hashlib
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from fastnn.cli import _paths, main


def run(argv):
    """``(exit status, stdout, stderr)`` of ``fastnn argv`` run in this process."""
    import contextlib
    import io

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse's own errors
            code = exc.code
    return code, out.getvalue(), err.getvalue()


def snapshot(folder):
    """Every file under ``folder`` with the digest of its bytes (hidden files included)."""
    found = {}
    for root, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                found[os.path.relpath(path, folder)] = hashlib.sha256(f.read()).hexdigest()
    return found


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """A folder with a subfolder ``photos``, a model file ``m2.npz``, a picture ``g.png`` and a
    grid ``g.json``; the current directory while the test runs."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "photos").mkdir()
    (tmp_path / "m2.npz").write_bytes(b"a model: not read before the checks")
    (tmp_path / "g.png").write_bytes(b"a photo: not read before the checks")
    (tmp_path / "g.json").write_text('{"eta": [0.5]}')
    return tmp_path


# (arguments, the start of the message after "fastnn COMMAND: error: ")
MISTAKES = [
    (["train", "--epochs", "1", "--save", "nodir/m.npz"], "--save 'nodir/m.npz': folder 'nodir' does not exist"),
    (["train", "--epochs", "1", "--plot", "nodir/c.png"], "--plot 'nodir/c.png': folder 'nodir' does not exist"),
    (["train", "--checkpoint", "nodir/c.npz"], "--checkpoint 'nodir/c.npz': folder 'nodir' does not exist"),
    (["train", "--save", "photos"], "--save 'photos' is a folder"),
    (["train", "--plot", "photos"], "--plot 'photos' is a folder"),
    (["train", "--checkpoint", "photos"], "--checkpoint 'photos' is a folder"),
    (["train", "--plot", "c.txt"], "--plot 'c.txt': matplotlib cannot write '.txt'"),
    (["train", "--save", "same.png", "--plot", "same.png"], "--save 'same.png': a model file name must end in .npz"),
    (["train", "--save", "model"], "--save 'model': a model file name must end in .npz"),
    (["train", "--data", "m2.npz", "--save", "m2.npz"], "--save 'm2.npz' is also the file the command reads as --data"),
    (["train", "--resume"], "--resume needs --checkpoint"),
    (["train", "--threads", "4096"], "--threads 4096: at most"),
    (["predict", "m2.npz", "--output", "m2.npz"], "--output 'm2.npz' is also the file the command reads as model"),
    (["predict", "m2.npz", "--output", "nodir/p.txt"], "--output 'nodir/p.txt': folder 'nodir' does not exist"),
    (["predict", "m2.npz", "--output", "photos"], "--output 'photos' is a folder"),
    (["predict", "missing.npz"], "model 'missing.npz': no such file"),
    (["colorize", "apply", "m2.npz", "g.png", "g.png"], "output 'g.png' is also the file the command reads as input"),
    (["colorize", "apply", "m2.npz", "g.png", "nodir/c.png"], "output 'nodir/c.png': folder 'nodir' does not exist"),
    (["colorize", "apply", "m2.npz", "g.png", "c.txt"], "output 'c.txt': unknown image type '.txt'"),
    (["colorize", "apply", "m2.npz", "photos", "c.png"], "input 'photos' is a folder"),
    (["colorize", "train", "g.png", "--out", "photos"], "--out 'photos' is a folder"),
    (["colorize", "train", "g.png", "--out", "model.png"], "--out 'model.png': a model file name must end in .npz"),
    (["colorize", "train", "g.png", "--out", "nodir/m.npz"], "--out 'nodir/m.npz': folder 'nodir' does not exist"),
    (["demo", "colorize", "--out", "nodir/d.png"], "--out 'nodir/d.png': folder 'nodir' does not exist"),
    (["demo", "colorize", "--out", "d.txt"], "--out 'd.txt': matplotlib cannot write '.txt'"),
    (["compare", "--plot", "photos"], "--plot 'photos' is a folder"),
    (["compare", "--plot", "nodir/c.png"], "--plot 'nodir/c.png': folder 'nodir' does not exist"),
    (["sweep", "--grid", "nofile.json"], "--grid 'nofile.json': no such file"),
    (["sweep", "--grid", "photos"], "--grid 'photos' is a folder"),
    (["sweep", "--results", "photos"], "--results 'photos' is a folder"),
    (["sweep", "--results", "nodir/r.csv"], "--results 'nodir/r.csv': folder 'nodir' does not exist"),
    (["sweep", "--grid", "g.json", "--results", "g.json"], "--results 'g.json' is also the file the command reads as --grid"),
]


@pytest.mark.parametrize("argv, message", MISTAKES, ids=[" ".join(a) for a, _ in MISTAKES])
def test_a_file_mistake_fails_before_any_work(workdir, argv, message):
    before = snapshot(workdir)
    code, out, err = run(argv)
    command = " ".join(argv[:2]) if argv[0] in ("colorize",) else argv[0]
    assert code == 2
    assert err.startswith(f"fastnn {command}: error: {message}"), err
    assert err.count("\n") == 1  # one line
    assert out == ""  # no data set loaded (its header), no epoch, nothing trained
    assert "compiling" not in err
    assert snapshot(workdir) == before  # nothing written, nothing changed, no lock file left


def test_predict_does_not_replace_its_model(workdir):
    # the case: the predictions used to replace the model file (exit 0)
    from fastnn import Network
    from fastnn.datasets import load_digits

    X, y = load_digits()
    Network([64, 10, 10], seed=0).fit(X[:200], y[:200], epochs=1).save("m2.npz")
    before = snapshot(workdir)
    code, _, err = run(["predict", "m2.npz", "--output", "./m2.npz"])
    assert code == 2 and "is also the file the command reads as model" in err
    assert snapshot(workdir) == before
    assert Network.load("m2.npz").sizes == [64, 10, 10]


def test_a_symbolic_link_to_the_input_is_the_input(workdir):
    os.symlink("g.png", "link.png")
    code, _, err = run(["colorize", "apply", "m2.npz", "g.png", "link.png"])
    assert code == 2 and "'link.png' is also the file the command reads as input" in err


def test_save_and_checkpoint_may_name_one_file(workdir):
    code, out, err = run(["train", "--epochs", "1", "--no-progress", "--save", "run.npz", "--checkpoint", "run.npz"])
    assert code == 0, err
    assert "Saved model to run.npz (1 epoch)" in out  # singular
    assert sorted(os.listdir(workdir)) == ["g.json", "g.png", "m2.npz", "photos", "run.npz"]  # no lock file left


def test_outputs_of_one_command_must_differ():
    outputs = [("--a", "x.png", "plot"), ("--b", "./x.png", "plot")]
    with pytest.raises(ValueError, match=r"^--a 'x.png': --b names the same file; give each its own$"):
        _paths.check_outputs(outputs)
    assert _paths.check_outputs(outputs, same_ok=[("--b", "--a")]) == ["x.png", "./x.png"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_special_file_is_not_an_output(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match="exists and is not a regular file"):
        _paths.check_output(fifo, "--output")


# --------------------------------------------------------------------------- locks

def test_a_file_being_written_by_another_command_is_refused(workdir):
    with _paths.locked("busy.npz", "--save"):  # as another running command holds it
        before = snapshot(workdir)
        code, out, err = run(["train", "--epochs", "1", "--save", "busy.npz"])
        assert code == 2 and out == ""
        assert err == ("fastnn train: error: --save 'busy.npz' is being written by another running fastnn "
                       "command; wait for it to finish or give another file name\n")
        assert snapshot(workdir) == before
    assert not os.path.exists(_paths.lock_name("busy.npz"))  # released and removed


def test_a_lock_left_by_a_killed_command_does_not_block(workdir):
    open(_paths.lock_name("old.npz"), "w").close()  # the file stays, its lock died with the process
    code, _, err = run(["train", "--epochs", "1", "--no-progress", "--save", "old.npz"])
    assert code == 0, err
    assert os.path.exists("old.npz") and not os.path.exists(_paths.lock_name("old.npz"))


HOLDER = textwrap.dedent("""
    import sys, time
    from fastnn.cli import _paths
    with _paths.locked(sys.argv[1], "--save"):
        print("held", flush=True)
        time.sleep(60)
""")


def test_two_processes_writing_one_model(workdir):
    # another process (not a thread of this one) holds the file: the command line refuses it
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, "shared.npz"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        done = subprocess.run([sys.executable, "-m", "fastnn", "train", "--epochs", "1", "--save", "shared.npz"],
                              capture_output=True, text=True, timeout=300)
    finally:
        holder.kill()
        holder.wait()
    assert done.returncode == 2
    assert done.stderr.strip().endswith("is being written by another running fastnn command; wait for it to "
                                        "finish or give another file name")
    assert done.stdout == "" and not os.path.exists("shared.npz")


def test_the_console_script_refuses_a_folder_without_a_traceback(workdir):
    done = subprocess.run([sys.executable, "-m", "fastnn", "train", "--epochs", "1", "--save", "photos"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.splitlines() == ["fastnn train: error: --save 'photos' is a folder; give a file name "
                                        "(for example 'photos/model.npz')"]
    assert os.listdir("photos") == []


def test_predict_names_the_npy_it_accepts(workdir):
    from fastnn import Network
    from fastnn.datasets import load_digits

    X, y = load_digits()
    Network([64, 10, 10], seed=0).fit(X[:200], y[:200], epochs=1).save("m.npz")
    code, _, err = run(["predict", "m.npz", "--data", "nosuch"])
    assert code == 2 and err.count("\n") == 1 and ".npy" in err
    np.save("x.npy", X[:3])
    code, out, _ = run(["predict", "m.npz", "--data", "x.npy"])
    assert code == 0 and len(out.split()) == 3
