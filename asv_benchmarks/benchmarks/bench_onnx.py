"""asv: inference of an exported network in ONNX Runtime beside fastnn's own ``predict_proba``.

Seconds to compute the output activations of N_ROWS synthetic MNIST-shaped rows
(:func:`fastnn.bench.synthetic_data`), the answer to "which one should I serve with?".
"fastnn" is ``Network.predict_proba`` (jit kernels, threads chosen at run time);
"onnxruntime" is an ``InferenceSession`` on the CPU execution provider with its default
threads, running the model of ``Network.to_onnx`` (the same outputs, see the deployment
guide), input conversion included.  Without onnxruntime (it is in the ``onnx`` extra) the
ONNX Runtime rows are skipped.
"""
import numpy as np

from fastnn import Network
from fastnn.bench import synthetic_data, warm_up

N_ROWS = 50_000
SIZES = {"784-30-10": [784, 30, 10], "784-100-10": [784, 100, 10]}


def ort_session(net):
    """An ONNX Runtime session (CPU provider, default threads) of ``net.to_onnx``; skips without it."""
    try:
        import onnxruntime
    except ImportError:
        raise NotImplementedError("onnxruntime is not installed (pip install 'fastnn[onnx]')")
    model = net.to_onnx(allow_untrained=True).SerializeToString()
    return onnxruntime.InferenceSession(model, providers=["CPUExecutionProvider"])


class OnnxInference:
    """Seconds of one forward pass over N_ROWS rows: fastnn vs ONNX Runtime."""

    params = (list(SIZES), ["float64", "float32"], ["fastnn", "onnxruntime"])
    param_names = ["sizes", "dtype", "runtime"]

    def setup_cache(self):
        return synthetic_data(N_ROWS)[0]

    def setup(self, X, sizes, dtype, runtime):
        self.X = X.astype(dtype)
        net = Network(SIZES[sizes], seed=0, dtype=dtype)
        if runtime == "fastnn":
            warm_up(dtype)
            self.run = net.predict_proba
        else:
            session = ort_session(net)
            self.run = lambda X: session.run(["activations"], {"X": X})[0]
        self.run(self.X[:1000])  # start the threads (and fastnn's choice of their number)

    def time_inference(self, X, sizes, dtype, runtime):
        self.run(self.X)


N3_ROWS = 2_000
"""Rows of the chapter-6 benchmark (its inference costs about 0.4 ms per row and dtype)."""


class Network3OnnxInference:
    """Seconds of one forward pass of chapter 6's CP20-FC100-S network over N3_ROWS rows.

    "fastnn" is ``network3.Network.predict_proba`` (one thread); "onnxruntime" runs the model
    of ``network3.Network.to_onnx`` fed 1,000 rows per ``run`` (the deployment guide's advice
    for chapter-6 models), with ONNX Runtime's default threads.
    """

    params = (["float64", "float32"], ["fastnn", "onnxruntime"])
    param_names = ["dtype", "runtime"]

    def setup_cache(self):
        return synthetic_data(N3_ROWS)[0]

    def setup(self, X, dtype, runtime):
        from fastnn.network3 import ConvPoolLayer, FullyConnectedLayer, Network, SoftmaxLayer

        self.X = X.astype(dtype)
        net = Network([ConvPoolLayer((20, 1, 5, 5), (10, 1, 28, 28), (2, 2)),
                       FullyConnectedLayer(20 * 12 * 12, 100), SoftmaxLayer(100, 10)], 10, seed=0, dtype=dtype)
        if runtime == "fastnn":
            self.run = net.predict_proba
        else:
            session = ort_session(net)
            self.run = lambda X: [session.run(["activations"], {"X": X[i:i + 1000]})[0]
                                  for i in range(0, len(X), 1000)]
        self.run(self.X[:20])  # kernels compiled (or loaded), threads started

    def time_inference(self, X, dtype, runtime):
        self.run(self.X)
