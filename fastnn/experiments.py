"""The book's experiments: the runs behind the figures of chapters 3 and 5.

Each function reruns one of the scripts in the ``fig/`` folder of the book's repository
with fastnn, on the data it is given, and returns its numbers as a plain dict (JSON-ready):

* :func:`overfitting` — ``fig/overfitting.py``: [n_in, 30, 10], cross-entropy, the old
  N(0, 1) initialisation, 1,000 training images, 400 epochs, mini-batches of 10, eta 0.5,
  without and with L2 (chapter 3, "Overfitting and regularization");
* :func:`weight_init` — ``fig/weight_initialization.py``: the old and the new
  initialisation, 30 epochs, eta 0.1, lmbda 5.0 (chapter 3, "Weight initialization");
* :func:`multiple_eta` — ``fig/multiple_eta.py``: the training cost for eta 0.025, 0.25 and
  2.5 (chapter 3, "How to choose a neural network's hyper-parameters?");
* :func:`more_data` — ``fig/more_data.py``: accuracy against the training-set size, each size
  trained for 1.5 million samples with lmbda = size / 10,000 (chapter 3), optionally next
  to scikit-learn's SVM as in the book;
* :func:`vanishing_gradient` — ``fig/generate_gradient.py``: each hidden layer's speed of
  learning (:meth:`fastnn.Network.layer_speeds`) of [n_in, 30, ..., 30, 10] nets with 2, 3
  and 4 hidden layers, before and during 500 epochs of full-batch gradient descent on
  1,000 images, eta 0.1, lmbda 5.0 (chapter 5, "The vanishing gradient problem").

:data:`SETTINGS` holds each experiment's arguments at the book's size (``"full"``) and
scaled down for scikit-learn's 1,797 digits (``"quick"``, the size of the gallery
examples); :data:`BOOK` the book's own numbers, read from the JSON files its scripts
wrote (``fig/*.json`` in its repository); :func:`figure` draws a result like the book's
figure.  ``fastnn book EXPERIMENT`` runs them from the command line.
"""
import time

import numpy as np

from ._figures import new_figure, save_figure as _write_figure
from .network import Network

EXPERIMENTS = ("overfitting", "weight-init", "multiple-eta", "more-data", "vanishing-gradient")
"""The experiments, by their command-line names."""

SETTINGS = {
    "overfitting": {"full": {"n_train": 1000, "epochs": 400, "lmbdas": (0.0, 0.1)},
                    "quick": {"n_train": 300, "epochs": 200, "lmbdas": (0.0, 0.1)}},
    "weight-init": {"full": {"epochs": 30}, "quick": {"epochs": 30}},
    "multiple-eta": {"full": {"epochs": 30}, "quick": {"epochs": 30}},
    "more-data": {"full": {"train_sizes": (100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000),
                           "samples_per_size": 1500000},
                  "quick": {"train_sizes": (50, 100, 200, 500, 1000, 1297), "samples_per_size": 60000}},
    "vanishing-gradient": {"full": {"n_train": 1000, "epochs": 500},
                           "quick": {"n_train": 1000, "epochs": 200}},
}
"""Keyword arguments of each experiment: ``"full"`` the book's, ``"quick"`` scaled down for the digits."""

BOOK = {
    "overfitting": {"source": "fig/overfitting.json and fig/regularized.json (MNIST, 10,000 test images)",
                    "lmbda 0.0": {"final test accuracy": 0.8223, "best test accuracy": 0.8227,
                                  "final training accuracy": 1.0, "epoch of the lowest test cost": 14},
                    "lmbda 0.1": {"final test accuracy": 0.8695, "best test accuracy": 0.8710,
                                  "final training accuracy": 1.0}},
    "weight-init": {"source": "fig/weight_initialization_30.json (MNIST, 10,000 validation images)",
                    "default": {"accuracy after epoch 1": 0.9270, "final accuracy": 0.9650},
                    "large": {"accuracy after epoch 1": 0.8643, "final accuracy": 0.9637}},
    "multiple-eta": {"source": "fig/multiple_eta.json (MNIST, 50,000 training images)",
                     "final training cost": {"0.025": 0.339, "0.25": 0.339, "2.5": 0.861}},
    "more-data": {"source": "fig/more_data.json and fig/more_data_svm.json (MNIST validation accuracy)",
                  "train_sizes": [100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000],
                  "network accuracy": [0.6909, 0.7637, 0.8529, 0.8885, 0.9127, 0.9324, 0.9489, 0.9585, 0.9597],
                  "svm accuracy": [0.2507, 0.4893, 0.7513, 0.8387, 0.8849, 0.9146, 0.9245, 0.9347, 0.9448]},
    "vanishing-gradient": {"source": "fig/norms_during_training_{2,3,4}_layers.json (1,000 MNIST images)",
                           "initial": {"2": [0.0657, 0.3092], "3": [0.0118, 0.0600, 0.2831],
                                       "4": [0.0030, 0.0171, 0.0695, 0.2851]},
                           "after 500 epochs": {"2": [0.00343, 0.00963], "3": [8.56e-05, 0.000218, 0.00126],
                                                "4": [8.21e-06, 2.61e-05, 0.000183, 0.000925]}},
}
"""The book's numbers (its scripts' JSON output; accuracies as fractions)."""


