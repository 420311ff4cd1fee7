"""fastnn.network3 and its layers: behaviour that surviving mutants showed untested (issue 27).

Each test was first run against its mutant, applied by hand, and failed.
"""
import contextlib
import copy
import io
import json
import sys

import numpy as np
import pytest

from fastnn import DivergenceError, network3 as n3

from fastnn.reference import network3_np as ref

from network3_helpers import (gathering_pair_epoch_diff, interrupt_after_each_chunk, max_param_diff, mnist40,
                             reference_layers, reference_params, small_conv_net, split_masks)


def test_divergence_names_the_samples_done_and_restores_the_epoch(monkeypatch):
    """The parameters turn NaN in the first compiled chunk of the first epoch: the error says
    after how many of the epoch's samples, and the parameters are those before the epoch."""
    X, y = mnist40()
    X, y = np.tile(X, (5, 1)), np.tile(y, 5)  # 200 rows, 20 mini-batches of 10
    net = small_conv_net(n3.ReLU, seed=3)
    before = [p.copy() for p in net.params]
    real = n3._kernels.sgd_chunk
    chunks = []

    def poisoned(theta, spec, keep, X, y, rows, *args):
        real(theta, spec, keep, X, y, rows, *args)
        chunks.append(len(rows))
        theta[0] = np.nan

    monkeypatch.setattr(n3._kernels, "sgd_chunk", poisoned)
    with pytest.raises(DivergenceError, match=r"epoch 0: the parameters became NaN after (\d+) of its 200 "
                                              r"samples") as info:
        net.fit(X, y, 2, 10, 0.1)
    assert chunks and f"after {chunks[0]} of its 200 samples" in str(info.value)
    assert 0 < chunks[0] < 200 and chunks[0] % 10 == 0
    for p, q in zip(net.params, before):
        np.testing.assert_array_equal(p, q)


def test_files_are_format_version_1_and_other_versions_are_refused(tmp_path):
    """docs/guide/guarantees.md: format_version is currently 1; a file of another version is refused."""
    net = n3.Network([n3.SoftmaxLayer(4, 2)], 2, seed=0)
    path = tmp_path / "net.npz"
    net.save(path)
    with np.load(path) as f:
        arrays = dict(f)
    assert str(arrays["format"]) == "fastnn.network3.Network" and int(arrays["format_version"]) == 1
    for version in (0, 2):
        arrays["format_version"] = np.array(version, dtype=np.int64)
        other = tmp_path / f"v{version}.npz"
        np.savez(other, **arrays)
        with pytest.raises(n3.ModelFileError, match=r"unsupported format_version \(this fastnn reads 1\)"):
            n3.Network.load(other)


def test_validation_cost_adds_the_books_l2_term_per_training_batch():
    """history_'s validation_cost is the mean -log p(label) of the inference path plus
    0.5 * lmbda * sum(w**2) / num_training_batches (fit's docstring), after the epoch."""
    X, y = mnist40()
    net = n3.Network([n3.FullyConnectedLayer(784, 12, activation_fn=n3.tanh), n3.SoftmaxLayer(12, 10)], 10, seed=4)
    lmbda = 3.0
    net.fit(X[:30], y[:30], 1, 10, 0.05, lmbda=lmbda, validation_data=(X[30:], y[30:]))  # 3 training batches
    P = net.predict_proba(X[30:])
    l2 = 0.5 * lmbda * sum(np.sum(layer.w ** 2) for layer in net.layers) / 3
    assert l2 > 0.05  # the term matters at this tolerance
    want = -np.mean(np.log(P[np.arange(10), y[30:]])) + l2
    assert net.history_["validation_cost"][0] == pytest.approx(want, rel=1e-12)


def test_untrained_networks_load_and_fit_params_must_be_an_object_or_null(tmp_path):
    net = n3.Network([n3.SoftmaxLayer(4, 2)], 2, seed=0)
    path = tmp_path / "untrained.npz"
    net.save(path)
    back = n3.Network.load(path)
    assert back.fit_params_ is None and back.epochs_done_ == 0
    with np.load(path) as f:
        arrays = dict(f)
    meta = json.loads(str(arrays["meta"]))
    for bad in ([1], 3, "x"):
        arrays["meta"] = np.array(json.dumps(dict(meta, fit_params=bad)))
        np.savez(path, **arrays)
        with pytest.raises(n3.ModelFileError, match="'fit_params' must be an object or null"):
            n3.Network.load(path)


