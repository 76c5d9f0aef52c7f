#!/usr/bin/env bash
# The GPU machine's whole check in one call (it has CUDA, CMake, ninja and PyTorch with its
# LibTorch, but no R), also runnable on any CPU:
#   bash bench/gpu/run.sh [--device cuda] [--cells 200000] [--big-cells 1000000] [--epochs 3]
#                         [--batches 256,1024,4096] [--budget 420] [--port PATH] [--build-dir DIR]
# 1. builds src/core (test_core, bench_core; in --build-dir, default build/gpu-core) against
#    Python's LibTorch, else Debian's;
# 2. runs the C++ tests, with the device agreement tests on --device;
# 3. checks that training there follows the CPU: the epoch losses of one simulated run with the
#    CPU's random draws (--host-draws), and the 5-fold 15-NN cell-type accuracy of the bundled
#    CITE-seq cells' embedding, each trained on --device and on the CPU; and that two
#    data-parallel ranks on the device (Gloo through the host; NCCL too where it was built and
#    there are two GPUs) follow one process's epoch losses (draws keyed by cell);
# 4. measures training at each batch size with float32 and TF32 products (--cells generated
#    cells, data on the device), then embedding, imputation, query mapping and MIL rates, and
#    --big-cells cells at the two largest batch sizes if the time budget allows;
# 5. runs the PyTorch port of the reference's training (--port, default
#    ../shared/peers/bench_port.py) at the same batch sizes, where python3 has torch;
# 6. samples the GPU's memory in use throughout (nvidia-smi) and reports the peak.
# Everything goes to $OUT/gpu-bench.jsonl as JSON lines (OUT defaults to build/gpu-bench), the
# logs beside it; the last line is the summary. The exit status is 0 when the tests and both
# agreement checks pass. A step that would outrun --budget seconds (the whole script's, build
# included) is skipped with a line that says so.
# The test command's smoke test of this script, on the CPU:
#   bash bench/gpu/run.sh --device cpu --cells 3000 --big-cells 0 --epochs 2 --batches 64,256 --build-dir build/core
# On the device machine (../shared does not travel there: carry a copy of the port), e.g.
#   mkdir -p build/peers && cp ../shared/peers/*.py build/peers/     # here, once
#   run: bash bench/gpu/run.sh --port build/peers/bench_port.py     (carry: build/peers)
set -uo pipefail
cd "$(dirname "$0")/../.."
start=$(date +%s)

device=cuda cells=200000 big_cells=1000000 epochs=3 batches=256,1024,4096 budget=420
port=../shared/peers/bench_port.py build_dir=build/gpu-core
while [ $# -gt 0 ]; do
  case "$1" in
    --device) device=$2 ;;
    --cells) cells=$2 ;;
    --big-cells) big_cells=$2 ;;
    --epochs) epochs=$2 ;;
    --batches) batches=$2 ;;
    --budget) budget=$2 ;;
    --port) port=$2 ;;
    --build-dir) build_dir=$2 ;;
    *) echo "unknown argument $1 (see the top of $0)" >&2; exit 2 ;;
  esac
  shift 2
done

out=${OUT:-build/gpu-bench}
mkdir -p "$out"
jsonl=$out/gpu-bench.jsonl
: >"$jsonl"
failed_steps=()
threads=$(nproc)

emit() { echo "$1" | tee -a "$jsonl"; }
elapsed() { echo $(($(date +%s) - start)); }
# A step may start when at least $1 seconds of the budget are left.
time_left_for() { [ $((budget - $(elapsed))) -ge "$1" ]; }
skip() { emit "{\"task\":\"skipped\",\"step\":\"$1\",\"why\":\"$2\",\"elapsed_s\":$(elapsed)}"; }
# bench_core's JSON lines, tagged with the step that printed them.
tagged() { grep -E '^\{' | sed -e "s/^{/{\"step\":\"$1\",/" | tee -a "$jsonl"; }
# The epoch losses of a bench_core log, one per line.
losses() { grep '"task":"epoch"' "$1" | sed -E 's/.*"loss":([-0-9.eE+]+).*/\1/'; }

# A python3 that has what a step needs (the pyenv one first on PATH may lack it).
python_with() {
  for py in python3 /usr/bin/python3; do
    command -v "$py" >/dev/null && "$py" -c "import $1" 2>/dev/null && { echo "$py"; return 0; }
  done
  return 1
}

# 0. The machine.
gpu_line=$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -n 1)
emit "{\"task\":\"machine\",\"device\":\"$device\",\"gpu\":\"${gpu_line//\"/}\",\"cpu_threads\":$threads}"
sampler_pid=""
if command -v nvidia-smi >/dev/null && [ "$device" != cpu ]; then
  (while :; do nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits 2>/dev/null | head -n 1; sleep 0.2;
   done) >"$out/gpu-memory.txt" &
  sampler_pid=$!
