"""The book's per-sample algorithm (``network.py`` / ``network2.py``) in plain NumPy.

This is the oracle the kernels are tested against, so it stays as close to
the book as Python 3 allows: weights are ``(out, in)`` matrices, biases and
activations ``(n, 1)`` columns, and a mini-batch is a list of ``(x, y)``
column pairs processed one sample at a time.  Functions take and return lists
of arrays and never modify their inputs.
"""
import numpy as np

QUADRATIC = "quadratic"
CROSS_ENTROPY = "cross-entropy"


def sigmoid(z):
    """The sigmoid function, equation 3 (the book's formula; exp overflow gives exactly 0)."""
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-z))


def sigmoid_prime(z):
    """Derivative of the sigmoid function."""
    return sigmoid(z) * (1 - sigmoid(z))


def feedforward(weights, biases, a):
    """Return the network's output for input column ``a`` (eq. 22)."""
    for b, w in zip(biases, weights):
        a = sigmoid(np.dot(w, a) + b)
    return a


def cost_derivative(output_activations, y):
    """Vector of partial derivatives dC_x/da for the quadratic cost."""
    return output_activations - y


def output_delta(cost, z, a, y):
    """delta^L: BP1 for the quadratic cost, equation 66 for cross-entropy."""
    if cost == CROSS_ENTROPY:
        return a - y
    return cost_derivative(a, y) * sigmoid_prime(z)


def backprop(weights, biases, x, y, cost=QUADRATIC):
    """Return ``(nabla_b, nabla_w)``, the gradient of C_x, layer by layer like the biases and weights."""
    nabla_b = [np.zeros(b.shape, dtype=b.dtype) for b in biases]
    nabla_w = [np.zeros(w.shape, dtype=w.dtype) for w in weights]
    # feedforward
    activation = x
    activations = [x]  # list to store all the activations, layer by layer
    zs = []  # list to store all the z vectors, layer by layer
    for b, w in zip(biases, weights):
        z = np.dot(w, activation) + b
        zs.append(z)
        activation = sigmoid(z)
        activations.append(activation)
    # backward pass (BP1, then BP3/BP4 for the last layer)
    delta = output_delta(cost, zs[-1], activations[-1], y)
    nabla_b[-1] = delta
    nabla_w[-1] = np.dot(delta, activations[-2].transpose())
    # l = 1 means the last layer, l = 2 the second-last, and so on (the book's negative indices)
    for l in range(2, len(weights) + 1):
        z = zs[-l]
        sp = sigmoid_prime(z)
        delta = np.dot(weights[-l + 1].transpose(), delta) * sp  # BP2
        nabla_b[-l] = delta  # BP3
        nabla_w[-l] = np.dot(delta, activations[-l - 1].transpose())  # BP4
    return nabla_b, nabla_w


def update_mini_batch(weights, biases, mini_batch, eta, lmbda=0.0, n=1, cost=QUADRATIC,
                      sample_weight=None):
    """Apply one gradient step for ``mini_batch`` (a list of ``(x, y)`` columns).

    Returns the new ``(weights, biases)``.  With ``lmbda > 0`` this is
    ``network2.py``'s L2-regularised step (eq. 93) with ``n`` the training set size.

    ``sample_weight`` (one weight per pair, or None) multiplies each sample's
    gradient by its weight; the step is then eta / (sum of the weights)
    instead of eta / m, and 0 if the weights sum to 0.
    """
    if sample_weight is not None:
        return _weighted_update(weights, biases, mini_batch, eta, lmbda, n, cost, sample_weight)
    nabla_b = [np.zeros(b.shape, dtype=b.dtype) for b in biases]
    nabla_w = [np.zeros(w.shape, dtype=w.dtype) for w in weights]
    for x, y in mini_batch:
        delta_nabla_b, delta_nabla_w = backprop(weights, biases, x, y, cost)
        nabla_b = [nb + dnb for nb, dnb in zip(nabla_b, delta_nabla_b)]
        nabla_w = [nw + dnw for nw, dnw in zip(nabla_w, delta_nabla_w)]
    weights = [(1 - eta * (lmbda / n)) * w - (eta / len(mini_batch)) * nw
               for w, nw in zip(weights, nabla_w)]
    biases = [b - (eta / len(mini_batch)) * nb for b, nb in zip(biases, nabla_b)]
    return weights, biases


def _weighted_update(weights, biases, mini_batch, eta, lmbda, n, cost, sample_weight):
    """:func:`update_mini_batch` with sample weights: sum_x s_x grad C_x, step eta / sum_x s_x."""
    nabla_b = [np.zeros(b.shape, dtype=b.dtype) for b in biases]
    nabla_w = [np.zeros(w.shape, dtype=w.dtype) for w in weights]
    for (x, y), s in zip(mini_batch, sample_weight):
        delta_nabla_b, delta_nabla_w = backprop(weights, biases, x, y, cost)
        nabla_b = [nb + s * dnb for nb, dnb in zip(nabla_b, delta_nabla_b)]
        nabla_w = [nw + s * dnw for nw, dnw in zip(nabla_w, delta_nabla_w)]
    return gradient_step(weights, biases, nabla_w, nabla_b, eta, lmbda, n,
                         batch_rate(eta, len(mini_batch), sample_weight))


def batch_rate(eta, m, sample_weight=None):
    """The step's factor: eta / m, or eta / (sum of the batch's weights), 0 if they sum to 0."""
    if sample_weight is None:
        return eta / m
    total = float(np.sum(sample_weight, dtype=np.float64))
    return eta / total if total > 0 else 0.0


def gradient_step(weights, biases, nabla_w, nabla_b, eta, lmbda, n, rate):
    """w -> (1 - eta*(lmbda/n)) w - rate*nabla_w and b -> b - rate*nabla_b (eq. 20-21, 93)."""
    weights = [(1 - eta * (lmbda / n)) * w - rate * nw for w, nw in zip(weights, nabla_w)]
    biases = [b - rate * nb for b, nb in zip(biases, nabla_b)]
    return weights, biases


def sgd_epoch(weights, biases, X, Y, order, mini_batch_size, eta, lmbda=0.0, n=None, cost=QUADRATIC,
              sample_weight=None):
    """One epoch over the samples ``X[order]`` (rows of ``X``/``Y``), as the book's SGD loop body.

    ``n``, the training-set size of the regulariser, defaults to ``len(order)``.
    ``sample_weight``: one weight per row of ``X`` (see :func:`update_mini_batch`), or None.
    """
    n = len(order) if n is None else n
    for k in range(0, len(order), mini_batch_size):
        rows = order[k:k + mini_batch_size]
        mini_batch = [(X[i].reshape(-1, 1), Y[i].reshape(-1, 1)) for i in rows]
        weights_of_batch = None if sample_weight is None else sample_weight[rows]
        weights, biases = update_mini_batch(weights, biases, mini_batch, eta, lmbda, n, cost,
                                            weights_of_batch)
    return weights, biases
