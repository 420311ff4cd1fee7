"""fastnn.network3's layers and their checks: behaviour that surviving mutants of
``fastnn/_network3_layers.py`` showed untested (issue 27).

Each test was first run against its mutant, applied by hand, and failed.
"""
import json

import numpy as np
import pytest

from fastnn import ModelFileError, network3 as n3

from network3_helpers import gathering_pair_epoch_diff


def test_a_seeded_network_draws_each_layer_from_the_documented_distributions():
    """Layer docstrings: a fully connected layer's w is N(0, 1/n_out) and b N(0, 1); a conv
    layer's w is N(0, 1/n_out) with n_out = filters * fh * fw // prod(poolsize) (floor
    division: 7 * 3 * 3 // 4 = 15) and b N(0, 1); the softmax starts at zero.  The network's
    generator (``numpy.random.default_rng(seed)``) draws them layer after layer, w before b."""
    seed = 11
    net = n3.Network([n3.ConvPoolLayer((7, 1, 3, 3), (2, 1, 9, 9), poolsize=(2, 2)),
                      n3.FullyConnectedLayer(7 * 3 * 3, 4),
                      n3.SoftmaxLayer(4, 3)], 2, seed=seed)
    rng = np.random.default_rng(seed)
    expected = [rng.normal(0.0, np.sqrt(1.0 / 15), (7, 1, 3, 3)), rng.normal(0.0, 1.0, 7),
                rng.normal(0.0, np.sqrt(1.0 / 4), (63, 4)), rng.normal(0.0, 1.0, 4),
                np.zeros((4, 3)), np.zeros(3)]
    for got, want in zip(net.params, expected, strict=True):
        np.testing.assert_array_equal(got, want)


def test_a_conv_layer_whose_pool_exceeds_its_filter_draws_at_scale_one():
    """n_out = 1 * 1 * 1 // 4 would be 0: the scale is that of n_out = 1 (at least one)."""
    net = n3.Network([n3.ConvPoolLayer((3, 1, 1, 1), (2, 1, 4, 4), poolsize=(2, 2)),
                      n3.SoftmaxLayer(12, 2)], 2, seed=5)
    rng = np.random.default_rng(5)
    np.testing.assert_array_equal(net.layers[0].w, rng.normal(0.0, 1.0, (3, 1, 1, 1)))


def test_each_layer_repr_names_its_activation_function():
    layers = [n3.ConvPoolLayer((2, 1, 3, 3), (4, 1, 8, 8), activation_fn=n3.ReLU),
              n3.FullyConnectedLayer(18, 5, activation_fn=n3.tanh, p_dropout=0.25),
              n3.SoftmaxLayer(5, 3)]
    assert [repr(layer) for layer in layers] == [
        "ConvPoolLayer(filter_shape=(2, 1, 3, 3), image_shape=(4, 1, 8, 8), poolsize=(2, 2), activation_fn=ReLU)",
        "FullyConnectedLayer(n_in=18, n_out=5, activation_fn=tanh, p_dropout=0.25)",
        "SoftmaxLayer(n_in=5, n_out=3, p_dropout=0.0)"]


def test_layer_sizes_of_zero_are_refused_and_one_is_accepted():
    for make in (lambda n_in, n_out: n3.FullyConnectedLayer(n_in, n_out),
                 lambda n_in, n_out: n3.SoftmaxLayer(n_in, n_out)):
        with pytest.raises(ValueError, match="n_in must be >= 1, got 0"):
            make(0, 3)
        with pytest.raises(ValueError, match="n_out must be >= 1, got 0"):
            make(3, 0)
        layer = make(1, 1)
        assert (layer.n_in, layer.n_out, layer.w.shape) == (1, 1, (1, 1))


def test_a_negative_dropout_probability_is_refused():
    for make in (lambda p: n3.FullyConnectedLayer(4, 3, p_dropout=p), lambda p: n3.SoftmaxLayer(4, 3, p_dropout=p)):
        with pytest.raises(ValueError, match="p_dropout must be >= 0, got -0.1"):
            make(-0.1)
        assert make(0.0).p_dropout == 0.0


@pytest.mark.parametrize("name, args", [
    ("filter_shape", ((2, 0, 3, 3), (4, 1, 8, 8))),
    ("image_shape", ((2, 1, 3, 3), (4, 1, 0, 8))),
    ("poolsize", ((2, 1, 3, 3), (4, 1, 8, 8), (0, 2))),
])
def test_a_shape_holding_zero_is_refused(name, args):
    with pytest.raises(ValueError, match=rf"^{name} must hold positive integers, got \("):
        n3.ConvPoolLayer(*args)


