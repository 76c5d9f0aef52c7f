#!/usr/bin/env bash
# Smoke test of the benchmark driver (a few seconds): every task's JSON line is printed, with a
# positive rate. Keeps bench/ from rotting between the sessions that run it in earnest.
#   bash scripts/check-bench.sh [path to bench_core]
set -uo pipefail
bench=${1:-build/core/bench_core}
out=$("$bench" --cells 2000 --epochs 2 --threads 2 --device cpu --query-cells 500 --mil-cells 4000 --mil-epochs 2 2>&1) || {
  echo "$out" | tail -n 20; echo "bench_core failed"; exit 1; }
missing=0
check() {  # task, field that must be a positive number
  if ! echo "$out" | grep "\"task\":\"$1\"" | grep -Eq "\"$2\":[0-9]*\.?[0-9]*[1-9]"; then
    echo "bench_core: no $1 line with a positive $2"; missing=1
  fi
}
for task in train embed impute map_query mil_train mil_predict; do check "$task" cells_per_s; done
check train epoch_cells_per_s
check gemm_probe gflops
check peak_memory max_rss_mb
echo "$out" | grep '"task":"train"' | grep -Eq '"cpu_steal_s":([0-9.]+|null)' || { echo "bench_core: no cpu_steal_s"; missing=1; }
# The data-on-device path (a GPU's default) run on the CPU: batches gathered by index.
placed=$("$bench" --cells 1000 --epochs 2 --threads 2 --device cpu --query-cells 0 --mil-cells 0 \
  --data-placement device 2>&1) || { echo "$placed" | tail -n 20; echo "bench_core --data-placement device failed"; exit 1; }
echo "$placed" | grep '"task":"train"' | grep '"data_on_device":true' |
  grep -Eq '"cells_per_s":[0-9]*\.?[0-9]*[1-9]' || { echo "bench_core: no device-placed train line"; missing=1; }
[ "$missing" -eq 0 ] && echo "bench smoke test: all task lines present"
exit "$missing"
