// Checksums of the arrays in a model file: FNV-1a (64 bit) over the bytes of an R vector as
// it is stored. Each step (xor a byte, multiply by an odd constant) is a bijection of the
// state, so any change of a single byte, a flipped bit included, changes the checksum.
#include <Rcpp.h>

#include <cstdint>
#include <cstdio>
#include <string>

namespace {

constexpr uint64_t kOffset = 14695981039346656037ULL;
constexpr uint64_t kPrime = 1099511628211ULL;

uint64_t fnv1a(const unsigned char* bytes, size_t n, uint64_t state) {
  for (size_t i = 0; i < n; ++i) {
    state ^= bytes[i];
    state *= kPrime;
  }
  return state;
}

}  // namespace

// Hex digest of a double, integer, logical, raw or character vector (a string's bytes, then a
// 0 byte; NA as a single 0xFF byte, which no UTF-8 string holds).
// [[Rcpp::export(rng = false)]]
std::string mg_checksum(SEXP x) {
  uint64_t state = kOffset;
  const size_t n = static_cast<size_t>(XLENGTH(x));
  switch (TYPEOF(x)) {
    case REALSXP:
      state = fnv1a(reinterpret_cast<const unsigned char*>(REAL(x)), n * sizeof(double), state);
      break;
    case INTSXP:
    case LGLSXP:
      state = fnv1a(reinterpret_cast<const unsigned char*>(INTEGER(x)), n * sizeof(int), state);
      break;
    case RAWSXP:
      state = fnv1a(RAW(x), n, state);
      break;
    case STRSXP:
      for (size_t i = 0; i < n; ++i) {
        SEXP s = STRING_ELT(x, static_cast<R_xlen_t>(i));
        if (s == NA_STRING) {
          const unsigned char na = 0xFF;
          state = fnv1a(&na, 1, state);
          continue;
        }
        const char* chars = CHAR(s);
        state = fnv1a(reinterpret_cast<const unsigned char*>(chars), std::char_traits<char>::length(chars) + 1, state);
      }
      break;
    default:
      Rcpp::stop("mg_checksum: unsupported vector type");
  }
  char hex[17];
  std::snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(state));
  return std::string(hex);
}