def test_a_shape_that_is_not_a_sequence_is_a_type_error():
    with pytest.raises(TypeError, match=r"^poolsize must be a tuple of 2 positive integers, got 2$"):
        n3.ConvPoolLayer((2, 1, 3, 3), (4, 1, 8, 8), poolsize=2)
    with pytest.raises(TypeError, match="image_shape must be a tuple of 4 positive integers"):
        n3.ConvPoolLayer((2, 1, 3, 3), (4, True, 8, 8))


def test_an_image_with_more_feature_maps_than_the_filters_expect_is_refused():
    with pytest.raises(ValueError, match=r"filter_shape \(4, 1, 3, 3\) expects 1 input feature maps but "
                                         r"image_shape \(10, 2, 28, 28\) has 2"):
        n3.ConvPoolLayer((4, 1, 3, 3), (10, 2, 28, 28))


def test_parameters_of_a_broadcastable_but_wrong_shape_are_refused():
    """A (1,)-shaped b or a (1, 3, 3) w would broadcast into the layer's arrays: refused."""
    layer = n3.ConvPoolLayer((2, 1, 3, 3), (4, 1, 8, 8))
    with pytest.raises(ValueError, match=r"ConvPoolLayer.b must have shape \(2,\), got \(1,\)"):
        layer.b = np.ones(1)
    with pytest.raises(ValueError, match=r"ConvPoolLayer.w must have shape \(2, 1, 3, 3\), got \(1, 3, 3\)"):
        layer.w = np.ones((1, 3, 3))
    with pytest.raises(ValueError, match=r"ConvPoolLayer.w must have shape \(2, 1, 3, 3\), got \(\)"):
        layer.w = 0.5
    assert (layer.b != 1).all() and (layer.w != 0.5).all()


def test_layers_that_are_not_a_list_of_layers_are_named():
    for bad in (n3.SoftmaxLayer(4, 2), "softmax", b"softmax", 3):
        with pytest.raises(TypeError, match="^layers must be a list of layers, got "):
            n3.Network(bad, 2)


def test_the_message_about_the_last_layer_names_the_last_one():
    last = n3.FullyConnectedLayer(3, 2)
    with pytest.raises(ValueError, match=r"got FullyConnectedLayer\(n_in=3, n_out=2, activation_fn=sigmoid"):
        n3.Network([n3.FullyConnectedLayer(5, 4), n3.FullyConnectedLayer(4, 3), last], 10)


def test_a_network_of_more_than_256_layers_compares_positions_by_value():
    """CPython shares int objects only up to 256: the softmax at position 300 is the last one."""
    layers = [n3.FullyConnectedLayer(1, 1) for _ in range(300)] + [n3.SoftmaxLayer(1, 2)]
    net = n3.Network(layers, 1, seed=0)
    assert len(net.layers) == 301 and net.predict_proba(np.ones((1, 1))).shape == (1, 2)


@pytest.mark.parametrize("description", [{"kind": "ab"}, {"kind": "dense"}, {"kind": "zz"}, {},
                                         ["kind", "fc"]], ids=repr)
def test_a_file_with_an_unknown_layer_kind_is_refused_with_the_description(tmp_path, description):
    """Network.load: a layer description whose kind is none of conv, fc and softmax (one
    sorting before, between or after them, or none) is named as unknown."""
    path = tmp_path / "net.npz"
    n3.Network([n3.FullyConnectedLayer(4, 3), n3.SoftmaxLayer(3, 2)], 2, seed=0).save(path)
    with np.load(path) as f:
        arrays = dict(f)
    meta = json.loads(str(arrays["meta"]))
    meta["layers"][0] = description
    arrays["meta"] = np.array(json.dumps(meta))
    np.savez(path, **arrays)
    with pytest.raises(ModelFileError, match=r"invalid network description in 'meta': unknown layer description"):
        n3.Network.load(path)


def test_two_gathering_conv_layers_whose_every_output_gets_gradient_train_like_the_reference():
    """Both conv layers gather their inputs (C*fh*fw >= DIRECT_MAX_Q) into one per-sample
    buffer, which keeps the first layer's for its backward pass.  The second layer's pooling
    drops no border (6x6 pooled 2x2), so every output position of the first layer, its last
    row and column too, gets gradient: were the second layer's gathered inputs to start
    inside the first layer's, the first layer's gradient would be wrong.  (With a dropped
    border, the first layer's last rows get no gradient, and such an overlap went unseen.)"""
    diff = gathering_pair_epoch_diff(((4, 1, 9, 9), (5, 1, 28, 28)),   # 20x20 -> 10x10
                                     ((5, 4, 5, 5), (5, 4, 10, 10)),   # 6x6 -> 3x3
                                     5 * 3 * 3, seed=7, w_seed=8)
    assert diff <= 1e-9


