# The .h5ad reader (R/h5ad.R) on real files.

test_that("ReadH5AD reads counts, CLR values and categorical annotations", {
    path <- system.file("extdata", "neurips2021", "cite_adt.h5ad", package = "multigrade")
    counts <- ReadH5AD(path, layer = "counts")
    expect_s4_class(counts$X, "dgCMatrix")
    expect_equal(dim(counts$X), c(134L, 600L))
    expect_true(all(counts$X@x == round(counts$X@x)))
    expect_identical(levels(counts$obs$batch), c("s1d1", "s1d2"))
    expect_equal(as.vector(table(counts$obs$batch)), c(311L, 289L))
    expect_error(ReadH5AD(path, layer = "spliced"), "no matrix", class = "mg_error_file")
})
