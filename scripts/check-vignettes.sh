#!/usr/bin/env bash
# Builds every vignette (vignettes/*.Rmd) with the installed package, each in its own R
# process, into build/vignettes/. Prints one line per vignette and, last, "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p build/vignettes
passed=0; failed=0
for rmd in vignettes/*.Rmd; do
  name=$(basename "$rmd" .Rmd)
  start=$(date +%s)
  if Rscript -e "rmarkdown::render('$rmd', output_dir = 'build/vignettes', intermediates_dir = tempdir(), quiet = TRUE)" \
      >"build/vignettes/$name.log" 2>&1; then
    echo "vignette $name: built in $(( $(date +%s) - start )) s"
    passed=$((passed + 1))
  else
    echo "vignette $name: FAILED (build/vignettes/$name.log):"; tail -n 15 "build/vignettes/$name.log"
    failed=$((failed + 1))
  fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
