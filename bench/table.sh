#!/usr/bin/env bash
# The nnquant / ONNX Runtime table of bench/README.md: every models/*.onnx at
# batch 1 and 64, each pair measured ROUNDS times (bench/bench.sh, alternating
# the binaries so that all see the same machine load), medians reported.
#   bench/table.sh [ROUNDS]
#   NNQUANT=build/nnquant (default)      the binary measured
#   NNQUANT_BEFORE=path                   optional baseline binary: adds its columns
# Prints markdown rows: model | batch | [before ms | ORT ms | ratio |] ms | ORT ms | ratio.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$here/.."
rounds="${1:-3}"
after="${NNQUANT:-$root/build/nnquant}"
before="${NNQUANT_BEFORE:-}"

# One bench.sh line "... nnquant A ms, onnxruntime B ms, ratio R" -> "A B".
measure() { # binary model batch
  local repeat=$(( $3 == 1 ? 200 : 20 ))
  NNQUANT="$1" "$here/bench.sh" "$2" "$3" "$repeat" |
    sed -E 's/.*nnquant ([0-9.]+) ms, onnxruntime ([0-9.]+) ms.*/\1 \2/'
}

median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# Median nnquant ms, ORT ms and ratio of the rounds in file $1 ("ours theirs" lines).
summary() {
  local ours theirs
  ours=$(cut -d' ' -f1 "$1" | median)
  theirs=$(cut -d' ' -f2 "$1" | median)
  awk -v o="$ours" -v t="$theirs" 'BEGIN { printf "%.3f | %.3f | %.2f", o, t, o / t }'
}

work=$(mktemp -d /tmp/nnq_table_XXXXXX)
trap 'rm -rf "$work"' EXIT
if [ -n "$before" ]; then
  echo "| model | batch | before ms | ORT ms | before ratio | after ms | ORT ms | after ratio |"
  echo "|---|---|---|---|---|---|---|---|"
else
  echo "| model | batch | nnquant ms | ORT ms | ratio |"
  echo "|---|---|---|---|---|"
fi
for model in "$root"/models/*.onnx; do
  for batch in 1 64; do
    : >"$work/after"
    : >"$work/before"
    for _ in $(seq "$rounds"); do
      [ -z "$before" ] || measure "$before" "$model" "$batch" >>"$work/before"
      measure "$after" "$model" "$batch" >>"$work/after"
    done
    row="| $(basename "$model" .onnx) | $batch |"
    [ -z "$before" ] || row="$row $(summary "$work/before") |"
    echo "$row $(summary "$work/after") |"
  done
done
