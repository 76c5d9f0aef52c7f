# LibTorch and device information (R/torch-info.R).

test_that("multigrade_torch_info reports the LibTorch build", {
    info <- multigrade_torch_info()
    expect_match(info$libtorch_version, "^[0-9]+\\.[0-9]+")
    expect_true(info$threads >= 1)
    expect_type(info$cuda_available, "logical")
    expect_identical(info$default_device, if (info$cuda_available) "cuda" else "cpu")
})
