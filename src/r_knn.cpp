// Exact k-nearest neighbours (Euclidean) of query rows among reference rows, for label
// transfer and mapping scores. Brute force over a small latent space (tens of dims): no
// index is worth building, and the partial selection keeps it O(n_ref) per query cell.
#include <Rcpp.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

namespace {

// Row-major copy of an R (column-major) cells x dims matrix.
std::vector<double> row_major(const Rcpp::NumericMatrix& m) {
  std::vector<double> out(static_cast<size_t>(m.nrow()) * m.ncol());
  for (int j = 0; j < m.ncol(); ++j)
    for (int i = 0; i < m.nrow(); ++i) out[static_cast<size_t>(i) * m.ncol() + j] = m(i, j);
  return out;
}

}  // namespace

// Returns 1-based indices and distances, query cells x k. `skip` gives, per query row, a
// 1-based reference row to leave out (the cell itself when the query rows are reference
// cells), or 0; an empty `skip` leaves out nothing.
// [[Rcpp::export(rng = false)]]
Rcpp::List mg_knn(Rcpp::NumericMatrix query, Rcpp::NumericMatrix reference, int k, Rcpp::IntegerVector skip) {
  const int n_query = query.nrow(), n_ref = reference.nrow(), dims = query.ncol();
  if (reference.ncol() != dims) Rcpp::stop("query and reference have different dimensions");
  const bool skipping = skip.size() > 0;
  if (skipping && skip.size() != n_query) Rcpp::stop("skip needs one entry per query row");
  const int available = n_ref - (skipping ? 1 : 0);
  if (k < 1 || k > available) Rcpp::stop("k must be between 1 and the number of reference cells");
  const std::vector<double> q = row_major(query), r = row_major(reference);
  Rcpp::IntegerMatrix index(n_query, k);
  Rcpp::NumericMatrix distance(n_query, k);
  std::vector<double> d2(static_cast<size_t>(n_ref));
  std::vector<int> order(static_cast<size_t>(n_ref));
  for (int i = 0; i < n_query; ++i) {
    const double* qi = q.data() + static_cast<size_t>(i) * dims;
    for (int j = 0; j < n_ref; ++j) {
      const double* rj = r.data() + static_cast<size_t>(j) * dims;
      double s = 0;
      for (int d = 0; d < dims; ++d) s += (qi[d] - rj[d]) * (qi[d] - rj[d]);
      d2[j] = s;
    }
    if (skipping && skip[i] >= 1 && skip[i] <= n_ref) d2[skip[i] - 1] = INFINITY;
    std::iota(order.begin(), order.end(), 0);
    const auto closer = [&](int a, int b) { return d2[a] < d2[b] || (d2[a] == d2[b] && a < b); };
    std::partial_sort(order.begin(), order.begin() + k, order.end(), closer);
    for (int c = 0; c < k; ++c) {
      index(i, c) = order[c] + 1;
      distance(i, c) = std::sqrt(d2[order[c]]);
    }
    if (i % 256 == 0) Rcpp::checkUserInterrupt();
  }
  return Rcpp::List::create(Rcpp::_["index"] = index, Rcpp::_["distance"] = distance);
}
