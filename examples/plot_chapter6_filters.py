"""
Chapter 6: a convolutional network's first-layer filters
========================================================

Chapter 6 trains convolutional networks with ``network3.py``; :mod:`fastnn.network3` runs the
same networks on the CPU. Here a small one (one conv-pool layer of 20 filters of 5x5, as in
the chapter, then a softmax) learns scikit-learn's digits, upscaled from 8x8 to 28x28 pixels
so that they have MNIST's size. After a few seconds of training its filters are no longer
noise: they show the strokes and edges the first layer responds to.
"""
import matplotlib.pyplot as plt
import numpy as np
from skimage.transform import resize

from fastnn import datasets
from fastnn.network3 import ConvPoolLayer, Network, ReLU, SoftmaxLayer

X_train, y_train, X_val, y_val = datasets.train_test_digits()


def upscale(X):
    """8x8 digits -> 28x28 images (bilinear), each row flattened as MNIST's."""
    return np.array([resize(x.reshape(8, 8), (28, 28), order=1) for x in X]).reshape(len(X), 784)


X_train, X_val = upscale(X_train), upscale(X_val)
mini_batch_size = 10
net = Network([
    ConvPoolLayer(image_shape=(mini_batch_size, 1, 28, 28), filter_shape=(20, 1, 5, 5),
                  poolsize=(2, 2), activation_fn=ReLU),
    SoftmaxLayer(n_in=20 * 12 * 12, n_out=10)], mini_batch_size, seed=0)
net.fit(X_train, y_train, epochs=8, mini_batch_size=mini_batch_size, eta=0.03, lmbda=0.1,
        validation_data=(X_val, y_val))
print(f"validation accuracy after {net.epochs_done_} epochs: {net.score(X_val, y_val):.1%}")

# %%
# The learning curves: training cost (mean log-likelihood of the mini-batches as they were
# trained, plus the L2 term) and validation accuracy, from ``history_``.
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(8, 3), layout="constrained")
epochs = [e + 1 for e in net.history_["epoch"]]
ax1.plot(epochs, net.history_["training_cost"], marker="o", ms=3)
ax1.set_xlabel("epoch")
ax1.set_ylabel("training cost")
ax2.plot(epochs, [100 * a for a in net.history_["validation_accuracy"]], marker="o", ms=3)
ax2.set_xlabel("epoch")
ax2.set_ylabel("validation accuracy (%)")

# %%
# The 20 learned filters, ``net.layers[0].w`` of shape ``(20, 1, 5, 5)``: the book's layout.
# Theano's ``conv2d`` (and fastnn) flips a filter before sliding it over the image, so each
# is shown flipped, as the pattern it matches.
w = net.layers[0].w[:, 0, ::-1, ::-1]
fig2, axes = plt.subplots(2, 10, figsize=(8, 1.9), layout="constrained")
for ax, f in zip(axes.ravel(), w):
    ax.imshow(f, cmap="gray")
    ax.set_axis_off()
plt.show()
