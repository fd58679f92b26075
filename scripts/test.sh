#!/usr/bin/env bash
# The test command: installs dependencies, builds, and runs the whole suite
# twice (release, then AddressSanitizer + UndefinedBehaviorSanitizer), then
# fuzzes the model loader for a bounded time.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh --oracle
# ctest runs two tests at once on two cores: OpenMP threads that spin while
# waiting would then starve each other (measured: 4x slower); passive waiting
# keeps the suite's time predictable.
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-passive}"

echo "== release build"
dir=$(scripts/build.sh release)
(cd "$dir" && ctest --output-on-failure -j"$(nproc)")

echo "== AddressSanitizer + UndefinedBehaviorSanitizer build"
dir=$(scripts/build.sh sanitize)
(cd "$dir" && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j"$(nproc)")

echo "== fuzzing the model loader (${NNQ_FUZZ_SECONDS:-60} s)"
scripts/fuzz.sh "${NNQ_FUZZ_SECONDS:-60}"
