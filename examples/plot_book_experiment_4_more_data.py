"""
Book experiment 4: more training data
=====================================

Reproduces chapter 3's accuracy-against-training-set-size figures (the book's
``fig/more_data.py``): for each size a ``[784, 30, 10]`` cross-entropy network with the old
N(0, 1) weights trains on the first images for 1.5 million / size epochs (so every size
gets the same number of gradient evaluations), mini-batches of 10, eta 0.5 and
lmbda = size / 10,000, and is scored on held-out images; the book compares scikit-learn's
SVM (``SVC()`` with its default settings) trained on the same images.

The book's numbers (MNIST validation accuracy): from 69.1% with 100 images to 96.0% with
50,000; the SVM from 25.1% to 94.5%.

**Scaled down here**: on scikit-learn's 8x8 digits, sizes 50 to 1,297 and 60,000 samples per
size, with the SVM.  It prints one line per size.  The full-size run:
``fastnn book more-data --full --svm --data DIR``.
"""
from fastnn import datasets, experiments

X_train, y_train, X_test, y_test = datasets.train_test_digits()
result = experiments.run("more-data", X_train, y_train, X_test, y_test, svm=True)

# %%
# The book's combined figure (log scale of the size), and its numbers for comparison.
fig = experiments.figure(result)
book = experiments.BOOK["more-data"]
for size, nn, svm in zip(book["train_sizes"], book["network accuracy"], book["svm accuracy"]):
    print(f"book, {size:>6} MNIST images: network {nn:.2%}, SVM {svm:.2%}")
