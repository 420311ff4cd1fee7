"""asv: one epoch as the hidden layer grows, fastnn against the tuned NumPy matrix form.

``[784, hidden, 10]`` for hidden 30, 100, 300 and 1000 at mini-batch 10 and 100 on
synthetic data (:func:`fastnn.bench.synthetic_data`): whether the jit engine's lead over
BLAS holds as the products get large (``fastnn bench --hidden-sweep`` prints the same
comparison in one run).  The jit kernels are warmed up in ``setup``; the NumPy row is
:func:`fastnn.bench.rivals.train_tuned_numpy` (BLAS's own threads), which includes a short
warm-up of its own (20 mini-batches).
"""
import numpy as np

from fastnn import Network
from fastnn.bench import initial_state, rivals, synthetic_data, warm_up

N_TRAIN = 5_000


class HiddenSize:
    """Seconds of one epoch on N_TRAIN samples of ``[784, hidden, 10]``, float64, eta 3."""

    params = ([30, 100, 300, 1000], [10, 100], ["jit", "numpy"])
    param_names = ["hidden", "mini_batch_size", "engine"]
    timeout = 300

    def setup_cache(self):
        return synthetic_data(N_TRAIN)

    def setup(self, data, hidden, mini_batch_size, engine):
        warm_up("float64")
        self.X, self.y = data
        self.sizes = [784, hidden, 10]
        self.Y = np.eye(10)[self.y]
        self.start = initial_state(self.sizes, len(self.X), epochs=1, seed=0, dtype="float64")

    def time_epoch(self, data, hidden, mini_batch_size, engine):
        if engine == "jit":
            net = Network(self.sizes, seed=0)
            net.fit(self.X, self.y, epochs=1, mini_batch_size=mini_batch_size, eta=3.0)
        else:
            weights, biases, orders = self.start
            rivals.train_tuned_numpy(weights, biases, self.X, self.Y, orders, mini_batch_size, 3.0)
