"""ONNX export of fastnn.Network, run in ONNX Runtime and compared with fastnn's own forward pass.

Tolerances, on every output of every row (10,000 rows per network: the 500 held-out digits, 1,500
of them scaled by 2 to 20, and 8,000 random rows far outside the training range [0, 1], up to
+-100, which saturate the first layer's sigmoids):

* float64: relative difference |ort - fastnn| / |fastnn| <= 1e-12 elementwise, labels identical.
  Where an output layer itself sees huge inputs (no hidden layer, or rows up to +-1000), a
  saturated output sigma(z) ~ exp(z) has a relative error of about the absolute rounding
  error of z, in fastnn as in ONNX Runtime (they sum in different orders); there the test
  checks the textbook bound |dz| <= n u sum_j |w_j a_j| (u = 2^-53) plus 1e-12 instead.
* float32: ONNX Runtime's Gemm sums the weighted inputs in another order than the kernels, so
  the two differ by float32 rounding, which fastnn's float32 result has too (it is not more
  exact than ONNX Runtime's).  Stated checks: on the held-out digits the outputs (which lie in
  (0, 1)) differ by <= 1e-6; on every row ONNX Runtime is as close to the exact float64 network
  as fastnn float32 is: both within the a priori rounding bound of :func:`rounding_bound` (float32
  unit), ONNX Runtime's largest error at most 4x fastnn float32's; labels identical.
"""
import os
import subprocess
import sys

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from fastnn import Network  # noqa: E402
from fastnn import onnx as fonnx  # noqa: E402
from onnx_helpers import rel_diff, run  # noqa: E402

FIXTURE = os.path.join(os.path.dirname(__file__), "data", "digits-64-10-10-fastnn-0.1.0.npz")

F64_RTOL = 1e-12
F32_ATOL_IN_RANGE = 1e-6
SIZES = [[64, 10], [64, 30, 10], [64, 100, 10], [64, 30, 20, 10], [64, 60, 40, 20, 10]]



def max_rel(a, b):
    """Largest elementwise |a - b| / |b|."""
    return float(rel_diff(a, b).max())


def rounding_bound(net, X, unit=2.0 ** -53):
    """A priori bound on the relative rounding error of each output, plus 1e-12.

    Forward error analysis layer by layer (u = ``unit``): a weighted sum of n terms is off by
    at most n u sum_j |w_j a_j| (+ |b|) plus the error its inputs carry, |W| e_a; a sigmoid
    passes on at most a quarter of its input's error (sigma' <= 1/4) plus its own rounding;
    and the relative error of the output sigma(z) is at most the absolute error of z, since
    d(log sigma)/dz = 1 - sigma <= 1.  It holds for any summation order, so for fastnn and
    ONNX Runtime alike; it is large only where the weighted sums are, i.e. for huge inputs.
    """
    a, err = np.asarray(X, dtype=np.float64), np.zeros(X.shape)
    for l, (w, b) in enumerate(zip(net.weights, net.biases)):
        w, b = w.astype(np.float64), b[:, 0].astype(np.float64)
        err_z = w.shape[1] * unit * (np.abs(a) @ np.abs(w.T) + np.abs(b)) + err @ np.abs(w.T)
        if l == len(net.weights) - 1:
            return F64_RTOL + err_z
        a = 1 / (1 + np.exp(-np.clip(a @ w.T + b, -700, 700)))
        err = err_z / 4 + 4 * unit


def rows(X_test, dtype=np.float64):
    """10,000 rows: the held-out digits, then rows far outside the training range [0, 1]."""
    rng = np.random.default_rng(7)
    far = [X_test * rng.uniform(2, 20, (len(X_test), 1)) for _ in range(3)]
    n = len(X_test) * 4
    far += [rng.uniform(-5, 5, (2500, 64)), rng.uniform(-100, 100, (2500, 64)),
            rng.standard_normal((10000 - n - 5000, 64)) * 30]
    return np.concatenate([X_test, *far]).astype(dtype)


