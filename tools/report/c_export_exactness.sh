#!/usr/bin/env bash
# Bit-exactness of the C export (issue 5, item 5): for every bundled model and
# every rescale mode, exports the model with the first N Fashion-MNIST test
# images (default: all 10,000) as its test samples, builds the folder and
# runs its `make test`, which compares the exported program's int8 outputs
# with the integer engine's byte for byte. Prints one table row per model and
# mode: identical or not, samples, differing bytes, the C program's top-1.
#
# usage: tools/report/c_export_exactness.sh [NNQUANT] [options]
#   NNQUANT             the nnquant binary (default: build/nnquant)
#   --samples N         test images per export (default 10000)
#   --models "A B"      default: "mlp lenet5 resnet8 mobilenetv2 inception"
#   --modes "A B"       default: "float fixed16 fixed32 single-shift double-shift"
#   --per-layer         also every mode with --rescale-per-layer
#   --variants "A B"    per-output and/or per-layer (default: per-output, the default granularity)
#   --cc COMPILER       the C compiler of the exported folders (default cc)
# Plans: nnquant quantize MODEL --calib fashion-mnist:train --calib-count 200.
set -uo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
nnquant="$root/build/nnquant"
samples=10000
models="mlp lenet5 resnet8 mobilenetv2 inception"
modes="float fixed16 fixed32 single-shift double-shift"
variants="per-output"
cc=cc
while [ $# -gt 0 ]; do
  case "$1" in
    --samples) samples="$2"; shift 2 ;;
    --models) models="$2"; shift 2 ;;
    --modes) modes="$2"; shift 2 ;;
    --per-layer) variants="per-layer per-output"; shift ;;
    --variants) variants="$2"; shift 2 ;;
    --cc) cc="$2"; shift 2 ;;
    -h|--help) awk 'NR > 1 && /^#/ {print; next} NR > 1 {exit}' "$0"; exit 0 ;;
    -*) echo "unknown option $1" >&2; exit 2 ;;
    *) nnquant="$1"; shift ;;
  esac
done
[ -x "$nnquant" ] || { echo "no nnquant binary at $nnquant (give its path)" >&2; exit 2; }
work=$(mktemp -d /tmp/nnq_c_exactness_XXXXXX)
trap 'rm -rf "$work"' EXIT
export OMP_WAIT_POLICY=passive

echo "C export vs the integer engine on fashion-mnist:test (first $samples images); $cc -std=c99 -O2"
printf "%-12s %-14s %-10s %-10s %8s %16s %9s %7s\n" model rescale rescaling identical samples "differing bytes" "C top-1" seconds
status=0
for model in $models; do
  plan="$work/$model.plan.json"
  if ! "$nnquant" quantize "$root/models/$model.onnx" -o "$work/$model.q.onnx" --calib fashion-mnist:train \
      --calib-count 200 --plan-out "$plan" >"$work/quantize.log" 2>&1; then
    echo "$model: quantize failed: $(tail -c 300 "$work/quantize.log")"; status=1; continue
  fi
  for mode in $modes; do
    for variant in $variants; do
      start=$(date +%s)
      dir="$work/$model-$mode-$variant"
      extra=()
      extra=(--rescale-"$variant")
      identical=no count=- differing=- top1=-
      if ! "$nnquant" export "$root/models/$model.onnx" --plan "$plan" --target c -o "$dir" --rescale "$mode" \
          "${extra[@]}" --eval fashion-mnist:test --test-samples "$samples" >"$work/export.log" 2>&1; then
        identical="export failed: $(tail -1 "$work/export.log" | cut -c1-60)"
      elif ! make -s -C "$dir" CC="$cc" >"$work/make.log" 2>&1; then
        identical="build failed"
      else
        make -s -C "$dir" test >"$work/test.log" 2>&1 && identical=yes
        count=$(sed -n 's/^\([0-9]*\) samples.*/\1/p' "$work/test.log" | head -1)
        differing=$(sed -n 's/^[0-9]* samples: \([0-9]*\) of .*/\1/p' "$work/test.log" | head -1)
        [ -z "$differing" ] && [ "$identical" = yes ] && differing=0
        top1=$(sed -n 's/^top-1: \([0-9.]*%\).*/\1/p' "$work/test.log")
      fi
      [ "$identical" = yes ] || status=1
      printf "%-12s %-14s %-10s %-10s %8s %16s %9s %7s\n" "$model" "$mode" "$variant" "$identical" "${count:--}" \
        "${differing:--}" "${top1:--}" $(($(date +%s) - start))
      rm -rf "$dir"
    done
  done
done
exit $status
