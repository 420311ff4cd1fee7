"""Epochs are numbered as the book prints them (``Epoch 0`` first) in the text, the progress bar
(tests/test_training_ux.py) and the learning-curve plot, whose axis says so and has whole ticks."""
import numpy as np

from fastnn import Network
from fastnn.datasets import load_digits
from fastnn.plot import EPOCH_LABEL, learning_curves


def test_the_plot_axis_counts_epochs_as_printed_with_whole_ticks(tmp_path):
    X, y = load_digits()
    net = Network([64, 10, 10], seed=0)
    net.fit(X[:300], y[:300], epochs=2, eta=0.5, validation_data=(X[300:400], y[300:400]),
            eta_schedule_n=1)
    fig = learning_curves(net.history_, tmp_path / "curves.png")
    curves = 0
    for ax in fig.axes:
        assert ax.get_xlabel() == EPOCH_LABEL
        for line in ax.get_lines():
            if line.get_linestyle() in ("-", "--"):  # training and validation curves
                assert list(line.get_xdata()) == net.history_["epoch"] == [0, 1]
                curves += 1
        ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
        assert ticks and all(float(t).is_integer() for t in ticks), ticks  # no 0.5-epoch ticks
    assert curves == 4  # cost and accuracy, training and validation
    assert (tmp_path / "curves.png").stat().st_size > 0


def test_an_eta_change_is_marked_between_the_two_epochs(tmp_path):
    history = {"epoch": [0, 1, 2], "eta": [1.0, 1.0, 0.5], "seconds": [0.1] * 3,
               "training_cost": [None] * 3, "training_accuracy": [None] * 3,
               "validation_cost": [0.3, 0.2, 0.1], "validation_accuracy": [0.5, 0.6, 0.7]}
    fig = learning_curves(history, tmp_path / "c.png")
    marks = [line for line in fig.axes[0].get_lines() if line.get_linestyle() == ":"]
    assert len(marks) == 1 and np.allclose(marks[0].get_xdata(), 1.5)  # after epoch 1, before 2
