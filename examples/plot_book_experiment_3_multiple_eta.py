"""
Book experiment 3: three learning rates
=======================================

Reproduces chapter 3's learning-rate figure ("How to choose a neural network's
hyper-parameters?", the book's ``fig/multiple_eta.py``): ``[784, 30, 10]`` cross-entropy
networks with the new N(0, 1/n_in) weights, trained for 30 epochs with mini-batches of 10 and
lmbda 5.0 at eta = 0.025, 0.25 and 2.5, the cost on the whole training set recorded after
every epoch.

The book's numbers (MNIST): the cost after 30 epochs is 0.339 for eta 0.025 and for 0.25
(0.25 gets there much faster), and 0.861 for eta 2.5, which oscillates from the start.

**Scaled down here**: on scikit-learn's 8x8 digits (1,297 training images).  It prints each
eta's cost after the first and the last epoch.  The full-size run:
``fastnn book multiple-eta --full --data DIR``.
"""
from fastnn import datasets, experiments

X_train, y_train, X_test, y_test = datasets.train_test_digits()
result = experiments.run("multiple-eta", X_train, y_train, X_test, y_test)

# %%
# The book's figure: the training cost per epoch for each eta.
fig = experiments.figure(result)
book = experiments.BOOK["multiple-eta"]["final training cost"]
for run in result["runs"]:
    print(f"eta {run['eta']:g}: final training cost fastnn {run['training_cost'][-1]:.3f} (digits), "
          f"book {book[format(run['eta'], 'g')]:.3f} (MNIST)")
