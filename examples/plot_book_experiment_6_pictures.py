"""
Book experiment 6: what the network learned
===========================================

Three pictures of a trained network: each hidden neuron's incoming weights drawn as an image
(the picture behind chapter 1's discussion of what the hidden neurons detect, and chapter
6's), the test images the network gets wrong with their true and predicted labels (the
"really bad images" of chapter 1), and the confusion matrix.

Here a ``[64, 30, 10]`` network trains for 30 epochs on scikit-learn's 8x8 digits (chapter
3's recipe: cross-entropy, N(0, 1/n_in) weights, eta 0.5, lmbda 5.0).  It prints the test
accuracy and the most frequent confusion.  ``fastnn train --plot-units UNITS.png`` draws the
first picture for a network trained on the command line.
"""
import numpy as np

from fastnn import Network, datasets, plot

X_train, y_train, X_test, y_test = datasets.train_test_digits()
net = Network([64, 30, 10], seed=0, cost="cross-entropy", init="default")
net.fit(X_train, y_train, epochs=30, mini_batch_size=10, eta=0.5, lmbda=5.0)
print(f"test accuracy {net.score(X_test, y_test):.2%}")

# %%
# The 30 hidden neurons' weights as 8x8 images (red positive, blue negative).
units = plot.hidden_units(net, shape=(8, 8))

# %%
# The test digits the network gets wrong, titled ``true -> predicted``.
wrong = plot.misclassified(net, X_test, y_test, shape=(8, 8))

# %%
# The confusion matrix: rows are the true digits, columns the predictions.
confusion = plot.confusion(net, X_test, y_test)
counts = np.zeros((10, 10), dtype=int)
np.add.at(counts, (y_test, net.predict(X_test)), 1)
np.fill_diagonal(counts, 0)
t, p = np.unravel_index(np.argmax(counts), counts.shape)
print(f"most frequent confusion: {counts[t, p]} test images of a {t} taken for a {p}")
