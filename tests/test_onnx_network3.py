"""ONNX export of the chapter-6 networks (fastnn.network3.Network), run in ONNX Runtime.

Every exported model is compared with ``Network.predict_proba`` / ``predict`` of the same network
on real images (the digits' 8x8 and the first 40 MNIST test images, 28x28) and on rows far outside
the training range [0, 1] (scaled by up to 30, uniform in +-50), which saturate the sigmoids and
tanhs and make the logits large.  Stated tolerances, elementwise on the softmax outputs:

* float64: relative difference <= 1e-12 on the real images; on the far rows <= 1e-12 or, where
  larger, twice :func:`rounding_bound` (the logits are then hundreds, and a softmax output
  exp(z_j - logsumexp) is off by about the absolute rounding error of the logits, in both
  implementations, which sum in different orders).
* float32: <= 1e-6 absolute on the real images, and everywhere <= twice :func:`rounding_bound`
  with the float32 unit (the two are different float32 computations, each within that bound of
  the exact result).
* Outputs below the smallest normal number of the dtype (``np.finfo(dtype).tiny``, 1.2e-38 in
  float32) in either implementation: within ``tiny`` of each other, absolutely.  A subnormal
  number has fewer significant bits, so no relative bound holds, and a runtime may flush it to
  0 (ONNX Runtime's float32 Exp does on an AMD Zen 3 with AVX2, and did not on a Zen 5 with AVX-512).
* Labels identical, except on rows whose two largest outputs are closer together than the two
  implementations' outputs differ (a near-tie that rounding may decide either way); on the
  trained networks' real images, on every row.
"""
import json
import os

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from fastnn import cli, datasets  # noqa: E402
from fastnn import network3 as n3  # noqa: E402
from fastnn import onnx as fonnx  # noqa: E402
from network3_helpers import ACTS, mnist40, small_conv_net  # noqa: E402
from onnx_helpers import rel_diff, run  # noqa: E402

UNIT = {np.dtype(np.float64): 2.0 ** -53, np.dtype(np.float32): 2.0 ** -24}
F64_RTOL = 1e-12
F32_ATOL_IN_RANGE = 1e-6
#: Rounding error allowed to each elementwise function (exp, tanh, division), in units: ONNX
#: Runtime's float32 Exp/Tanh/Softmax are vectorised approximations a few units off.
FUNCTION_UNITS = 16



def windows(x, fh, fw):
    """(n, C, OH, OW, fh, fw) views of the input windows of a 'valid' convolution."""
    return np.lib.stride_tricks.sliding_window_view(x, (fh, fw), axis=(2, 3))


def pool(z, poolsize):
    """Block maxima over (ph, pw), ignoring the border (n, F, OH, OW) -> (n, F, PH, PW)."""
    ph, pw = poolsize
    n, F, OH, OW = z.shape
    PH, PW = OH // ph, OW // pw
    return z[:, :, :PH * ph, :PW * pw].reshape(n, F, PH, ph, PW, pw).max(axis=(3, 5))


def rounding_bound(net, X, unit):
    """A priori bound on the relative rounding error of every softmax output, for any summation order.

    Layer by layer, with magnitudes M (a bound on |a|) and absolute errors E of the activations:
    a sum of n products is off by at most n u sum |w a| plus sum |w| E; a max-pool passes on at
    most the largest error of its block; adding the bias (and folding 1 - p into w) adds u times
    the magnitude; sigmoid passes on a quarter of its input's error, tanh all of it, ReLU and
    linear are exact, each function adding ``FUNCTION_UNITS`` units.  A softmax output
    exp(z_j - logsumexp(z)) is then off by at most 2 max |dz| relative, plus its own rounding.
    """
    u = unit
    n = X.shape[0]
    M = np.abs(np.asarray(X, dtype=np.float64))
    E = np.zeros_like(M)
    for layer in net.layers:
        w, b = np.abs(layer.w.astype(np.float64)), np.abs(layer.b.astype(np.float64))
        if isinstance(layer, n3.ConvPoolLayer):
            F, C, fh, fw = layer.filter_shape
            shape = (n,) + tuple(layer.image_shape[1:])
            M, E = M.reshape(shape), E.reshape(shape)
            flipped = w[:, :, ::-1, ::-1]
            S = np.einsum("ncijkl,fckl->nfij", windows(M, fh, fw), flipped)
            Ez = C * fh * fw * u * S + np.einsum("ncijkl,fckl->nfij", windows(E, fh, fw), flipped)
            Mz = pool(S, layer.poolsize) + b[None, :, None, None]
            Ez = pool(Ez, layer.poolsize) + u * Mz
        else:
            M, E = M.reshape(n, -1), E.reshape(n, -1)
            keep = 1.0 - layer.p_dropout
            S = keep * (M @ w)
            Ez = (layer.n_in + 2) * u * S + keep * (E @ w)
            Mz = S + b
            Ez = Ez + u * Mz
        if isinstance(layer, n3.SoftmaxLayer):
            return 2 * Ez.max(axis=1, keepdims=True) + (layer.n_out + 2 * FUNCTION_UNITS) * u
        name = layer._describe()["activation_fn"]
        if name == "sigmoid":
            M, E = np.ones_like(Mz), Ez / 4 + FUNCTION_UNITS * u
        elif name == "tanh":
            M, E = np.ones_like(Mz), Ez + FUNCTION_UNITS * u
        else:
            M, E = Mz, Ez


