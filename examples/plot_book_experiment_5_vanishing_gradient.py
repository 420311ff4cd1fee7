"""
Book experiment 5: the vanishing gradient
=========================================

Reproduces chapter 5's measurements ("The vanishing gradient problem", the book's
``fig/generate_gradient.py``): the speed of learning of each hidden layer, ||dC/db^l||,
the norm of the gradient of the cost with respect to the layer's biases averaged over
1,000 training images (:meth:`fastnn.Network.layer_speeds`), for networks with 2, 3 and 4
hidden layers of 30 neurons (cross-entropy, N(0, 1/n_in) weights), at initialisation and
before each of 500 epochs of full-batch gradient descent (eta 0.1, lmbda 5.0).

The book's numbers at initialisation (MNIST): [0.07, 0.31] for 2 hidden layers,
[0.012, 0.060, 0.283] for 3, [0.003, 0.017, 0.070, 0.285] for 4: each hidden layer learns
about 4 to 6 times slower than the next one.

**Scaled down here**: the first 1,000 of scikit-learn's 8x8 digits and 200 epochs (about ten
seconds).  It prints the book's lines ("Average gradient for the hidden layers: ...") and the
speeds after training for each depth, then the ratios of neighbouring layers next to the
book's.  The full-size run (500 epochs, 1,000 images): ``fastnn book vanishing-gradient
--full --data DIR``; on 1,000 real MNIST images it takes about a minute (see the guide).
"""
import numpy as np

from fastnn import datasets, experiments

X_train, y_train, X_test, y_test = datasets.train_test_digits()
result = experiments.run("vanishing-gradient", X_train, y_train, X_test, y_test)

# %%
# The book's figures, one per depth: every layer slows down as the network learns, and the
# earlier layers stay one order of magnitude slower per layer.
fig = experiments.figure(result)
book = experiments.BOOK["vanishing-gradient"]["initial"]
for run in result["runs"]:
    depth = len(run["initial"])
    ours = np.array(run["initial"])
    theirs = np.array(book[str(depth)])
    print(f"{depth} hidden layers: ratio of each layer's speed to the previous one: "
          f"fastnn {np.round(ours[1:] / ours[:-1], 1).tolist()} (digits), "
          f"book {np.round(theirs[1:] / theirs[:-1], 1).tolist()} (MNIST)")
