#!/usr/bin/env bash
# Fuzzes the ONNX model loader with libFuzzer for a bounded time, seeded with
# ONNX's conformance models. Fails on any crash or sanitizer report.
#   scripts/fuzz.sh [SECONDS]   (default 60)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
dir=$(scripts/build.sh fuzz)
corpus="$dir/fuzz-corpus"
if [ ! -d "$corpus" ]; then
  mkdir -p "$corpus"
  for f in /usr/share/libonnx-testdata/data/{node,pytorch-converted,pytorch-operator}/*/model.onnx; do
    cp "$f" "$corpus/$(basename "$(dirname "$f")").onnx"
  done
fi
# Past findings replay first: each file in tests/fuzz/regressions once crashed the loader.
"$dir/tests/fuzz_model_load" -rss_limit_mb=4096 tests/fuzz/regressions/* 2>"$dir/fuzz-regressions.log" \
  || { tail -n 60 "$dir/fuzz-regressions.log"; echo "fuzz: a past finding fails again"; exit 1; }
# Findings land in $dir/fuzz-findings, kept for the next run to reproduce.
mkdir -p "$dir/fuzz-findings"
"$dir/tests/fuzz_model_load" -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=4096 \
  -artifact_prefix="$dir/fuzz-findings/" -print_final_stats=1 "$corpus" 2>"$dir/fuzz.log" \
  || { tail -n 60 "$dir/fuzz.log"; echo "fuzz: FAILED (artifacts in $dir/fuzz-findings)"; exit 1; }
grep -E "^stat::number_of_executed_units|^stat::peak_rss_mb" "$dir/fuzz.log" || true
echo "fuzz: no crash in ${seconds} s"
