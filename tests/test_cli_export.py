"""``fastnn export MODEL.npz MODEL.onnx``: exit status, the file it writes, one-line errors.

``tests/data/digits-64-10-10-fastnn-0.1.0.npz`` was saved by fastnn 0.1.0 (before ONNX export
existed) with ``Network([64, 10, 10], seed=3, cost="cross-entropy", init="default")`` trained 4
epochs (mini-batch 10, eta 0.5) on the digits split of ``datasets.train_test_digits()``.  The
exported model's outputs are compared with ``predict_proba`` of the same file loaded by
``Network.load``: <= 1e-12 relative elementwise (float64), labels identical.
"""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from fastnn import Network, cli  # noqa: E402

FIXTURE = Path(__file__).parent / "data" / "digits-64-10-10-fastnn-0.1.0.npz"


def outputs(path, X):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"X": X})


def max_rel(a, b):
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.where(a == b, 0.0, np.abs(a - b) / np.abs(b)).max())


def one_error_line(err):
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("fastnn export: error: "), err
    return lines[0]


def test_export_a_model_saved_by_an_earlier_fastnn(tmp_path, capsys, digits_split):
    target = tmp_path / "old.onnx"
    assert cli.main(["export", str(FIXTURE), str(target)]) == 0
    out = capsys.readouterr().out
    assert f"Wrote {target}" in out and "input X (batch, 64)" in out
    onnx.checker.check_model(onnx.load(target), full_check=True)
    net = Network.load(FIXTURE)
    X = np.concatenate([digits_split[2], np.random.default_rng(0).uniform(-50, 50, (2000, 64))])
    activations, label = outputs(target, X)
    assert max_rel(activations, net.predict_proba(X)) <= 1e-12
    np.testing.assert_array_equal(label, net.predict(X))
    meta = {p.key: p.value for p in onnx.load(target).metadata_props}
    assert meta["cost"] == "cross-entropy" and meta["sizes"] == "[64, 10, 10]"


def test_export_a_model_saved_now_as_float32(tmp_path, digits_split):
    X, y, X_test, _ = digits_split
    net = Network([64, 20, 10], seed=0).fit(X, y, epochs=2)
    net.save(tmp_path / "net.npz")
    assert cli.main(["export", str(tmp_path / "net.npz"), str(tmp_path / "net.onnx"), "--dtype", "float32",
                     "--opset", "13"]) == 0
    model = onnx.load(tmp_path / "net.onnx")
    assert model.opset_import[0].version == 13
    activations, label = outputs(tmp_path / "net.onnx", X_test.astype(np.float32))
    assert activations.dtype == np.float32
    assert np.abs(activations - net.predict_proba(X_test)).max() <= 1e-6
    np.testing.assert_array_equal(label, net.predict(X_test))


def test_untrained_model_needs_the_flag(tmp_path, capsys):
    Network([64, 10, 10], seed=0).save(tmp_path / "fresh.npz")
    assert cli.main(["export", str(tmp_path / "fresh.npz"), str(tmp_path / "fresh.onnx")]) == 2
    assert "--allow-untrained" in one_error_line(capsys.readouterr().err)
    assert not (tmp_path / "fresh.onnx").exists()
    assert cli.main(["export", str(tmp_path / "fresh.npz"), str(tmp_path / "fresh.onnx"),
                     "--allow-untrained"]) == 0


def test_errors_are_one_line_and_write_nothing(tmp_path, capsys):
    (tmp_path / "notes.npz").write_text("not a model")
    existing = tmp_path / "existing.onnx"
    existing.write_bytes(b"previous")
    cases = [([str(tmp_path / "missing.npz"), str(existing)], "missing.npz': no such file"),
             ([str(tmp_path / "notes.npz"), str(existing)], "not an .npz archive"),
             ([str(FIXTURE), str(tmp_path / "no" / "dir.onnx")], "does not exist"),
             ([str(FIXTURE), str(tmp_path)], "is a folder"),
             ([str(FIXTURE), str(existing), "--opset", "8"], "opset 8 is too old")]
    for argv, message in cases:
        assert cli.main(["export", *argv]) == 2, argv
        assert message in one_error_line(capsys.readouterr().err), argv
    assert existing.read_bytes() == b"previous"
    assert sorted(os.listdir(tmp_path)) == ["existing.onnx", "notes.npz"]


def test_unwritable_output_is_one_line(tmp_path, capsys, monkeypatch):
    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("tempfile.mkstemp", denied)
    assert cli.main(["export", str(FIXTURE), str(tmp_path / "out.onnx")]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert "cannot write the ONNX model (Permission denied)" in line and "out.onnx" in line
    assert os.listdir(tmp_path) == []


def test_process_exit_status():
    proc = subprocess.run([sys.executable, "-m", "fastnn", "export", "no-such.npz", "x.onnx"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    one_error_line(proc.stderr)
