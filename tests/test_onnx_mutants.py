"""ONNX export (fastnn.onnx, _onnx_sklearn, _onnx_graph, _onnx_network3) rule by rule: tests written
against the mutants that survived tests/test_onnx.py, test_onnx_sklearn.py, test_onnx_network3.py and
test_cli_export.py, each first run against its mutant and failed."""
import os
import subprocess
import sys

import numpy as np
import pytest
from sklearn.base import BaseEstimator, TransformerMixin

pytest.importorskip("onnx")

from fastnn import ModelFileError  # noqa: E402
from fastnn import onnx as fonnx  # noqa: E402


def test_without_skl2onnx_registering_the_converters_says_what_to_install():
    code = ("import sys; sys.modules['skl2onnx'] = None\n"
            "from fastnn import onnx\n"
            "try:\n"
            "    onnx.register_converters()\n"
            "except ImportError as exc:\n"
            "    print(type(exc).__name__, exc)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ImportError converting scikit-learn estimators needs skl2onnx (")
    assert 'pip install "fastnn[onnx]"' in result.stdout


def test_export_file_never_unpickles_the_model_file(tmp_path):
    # a file whose "format" entry is a pickled object that would make a folder when loaded
    marker = tmp_path / "unpickled"

    class Trap:
        def __reduce__(self):
            return os.mkdir, (str(marker),)

    np.savez(tmp_path / "trap.npz", format=np.array([Trap()], dtype=object))
    assert not marker.exists()
    with pytest.raises(ModelFileError):
        fonnx.export_file(tmp_path / "trap.npz", tmp_path / "trap.onnx")
    assert not marker.exists() and not (tmp_path / "trap.onnx").exists()


class Doubler(TransformerMixin, BaseEstimator):
    """A scikit-learn transformer skl2onnx has no converter for."""

    def fit(self, X, y=None):
        self.n_features_in_ = np.shape(X)[1]
        return self

    def transform(self, X):
        return 2 * np.asarray(X)


def test_a_part_without_converter_is_named_by_the_first_line_of_skl2onnxs_message():
    pytest.importorskip("skl2onnx")
    from sklearn.pipeline import make_pipeline

    from fastnn.sklearn import MLPClassifier

    X = np.random.default_rng(0).random((30, 4))
    y = np.arange(30) % 2
    pipe = make_pipeline(Doubler(), MLPClassifier((5,), epochs=1, random_state=0)).fit(X, y)
    with pytest.raises(TypeError) as info:
        fonnx.to_onnx(pipe)
    message = str(info.value)
    assert message.startswith("cannot export Pipeline to ONNX: skl2onnx has no converter for a part of it (")
    assert "Doubler" in message and "\n" not in message
    assert message.endswith("); fastnn registers converters for fastnn.sklearn.MLPClassifier and MLPRegressor only")


def test_to_onnx_refuses_an_untrained_network_by_default():
    from fastnn import Network

    with pytest.raises(ValueError, match="allow_untrained"):
        fonnx.to_onnx(Network([3, 2], seed=0))
    assert fonnx.to_onnx(Network([3, 2], seed=0), allow_untrained=True) is not None


def test_a_classifier_on_whole_float_labels_exports_int64_labels_of_shape_n():
    pytest.importorskip("skl2onnx")
    import onnxruntime

    from fastnn.sklearn import MLPClassifier

    X = np.random.default_rng(0).random((30, 4))
    y = (np.arange(30) % 3).astype(float)  # 0.0, 1.0, 2.0: whole numbers
    clf = MLPClassifier((5,), epochs=2, random_state=0).fit(X, y)
    model = fonnx.to_onnx(clf)
    session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    label, proba = session.run(None, {"X": X})
    assert label.shape == (30,) and label.dtype == np.int64  # one label per row, not (30, 1)
    np.testing.assert_array_equal(label, clf.predict(X).astype(np.int64))
    assert proba.shape == (30, 3)



def _fitted_classifier(y):
    from fastnn.sklearn import MLPClassifier

    X = np.random.default_rng(1).random((len(y), 4))
    return X, MLPClassifier((5,), epochs=2, random_state=0).fit(X, y)


