"""Model and checkpoint files survive SIGKILL at any moment, and foreign files are refused.

The kill test runs child processes that save (or train with a per-epoch
checkpoint) in a loop and SIGKILLs them at random moments: afterwards the
file is always a complete model equal to one the child meant to write.
tests/test_persistence.py covers the other load errors (zero-byte, truncated,
corrupted, wrong version, foreign .npz, wrong shapes); here: files of other
programs and resuming into a mismatched network.
"""
import gzip
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from fastnn import Network
from fastnn.persistence import ModelFileError

ROOT = Path(__file__).resolve().parents[1]
KILLS = int(os.environ.get("FASTNN_KILLS", "30"))
PARALLEL = 5  # children killed per round
SIZES = [64, 100, 10]  # ~80k parameters: a 650 kB file, so saves take a while

CHILD = r"""
import sys
import numpy as np
from fastnn import Network

path, mode = sys.argv[1], sys.argv[2]
rng = np.random.default_rng(0)
X, y = rng.random((300, 64)), rng.integers(0, 10, 300)
if mode == "warm":  # compile and cache the kernels once, before children run side by side
    Network({sizes}, seed=3).fit(X, y, epochs=1, mini_batch_size=30)
elif mode.startswith("twins="):  # uninterrupted runs of the checkpointing child, one per epoch count
    for epochs in map(int, mode[len("twins="):].split(",")):
        Network({sizes}, seed=3).fit(X, y, epochs=epochs, mini_batch_size=30).save(f"{{path}}.{{epochs}}")
elif mode == "save":
    a, b = Network({sizes}, seed=1), Network({sizes}, seed=2)
    a.save(path)
    print("ready", flush=True)
    i = 0
    while True:  # alternate two different models into the same file
        (b if i % 2 else a).save(path)
        i += 1
else:
    net = Network({sizes}, seed=3)
    net.save(path)  # epoch 0
    print("ready", flush=True)
    net.fit(X, y, epochs=10**6, mini_batch_size=30, checkpoint=path)
""".format(sizes=SIZES)


def _uninterrupted_twins(tmp_path, epoch_counts):
    """The networks an uninterrupted checkpointing child holds after each of ``epoch_counts``
    epochs, trained in a fresh process like the children (not in this one: a process's last
    bits may depend on what it compiled before, docs/guide/testing.md), by epoch count."""
    counts = sorted(set(epoch_counts))
    twin = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path / "twin.npz"),
                           "twins=" + ",".join(map(str, counts))],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert twin.returncode == 0, twin.stderr[-2000:]
    return {k: Network.load(tmp_path / f"twin.npz.{k}") for k in counts}


def _start(path, mode):
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(path), mode], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return proc


def _kill_at_random(procs, rng):
    """Wait until every child is saving, then SIGKILL each after a random delay."""
    for proc in procs:
        line = proc.stdout.readline()
        if line.strip() != "ready":  # the child failed: collect its error (it has exited)
            proc.kill()
            raise AssertionError(f"child did not start: {line!r} {proc.communicate()[1][-2000:]}")
    delays = sorted((rng.uniform(0.0, 0.6), i) for i in range(len(procs)))
    start = time.monotonic()
    for delay, i in delays:
        time.sleep(max(0.0, start + delay - time.monotonic()))
        if procs[i].poll() is not None:  # still saving when killed, or it failed
            raise AssertionError(f"child exited early: {procs[i].communicate()[1][-2000:]}")
        procs[i].send_signal(signal.SIGKILL)
    for proc in procs:
        proc.wait(timeout=60)
        assert proc.returncode == -signal.SIGKILL
        proc.stdout.close()
        proc.stderr.close()


def test_sigkill_while_saving_leaves_old_or_new_file(tmp_path):
    rng = np.random.default_rng(12345)
    a, b = Network(SIZES, seed=1), Network(SIZES, seed=2)
    caught_mid_write = 0
    # several children compiling into numba's cache at once could trip over each other's
    # half-written cache files: that would test numba, not fastnn, so warm the cache first
    warm = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path / "warm.npz"), "warm"],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert warm.returncode == 0, warm.stderr[-2000:]
    modes = ["save", "checkpoint"] * (KILLS // 2) + ["save"] * (KILLS % 2)
    checkpoints = []
    for round_start in range(0, len(modes), PARALLEL):
        batch = modes[round_start:round_start + PARALLEL]
        dirs = [tmp_path / f"kill{round_start + i}" for i in range(len(batch))]
        for d in dirs:
            d.mkdir()
        procs = [_start(d / "model.npz", mode) for d, mode in zip(dirs, batch)]
        _kill_at_random(procs, rng)
        for d, mode in zip(dirs, batch):
            leftovers = [p for p in d.iterdir() if p.name != "model.npz"]
            caught_mid_write += bool(leftovers)  # a temporary file: killed inside a save
            loaded = Network.load(d / "model.npz")  # never a broken file
            if mode == "save":
                assert (np.array_equal(loaded._theta, a._theta)
                        or np.array_equal(loaded._theta, b._theta))
            else:
                checkpoints.append(loaded)
                assert loaded.history_["epoch"] == list(range(loaded.epochs_done_))
    twins = _uninterrupted_twins(tmp_path, [net.epochs_done_ for net in checkpoints])
    for loaded in checkpoints:
        np.testing.assert_array_equal(loaded._theta, twins[loaded.epochs_done_]._theta)
    print(f"{len(modes)} kills, {caught_mid_write} inside a save (temporary file left behind)")
    assert caught_mid_write > 0, "no kill landed inside a save: the test proved nothing"


# -- files of other programs --------------------------------------------------------------

def _write(path, data):
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("name, make", [
    ("png", lambda: b"\x89PNG\r\n\x1a\n" + bytes(200)),
    ("gzip-pickle", lambda: gzip.compress(pickle.dumps(((np.zeros(3), np.zeros(3)),)))),
    ("pickle", lambda: pickle.dumps({"weights": [np.zeros((3, 2))]})),
    ("hdf5", lambda: b"\x89HDF\r\n\x1a\n" + bytes(500)),
    ("random", lambda: np.random.default_rng(0).bytes(4096)),
    ("zip-magic-only", lambda: b"PK\x03\x04"),
])
def test_files_of_other_programs(tmp_path, name, make):
    path = _write(tmp_path / "model.npz", make())
    with pytest.raises(ModelFileError):
        Network.load(path)


def test_resume_into_a_different_network_is_refused(tmp_path):
    rng = np.random.default_rng(0)
    X, y = rng.random((40, 6)), rng.integers(0, 3, 40)
    ck = tmp_path / "ck.npz"
    Network([6, 5, 3], seed=0).fit(X, y, epochs=1, checkpoint=ck)
    other = Network([6, 4, 3], seed=0)
    before = other._theta.copy()
    with pytest.raises(ValueError):
        other.fit(X, y, epochs=2, checkpoint=ck, resume=True)
    np.testing.assert_array_equal(other._theta, before)


def test_corrupted_npy_header_inside_a_valid_zip(tmp_path):
    """A damaged .npy header (zip CRC intact) makes NumPy's header parser raise SyntaxError:
    it must surface as ModelFileError like every other corruption."""
    import zipfile

    good = tmp_path / "good.npz"
    Network([6, 5, 3], seed=0).save(good)
    bad = tmp_path / "bad.npz"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "weights_0.npy":
                data = data.replace(b"'shape': ", b"'shape}: ", 1)
            dst.writestr(item, data)
    with pytest.raises(ModelFileError):
        Network.load(bad)
