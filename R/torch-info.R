#' LibTorch runtime information
#'
#' Reports the LibTorch version multigrade was built against, the number of
#' CPU threads it uses by default and whether CUDA is available.
#'
#' @return A list with `libtorch_version`, `threads`, `cuda_available`,
#'   `cuda_device_count`, `compiled_with_cuda` and `default_device`.
#' @examples
#' multigrade_torch_info()
#' @export
multigrade_torch_info <- function() {
    info <- mg_runtime_info()
    list(libtorch_version = info$torch_version,
        threads = resolve_threads(),
        cuda_available = info$cuda_available,
        cuda_device_count = info$cuda_device_count,
        compiled_with_cuda = info$compiled_with_cuda,
        default_device = mg_resolve_device("auto"))
}
