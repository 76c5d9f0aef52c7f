#!/usr/bin/env bash
# Builds a separate R library with SeuratObject 5 so the Seurat v5 (Assay5, layers) path is
# tested beside the system's SeuratObject 4. Debian bookworm ships Matrix 1.5-3; SeuratObject 5
# needs Matrix >= 1.6-4, and current Matrix needs R >= 4.4, so the library pins CRAN's archived
# Matrix 1.6-5 (the last release for R 4.2). Safe to run again; prints the library path last.
set -euo pipefail
cd "$(dirname "$0")/.."
lib="${MULTIGRADE_SEURAT5_LIB:-$PWD/build/seurat5-lib}"
mkdir -p "$lib"

# spam and dotCall64 come built from Debian when apt is usable; CRAN otherwise.
for p in r-cran-spam r-cran-dotcall64; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$p" \
      >/dev/null 2>&1 || true
  fi
done

export MAKEFLAGS="-j$(nproc)"
R_LIBS="$lib" Rscript - "$lib" <<'RS' >build/seurat5-setup.log 2>&1
lib <- commandArgs(TRUE)[1]
options(repos = c(CRAN = "https://cloud.r-project.org"), Ncpus = parallel::detectCores())
have <- function(pkg, min) {
  v <- tryCatch(packageVersion(pkg, lib.loc = lib), error = function(e) NULL)
  !is.null(v) && v >= min
}
if (!have("Matrix", "1.6-4")) {
  install.packages("https://cloud.r-project.org/src/contrib/Archive/Matrix/Matrix_1.6-5.tar.gz",
                   repos = NULL, type = "source", lib = lib)
}
if (!have("SeuratObject", "5.0.0")) {
  install.packages("SeuratObject", lib = lib, type = "source")
}
stopifnot(have("Matrix", "1.6-4"), have("SeuratObject", "5.0.0"))
RS
echo "$lib"
