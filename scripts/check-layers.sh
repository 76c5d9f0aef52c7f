#!/usr/bin/env bash
# The layering rules of src/core (src/core/README.md), checked on every #include "...":
#   platform  -> api
#   kernels   -> kernels only
#   data      -> api, platform, kernels
#   model     -> api, platform, kernels, data
#   train     -> api, platform, kernels, data, model
#   mil       -> api, platform, kernels, data, model, train
#   testing, tests -> anything in src/core
# where "api" is the public face api.h / mil_api.h at the top of src/core. The R glue
# (src/*.cpp, src/*.h) includes only the public face and model/formulas.h (the formulas' R
# test entry points), never the C++ tests' harness.
#   bash scripts/check-layers.sh [src dir]      prints each violation; exit 1 if any
#   bash scripts/check-layers.sh --self-test    the check must catch a kernel that includes the model
set -uo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = "--self-test" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  cp -r src "$tmp/src"
  bash scripts/check-layers.sh "$tmp/src" >/dev/null || { echo "layering check self-test: the tree itself fails"; exit 1; }
  sed -i '1i #include "model/network.h"' "$tmp/src/core/kernels/nb_kernel.cpp"
  if bash scripts/check-layers.sh "$tmp/src" >/dev/null; then
    echo "layering check: a kernel including the model was not caught"; exit 1
  fi
  echo "layering check self-test: a kernel including the model is caught"
  exit 0
fi

src=${1:-src}
allowed() {  # layer of the including file -> layers it may include
  case "$1" in
    api) echo "api" ;;
    platform) echo "api platform" ;;
    kernels) echo "kernels" ;;
    data) echo "api platform kernels data" ;;
    model) echo "api platform kernels data model" ;;
    train) echo "api platform kernels data model train" ;;
    mil) echo "api platform kernels data model train mil" ;;
    testing|tests) echo "api platform kernels data model train mil testing tests" ;;
    *) echo "" ;;
  esac
}
layer_of() {  # path relative to src/core -> layer
  case "$1" in
    */*) echo "${1%%/*}" ;;
    *) echo "api" ;;
  esac
}

violations=0
while IFS= read -r file; do
  rel=${file#"$src/core/"}
  layer=$(layer_of "$rel")
  ok=$(allowed "$layer")
  if [ -z "$ok" ]; then echo "$rel: file outside the layer folders"; violations=$((violations + 1)); continue; fi
  while IFS= read -r inc; do
    [ -n "$inc" ] || continue
    target=$(layer_of "$inc")
    case " $ok " in
      *" $target "*) ;;
      *) echo "$rel includes $inc: $layer may not include $target"; violations=$((violations + 1)) ;;
    esac
  done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$file")
done < <(find "$src/core" \( -name '*.cpp' -o -name '*.h' \) | sort)

for file in "$src"/*.cpp "$src"/*.h; do
  [ -f "$file" ] || continue
  while IFS= read -r inc; do
    case "$inc" in
      core/api.h|core/mil_api.h|core/model/formulas.h) ;;
      core/*) echo "${file#"$src/"} includes $inc: the R glue includes only the public face"; violations=$((violations + 1)) ;;
    esac
  done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$file")
done

if [ "$violations" -gt 0 ]; then echo "layering check: $violations violation(s)"; exit 1; fi
echo "layering check: src/core follows its layers"
