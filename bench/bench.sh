#!/usr/bin/env bash
# FP32 inference time of nnquant against ONNX Runtime on the same model and input.
#   bench/bench.sh MODEL [BATCH] [REPEAT]
# Both use all cores of the machine; symbolic dims are set to BATCH (default 1).
# Prints both medians and the ratio nnquant / ORT (below 1: nnquant is faster).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$here/.."
model="$1" batch="${2:-1}" repeat="${3:-20}"
nnquant="${NNQUANT:-$root/build/nnquant}"
[ -x "$nnquant" ] || { echo "bench: build nnquant first (scripts/build.sh)" >&2; exit 1; }
[ -d "$root/tools/ort/node_modules/onnxruntime-node" ] || "$root/scripts/deps.sh" --oracle
work=$(mktemp -d /tmp/nnq_bench_XXXXXX)
trap 'rm -rf "$work"' EXIT

"$nnquant" info --json "$model" >"$work/info.json"
read -r name dims < <(node -e '
  const m = JSON.parse(require("fs").readFileSync(process.argv[1]));
  if (m.inputs.length !== 1) { console.error("bench: models with one input only"); process.exit(1); }
  const dims = m.inputs[0].shape.map(d => typeof d === "number" ? d : Number(process.argv[2]));
  console.log(m.inputs[0].name, dims.join(" "));' "$work/info.json" "$batch")
node "$here/make_input.js" "$work/input.npy" $dims

ours=$("$nnquant" run "$model" --input "$name=$work/input.npy" --output-dir "$work/out" --repeat "$repeat" --json |
       node -e 'console.log(JSON.parse(require("fs").readFileSync(0)).median_ms)')
theirs=$(node "$here/ort_bench.js" "$model" "$name" "$work/input.npy" "$repeat" "$(nproc)" |
         node -e 'console.log(JSON.parse(require("fs").readFileSync(0)).median_ms)')
node -e 'const [m, b, o, t] = process.argv.slice(1);
  console.log(`${m} batch ${b}: nnquant ${(+o).toFixed(3)} ms, onnxruntime ${(+t).toFixed(3)} ms, ratio ${(o / t).toFixed(2)}`);' \
  "$(basename "$model")" "$batch" "$ours" "$theirs"
