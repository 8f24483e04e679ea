"""The iris classifier's parameters, read from the shipped ONNX file, and a NumPy reference of it.

`scripts/make-models.mjs` writes models/iris/1/model.onnx as

    centered      = Sub(input, feature_mean)             # input FP32 [N, 4]
    standardized  = Div(centered, feature_std)
    logits        = Gemm(standardized, weights, bias)    # weights [4, 3], no transposes
    probabilities = Softmax(logits, axis=1)              # FP32 [N, 3]
    label         = ArgMax(probabilities, axis=1, keepdims=0)   # INT64 [N]

The TF Serving and TorchServe copies of the model (deploy/tfserving/make_savedmodel.py,
deploy/torchserve/export_weights.py) take their weights from here, so every backend computes
the same function as the gateway's in-process ONNX copy. The graph is checked node by node: if
the script ever writes a different graph, this fails loudly instead of exporting a wrong model.

Needs the `onnx` and `numpy` Python packages.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper, numpy_helper

#: Parameter name -> shape, as the ONNX initializers hold them.
PARAM_SHAPES: dict[str, tuple[int, ...]] = {
    "feature_mean": (4,),
    "feature_std": (4,),
    "weights": (4, 3),
    "bias": (3,),
}

#: (op_type, inputs, outputs) of every node, in order.
EXPECTED_NODES = [
    ("Sub", ["input", "feature_mean"], ["centered"]),
    ("Div", ["centered", "feature_std"], ["standardized"]),
    ("Gemm", ["standardized", "weights", "bias"], ["logits"]),
    ("Softmax", ["logits"], ["probabilities"]),
    ("ArgMax", ["probabilities"], ["label"]),
]

#: Attributes each node may carry and the only values this export supports (ONNX defaults
#: included, so an explicit default is accepted).
ALLOWED_ATTRIBUTES: dict[str, dict[str, object]] = {
    "Sub": {},
    "Div": {},
    "Gemm": {"alpha": 1.0, "beta": 1.0, "transA": 0, "transB": 0},
    "Softmax": {"axis": 1},
    "ArgMax": {"axis": 1, "keepdims": 0, "select_last_index": 0},
}

#: Rows used by the exporters' self-checks: a setosa, a virginica and a versicolor.
SAMPLE_ROWS = [
    [5.1, 3.5, 1.4, 0.2],
    [6.3, 3.3, 6.0, 2.5],
    [5.9, 3.0, 4.2, 1.5],
]


def _check_graph(graph: onnx.GraphProto) -> None:
    nodes = [(n.op_type, list(n.input), list(n.output)) for n in graph.node]
    if nodes != EXPECTED_NODES:
        raise ValueError(f"unexpected iris graph {nodes}; expected {EXPECTED_NODES}")
    for node in graph.node:
        allowed = ALLOWED_ATTRIBUTES[node.op_type]
        for attribute in node.attribute:
            value = helper.get_attribute_value(attribute)
            if attribute.name not in allowed or value != allowed[attribute.name]:
                raise ValueError(f"{node.op_type}: unsupported attribute {attribute.name}={value!r}")
        names = {a.name for a in node.attribute}
        # Softmax's default axis is -1 (opset 13), which is the same axis for 2-D input; ArgMax's
        # keepdims default is 1, which would change the label's shape, so it must be written out.
        if node.op_type == "ArgMax" and "keepdims" not in names:
            raise ValueError("ArgMax: keepdims must be 0")
    inputs = [i.name for i in graph.input]
    outputs = [o.name for o in graph.output]
    if inputs != ["input"] or outputs != ["probabilities", "label"]:
        raise ValueError(f"unexpected graph inputs {inputs} / outputs {outputs}")


def load_iris_params(path: str) -> dict[str, np.ndarray]:
    """The four float32 parameter arrays of the iris model at `path`, after checking the graph."""
    model = onnx.load(path)
    _check_graph(model.graph)
    initializers = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    params: dict[str, np.ndarray] = {}
    for name, shape in PARAM_SHAPES.items():
        if name not in initializers:
            raise ValueError(f"initializer {name} missing from {path}")
        array = initializers[name]
        if array.dtype != np.float32 or array.shape != shape:
            raise ValueError(f"initializer {name}: {array.dtype} {array.shape}, expected float32 {shape}")
        params[name] = np.array(array, dtype=np.float32, copy=True)
    extra = set(initializers) - set(PARAM_SHAPES)
    if extra:
        raise ValueError(f"unexpected initializers {sorted(extra)}")
    return params


def reference_forward(params: dict[str, np.ndarray], rows: list[list[float]]) -> tuple[np.ndarray, np.ndarray]:
    """(probabilities float32 [N, 3], label int64 [N]) computed with NumPy in float32."""
    x = np.asarray(rows, dtype=np.float32)
    z = (x - params["feature_mean"]) / params["feature_std"]
    logits = z @ params["weights"] + params["bias"]
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    probabilities = (shifted / shifted.sum(axis=1, keepdims=True)).astype(np.float32)
    label = probabilities.argmax(axis=1).astype(np.int64)
    return probabilities, label
