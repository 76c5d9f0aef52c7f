#!/usr/bin/env bash
# A longer fuzzing run of the readers than the test command's (test-fuzz-readers.R): mutated
# .h5ad, .h5mu and model files (truncations, bit flips, missing, retyped, reshaped and
# huge-declared datasets), read in a child R process under a memory limit and a timeout, so
# that crashes and hangs are seen. Prints the outcomes per file and kind; fails on a crash,
# a hang or an unclassed error.
#   bash bench/fuzz/run.sh [mutations per file and kind, default 25] [seed, default 1]
set -uo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
n=${1:-25}
seed=${2:-1}
results=$(mktemp --suffix=.tsv)
h5mu="$here/../shared/data/multiome_pbmc_muon_tiny/test_rna_atac.h5mu"
[ -f "$h5mu" ] || h5mu=""
( ulimit -v 12000000; timeout 3600 Rscript "$here/tests/testthat/scripts/fuzz-readers.R" "$n" "$seed" "$results" "$h5mu" )
rc=$?
grep -v -P '\tstarted\t' "$results" | awk -F'\t' 'NR > 1 && $1 != "done" {print $1, $2, $4}' | sort | uniq -c
if [ "$rc" -ne 0 ]; then
  echo "FAILED: the reader process ended with status $rc (124: a hang; 134/139: a crash) during:"
  tail -1 "$results"
  exit 1
fi
if grep -q -P '\tunclassed\t' "$results"; then
  echo "FAILED: unclassed errors:"; grep -P '\tunclassed\t' "$results"; exit 1
fi
echo "fuzz: $(grep -c -P '\t(ok|error)\t' "$results") mutated files read or refused with a classed error; no crash, hang or unclassed error"
