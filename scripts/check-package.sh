#!/usr/bin/env bash
# R CMD check of the package as CRAN would build it (tests and vignettes run elsewhere in the
# test command, so they are skipped here), with the examples timed. Passes with 0 errors and
# 0 warnings; NOTEs are printed (the installed size: the LibTorch-linked library, ~33 MB).
# Prints the slowest examples and, last, "N passed, N failed" (one test).
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=build/check
rm -rf "$work" && mkdir -p "$work"
cd "$work"
if ! R CMD build --no-build-vignettes "$root" >build.log 2>&1; then
  tail -n 20 build.log; echo "0 passed, 1 failed"; exit 1
fi
MAKEFLAGS="-j$(nproc)" _R_CHECK_FORCE_SUGGESTS_=false R CMD check --no-manual --no-tests --ignore-vignettes --timings \
  multigrade_*.tar.gz >check.log 2>&1
status=$(grep -E "^Status:" check.log | tail -n 1)
echo "R CMD check: ${status:-no status (see $work/check.log)}"
grep -E "^\* checking .*\.\.\. (NOTE|WARNING|ERROR)" -A 6 check.log | head -n 40
timings=multigrade.Rcheck/multigrade-Ex.timings
if [ -f "$timings" ]; then
  echo "slowest examples (name, user, system, elapsed s):"
  tail -n +2 "$timings" | sort -k4 -g -r | head -n 5
fi
if echo "$status" | grep -qE "^Status: (OK|[0-9]+ NOTEs?)$"; then
  echo "1 passed, 0 failed"
else
  echo "0 passed, 1 failed"; exit 1
fi
