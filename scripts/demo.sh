#!/usr/bin/env bash
# The main job on the bundled default, the bundled ResNet-8 and Fashion-MNIST:
#   1. its FP32 accuracy on the 10,000 test images (nnquant's own runtime);
#   2. quantized to 8 bits with 1,000 training images: the QDQ ONNX model, and
#      FP32 against fake-quantized accuracy;
#   3. N2D2's three columns (FP32, fake-quantized, integer engine) on the first
#      1,000 test images;
#   4. the integer program as C code for a microcontroller, built and checked
#      byte for byte against the integer engine (make test).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
dir=$(scripts/build.sh release)
model=models/resnet8.onnx
out=$(mktemp -d /tmp/nnquant_demo_XXXXXX)
trap 'rm -rf "$out"' EXIT
"$dir/nnquant" info "$model"
echo
"$dir/nnquant" eval "$model" --dataset fashion-mnist:test
echo
"$dir/nnquant" quantize "$model" -o "$out/resnet8_int8.onnx" --calib fashion-mnist:train --calib-count 1000 \
  --eval fashion-mnist:test --plan-out "$out/plan.json"
echo
"$dir/nnquant" eval "$model" --dataset fashion-mnist:test --plan "$out/plan.json" --table --limit 1000
echo
"$dir/nnquant" export "$model" --plan "$out/plan.json" --target c -o "$out/c" --eval fashion-mnist:test
make -s -C "$out/c" test
