"""TorchServe handler for the iris classifier, speaking infergate's JSON convention (docs/backends.md).

Request body (REST `POST /predictions/iris[/1]` with `Content-Type: application/json`, or the
gRPC `Predictions` call's `input["data"]`): the input tensor as a nested JSON array,

    [[5.1, 3.5, 1.4, 0.2], [6.3, 3.3, 6.0, 2.5]]

or an object of input name -> nested array, `{"input": [[5.1, 3.5, 1.4, 0.2]]}`. The answer is an
object of output name -> nested array:

    {"probabilities": [[0.97, 0.02, 0.0], ...], "label": [0, ...]}

The math is the ONNX graph's (standardise, Gemm, Softmax, ArgMax) in float32 with torch, on the
weights that deploy/torchserve/export_weights.py took from models/iris/1/model.onnx and
torch-model-archiver packed as the archive's serialized file. A body that is not such a tensor is
answered 400 with the reason (TorchServe's PredictionException), which the gateway returns as
INVALID_REQUEST carrying this message.
"""

from __future__ import annotations

import json
import os

import torch

try:
    from ts.utils.util import PredictionException
except ImportError:  # outside TorchServe: export_weights.py imports this module for its self-check

    class PredictionException(Exception):  # noqa: N818 - TorchServe's name
        def __init__(self, message: str, error_code: int = 500) -> None:
            super().__init__(message)
            self.message = message
            self.error_code = error_code


INPUT_NAME = "input"
FEATURES = 4
#: The weights file's name when the manifest names none (it always does when archived as documented).
DEFAULT_WEIGHTS_FILE = "iris_weights.pt"
PARAM_SHAPES = {"feature_mean": (4,), "feature_std": (4,), "weights": (4, 3), "bias": (3,)}


def iris_forward(params: dict[str, torch.Tensor], x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(probabilities float32 [N, 3], label int64 [N]) for float32 features `x` [N, 4]."""
    z = (x - params["feature_mean"]) / params["feature_std"]
    logits = z @ params["weights"] + params["bias"]
    probabilities = torch.softmax(logits, dim=1)
    # torch.argmax picks the first of equal maxima, like ONNX ArgMax with select_last_index=0.
    label = torch.argmax(probabilities, dim=1)
    return probabilities, label


def _bad_request(message: str) -> PredictionException:
    return PredictionException(message, 400)


def _decode(body: object) -> object:
    """The JSON value of a request body; TorchServe may have decoded it already."""
    if isinstance(body, (bytes, bytearray)):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError as err:
            raise _bad_request(f"request body is not UTF-8: {err}") from err
    if isinstance(body, str):
        try:
            return json.loads(body)
        except (ValueError, RecursionError) as err:
            raise _bad_request(f"request body is not JSON: {err}") from err
    return body


def parse_features(body: object) -> torch.Tensor:
    """The [N, 4] float32 input tensor of a request body, or a 400 PredictionException."""
    value = _decode(body)
    if isinstance(value, dict):
        unknown = sorted(k for k in value if k != INPUT_NAME)
        if unknown:
            raise _bad_request(f"unknown input {unknown[0]!r}; the model's only input is {INPUT_NAME!r}")
        if INPUT_NAME not in value:
            raise _bad_request(f"missing input {INPUT_NAME!r}")
        value = value[INPUT_NAME]
    if not isinstance(value, list):
        raise _bad_request(f"input: expected a nested array of shape [-1, {FEATURES}]")
    for i, row in enumerate(value):
        if not isinstance(row, list) or len(row) != FEATURES:
            got = f"{len(row)} values" if isinstance(row, list) else type(row).__name__
            raise _bad_request(f"input: expected shape [-1, {FEATURES}], row {i} has {got}")
        for v in row:
            # bool is an int subclass in Python; JSON true/false is not a feature value.
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise _bad_request(f"input: row {i} holds {json.dumps(v)}, expected numbers")
    if not value:
        return torch.empty((0, FEATURES), dtype=torch.float32)
    return torch.tensor(value, dtype=torch.float32)


def load_params(path: str) -> dict[str, torch.Tensor]:
    """The weights file written by export_weights.py, checked for names, shapes and dtype."""
    loaded = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(loaded, dict):
        raise ValueError(f"{path}: expected a dict of tensors")
    params: dict[str, torch.Tensor] = {}
    for name, shape in PARAM_SHAPES.items():
        tensor = loaded.get(name)
        if not isinstance(tensor, torch.Tensor) or tuple(tensor.shape) != shape or tensor.dtype != torch.float32:
            raise ValueError(f"{path}: {name} must be a float32 tensor of shape {list(shape)}")
        params[name] = tensor
    return params


class IrisHandler:
    """One worker's model: loaded on the first request batch, then pure float32 math."""

    def __init__(self) -> None:
        self.initialized = False
        self.params: dict[str, torch.Tensor] = {}

    def initialize(self, context) -> None:  # noqa: ANN001 - ts.context.Context
        model_dir = context.system_properties.get("model_dir")
        manifest_model = (context.manifest or {}).get("model", {})
        weights_file = manifest_model.get("serializedFile") or DEFAULT_WEIGHTS_FILE
        self.params = load_params(os.path.join(model_dir, weights_file))
        self.initialized = True

    def handle(self, data: list[dict], context) -> list[str]:  # noqa: ANN001
        answers: list[str] = []
        for index, request in enumerate(data):
            # REST bodies arrive as "body", the gRPC call's input map entry as "data".
            body = request.get("data")
            if body is None:
                body = request.get("body")
            x = parse_features(body)
            with torch.inference_mode():
                probabilities, label = iris_forward(self.params, x)
            answers.append(
                json.dumps(
                    {"probabilities": probabilities.tolist(), "label": label.tolist()},
                    separators=(",", ":"),
                )
            )
            context.set_response_content_type(index, "application/json")
        return answers


_service = IrisHandler()


def handle(data, context):  # noqa: ANN001, ANN201 - TorchServe's module-level entry point
    """TorchServe's entry point: `data` is a list of requests, the answer one string per request."""
    if not _service.initialized:
        _service.initialize(context)
    if data is None:
        return None
    return _service.handle(data, context)