def check_outputs(net, X, in_range):
    """Run the exported model on ``X`` and check it against predict_proba (see the module docstring)."""
    dtype = net.dtype
    activations, label = run(net.to_onnx(), X.astype(dtype))
    assert activations.dtype == dtype and label.dtype == np.int64
    ours = net.predict_proba(X.astype(dtype))
    bound = rounding_bound(net, X, UNIT[dtype])
    tiny = np.finfo(dtype).tiny
    subnormal = np.maximum(np.abs(activations), np.abs(ours)) < tiny
    assert (np.abs(activations[subnormal] - ours[subnormal].astype(np.float64)) <= tiny).all()
    rel = np.where(subnormal, 0.0, rel_diff(activations, ours))  # no relative bound for subnormals
    if dtype == np.float64:
        limit = np.full_like(bound, F64_RTOL) if in_range else np.maximum(F64_RTOL, 2 * bound)
        assert (rel <= limit).all(), float(rel.max())
    else:
        if in_range:
            assert np.abs(activations - ours).max() <= F32_ATOL_IN_RANGE
        assert (rel <= 2 * bound).all(), float((rel / (2 * bound)).max())
    # a label may differ only where the two largest outputs are closer than the outputs' difference
    top2 = np.sort(ours.astype(np.float64), axis=1)[:, -2:]
    clear = (top2[:, 1] - top2[:, 0]) > 2 * rel.max(axis=1) * top2[:, 1]
    np.testing.assert_array_equal(label[clear], net.predict(X.astype(dtype))[clear])
    return rel


def far_rows(X, n_uniform, seed=0):
    """Rows far outside [0, 1]: the images scaled by 2 to 30, and uniform rows in [-50, 50]."""
    rng = np.random.default_rng(seed)
    return np.concatenate([X * rng.uniform(2, 30, (len(X), 1)), rng.uniform(-50, 50, (n_uniform, X.shape[1]))])


def digits_net(act, dtype, p=0.0, seed=0):
    """Two conv-pool layers, a fully connected layer and the softmax, on the digits' 8x8 images."""
    return n3.Network([n3.ConvPoolLayer((4, 1, 3, 3), (10, 1, 8, 8), (2, 2), activation_fn=act),
                       n3.ConvPoolLayer((6, 4, 2, 2), (10, 4, 3, 3), (1, 1), activation_fn=act),
                       n3.FullyConnectedLayer(6 * 2 * 2, 20, activation_fn=act, p_dropout=p),
                       n3.SoftmaxLayer(20, 10, p_dropout=p)], 10, seed=seed, dtype=dtype)


@pytest.fixture(scope="module")
def digits3():
    return datasets.train_test_digits()


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("act", ACTS, ids=lambda f: f.__name__)
def test_every_activation_with_dropout_matches_predict_proba(act, dtype, digits3):
    X, y, X_test, _ = digits3
    net = digits_net(act, dtype, p=0.25).fit(X, y, epochs=2, mini_batch_size=10, eta=0.1)
    check_outputs(net, X_test, in_range=True)
    check_outputs(net, far_rows(X_test, 5000), in_range=False)
    np.testing.assert_array_equal(run(net.to_onnx(), X_test.astype(dtype))[1], net.predict(X_test))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("act", ACTS, ids=lambda f: f.__name__)
def test_book_shaped_network_on_mnist_images(act, dtype):
    images, labels = mnist40(dtype)
    net = small_conv_net(act, p=0.5, dtype=dtype)
    net.epochs_done_ = 1  # trained parameters are not needed to compare two forward passes
    check_outputs(net, images, in_range=True)
    check_outputs(net, far_rows(images, 200, seed=1), in_range=False)


