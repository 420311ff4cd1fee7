"""The chapter-5 speed figure and the pictures of what a network learned (``fastnn.plot``)."""
import numpy as np
import pytest
from PIL import Image

from fastnn import Network, datasets, plot


@pytest.fixture(scope="module")
def trained():
    X, y, X_test, y_test = datasets.train_test_digits()
    net = Network([64, 30, 30, 10], seed=0, cost="cross-entropy", init="default")
    net.fit(X[:400], y[:400], epochs=3, mini_batch_size=10, eta=0.5, record_layer_speeds=True)
    return net, X_test[:200], y_test[:200]


def read_png(path):
    """Decode the file fully (a truncated or foreign file raises); return (width, height)."""
    with Image.open(path) as image:
        assert image.format == "PNG"
        image.load()
        return image.size


def test_layer_speeds_figure_from_history(trained, tmp_path):
    net, _, _ = trained
    fig = plot.layer_speeds(net.history_, tmp_path / "speeds.png")
    ax = fig.axes[0]
    assert ax.get_title() == "Speed of learning: 2 hidden layers"
    assert ax.get_yscale() == "log"
    assert [line.get_label() for line in ax.get_lines()] == ["Hidden layer 1", "Hidden layer 2"]
    np.testing.assert_array_equal(ax.get_lines()[1].get_ydata(), [r[1] for r in net.history_["layer_speeds"]])
    assert read_png(tmp_path / "speeds.png") == (640, 420)


def test_layer_speeds_figure_from_the_books_rows(tmp_path):
    rows = [[0.003, 0.017, 0.070, 0.285], [0.002, 0.01, 0.05, 0.2]]
    fig = plot.layer_speeds(rows, tmp_path / "book.png", title="four")
    assert fig.axes[0].get_title() == "four" and len(fig.axes[0].get_lines()) == 4
    read_png(tmp_path / "book.png")


@pytest.mark.parametrize("history, error, match", [
    ({"epoch": [0], "layer_speeds": [None]}, ValueError, "record_layer_speeds"),
    ({"epoch": [0]}, ValueError, "record_layer_speeds"),
    ([[0.1, 0.2], [0.1]], ValueError, "equal length"),
    ([[0.1, -0.2]], ValueError, "non-negative"),
    ([[0.1, np.nan]], ValueError, "finite"),
    ([], ValueError, "shape"),
    ("speeds", TypeError, "history_"),
])
def test_layer_speeds_figure_refuses_bad_histories(history, error, match, tmp_path):
    with pytest.raises(error, match=match):
        plot.layer_speeds(history, tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()


def test_hidden_units(trained, tmp_path):
    net, _, _ = trained
    fig = plot.hidden_units(net, (8, 8), tmp_path / "units.png")
    panels = [ax for ax in fig.axes if ax.images]
    assert len(panels) == 30
    np.testing.assert_array_equal(panels[7].images[0].get_array(), net.weights[0][7].reshape(8, 8))
    read_png(tmp_path / "units.png")
    assert len([ax for ax in plot.hidden_units(net, (8, 8), max_units=5).axes if ax.images]) == 5


@pytest.mark.parametrize("shape", [(28, 28), (8, 9), (64,), "8x8", (0, 64)])
def test_hidden_units_refuses_a_shape_that_does_not_fit(trained, shape, tmp_path):
    net, _, _ = trained
    with pytest.raises(ValueError, match="shape"):
        plot.hidden_units(net, shape, tmp_path / "units.png")
    assert not (tmp_path / "units.png").exists()


def test_hidden_units_hint_and_bad_arguments(trained):
    net, _, _ = trained
    with pytest.raises(ValueError, match=r"shape=\(8, 8\)"):
        plot.hidden_units(net)  # the default (28, 28) is MNIST's
    with pytest.raises(ValueError, match="max_units"):
        plot.hidden_units(net, (8, 8), max_units=0)
    with pytest.raises(TypeError, match="Network"):
        plot.hidden_units("net", (8, 8))


def test_misclassified(trained, tmp_path):
    net, X, y = trained
    wrong = np.flatnonzero(net.predict(X) != y)
    assert 0 < len(wrong)
    fig = plot.misclassified(net, X, y, tmp_path / "wrong.png", max_images=4)
    panels = [ax for ax in fig.axes if ax.images]
    assert [ax.get_title() for ax in panels] == [f"{y[i]} -> {net.predict(X)[i]}" for i in wrong[:4]]
    assert fig.get_suptitle().startswith(f"{len(wrong)} of {len(y)} misclassified")
    read_png(tmp_path / "wrong.png")


def test_misclassified_with_nothing_wrong(trained, tmp_path):
    net, X, _ = trained
    fig = plot.misclassified(net, X[:20], net.predict(X[:20]), tmp_path / "none.png")
    assert "no misclassified images among 20" in fig.axes[0].texts[0].get_text()
    read_png(tmp_path / "none.png")


def test_misclassified_and_confusion_refuse_bad_input(trained):
    net, X, y = trained
    with pytest.raises(ValueError, match="shape"):
        plot.misclassified(net, X, y, shape=(28, 28))
    with pytest.raises(ValueError, match="max_images"):
        plot.misclassified(net, X, y, max_images=0)
    with pytest.raises(ValueError, match="features"):
        plot.confusion(net, X[:, :10], y)
    with pytest.raises(ValueError):
        plot.confusion(net, X, y[:-1])


def test_confusion(trained, tmp_path):
    net, X, y = trained
    fig = plot.confusion(net, X, y, tmp_path / "confusion.png")
    counts = fig.axes[0].images[0].get_array()
    predicted = net.predict(X)
    assert counts.sum() == len(y)
    for t, p in [(0, 0), (3, 5), (8, 1), (9, 9)]:
        assert counts[t, p] == np.sum((y == t) & (predicted == p))
    assert f"accuracy {np.mean(predicted == y):.2%}" in fig.axes[0].get_title()
    read_png(tmp_path / "confusion.png")
