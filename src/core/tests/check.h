// The C++ tests' tally: every check counts as passed or failed, and main() prints the totals.
#pragma once

#include <cmath>
#include <cstdio>
#include <string>

namespace test {

inline int passed = 0, failed = 0;

inline void check(bool ok, const std::string& what) {
  if (ok) {
    ++passed;
  } else {
    ++failed;
    std::printf("FAILED: %s\n", what.c_str());
  }
}

inline bool near(double a, double b, double tol) { return std::fabs(a - b) <= tol * (1.0 + std::fabs(b)); }

}  // namespace test
