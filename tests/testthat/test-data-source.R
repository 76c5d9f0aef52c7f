# Data sources (R/data-source.R): an epoch of a streamed source is one epoch over all its parts.

test_that("an epoch of a source in two parts is one epoch over the cells of both", {
    cite <- cite_data()
    mats <- list(rna = cite$rna, adt = cite$adt)
    halves <- list(1:300, 301:600)
    prepare <- function(cells) {
        multigrade:::prepare_data(lapply(mats, function(x) x[, cells]), batch = cite$obs$batch[cells],
            verbose = FALSE, schema = schema)
    }
    full <- multigrade:::prepare_data(mats, batch = cite$obs$batch, verbose = FALSE)
    schema <- multigrade:::data_schema(full)
    first <- prepare(halves[[1]])
    source <- multigrade:::data_source(first, 2L, function(k) prepare(halves[[k]]), n_cells = 600)
    options <- quick_options()
    model_config <- multigrade:::core_model_config(first, 8L, options)
    train_config <- multigrade:::core_train_config(first, 3L, 32L, 3e-3, 1, options)
    session <- multigrade:::mg_trainer_new(model_config, train_config, multigrade:::core_data(first), "cpu", 1L)
    on.exit(multigrade:::mg_trainer_close(session))
    next_epoch <- multigrade:::epoch_runner(source, session)
    set.seed(1)
    first_epoch <- next_epoch()
    expect_equal(first_epoch$epoch, 1)
    # Both halves' training cells (90% of each), not one half's.
    expect_equal(first_epoch$cells_seen, 2 * ceiling(0.9 * 300), tolerance = 2)
    expect_true(first_epoch$validation_reconstruction > 0)
    expect_equal(next_epoch()$epoch, 2)
    third <- next_epoch()
    expect_equal(third$epoch, 3)
    expect_true(third$finished)
    # Held whole, the same cells are one part, trained on in one pass per epoch.
    whole <- multigrade:::mg_trainer_new(model_config, train_config, multigrade:::core_data(full), "cpu", 1L)
    on.exit(multigrade:::mg_trainer_close(whole), add = TRUE)
    epoch <- multigrade:::epoch_runner(multigrade:::data_source(full), whole)()
    expect_equal(epoch$epoch, 1)
    expect_equal(epoch$cells_seen, ceiling(0.9 * 600), tolerance = 2)
})
