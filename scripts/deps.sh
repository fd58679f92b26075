#!/usr/bin/env bash
# Installs what nnquant needs to build and test, on Debian 12 as root.
# Idempotent: packages already present are not fetched again.
#   scripts/deps.sh           build + test dependencies
#   scripts/deps.sh --oracle  also ONNX Runtime for Node.js (test oracle, benchmarks)
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake pkg-config          # compiler and build
  protobuf-c-compiler libprotobuf-c-dev     # protoc-c generates the ONNX bindings
  libonnx-dev                               # onnx.proto (the schema, not the library)
  zlib1g-dev libpng-dev libjpeg-dev         # npz/IDX (zlib), image readers
  libcjson-dev                              # reading plans and calibration tables (JSON)
  clang libclang-rt-14-dev                  # libFuzzer target
  libonnx-testdata                          # ONNX backend test cases (conformance)
  dataset-fashion-mnist                     # real data for readers and accuracy
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${1:-}" = "--oracle" ] && ! command -v npm >/dev/null; then missing+=(nodejs npm); fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ "${1:-}" = "--oracle" ]; then
  # ONNX Runtime as the outside reference. --ignore-scripts: the package ships
  # the CPU library; its install script would try to download GPU binaries.
  if [ ! -f tools/ort/node_modules/onnxruntime-node/package.json ]; then
    echo "deps: installing onnxruntime-node into tools/ort"
    (cd tools/ort && npm install --ignore-scripts --no-audit --no-fund --silent)
  fi
fi
