"""Builds the iris classifier as a TensorFlow SavedModel for TF Serving, from the shipped ONNX file.

    python deploy/tfserving/make_savedmodel.py [--onnx models/iris/1/model.onnx]
                                               [--out deploy/tfserving/models/iris/1]

Signature `serving_default`: input alias `input` (float32 [-1, 4]) -> outputs `probabilities`
(float32 [-1, 3]) and `label` (int64 [-1]). The weights are the ONNX initializers (read with the
`onnx` package, see deploy/iris_onnx.py) and the graph is the same computation, so TF Serving
answers like the gateway's in-process ONNX copy (equal labels, probabilities within float32
rounding).

Needs TensorFlow 2 and `onnx`; deploy/prepare.sh runs it in the tensorflow/tensorflow image.
Rerunning replaces the version directory (built beside it, then renamed into place).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.dirname(HERE))  # deploy/: iris_onnx

import numpy as np  # noqa: E402
from iris_onnx import SAMPLE_ROWS, load_iris_params, reference_forward  # noqa: E402


def build_module(tf, params: dict[str, np.ndarray]):  # noqa: ANN001, ANN201 - tf is the module
    """A tf.Module whose `serve` function is the iris graph."""

    class IrisModule(tf.Module):
        def __init__(self) -> None:
            super().__init__(name="iris")
            self.feature_mean = tf.Variable(params["feature_mean"], trainable=False, name="feature_mean")
            self.feature_std = tf.Variable(params["feature_std"], trainable=False, name="feature_std")
            self.kernel = tf.Variable(params["weights"], trainable=False, name="weights")
            self.bias = tf.Variable(params["bias"], trainable=False, name="bias")

        # The argument and the TensorSpec are both named "input": the signature's input alias.
        @tf.function(input_signature=[tf.TensorSpec(shape=[None, 4], dtype=tf.float32, name="input")])
        def serve(self, input):  # noqa: A002 - the alias clients use
            standardized = (input - self.feature_mean) / self.feature_std
            logits = tf.matmul(standardized, self.kernel) + self.bias
            probabilities = tf.nn.softmax(logits, axis=1)
            label = tf.math.argmax(probabilities, axis=1, output_type=tf.int64)
            return {"probabilities": probabilities, "label": label}

    return IrisModule()


def check_saved_model(tf, path: str, params: dict[str, np.ndarray]) -> float:  # noqa: ANN001
    """Reloads the SavedModel and checks its signature and answers; returns the largest gap."""
    loaded = tf.saved_model.load(path)
    signature = loaded.signatures["serving_default"]
    _, input_specs = signature.structured_input_signature
    if set(input_specs) != {"input"}:
        raise SystemExit(f"serving_default inputs are {sorted(input_specs)}, expected ['input']")
    spec = input_specs["input"]
    if spec.dtype != tf.float32 or spec.shape.as_list() != [None, 4]:
        raise SystemExit(f"input spec {spec}")
    outputs = signature(input=tf.constant(SAMPLE_ROWS, dtype=tf.float32))
    if set(outputs) != {"probabilities", "label"}:
        raise SystemExit(f"serving_default outputs are {sorted(outputs)}")
    if outputs["probabilities"].dtype != tf.float32 or outputs["label"].dtype != tf.int64:
        raise SystemExit("output dtypes must be float32 and int64")
    expected_p, expected_l = reference_forward(params, SAMPLE_ROWS)
    if outputs["label"].numpy().tolist() != expected_l.tolist():
        raise SystemExit(f"labels {outputs['label'].numpy().tolist()}, expected {expected_l.tolist()}")
    gap = float(np.max(np.abs(outputs["probabilities"].numpy() - expected_p)))
    if gap > 1e-6:
        raise SystemExit(f"probabilities differ from the ONNX reference by {gap}")
    return gap


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--onnx", default=os.path.join(REPO, "models", "iris", "1", "model.onnx"))
    parser.add_argument("--out", default=os.path.join(HERE, "models", "iris", "1"))
    args = parser.parse_args()

    import tensorflow as tf  # imported late: the weight reading above works without it

    params = load_iris_params(args.onnx)
    module = build_module(tf, params)

    out = os.path.abspath(args.out)
    parent = os.path.dirname(out)
    os.makedirs(parent, exist_ok=True)
    # Built beside the target (same filesystem, so the rename is atomic). TF Serving ignores
    # directories whose names are not version numbers, so it never loads a half-written one.
    staging = tempfile.mkdtemp(prefix=".staging-", dir=parent)
    try:
        export = os.path.join(staging, "model")
        tf.saved_model.save(module, export, signatures={"serving_default": module.serve.get_concrete_function()})
        gap = check_saved_model(tf, export, params)
        if os.path.exists(out):
            shutil.rmtree(out)
        os.rename(export, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    print(f"wrote {out} (serving_default matches the ONNX graph on {len(SAMPLE_ROWS)} rows, max |diff| {gap:.2e})")


if __name__ == "__main__":
    main()
