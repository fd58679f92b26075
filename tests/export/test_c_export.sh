#!/usr/bin/env bash
# The C export (nnquant export --target c): for every bundled model the
# integer lowering handles - mlp (lookup tables), lenet5, resnet8,
# mobilenetv2 (depthwise convolutions), inception (concatenation, average
# pools) - in every rescale mode per output channel (the default), and
# lenet5 and resnet8 also per layer, the exported folder
#   - holds the kernel files of the source tree byte for byte,
#   - builds with gcc and with clang (-std=c99 -Wall -Wextra -Werror -O2),
#   - passes its own `make test`: the example program's outputs on the test
#     samples equal the integer engine's, byte for byte,
#   - compiles its inference path (model.c and the kernels it calls) with
#     gcc -mgeneral-regs-only on x86-64 unless the mode is float - which must
#     fail to compile that way (the check can tell float code);
# a corrupted expected output makes `make test` fail; the RAM and flash
# reports are consistent; bad input gives clear errors and non-zero exits.
# usage: test_c_export.sh NNQUANT_BINARY [SOURCE_DIR] [--all | --quick]
# (--quick, for the slow sanitizer build: every model in fixed32, lenet5 in
# every mode and granularity.)
# Exit 77 (skipped) when the models or Fashion-MNIST are missing.
set -uo pipefail
nnquant="$1"
source_dir="${2:-$(cd "$(dirname "$0")/../.." && pwd)}"
models="$source_dir/models"
kernels="$source_dir/src/intq/kernels"
samples="${NNQ_EXPORT_TEST_SAMPLES:-100}"
scope="${3:---all}"
work=$(mktemp -d /tmp/nnq_c_export_XXXXXX)
trap 'rm -rf "$work"' EXIT
source "$(dirname "$0")/../lib/checks.sh"

for m in lenet5 resnet8 mlp mobilenetv2 inception; do
  [ -f "$models/$m.onnx" ] || { echo "SKIP: $models/$m.onnx is missing"; exit 77; }
done
[ -d /usr/share/datasets/fashion-mnist ] || { echo "SKIP: Fashion-MNIST is missing"; exit 77; }
have_clang=1
command -v clang >/dev/null || { have_clang=0; echo "NOTE: clang not found: gcc builds only"; }
check_float=0
[ "$(uname -m)" = x86_64 ] && command -v gcc >/dev/null && check_float=1

make_plan() { # make_plan MODEL
  "$nnquant" quantize "$models/$1.onnx" -o "$work/$1.q.onnx" --calib fashion-mnist:train --calib-count 200 \
    --plan-out "$work/$1.plan.json" >"$work/$1.quantize.log" 2>&1 || fail "quantize $1: $(tail -c 400 "$work/$1.quantize.log")"
}