def _log(log, line):
    if log is not None:
        log(line)


def _sizes(X, y, hidden):
    """``[n_in, *hidden, n_out]``: ``n_out`` from one-hot targets' width or the largest int label."""
    y = np.asarray(y)
    if y.ndim not in (1, 2):
        raise ValueError(f"y must be int labels of shape (n,) or one-hot targets of shape (n, n_out), "
                         f"got shape {y.shape}")
    n_out = y.shape[1] if y.ndim == 2 else int(np.max(y)) + 1
    return [np.shape(X)[1]] + list(hidden) + [n_out]


def _first(X, y, n, what):
    """The first ``n`` rows (the book's ``training_data[:n]``), refusing too few."""
    if n > len(X):
        raise ValueError(f"{what} needs {n} training rows, the data has {len(X)}: use more data "
                         f"or a smaller setting")
    return X[:n], y[:n]


def overfitting(X_train, y_train, X_test, y_test, *, n_train=1000, epochs=400, lmbdas=(0.0, 0.1),
                eta=0.5, mini_batch_size=10, seed=12345678, log=print):
    """Chapter 3's overfitting run (``fig/overfitting.py``), without and with L2.

    A [n_in, 30, n_out] network, cross-entropy cost, N(0, 1) weights
    (``large_weight_initializer``), trained on the first ``n_train`` rows for ``epochs``
    epochs; after every epoch the cost (with the L2 term) and accuracy on the training
    rows and on the test rows are recorded, as ``network2.SGD`` with every
    ``monitor_*`` flag.

    Parameters
    ----------
    X_train, y_train, X_test, y_test : arrays
        Rows of inputs, and int labels or one-hot targets (the same for every experiment).
    n_train, epochs, eta, mini_batch_size, seed : int or float
        The book's values by default.
    lmbdas : sequence of float
        One run per value (the book: 0.0, then 0.1 in ``regularized.json``).
    log : callable or None
        Receives the book-style lines (default: print).

    Returns
    -------
    dict
        ``{"experiment", "settings", "seconds", "runs"}``; each run holds ``lmbda`` and the
        per-epoch lists ``training_cost``, ``training_accuracy``, ``test_cost``,
        ``test_accuracy`` (accuracies as fractions).
    """
    X, y = _first(X_train, y_train, n_train, "overfitting")
    runs = []
    start = time.perf_counter()
    for lmbda in lmbdas:
        net = Network(_sizes(X_train, y_train, [30]), seed=seed, cost="cross-entropy", init="large")
        net.fit(X, y, epochs=epochs, mini_batch_size=mini_batch_size, eta=eta, lmbda=lmbda,
                validation_data=(X_test, y_test), training_metrics="exact")
        h = net.history_
        run = {"lmbda": float(lmbda), "training_cost": h["training_cost"],
               "training_accuracy": h["training_accuracy"], "test_cost": h["validation_cost"],
               "test_accuracy": h["validation_accuracy"]}
        runs.append(run)
        acc = run["test_accuracy"]
        _log(log, f"lmbda = {lmbda}: Epoch {epochs - 1} training complete")
        _log(log, f"Cost on training data: {run['training_cost'][-1]}")
        _log(log, f"Accuracy on training data: {round(run['training_accuracy'][-1] * len(y))} / {len(y)}")
        _log(log, f"Cost on evaluation data: {run['test_cost'][-1]}")
        _log(log, f"Accuracy on evaluation data: {round(acc[-1] * len(y_test))} / {len(y_test)}")
        _log(log, f"Best test accuracy {max(acc):.2%} after epoch {int(np.argmax(acc))}; lowest test cost "
                  f"after epoch {int(np.argmin(run['test_cost']))}")
    return _result("overfitting", dict(n_train=n_train, epochs=epochs, lmbdas=list(lmbdas), eta=eta,
                                       mini_batch_size=mini_batch_size, seed=seed), start, runs)


