"""
Book experiment 1: overfitting and L2 regularisation
====================================================

Reproduces chapter 3's overfitting figures ("Overfitting and regularization", the book's
``fig/overfitting.py``): a ``[784, 30, 10]`` network with the cross-entropy cost and the old
N(0, 1) weights trains on only 1,000 MNIST images for 400 epochs (mini-batches of 10,
eta 0.5), recording after every epoch the cost and accuracy on the training images and on
the 10,000 test images; then again with L2 regularisation, lmbda 0.1 (``regularized.json``).

The book's numbers: without L2 the training accuracy reaches 100% while the test accuracy
stops near 82.3% (best 82.27%) and the test cost is lowest after epoch 14 and rises
afterwards; with lmbda 0.1 the test accuracy climbs to 87.1%.

**Scaled down here**: MNIST is not bundled, so this runs on scikit-learn's 8x8 digits,
300 training images, 200 epochs, the 500 digits of the test split (a few seconds).
It prints the book-style lines of the last epoch for both runs, then the book's numbers.
The full-size run: ``fastnn book overfitting --full --data DIR`` (a folder of MNIST IDX
files or the book's ``mnist.pkl.gz``).
"""
from fastnn import datasets, experiments

X_train, y_train, X_test, y_test = datasets.train_test_digits()
result = experiments.run("overfitting", X_train, y_train, X_test, y_test)

# %%
# The four curves of the book's figures, for both runs. Without L2 the training cost goes to
# nearly 0 and the training accuracy to 100% while the test cost stops falling after about
# 50 epochs: what the network still learns are the peculiarities of its 300 images. On the
# small 8x8 digits the effect is milder than on MNIST (the full-size run on real MNIST images,
# in the guide, shows the book's rise of the test cost after epoch 14).
fig = experiments.figure(result)
book = experiments.BOOK["overfitting"]
for run in result["runs"]:
    key = f"lmbda {run['lmbda']:g}" if run["lmbda"] else "lmbda 0.0"
    print(f"lmbda {run['lmbda']:g}: best test accuracy fastnn {max(run['test_accuracy']):.2%} (digits), "
          f"book {book[key]['best test accuracy']:.2%} (MNIST)")
