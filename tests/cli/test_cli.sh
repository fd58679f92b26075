#!/usr/bin/env bash
# Command-line behaviour: help, info/run on every supported model of ONNX's
# pytorch-converted test data, and bad input (clear message naming the file or
# tensor, non-zero exit, nothing half-written, existing outputs untouched).
# usage: test_cli.sh NNQUANT_BINARY
set -uo pipefail
nnquant="$1"
data=/usr/share/libonnx-testdata/data
work=$(mktemp -d /tmp/nnq_cli_XXXXXX)
trap 'rm -rf "$work"' EXIT
source "$(dirname "$0")/../lib/checks.sh"

# --- help
expect "top-level help" "$nnquant" --help
expect "info help" "$nnquant" info --help
expect "run help" "$nnquant" run --help
expect_error "unknown command" "unknown command" "$nnquant" frobnicate
expect_error "run without output dir" "--output-dir is required" "$nnquant" run "$data/pytorch-converted/test_Conv2d/model.onnx"

# --- info and run on every pytorch-converted model whose operators nnquant supports
ran=0 skipped=0
for case in "$data"/pytorch-converted/test_*; do
  model="$case/model.onnx"
  if ! "$nnquant" info --json "$model" >"$work/info.json" 2>"$work/err"; then
    if grep -q "not supported\|not a tensor" "$work/err"; then skipped=$((skipped + 1)); continue; fi
    fail "info $model: $(cat "$work/err")"; continue
  fi
  if ! grep -q '"unsupported_ops":""' "$work/info.json"; then skipped=$((skipped + 1)); continue; fi
  names=$(node -e 'const m = JSON.parse(require("fs").readFileSync(process.argv[1]));
                   console.log(m.inputs.map(i => i.name).join("\n"))' "$work/info.json")
  args=() k=0
  while IFS= read -r name; do
    [ -n "$name" ] && args+=(--input "$name=$case/test_data_set_0/input_$k.pb"); k=$((k + 1))
  done <<<"$names"
  rm -rf "$work/outputs"
  if "$nnquant" run "$model" "${args[@]}" --output-dir "$work/outputs" >"$work/out" 2>"$work/err"; then
    # Every graph output was written as a .npy file with NumPy's magic.
    n_out=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).outputs.length)' "$work/info.json")
    n_files=$(ls "$work/outputs"/*.npy 2>/dev/null | wc -l)
    if [ "$n_files" = "$n_out" ] && head -c 6 "$(ls "$work/outputs"/*.npy | head -1)" | grep -q "NUMPY"; then pass; ran=$((ran + 1))
    else fail "run $model wrote $n_files of $n_out outputs"; fi
  else
    fail "run $model: $(cat "$work/err")"
  fi
done
echo "cli: info+run on $ran pytorch-converted models ($skipped with unsupported operators skipped)"
[ "$ran" -ge 40 ] && pass || fail "only $ran pytorch-converted models ran"

# --- output correctness through the CLI: shape written in the .npy header
conv="$data/pytorch-converted/test_Conv2d"
expect "run Conv2d" "$nnquant" run "$conv/model.onnx" --input "$conv/test_data_set_0/input_0.pb" --output-dir "$work/conv" --json
grep -q '"shape":\[2,4,5,4\]' "$work/out" && pass || fail "run --json shape: $(cat "$work/out")"
head -c 128 "$work/conv/"*.npy | grep -q "'shape': (2, 4, 5, 4)" && pass || fail "npy header shape"

# --- bad input
expect_error "missing model" "/nonexistent.onnx" "$nnquant" info /nonexistent.onnx
head -c 100 "$conv/model.onnx" >"$work/truncated.onnx"
expect_error "truncated model" "truncated.onnx" "$nnquant" info "$work/truncated.onnx"
head -c 3000 /dev/urandom >"$work/random.onnx"
"$nnquant" info "$work/random.onnx" >/dev/null 2>&1; code=$?
[ $code -eq 1 ] && pass || fail "random bytes: exit code $code"
expect_error "missing input file" "/nonexistent.npy" "$nnquant" run "$conv/model.onnx" --input /nonexistent.npy --output-dir "$work/o"
expect_error "input of the wrong shape" "expected shape" "$nnquant" run "$data/node/test_relu/model.onnx" \
  --input "$conv/test_data_set_0/input_0.pb" --output-dir "$work/o"
expect_error "unknown input name" "no input named 'nope'" "$nnquant" run "$conv/model.onnx" \
  --input "nope=$conv/test_data_set_0/input_0.pb" --output-dir "$work/o"
# Det (matrix determinant) is an operator nnquant has no use for.
det="$data/node/test_det_2d"
expect_error "unsupported operator named" "operator 'Det' is not supported" "$nnquant" run "$det/model.onnx" \
  --input "$det/test_data_set_0/input_0.pb" --output-dir "$work/o"
[ ! -e "$work/o" ] && pass || fail "a failed run created its output directory"

# A failing run leaves an existing output file as it was and no temporary files.
mkdir -p "$work/keep"
echo "precious" >"$work/keep/3.npy"
"$nnquant" run "$conv/model.onnx" --input "$work/truncated.onnx" --output-dir "$work/keep" >/dev/null 2>&1
[ "$(cat "$work/keep/3.npy")" = "precious" ] && pass || fail "existing output was modified by a failed run"
[ -z "$(ls "$work/keep" | grep tmp)" ] && pass || fail "temporary files left behind"
# A successful run replaces it atomically (the new file is complete).
expect "overwrite output" "$nnquant" run "$conv/model.onnx" --input "$conv/test_data_set_0/input_0.pb" --output-dir "$work/keep"
head -c 6 "$work/keep/3.npy" | grep -q NUMPY && pass || fail "output not replaced"
[ -z "$(ls "$work/keep" | grep tmp)" ] && pass || fail "temporary files left behind after success"

# --- eval and convert
root=$(cd "$(dirname "$0")/../.." && pwd)
linear="$data/pytorch-converted/test_Linear/model.onnx" # input [4,10], logits [4,8]: a fixed batch of 4
expect "eval help" "$nnquant" eval --help
grep -q "fashion-mnist:test|train" "$work/out" && grep -q -- "--resize HxW" "$work/out" && pass || fail "eval help lacks the spec syntax"
expect "convert help" "$nnquant" convert --help
grep -q -- "--external-data" "$work/out" && pass || fail "convert help lacks --external-data"
expect_error "eval without dataset" "--dataset SPEC is required" "$nnquant" eval "$linear"
expect_error "eval unknown scheme" "unknown scheme 'cifar'" "$nnquant" eval "$linear" --dataset cifar:test
expect_error "eval missing npy" "/nonexistent/x.npy" "$nnquant" eval "$linear" --dataset npy:/nonexistent/x.npy
expect_error "eval bad batch" "--batch needs a count" "$nnquant" eval "$linear" --dataset fashion-mnist:test --batch 0
expect_error "eval image option on IDX" "apply only to image folders" "$nnquant" eval "$linear" \
  --dataset fashion-mnist:test --resize 4x4
expect_error "eval wrong sample shape" "expected shape [4,10]" "$nnquant" eval "$linear" --dataset fashion-mnist:test
# 10 samples of 10 features, labels 0..7: three runs of the fixed batch of 4, the last one padded.
node -e 'const { writeNpyFloat32 } = require(process.argv[1] + "/bench/npy");
         const x = new Float32Array(100).map((_, i) => Math.sin(i));
         writeNpyFloat32(process.argv[2] + "/x.npy", x, [10, 10]);
         writeNpyFloat32(process.argv[2] + "/y.npy", new Float32Array(10).map((_, i) => i % 8), [10]);' "$root" "$work"
expect "eval --json" "$nnquant" eval "$linear" --dataset "npy:$work/x.npy,$work/y.npy" --json
node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1]));
         for (const k of ["top1", "top5", "correct", "total", "images_per_second"]) if (!(k in r)) throw k;
         if (r.total !== 10 || r.classes !== 8 || r.batch !== 4 || r.correct < 0 || r.correct > 10) throw "values";
         if (Math.abs(r.top1 - r.correct / 10) > 1e-12 || r.correct_top5 < r.correct) throw "accuracy";' "$work/out" \
  && pass || fail "eval --json: $(cat "$work/out")"
expect "eval --limit" "$nnquant" eval "$linear" --dataset "$work/x.npy,$work/y.npy" --limit 3 --json
grep -q '"total":3' "$work/out" && pass || fail "eval --limit 3: $(cat "$work/out")"
expect_error "eval without labels" "has no labels" "$nnquant" eval "$linear" --dataset "$work/x.npy"
expect "eval text" "$nnquant" eval "$linear" --dataset "npy:$work/x.npy,$work/y.npy"
grep -q "^top-1: .*(.*/10)" "$work/out" && grep -q "^top-5:" "$work/out" && pass || fail "eval text: $(cat "$work/out")"
[ ! -s "$work/err" ] && pass || fail "eval drew a progress bar on a non-terminal stderr: $(cat "$work/err")"

