#!/usr/bin/env bash
# The white paper algorithms' accuracy targets (issue 6), asserted on the full
# Fashion-MNIST test set with 1,000 (AdaRound: 512) calibration images:
#   - mobilenetv2_skewed, per-tensor W8A8: plain PTQ loses more than 10 points;
#     with --cle and bias absorption at most 1.0 point;
#   - mobilenetv2, per-tensor W8A8 with --cle: at most 1.0 point;
#   - W4A8 per channel with AdaRound: at most 1.5 points on lenet5, resnet8 and
#     inception, and better than nearest rounding wherever that loses > 1 point;
#   - --preset data-free W8A8 (no data at all): at most 1.0 point on resnet8
#     and mobilenetv2.
# AdaRound runs with 300 steps on 128 cached images per layer here (CI time);
# models/README.md records the defaults' numbers.
#   usage: test_ptq_targets.sh NNQUANT REPO_ROOT      (exit 77: data or models missing)
set -uo pipefail
nnquant="$1"
models="$2/models"
[ -f /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz ] || { echo "Fashion-MNIST missing: skipped"; exit 77; }
[ -f "$models/mobilenetv2_skewed.onnx" ] || { echo "models missing: skipped"; exit 77; }
command -v node >/dev/null || { echo "node missing (scripts/deps.sh installs it): skipped"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0
calib=(--calib fashion-mnist:train --calib-count 1000)

# Prints "FP32 QUANTIZED" top-1 in percent for nnquant quantize MODEL ARGS...
accuracy() {
  local model="$1"
  shift
  "$nnquant" quantize "$models/$model.onnx" -o "$work/q.onnx" "$@" --eval fashion-mnist:test --json >"$work/q.json" ||
    return 1
  # A missing or non-numeric field fails here instead of reading as 0.
  node -e 'const j = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
           for (const k of ["fp32_top1", "quantized_top1"]) if (typeof j[k] !== "number") throw new Error(k + " missing");
           console.log((100 * j.fp32_top1).toFixed(2), (100 * j.quantized_top1).toFixed(2));' "$work/q.json"
}

# check NAME CONDITION(awk on loss=fp32-quantized) MODEL ARGS...: prints and records the result.
check() {
  local name="$1" condition="$2" model="$3"
  shift 3
  local result
  if ! result=$(accuracy "$model" "$@"); then
    echo "FAIL $name: nnquant quantize failed"
    failed=$((failed + 1))
    return
  fi
  read -r fp32 quantized <<<"$result"
  loss=$(awk -v f="$fp32" -v q="$quantized" 'BEGIN { printf "%.2f", f - q }')
  if awk -v loss="$loss" "BEGIN { exit !($condition) }"; then
    echo "ok   $name: $fp32 -> $quantized (loss $loss; needs $condition)"
  else
    echo "FAIL $name: $fp32 -> $quantized (loss $loss; needs $condition)"
    failed=$((failed + 1))
  fi
  last_quantized="$quantized"
}

check "mobilenetv2_skewed per-tensor W8A8 collapses" "loss > 10" mobilenetv2_skewed "${calib[@]}" --per-tensor
check "mobilenetv2_skewed per-tensor W8A8 + CLE + absorption" "loss <= 1.0" mobilenetv2_skewed "${calib[@]}" \
  --per-tensor --cle --bias-absorption data-free
check "mobilenetv2 per-tensor W8A8 + CLE" "loss <= 1.0" mobilenetv2 "${calib[@]}" --per-tensor --cle
for model in resnet8 mobilenetv2; do
  check "$model W8A8 data-free" "loss <= 1.0" "$model" --preset data-free
done
adaround=(--calib fashion-mnist:train --calib-count 512 --wbits 4 --adaround-iterations 300 --adaround-samples 128)
for model in lenet5 resnet8 inception; do
  check "$model W4A8 nearest (reference)" "loss >= -100" "$model" --calib fashion-mnist:train --calib-count 512 --wbits 4
  nearest="$last_quantized"
  nearest_loss="$loss"
  check "$model W4A8 AdaRound" "loss <= 1.5" "$model" "${adaround[@]}"
  if awk -v l="$nearest_loss" 'BEGIN { exit !(l > 1) }'; then
    if awk -v a="$last_quantized" -v n="$nearest" 'BEGIN { exit !(a > n) }'; then
      echo "ok   $model AdaRound $last_quantized beats nearest $nearest"
    else
      echo "FAIL $model AdaRound $last_quantized does not beat nearest $nearest"
      failed=$((failed + 1))
    fi
  fi
done
echo "$failed failed"
[ "$failed" -eq 0 ]
