#!/usr/bin/env bash
# One command for the benchmarks: builds the C++ driver (target bench_core of src/core) against the LibTorch it finds
# (Debian's, or TORCH_CMAKE_PREFIX=<dir with TorchConfig.cmake>, e.g. a CUDA PyTorch's),
# runs it, then the R script (when R and the package are installed). Prints JSON lines.
#   bash bench/run.sh [cells=20000] [epochs=3] [threads=2] [device=auto] [batch=256]
set -euo pipefail
cd "$(dirname "$0")/.."
cells=${1:-20000}; epochs=${2:-3}; threads=${3:-2}; device=${4:-auto}; batch=${5:-256}
prefix=${TORCH_CMAKE_PREFIX:-}
if [ -z "$prefix" ]; then
  prefix=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)' 2>/dev/null || true)
  [ -n "$prefix" ] || prefix=$(dirname "$(find /usr/lib /usr/local/lib -name TorchConfig.cmake 2>/dev/null | head -n 1)")
fi
mkdir -p build
cmake -S src/core -B build/core -DCMAKE_PREFIX_PATH="$prefix" >build/bench-cmake.log 2>&1 || {
  cat build/bench-cmake.log; exit 1; }
cmake --build build/core --target bench_core -j"$(nproc)" >build/bench-build.log 2>&1 || {
  tail -n 30 build/bench-build.log; exit 1; }
build/core/bench_core --cells "$cells" --epochs "$epochs" --threads "$threads" --device "$device" --batch "$batch"
if command -v Rscript >/dev/null && Rscript -e 'quit(status = !requireNamespace("multigrade", quietly = TRUE))' 2>/dev/null; then
  Rscript bench/throughput.R "$cells" "$epochs" "$threads"
fi