def test_sgd_reports_a_worse_epoch_as_not_best_and_takes_the_last_of_tied_ones(capsys, monkeypatch):
    """The book's SGD: an epoch is the best to date when its validation accuracy is >= the best
    so far (a tie moves the best to the later epoch); a worse one prints no best line and no test
    accuracy.  The accuracies are scripted, so every case occurs."""
    X, y = mnist40()
    net = n3.Network([n3.FullyConnectedLayer(784, 8), n3.SoftmaxLayer(8, 10)], 10, seed=0)
    validation, test = iter([0.5, 0.25, 0.5, 0.125]), iter([0.6, 0.7])
    monkeypatch.setattr(net, "_batch_accuracy", lambda data, P=None: next(test if P is None else validation))
    net.SGD((X[:20], y[:20]), 4, 10, 0.1, (X[20:30], y[20:30]), (X[30:], y[30:]))
    assert capsys.readouterr().out.splitlines() == [
        "Training mini-batch number 0",
        "Epoch 0: validation accuracy 50.00%",
        "This is the best validation accuracy to date.",
        "The corresponding test accuracy is 60.00%",
        "Epoch 1: validation accuracy 25.00%",
        "Epoch 2: validation accuracy 50.00%",
        "This is the best validation accuracy to date.",
        "The corresponding test accuracy is 70.00%",
        "Epoch 3: validation accuracy 12.50%",
        "Finished training network.",
        "Best validation accuracy of 50.00% obtained at iteration 5",  # 2 batches per epoch: 2 * 3 - 1
        "Corresponding test accuracy of 70.00%"]


def test_a_dropout_layer_of_one_input_gets_its_mask():
    """The masks of a net whose only dropout layer has one input (a mask one column wide) are
    drawn and used: one epoch matches the reference given the same draws."""
    X, y = mnist40()
    net = n3.Network([n3.FullyConnectedLayer(784, 1, activation_fn=n3.tanh), n3.SoftmaxLayer(1, 10, p_dropout=0.5)],
                     10, seed=1)
    assert net._mask_len == 1
    layers, params = reference_layers(net), reference_params(net)
    rng = copy.deepcopy(net.rng)
    net.fit(X, y, 1, 10, 0.5)
    masks = (rng.random((40, 1)) < net._mask_keep).astype(np.uint8)  # the draws fit made
    assert 0 < masks.sum() < 40
    expected = ref.sgd_epoch(layers, params, X, y, 10, 0.5, split_masks(net, masks), 0.0)
    assert max_param_diff(net, expected) <= 1e-10


def test_training_cost_and_accuracy_are_those_of_the_epochs_mini_batches():
    """With a learning rate too small to move the outputs, the running training metrics of an
    epoch are the untrained net's cost (plus the L2 term) and accuracy on the training rows."""
    X, y = mnist40()
    net = n3.Network([n3.FullyConnectedLayer(784, 12, activation_fn=n3.sigmoid), n3.SoftmaxLayer(12, 10)], 10, seed=2)
    net.layers[-1].w = np.random.default_rng(3).normal(0, 1.0, (12, 10))  # outputs away from uniform
    P = net.predict_proba(X[:30])
    l2 = 0.5 * 2.0 * sum(np.sum(layer.w ** 2) for layer in net.layers) / 3
    net.fit(X[:30], y[:30], 1, 10, 1e-12, lmbda=2.0)
    accuracy = np.mean(np.argmax(P, axis=1) == y[:30])
    assert 0 < accuracy < 1
    assert net.history_["training_accuracy"][0] == accuracy
    assert net.history_["training_cost"][0] == pytest.approx(-np.mean(np.log(P[np.arange(30), y[:30]])) + l2, rel=1e-9)


