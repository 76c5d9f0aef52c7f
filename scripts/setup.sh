#!/usr/bin/env bash
# Installs what multigrade needs on Debian bookworm (only what is missing) and then the
# package itself. Safe to run again. Needs root or sudo for apt-get.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  r-base-dev libtorch-dev libopenblas0-openmp cmake g++ libgloo-dev
  r-cran-rcpp r-cran-rcppeigen r-cran-matrix r-cran-hdf5r r-cran-cli r-cran-rlang
  r-cran-testthat r-cran-seurat r-cran-seuratobject r-bioc-singlecellexperiment r-cran-uwot
  r-cran-igraph r-cran-cluster r-cran-randomforest r-cran-fnn r-cran-irlba r-cran-ggplot2
  clang-format r-cran-lintr
  # tests against Python's anndata, scater, MultiAssayExperiment and HDF5Array; the vignettes
  python3-anndata r-bioc-scater r-bioc-multiassayexperiment r-bioc-hdf5array
  r-bioc-biocstyle r-cran-knitr r-cran-rmarkdown pandoc r-cran-pkgdown chromium
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  # libgloo-dev: Gloo's headers, for data-parallel training on c10d (configure finds them).
  # libopenblas0-openmp is installed explicitly: without it Debian's LibTorch uses the
  # reference BLAS and trains about 10x slower.
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

export MAKEFLAGS="-j$(nproc)"
# --preclean: make does not track header dependencies, so stale objects would survive a
# header change.
R CMD INSTALL --preclean --no-test-load . >/tmp/multigrade-install.log 2>&1 || {
  tail -n 40 /tmp/multigrade-install.log
  echo "setup: installing the R package failed (log above)" >&2
  exit 1
}
echo "setup: multigrade installed ($(grep -o 'using LibTorch from .*' /tmp/multigrade-install.log | head -n 1))"
