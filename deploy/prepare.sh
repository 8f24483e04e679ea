#!/usr/bin/env bash
# Prepares the model repositories that docker-compose.yml mounts into the model servers, all from
# the one shipped file models/iris/1/model.onnx, so every backend serves the same iris model:
#
#   triton      deploy/triton/models/iris/1/model.onnx        (a copy; config.pbtxt is committed)
#   tfserving   deploy/tfserving/models/iris/1/               (SavedModel, make_savedmodel.py)
#   torchserve  deploy/torchserve/model-store/iris.mar        (export_weights.py + torch-model-archiver)
#
# Usage: bash deploy/prepare.sh [all|triton|tfserving|torchserve]...   (default: all)
#
# The triton step only copies a file. The tfserving and torchserve steps run Python inside the
# pinned images below (docker run, network access for `pip install onnx`), so nothing but Docker
# is needed on the host. Idempotent: every run rebuilds the outputs in place from the ONNX file.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SRC_ONNX="$ROOT/models/iris/1/model.onnx"

# Keep these in step with docker-compose.yml.
TF_IMAGE="${TF_IMAGE:-tensorflow/tensorflow:2.18.0}"
TS_IMAGE="${TS_IMAGE:-pytorch/torchserve:0.12.0-cpu}"
ONNX_PIP_SPEC="${ONNX_PIP_SPEC:-onnx==1.17.0}"

log() { printf '== %s\n' "$*"; }

need_docker() {
  if ! command -v docker >/dev/null 2>&1; then
    echo "deploy/prepare.sh: the $1 step runs in a container and needs docker on PATH" >&2
    exit 1
  fi
}

# Runs a bash script inside an image, as root (pip installs into the image's Python), with the
# repository at /repo; files it creates are handed back to the calling user afterwards.
in_container() {
  local image="$1" script="$2"
  docker run --rm \
    --entrypoint bash \
    --user root \
    --volume "$ROOT:/repo" \
    --workdir /repo \
    --env PYTHONDONTWRITEBYTECODE=1 \
    --env PIP_DISABLE_PIP_VERSION_CHECK=1 \
    --env "ONNX_PIP_SPEC=$ONNX_PIP_SPEC" \
    --env "HOST_UID=$(id -u)" \
    --env "HOST_GID=$(id -g)" \
    "$image" -euo pipefail -c "$script"
}

prepare_triton() {
  log "triton: deploy/triton/models/iris/1/model.onnx"
  mkdir -p "$ROOT/deploy/triton/models/iris/1"
  cp -f "$SRC_ONNX" "$ROOT/deploy/triton/models/iris/1/model.onnx"
  chmod -R a+rX "$ROOT/deploy/triton/models"
}

prepare_tfserving() {
  need_docker tfserving
  log "tfserving: deploy/tfserving/models/iris/1 (SavedModel, in $TF_IMAGE)"
  # shellcheck disable=SC2016 # expanded inside the container
  in_container "$TF_IMAGE" '
    python3 -m pip install --quiet --no-cache-dir "$ONNX_PIP_SPEC"
    python3 deploy/tfserving/make_savedmodel.py
    chown -R "$HOST_UID:$HOST_GID" deploy/tfserving/models || true
    chmod -R a+rX deploy/tfserving/models
  '
}

prepare_torchserve() {
  need_docker torchserve
  log "torchserve: deploy/torchserve/model-store/iris.mar (in $TS_IMAGE)"
  # shellcheck disable=SC2016 # expanded inside the container
  in_container "$TS_IMAGE" '
    python -m pip install --quiet --no-cache-dir "$ONNX_PIP_SPEC"
    python deploy/torchserve/export_weights.py --out deploy/torchserve/build/iris_weights.pt
    mkdir -p deploy/torchserve/model-store
    torch-model-archiver \
      --model-name iris \
      --version 1 \
      --handler deploy/torchserve/iris_handler.py \
      --serialized-file deploy/torchserve/build/iris_weights.pt \
      --export-path deploy/torchserve/model-store \
      --force
    chown -R "$HOST_UID:$HOST_GID" deploy/torchserve/build deploy/torchserve/model-store || true
    chmod -R a+rX deploy/torchserve/build deploy/torchserve/model-store
  '
}

main() {
  if [[ ! -f "$SRC_ONNX" ]]; then
    echo "deploy/prepare.sh: $SRC_ONNX is missing (npm run models writes it)" >&2
    exit 1
  fi
  local steps=("$@")
  if [[ ${#steps[@]} -eq 0 ]]; then steps=(all); fi
  local step
  for step in "${steps[@]}"; do
    case "$step" in
      all) prepare_triton; prepare_tfserving; prepare_torchserve ;;
      triton) prepare_triton ;;
      tfserving) prepare_tfserving ;;
      torchserve) prepare_torchserve ;;
      *)
        echo "usage: bash deploy/prepare.sh [all|triton|tfserving|torchserve]..." >&2
        exit 2
        ;;
    esac
  done
  log "done: docker compose up --build --wait"
}

main "$@"
