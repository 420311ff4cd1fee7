"""
The book's chapter-1 script
===========================

Chapter 1 of *Neural Networks and Deep Learning* trains a ``[784, 30, 10]`` sigmoid network
on MNIST with stochastic gradient descent::

    import mnist_loader, network
    training_data, validation_data, test_data = mnist_loader.load_data_wrapper()
    net = network.Network([784, 30, 10])
    net.SGD(training_data, 30, 10, 3.0, test_data=test_data)

With fastnn only the import changes (``from fastnn import mnist_loader, network``). MNIST's
``mnist.pkl.gz`` is not bundled, so this example makes the same calls on scikit-learn's 8x8
digits, converted to the book's format: a list of ``(x, y)`` pairs of column vectors, one-hot
``y`` for training and integer ``y`` for testing.
"""
from fastnn import datasets, network

X_train, y_train, X_test, y_test = datasets.train_test_digits()
training_data = datasets.to_book_format(X_train, y_train, one_hot=True)
test_data = datasets.to_book_format(X_test, y_test, one_hot=False)
x, y = training_data[0]
print(f"{len(training_data)} training pairs, x {x.shape}, y {y.shape}; {len(test_data)} test pairs")

# %%
# The book's call, unchanged: 30 epochs, mini-batches of 10, eta = 3.0. It prints one line
# per epoch, as the book's ``network.py`` does.
net = network.Network([64, 30, 10])
net.SGD(training_data, 30, 10, 3.0, test_data=test_data)

# %%
# The book's methods are all there: ``feedforward`` takes a column, ``evaluate`` counts the
# correct test predictions.
print("output for the first test digit:", net.feedforward(test_data[0][0]).ravel().round(2))
print("label:", test_data[0][1], " correct:", net.evaluate(test_data), "/", len(test_data))
