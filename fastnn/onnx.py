"""Export trained networks to ONNX, to run them where fastnn is not installed.

A trained :class:`fastnn.Network` becomes an ONNX model with standard
operators only (``Gemm``, ``Exp``, ``Where``, ...), which ONNX Runtime (and
any other ONNX runtime) executes from Python, C, C++, C#, Java or
JavaScript; so does a chapter-6 :class:`fastnn.network3.Network` (``Conv``,
``MaxPool``, ``Gemm``, ``Softmax``, ...).  The scikit-learn estimators :class:`fastnn.sklearn.MLPClassifier`
and :class:`~fastnn.sklearn.MLPRegressor` convert through ``skl2onnx``, alone
or inside a ``Pipeline``, once :func:`register_converters` has run.

Needs the optional packages ``onnx`` (and ``skl2onnx`` for the estimators):
``pip install "fastnn[onnx]"``, which also installs ``onnxruntime``.  The rest
of fastnn never imports them.  See the user guide page *Deploying a trained
network*.
"""
import os

from . import _onnx_graph
from ._onnx_graph import check_opset, export_network, write_model
from ._validation import check_dtype

__all__ = ["to_onnx", "export_file", "register_converters", "MIN_OPSET", "DEFAULT_OPSET"]

#: Oldest ONNX opset an export accepts (9: ``Where`` and ``Less`` on float tensors).
MIN_OPSET = _onnx_graph.MIN_OPSET
#: Opset of an export when none is given (18: run by ONNX Runtime 1.17 and later).
DEFAULT_OPSET = _onnx_graph.DEFAULT_OPSET


def register_converters():
    """Teach ``skl2onnx`` to convert :class:`fastnn.sklearn.MLPClassifier` and ``MLPRegressor``.

    After this call, ``skl2onnx.to_onnx`` (and ``convert_sklearn``) convert
    the estimators alone or inside pipelines, with the outputs of
    scikit-learn's own MLPs: a classifier gives ``label`` (its ``predict``)
    and ``probabilities`` (its ``predict_proba``; a ``ZipMap`` of them unless
    the option ``zipmap`` is False), a regressor ``variable`` (its
    ``predict``, shape ``(n, n_outputs_)``).  Calling it again does no harm.

    Raises
    ------
    ImportError
        If ``skl2onnx`` or ``onnx`` is not installed.

    Examples
    --------
    >>> import numpy as np
    >>> import skl2onnx
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from fastnn.datasets import train_test_digits
    >>> from fastnn.onnx import register_converters
    >>> from fastnn.sklearn import MLPClassifier
    >>> register_converters()
    >>> X, y, _, _ = train_test_digits()
    >>> pipe = make_pipeline(StandardScaler(), MLPClassifier((30,), epochs=2, random_state=0)).fit(X, y)
    >>> model = skl2onnx.to_onnx(pipe, X[:1], options={"zipmap": False})
    >>> [output.name for output in model.graph.output]
    ['label', 'probabilities']
    """
    try:
        from . import _onnx_sklearn
    except ImportError as exc:
        raise ImportError(f"converting scikit-learn estimators needs skl2onnx ({exc}); install the "
                          f'optional dependencies with: pip install "fastnn[onnx]"') from exc
    _onnx_sklearn.register()


def _estimator_model(model, opset, dtype, options):
    """An estimator or pipeline converted by skl2onnx with fastnn's converters registered."""
    register_converters()
    import numpy as np
    import onnx
    import skl2onnx
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType

    from sklearn.utils.validation import check_is_fitted

    opset = check_opset(opset)
    check_is_fitted(model)
    if dtype is None:
        dtype = getattr(getattr(model, "network_", None), "dtype", np.float64)
    tensor = DoubleTensorType if np.dtype(check_dtype(dtype)) == np.float64 else FloatTensorType
    if options is None:  # plain tensors (ONNX's ZipMap takes float32 probabilities only)
        from .sklearn import MLPClassifier

        options = {MLPClassifier: {"zipmap": False}}
    from skl2onnx.common.exceptions import MissingConverter, MissingShapeCalculator

    try:
        converted = skl2onnx.to_onnx(model, initial_types=[("X", tensor([None, model.n_features_in_]))],
                                     target_opset=opset, options=options)
    except (MissingConverter, MissingShapeCalculator) as exc:
        first = str(exc).splitlines()[0]
        raise TypeError(f"cannot export {type(model).__name__} to ONNX: skl2onnx has no converter for a "
                        f"part of it ({first}); fastnn registers converters for "
                        f"fastnn.sklearn.MLPClassifier and MLPRegressor only") from exc
    onnx.checker.check_model(converted, full_check=True)
    return converted


