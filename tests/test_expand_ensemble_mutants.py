"""Rules of fastnn.expand and fastnn.ensemble that their first tests left open (mutation testing).

Each test here failed on a mutant that had survived tests/test_book_data.py or
tests/test_ensemble.py: the documented ``SHIFTS`` table, the size and shape checks at
their edges (rows of more than 256 values among them), the documented defaults (seed 0,
pickle protocol 4) and dtypes of the expansion, and the dtype and shape rules of the vote,
the models' predictions and the score.
"""
import gzip

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from fastnn.datasets import load_mnist_pkl, write_mnist_pkl
from fastnn.ensemble import EnsembleClassifier, plurality_vote
from fastnn.expand import SHIFTS, expand_mnist, expand_mnist_pkl

RNG = np.random.default_rng(27)

# the direction each name means, as (row step, column step) of a pixel's move
DIRECTIONS = {"down": (1, 0), "up": (-1, 0), "right": (0, 1), "left": (0, -1)}


# --------------------------------------------------------------------------- expand
def rolled_and_zeroed(image, shift, axis):
    """np.roll as the book does it, then the row or column that wrapped around set to 0."""
    moved = np.roll(image, shift, axis)
    wrapped = np.arange(abs(shift)) if shift > 0 else np.arange(image.shape[axis] + shift, image.shape[axis])
    index = [slice(None), slice(None)]
    index[axis] = wrapped
    moved[tuple(index)] = 0
    return moved


def test_shifts_is_the_table_of_the_four_moves_expand_mnist_makes():
    """SHIFTS (public, documented as ``(name, np.roll shift, axis)`` in the book's order)
    describes rows 1-4 of every image's five: each is np.roll of the image by that shift on
    that axis with the wrapped line zeroed, and the name says where a pixel goes."""
    rows, cols = 5, 6                          # not square: rows and columns cannot be mixed up
    image = RNG.random((rows, cols)) + 0.5     # no zeros: every zeroed value shows
    X5, _ = expand_mnist(image.reshape(1, -1), [3], image_shape=(rows, cols), shuffle=False)
    assert [name for name, _, _ in SHIFTS] == ["down", "up", "right", "left"]
    for k, (name, shift, axis) in enumerate(SHIFTS, start=1):
        assert_array_equal(X5[k].reshape(rows, cols), rolled_and_zeroed(image, shift, axis), err_msg=name)
        step = [0, 0]
        step[axis] = shift
        assert tuple(step) == DIRECTIONS[name], name


def test_square_images_of_more_than_256_pixels_need_no_image_shape():
    """The book's 28x28 rows (784 values, not one of CPython's shared small ints) are square."""
    X = RNG.random((2, 784))
    X5, y5 = expand_mnist(X, [4, 9], shuffle=False)
    want_X, want_y = expand_mnist(X, [4, 9], image_shape=(28, 28), shuffle=False)
    assert_array_equal(X5, want_X)
    assert_array_equal(y5, want_y)
    assert_array_equal(X5[1].reshape(28, 28), rolled_and_zeroed(X[0].reshape(28, 28), 1, 0))


def test_the_default_shuffle_is_that_of_seed_0():
    X, y = RNG.random((6, 9)), np.arange(6)
    X5, y5 = expand_mnist(X, y)
    want_X, want_y = expand_mnist(X, y, seed=0)
    assert_array_equal(X5, want_X)
    assert_array_equal(y5, want_y)
    order = np.random.default_rng(0).permutation(30)
    plain_X, plain_y = expand_mnist(X, y, shuffle=False)
    assert_array_equal(X5, plain_X[order])
    assert_array_equal(y5, plain_y[order])


@pytest.mark.parametrize("dtype", [np.float16, np.uint8, np.int16, np.int64, np.bool_, np.float64, "list"])
def test_only_float32_images_stay_float32(dtype):
    """Documented: float32 stays float32, anything else becomes float64 (values unchanged)."""
    values = [[0, 1, 1, 0], [1, 0, 0, 1]]
    X = values if dtype == "list" else np.array(values, dtype=dtype)
    X5, _ = expand_mnist(X, [0, 1], shuffle=False)
    assert X5.dtype == np.float64
    assert_array_equal(X5[[0, 5]], np.array(values, dtype=np.float64))
    X5, _ = expand_mnist(np.array(values, dtype=np.float32), [0, 1], shuffle=False)
    assert X5.dtype == np.float32


@pytest.mark.parametrize("n_features", [2, 5, 10, 17, 785])
def test_a_row_length_just_above_a_square_is_not_taken_for_a_square_image(n_features):
    """The square root rounds down for these lengths (side * side < n_features): still refused."""
    with pytest.raises(ValueError, match="not a square image; pass image_shape"):
        expand_mnist(np.zeros((2, n_features)), [0, 1])


def test_a_one_column_image_shape_is_accepted():
    """image_shape (rows, 1): moving right or left leaves an all-zero image."""
    X = RNG.random((3, 4)) + 0.5
    X5, y5 = expand_mnist(X, [1, 2, 3], image_shape=(4, 1), shuffle=False)
    images = X5.reshape(3, 5, 4)
    assert_array_equal(images[:, 0], X)
    assert_array_equal(images[:, 1, 1:], X[:, :-1]) and assert_array_equal(images[:, 1, 0], 0.0)
    assert_array_equal(images[:, 2, :-1], X[:, 1:]) and assert_array_equal(images[:, 2, -1], 0.0)
    assert_array_equal(images[:, 3], 0.0) and assert_array_equal(images[:, 4], 0.0)
    assert_array_equal(y5, np.repeat([1, 2, 3], 5))


