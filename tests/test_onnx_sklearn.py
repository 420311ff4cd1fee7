"""skl2onnx converters of fastnn.sklearn.MLPClassifier / MLPRegressor, in pipelines, run in ONNX Runtime.

Tolerances: with float64 input (the estimators' dtype), probabilities and regression outputs
equal ``predict_proba`` / ``predict`` to <= 1e-12 relative elementwise (regression: relative
to the largest |prediction|, since a prediction near 0 is the difference of the target range's
minimum and a scaled output); labels identical.  ZipMap outputs are float32 (ONNX's ZipMap
takes float32 only): they must equal the same model's plain probabilities tensor, and on the
held-out digits the pipeline's ``predict_proba`` within 1e-6.  Rows: the 500 held-out digits and 4,500
rows outside the training range (up to 20 standard deviations after the scaler).
"""
import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
skl2onnx = pytest.importorskip("skl2onnx")

from sklearn.exceptions import NotFittedError  # noqa: E402
from sklearn.neural_network import MLPClassifier as SkMLPClassifier  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from fastnn import onnx as fonnx  # noqa: E402
from fastnn.sklearn import MLPClassifier, MLPRegressor  # noqa: E402

F64_RTOL = 1e-12
F32_RTOL = 1e-6
NAMES = np.array("zero one two three four five six seven eight nine".split())


def run(model, X):
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"X": X}), session


def max_rel(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.where(a == b, 0.0, np.abs(a - b) / np.abs(b)).max())


@pytest.fixture(scope="module")
def data(digits_split):
    X, y, X_test, _ = digits_split
    rng = np.random.default_rng(3)
    far = [X_test * rng.uniform(2, 6, (len(X_test), 1)) for _ in range(4)]
    far.append(rng.uniform(-1, 2, (2500, 64)))
    return X, y, np.concatenate([X_test, *far])


@pytest.fixture(scope="module", autouse=True)
def converters():
    fonnx.register_converters()


@pytest.fixture(scope="module")
def classifier_pipes(data):
    X, y, _ = data

    def make(labels, hidden=(30,), **kw):
        model = MLPClassifier(hidden, epochs=4, random_state=0, **kw)
        return make_pipeline(StandardScaler(), model).fit(X, labels)
    return {"int": make(y), "str": make(NAMES[y], hidden=(40, 20)), "binary": make(y % 2 == 0, hidden=(10,)),
            "float32": make(y, dtype="float32")}


@pytest.mark.parametrize("kind", ["int", "str", "binary"])
def test_classifier_pipeline_matches_predict_and_predict_proba(classifier_pipes, data, kind):
    pipe = classifier_pipes[kind]
    X_all = data[2]
    model = skl2onnx.to_onnx(pipe, X_all[:1], options={"zipmap": False})
    onnx.checker.check_model(model, full_check=True)
    (label, proba), session = run(model, X_all)
    assert [o.name for o in session.get_outputs()] == ["label", "probabilities"]
    assert max_rel(proba, pipe.predict_proba(X_all)) <= F64_RTOL
    np.testing.assert_array_equal(label, pipe.predict(X_all))
    assert label.dtype == (object if kind == "str" else np.int64)


def test_string_labels_keep_their_names(classifier_pipes, data):
    pipe = classifier_pipes["str"]
    (label, _), _ = run(skl2onnx.to_onnx(pipe, data[2][:1], options={"zipmap": False}), data[2][:50])
    assert set(label) <= set(NAMES) and list(label) == list(pipe.predict(data[2][:50]))


def test_float32_network_in_a_float64_pipeline(classifier_pipes, data):
    pipe = classifier_pipes["float32"]
    X_all = data[2]
    (label, proba), _ = run(skl2onnx.to_onnx(pipe, X_all[:1], options={"zipmap": False}), X_all)
    assert proba.dtype == np.float64
    # float32 rounding (see test_onnx.py): the held-out digits within 1e-6, labels everywhere
    assert np.abs(proba - pipe.predict_proba(X_all))[:500].max() <= F32_RTOL
    np.testing.assert_array_equal(label, pipe.predict(X_all))


def test_all_outputs_underflowed_gives_uniform_probabilities(data):
    X, y, X_all = data
    clf = MLPClassifier((10,), epochs=2, random_state=0).fit(X, y)
    net = clf.network_
    net.biases = [net.biases[0], np.full_like(net.biases[1], -800.0)]  # every output sigma(-800) = 0
    expected = clf.predict_proba(X_all[:20])
    assert (expected == 0.1).all()
    (label, proba), _ = run(skl2onnx.to_onnx(clf, X_all[:1], options={"zipmap": False}), X_all[:20])
    np.testing.assert_array_equal(proba, expected)
    np.testing.assert_array_equal(label, clf.predict(X_all[:20]))


