#!/usr/bin/env bash
# The epoch losses of four fixed bench_core configurations (seconds left out): a refactor that
# keeps the behaviour keeps every line identical. The first three fix every setting on the
# command line (the reference-like model: --lr 5e-4 --prior-expert 1), so that they do not move
# with the defaults; the last runs at the defaults (the R package's model).
#   bash bench/losses.sh [build/core/bench_core]
set -uo pipefail
bench=${1:-build/core/bench_core}
fixed="--lr 5e-4 --prior-expert 1"
reference_model="--layers 2 --latent 16 --modality-dropout 0 $fixed"
losses() {
  "$bench" "$@" | grep -E '"task":"(epoch|mil_train)"' |
    sed -E -e 's/"(seconds|cells_per_s|cpu_steal_s|setup_s|seconds_per_epoch)":[^,}]*//g' -e 's/,+/,/g' -e 's/,}/}/' 
}
echo "# RNA + ADT, 1 layer, 30 dimensions, modality dropout 0.3, MIL"
losses --cells 2000 --genes 500 --batch 64 --epochs 3 --layers 1 --latent 30 --modality-dropout 0.3 $fixed \
  --query-cells 0 --mil-cells 4000 --mil-epochs 2 --threads 2 --device cpu
echo "# RNA + ADT + ATAC, 2 layers, 16 dimensions"
losses --cells 2000 --epochs 2 --threads 2 --device cpu --query-cells 0 --mil-cells 0 --peaks 300 $reference_model
echo "# data placed on the device (batches gathered by index), CPU"
losses --cells 1000 --epochs 2 --threads 2 --device cpu --query-cells 0 --mil-cells 0 --data-placement device \
  $reference_model
echo "# the defaults"
losses --cells 2000 --epochs 2 --threads 2 --device cpu --query-cells 0 --mil-cells 0
