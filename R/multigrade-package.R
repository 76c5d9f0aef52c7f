#' multigrade: multimodal single-cell integration on LibTorch
#'
#' Integrates paired and mosaic multimodal single-cell data with Multigrate's
#' product-of-experts VAE. Start with [RunMultigrade()]; see
#' `vignette("multigrade")` for a walk-through on the bundled NeurIPS 2021
#' CITE-seq subset.
#'
#' @keywords internal
#' @useDynLib multigrade, .registration = TRUE
#' @importFrom Rcpp evalCpp
#' @importFrom stats predict
#' @importFrom methods as
#' @importFrom rlang caller_env .data
"_PACKAGE"
