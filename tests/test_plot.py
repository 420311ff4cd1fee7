"""fastnn.plot: the learning curves of a training history as a PNG, and its refusals."""
import pytest

from fastnn import Network
from fastnn.plot import learning_curves

FIT = dict(mini_batch_size=10, eta=0.5, lmbda=1.0)


@pytest.fixture
def data(digits_split):
    """600 training and 200 validation digits."""
    X_tr, y_tr, X_te, y_te = digits_split
    return X_tr[:600], y_tr[:600], X_te[:200], y_te[:200]


def new_net():
    return Network([64, 16, 10], seed=0, cost="cross-entropy", init="default")


def test_learning_curves_png(data, tmp_path):
    import matplotlib.image

    X, y, X_val, y_val = data
    net = new_net().fit(X, y, epochs=4, validation_data=(X_val, y_val), **FIT)
    path = tmp_path / "curves.png"
    learning_curves(net.history_, path, title="test")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = matplotlib.image.imread(path)
    assert image.shape[0] >= 300 and image.shape[1] >= 600
    assert image[..., :3].std() > 0.05  # not a blank canvas
    with pytest.raises(ValueError, match="empty"):
        learning_curves(new_net().history_, tmp_path / "x.png")
    with pytest.raises(TypeError):
        learning_curves([1, 2], tmp_path / "x.png")
