#!/usr/bin/env bash
# Set-up plus every test: the C++ core alone (CMake, no R), the R package (testthat), the
# vignettes, R CMD check and the pkgdown site (checked in headless Chromium).
# Ends with one line "N passed, N failed" (the skipped count is on the line before).
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || { echo "0 passed, 1 failed"; exit 1; }
# SeuratObject 5 in a side library for the Seurat v5 test (Debian ships SeuratObject 4).
bash scripts/setup-seurat5.sh >/dev/null ||
  echo "warning: the SeuratObject 5 library could not be built (build/seurat5-setup.log); its test will skip"

cpp_passed=0; cpp_failed=0
torch_cmake=$(dirname "$(find /usr/lib /usr/local/lib -name TorchConfig.cmake 2>/dev/null | head -n 1)")
if cmake -S src/core -B build/core -DCMAKE_PREFIX_PATH="$torch_cmake" >build/cmake.log 2>&1 || \
   { mkdir -p build && cmake -S src/core -B build/core -DCMAKE_PREFIX_PATH="$torch_cmake" >build/cmake.log 2>&1; }; then
  if cmake --build build/core -j"$(nproc)" >build/core-build.log 2>&1; then
    cpp_out=$(./build/core/test_core 2>&1)
    echo "$cpp_out"
    line=$(echo "$cpp_out" | grep -E '^[0-9]+ passed, [0-9]+ failed' | tail -n 1)
    cpp_passed=$(echo "$line" | awk '{print $1}')
    cpp_failed=$(echo "$line" | awk '{print $3}')
    [ -n "$line" ] || cpp_failed=1
    # The layering rules of src/core (src/core/README.md), and that the check catches a
    # kernel that includes the model: two more tests.
    for layer_args in "" "--self-test"; do
      if bash scripts/check-layers.sh $layer_args; then
        cpp_passed=$((cpp_passed + 1))
      else
        cpp_failed=$((cpp_failed + 1))
      fi
    done
    # C++ and R style (.clang-format, .lintr): one more test.
    if bash scripts/check-style.sh; then
      cpp_passed=$((cpp_passed + 1))
    else
      cpp_failed=$((cpp_failed + 1))
    fi
    # The benchmark driver, built with the tests, and the GPU machine's one-call check
    # (bench/gpu/run.sh) run on the CPU with tiny sizes: one more test each.
    for check_command in "scripts/check-bench.sh build/core/bench_core" "scripts/check-gpu-bench.sh build/core"; do
      if bash $check_command; then
        cpp_passed=$((cpp_passed + 1))
      else
        cpp_failed=$((cpp_failed + 1))
      fi
    done
  else
    tail -n 30 build/core-build.log; cpp_failed=1
  fi
else
  cat build/cmake.log; cpp_failed=1
fi
echo "C++ core tests: $cpp_passed passed, $cpp_failed failed"

rm -f build/r-tests.txt
Rscript -e '
res <- as.data.frame(testthat::test_dir("tests/testthat", package = "multigrade",
    load_package = "installed", reporter = "summary", stop_on_failure = FALSE))
failed <- sum(res$failed) + sum(res$error)
cat(sprintf("R tests: %d passed, %d failed, %d skipped\n", sum(res$passed), failed, sum(res$skipped)))
cat(sprintf("%d %d %d\n", sum(res$passed), failed, sum(res$skipped)), file = "build/r-tests.txt")
'
read -r r_passed r_failed r_skipped < build/r-tests.txt 2>/dev/null || { r_passed=0; r_failed=1; r_skipped=0; }
# The vignettes, built on the bundled data: one test each.
# (Each step's output is captured, then printed: `tee /dev/stderr` would truncate a log file
# that stderr is redirected to.)
vignette_out=$(bash scripts/check-vignettes.sh 2>&1); echo "$vignette_out"
vignette_line=$(echo "$vignette_out" | tail -n 1)
v_passed=$(echo "$vignette_line" | awk '{print $1}'); v_failed=$(echo "$vignette_line" | awk '{print $3}')
[ -n "$v_passed" ] || { v_passed=0; v_failed=1; }
echo "vignettes: $v_passed passed, $v_failed failed"
# R CMD check (0 errors, 0 warnings) and the pkgdown site checked in headless Chromium: one
# test each, and one per site page.
check_out=$(bash scripts/check-package.sh 2>&1); echo "$check_out"
site_out=$(bash scripts/check-site.sh 2>&1); echo "$site_out"
check_line=$(echo "$check_out" | tail -n 1); site_line=$(echo "$site_out" | tail -n 1)
c_passed=0; c_failed=0
for line in "$check_line" "$site_line"; do
  p=$(echo "$line" | awk '{print $1}'); f=$(echo "$line" | awk '{print $3}')
  if [ -n "$p" ] && [ -n "$f" ]; then c_passed=$((c_passed + p)); c_failed=$((c_failed + f)); else c_failed=$((c_failed + 1)); fi
done
echo "package check and site: $c_passed passed, $c_failed failed"
passed=$((cpp_passed + r_passed + v_passed + c_passed)); failed=$((cpp_failed + r_failed + v_failed + c_failed))
echo "skipped: ${r_skipped}"
echo "${passed} passed, ${failed} failed"
[ "$failed" -eq 0 ]
