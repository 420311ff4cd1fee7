"""The float32 study of the deployment guide: does any graph bring ONNX Runtime within 1e-6 of fastnn?

Usage (from the repository root, after ``pip install -e ".[onnx]"``)::

    python tools/onnx_float32_orders.py PATH/TO/fashion-mnist   # a folder of MNIST-named IDX files

Trains [n, 30, 10] in float32 (3 epochs, cross-entropy, eta 0.5) and evaluates the test rows
with fastnn; with ONNX Runtime running the exported graph (``Gemm``), the same graph with
``MatMul`` + ``Add``, and graphs that split each n-term weighted sum into blocks (a batched
``MatMul``, then ``ReduceSum`` over the blocks); and with NumPy in float32 (a sequential sum, and
a BLAS product).  Each is compared with the exact result (the same float32 parameters evaluated
in float64) and with fastnn's float32 output: largest elementwise relative and absolute
differences, and the largest row-wise relative difference (max |diff| / max output of the row).
"""
import sys

import numpy as np
import onnx
import onnxruntime
from onnx import TensorProto, helper, numpy_helper

from fastnn import Network, datasets
from fastnn._onnx_graph import GraphBuilder, sigmoid

F32 = np.dtype(np.float32)


def differences(a, b):
    a, b = a.astype(np.float64), b.astype(np.float64)
    diff = np.abs(a - b)
    return (f"max rel {(diff / np.abs(b)).max():.1e}, max abs {diff.max():.1e}, "
            f"row-wise rel {(diff.max(axis=1) / np.abs(b).max(axis=1)).max():.1e}")


def run(model, X):
    session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"X": X})[0]


def matmul_add(model):
    """The exported model with every ``Gemm`` (transB=1) replaced by ``MatMul`` then ``Add``."""
    out = onnx.ModelProto()
    out.CopyFrom(model)
    weights = {t.name: t for t in out.graph.initializer}
    nodes = []
    for node in out.graph.node:
        if node.op_type != "Gemm":
            nodes.append(node)
            continue
        w = weights[node.input[1]]
        w.CopyFrom(numpy_helper.from_array(np.ascontiguousarray(numpy_helper.to_array(w).T), w.name))
        product = node.output[0] + "_product"
        nodes += [helper.make_node("MatMul", node.input[:2], [product]),
                  helper.make_node("Add", [product, node.input[2]], [node.output[0]])]
    del out.graph.node[:]
    out.graph.node.extend(nodes)
    onnx.checker.check_model(out)
    return out


def split_sums(net, blocks):
    """A float32 graph whose weighted sums are ``blocks`` partial sums (batched MatMul) added up."""
    b = GraphBuilder(18)
    a = "X"
    for w, bias in zip(net.weights, net.biases):
        n_out, n_in = w.shape
        k = blocks if n_in % blocks == 0 else 1
        parts = np.ascontiguousarray(w.T.reshape(k, n_in // k, n_out), dtype=np.float32)
        rows = b.node("Reshape", [a, b.constant("shape", np.array([0, k, n_in // k], dtype=np.int64))])
        rows = b.node("Transpose", [rows], perm=[1, 0, 2])                       # (k, batch, n_in / k)
        partial = b.node("MatMul", [rows, b.constant("w", parts)])               # (k, batch, n_out)
        total = b.node("ReduceSum", [partial, b.constant("axes", np.array([0], dtype=np.int64))], keepdims=0)
        a = sigmoid(b, b.node("Add", [total, b.constant("b", bias[:, 0].astype(np.float32))]), F32)
    b.node("Identity", [a], "activations")
    n_in = net.sizes[0]
    inputs = [helper.make_tensor_value_info("X", TensorProto.FLOAT, ["batch", n_in])]
    outputs = [helper.make_tensor_value_info("activations", TensorProto.FLOAT, ["batch", net.sizes[-1]])]
    graph = helper.make_graph(b.nodes, "split_sums", inputs, outputs,
                              initializer=b.initializers)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])


def numpy_float32(net, X, sequential):
    a = X
    for w, bias in zip(net.weights, net.biases):
        if sequential:
            z = np.zeros((a.shape[0], w.shape[0]), dtype=np.float32)
            for k in range(w.shape[1]):
                z += a[:, k:k + 1] * w[:, k]
        else:
            z = a @ w.T
        z = z + bias[:, 0]
        e = np.exp(-np.abs(z))
        a = np.where(z >= 0, 1 / (1 + e), e / (1 + e)).astype(np.float32)
    return a


def main(data):
    X_train, y_train, X_test, _ = datasets.load_dataset(data)
    sizes = [X_train.shape[1], 30, 10]
    net = Network(sizes, seed=0, dtype="float32", cost="cross-entropy", init="default")
    net.fit(X_train, y_train, epochs=3, mini_batch_size=10, eta=0.5)
    exact = Network(sizes, seed=0, cost=net.cost)
    exact.weights = [w.astype(np.float64) for w in net.weights]
    exact.biases = [b.astype(np.float64) for b in net.biases]
    X = X_test.astype(np.float32)
    truth = exact.predict_proba(X.astype(np.float64))
    ours = net.predict_proba(X)
    exported = net.to_onnx()
    results = {"ONNX Runtime, exported graph (Gemm)": run(exported, X),
               "ONNX Runtime, MatMul + Add": run(matmul_add(exported), X)}
    for blocks in (16, 49, 196):
        if sizes[0] % blocks == 0:
            results[f"ONNX Runtime, sums split in {blocks} blocks"] = run(split_sums(net, blocks), X)
    results["NumPy float32, sequential sums"] = numpy_float32(net, X, sequential=True)
    results["NumPy float32, BLAS"] = numpy_float32(net, X, sequential=False)
    print(f"{sizes} float32, {len(X)} test rows")
    print(f"fastnn float32 against the exact result: {differences(ours, truth)}")
    for name, a in results.items():
        print(f"{name}: against the exact result {differences(a, truth)}; against fastnn {differences(a, ours)}")
    gemm, matmul = results["ONNX Runtime, exported graph (Gemm)"], results["ONNX Runtime, MatMul + Add"]
    print("Gemm and MatMul + Add identical bit for bit:", bool(np.array_equal(gemm, matmul)))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "digits")
