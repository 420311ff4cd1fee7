"""fastnn.Network: the book's ``network.py`` surface over a choice of engines.

The class only validates, converts and dispatches: the computing is done by
an engine (:mod:`fastnn.engines`) on one flat parameter buffer, of which
``net.weights`` and ``net.biases`` are views.
"""
import numpy as np

from . import _bookdata, _params
from ._validation import check_array, check_dtype, check_float, check_int, check_sizes, check_targets
from .engines import COST_CODES, ENGINES

INITS = ("large", "default")


class Network:
    """A sigmoid network trained by mini-batch stochastic gradient descent.

    Parameters
    ----------
    sizes : list of int
        Neurons per layer, input first, e.g. ``[784, 30, 10]``.
    seed : int or None
        Seeds ``numpy.random.default_rng``, which draws the initial
        parameters and every epoch's shuffle.  The same seed gives the same
        run in every engine.
    engine : {"jit", "reference", "matrix"}
        ``"jit"``: Numba kernels (fast).  ``"reference"``: the book's
        per-sample NumPy algorithm.  ``"matrix"``: chapter 2's NumPy matrix form.
    dtype : {"float64", "float32"}
        Precision of parameters and computation.
    cost : {"quadratic", "cross-entropy"}
        Chapter 1's quadratic cost or chapter 3's cross-entropy cost.
    init : {"large", "default"}
        ``"large"``: weights and biases N(0, 1) (chapter 1).  ``"default"``:
        weights N(0, 1/n_in), biases N(0, 1) (chapter 3).

    Attributes
    ----------
    num_layers, sizes, weights, biases
        As in the book: ``weights[l]`` has shape ``(sizes[l+1], sizes[l])``,
        ``biases[l]`` has shape ``(sizes[l+1], 1)``.
    """

    def __init__(self, sizes, *, seed=None, engine="jit", dtype="float64", cost="quadratic",
                 init="large"):
        self.sizes = check_sizes(sizes)
        self.num_layers = len(self.sizes)
        if engine not in ENGINES:
            raise ValueError(f"engine must be one of {sorted(ENGINES)}, got {engine!r}")
        if cost not in COST_CODES:
            raise ValueError(f"cost must be one of {sorted(COST_CODES)}, got {cost!r}")
        if init not in INITS:
            raise ValueError(f"init must be one of {list(INITS)}, got {init!r}")
        self.engine = engine
        self.cost = cost
        self.init = init
        self.dtype = np.dtype(check_dtype(dtype))
        self._engine = ENGINES[engine]()
        self.rng = np.random.default_rng(seed)
        self._sizes, self._w_off, self._b_off, n_params = _params.layout(self.sizes)
        self._theta = np.empty(n_params, dtype=self.dtype)
        self._w_views = _params.weight_views(self._theta, self._sizes, self._w_off)
        self._b_views = _params.bias_views(self._theta, self._sizes, self._b_off)
        self._weights = list(self._w_views)
        self._biases = list(self._b_views)
        self._initialise()

    def _initialise(self):
        """Draw biases, then weights, as network.py does (in that order)."""
        for b in self._b_views:
            b[...] = self.rng.standard_normal(b.shape)
        for w in self._w_views:
            scale = 1.0 if self.init == "large" else 1.0 / np.sqrt(w.shape[1])
            w[...] = self.rng.standard_normal(w.shape) * scale

    def __repr__(self):
        return (f"Network({self.sizes}, engine={self.engine!r}, dtype={self.dtype.name!r}, "
                f"cost={self.cost!r})")

    # -- parameters: the book's lists, backed by the flat buffer -----------------
    @property
    def weights(self):
        """List of weight matrices, ``weights[l]`` of shape ``(sizes[l+1], sizes[l])``."""
        return self._weights

    @weights.setter
    def weights(self, new):
        self._replace(self._weights, self._w_views, list(new), "weights")

    @property
    def biases(self):
        """List of bias columns, ``biases[l]`` of shape ``(sizes[l+1], 1)``."""
        return self._biases

    @biases.setter
    def biases(self, new):
        self._replace(self._biases, self._b_views, list(new), "biases")

    def _replace(self, current, views, new, name):
        if len(new) != len(views):
            raise ValueError(f"{name} must have {len(views)} arrays (one per layer), got {len(new)}")
        self._sync_list(new, views, name)
        current[:] = views

    @staticmethod
    def _sync_list(arrays, views, name):
        """Copy any array the user put into ``arrays`` into the flat buffer.

        Every array is checked before anything is copied, so a bad one leaves
        the parameters untouched.
        """
        changed = [l for l, (arr, view) in enumerate(zip(arrays, views)) if arr is not view]
        for l in changed:
            arr, view = np.asarray(arrays[l]), views[l]
            column_as_vector = view.shape[1] == 1 and arr.shape == view.shape[:1]
            if arr.shape != view.shape and not column_as_vector:
                raise ValueError(f"{name}[{l}] must have shape {view.shape}, got {arr.shape}")
            if not np.isfinite(arr).all():
                raise ValueError(f"{name}[{l}] contains NaN or infinity")
        for l in changed:
            views[l][...] = np.reshape(arrays[l], views[l].shape)
            arrays[l] = views[l]

    def _sync(self):
        """Make edits of ``weights``/``biases`` list elements visible to every engine."""
        self._sync_list(self._weights, self._w_views, "weights")
        self._sync_list(self._biases, self._b_views, "biases")

    def _store(self, weights, biases):
        """Write full lists of new parameters (from a reference engine) into the buffer."""
        for view, w in zip(self._w_views, weights):
            view[...] = w
        for view, b in zip(self._b_views, biases):
            view[...] = b

    def _flatten(self, weights, biases):
        """Flat buffer holding ``weights``/``biases`` lists in this network's layout."""
        flat = np.empty_like(self._theta)
        nabla_b, nabla_w = _params.split(flat, self._sizes, self._w_off, self._b_off)
        for view, w in zip(nabla_w, weights):
            view[...] = w
        for view, b in zip(nabla_b, biases):
            view[...] = b
        return flat

    # -- the book's surface ------------------------------------------------------
    def feedforward(self, a):
        """Return the output for input ``a``: an ``(n_in, 1)`` column, an ``(n_in,)`` vector
        or ``(n_in, k)`` columns; the result has the matching shape."""
        self._sync()
        a = np.asarray(a)
        n_in = self.sizes[0]
        if a.ndim == 1:
            X = check_array(a.reshape(1, -1), "a", dtype=self.dtype, n_features=n_in)
            return self._engine.feedforward(self, X)[0]
        if a.ndim != 2 or a.shape[0] != n_in:
            raise ValueError(f"feedforward expects a column of shape ({n_in}, 1), a vector ({n_in},) "
                             f"or columns ({n_in}, k); got shape {a.shape}")
        X = check_array(a.T, "a", dtype=self.dtype, n_features=n_in)
        return np.ascontiguousarray(self._engine.feedforward(self, X).T)

    def SGD(self, training_data, epochs, mini_batch_size, eta, test_data=None):
        """Train with mini-batch SGD, printing progress like the book's ``network.py``.

        ``training_data``: list (or zip) of ``(x, y)`` pairs, or arrays ``(X, y)``.
        If ``test_data`` is given, prints ``Epoch j: correct / n_test`` after
        each epoch, else ``Epoch j complete``.
        """
        X, Y, _ = _bookdata.to_arrays(training_data, self.sizes[0], self.sizes[-1], self.dtype)
        test = None
        if test_data is not None:
            test = _bookdata.to_arrays(test_data, self.sizes[0], self.sizes[-1], self.dtype, "test_data")

        def report(j):
            if test is not None:
                print(f"Epoch {j}: {self._count_correct(test[0], test[2])} / {len(test[2])}")
            else:
                print(f"Epoch {j} complete")

        self._train(X, Y, epochs, mini_batch_size, eta, 0.0, report)

    def update_mini_batch(self, mini_batch, eta):
        """Apply one gradient-descent step using the ``(x, y)`` pairs of ``mini_batch``."""
        X, Y, _ = _bookdata.to_arrays(mini_batch, self.sizes[0], self.sizes[-1], self.dtype, "mini_batch")
        eta = check_float(eta, "eta", positive=True)
        self._sync()
        self._engine.update_mini_batch(self, X, Y, eta, 0.0, 1)

    def backprop(self, x, y):
        """Return ``(nabla_b, nabla_w)``, the gradient of the cost C_x for one sample,
        as lists shaped like ``biases`` and ``weights``."""
        X, Y, _ = _bookdata.to_arrays([(x, y)], self.sizes[0], self.sizes[-1], self.dtype, "(x, y)")
        self._sync()
        flat = self._engine.backprop(self, X[0], Y[0])
        nabla_b, nabla_w = _params.split(flat, self._sizes, self._w_off, self._b_off)
        return nabla_b, nabla_w

    def evaluate(self, test_data):
        """Number of test inputs for which the output neuron with the highest activation
        is the label."""
        X, _, labels = _bookdata.to_arrays(test_data, self.sizes[0], self.sizes[-1], self.dtype, "test_data")
        return self._count_correct(X, labels)

    def cost_derivative(self, output_activations, y):
        """Vector of partial derivatives dC_x/da for the output activations (quadratic cost)."""
        return np.asarray(output_activations) - np.asarray(y)

    # -- array surface -----------------------------------------------------------
    def fit(self, X, y, epochs=30, mini_batch_size=10, eta=3.0, lmbda=0.0, validation_data=None):
        """Train on rows of ``X`` with labels ``y`` (ints ``(n,)`` or one-hot ``(n, n_out)``).

        ``lmbda`` is the L2 regularisation parameter of chapter 3 (eq. 93).

        ``validation_data``: optional ``(X_val, y_val)``; its accuracy is
        recorded per epoch in ``self.validation_accuracy_``.  Returns ``self``.
        """
        X, Y = self._check_X_y(X, y)
        val = None
        if validation_data is not None:
            X_val, y_val = validation_data
            val = self._check_X_y(X_val, y_val, "X_val", "y_val")
        self.validation_accuracy_ = []

        def record(j):
            if val is not None:
                self.validation_accuracy_.append(self._accuracy(val[0], np.argmax(val[1], axis=1)))

        self._train(X, Y, epochs, mini_batch_size, eta, lmbda, record)
        return self

    def predict_proba(self, X):
        """Output activations for every row of ``X``, shape ``(n, n_out)``."""
        X = check_array(X, "X", dtype=self.dtype, n_features=self.sizes[0])
        self._sync()
        return self._engine.feedforward(self, X)

    def predict(self, X):
        """Predicted class (index of the most active output neuron) per row, shape ``(n,)``."""
        return np.argmax(self.predict_proba(X), axis=1)

    def score(self, X, y):
        """Fraction of rows of ``X`` classified as their label in ``y``."""
        X, Y = self._check_X_y(X, y)
        return self._accuracy(X, np.argmax(Y, axis=1))

    # -- internals ---------------------------------------------------------------
    def _check_X_y(self, X, y, x_name="X", y_name="y"):
        X = check_array(X, x_name, dtype=self.dtype, n_features=self.sizes[0])
        Y, _ = check_targets(y, X.shape[0], self.sizes[-1], self.dtype, name=y_name)
        return X, Y

    def _count_correct(self, X, labels):
        self._sync()
        return int(np.sum(np.argmax(self._engine.feedforward(self, X), axis=1) == labels))

    def _accuracy(self, X, labels):
        return self._count_correct(X, labels) / len(labels)

    def _train(self, X, Y, epochs, mini_batch_size, eta, lmbda, after_epoch):
        """The SGD loop shared by ``SGD`` and ``fit``: shuffle, one engine epoch, report."""
        epochs = check_int(epochs, "epochs", 0)
        mini_batch_size = check_int(mini_batch_size, "mini_batch_size", 1)
        eta = check_float(eta, "eta", positive=True)
        lmbda = check_float(lmbda, "lmbda", nonnegative=True)
        self._sync()
        n = X.shape[0]
        for j in range(epochs):
            order = self.rng.permutation(n)
            self._engine.epoch(self, X, Y, order, mini_batch_size, eta, lmbda, n)
            after_epoch(j)
