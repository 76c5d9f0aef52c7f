#!/usr/bin/env bash
# Builds the pkgdown site offline into build/site (reference grouped by task, the vignettes as
# articles; _pkgdown.yml) with the installed package, then checks it in headless Chromium
# (scripts/check-site.py): pages render, images load, no broken links.
set -uo pipefail
cd "$(dirname "$0")/.."
rm -rf build/site
if ! Rscript -e 'options(pkgdown.internet = FALSE); pkgdown::build_site(".", install = FALSE, new_process = FALSE,
    preview = FALSE, override = list(destination = "build/site"))' >build/site.log 2>&1; then
  tail -n 20 build/site.log
  echo "0 passed, 1 failed"
  exit 1
fi
python3 scripts/check-site.py build/site