def test_sigmoid_on_both_sides_of_zero_and_without_overflow():
    z = np.array([-800.0, -30.0, -2.0, -0.5, -1e-3, 0.0, 1e-3, 0.5, 0.99, 1.0, 2.0, 30.0, 800.0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        got = n3.sigmoid(z)
    with np.errstate(over="ignore"):
        want = 1.0 / (1.0 + np.exp(-z))
    np.testing.assert_allclose(got, want, rtol=1e-15, atol=0)
    assert got[5] == 0.5 and got[0] == 0.0 and got[-1] == 1.0


def test_a_wrong_image_shape_names_both_layers():
    with pytest.raises(ValueError) as info:
        n3.Network([n3.ConvPoolLayer((20, 1, 3, 3), (10, 1, 28, 28)),
                    n3.ConvPoolLayer((40, 20, 5, 5), (10, 20, 12, 12)), n3.SoftmaxLayer(640, 10)], 10)
    assert str(info.value) == ("layers[1] expects images of shape (20, 12, 12) (image_shape (10, 20, 12, 12)), "
                               "but layers[0] outputs (20, 13, 13)")


def test_two_conv_layers_that_both_gather_their_inputs_train_like_the_reference():
    """Both conv layers have C*fh*fw >= DIRECT_MAX_Q inputs per output, so both gather their
    inputs (im2col) in the forward pass, into one buffer: one epoch matches the reference."""
    diff = gathering_pair_epoch_diff(((4, 1, 9, 9), (5, 1, 28, 28)),   # 81 inputs
                                     ((5, 4, 4, 4), (5, 4, 10, 10)),   # 64 inputs
                                     5 * 3 * 3, seed=7, w_seed=8)
    assert diff <= 1e-9


def test_conv_init_scale_divides_by_both_pool_sides():
    """The book's n_out = filters * fh * fw / (ph * pw): with a 1x4 pool, 20 * 5 * 5 / 4 = 125."""
    net = n3.Network([n3.ConvPoolLayer((20, 3, 5, 5), (2, 3, 12, 12), poolsize=(1, 4)),
                      n3.SoftmaxLayer(20 * 8 * 2, 10)], 2, seed=0)
    assert net.layers[0].w.std() == pytest.approx(np.sqrt(1 / 125), rel=0.06)  # 1,500 draws


def test_counts_above_256_are_compared_by_value():
    """CPython shares int objects only up to 256: equal larger counts are distinct objects."""
    big = 300
    other = int(str(big))
    assert other is not big
    layer = n3.ConvPoolLayer((2, big, 1, 1), (other, other, 3, 3), poolsize=(1, 1))
    net = n3.Network([layer, n3.SoftmaxLayer(18, 2)], int(str(big)))
    assert net.mini_batch_size == 300 and layer.filter_shape[1] == layer.image_shape[1] == 300


def test_a_pool_larger_than_the_convolution_output_names_its_size():
    with pytest.raises(ValueError, match=r"^poolsize \(2, 7\) is larger than the 8x6 output of the convolution$"):
        n3.ConvPoolLayer((2, 1, 3, 5), (4, 1, 10, 10), poolsize=(2, 7))


def test_filters_and_pools_exactly_as_large_as_allowed_are_accepted():
    whole = n3.ConvPoolLayer((2, 1, 10, 5), (4, 1, 10, 5), poolsize=(1, 1))  # the filter is the image
    assert whole.output_shape == (2, 1, 1)
    widest_pool = n3.ConvPoolLayer((2, 1, 3, 5), (4, 1, 10, 10), poolsize=(8, 6))  # the pool is the 8x6 output
    assert widest_pool.output_shape == (2, 1, 1)
    with pytest.raises(ValueError, match="larger than the 10x5 image"):
        n3.ConvPoolLayer((2, 1, 10, 6), (4, 1, 10, 5))
    with pytest.raises(ValueError, match="larger than the 10x5 image"):
        n3.ConvPoolLayer((2, 1, 11, 5), (4, 1, 10, 5))
    with pytest.raises(ValueError, match=r"poolsize \(9, 6\) is larger"):
        n3.ConvPoolLayer((2, 1, 3, 5), (4, 1, 10, 10), poolsize=(9, 6))


def test_pooling_drops_the_border_rows_and_columns():
    """The book's max-pool ignores the border: a 9x7 convolution output pooled 2x3 is 4x2."""
    layer = n3.ConvPoolLayer((3, 1, 2, 4), (4, 1, 10, 10), poolsize=(2, 3))
    assert layer.output_shape == (3, 4, 2) and layer.n_out == 24


def test_shape_mismatches_in_either_direction_are_refused():
    with pytest.raises(ValueError, match=r"layers\[1\] expects images of shape \(20, 14, 14\)"):
        n3.Network([n3.ConvPoolLayer((20, 1, 3, 3), (10, 1, 28, 28)),   # outputs (20, 13, 13)
                    n3.ConvPoolLayer((40, 20, 5, 5), (10, 20, 14, 14)), n3.SoftmaxLayer(40 * 5 * 5, 10)], 10)
    with pytest.raises(ValueError, match=r"layers\[1\] has n_in=30, but layers\[0\] outputs 20 values"):
        n3.Network([n3.FullyConnectedLayer(4, 20), n3.SoftmaxLayer(30, 2)], 10)
    with pytest.raises(TypeError, match="filter_shape must be a tuple of 4 positive integers"):
        n3.ConvPoolLayer((2, 1, 5.0, 5), (10, 1, 28, 28))


def test_a_last_layer_that_is_not_softmax_is_named():
    last = n3.FullyConnectedLayer(3, 2)
    with pytest.raises(ValueError, match=r"must be a SoftmaxLayer .*got FullyConnectedLayer\(n_in=3, n_out=2"):
        n3.Network([n3.FullyConnectedLayer(4, 3), last], 10)


def test_labels_of_the_wrong_shape_are_refused_in_either_way():
    """y must be 1-D *and* have one label per row: a column of labels and one label too many
    are both refused by the shape check, with its message."""
    X, y = mnist40()
    net = n3.Network([n3.FullyConnectedLayer(784, 4), n3.SoftmaxLayer(4, 10)], 10, seed=0)
    for bad in (y[:20, None], y[:21], y[:19]):
        with pytest.raises(ValueError, match=r"^y must be a 1-D array of 20 int labels \(one per row of the "
                                             r"inputs\), got shape "):
            net.fit(X[:20], bad, 1, 10, 0.1)


def test_whole_valued_float_labels_train_as_ints_and_other_kinds_are_refused():
    """Float labels holding whole numbers are taken as the ints they equal (the same training);
    booleans and complex numbers are not labels, even when they are 0/1 or whole."""
    X, y = mnist40()

    def trained(labels):
        net = n3.Network([n3.FullyConnectedLayer(784, 6), n3.SoftmaxLayer(6, 10)], 10, seed=5)
        return net.fit(X[:20], labels, 1, 10, 0.2)

    as_ints, as_floats = trained(y[:20]), trained(y[:20].astype(np.float64))
    for a, b in zip(as_ints.params, as_floats.params):
        np.testing.assert_array_equal(a, b)
    for kind in (np.bool_, np.complex128):
        with pytest.raises(TypeError, match=f"y must hold integer class labels, got dtype {np.dtype(kind)}"):
            trained((y[:20] % 2).astype(kind))


def test_sgd_without_lmbda_trains_without_the_l2_term():
    """SGD's lmbda defaults to 0.0 (the book's): the same parameters as lmbda=0.0 passed."""
    X, y = mnist40()

    def net():
        return n3.Network([n3.FullyConnectedLayer(784, 6), n3.SoftmaxLayer(6, 10)], 10, seed=9)

    default, explicit = net(), net()
    with contextlib.redirect_stdout(io.StringIO()):
        default.SGD((X[:20], y[:20]), 1, 10, 0.5, (X[20:30], y[20:30]), None)
        explicit.SGD((X[:20], y[:20]), 1, 10, 0.5, (X[20:30], y[20:30]), None, lmbda=0.0)
    assert default.fit_params_["lmbda"] == 0.0
    for a, b in zip(default.params, explicit.params):
        np.testing.assert_array_equal(a, b)


def test_a_draw_equal_to_the_keep_probability_drops_the_input():
    """A unit is kept when its uniform draw in [0, 1) is below 1 - p_dropout: exactly the
    probability 1 - p (a draw equal to 1 - p drops it)."""
    net = n3.Network([n3.FullyConnectedLayer(4, 3), n3.SoftmaxLayer(3, 2, p_dropout=0.5)], 2, seed=0)
    assert net._mask_keep.tolist() == [0.5, 0.5, 0.5]  # one per input of the dropout layer

    class Draws:
        def random(self, shape):
            return np.array([np.nextafter(0.5, 0.0), 0.5, np.nextafter(0.5, 1.0)]).reshape(shape)

    net.rng = Draws()
    assert net._draw_masks(1).tolist() == [[1, 0, 0]]


class _FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def test_the_progress_bar_counts_every_trained_sample(monkeypatch):
    """fit(progress=True) on a terminal: the bar's total is epochs x the rows in whole mini-batches."""
    X, y = mnist40()
    fake = _FakeTerminal()
    monkeypatch.setattr(sys, "stderr", fake)
    net = n3.Network([n3.FullyConnectedLayer(784, 4), n3.SoftmaxLayer(4, 10)], 10, seed=0)
    net.fit(X[:35], y[:35], 2, 10, 0.1, progress=True)  # 3 whole mini-batches, 5 rows dropped
    assert "60.0/60.0" in fake.getvalue()


def _saved_arrays(tmp_path, dtype="float64"):
    net = n3.Network([n3.FullyConnectedLayer(4, 3), n3.SoftmaxLayer(3, 2)], 2, seed=0, dtype=dtype)
    path = tmp_path / f"{dtype}.npz"
    net.save(path)
    with np.load(path) as f:
        return dict(f)


def _load(tmp_path, arrays):
    path = tmp_path / "edited.npz"
    np.savez(path, **arrays)
    return n3.Network.load(path)


def test_a_missing_or_an_extra_entry_is_named(tmp_path):
    arrays = _saved_arrays(tmp_path)
    missing = {k: v for k, v in arrays.items() if k != "b_1"}
    with pytest.raises(n3.ModelFileError, match=r"entries \['b_1'\] are missing or unexpected$"):
        _load(tmp_path, missing)
    with pytest.raises(n3.ModelFileError, match=r"entries \['notes'\] are missing or unexpected$"):
        _load(tmp_path, dict(arrays, notes=np.array("x")))
    with pytest.raises(n3.ModelFileError, match=r"entries \['b_1', 'notes'\] are missing or unexpected$"):
        _load(tmp_path, dict(missing, notes=np.array("x")))


def test_parameters_of_the_other_precision_are_refused(tmp_path):
    """A float64 network's file with a float32 w_0, and a float32 network's with a float64 one."""
    for dtype, other in (("float64", np.float32), ("float32", np.float64)):
        arrays = _saved_arrays(tmp_path, dtype)
        arrays["w_0"] = arrays["w_0"].astype(other)
        with pytest.raises(n3.ModelFileError, match=f"w_0 has shape \\(4, 3\\) and dtype {np.dtype(other)}, "
                                                    f"expected \\(4, 3\\) and {dtype}"):
            _load(tmp_path, arrays)
        arrays["w_0"] = arrays["w_0"].astype(np.int64)
        with pytest.raises(n3.ModelFileError, match="w_0 has shape .* and dtype int64"):
            _load(tmp_path, arrays)


def test_a_description_of_the_wrong_type_is_a_model_file_error(tmp_path):
    """A mini_batch_size written as a string makes the constructor raise TypeError: load reports
    it as a ModelFileError (a ValueError) naming the file's description."""
    arrays = _saved_arrays(tmp_path)
    meta = json.loads(str(arrays["meta"]))
    arrays["meta"] = np.array(json.dumps(dict(meta, mini_batch_size="2")))
    with pytest.raises(n3.ModelFileError, match=r"invalid network description in 'meta': mini_batch_size must be "
                                                r"an integer, got '2'"):
        _load(tmp_path, arrays)


def test_epochs_done_may_exceed_the_history_but_not_fall_short_of_it(tmp_path):
    """A network whose history_ was emptied before saving loads with its epochs_done_ (the
    check refuses only fewer epochs done than history rows); fewer, or a string, are refused."""
    X, y = mnist40()
    net = n3.Network([n3.FullyConnectedLayer(784, 4), n3.SoftmaxLayer(4, 10)], 10, seed=0)
    net.fit(X[:20], y[:20], 2, 10, 0.1)
    kept = tmp_path / "kept.npz"
    net.save(kept)
    net.history_ = n3.training.new_history()
    emptied = tmp_path / "emptied.npz"
    net.save(emptied)
    back = n3.Network.load(emptied)
    assert back.epochs_done_ == 2 and back.history_["epoch"] == []
    with np.load(kept) as f:
        arrays = dict(f)
    meta = json.loads(str(arrays["meta"]))
    for bad in (1, "2"):
        arrays["meta"] = np.array(json.dumps(dict(meta, epochs_done=bad)))
        with pytest.raises(n3.ModelFileError, match=f"invalid epochs_done {bad!r}$"):
            _load(tmp_path, arrays)


def test_to_onnx_takes_its_options_by_keyword_only():
    """to_onnx(path=None, *, opset, dtype, allow_untrained): a second positional argument is
    refused before anything is exported (and whether onnx is installed or not)."""
    net = n3.Network([n3.SoftmaxLayer(4, 2)], 2, seed=0)
    with pytest.raises(TypeError, match="positional argument"):
        net.to_onnx(None, 13)


def test_an_untrained_network_is_exported_only_when_allowed():
    pytest.importorskip("onnx")
    net = n3.Network([n3.SoftmaxLayer(4, 2)], 2, seed=0)
    with pytest.raises(ValueError, match="allow_untrained=True"):
        net.to_onnx()
    assert net.to_onnx(allow_untrained=True) is not None


def test_labels_with_a_fraction_nan_or_a_time_unit_are_refused():
    """Only whole, finite floats are labels (1.25 and 1.75 round either way); timedeltas never."""
    X, y = mnist40()
    net = n3.Network([n3.FullyConnectedLayer(784, 4), n3.SoftmaxLayer(4, 10)], 10, seed=0)
    for fraction in (0.25, 0.75, np.nan):
        labels = y[:10].astype(np.float64)
        labels[3] += fraction
        with pytest.raises(TypeError, match="y must hold integer class labels, got dtype float64"):
            net.fit(X[:10], labels, 1, 10, 0.1)
    with pytest.raises(TypeError, match=r"y must hold integer class labels, got dtype timedelta64\[s\]"):
        net.fit(X[:10], y[:10].astype("timedelta64[s]"), 1, 10, 0.1)


def test_a_new_fit_clears_interrupted(monkeypatch):
    X, y = mnist40()
    net = n3.Network([n3.FullyConnectedLayer(784, 4), n3.SoftmaxLayer(4, 10)], 10, seed=0)
    assert net.fit(X[:20], y[:20], 1, 10, 0.1).interrupted_ is False
    interrupt_after_each_chunk(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        net.fit(X[:20], y[:20], 1, 10, 0.1)
    assert net.interrupted_ is True
    monkeypatch.undo()
    assert net.fit(X[:20], y[:20], 1, 10, 0.1).interrupted_ is False


def test_sgd_measures_accuracy_over_whole_mini_batches_only():
    """The book's accuracy is the mean over whole mini-batches: 15 validation rows and a
    mini-batch of 10 count the first 10 (labelled as the net predicts them) and not the 5
    others (labelled otherwise), so 100%, where all 15 rows would give 66.67%."""
    X, y = mnist40()
    net = n3.Network([n3.FullyConnectedLayer(784, 6), n3.SoftmaxLayer(6, 10)], 10, seed=3)
    net.layers[-1].w = np.random.default_rng(4).normal(0, 1.0, net.layers[-1].w.shape)
    X_val = X[20:35]
    labels = net.predict(X_val)
    labels[10:] = (labels[10:] + 1) % 10
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        net.SGD((X[:20], y[:20]), 1, 10, 1e-12, (X_val, labels), (X_val, labels))
    assert np.array_equal(net.predict(X_val[:10]), labels[:10])  # the tiny step moved no prediction
    lines = out.getvalue().splitlines()
    assert "Epoch 0: validation accuracy 100.00%" in lines
    assert "The corresponding test accuracy is 100.00%" in lines


def test_threads_must_be_at_least_one():
    with pytest.raises(ValueError, match="threads must be >= 1, got 0"):
        n3.Network([n3.SoftmaxLayer(4, 2)], 2, threads=0)


def test_a_meta_with_an_extra_or_a_missing_key_is_refused(tmp_path):
    arrays = _saved_arrays(tmp_path)
    meta = json.loads(str(arrays["meta"]))
    without = {k: v for k, v in meta.items() if k != "interrupted"}
    for bad in (dict(meta, comment="x"), without):
        arrays["meta"] = np.array(json.dumps(bad))
        with pytest.raises(n3.ModelFileError, match="'meta' must have the keys"):
            _load(tmp_path, arrays)


def test_too_few_training_rows_are_counted_in_the_message():
    X, y = mnist40()
    net = n3.Network([n3.FullyConnectedLayer(784, 4), n3.SoftmaxLayer(4, 10)], 10, seed=0)
    with pytest.raises(ValueError, match=r"^training data have 7 rows, fewer than one mini-batch of 10$"):
        net.fit(X[:7], y[:7], 1, 10, 0.1)


def test_format_version_must_be_an_integer_scalar(tmp_path):
    arrays = _saved_arrays(tmp_path)
    for bad in (np.array(1.0), np.array([1], dtype=np.int64)):
        arrays["format_version"] = bad
        with pytest.raises(n3.ModelFileError, match="unsupported format_version"):
            _load(tmp_path, arrays)


def test_zero_epochs_train_nothing():
    X, y = mnist40()
    net = n3.Network([n3.FullyConnectedLayer(784, 4), n3.SoftmaxLayer(4, 10)], 10, seed=0)
    before = [p.copy() for p in net.params]
    net.fit(X[:20], y[:20], 0, 10, 0.1)
    assert net.epochs_done_ == 0 and net.history_["epoch"] == []
    for a, b in zip(net.params, before):
        np.testing.assert_array_equal(a, b)


class _OneBatchChunks(n3.training.ChunkSizer):
    """Chunks of one mini-batch each: many compiled calls, and mask draws, per epoch."""

    def __init__(self, mini_batch_size, target=0.2, first=512):
        super().__init__(mini_batch_size, target, first=1)

    def done(self):
        self.batches = 1


def test_dropout_masks_do_not_depend_on_the_chunks(monkeypatch):
    """Each chunk draws the masks of its own rows: an epoch in chunks of one mini-batch draws
    the same masks, and trains the same parameters, as one in a single chunk."""
    X, y = mnist40()

    def net():
        return n3.Network([n3.FullyConnectedLayer(784, 8, p_dropout=0.5), n3.SoftmaxLayer(8, 10, p_dropout=0.5)],
                          10, seed=11)

    whole = net().fit(X, y, 2, 10, 0.3)
    monkeypatch.setattr(n3.training, "ChunkSizer", _OneBatchChunks)
    chunked = net().fit(X, y, 2, 10, 0.3)
    for a, b in zip(whole.params, chunked.params):
        np.testing.assert_array_equal(a, b)


def test_fit_params_count_the_training_rows():
    X, y = mnist40()
    net = n3.Network([n3.FullyConnectedLayer(784, 4), n3.SoftmaxLayer(4, 10)], 10, seed=0)
    net.fit(X[:35], y[:35], 1, 10, 0.5, lmbda=0.25)
    assert net.fit_params_ == {"mini_batch_size": 10, "eta": 0.5, "lmbda": 0.25, "n_train": 35}


def test_the_seed_travels_and_files_without_one_load_with_none(tmp_path):
    arrays = _saved_arrays(tmp_path)  # seed=0
    meta = json.loads(str(arrays["meta"]))
    assert meta["seed"] == 0 and _load(tmp_path, arrays).seed == 0
    arrays["meta"] = np.array(json.dumps({k: v for k, v in meta.items() if k != "seed"}))  # an older file
    assert _load(tmp_path, arrays).seed is None


@pytest.mark.parametrize("bad", [-1, 1.5, True, "3", [1]])
def test_a_seed_that_is_not_a_non_negative_int_is_refused(tmp_path, bad):
    arrays = _saved_arrays(tmp_path)
    meta = json.loads(str(arrays["meta"]))
    arrays["meta"] = np.array(json.dumps(dict(meta, seed=bad)))
    with pytest.raises(n3.ModelFileError, match="'seed' in 'meta' must be a non-negative int or null"):
        _load(tmp_path, arrays)


def test_a_seed_that_is_no_int_is_saved_as_none(tmp_path):
    net = n3.Network([n3.SoftmaxLayer(3, 2)], 2, seed=np.random.SeedSequence(5))
    net.save(tmp_path / "s.npz")
    assert n3.Network.load(tmp_path / "s.npz").seed is None
    net = n3.Network([n3.SoftmaxLayer(3, 2)], 2, seed=np.int64(7))
    net.save(tmp_path / "i.npz")
    assert type(n3.Network.load(tmp_path / "i.npz").seed) is int
