#!/usr/bin/env bash
# Configures and builds one flavour of nnquant.
#   scripts/build.sh [release|sanitize|fuzz]   (default release)
set -euo pipefail
cd "$(dirname "$0")/.."
flavour="${1:-release}"
jobs="$(nproc)"
case "$flavour" in
  release)  dir=build;       args=(-DCMAKE_BUILD_TYPE=Release) ;;
  sanitize) dir=build-asan;  args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DNNQ_SANITIZE=ON) ;;
  fuzz)     dir=build-fuzz;  args=(-DCMAKE_BUILD_TYPE=Debug -DNNQ_FUZZ=ON -DCMAKE_C_COMPILER=clang) ;;
  *) echo "usage: $0 [release|sanitize|fuzz]" >&2; exit 2 ;;
esac
cmake -S . -B "$dir" "${args[@]}" >/dev/null
cmake --build "$dir" -j"$jobs" >/dev/null
echo "$dir"