def test_a_first_conv_layer_of_several_feature_maps_keeps_its_gathered_inputs_whole():
    """As above with a first layer of two input feature maps (the 784 values as 2x14x28): the
    second layer's gathered inputs start after all of the first layer's, whose size counts
    every feature map (C * fh * fw values per output position)."""
    diff = gathering_pair_epoch_diff(((4, 2, 5, 7), (5, 2, 14, 28)),   # 10x22 -> 5x11
                                     ((5, 4, 4, 4), (5, 4, 5, 11)),    # 2x8 -> 1x4
                                     5 * 1 * 4, seed=3, w_seed=4)
    assert diff <= 1e-9


def test_negative_and_too_long_shapes_are_refused():
    with pytest.raises(ValueError, match=r"^poolsize must hold positive integers, got \(-2, 2\)$"):
        n3.ConvPoolLayer((2, 1, 3, 3), (4, 1, 8, 8), poolsize=(-2, 2))
    with pytest.raises(ValueError, match=r"^filter_shape must hold positive integers, got \(2, 1, -3, 3\)$"):
        n3.ConvPoolLayer((2, 1, -3, 3), (4, 1, 8, 8))
    with pytest.raises(TypeError, match=r"^filter_shape must be a tuple of 4 positive integers, got \(2, 1, 3, 3, 1\)$"):
        n3.ConvPoolLayer((2, 1, 3, 3, 1), (4, 1, 8, 8))
    with pytest.raises(TypeError, match=r"^poolsize must be a tuple of 2 positive integers, got \(2, 2, 2\)$"):
        n3.ConvPoolLayer((2, 1, 3, 3), (4, 1, 8, 8), poolsize=(2, 2, 2))


def test_a_dropout_probability_above_one_is_refused():
    for p in (1.0, 1.5, 2.0):
        with pytest.raises(ValueError, match=rf"p_dropout must be in \[0, 1\) .*, got {p}"):
            n3.FullyConnectedLayer(4, 3, p_dropout=p)


def test_an_image_shape_for_larger_mini_batches_is_refused_with_both_sizes():
    with pytest.raises(ValueError) as info:
        n3.Network([n3.ConvPoolLayer((2, 1, 5, 5), (10, 1, 28, 28)), n3.SoftmaxLayer(288, 10)], 5)
    assert str(info.value) == ("layers[0] has image_shape (10, 1, 28, 28) for mini-batches of 10, but the "
                               "network's mini_batch_size is 5; use image_shape=(5, ...)")


def test_the_same_layer_object_twice_is_refused():
    hidden = n3.FullyConnectedLayer(4, 4)
    with pytest.raises(ValueError, match="^the same layer object appears twice in layers"):
        n3.Network([hidden, hidden, n3.SoftmaxLayer(4, 2)], 2)
    assert hidden._owner is None  # nothing was taken


def test_the_kernels_layer_table_holds_each_conv_layers_sizes():
    """The layer table the kernels read (kernels/conv_parts.py: OH, OW the convolution's
    output, PHN, PWN the pooled size).  A table whose output is taller than the convolution's
    gives the same numbers (the extra rows are never pooled) but gathers rows past the input."""
    K = n3._kernels
    net = n3.Network([n3.ConvPoolLayer((3, 2, 4, 5), (2, 2, 11, 13), poolsize=(2, 3), activation_fn=n3.ReLU),
                      n3.ConvPoolLayer((4, 3, 2, 2), (2, 3, 4, 3), poolsize=(1, 1)),
                      n3.SoftmaxLayer(4 * 3 * 2, 5)], 2, seed=0)
    fields = [K.KIND, K.ACT, K.C, K.H, K.W, K.F, K.FH, K.FW, K.PH, K.PW, K.OH, K.OW, K.PHN, K.PWN, K.N_IN, K.N_OUT]
    assert net._spec[0, fields].tolist() == [K.CONV, K.RELU, 2, 11, 13, 3, 4, 5, 2, 3, 8, 9, 4, 3, 2 * 11 * 13, 36]
    assert net._spec[1, fields].tolist() == [K.CONV, K.SIGMOID, 3, 4, 3, 4, 2, 2, 1, 1, 3, 2, 3, 2, 36, 24]