def weight_init(X_train, y_train, X_test, y_test, *, epochs=30, hidden=30, eta=0.1, lmbda=5.0,
                mini_batch_size=10, seed=12345678, log=print):
    """Chapter 3's weight initialisation (``fig/weight_initialization.py``).

    Two [n_in, hidden, n_out] cross-entropy networks, one with the new N(0, 1/n_in)
    weights (``init="default"``), one with the old N(0, 1) (``init="large"``), trained
    alike; the test accuracy after every epoch.

    Returns
    -------
    dict
        ``runs``: one per initialisation, ``{"init", "accuracy"}`` (per epoch, fractions).
    """
    runs = []
    start = time.perf_counter()
    for init in ("default", "large"):
        net = Network(_sizes(X_train, y_train, [hidden]), seed=seed, cost="cross-entropy", init=init)
        net.fit(X_train, y_train, epochs=epochs, mini_batch_size=mini_batch_size, eta=eta, lmbda=lmbda,
                validation_data=(X_test, y_test), training_metrics="none")
        acc = net.history_["validation_accuracy"]
        runs.append({"init": init, "accuracy": acc})
        _log(log, f"{init} weights: accuracy after epoch 0: {round(acc[0] * len(y_test))} / {len(y_test)}, "
                  f"after epoch {epochs - 1}: {round(acc[-1] * len(y_test))} / {len(y_test)}")
    return _result("weight-init", dict(epochs=epochs, hidden=hidden, eta=eta, lmbda=lmbda,
                                       mini_batch_size=mini_batch_size, seed=seed), start, runs)


def multiple_eta(X_train, y_train, X_test=None, y_test=None, *, etas=(0.025, 0.25, 2.5), epochs=30,
                 lmbda=5.0, mini_batch_size=10, seed=12345678, log=print):
    """Chapter 3's learning rates (``fig/multiple_eta.py``): the training cost per epoch for each eta.

    [n_in, 30, n_out] networks, cross-entropy, N(0, 1/n_in) weights, lmbda 5.0; the cost
    is network2.py's ``total_cost`` of the whole training set after each epoch.  The test
    rows are not used (accepted so every experiment takes the same arguments).

    Returns
    -------
    dict
        ``runs``: one per eta, ``{"eta", "training_cost"}``.
    """
    runs = []
    start = time.perf_counter()
    for eta in etas:
        net = Network(_sizes(X_train, y_train, [30]), seed=seed, cost="cross-entropy", init="default")
        net.fit(X_train, y_train, epochs=epochs, mini_batch_size=mini_batch_size, eta=eta, lmbda=lmbda,
                training_metrics="exact")
        cost = net.history_["training_cost"]
        runs.append({"eta": float(eta), "training_cost": cost})
        _log(log, f"eta = {eta}: cost on training data after epoch 0: {cost[0]:.4f}, "
                  f"after epoch {epochs - 1}: {cost[-1]:.4f}")
    return _result("multiple-eta", dict(etas=list(etas), epochs=epochs, lmbda=lmbda,
                                        mini_batch_size=mini_batch_size, seed=seed), start, runs)