expect_error "convert without -o" "-o OUT.onnx is required" "$nnquant" convert "$linear"
expect_error "convert into a missing folder" "/nonexistent/dir" "$nnquant" convert "$linear" -o /nonexistent/dir/m.onnx
expect "convert" "$nnquant" convert "$linear" -o "$work/linear.onnx"
expect "convert --external-data" "$nnquant" convert "$linear" -o "$work/linear_ext.onnx" --external-data 16
[ -s "$work/linear_ext.onnx.data" ] && pass || fail "convert --external-data wrote no side file"
expect "convert --simplify" "$nnquant" convert "$linear" --simplify -o "$work/linear_simple.onnx"
# The converted models compute what the original does, byte for byte.
input="$data/pytorch-converted/test_Linear/test_data_set_0/input_0.pb"
for m in "$linear" "$work/linear.onnx" "$work/linear_ext.onnx" "$work/linear_simple.onnx"; do
  rm -rf "$work/lin_out"
  "$nnquant" run "$m" --input "$input" --output-dir "$work/lin_out" >/dev/null 2>"$work/err" || fail "run $m: $(cat "$work/err")"
  cat "$work/lin_out"/*.npy >"$work/$(basename "$m").result"
done
for m in linear.onnx linear_ext.onnx linear_simple.onnx; do
  cmp -s "$work/model.onnx.result" "$work/$m.result" && pass || fail "converted $m computes different outputs"
done

# --- quantize (a small calibration keeps it quick)
lenet="$(dirname "$0")/../../models/lenet5.onnx"
if [ -f "$lenet" ]; then
  expect "quantize help" "$nnquant" quantize --help
  expect_error "quantize without output" "no output given" "$nnquant" quantize "$lenet" --calib fashion-mnist:train
  expect_error "quantize with an unknown method" "unknown method 'bogus'" "$nnquant" quantize "$lenet" -o "$work/q.onnx" \
    --calib fashion-mnist:train --act-clip bogus
  expect_error "quantize with a bad spec" "nope:" "$nnquant" quantize "$lenet" -o "$work/q.onnx" --calib nope:thing
  expect "quantize lenet5" "$nnquant" quantize "$lenet" -o "$work/q.onnx" --calib fashion-mnist:train --calib-count 64 \
    --plan-out "$work/plan.json" --calib-table "$work/table" --calib-save "$work/cal.bin" --json
  grep -q '"quantized_top1":0\.' "$work/out" && pass || fail "quantize --json: $(cat "$work/out")"
  [ -s "$work/q.onnx" ] && [ -s "$work/plan.json" ] && [ -s "$work/table.json" ] && [ -s "$work/table.txt" ] && pass \
    || fail "quantize outputs missing"
  expect "quantize from saved statistics" "$nnquant" quantize "$lenet" -o "$work/q2.onnx" --calib-reload "$work/cal.bin"
  cmp -s "$work/q.onnx" "$work/q2.onnx" && pass || fail "--calib-reload gave a different model"
  # QOperator form: integer operators, no float Conv/Gemm left; contrib ops only with --ms-ops.
  expect_error "quantize with a bad format" "--format is qdq or qoperator" "$nnquant" quantize "$lenet" -o "$work/q.onnx" \
    --calib-reload "$work/cal.bin" --format qlinear
  expect_error "--ms-ops without qoperator" "--ms-ops applies to --format qoperator" "$nnquant" quantize "$lenet" \
    -o "$work/q.onnx" --calib-reload "$work/cal.bin" --ms-ops
  histogram='const r = JSON.parse(require("fs").readFileSync(process.argv[1])); console.log(JSON.stringify(r.op_histogram), JSON.stringify(r.opsets))'
  expect "quantize --format qoperator" "$nnquant" quantize "$lenet" -o "$work/qop.onnx" --calib-reload "$work/cal.bin" --format qoperator
  "$nnquant" info --json "$work/qop.onnx" >"$work/qop.json" && ops=$(node -e "$histogram" "$work/qop.json")
  case "$ops" in
    *'"QLinearConv":'*) case "$ops" in *'"Conv":'* | *'"Gemm":'* | *'"Relu":'* | *com.microsoft*) fail "qoperator model keeps float ops: $ops" ;; *) pass ;; esac ;;
    *) fail "qoperator model without QLinearConv: $ops" ;;
  esac
  grep -q "QLinearConv" "$work/qop.onnx" && pass || fail "QLinearConv not in the written file"
  expect "quantize --format qoperator --ms-ops" "$nnquant" quantize "$lenet" -o "$work/qop_ms.onnx" --calib-reload "$work/cal.bin" \
    --format qoperator --ms-ops
  "$nnquant" info --json "$work/qop_ms.onnx" >"$work/qop_ms.json" && ops=$(node -e "$histogram" "$work/qop_ms.json")
  case "$ops" in *'"com.microsoft:QGemm":'*'"com.microsoft":1'*) pass ;; *) fail "qoperator --ms-ops: $ops" ;; esac
  # run --plan --int: the integer engine's dequantized outputs as .npy.
  node -e 'const { writeNpyFloat32 } = require(process.argv[1] + "/bench/npy");
           writeNpyFloat32(process.argv[2] + "/images.npy", new Float32Array(3 * 784).map((_, i) => (i % 97) / 97), [3, 1, 28, 28]);' \
    "$root" "$work"
  expect "run --plan --int" "$nnquant" run "$lenet" --input "$work/images.npy" --plan "$work/plan.json" --int --rescale float \
    --rescale-per-output --output-dir "$work/int_out" --json
  grep -q '"shape":\[3,10\]' "$work/out" && grep -q '"integer_only":true' "$work/out" && pass || fail "run --int --json: $(cat "$work/out")"
  expect "run --plan (fake-quantized)" "$nnquant" run "$lenet" --input "$work/images.npy" --plan "$work/plan.json" \
    --output-dir "$work/sim_out"
  expect_error "run --int without a plan" "--int needs --plan" "$nnquant" run "$lenet" --input "$work/images.npy" --int \
    --output-dir "$work/o"
  expect_error "run --rescale without --int" "need --int" "$nnquant" run "$lenet" --input "$work/images.npy" \
    --plan "$work/plan.json" --rescale float --output-dir "$work/o"
  expect_error "run --rescale bad mode" "--rescale needs one of" "$nnquant" run "$lenet" --input "$work/images.npy" \
    --plan "$work/plan.json" --int --rescale half --output-dir "$work/o"
  expect "eval with the plan" "$nnquant" eval "$lenet" --dataset fashion-mnist:test --limit 64 --plan "$work/plan.json" --json
  grep -q '"quantized_top1"' "$work/out" && pass || fail "eval --plan --json lacks quantized_top1"
  # eval --int: one rescale per output channel by default, per layer on request.
  expect "eval --int" "$nnquant" eval "$lenet" --dataset fashion-mnist:test --limit 16 --plan "$work/plan.json" --int --json
  grep -q '"rescale_per_output":true' "$work/out" && grep -q '"integer_top1"' "$work/out" && pass \
    || fail "eval --int --json: per output channel is not the default: $(cat "$work/out")"
  expect "eval --int --rescale-per-layer" "$nnquant" eval "$lenet" --dataset fashion-mnist:test --limit 16 \
    --plan "$work/plan.json" --int --rescale-per-layer --json
  grep -q '"rescale_per_output":false' "$work/out" && pass || fail "eval --rescale-per-layer: $(cat "$work/out")"
  # eval --table: N2D2's three columns, one row per rescale mode.
  expect "eval --table" "$nnquant" eval "$lenet" --dataset fashion-mnist:test --limit 16 --plan "$work/plan.json" \
    --table --rescale float,single-shift
  if grep -q "^top-1 on fashion-mnist:test (16 samples)" "$work/out" &&
     grep -q "FP32 *fake-quantized *integer *rescale" "$work/out" &&
     [ "$(grep -cE '%.*%.*% +(float|single-shift) per-output' "$work/out")" = 2 ]; then pass
  else fail "eval --table: $(cat "$work/out")"; fi
  expect_error "eval --table without a plan" "--table needs --plan" "$nnquant" eval "$lenet" \
    --dataset fashion-mnist:test --limit 16 --table
  expect_error "plan for another model" "prepared from another model" "$nnquant" eval "$(dirname "$lenet")/mlp.onnx" \
    --dataset fashion-mnist:test --limit 8 --plan "$work/plan.json"
  # The plan carries its prepared graph: after CLE and bias correction (weights changed) eval --plan
  # scores exactly what quantize scored; a plan naming a file elsewhere is refused; a plan naming none
  # (hand-written) gets the model prepared again.
  expect "quantize --cle --bias-correction" "$nnquant" quantize "$lenet" -o "$work/qc.onnx" --calib fashion-mnist:train \
    --calib-count 64 --cle --bias-correction empirical --wbits 4 --eval fashion-mnist:test --eval-count 300 \
    --plan-out "$work/cle.json" --json
  quantized=$(sed -n 's/.*"quantized_top1":\([0-9.]*\).*/\1/p' "$work/out")
  [ -s "$work/cle.prepared.onnx" ] && pass || fail "no prepared graph next to the plan"
  expect "eval the CLE plan" "$nnquant" eval "$lenet" --dataset fashion-mnist:test --limit 300 --plan "$work/cle.json" --json
  grep -q "\"quantized_top1\":$quantized[,}]" "$work/out" && pass || fail "eval --plan gave $(cat "$work/out"), quantize $quantized"
  sed 's|"prepared_model":"[^"]*"|"prepared_model":"../elsewhere.onnx"|' "$work/cle.json" >"$work/evil.json"
  expect_error "plan naming a file elsewhere" "file name next to the plan" "$nnquant" eval "$lenet" \
    --dataset fashion-mnist:test --limit 8 --plan "$work/evil.json"
  sed 's|,"prepared_model":"[^"]*"||' "$work/plan.json" >"$work/bare.json"
  expect "plan without a prepared graph" "$nnquant" eval "$lenet" --dataset fashion-mnist:test --limit 8 --plan "$work/bare.json"
  expect_error "reload for another model" "has no statistics" "$nnquant" quantize "$data/pytorch-converted/test_Conv2d/model.onnx" \
    -o "$work/q3.onnx" --calib-reload "$work/cal.bin"
  [ ! -e "$work/q3.onnx" ] && pass || fail "a failed quantize left an output"
fi

check_summary cli
