# The trimodal mosaic example (inst/scripts/trimodal.R): CITE (RNA + ADT) and Multiome
# (RNA + ATAC) in one reference, then a multimodal and a unimodal query.

test_that("a trimodal mosaic reference trains, and multimodal and ATAC-only queries map onto it", {
    script <- system.file("scripts", "trimodal.R", package = "multigrade")
    expect_true(nzchar(script))
    env <- new.env()
    sys.source(script, envir = env)
    result <- env$run_trimodal(max_epochs = 200, seed = 1, verbose = FALSE)
    d <- result$data
    model <- result$model
    ref <- d$obs$donor == "s1d1"
    expect_equal(nrow(model$embedding), sum(ref))
    expect_true(all(is.finite(model$embedding)))
    # Mosaic presence: ADT only in CITE cells, ATAC only in Multiome cells.
    expect_equal(model$modalities$adt$n_cells, sum(ref & d$obs$dataset == "cite"))
    expect_equal(model$modalities$atac$n_cells, sum(ref & d$obs$dataset == "multiome"))
    for (mapped in list(result$multimodal, result$unimodal)) {
        expect_true(all(is.finite(mapped$embedding)))
        expect_identical(mapped$model$embedding, model$embedding)
        frozen <- setdiff(names(model$weights), c("covariate.0.embedding", "decoder.rna.log_theta"))
        expect_identical(mapped$model$weights[frozen], model$weights[frozen])
    }
    expect_equal(dim(result$protein), c(nrow(d$adt), sum(!ref & d$obs$dataset == "multiome")))
    expect_true(all(is.finite(result$protein)))
    # CITE s1d2 (RNA + ADT): well above its majority-class rate (0.17) on fine cell types.
    cite_query <- !ref & d$obs$dataset == "cite"
    majority <- max(table(d$obs$cell_type[cite_query])) / sum(cite_query)
    expect_gt(result$accuracy[["cite_rna_adt"]], 2 * majority)
    message(sprintf("trimodal label transfer: CITE RNA+ADT %.3f, Multiome ATAC-only %.3f (majority rates %.3f, %.3f)",
        result$accuracy[["cite_rna_adt"]], result$accuracy[["multiome_atac_only"]], majority,
        max(table(d$obs$cell_type[!ref & d$obs$dataset == "multiome"])) / sum(!ref & d$obs$dataset == "multiome")))
})