def more_data(X_train, y_train, X_test, y_test, *, train_sizes=(100, 200, 500, 1000, 2000, 5000, 10000,
                                                                20000, 50000),
              samples_per_size=1500000, eta=0.5, mini_batch_size=10, svm=False, seed=12345678, log=print):
    """Chapter 3's accuracy against the training-set size (``fig/more_data.py``).

    For each size a fresh [n_in, 30, n_out] cross-entropy network with N(0, 1) weights is
    trained on the first ``size`` rows for ``samples_per_size // size`` epochs (the same
    number of gradient evaluations for every size) with lmbda = size / 10,000, then
    scored on the test rows.  Sizes larger than the training set are skipped (and said so).

    Parameters
    ----------
    svm : bool
        Also fit scikit-learn's ``SVC()`` (default settings, as the book) on each size.

    Returns
    -------
    dict
        ``runs``: one per size, ``{"size", "epochs", "lmbda", "accuracy"}`` (and ``svm_accuracy``).
    """
    runs = []
    start = time.perf_counter()
    skipped = [s for s in train_sizes if s > len(X_train)]
    if skipped:
        _log(log, f"Skipping the sizes {skipped}: the training set has {len(X_train)} rows")
    for k, size in enumerate(s for s in train_sizes if s <= len(X_train)):
        epochs = max(1, samples_per_size // size)
        lmbda = size * 0.0001
        net = Network(_sizes(X_train, y_train, [30]), seed=seed + k, cost="cross-entropy", init="large")
        net.fit(X_train[:size], y_train[:size], epochs=epochs, mini_batch_size=mini_batch_size, eta=eta,
                lmbda=lmbda, training_metrics="none")
        run = {"size": int(size), "epochs": epochs, "lmbda": lmbda, "accuracy": net.score(X_test, y_test)}
        line = f"Training set size {size} ({epochs} epochs): accuracy {run['accuracy']:.2%}"
        if svm:
            from sklearn.svm import SVC

            labels, test_labels = (np.asarray(v) for v in (y_train, y_test))
            labels, test_labels = (v.argmax(axis=1) if v.ndim == 2 else v for v in (labels, test_labels))
            run["svm_accuracy"] = float(SVC().fit(X_train[:size], labels[:size]).score(X_test, test_labels))
            line += f", SVM {run['svm_accuracy']:.2%}"
        runs.append(run)
        _log(log, line)
    return _result("more-data", dict(train_sizes=list(train_sizes), samples_per_size=samples_per_size,
                                     eta=eta, mini_batch_size=mini_batch_size, svm=svm, seed=seed), start, runs)


def vanishing_gradient(X_train, y_train, X_test=None, y_test=None, *, n_train=1000, epochs=500,
                       hidden_layers=(2, 3, 4), eta=0.1, lmbda=5.0, seed=12345678, log=print):
    """Chapter 5's speed of learning of each hidden layer (``fig/generate_gradient.py``).

    For each depth a [n_in, 30, ..., 30, n_out] network (cross-entropy, N(0, 1/n_in)
    weights, as ``network2.Network(sizes)``) is trained on the first ``n_train`` rows by
    full-batch gradient descent (one mini-batch of all rows per epoch, eta 0.1,
    lmbda 5.0); before every epoch each hidden layer's ||dC/db^l|| over those rows is
    recorded (``fit(..., record_layer_speeds=True)``).  The test rows are not used.

    Returns
    -------
    dict
        ``runs``: one per depth, ``{"sizes", "initial", "speeds", "seconds"}``: the speeds
        at initialisation and the per-epoch rows (row ``j`` before epoch ``j``).
    """
    X, y = _first(X_train, y_train, n_train, "vanishing-gradient")
    runs = []
    start = time.perf_counter()
    words = {1: "One", 2: "Two", 3: "Three", 4: "Four", 5: "Five"}
    for depth in hidden_layers:
        sizes = _sizes(X_train, y_train, [30] * depth)
        net = Network(sizes, seed=seed, cost="cross-entropy", init="default")
        t0 = time.perf_counter()
        net.fit(X, y, epochs=epochs, mini_batch_size=len(X), eta=eta, lmbda=lmbda, record_layer_speeds=True,
                training_metrics="none")
        rows = net.history_["layer_speeds"]
        runs.append({"sizes": sizes, "initial": rows[0], "speeds": rows, "seconds": time.perf_counter() - t0})
        _log(log, f"{words.get(depth, str(depth))} hidden layers: {sizes}")
        _log(log, f"Average gradient for the hidden layers: {[round(s, 4) for s in rows[0]]}")
        _log(log, f"After {epochs} epochs: {[float(f'{s:.3g}') for s in net.layer_speeds(X, y)]} "
                  f"({runs[-1]['seconds']:.1f} s)")
    return _result("vanishing-gradient", dict(n_train=n_train, epochs=epochs, hidden_layers=list(hidden_layers),
                                              eta=eta, lmbda=lmbda, seed=seed), start, runs)


FUNCTIONS = {"overfitting": overfitting, "weight-init": weight_init, "multiple-eta": multiple_eta,
             "more-data": more_data, "vanishing-gradient": vanishing_gradient}
"""Each experiment's function, by name."""


def _result(name, settings, start, runs):
    return {"experiment": name, "settings": settings, "seconds": time.perf_counter() - start, "runs": runs,
            "book": BOOK[name]}


def run(name, X_train, y_train, X_test, y_test, *, full=False, log=print, **overrides):
    """Run the experiment ``name`` with its :data:`SETTINGS` (``full`` or quick) and ``overrides``.

    Returns the experiment function's dict.

    Raises
    ------
    ValueError
        For an unknown experiment name.
    """
    if name not in FUNCTIONS:
        raise ValueError(f"unknown experiment {name!r}; expected one of {list(EXPERIMENTS)}")
    kwargs = {**SETTINGS[name]["full" if full else "quick"], **overrides}
    return FUNCTIONS[name](X_train, y_train, X_test, y_test, log=log, **kwargs)


def figure(result):
    """The book's figure for a result of one of the experiments.

    Parameters
    ----------
    result : dict
        As returned by an experiment function (or read back from its JSON).

    Returns
    -------
    matplotlib.figure.Figure
        On an Agg canvas; save it with :func:`save_figure` or ``fig.savefig``.
    """
    from . import plot

    name = result["experiment"]
    runs = result["runs"]
    if name == "vanishing-gradient":
        fig = new_figure((5.2 * len(runs), 4.0))
        axes = np.atleast_1d(fig.subplots(1, len(runs)))
        for ax, r in zip(axes, runs):
            plot.draw_layer_speeds(ax, r["speeds"])
        return fig
    if name == "overfitting":
        fig = new_figure((10, 7))
        axes = fig.subplots(2, 2).ravel()
        panels = [("training_cost", "Cost on the training data", 1), ("test_accuracy", "Accuracy (%) on the test data", 100),
                  ("test_cost", "Cost on the test data", 1), ("training_accuracy", "Accuracy (%) on the training data", 100)]
        for ax, (key, title, scale) in zip(axes, panels):
            for r in runs:
                ax.plot(np.arange(len(r[key])), np.asarray(r[key]) * scale, label=f"lmbda = {r['lmbda']:g}")
            ax.set_title(title)
            ax.set_xlabel("Epoch")
            ax.grid(True, alpha=0.3)
            ax.legend()
        return fig
    fig = new_figure((6.4, 4.4))
    ax = fig.subplots()
    ax.grid(True, alpha=0.3)
    if name == "weight-init":
        labels = {"large": "Old approach to weight initialization", "default": "New approach to weight initialization"}
        for r in sorted(runs, key=lambda r: r["init"] != "large"):
            ax.plot(np.arange(len(r["accuracy"])), 100 * np.asarray(r["accuracy"]), label=labels[r["init"]])
        ax.set_xlabel("Epoch")
        ax.set_title("Classification accuracy")
        ax.legend(loc="lower right")
    elif name == "multiple-eta":
        for r in runs:
            ax.plot(np.arange(len(r["training_cost"])), r["training_cost"], "o-", ms=3, label=f"$\\eta$ = {r['eta']:g}")
        ax.set_xlabel("Epoch")
        ax.set_ylabel("Cost")
        ax.legend(loc="upper right")
    elif name == "more-data":
        sizes = [r["size"] for r in runs]
        ax.plot(sizes, [100 * r["accuracy"] for r in runs], "o-", label="Neural network accuracy (%)")
        if runs and "svm_accuracy" in runs[0]:
            ax.plot(sizes, [100 * r["svm_accuracy"] for r in runs], "o-", label="SVM accuracy (%)")
        ax.set_xscale("log")
        ax.set_xlabel("Training set size")
        ax.set_title("Accuracy (%) on the test data")
        ax.legend(loc="lower right")
    else:
        raise ValueError(f"unknown experiment {name!r}; expected one of {list(EXPERIMENTS)}")
    return fig


def save_figure(result, path):
    """Draw :func:`figure` of ``result`` and write it to ``path`` atomically (format from the extension)."""

    return _write_figure(figure(result), path)


def save_json(result, path):
    """Write ``result`` to ``path`` as JSON, atomically."""
    import json

    from .persistence import atomic_write

    with atomic_write(path, "w") as f:
        json.dump(result, f, indent=1)