def to_onnx(model, path=None, *, opset=None, dtype=None, allow_untrained=False, options=None):
    """Export a trained network or estimator to ONNX; optionally write it to ``path``.

    Parameters
    ----------
    model : fastnn.Network, fastnn.network3.Network, fastnn.sklearn.MLPClassifier, MLPRegressor or Pipeline
        A :class:`~fastnn.Network` gives a model with input ``X``
        ``(batch, sizes[0])`` and outputs ``activations`` ``(batch,
        sizes[-1])`` (what ``predict_proba`` returns) and ``label``
        ``(batch,)`` (int64, what ``predict`` returns); a chapter-6
        :class:`fastnn.network3.Network` the same with ``(batch, n_in)``
        and ``(batch, n_classes)`` (its softmax outputs).  A fitted
        scikit-learn estimator or pipeline is converted by ``skl2onnx`` with
        input ``X`` (see :func:`register_converters` for the outputs).
    path : str or os.PathLike, optional
        Write the model there (atomically: on any failure an existing file
        is left as it was, and no partial file remains).
    opset : int, optional
        ONNX operator set, :data:`MIN_OPSET` or newer (default
        :data:`DEFAULT_OPSET`).
    dtype : {"float64", "float32"}, optional
        Precision of the exported computation (default: the network's own);
        for an estimator, the type of the input ``X``.
    allow_untrained : bool, default False
        Export a ``Network`` that was never trained (e.g. parameters set by
        hand) instead of raising.
    options : dict, optional
        skl2onnx conversion options of an estimator (ignored for a
        ``Network``).  Default: ``{MLPClassifier: {"zipmap": False}}``, so
        a classifier's probabilities are a plain ``(batch, n_classes)``
        tensor; ``{MLPClassifier: {"zipmap": True}}`` gives skl2onnx's list of
        dicts (float32 input only, as for scikit-learn's own MLPClassifier).

    Returns
    -------
    onnx.ModelProto
        Passed by ``onnx.checker.check_model``.  A network's model carries
        fastnn's version, the layer sizes, the cost, the dtype and the
        epochs trained in its metadata (``metadata_props``) and a
        description in ``doc_string``.

    Raises
    ------
    TypeError
        For another kind of model, or an ``opset`` that is not an integer.
    ValueError
        For an untrained network (see ``allow_untrained``), an opset older
        than :data:`MIN_OPSET` or newer than the installed onnx knows, or
        parameters that overflow the requested dtype.
    sklearn.exceptions.NotFittedError
        For an estimator that was not fitted.
    OSError
        If ``path`` cannot be written (its directory is missing, not
        writable, ...).
    ImportError
        If onnx (or skl2onnx, for an estimator) is not installed.

    Examples
    --------
    >>> import numpy as np
    >>> import onnxruntime
    >>> from fastnn import Network, datasets
    >>> from fastnn.onnx import to_onnx
    >>> X_train, y_train, X_test, y_test = datasets.train_test_digits()
    >>> net = Network([64, 30, 10], seed=0).fit(X_train, y_train, epochs=3, mini_batch_size=10, eta=3.0)
    >>> model = to_onnx(net, "digits.onnx")
    >>> session = onnxruntime.InferenceSession("digits.onnx", providers=["CPUExecutionProvider"])
    >>> activations, label = session.run(None, {"X": X_test})
    >>> bool(np.array_equal(label, net.predict(X_test)))
    True
    >>> bool(np.allclose(activations, net.predict_proba(X_test), rtol=1e-12, atol=0))
    True
    """
    from .network import Network
    from .network3 import Network as Network3

    if isinstance(model, Network):
        proto = export_network(model, opset=opset, dtype=dtype, allow_untrained=allow_untrained)
    elif isinstance(model, Network3):
        from ._onnx_network3 import export_network3

        proto = export_network3(model, opset=opset, dtype=dtype, allow_untrained=allow_untrained)
    elif hasattr(model, "fit") and hasattr(model, "get_params"):
        proto = _estimator_model(model, opset, dtype, options)
    else:
        raise TypeError(f"cannot export {type(model).__name__} to ONNX: to_onnx takes a fastnn.Network, "
                        f"a fastnn.network3.Network, "
                        f"a fastnn.sklearn.MLPClassifier or MLPRegressor, or a scikit-learn pipeline of them")
    if path is not None:
        write_model(proto, path)
    return proto


def _network3_class(src):
    """:class:`fastnn.network3.Network` if ``src`` is a chapter-6 model file, else None.

    Only the ``format`` entry is read (no pickle); anything unreadable is left
    to ``Network.load``, which says what is wrong with the file.
    """
    import numpy as np

    from . import network3

    try:
        with np.load(src, allow_pickle=False) as npz:
            fmt = npz["format"] if "format" in npz.files else None
            if fmt is not None and fmt.shape == () and fmt.dtype.kind == "U" and str(fmt) == network3.FORMAT_NAME:
                return network3.Network
    except Exception:  # noqa: BLE001 -- any unreadable file: Network.load raises the clear error
        return None
    return None


def export_file(src, dst, *, opset=None, dtype=None, allow_untrained=False):
    """Convert a network file written by :meth:`fastnn.Network.save` or ``network3.Network.save`` to ONNX.

    The engine of ``fastnn export MODEL.npz MODEL.onnx``.

    Parameters
    ----------
    src : str or os.PathLike
        A ``.npz`` model or checkpoint file of any fastnn version that
        :meth:`fastnn.Network.load` reads, or a chapter-6 network's file
        written by :meth:`fastnn.network3.Network.save`.
    dst : str or os.PathLike
        The ONNX file to write (atomically).
    opset, dtype, allow_untrained
        As for :func:`to_onnx`.

    Returns
    -------
    onnx.ModelProto
        The model written.

    Raises
    ------
    FileNotFoundError
        If ``src`` does not exist (or the directory of ``dst`` does not).
    fastnn.ModelFileError
        If ``src`` is not a valid model file.
    OSError, TypeError, ValueError
        As for :func:`to_onnx`.
    """
    from .network import Network

    if os.path.exists(dst) and os.path.isdir(dst):
        raise ValueError(f"output {os.fspath(dst)!r} is a directory: give the ONNX file's name, "
                         f"e.g. {os.path.join(os.fspath(dst), 'model.onnx')!r}")
    net = _network3_class(src) or Network
    net = net.load(src)
    return to_onnx(net, dst, opset=opset, dtype=dtype, allow_untrained=allow_untrained)
