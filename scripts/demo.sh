#!/usr/bin/env bash
# The main job on the bundled default: quantize the bundled ResNet-8 to 8 bits
# with 1,000 Fashion-MNIST training images, write the QDQ ONNX model, and print
# FP32 against quantized accuracy on the 10,000 test images.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
dir=$(scripts/build.sh release)
model=models/resnet8.onnx
out=$(mktemp -d /tmp/nnquant_demo_XXXXXX)
trap 'rm -rf "$out"' EXIT
"$dir/nnquant" info "$model"
echo
"$dir/nnquant" quantize "$model" -o "$out/resnet8_int8.onnx" --calib fashion-mnist:train --calib-count 1000 \
  --eval fashion-mnist:test --plan-out "$out/plan.json"
