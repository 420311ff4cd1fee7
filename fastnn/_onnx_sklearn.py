"""skl2onnx converters for :class:`fastnn.sklearn.MLPClassifier` and :class:`~fastnn.sklearn.MLPRegressor`.

Registered by :func:`fastnn.onnx.register_converters`; after that
``skl2onnx.to_onnx`` converts these estimators alone or inside a
``Pipeline``, with the outputs of scikit-learn's own MLPs:

* classifier: ``label`` (int64 for integer or bool classes, string for
  string classes: ``classes_[argmax]`` of the output activations, as
  ``predict``) and ``probabilities`` (each row of sigmoid outputs divided by
  its sum, a row whose outputs all underflowed to 0 uniform, as
  ``predict_proba``); skl2onnx adds its ``ZipMap`` unless the option
  ``zipmap`` is False (option ``nocl``: class indices instead of labels);
* regressor: ``variable`` of shape ``(n, n_outputs_)``: the outputs mapped
  back from [TARGET_LOW, TARGET_HIGH] to the training range, as ``predict``.

The network runs in its own dtype whatever the input type (a float input
of a float64 network is cast up first); the results are cast to the output
type skl2onnx declares (that of the input).
"""
import numpy as np
from onnx import TensorProto
from skl2onnx import update_registered_converter
from skl2onnx.common.data_types import Int64TensorType, StringTensorType, guess_proto_type, guess_tensor_type
from skl2onnx.common.utils_classifier import get_label_classes

from . import _onnx_graph as graph
from .sklearn import TARGET_HIGH, TARGET_LOW, MLPClassifier, MLPRegressor

CLASSIFIER_ALIAS = "FastnnMLPClassifier"
REGRESSOR_ALIAS = "FastnnMLPRegressor"


def class_labels(scope, clf):
    """``clf.classes_`` as ONNX can hold them: ``(int64 array, False)`` or ``(str array, True)``.

    With skl2onnx's option ``nocl``, the labels are the class indices.

    Raises
    ------
    ValueError
        For float labels that are not whole numbers, or labels that are
        neither numbers nor strings (skl2onnx's outputs are int64 or string).
    """
    classes = np.asarray(get_label_classes(scope, clf))
    if classes.dtype.kind in "biu":
        return classes.astype(np.int64), False
    if classes.dtype.kind == "f":
        if np.all(np.isfinite(classes)) and np.all(classes == np.round(classes)):
            return classes.astype(np.int64), False
        raise ValueError(f"cannot export class labels {classes[:5]}: ONNX classifiers output int64 or "
                         f"string labels, and these floats are not whole numbers; fit on integer or "
                         f"string labels")
    if classes.dtype.kind == "U" or all(isinstance(c, str) for c in classes):
        return classes.astype(str), True
    raise ValueError(f"cannot export class labels of type {type(classes[0]).__name__}: ONNX classifiers "
                     f"output int64 or string labels")


def classifier_shapes(operator):
    """Output types: label (batch,) int64 or string, probabilities (batch, n_classes) of the input's type."""
    clf = operator.raw_operator
    n = operator.inputs[0].get_first_dimension()
    _, strings = class_labels(operator.scope_inst, clf)
    operator.outputs[0].type = StringTensorType([n]) if strings else Int64TensorType([n])
    operator.outputs[1].type = guess_tensor_type(operator.inputs[0].type)
    operator.outputs[1].type.shape = [n, len(clf.classes_)]


def regressor_shapes(operator):
    """Output type: (batch, n_outputs_) of the input's type."""
    reg = operator.raw_operator
    operator.outputs[0].type = guess_tensor_type(operator.inputs[0].type)
    operator.outputs[0].type.shape = [operator.inputs[0].get_first_dimension(), reg.n_outputs_]


def _network_outputs(b, operator, net):
    """The network's output activations for the operator's input, computed in the network's dtype."""
    x = operator.inputs[0]
    proto = graph.PROTO[net.dtype]
    if guess_proto_type(x.type) != proto:
        x_name = b.node("Cast", [x.full_name], to=proto)
    else:
        x_name = x.full_name
    net._sync()
    return graph.feedforward(b, x_name, net.weights, net.biases, net.dtype)


def convert_classifier(scope, operator, container):
    """Label and probabilities of a fitted :class:`fastnn.sklearn.MLPClassifier`."""
    clf = operator.raw_operator
    net = clf.network_
    b = graph.ConverterBuilder(scope, container)
    out = _network_outputs(b, operator, net)
    one = b.constant("one", net.dtype.type(1))
    # predict_proba: out / row sum; a row of outputs that all underflowed to 0 becomes uniform
    positive = b.node("Greater", [graph.row_sums(b, out), b.constant("zero", net.dtype.type(0))])
    safe = b.node("Where", [positive, out, one])
    proba = b.node("Div", [safe, graph.row_sums(b, safe)])
    graph.cast(b, proba, net.dtype, guess_proto_type(operator.outputs[1].type), operator.outputs[1].full_name)
    # predict: the class of the most active output neuron (the first on ties, as numpy.argmax)
    index = b.node("ArgMax", [out], axis=1, keepdims=0)
    classes, _ = class_labels(scope, clf)
    b.node("Gather", [b.constant("classes", classes), index], operator.outputs[0].full_name, axis=0)


def convert_regressor(scope, operator, container):
    """Predictions of a fitted :class:`fastnn.sklearn.MLPRegressor`, shape (batch, n_outputs_)."""
    reg = operator.raw_operator
    net = reg.network_
    b = graph.ConverterBuilder(scope, container)
    out = graph.cast(b, _network_outputs(b, operator, net), net.dtype, TensorProto.DOUBLE)
    # predict: y_min + (out - TARGET_LOW) / (TARGET_HIGH - TARGET_LOW) * y_range, in float64
    shifted = b.node("Sub", [out, b.constant("target_low", np.float64(TARGET_LOW))])
    unit = b.node("Div", [shifted, b.constant("target_span", np.float64(TARGET_HIGH - TARGET_LOW))])
    scaled = b.node("Mul", [unit, b.constant("y_range", np.asarray(reg.y_range_, dtype=np.float64))])
    pred = b.node("Add", [b.constant("y_min", np.asarray(reg.y_min_, dtype=np.float64)), scaled])
    graph.cast(b, pred, np.float64, guess_proto_type(operator.outputs[0].type), operator.outputs[0].full_name)


def register():
    """Register both converters with skl2onnx (again: harmless, the registration is replaced)."""
    update_registered_converter(MLPClassifier, CLASSIFIER_ALIAS, classifier_shapes, convert_classifier,
                                options={"zipmap": [True, False, "columns"], "nocl": [False, True],
                                         "output_class_labels": [False, True]})
    update_registered_converter(MLPRegressor, REGRESSOR_ALIAS, regressor_shapes, convert_regressor)
