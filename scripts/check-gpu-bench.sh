#!/usr/bin/env bash
# Smoke test of bench/gpu/run.sh, the GPU machine's one-call device check, on the CPU with tiny
# sizes (about 25 s): the script must pass (C++ tests; loss, kNN and data-parallel agreement)
# and write a train line for every batch size and precision plus the embedding, imputation,
# mapping and MIL rates, so that a session lent a GPU spends its minutes measuring, not
# debugging.
#   bash scripts/check-gpu-bench.sh [build dir with test_core and bench_core]
set -uo pipefail
cd "$(dirname "$0")/.."
build_dir=${1:-build/core}
export OUT=build/gpu-bench-smoke
if ! bash bench/gpu/run.sh --device cpu --cells 3000 --big-cells 0 --epochs 2 --batches 64,256 \
     --build-dir "$build_dir" >build/gpu-bench-smoke.log 2>&1; then
  tail -n 20 build/gpu-bench-smoke.log; echo "bench/gpu/run.sh failed"; exit 1
fi
jsonl=$OUT/gpu-bench.jsonl
missing=0
count() { grep -c "$1" "$jsonl"; }
[ "$(count '"step":"throughput","task":"train"')" -eq 4 ] || { echo "gpu bench: not 4 train lines"; missing=1; }
for task in embed impute map_query mil_train mil_predict; do
  grep "\"task\":\"$task\"" "$jsonl" | grep -Eq '"cells_per_s":[0-9]*\.?[0-9]*[1-9]' ||
    { echo "gpu bench: no $task rate"; missing=1; }
done
for task in cpp_tests loss_agreement knn_agreement data_parallel summary; do
  grep -q "\"task\":\"$task\"" "$jsonl" || { echo "gpu bench: no $task line"; missing=1; }
done
grep '"task":"summary"' "$jsonl" | grep -q '"failed":\[\]' || { echo "gpu bench: a step failed"; missing=1; }
[ "$missing" -eq 0 ] && echo "gpu bench smoke test: every step passed and reported"
exit "$missing"
