"""asv: chapter 6's convolutional network (fastnn.network3): training epoch and inference.

The chapter's net, CP20(5x5) -> CP40(5x5) -> FC100 -> softmax, on synthetic 28x28 images
(uniform noise in [0, 1], no files), small enough to run quickly: 1,000 training images per
epoch, 2,000 for inference.  ``setup`` trains a few mini-batches first, so timings never
include compilation.
"""
import numpy as np

from fastnn.network3 import ConvPoolLayer, FullyConnectedLayer, Network, ReLU, SoftmaxLayer, sigmoid

N_TRAIN = 1_000
N_INFER = 2_000
ACTIVATIONS = {"ReLU": ReLU, "sigmoid": sigmoid}


def _book_net(mini_batch_size, act, dtype, p_dropout=0.0):
    return Network([
        ConvPoolLayer(image_shape=(mini_batch_size, 1, 28, 28), filter_shape=(20, 1, 5, 5), activation_fn=act),
        ConvPoolLayer(image_shape=(mini_batch_size, 20, 12, 12), filter_shape=(40, 20, 5, 5), activation_fn=act),
        FullyConnectedLayer(n_in=40 * 4 * 4, n_out=100, activation_fn=act, p_dropout=p_dropout),
        SoftmaxLayer(n_in=100, n_out=10, p_dropout=p_dropout)], mini_batch_size, seed=0, dtype=dtype)


def _data(n, dtype):
    rng = np.random.default_rng(0)
    return rng.random((n, 784)).astype(dtype), rng.integers(0, 10, n)


class ConvEpoch:
    """Seconds of ``fit(X, y, epochs=1)`` on N_TRAIN images (eta 0.03, lmbda 0.1)."""

    params = ([10, 100], ["float64", "float32"], ["ReLU", "sigmoid"], [0.0, 0.5])
    param_names = ["mini_batch_size", "dtype", "activation", "p_dropout"]
    timeout = 300

    def setup(self, mini_batch_size, dtype, activation, p_dropout):
        self.X, self.y = _data(N_TRAIN, dtype)
        self.net = _book_net(mini_batch_size, ACTIVATIONS[activation], dtype, p_dropout)
        self.net.fit(self.X[:mini_batch_size], self.y[:mini_batch_size], 1, mini_batch_size, 0.03)  # compile

    def time_epoch(self, mini_batch_size, dtype, activation, p_dropout):
        self.net.fit(self.X, self.y, 1, self.net.mini_batch_size, 0.03, lmbda=0.1)


class ConvPredict:
    """Seconds of ``predict_proba`` on N_INFER images."""

    params = (["float64", "float32"],)
    param_names = ["dtype"]
    timeout = 300

    def setup(self, dtype):
        self.X, _ = _data(N_INFER, dtype)
        self.net = _book_net(10, ReLU, dtype)
        self.net.predict_proba(self.X[:10])

    def time_predict_proba(self, dtype):
        self.net.predict_proba(self.X)