def test_ten_thousand_rows_with_saturated_sigmoids(digits3):
    X, y, X_test, _ = digits3
    net = digits_net(n3.sigmoid, "float64").fit(X, y, epochs=2, mini_batch_size=10, eta=0.1)
    rows = np.concatenate([X_test, far_rows(X_test, 10_000 - 2 * len(X_test), seed=3)])
    assert rows.shape == (10_000, 64)
    check_outputs(net, rows, in_range=False)
    np.testing.assert_array_equal(run(net.to_onnx(), rows)[1], net.predict(rows))
    net.layers[0].w = net.layers[0].w * 50  # first layer deep in saturation even on the real images
    assert np.mean(np.abs(net.layers[0].w).sum(axis=(1, 2, 3))) > 50
    rel = check_outputs(net, rows[:len(X_test)], in_range=True)
    assert rel.max() <= F64_RTOL


def test_network_without_conv_layers():
    rng = np.random.default_rng(0)
    net = n3.Network([n3.FullyConnectedLayer(30, 12, n3.tanh, p_dropout=0.1), n3.SoftmaxLayer(12, 4, 0.3)],
                     5, seed=0)
    net.epochs_done_ = 1
    check_outputs(net, rng.uniform(0, 1, (500, 30)), in_range=True)
    check_outputs(net, rng.uniform(-40, 40, (500, 30)), in_range=False)


def test_graph_operators_and_weights(digits3):
    net = digits_net(n3.ReLU, "float64", p=0.25)
    net.epochs_done_ = 1
    f64, f32 = net.to_onnx(), net.to_onnx(dtype="float32")
    ops64, ops32 = {n.op_type for n in f64.graph.node}, {n.op_type for n in f32.graph.node}
    assert "Conv" in ops32 and "MaxPool" in ops32 and "Conv" not in ops64  # ONNX Runtime: no float64 Conv
    assert {"Gemm", "Softmax", "ArgMax", "Relu", "Reshape"} <= ops64 & ops32
    inits = {t.name: onnx.numpy_helper.to_array(t) for t in f32.graph.initializer}
    filters = next(v for k, v in inits.items() if k.startswith("filters"))
    np.testing.assert_array_equal(filters, net.layers[0].w[:, :, ::-1, ::-1].astype(np.float32))
    weights = [v for k, v in inits.items() if k.startswith("weights")]
    biases = [v for k, v in inits.items() if k.startswith("biases")]
    np.testing.assert_array_equal(weights[0], (net.layers[2].w * 0.75).astype(np.float32))   # keep folded in
    np.testing.assert_array_equal(weights[1], (net.layers[3].w * 0.75).astype(np.float32))
    np.testing.assert_array_equal(biases[0], net.layers[2].b.astype(np.float32))             # bias unscaled
    dims = [d.dim_param or d.dim_value for d in f64.graph.input[0].type.tensor_type.shape.dim]
    assert dims == ["batch", 64]


def test_metadata_and_check_model():
    net = digits_net(n3.tanh, "float32")
    net.epochs_done_ = 3
    model = net.to_onnx()
    onnx.checker.check_model(model, full_check=True)
    meta = {p.key: p.value for p in model.metadata_props}
    assert meta["network"] == "fastnn.network3.Network" and meta["epochs_done"] == "3"
    assert meta["dtype"] == "float32" and json.loads(meta["layers"])[0]["kind"] == "conv"
    assert "softmax outputs" in model.doc_string and model.producer_name == "fastnn"


@pytest.mark.parametrize("opset", [9, 10, 13, 17, 18])
def test_opsets(opset, digits3):
    net = digits_net(n3.sigmoid, "float64")
    net.epochs_done_ = 1
    X = digits3[2]
    for dtype in ("float64", "float32"):
        model = net.to_onnx(opset=opset, dtype=dtype)
        assert model.opset_import[0].version == opset
        activations, label = run(model, X.astype(dtype))
        expected = net.predict_proba(X)
        assert np.abs(activations - expected).max() <= (1e-15 if dtype == "float64" else 1e-6)
        np.testing.assert_array_equal(label, net.predict(X))


def test_dtype_conversion_both_ways(digits3):
    X, y, X_test, _ = digits3
    net32 = digits_net(n3.ReLU, "float32").fit(X, y, epochs=1, mini_batch_size=10, eta=0.1)
    activations, _ = run(net32.to_onnx(dtype="float64"), X_test)
    assert activations.dtype == np.float64
    assert np.abs(activations - net32.predict_proba(X_test)).max() <= 1e-5
    huge = digits_net(n3.linear, "float64")
    huge.epochs_done_ = 1
    huge.layers[0].w = np.full(huge.layers[0].w.shape, 1e300)
    with pytest.raises(ValueError, match="too large for float32"):
        huge.to_onnx(dtype="float32")


