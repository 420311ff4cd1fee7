"""
Book experiment 2: weight initialisation
========================================

Reproduces chapter 3's "Weight initialization" figure (the book's
``fig/weight_initialization.py``): two ``[784, 30, 10]`` cross-entropy networks, one with the
new weights N(0, 1/n_in) (``init="default"``), one with the old N(0, 1) (``init="large"``),
trained for 30 epochs with mini-batches of 10, eta 0.1, lmbda 5.0, the validation accuracy
recorded after every epoch.

The book's numbers (MNIST, 50,000 training images): after the first epoch 92.70% with the
new weights against 86.43% with the old ones; after 30 epochs 96.50% and 96.37%.

**Scaled down here**: on scikit-learn's 8x8 digits (1,297 training and 500 test images).
It prints each initialisation's accuracy after the first and the last epoch.  With 64
inputs instead of 784 the old weights barely saturate the hidden neurons (z has a standard
deviation of about sqrt(64 x 0.1) = 2.5 instead of 9), so the head start of the new
weights, the book's point, does not show here: that is the size of the input, not a
difference of the algorithm.  The full-size run: ``fastnn book weight-init --full --data DIR``.
"""
from fastnn import datasets, experiments

X_train, y_train, X_test, y_test = datasets.train_test_digits()
result = experiments.run("weight-init", X_train, y_train, X_test, y_test)

# %%
# The book's figure: accuracy per epoch for both initialisations.
fig = experiments.figure(result)
book = experiments.BOOK["weight-init"]
for run in result["runs"]:
    print(f"{run['init']:>7} weights: fastnn {run['accuracy'][0]:.2%} -> {run['accuracy'][-1]:.2%} (digits); "
          f"book {book[run['init']]['accuracy after epoch 1']:.2%} -> {book[run['init']]['final accuracy']:.2%} "
          f"(MNIST)")