@pytest.fixture(scope="module")
def trained(digits_split):
    """One float64 network per shape of SIZES, trained on the digits."""
    X, y, _, _ = digits_split
    return {tuple(s): Network(s, seed=1).fit(X, y, epochs=4, mini_batch_size=10, eta=3.0) for s in SIZES}


def as_float64(net):
    """A float64 copy of ``net`` (its parameters exactly)."""
    copy = Network(net.sizes, seed=0, cost=net.cost)
    copy.weights = [w.astype(np.float64) for w in net.weights]
    copy.biases = [b.astype(np.float64) for b in net.biases]
    return copy


def as_float32(net):
    """A float32 copy of ``net`` (same parameters, rounded)."""
    copy = Network(net.sizes, seed=0, dtype="float32", cost=net.cost)
    copy.weights = [w.astype(np.float32) for w in net.weights]
    copy.biases = [b.astype(np.float32) for b in net.biases]
    copy.epochs_done_ = net.epochs_done_
    return copy


@pytest.mark.parametrize("sizes", SIZES, ids=lambda s: "-".join(map(str, s)))
def test_float64_equals_predict_proba(trained, digits_split, sizes):
    net = trained[tuple(sizes)]
    X = rows(digits_split[2])
    model = net.to_onnx()
    onnx.checker.check_model(model, full_check=True)
    activations, label = run(model, X)
    assert activations.dtype == np.float64 and activations.shape == (10000, sizes[-1])
    rel = rel_diff(activations, net.predict_proba(X))
    n_digits = 4 * len(digits_split[2])
    assert rel[:n_digits].max() <= F64_RTOL
    if len(sizes) > 2:
        assert rel.max() <= F64_RTOL
    else:  # no hidden layer: the far rows reach the output sigmoids directly
        assert (rel <= rounding_bound(net, X)).all()
    np.testing.assert_array_equal(label, net.predict(X))
    assert label.dtype == np.int64


@pytest.mark.parametrize("sizes", SIZES, ids=lambda s: "-".join(map(str, s)))
def test_float64_rows_up_to_1000_within_the_rounding_bound(trained, sizes):
    net = trained[tuple(sizes)]
    X = np.random.default_rng(8).uniform(-1000, 1000, (2000, 64))
    activations, label = run(net.to_onnx(), X)
    assert (rel_diff(activations, net.predict_proba(X)) <= rounding_bound(net, X)).all()
    np.testing.assert_array_equal(label, net.predict(X))


@pytest.mark.parametrize("sizes", SIZES, ids=lambda s: "-".join(map(str, s)))
def test_float32_as_accurate_as_fastnn_float32(trained, digits_split, sizes):
    exact_net = trained[tuple(sizes)]
    net = as_float32(exact_net)
    X = rows(digits_split[2], np.float32)
    model = net.to_onnx()
    onnx.checker.check_model(model, full_check=True)
    activations, label = run(model, X)
    assert activations.dtype == np.float32
    ours = net.predict_proba(X)
    n_test = len(digits_split[2])
    assert np.abs(activations[:n_test] - ours[:n_test]).max() <= F32_ATOL_IN_RANGE
    exact = as_float64(net).predict_proba(X.astype(np.float64))  # the same numbers, in float64
    bound = rounding_bound(net, X, unit=2.0 ** -24)
    tiny = np.finfo(np.float32).tiny   # below it float32 underflows: compared absolutely
    for result in (ours, activations):   # the bound holds for fastnn and for ONNX Runtime
        under = exact < tiny
        assert (rel_diff(result, exact)[~under] <= bound[~under]).all()
        assert (np.abs(result[under] - exact[under]) <= tiny).all()
    assert np.abs(activations - exact).max() <= 4 * np.abs(ours - exact).max()
    np.testing.assert_array_equal(label, net.predict(X))


