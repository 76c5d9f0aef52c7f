#!/usr/bin/env bash
# The tree is clean under .clang-format (C++ of src/ and bench/cpp) and .lintr (R of R/ and
# tests/): prints what is not and exits 1. Needs clang-format and lintr (scripts/setup.sh
# installs both).
set -uo pipefail
cd "$(dirname "$0")/.."
status=0
cpp=$(ls src/*.cpp src/*.h src/core/*.h src/core/*/*.cpp src/core/*/*.h bench/cpp/*.cpp bench/cpp/*.h | grep -v RcppExports)
unformatted=$(for f in $cpp; do clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || echo "$f"; done)
if [ -n "$unformatted" ]; then
  echo "clang-format would change:"; echo "$unformatted" | sed 's/^/  /'
  echo "  (fix: clang-format -i <file>)"; status=1
fi
Rscript -e '
lints <- c(lintr::lint_dir("R"), lintr::lint_dir("tests"))
if (length(lints) > 0) { print(lints); quit(status = 1) }
' || status=1
[ "$status" -eq 0 ] && echo "style check: clang-format and lintr clean"
exit "$status"
