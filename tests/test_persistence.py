"""Network.save / Network.load: round trip, atomic writes, and every kind of bad file."""
import os
import zipfile

import numpy as np
import pytest

from fastnn import Network, persistence
from fastnn.persistence import ModelFileError


@pytest.fixture(scope="module")
def trained(digits):
    X, y = digits
    net = Network([64, 12, 10], seed=11, cost="cross-entropy", init="default")
    net.fit(X[:300], y[:300], epochs=2, eta=0.5, lmbda=1.0, validation_data=(X[300:400], y[300:400]))
    return net


@pytest.fixture
def saved(trained, tmp_path):
    path = tmp_path / "model.npz"
    trained.save(path)
    return path


def rewrite(src, dst, **changes):
    """Copy the npz ``src`` to ``dst`` with entries replaced (value None: removed)."""
    with np.load(src, allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    for key, value in changes.items():
        if value is None:
            arrays.pop(key)
        else:
            arrays[key] = value
    with open(dst, "wb") as out:
        np.savez(out, **arrays)
    return dst


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_round_trip(tmp_path, digits, dtype):
    X, y = digits
    net = Network([64, 9, 10], seed=1, dtype=dtype, init="default", engine="reference")
    net.fit(X[:100], y[:100], epochs=2, eta=1.0)
    path = tmp_path / "m.npz"
    net.save(path)
    back = Network.load(path)
    assert (back.sizes, back.dtype, back.cost, back.init, back.engine) == (
        net.sizes, net.dtype, net.cost, net.init, net.engine)
    assert back._theta.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(back._theta, net._theta)
    assert back.history_ == net.history_
    assert back.epochs_done_ == 2 and back.fit_params_ == net.fit_params_
    assert back.rng.bit_generator.state == net.rng.bit_generator.state
    np.testing.assert_array_equal(back.rng.permutation(50), net.rng.permutation(50))
    np.testing.assert_array_equal(back.predict(X), net.predict(X))
    assert Network.load(path, engine="jit").engine == "jit"


def test_file_has_no_pickled_data(saved):
    with np.load(saved, allow_pickle=False) as f:
        for key in f.files:
            assert f[key].dtype != object


def test_file_name_is_kept_as_given(trained, tmp_path):
    path = tmp_path / "model.bin"
    trained.save(path)
    assert os.listdir(tmp_path) == ["model.bin"]
    np.testing.assert_array_equal(Network.load(path)._theta, trained._theta)


# -- atomic writes --------------------------------------------------------------------------

@pytest.mark.parametrize("error", [OSError("disk full"), KeyboardInterrupt()])
def test_failing_write_leaves_the_old_file(saved, monkeypatch, error):
    before = saved.read_bytes()
    net = Network.load(saved)
    net.weights[0][...] += 1.0  # the network changed since it was saved

    def broken_savez(f, **arrays):
        f.write(b"PK\x03\x04 half a zip")
        raise error

    monkeypatch.setattr(persistence.np, "savez", broken_savez)
    with pytest.raises(type(error)):
        net.save(saved)
    assert saved.read_bytes() == before
    assert os.listdir(saved.parent) == [saved.name]  # no temporary file left
    Network.load(saved)


def test_failing_rename_leaves_the_old_file(trained, saved, monkeypatch):
    before = saved.read_bytes()

    def no_replace(src, dst):
        raise PermissionError("rename refused")

    monkeypatch.setattr(persistence.os, "replace", no_replace)
    with pytest.raises(PermissionError):
        trained.save(saved)
    assert saved.read_bytes() == before
    assert os.listdir(saved.parent) == [saved.name]


def test_atomic_write_missing_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        with persistence.atomic_write(tmp_path / "nope" / "x.npz"):
            pass


# -- bad files ------------------------------------------------------------------------------

def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        Network.load(tmp_path / "absent.npz")


def test_zero_byte_file(tmp_path):
    path = tmp_path / "empty.npz"
    path.write_bytes(b"")
    with pytest.raises(ModelFileError, match="empty"):
        Network.load(path)


def test_text_file(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("sizes: 784, 30, 10\n")
    with pytest.raises(ModelFileError, match="not an .npz"):
        Network.load(path)


def test_directory(tmp_path):
    with pytest.raises(ModelFileError, match="directory"):
        Network.load(tmp_path)


def test_single_npy_file(tmp_path):
    path = tmp_path / "w.npy"
    np.save(path, np.zeros(3))
    with pytest.raises(ModelFileError, match="single .npy"):
        Network.load(path)


def test_foreign_npz(tmp_path):
    path = tmp_path / "other.npz"
    np.savez(path, a=np.arange(3), b=np.ones((2, 2)))
    with pytest.raises(ModelFileError, match="not a fastnn model file"):
        Network.load(path)


def test_pickled_object_array_is_never_unpickled(tmp_path, saved):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    path = tmp_path / "evil.npz"
    with np.load(saved, allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    arrays["weights_0"] = np.array([Evil()], dtype=object)
    np.savez(path, **arrays)
    with pytest.raises(ModelFileError):
        Network.load(path)
    assert not marker.exists()


@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.9, 0.999])
def test_truncated_file(saved, fraction):
    data = saved.read_bytes()
    saved.write_bytes(data[:int(len(data) * fraction)])
    with pytest.raises(ModelFileError, match="corrupted or truncated|not a fastnn"):
        Network.load(saved)


def test_every_corrupted_byte_is_detected_or_harmless(trained, saved):
    """Flip bytes all over the file: load must raise ModelFileError or return the same network."""
    data = bytearray(saved.read_bytes())
    detected = 0
    for pos in range(0, len(data), max(1, len(data) // 400)):
        bad = bytearray(data)
        bad[pos] ^= 0x5A
        saved.write_bytes(bytes(bad))
        try:
            back = Network.load(saved)
        except ModelFileError:
            detected += 1
            continue
        np.testing.assert_array_equal(back._theta, trained._theta)
        assert back.history_ == trained.history_
        assert back.rng.bit_generator.state == trained.rng.bit_generator.state
    assert detected > 300  # nearly every byte matters (zip timestamps and padding do not)


def test_wrong_version(saved, tmp_path):
    path = rewrite(saved, tmp_path / "v2.npz", format_version=np.array(2, dtype=np.int64))
    with pytest.raises(ModelFileError, match="version 2 is newer"):
        Network.load(path)


def test_missing_version(saved, tmp_path):
    path = rewrite(saved, tmp_path / "nov.npz", format_version=None)
    with pytest.raises(ModelFileError, match="format_version"):
        Network.load(path)


@pytest.mark.parametrize("key, value, message", [
    ("weights_0", np.zeros((64, 12)), "weights_0 has shape"),
    ("biases_1", np.zeros(10), "biases_1 has shape"),
    ("weights_1", np.zeros((10, 12), dtype=np.float32), "dtype float32"),
    ("weights_1", np.full((10, 12), np.nan), "NaN"),
    ("weights_1", None, "missing parameter array 'weights_1'"),
    ("extra", np.zeros(2), "unexpected entries"),
    ("meta", np.array("{not json"), "not valid JSON"),
    ("meta", np.zeros(3), "must be JSON text"),
    ("rng_state", np.array('{"bit_generator": "Evil"}'), "bit generator"),
    ("rng_state", np.array('{"bit_generator": "PCG64", "state": 3}'), "rng_state"),
    ("history", np.array('{"epoch": [0]}'), "history"),
    ("format", np.array("something.else"), "not a fastnn model file"),
])
def test_bad_entries(saved, tmp_path, key, value, message):
    path = rewrite(saved, tmp_path / "bad.npz", **{key: value})
    with pytest.raises(ModelFileError, match=message):
        Network.load(path)


@pytest.mark.parametrize("field, value, message", [
    ("cost", "hinge", "cost='hinge'"),
    ("sizes", [64, 0, 10], "invalid network description"),
    ("dtype", "int8", "invalid network description"),
    ("epochs_done", -1, "epochs_done"),
    ("engine", "gpu", "engine='gpu'"),
])
def test_bad_meta_values(saved, tmp_path, field, value, message):
    import json

    with np.load(saved, allow_pickle=False) as f:
        meta = json.loads(str(f["meta"]))
    meta[field] = value
    path = rewrite(saved, tmp_path / "bad.npz", meta=np.array(json.dumps(meta)))
    with pytest.raises(ModelFileError, match=message):
        Network.load(path)


def test_zip_without_format_entry_lists_its_contents(tmp_path):
    path = tmp_path / "z.npz"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("readme.txt", "hello")
    with pytest.raises(ModelFileError, match="no 'format' entry"):
        Network.load(path)