def test_saturated_outputs_keep_their_relative_precision(trained, digits_split):
    """Outputs far in the sigmoid's tails (1e-300, 1 - 1e-17): ONNX's own Sigmoid operator loses
    them (ONNX Runtime returns 0 for sigma(-40)), the exported graph does not."""
    net = Network([64, 30, 10], seed=1)
    base = trained[(64, 30, 10)]
    net.weights = [base.weights[0], base.weights[1] * 60]
    net.biases = [base.biases[0], base.biases[1] * 60]
    net.epochs_done_ = 1
    X = rows(digits_split[2])
    expected = net.predict_proba(X)
    assert (expected < 1e-100).any() and (expected == 0).any() and (expected == 1).any()
    activations, label = run(net.to_onnx(), X)
    rel = rel_diff(activations, expected)
    assert (rel <= rounding_bound(net, X)).all()
    assert rel[expected < 1e-100].max() <= 1e-10
    np.testing.assert_array_equal(activations == 0, expected == 0)
    np.testing.assert_array_equal(label, net.predict(X))


def test_dtype_conversion_on_request(trained, digits_split):
    net = trained[(64, 30, 10)]
    X = digits_split[2]
    down = net.to_onnx(dtype="float32")
    activations, _ = run(down, X.astype(np.float32))
    assert activations.dtype == np.float32
    assert np.abs(activations - as_float32(net).predict_proba(X.astype(np.float32))).max() <= F32_ATOL_IN_RANGE
    up = as_float32(net).to_onnx(dtype="float64")
    activations, _ = run(up, X)
    assert max_rel(activations, as_float64(as_float32(net)).predict_proba(X)) <= F64_RTOL
    with pytest.raises(TypeError, match="dtype"):
        net.to_onnx(dtype="float16")


def test_too_large_for_float32_is_refused(trained):
    net = Network([4, 3, 2], seed=0)
    net.weights = [np.full((3, 4), 1e300), net.weights[1]]
    net.epochs_done_ = 1
    with pytest.raises(ValueError, match="too large for float32"):
        net.to_onnx(dtype="float32")


def test_inputs_outputs_and_metadata(trained):
    net = trained[(64, 30, 20, 10)]
    model = net.to_onnx(opset=13)
    (x,), outputs = model.graph.input, model.graph.output
    assert x.name == "X"
    dims = x.type.tensor_type.shape.dim
    assert dims[0].dim_param == "batch" and dims[1].dim_value == 64
    assert [o.name for o in outputs] == ["activations", "label"]
    assert outputs[0].type.tensor_type.shape.dim[1].dim_value == 10
    assert model.opset_import[0].version == 13
    assert model.producer_name == "fastnn"
    meta = {p.key: p.value for p in model.metadata_props}
    assert meta["sizes"] == "[64, 30, 20, 10]" and meta["cost"] == "quadratic"
    assert meta["dtype"] == "float64" and meta["epochs_done"] == "4"
    assert meta["fastnn_version"] == __import__("fastnn").__version__
    assert "sigmoid" in model.doc_string and "predict_proba" in model.doc_string
    assert "Sigmoid" not in {node.op_type for node in model.graph.node}


@pytest.mark.parametrize("opset", [fonnx.MIN_OPSET, 13, fonnx.DEFAULT_OPSET, onnx.defs.onnx_opset_version()])
def test_every_supported_opset_runs(trained, digits_split, opset):
    net = trained[(64, 30, 10)]
    X = digits_split[2]
    model = net.to_onnx(opset=opset)
    onnx.checker.check_model(model, full_check=True)
    activations, label = run(model, X)
    assert max_rel(activations, net.predict_proba(X)) <= F64_RTOL
    np.testing.assert_array_equal(label, net.predict(X))


def test_opset_errors(trained):
    net = trained[(64, 30, 10)]
    with pytest.raises(ValueError, match=f"opset 8 is too old.*{fonnx.MIN_OPSET} or newer"):
        net.to_onnx(opset=8)
    with pytest.raises(ValueError, match="newer than the installed onnx"):
        net.to_onnx(opset=onnx.defs.onnx_opset_version() + 1)
    with pytest.raises(TypeError, match="opset must be an integer"):
        net.to_onnx(opset="18")