fi
finish() {
  [ -n "$sampler_pid" ] && kill "$sampler_pid" 2>/dev/null
  if [ -s "$out/gpu-memory.txt" ]; then
    emit "{\"task\":\"peak_gpu_memory\",\"mib_in_use\":$(sort -n "$out/gpu-memory.txt" | tail -n 1)}"
  fi
  local list=""
  [ ${#failed_steps[@]} -gt 0 ] && list=$(printf '"%s",' "${failed_steps[@]}")
  emit "{\"task\":\"summary\",\"device\":\"$device\",\"elapsed_s\":$(elapsed),\"failed\":[${list%,}]}"
  [ ${#failed_steps[@]} -eq 0 ]
}

# 1. Build.
prefix=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)' 2>/dev/null || true)
[ -n "$prefix" ] || prefix=$(dirname "$(find /usr/lib /usr/local/lib -name TorchConfig.cmake 2>/dev/null | head -n 1)")
# PyTorch's wheels keep nccl.h in the nvidia-nccl package, outside LibTorch's include folders.
nccl=()
if py=$(python_with nvidia.nccl); then
  nccl_include=$("$py" -c 'import os, nvidia.nccl; print(os.path.join(list(nvidia.nccl.__path__)[0], "include"))')
  [ -f "$nccl_include/nccl.h" ] && nccl=(-DMULTIGRADE_NCCL_INCLUDE_DIR="$nccl_include")
fi
generator=()
command -v ninja >/dev/null && [ ! -f "$build_dir/CMakeCache.txt" ] && generator=(-G Ninja)
t0=$(date +%s)
if cmake -S src/core -B "$build_dir" "${generator[@]}" "${nccl[@]}" -DCMAKE_PREFIX_PATH="$prefix" \
     >"$out/cmake.log" 2>&1 &&
   cmake --build "$build_dir" --target test_core bench_core -j"$threads" >"$out/build.log" 2>&1; then
  backends=$(sed -nE 's/.*data-parallel backends: (.*)$/\1/p' "$out/cmake.log" | tail -n 1)
  emit "{\"task\":\"build\",\"seconds\":$(($(date +%s) - t0)),\"libtorch_prefix\":\"$prefix\",\"data_parallel_backends\":\"$backends\"}"
else
  tail -n 40 "$out/cmake.log" "$out/build.log" 2>/dev/null
  failed_steps+=(build)
  finish
  exit 1
fi
bench=$build_dir/bench_core

# 2. C++ tests, then the device agreement tests on the device.
"$build_dir"/test_core --device "$device" >"$out/test_core.log" 2>&1
tests=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out/test_core.log" | tail -n 1)
passed=$(echo "$tests" | awk '{print $1}'); failed=$(echo "$tests" | awk '{print $3}')
emit "{\"task\":\"cpp_tests\",\"device\":\"$device\",\"passed\":${passed:-0},\"failed\":${failed:-1}}"
grep FAILED "$out/test_core.log"
[ "${failed:-1}" = 0 ] || failed_steps+=(cpp_tests)

# 3a. The same simulated training on the device and on the CPU, with the CPU's random draws:
# the epoch losses may differ by rounding only.
agreement="--cells 3000 --epochs 3 --batch 256 --host-draws 1 --data-placement device --query-cells 0 --mil-cells 0"
$bench $agreement --device "$device" --threads "$threads" >"$out/agreement-device.log" 2>&1
$bench $agreement --device cpu --threads "$threads" >"$out/agreement-cpu.log" 2>&1
worst=$(paste <(losses "$out/agreement-device.log") <(losses "$out/agreement-cpu.log") |
  awk 'NF == 2 { d = ($1 - $2) / (1 + ($2 < 0 ? -$2 : $2)); d = d < 0 ? -d : d; if (d > w) w = d; n++ }
       END { if (n == 0) print "null"; else printf "%.3e", w }')
agree=false
[ "$worst" != null ] && awk -v w="$worst" 'BEGIN { exit !(w < 1e-3) }' && agree=true
emit "{\"task\":\"loss_agreement\",\"device\":\"$device\",\"epochs\":3,\"max_relative_difference\":$worst,\"pass\":$agree}"
[ "$agree" = true ] || failed_steps+=(loss_agreement)

# 3b. The bundled CITE-seq cells (600, two donors) trained on each: 15-NN cell-type accuracy.
if py=$(python_with "h5py, numpy, scipy"); then
  "$py" bench/gpu/export_dataset.py inst/extdata/neurips2021/cite_rna.h5ad inst/extdata/neurips2021/cite_adt.h5ad \
    "$out/cite" >"$out/export.log" 2>&1
  scores=()
  for where in "$device" cpu; do
    $bench --input "$out/cite" --epochs 40 --batch 32 --host-draws 1 --data-placement device --query-cells 0 \
      --mil-cells 0 --device "$where" --threads "$threads" --embedding-out "$out/cite-$where.f32" \
      >"$out/cite-$where.log" 2>&1
    line=$("$py" bench/gpu/score_embedding.py "$out/cite-$where.f32" "$out/cite.labels" 30 "cite on $where" 2>&1)
    emit "$line"
    scores+=("$(echo "$line" | sed -E 's/.*"knn15_accuracy": ([0-9.]+).*/\1/')")
  done
  same=false
  awk -v a="${scores[0]}" -v b="${scores[1]}" 'BEGIN { d = a - b; exit !(a != "" && (d < 0 ? -d : d) <= 0.02) }' &&
    same=true
  emit "{\"task\":\"knn_agreement\",\"device\":\"$device\",\"accuracy_device\":${scores[0]:-null},\"accuracy_cpu\":${scores[1]:-null},\"pass\":$same}"
  [ "$same" = true ] || failed_steps+=(knn_agreement)
else
  skip knn_agreement "no python3 with h5py, numpy and scipy"
fi

# 3c. Two data-parallel ranks on the device against one process, all with draws keyed by cell
# and one donor (no MMD term, the one part that differs by rank): the epoch losses may differ
# by rounding only. Gloo sums through the host; NCCL needs a GPU per rank.
parallel="--cells 3000 --epochs 2 --batch 256 --donors 1 --keyed-draws 1 --data-placement device --query-cells 0 --mil-cells 0"
rank_threads=$((threads / 2)); [ "$rank_threads" -ge 1 ] || rank_threads=1
timeout 120 $bench $parallel --device "$device" --threads "$rank_threads" >"$out/parallel-one.log" 2>&1
gpus=$(nvidia-smi --list-gpus 2>/dev/null | wc -l)
for backend in gloo nccl; do
  devices=("$device" "$device")
  if [ "$backend" = nccl ]; then
    if [[ "${backends:-}" != *"nccl 1"* ]] || [ "$device" = cpu ] || [ "$gpus" -lt 2 ]; then
      skip "data_parallel nccl" "needs NCCL in the build and two GPUs (built: ${backends:-unknown}; GPUs: $gpus)"
      continue
    fi
    devices=(cuda:0 cuda:1)
  fi
  rendezvous=$((24000 + RANDOM % 10000))
  for r in 0 1; do
    timeout 120 $bench $parallel --device "${devices[$r]}" --threads "$rank_threads" --rank "$r" --world-size 2 \
      --port "$rendezvous" --backend "$backend" >"$out/parallel-$backend-$r.log" 2>&1 &
  done
  wait
  worst=$(paste <(losses "$out/parallel-$backend-0.log") <(losses "$out/parallel-one.log") |
    awk 'NF == 2 { d = ($1 - $2) / (1 + ($2 < 0 ? -$2 : $2)); d = d < 0 ? -d : d; if (d > w) w = d; n++ }
         END { if (n == 0) print "null"; else printf "%.3e", w }')
  allreduce=$(grep '"task":"train"' "$out/parallel-$backend-0.log" | sed -E 's/.*"allreduce_ms_per_step":([0-9.]+).*/\1/')
  agree=false
  [ "$worst" != null ] && awk -v w="$worst" 'BEGIN { exit !(w < 1e-3) }' && agree=true
  emit "{\"task\":\"data_parallel\",\"backend\":\"$backend\",\"device\":\"$device\",\"ranks\":2,\"max_relative_difference\":$worst,\"allreduce_ms_per_step\":${allreduce:-null},\"pass\":$agree}"
  [ "$agree" = true ] || failed_steps+=("data_parallel_$backend")
done

# 4. Throughput on generated cells: every batch size with float32 and TF32 products, then
# embedding, imputation, query mapping and MIL.
query=$((cells / 4)); [ "$query" -gt 50000 ] && query=50000
if time_left_for 60; then
  timeout $((budget - $(elapsed))) $bench --cells "$cells" --epochs "$epochs" --batch "$batches" \
    --matmul-precision highest,high --device "$device" --threads "$threads" --query-cells "$query" \
    --mil-cells 256000 --mil-epochs 2 2>&1 | tagged throughput || failed_steps+=(throughput)
else
  skip throughput "time budget"
fi
# The larger run at the two largest batch sizes, TF32, where the budget allows (about a
# minute per million cells and epoch on an H100-class GPU, estimated generously).
largest=$(echo "$batches" | tr ',' '\n' | sort -n | tail -n 2 | paste -sd, -)
if [ "$big_cells" -gt 0 ] && time_left_for $((120 + big_cells / 10000)); then
  timeout $((budget - $(elapsed))) $bench --cells "$big_cells" --epochs 2 --batch "$largest" --matmul-precision high \
    --device "$device" --threads "$threads" --query-cells 0 --mil-cells 0 2>&1 | tagged big || failed_steps+=(big)
elif [ "$big_cells" -gt 0 ]; then
  skip big "time budget"
fi

# 5. The PyTorch port of the reference's training at the same batch sizes (side-by-side ratio).
if [ -f "$port" ] && py=$(python_with torch); then
  for b in ${batches//,/ }; do
    time_left_for 30 || { skip "port batch $b" "time budget"; continue; }
    timeout $((budget - $(elapsed))) "$py" "$port" --cells "$cells" --epochs "$epochs" --threads "$threads" \
      --device "$device" --batch-size "$b" --max-steps 200 2>&1 | grep -E '^\{' |
      sed -e 's/^{/{"step":"port",/' | tee -a "$jsonl"
  done
else
  skip port "no $port or no python3 with torch"
fi

finish
