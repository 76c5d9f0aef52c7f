#!/usr/bin/env bash
# Data-parallel training throughput on one machine: the same generated cells trained by 1, 2
# and 4 ranks (processes of bench_core over Gloo on loopback; each rank gets cores / ranks
# threads, at least one), with the all-reduce time per step. Prints rank 0's JSON train line
# for each (cells_per_s counts the cells of all ranks) and a summary line.
#   bash bench/distributed.sh [cells=20000] [epochs=3] [batch=256] [ranks="1 2 4"]
set -uo pipefail
cd "$(dirname "$0")/.."
cells=${1:-20000}; epochs=${2:-3}; batch=${3:-256}; ranks=${4:-"1 2 4"}
bench=build/core/bench_core
[ -x "$bench" ] || { echo "build $bench first (bash bench/run.sh builds it)" >&2; exit 1; }
cores=$(nproc)
port=$((24000 + RANDOM % 10000))
for world in $ranks; do
  threads=$((cores / world)); [ "$threads" -ge 1 ] || threads=1
  port=$((port + 1))
  logs=()
  for ((r = 0; r < world; r++)); do
    log=$(mktemp)
    logs+=("$log")
    args=(--cells "$cells" --epochs "$epochs" --batch "$batch" --threads "$threads" --device cpu
          --query-cells 0 --mil-cells 0)
    [ "$world" -gt 1 ] && args+=(--rank "$r" --world-size "$world" --port "$port")
    "$bench" "${args[@]}" >"$log" 2>&1 &
  done
  wait
  line=$(grep '"task":"train"' "${logs[0]}")
  echo "$line"
  rate=$(echo "$line" | sed -E 's/.*"cells_per_s":([0-9.]+).*/\1/')
  allreduce=$(echo "$line" | sed -E 's/.*"allreduce_ms_per_step":([0-9.]+).*/\1/')
  step=$(echo "$line" | sed -E 's/.*"ms_per_step":([0-9.]+).*/\1/')
  echo "{\"task\":\"distributed\",\"ranks\":$world,\"threads_per_rank\":$threads,\"cells\":$cells,\"batch_size\":$batch,\"cells_per_s\":${rate:-null},\"ms_per_step\":${step:-null},\"allreduce_ms_per_step\":${allreduce:-null}}"
  rm -f "${logs[@]}"
done