def test_untrained_network_is_refused_unless_allowed(digits_split):
    net = Network([64, 10, 10], seed=0)
    with pytest.raises(ValueError, match="has not been trained.*allow_untrained=True"):
        net.to_onnx()
    X = digits_split[2]
    activations, _ = run(net.to_onnx(allow_untrained=True), X)
    assert max_rel(activations, net.predict_proba(X)) <= F64_RTOL


def test_unsupported_models_are_refused(digits_split):
    from fastnn import LinearRegression

    with pytest.raises(TypeError, match="cannot export str"):
        fonnx.to_onnx("model.npz")
    X, y, _, _ = digits_split
    with pytest.raises(TypeError, match="cannot export LinearRegression"):
        fonnx.to_onnx(LinearRegression().fit(X, y.astype(float)))


def test_to_onnx_writes_the_model_it_returns(trained, tmp_path, digits_split):
    net = trained[(64, 30, 10)]
    path = tmp_path / "net.onnx"
    model = fonnx.to_onnx(net, path)
    assert onnx.load(path) == model
    activations, _ = run(str(path), digits_split[2])
    assert max_rel(activations, net.predict_proba(digits_split[2])) <= F64_RTOL
    assert os.listdir(tmp_path) == ["net.onnx"]


def test_failures_leave_nothing_half_written(trained, tmp_path, monkeypatch):
    net = trained[(64, 30, 10)]
    target = tmp_path / "net.onnx"
    target.write_bytes(b"previous model")
    with pytest.raises(ValueError, match="too old"):
        net.to_onnx(target, opset=7)
    with pytest.raises(ValueError, match="not been trained"):
        Network([64, 30, 10]).to_onnx(target)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        net.to_onnx(tmp_path / "missing" / "net.onnx")

    def disk_full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError, match=r"cannot write the ONNX model \(No space left on device\).*net.onnx"):
        net.to_onnx(target)
    monkeypatch.undo()
    assert target.read_bytes() == b"previous model"
    assert sorted(os.listdir(tmp_path)) == ["net.onnx"]


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs a non-root POSIX user")
def test_unwritable_directory(trained, tmp_path):
    tmp_path.chmod(0o500)
    try:
        with pytest.raises(PermissionError, match="cannot write the ONNX model.*net.onnx"):
            trained[(64, 30, 10)].to_onnx(tmp_path / "net.onnx")
    finally:
        tmp_path.chmod(0o700)
    assert os.listdir(tmp_path) == []


def test_fastnn_never_imports_onnx_for_training_and_prediction():
    code = ("import sys, numpy as np, fastnn\n"
            "from fastnn import Network, datasets\n"
            "from fastnn.sklearn import MLPClassifier\n"
            "X, y, Xt, yt = datasets.train_test_digits()\n"
            "net = Network([64, 10, 10], seed=0).fit(X, y, epochs=1)\n"
            "net.predict(Xt); net.predict_proba(Xt)\n"
            "MLPClassifier((10,), epochs=1, random_state=0).fit(X, y).predict_proba(Xt)\n"
            "loaded = [m for m in ('onnx', 'onnxruntime', 'skl2onnx') if m in sys.modules]\n"
            "print(loaded)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_without_onnx_the_error_says_what_to_install(tmp_path):
    """With onnx missing (blocked in sys.modules), export raises an ImportError naming the extra,
    and ``fastnn export`` prints it on one line with exit status 2."""
    code = ("import sys; sys.modules['onnx'] = None\n"
            "from fastnn import Network, cli\n"
            "try:\n"
            "    Network([2, 2]).to_onnx(allow_untrained=True)\n"
            "except ImportError as exc:\n"
            "    print(exc)\n"
            f"sys.exit(cli.main(['export', {str(FIXTURE)!r}, {str(tmp_path / 'x.onnx')!r}]))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert result.returncode == 2
    assert 'pip install "fastnn[onnx]"' in result.stdout
    assert result.stderr.startswith("fastnn export: error: ") and result.stderr.count("\n") == 1
    assert 'pip install "fastnn[onnx]"' in result.stderr
    assert os.listdir(tmp_path) == []