def test_errors_write_nothing(tmp_path):
    net = digits_net(n3.sigmoid, "float64")
    with pytest.raises(ValueError, match="has not been trained.*allow_untrained"):
        net.to_onnx()
    net.to_onnx(allow_untrained=True)
    net.epochs_done_ = 1
    existing = tmp_path / "model.onnx"
    existing.write_bytes(b"old")
    with pytest.raises(ValueError, match="opset 8 is too old"):
        net.to_onnx(existing, opset=8)
    with pytest.raises(TypeError, match="opset must be an integer"):
        net.to_onnx(existing, opset="18")
    with pytest.raises(TypeError, match="dtype"):
        net.to_onnx(existing, dtype="float16")
    assert existing.read_bytes() == b"old"
    with pytest.raises(OSError, match="does not exist|No such file"):
        net.to_onnx(tmp_path / "missing" / "model.onnx")
    assert not (tmp_path / "missing").exists()
    net.to_onnx(existing)
    onnx.checker.check_model(onnx.load(existing), full_check=True)
    assert sorted(os.listdir(tmp_path)) == ["model.onnx"]  # no temporary file left behind


def test_fastnn_onnx_to_onnx_takes_network3(tmp_path):
    net = digits_net(n3.tanh, "float64")
    net.epochs_done_ = 1
    assert fonnx.to_onnx(net) == net.to_onnx()


def test_cli_export_of_a_network3_file(tmp_path, capsys, digits3):
    X, y, X_test, _ = digits3
    net = digits_net(n3.ReLU, "float64", p=0.2).fit(X, y, epochs=1, mini_batch_size=10, eta=0.1)
    net.save(tmp_path / "cnn.npz")
    assert cli.main(["export", str(tmp_path / "cnn.npz"), str(tmp_path / "cnn.onnx")]) == 0
    assert "input X (batch, 64), outputs activations (batch, 10)" in capsys.readouterr().out
    activations, label = run(tmp_path / "cnn.onnx", X_test)
    assert rel_diff(activations, net.predict_proba(X_test)).max() <= F64_RTOL
    np.testing.assert_array_equal(label, net.predict(X_test))
    assert cli.main(["export", str(tmp_path / "cnn.npz"), str(tmp_path / "cnn32.onnx"),
                     "--dtype", "float32"]) == 0
    activations, _ = run(tmp_path / "cnn32.onnx", X_test.astype(np.float32))
    assert np.abs(activations - net.predict_proba(X_test)).max() <= F32_ATOL_IN_RANGE
    fresh = digits_net(n3.ReLU, "float64")
    fresh.save(tmp_path / "fresh.npz")
    assert cli.main(["export", str(tmp_path / "fresh.npz"), str(tmp_path / "fresh.onnx")]) == 2
    assert "--allow-untrained" in capsys.readouterr().err
    assert not (tmp_path / "fresh.onnx").exists()


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_pool_border_rectangular_filters_and_pools(dtype, digits3):
    # conv outputs 7x6 pooled by (2, 3): the last row is ignored; then a 2x1 filter over 3 maps
    X, y, X_test, _ = digits3
    net = n3.Network([n3.ConvPoolLayer((3, 1, 2, 3), (10, 1, 8, 8), (2, 3), activation_fn=n3.tanh),
                      n3.ConvPoolLayer((5, 3, 2, 1), (10, 3, 3, 2), (1, 2), activation_fn=n3.ReLU),
                      n3.SoftmaxLayer(5 * 2 * 1, 10)], 10, seed=1, dtype=dtype)
    net.fit(X, y, epochs=1, mini_batch_size=10, eta=0.1)
    check_outputs(net, X_test, in_range=True)
    check_outputs(net, far_rows(X_test, 500), in_range=False)
    np.testing.assert_array_equal(run(net.to_onnx(), X_test.astype(dtype))[1], net.predict(X_test))


@pytest.mark.parametrize("channel_last", [False, True])
def test_window_indices_gather_theanos_flipped_convolution(channel_last):
    # the gathered windows times the filters give the reference's convolution, pooled area only
    from fastnn._onnx_network3 import window_indices
    from fastnn.reference.network3_np import conv_valid

    layer = n3.ConvPoolLayer((3, 2, 3, 2), (10, 2, 7, 6), (2, 2))
    rng = np.random.default_rng(0)
    x, w = rng.normal(size=(2, 7, 6)), rng.normal(size=(3, 2, 3, 2))
    flat = x.transpose(1, 2, 0).ravel() if channel_last else x.ravel()
    z = flat[window_indices(layer, channel_last)] @ w.reshape(3, -1).T      # (positions, filters)
    _, phn, pwn = layer.output_shape                                         # conv 5x5 pooled to 2x2
    expected = conv_valid(x, w)[:, :phn * 2, :pwn * 2]                       # (3, 4, 4): border dropped
    blocks = expected.reshape(3, phn, 2, pwn, 2).transpose(1, 3, 2, 4, 0).reshape(-1, 3)
    np.testing.assert_allclose(z, blocks, rtol=1e-13, atol=1e-13)
