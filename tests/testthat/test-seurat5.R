# Seurat v5 objects (SeuratObject 5: Assay5, layers, split layers, assays on a subset of
# cells). Debian ships SeuratObject 4, so scripts/setup-seurat5.sh builds a separate library
# with SeuratObject 5 (and the Matrix it needs) and the check runs in a child R process.
seurat5_library <- function() {
    lib <- Sys.getenv("MULTIGRADE_SEURAT5_LIB", "")
    if (nzchar(lib)) return(lib)
    root <- normalizePath(file.path(testthat::test_path(), "..", ".."), mustWork = FALSE)
    file.path(root, "build", "seurat5-lib")
}

test_that("RunMultigrade works on SeuratObject 5 objects with split layers and partial assays", {
    lib <- seurat5_library()
    skip_if_not(dir.exists(file.path(lib, "SeuratObject")),
        paste("no SeuratObject 5 library at", lib, "(run scripts/setup-seurat5.sh)"))
    out <- tempfile(fileext = ".rds")
    script <- testthat::test_path("scripts", "seurat5-check.R")
    env <- c(paste0("R_LIBS=", paste(c(lib, .libPaths()), collapse = .Platform$path.sep)))
    log <- suppressWarnings(system2(file.path(R.home("bin"), "Rscript"), c(shQuote(script), shQuote(out)),
        env = env, stdout = TRUE, stderr = TRUE))
    expect_true(file.exists(out), info = paste(log, collapse = "\n"))
    res <- readRDS(out)
    expect_true(numeric_version(res$seurat_object_version) >= "5.0.0")
    expect_equal(res$assay_class, "Assay5")
    expect_true(length(res$rna_layers) >= 2)  # the split counts layers
    # Every cell embedded, in the object's order, with finite values.
    expect_identical(rownames(res$embedding), res$cells)
    expect_true(all(is.finite(res$embedding)))
    # ADT was absent for the cells outside its assay, not read as zeros.
    expect_equal(res$adt_cells_trained, res$n_adt_cells)
    # Same data in the same order: the Seurat path and plain matrices give the same embedding.
    expect_equal(unname(res$seurat_adt_cells), unname(res$direct_adt_cells), tolerance = 1e-5)
    # Seurat's conventions hold on v5 objects too, and they go to .h5ad and back.
    expect_identical(res$command_batch, "batch")
    expect_equal(res$stdev, unname(apply(res$embedding, 2, stats::sd)))
    expect_true(res$h5ad_counts_equal)
    expect_identical(unname(res$h5ad_batch), unname(res$obs_batch))
    expect_equal(unname(res$h5ad_embedding), unname(res$embedding))
})
