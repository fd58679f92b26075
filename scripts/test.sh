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

# ctest shows a passing test's output only in its log: print the conformance
# runner's counts (selected, passed, failed, skipped, known failures) from there.
conformance_counts() {
  awk '/^[0-9]+\/[0-9]+ Testing: / {test = $3} /^conformance:/ {sub(/^conformance:/, ""); print test ":" $0}' \
    "$1/Testing/Temporary/LastTest.log" || true
}

echo "== release build"
dir=$(scripts/build.sh release)
(cd "$dir" && ctest --output-on-failure -j"$(nproc)")
conformance_counts "$dir"

echo "== AddressSanitizer + UndefinedBehaviorSanitizer build"
dir=$(scripts/build.sh sanitize)
(cd "$dir" && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j"$(nproc)")
conformance_counts "$dir"

echo "== fuzzing the model loader (${NNQ_FUZZ_SECONDS:-60} s)"
scripts/fuzz.sh "${NNQ_FUZZ_SECONDS:-60}"