def _run_in_onnxruntime(model, X):
    import onnxruntime

    session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"X": X})


def test_a_classifier_on_string_labels_held_as_objects_exports_them_as_strings():
    pytest.importorskip("skl2onnx")
    y = np.array(["cat", "dog", "emu"] * 10, dtype=object)  # as a DataFrame's string column gives them
    X, clf = _fitted_classifier(y)
    assert clf.classes_.dtype == object
    label, proba = _run_in_onnxruntime(fonnx.to_onnx(clf), X)
    assert label.dtype.kind in "OU" and label.shape == (30,)
    assert list(label) == list(clf.predict(X))
    assert proba.shape == (30, 3)


def test_timedelta_and_datetime_labels_are_refused_by_their_type():
    """Labels that are neither numbers nor strings (fit takes them) cannot be ONNX labels, whatever
    their kind letter sorts after: the export refuses them, naming the first label's type."""
    pytest.importorskip("skl2onnx")
    for y, kind in [((np.arange(30) % 2).astype("timedelta64[D]"), "timedelta64"),
                    ((np.arange(30) % 2).astype("datetime64[D]"), "datetime64")]:
        _, clf = _fitted_classifier(y)
        with pytest.raises(ValueError, match=f"^cannot export class labels of type {kind}: ONNX classifiers "
                                             f"output int64 or string labels$"):
            fonnx.to_onnx(clf)


def test_a_classifier_of_one_datetime_class_is_refused_by_its_type():
    pytest.importorskip("skl2onnx")
    _, clf = _fitted_classifier(np.zeros(30).astype("datetime64[D]"))
    assert len(clf.classes_) == 1
    with pytest.raises(ValueError, match="^cannot export class labels of type datetime64: "):
        fonnx.to_onnx(clf)


def test_the_classifier_runs_alike_in_onnxs_reference_evaluator():
    """The spec's own runtime (onnx.reference) gives the labels of shape (n,) that ONNX Runtime gives:
    the model relies on nothing that only ONNX Runtime reads one way (keepdims is 0, not any false-ish
    value)."""
    pytest.importorskip("skl2onnx")
    from onnx.reference import ReferenceEvaluator

    X, clf = _fitted_classifier(np.arange(30) % 3)
    model = fonnx.to_onnx(clf)
    label, proba = ReferenceEvaluator(model).run(None, {"X": X})
    assert label.shape == (30,)
    np.testing.assert_array_equal(label, clf.predict(X))
    np.testing.assert_allclose(proba, clf.predict_proba(X), rtol=1e-12, atol=0)


def test_output_class_labels_false_is_accepted_as_the_default():
    skl2onnx = pytest.importorskip("skl2onnx")
    fonnx.register_converters()
    X, clf = _fitted_classifier(np.arange(30) % 3)
    model = skl2onnx.to_onnx(clf, X[:1], options={"zipmap": False, "output_class_labels": False})
    assert [o.name for o in model.graph.output] == ["label", "probabilities"]
    label, _ = _run_in_onnxruntime(model, X)
    np.testing.assert_array_equal(label, clf.predict(X))


def test_a_networks_doc_string_gives_its_input_and_output_widths():
    from fastnn import Network

    model = Network([4, 6, 5, 3], seed=0).to_onnx(allow_untrained=True)  # every width different
    assert "Input 'X' (batch, 4);" in model.doc_string
    assert "outputs 'activations' (batch, 3), the last layer's activations" in model.doc_string
    assert "fastnn.Network([4, 6, 5, 3], cost='quadratic') trained for 0 epochs" in model.doc_string


def test_a_network_runs_alike_in_onnxs_reference_evaluator():
    """Network.to_onnx's model in the spec's own runtime (onnx.reference): labels of shape (n,)."""
    from onnx.reference import ReferenceEvaluator

    from fastnn import Network

    X = np.random.default_rng(2).random((25, 4))
    net = Network([4, 6, 3], seed=0)
    activations, label = ReferenceEvaluator(net.to_onnx(allow_untrained=True)).run(None, {"X": X})
    assert label.shape == (25,)
    np.testing.assert_array_equal(label, net.predict(X))
    np.testing.assert_allclose(activations, net.predict_proba(X), rtol=1e-12, atol=0)


