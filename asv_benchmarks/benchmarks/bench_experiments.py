"""asv: chapter 5's speed of learning (``Network.layer_speeds``) and an epoch of the book's
vanishing-gradient experiment (one full-batch step on 1,000 images, speeds recorded).

Data are 1,000 synthetic MNIST-shaped rows (:func:`fastnn.bench.synthetic_data`, no files),
the size ``fig/generate_gradient.py`` uses; every ``setup`` warms the kernels up first.
"""
from fastnn import Network
from fastnn.bench import synthetic_data, warm_up

N_IMAGES = 1000
HIDDEN = {"2": 2, "3": 3, "4": 4}


def _net(hidden, engine="jit"):
    return Network([784] + [30] * HIDDEN[hidden] + [10], seed=0, cost="cross-entropy", init="default",
                   engine=engine)


class LayerSpeeds:
    """Seconds of ``layer_speeds(X, y)`` over N_IMAGES rows: the jit kernel's one pass against
    the reference engine's per-sample loop (the book's ``get_average_gradient``)."""

    params = (list(HIDDEN), ["jit", "reference"])
    param_names = ["hidden_layers", "engine"]
    timeout = 300

    def setup_cache(self):
        return synthetic_data(N_IMAGES)

    def setup(self, data, hidden, engine):
        warm_up("float64")
        self.X, self.y = data
        self.net = _net(hidden, engine)
        self.net.layer_speeds(self.X[:10], self.y[:10])

    def time_layer_speeds(self, data, hidden, engine):
        self.net.layer_speeds(self.X, self.y)


class VanishingGradientEpoch:
    """Seconds of one epoch of the book's vanishing-gradient run: the speeds, then one
    full-batch step (mini-batch of N_IMAGES, eta 0.1, lmbda 5.0)."""

    params = (list(HIDDEN),)
    param_names = ["hidden_layers"]
    timeout = 300

    def setup_cache(self):
        return synthetic_data(N_IMAGES)

    def setup(self, data, hidden):
        warm_up("float64")
        self.X, self.y = data
        self.net = _net(hidden)
        self._epoch()

    def _epoch(self):
        self.net.fit(self.X, self.y, epochs=1, mini_batch_size=N_IMAGES, eta=0.1, lmbda=5.0,
                     record_layer_speeds=True, training_metrics="none")

    def time_epoch(self, data, hidden):
        self._epoch()
