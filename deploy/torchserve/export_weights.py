"""Exports the iris model's weights from models/iris/1/model.onnx to a torch file for TorchServe.

    python deploy/torchserve/export_weights.py [--onnx models/iris/1/model.onnx]
                                               [--out deploy/torchserve/build/iris_weights.pt]

The output is a plain dict of float32 tensors (feature_mean [4], feature_std [4], weights [4, 3],
bias [3]) that iris_handler.py loads with `torch.load(weights_only=True)`; torch-model-archiver
packs it as the archive's serialized file (deploy/prepare.sh runs both inside the
pytorch/torchserve image). Before writing, the handler's torch math is checked against a NumPy
reference of the ONNX graph on sample rows.

Needs `onnx`, `numpy` and `torch`. Rerunning overwrites the output (written atomically).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.dirname(HERE))  # deploy/: iris_onnx
sys.path.insert(0, HERE)  # deploy/torchserve/: iris_handler

import numpy as np  # noqa: E402
import torch  # noqa: E402
from iris_handler import iris_forward, load_params  # noqa: E402
from iris_onnx import SAMPLE_ROWS, load_iris_params, reference_forward  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--onnx", default=os.path.join(REPO, "models", "iris", "1", "model.onnx"))
    parser.add_argument("--out", default=os.path.join(HERE, "build", "iris_weights.pt"))
    args = parser.parse_args()

    params = load_iris_params(args.onnx)
    # Through Python floats, not torch.from_numpy: float32 values convert exactly either way, and
    # this does not depend on the image's torch having been built against its NumPy.
    tensors = {name: torch.tensor(array.tolist(), dtype=torch.float32) for name, array in params.items()}
    for name, array in params.items():
        if not np.array_equal(tensors[name].numpy(), array):
            raise SystemExit(f"{name}: weights changed on conversion")

    out_dir = os.path.dirname(os.path.abspath(args.out))
    os.makedirs(out_dir, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out_dir, suffix=".tmp")
    os.close(fd)
    try:
        torch.save(tensors, tmp)
        # Check the file as the handler will read it, with the handler's own code.
        loaded = load_params(tmp)
        expected_p, expected_l = reference_forward(params, SAMPLE_ROWS)
        with torch.inference_mode():
            got_p, got_l = iris_forward(loaded, torch.tensor(SAMPLE_ROWS, dtype=torch.float32))
        if got_l.dtype != torch.int64 or got_l.tolist() != expected_l.tolist():
            raise SystemExit(f"labels differ: handler {got_l.tolist()}, reference {expected_l.tolist()}")
        gap = float(np.max(np.abs(got_p.numpy() - expected_p)))
        if gap > 1e-6:
            raise SystemExit(f"probabilities differ from the reference by {gap}")
        os.replace(tmp, args.out)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    print(f"wrote {args.out} (handler matches the ONNX graph on {len(SAMPLE_ROWS)} rows, max |diff| {gap:.2e})")


if __name__ == "__main__":
    main()
