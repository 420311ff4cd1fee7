"""Helpers shared by the ONNX export tests: run a model in ONNX Runtime, compare elementwise."""
import os

import numpy as np


def run(model, X):
    """(activations, label) of ``model`` (a ModelProto or a file name) in ONNX Runtime."""
    import onnxruntime as ort

    source = model if isinstance(model, (str, os.PathLike)) else model.SerializeToString()
    session = ort.InferenceSession(source, providers=["CPUExecutionProvider"])
    return session.run(None, {"X": X})


def rel_diff(a, b):
    """Elementwise |a - b| / |b| (0 where both are equal, zeros included)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(a == b, 0.0, np.abs(a - b) / np.abs(b))