# The inference path of an exported folder: model.c and the kernels it calls (every .c but the host side).
inference_sources() {
  for f in "$1"/*.c; do
    case "$(basename "$f")" in main.c|model_io.c|quantize_f32_s8.c|dequantize_s8_f32.c) ;; *) echo "$f" ;; esac
  done
}

# Compiles every inference file with -mgeneral-regs-only: succeeds when none has a float operation.
compiles_without_float() { # compiles_without_float DIR DEFINES
  local f
  for f in $(inference_sources "$1"); do
    gcc -std=c99 -Wall -Wextra -Werror -O2 $2 -mgeneral-regs-only -c "$f" -o "$work/no_float.o" \
      2>>"$work/no_float.err" || return 1
  done
}

# Builds DIR with COMPILER and runs its make test; prints nothing on success, else what failed.
build_and_test() { # build_and_test DIR COMPILER
  local log="$1.$2.log"
  make -s -C "$1" clean >/dev/null 2>&1
  if ! make -s -C "$1" CC="$2" >"$log" 2>&1; then echo "$1: make CC=$2: $(head -c 600 "$log")"; return; fi
  make -s -C "$1" test >"$log" 2>&1 && grep -q "identical to the integer engine's" "$log" ||
    echo "$1: make test ($2): $(tail -c 600 "$log")"
}

# The gcc and the clang build side by side (in a copy of the folder).
build_with_both() { # build_with_both DIR
  local clang=$have_clang
  if [ $clang = 1 ]; then
    cp -r "$1" "$1-clang"
    build_and_test "$1-clang" clang >"$work/clang.result" &
  fi
  build_and_test "$1" gcc >"$work/gcc.result"
  wait
  if [ -s "$work/gcc.result" ]; then fail "$(cat "$work/gcc.result")"; else pass; fi
  if [ $clang = 1 ]; then
    if [ -s "$work/clang.result" ]; then fail "$(cat "$work/clang.result")"; else pass; fi
    rm -rf "$1-clang"
  fi
}

check_export() { # check_export MODEL MODE [--rescale-per-layer] (default: per output channel)
  local model="$1" mode="$2" extra="${3:-}"
  local dir="$work/$model-$mode${extra:+-${extra#--rescale-}}"
  if ! "$nnquant" export "$models/$model.onnx" --plan "$work/$model.plan.json" --target c -o "$dir" --rescale "$mode" \
      $extra --eval fashion-mnist:test --test-samples "$samples" >"$work/export.log" 2>&1; then
    fail "export $model $mode $extra: $(tail -c 600 "$work/export.log")"; return
  fi
  # The report: RAM and flash at or above their lower bounds, with the test samples written.
  if awk '/^RAM:/ {ram = $2} /^flash:/ {flash = $2} /lower bound/ {bound[++n] = $3}
          END {exit !(n == 2 && flash >= bound[1] && ram >= bound[2] && ram > 0)}' "$work/export.log" &&
     grep -q "^test: *$samples samples" "$work/export.log"; then pass
  else fail "export $model $mode $extra: report: $(cat "$work/export.log")"; fi
  # The kernels are the source tree's files, byte for byte.
  local f same=1
  for f in "$dir"/*_s8.c "$dir"/*_s8_f32.c "$dir"/*_f32_s8.c "$dir"/intq_*.h; do
    cmp -s "$f" "$kernels/$(basename "$f")" || { same=0; fail "$dir: $(basename "$f") differs from $kernels"; }
  done
  [ $same = 1 ] && pass
  build_with_both "$dir"
  if [ $check_float = 1 ]; then
    if [ "$mode" = float ]; then
      # The float mode keeps float code: the same check must reject it, or it could not see float at all.
      if compiles_without_float "$dir" ""; then fail "$dir: float mode compiled with -mgeneral-regs-only"; else pass; fi
    elif compiles_without_float "$dir" -DINTQ_INTEGER_ONLY; then pass
    else fail "$dir: float in the inference path: $(head -c 600 "$work/no_float.err")"; fi
    rm -f "$work/no_float.err"
  fi
}

# --- every model and mode per output channel; lenet5 and resnet8 also per layer
for model in mlp lenet5 resnet8 mobilenetv2 inception; do
  make_plan "$model"
  modes="float fixed16 fixed32 single-shift double-shift"
  [ "$scope" = --quick ] && [ "$model" != lenet5 ] && modes=fixed32
  for mode in $modes; do
    check_export "$model" "$mode"
    case "$model.$scope" in lenet5.* | resnet8.--all) check_export "$model" "$mode" --rescale-per-layer ;; esac
  done
done

# --- make test can fail: one corrupted byte of the engine's outputs
dir="$work/lenet5-fixed32-per-layer"
cp "$dir/test_outputs.bin" "$work/saved_outputs.bin"
byte=$(od -An -tu1 -j 17 -N 1 "$dir/test_outputs.bin" | tr -d ' ')
printf "$(printf '\\%03o' $(((byte + 1) % 256)))" | dd of="$dir/test_outputs.bin" bs=1 seek=17 conv=notrunc 2>/dev/null
if make -s -C "$dir" test >"$work/test.log" 2>&1; then fail "make test passed with a corrupted expected output"
elif grep -q "sample 1, output byte 7" "$work/test.log" && grep -q "1 of 1000 output bytes differ" "$work/test.log"; then pass
else fail "corrupted expected output: unexpected report: $(cat "$work/test.log")"; fi
cp "$work/saved_outputs.bin" "$dir/test_outputs.bin"
# ... and a truncated one
head -c 999 "$work/saved_outputs.bin" >"$dir/test_outputs.bin"
if make -s -C "$dir" test >"$work/test.log" 2>&1; then fail "make test passed with a truncated expected output"; else pass; fi
cp "$work/saved_outputs.bin" "$dir/test_outputs.bin"

# --- a program that is not integer-only is refused, naming its float nodes
grep -v '"tensor":"/Relu_2_output_0"' "$work/lenet5.plan.json" >"$work/lenet5.partial.json"
expect_error "float nodes" "/fc1/Gemm" "$nnquant" export "$models/lenet5.onnx" --plan "$work/lenet5.partial.json" \
  --target c -o "$work/partial" --eval fashion-mnist:test
if [ -e "$work/partial" ]; then fail "a refused export created its folder"; else pass; fi

# --- bad input
lenet=("$models/lenet5.onnx" --plan "$work/lenet5.plan.json" --target c)
expect_error "missing plan" "no-such-plan.json" "$nnquant" export "$models/lenet5.onnx" --plan "$work/no-such-plan.json" \
  --target c -o "$work/x" --eval fashion-mnist:test
expect_error "no plan" "--plan PLAN.json is required" "$nnquant" export "$models/lenet5.onnx" --target c -o "$work/x"
expect_error "unknown target" "unknown --target" "$nnquant" export "${lenet[@]}" --target onnx -o "$work/x" --test-samples 0
expect_error "no folder" "-o DIR is required" "$nnquant" export "${lenet[@]}" --test-samples 0
expect_error "folder's parent missing" "cannot create the folder" "$nnquant" export "${lenet[@]}" \
  -o "$work/missing/x" --test-samples 0
touch "$work/a-file"
expect_error "folder is a file" "is not a folder" "$nnquant" export "${lenet[@]}" -o "$work/a-file" --test-samples 0
expect_error "no data for the samples" "--calib SPEC or --eval SPEC" "$nnquant" export "${lenet[@]}" -o "$work/x"
expect_error "both datasets" "exclusive" "$nnquant" export "${lenet[@]}" -o "$work/x" --calib fashion-mnist:train \
  --eval fashion-mnist:test
expect_error "bad name" "not a C identifier" "$nnquant" export "${lenet[@]}" -o "$work/x" --test-samples 0 --name 9lives
expect_error "name of a kernel" "kernel file" "$nnquant" export "${lenet[@]}" -o "$work/x" --test-samples 0 --name conv_s8
expect_error "bad mode" "--rescale needs" "$nnquant" export "${lenet[@]}" -o "$work/x" --rescale triple-shift
expect_error "bad dataset" "no-such-data" "$nnquant" export "${lenet[@]}" -o "$work/x" --eval npy:"$work/no-such-data.npy"

# --- --test-samples 0 and --name: the module builds, and make test says there is nothing to compare
if "$nnquant" export "${lenet[@]}" -o "$work/named" --test-samples 0 --name lenet >"$work/out" 2>&1 &&
   [ -f "$work/named/lenet.h" ] && grep -q "int lenet_run(const int8_t \*input, int8_t \*output, void \*scratch);" \
     "$work/named/lenet.h" && make -s -C "$work/named" >/dev/null 2>&1; then pass
else fail "export --name lenet --test-samples 0: $(cat "$work/out")"; fi
if make -s -C "$work/named" test >"$work/test.log" 2>&1; then fail "make test passed without test samples"
elif grep -q "no test samples" "$work/test.log"; then pass
else fail "make test without samples: $(cat "$work/test.log")"; fi

check_summary "c export"