def test_the_default_opset_is_18_for_networks_and_estimators():
    pytest.importorskip("skl2onnx")
    import onnx

    from fastnn import Network

    expected = min(18, onnx.defs.onnx_opset_version())  # the documented default, if onnx knows it
    assert Network([4, 3], seed=0).to_onnx(allow_untrained=True).opset_import[0].version == expected
    _, clf = _fitted_classifier(np.arange(30) % 3)
    assert {o.domain: o.version for o in fonnx.to_onnx(clf).opset_import}[""] == expected


@pytest.mark.parametrize("opset", range(9, 19))
def test_a_classifier_exports_and_runs_at_every_opset_from_9_to_18(opset):
    """ReduceSum takes its axes as an attribute up to opset 12 and as an input from 13 on."""
    pytest.importorskip("skl2onnx")
    X, clf = _fitted_classifier(np.arange(30) % 3)
    model = fonnx.to_onnx(clf, opset=opset)
    label, proba = _run_in_onnxruntime(model, X)
    np.testing.assert_array_equal(label, clf.predict(X))
    np.testing.assert_allclose(proba, clf.predict_proba(X), rtol=1e-12, atol=0)


def _digits_cnn(dtype="float64", p=0.0):
    from fastnn import network3 as n3

    net = n3.Network([n3.ConvPoolLayer((4, 1, 3, 3), (10, 1, 8, 8), (2, 2), activation_fn=n3.ReLU),
                      n3.ConvPoolLayer((6, 4, 2, 2), (10, 4, 3, 3), (1, 1), activation_fn=n3.tanh),
                      n3.FullyConnectedLayer(6 * 2 * 2, 20, activation_fn=n3.sigmoid, p_dropout=p),
                      n3.SoftmaxLayer(20, 7, p_dropout=p)], 10, seed=0, dtype=dtype)
    net.epochs_done_ = 2
    return net


def test_a_network3_doc_string_names_its_layers_and_widths():
    model = _digits_cnn().to_onnx()
    doc = model.doc_string
    assert doc.startswith("fastnn.network3.Network (ConvPoolLayer, ConvPoolLayer, FullyConnectedLayer, "
                          "SoftmaxLayer) trained for 2 epochs, exported by fastnn ")
    assert " in float64: the book's chapter-6 network at inference (dropout scaled by 1 - p)." in doc
    assert "Input 'X' (batch, 64); outputs 'activations' (batch, 7), the softmax outputs" in doc


@pytest.mark.parametrize("dtype, opset", [("float64", 13), ("float64", 18), ("float32", 18)])
def test_a_network3_runs_alike_in_onnxs_reference_evaluator(dtype, opset):
    """The chapter-6 export in the spec's own runtime (onnx.reference): labels of shape (n,), both graphs
    (float64's gathered windows, float32's Conv), ReduceMax's axes as an attribute (opset 13) and as an
    input (18)."""
    from onnx.reference import ReferenceEvaluator

    net = _digits_cnn(dtype, p=0.2)
    X = np.random.default_rng(3).random((12, 64)).astype(dtype)
    activations, label = ReferenceEvaluator(net.to_onnx(opset=opset)).run(None, {"X": X})
    assert label.shape == (12,)
    np.testing.assert_array_equal(label, net.predict(X))
    tol = 1e-12 if dtype == "float64" else 1e-5
    np.testing.assert_allclose(activations, net.predict_proba(X), rtol=tol, atol=tol * 1e-3)


def test_a_float64_network3_exports_and_runs_at_the_opsets_after_18():
    """ReduceMax takes its axes as an input from opset 18 on, also in every later opset."""
    import onnx

    from onnx_helpers import run

    net = _digits_cnn()
    X = np.random.default_rng(4).random((12, 64))
    newest = onnx.defs.onnx_opset_version()
    assert newest > 18
    for opset in sorted({19, newest}):
        activations, label = run(net.to_onnx(opset=opset), X)
        np.testing.assert_array_equal(label, net.predict(X))
        np.testing.assert_allclose(activations, net.predict_proba(X), rtol=1e-12, atol=0)