def test_an_image_shape_of_more_than_256_pixels_is_accepted():
    """rows * cols compared by value: 16 * 17 = 272 and 28 * 28 = 784 are not CPython's shared small ints."""
    for rows, cols in ((16, 17), (28, 28)):
        X = RNG.random((2, rows * cols))
        X5, _ = expand_mnist(X, [0, 1], image_shape=(rows, cols), shuffle=False)
        assert_array_equal(X5[0], X[0])
        assert_array_equal(X5[3].reshape(rows, cols), rolled_and_zeroed(X[0].reshape(rows, cols), 1, 1))


@pytest.mark.parametrize("image_shape", [(5, 4), (4, 5), (17, 1), (3, 6)])
def test_an_image_shape_with_more_pixels_than_the_rows_is_refused_with_the_message(image_shape):
    with pytest.raises(ValueError, match=r"does not fit rows of 16 values: rows \* cols must equal"):
        expand_mnist(np.zeros((2, 16)), [0, 1], image_shape=image_shape)


@pytest.mark.parametrize("y", [[0, 1, 2], [[0], [1]], [[0, 1]], np.zeros((2, 2), dtype=int)])
def test_labels_of_another_shape_are_refused(y):
    """Longer than X, a column, a row or a matrix: only shape (n,) is one label per row."""
    with pytest.raises(ValueError, match=r"one label per row of X \(2\)"):
        expand_mnist(np.zeros((2, 16)), y)


def test_expand_mnist_pkl_defaults_to_seed_0_and_pickle_protocol_4(tmp_path):
    """The documented defaults: the shuffle of seed 0, and protocol 4 (readable by Python 3.4+)."""
    splits = [(RNG.random((4, 9)), RNG.integers(0, 10, n)) for n in (4, 2, 2)]
    splits = [(X[:len(y)], y) for X, y in splits]
    src, dst = tmp_path / "mnist.pkl.gz", tmp_path / "mnist_expanded.pkl.gz"
    write_mnist_pkl(src, *splits)
    assert expand_mnist_pkl(src, dst) == (20, 2, 2)
    with gzip.open(dst, "rb") as f:
        assert f.read(2) == b"\x80\x04"          # PROTO opcode, protocol 4
    (X5, y5), _, _ = load_mnist_pkl(dst)
    want_X, want_y = expand_mnist(splits[0][0].astype(np.float32), splits[0][1], seed=0)
    assert_array_equal(X5, want_X)
    assert_array_equal(y5, want_y)


# --------------------------------------------------------------------------- ensemble
@pytest.mark.parametrize("shape", [(2, 3, 4), (1, 1, 1), (2, 3, 1, 1)])
def test_votes_of_more_than_two_dimensions_are_refused_with_the_message(shape):
    with pytest.raises(ValueError, match=r"2-D array \(n_models, n_samples\)"):
        plurality_vote(np.zeros(shape, dtype=int))


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.uint8, np.uint16, np.uint64, np.bool_])
def test_integer_labels_keep_their_dtype_and_values(dtype):
    """Integer labels come back in their own dtype (only whole floats become int64), even
    uint64 labels above int64's range."""
    rng = np.random.default_rng(3)
    labels = np.array([0, 1, 5, 7], dtype=dtype) if dtype is not np.bool_ else np.array([False, True])
    if dtype is np.uint64:
        labels = labels + np.uint64(2**63 + 11)
    votes = labels[rng.integers(0, len(labels), size=(5, 40))]
    out = plurality_vote(votes)
    assert out.dtype == votes.dtype
    for j in range(votes.shape[1]):
        values, counts = np.unique(votes[:, j], return_counts=True)
        assert out[j] == values[np.argmax(counts)]      # np.unique sorts: the first of the most is the smallest


def test_date_and_time_labels_are_refused():
    with pytest.raises(ValueError, match="must hold class labels"):
        plurality_vote(np.zeros((2, 3), dtype="timedelta64[s]"))
    with pytest.raises(ValueError, match="must hold class labels"):
        plurality_vote(np.zeros((2, 3), dtype="datetime64[s]"))



class Fixed:
    """A model predicting the given labels, whatever X holds."""

    def __init__(self, labels):
        self.labels = np.asarray(labels)

    def predict(self, X):
        return self.labels


@pytest.mark.parametrize("labels", [[0, 1, 2, 0], [[0], [1], [2]], [[0, 1, 2]]])
def test_a_model_returning_other_than_one_label_per_row_is_refused(labels):
    """Too many labels, a column of labels or a row of them: only shape (n,) is accepted."""
    ens = EnsembleClassifier([Fixed([0, 1, 2]), Fixed(labels)])
    with pytest.raises(ValueError, match=r"models\[1\]\.predict returned shape .*; expected \(3,\)"):
        ens.predictions(np.zeros((3, 2)))


@pytest.mark.parametrize("y", [[0, 1, 2, 0], [[0], [1], [2]], [[0, 1, 2]]])
def test_score_refuses_labels_of_another_shape(y):
    """Too many labels, or a column (which would broadcast against the votes to a 3x3 table)."""
    ens = EnsembleClassifier([Fixed([0, 1, 2])])
    with pytest.raises(ValueError, match=r"y must hold one label per row of X \(3\)"):
        ens.score(np.zeros((3, 2)), y)


def test_score_is_the_fraction_of_labels_equal_to_the_vote():
    """Votes below, equal to and above the true labels: only the equal ones count."""
    rng = np.random.default_rng(11)
    models = [Fixed(rng.integers(0, 5, 50)) for _ in range(3)]
    ens = EnsembleClassifier(models)
    X = np.zeros((50, 2))
    y = rng.integers(0, 5, 50)
    voted = ens.predict(X)
    assert (voted < y).any() and (voted > y).any() and (voted == y).any()
    assert ens.score(X, y) == sum(int(v == t) for v, t in zip(voted.tolist(), y.tolist())) / 50