@pytest.mark.parametrize("zipmap", [True, False, "columns"])
@pytest.mark.parametrize("kind", ["int", "str"])
def test_zipmap_option_as_for_scikit_learns_own_mlp(classifier_pipes, data, zipmap, kind):
    """Same outputs (names, types, kinds) as skl2onnx gives scikit-learn's MLPClassifier."""
    X, y, X_all = data
    labels = y if kind == "int" else NAMES[y]
    ours = classifier_pipes[kind]
    theirs = make_pipeline(StandardScaler(), SkMLPClassifier((10,), max_iter=5, random_state=0))
    with pytest.warns(Warning):   # scikit-learn's ConvergenceWarning after 5 iterations
        theirs.fit(X, labels)
    X32 = X_all.astype(np.float32)  # ONNX's ZipMap takes float32 probabilities only
    outputs, session = run(skl2onnx.to_onnx(ours, X32[:1], options={"zipmap": zipmap}), X32)
    _, their_session = run(skl2onnx.to_onnx(theirs, X32[:1], options={"zipmap": zipmap}), X32[:1])
    assert ([(o.name, o.type) for o in session.get_outputs()]
            == [(o.name, o.type) for o in their_session.get_outputs()])
    np.testing.assert_array_equal(outputs[0][:500], ours.predict(X32[:500]))
    # the same graph without ZipMap: the probabilities tensor ZipMap was given
    (label, expected), _ = run(skl2onnx.to_onnx(ours, X32[:1], options={"zipmap": False}), X32)
    np.testing.assert_array_equal(outputs[0], label)
    if zipmap is True:
        assert list(outputs[1][0]) == list(ours.classes_)
        got = np.array([[row[c] for c in ours.classes_] for row in outputs[1]])
    elif zipmap == "columns":
        got = np.column_stack(outputs[1:])
    else:
        got = outputs[1]
    np.testing.assert_array_equal(got, expected)
    # float32 input: the scaler runs in float32 (NumPy and ONNX round differently), so compare
    # with the pipeline on the held-out digits only, with the float32 tolerance
    assert np.abs(expected[:500] - ours.predict_proba(X32[:500])).max() <= F32_RTOL


@pytest.mark.parametrize("targets", ["one", "two"])
def test_regressor_pipeline_matches_predict(data, targets):
    X, y, X_all = data
    Y = X @ np.linspace(-1, 1, 64) * 10 + 3 if targets == "one" else np.column_stack([y * 2.5, X[:, 20] - 7])
    pipe = make_pipeline(StandardScaler(), MLPRegressor((20, 10), epochs=5, eta=0.5, random_state=0)).fit(X, Y)
    model = skl2onnx.to_onnx(pipe, X_all[:1])
    onnx.checker.check_model(model, full_check=True)
    (pred,), session = run(model, X_all)
    expected = pipe.predict(X_all).reshape(len(X_all), -1)
    assert pred.shape == expected.shape and pred.dtype == np.float64
    assert np.abs(pred - expected).max() <= F64_RTOL * np.abs(expected).max()
    assert session.get_outputs()[0].name == "variable"


def test_fastnn_to_onnx_takes_estimators_and_pipelines(classifier_pipes, data, tmp_path):
    X_all = data[2]
    pipe = classifier_pipes["int"]
    model = fonnx.to_onnx(pipe, tmp_path / "pipe.onnx")          # plain tensors by default (no ZipMap)
    assert onnx.load(tmp_path / "pipe.onnx") == model
    (label, proba), _ = run(model, X_all)
    assert max_rel(proba, pipe.predict_proba(X_all)) <= F64_RTOL
    np.testing.assert_array_equal(label, pipe.predict(X_all))
    clf = pipe[-1]
    scaled = pipe[0].transform(X_all)
    (label, proba), _ = run(fonnx.to_onnx(clf, opset=fonnx.MIN_OPSET), scaled)
    assert max_rel(proba, clf.predict_proba(scaled)) <= F64_RTOL
    (label, proba), _ = run(fonnx.to_onnx(clf, dtype="float32"), scaled.astype(np.float32))
    assert proba.dtype == np.float32
    assert np.abs(proba - clf.predict_proba(scaled))[:500].max() <= F32_RTOL


def test_estimator_errors(data):
    X, y, _ = data
    with pytest.raises(NotFittedError):
        fonnx.to_onnx(MLPClassifier())
    clf = MLPClassifier((5,), epochs=1, random_state=0).fit(X, y)
    clf.classes_ = clf.classes_ + 0.5   # scikit-learn refuses such labels in fit; ONNX cannot hold them
    with pytest.raises(ValueError, match="not whole numbers"):
        fonnx.to_onnx(clf)
    with pytest.raises(ValueError, match="too old"):
        fonnx.to_onnx(MLPClassifier((5,), epochs=1, random_state=0).fit(X, y), opset=8)


def test_class_label_options(classifier_pipes, data):
    """skl2onnx's ``output_class_labels`` (a third output: classes_) and ``nocl`` (class indices)."""
    pipe = classifier_pipes["str"]
    X_all = data[2][:100]
    outputs, session = run(skl2onnx.to_onnx(pipe, X_all[:1], options={"zipmap": False,
                                                                     "output_class_labels": True}), X_all)
    assert [o.name for o in session.get_outputs()] == ["label", "probabilities", "class_labels"]
    assert list(outputs[2]) == list(pipe.classes_)
    (label, _), _ = run(skl2onnx.to_onnx(pipe, X_all[:1], options={"zipmap": False, "nocl": True}), X_all)
    np.testing.assert_array_equal(pipe.classes_[label], pipe.predict(X_all))
