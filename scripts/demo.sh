#!/usr/bin/env bash
# The main job on the bundled default: describe the bundled model, run it on
# the first 16 Fashion-MNIST test images (models/samples/), then measure
# ResNet-8's accuracy on the whole Fashion-MNIST test set.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
dir=$(scripts/build.sh release)
model=models/lenet5.onnx
samples=models/samples/fashion_mnist_test_16.npy
"$dir/nnquant" info "$model"
echo
out=$(mktemp -d /tmp/nnquant_demo_XXXXXX)
trap 'rm -rf "$out"' EXIT
"$dir/nnquant" run "$model" --input "input=$samples" --output-dir "$out"
echo
"$dir/nnquant" eval models/resnet8.onnx --dataset fashion-mnist:test
