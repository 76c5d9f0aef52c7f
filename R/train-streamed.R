# Training on cells read a chunk at a time, for data larger than memory: .h5ad files
# (RunMultigradeH5AD()) and DelayedArray-backed objects (an HDF5Array in a
# SingleCellExperiment). Host memory holds one chunk, not the data set.

# `read_chunk(range)`: the modality matrices (features x cells) of cells range[1]..range[2];
# `obs`: a data frame of all cells (rows named by cell) with the `batch` and `continuous`
# columns. Epochs and minibatch size follow all the cells, as in memory (R/train-schedule.R).
train_streamed <- function(read_chunk, obs, chunk_size, likelihoods, batch, continuous, integrate_on, latent_dim,
                           max_epochs, batch_size, lr, device, seed, verbose, options) {
    covariates <- object_covariates(obs, batch, continuous)
    chunks <- chunk_ranges(nrow(obs), chunk_size)
    schedule <- training_schedule(nrow(obs), options$train_size, batch_size, max_epochs)
    mg_inform(c("i" = "{length(chunks)} chunk{?s} of up to {chunk_size} cells, read in turn."), verbose)

    # The first chunk settles the likelihoods; the whole obs table settles the levels, so
    # that every chunk is coded alike.
    first <- read_chunk(chunks[[1]])
    probe <- prepare_data(first, likelihoods = likelihoods, batch = chunk_rows(covariates$batch, chunks[[1]]),
        continuous = chunk_rows(covariates$continuous, chunks[[1]]), integrate_on = integrate_on, verbose = verbose)
    schema <- data_schema(probe, categorical = lapply(covariates$batch %||% list(), covariate_levels))
    note_single_level(schema$integrate_on, schema$categorical, verbose)
    chunk_data <- function(range, mats = read_chunk(range)) {
        prepare_data(mats, batch = chunk_rows(covariates$batch, range),
            continuous = chunk_rows(covariates$continuous, range), schema = schema, verbose = FALSE)
    }
    data <- chunk_data(chunks[[1]], first)
    rm(first, probe)

    # Each load of a chunk draws its validation cells anew, so validation losses of different
    # epochs are not comparable: no early stopping, and the last weights are kept.
    options$early_stopping <- FALSE
    stream <- data_source(data, length(chunks), function(k) chunk_data(chunks[[k]]), nrow(obs))
    model_config <- core_model_config(data, latent_dim, options)
    train_config <- core_train_config(data, schedule$max_epochs, schedule$batch_size, lr, seed, options)
    fit <- fit_model(stream, model_config, train_config, device, options$n_threads, verbose, restore_best = FALSE)
    model <- new_multigrade_model(data, model_config, train_config, fit, options, device, seed)
    model$cells <- rownames(obs)
    model$validation_cells <- character(0)
    model$embedding <- do.call(rbind, lapply(chunks, function(range) {
        predict(model, newdata = NULL, data = chunk_data(range))
    }))
    model
}

chunk_ranges <- function(n, size) {
    starts <- seq(1L, n, by = size)
    lapply(starts, function(s) c(s, min(n, s + size - 1L)))
}

chunk_rows <- function(frame, range) {
    if (is.null(frame)) NULL else frame[range[1]:range[2], , drop = FALSE]
}

# A matrix held on disk (DelayedArray, e.g. an HDF5Array), which training streams.
is_delayed_matrix <- function(m) methods::is(m, "DelayedArray")

# Training on the (partly) DelayedArray-backed modalities of an object: chunks of
# `chunk_size` cells realised in turn as sparse matrices. `covariates` as
# object_covariates() gives them; `...` are RunMultigrade()'s training arguments.
train_delayed <- function(mats, likelihoods, covariates, integrate_on, verbose, chunk_size = 50000L, latent_dim = 30L,
                          max_epochs = NULL, batch_size = NULL, lr = 3e-3, device = "auto", seed = NULL,
                          options = multigrade_options(), ...) {
    check_dots_empty(list(...))
    check_training_arguments(options, latent_dim, max_epochs, lr, batch_size)
    check_count(chunk_size, min = 2)
    cells <- colnames(mats[[1]])
    obs <- data.frame(row.names = cells)
    for (frame in list(covariates$batch, covariates$continuous)) for (nm in names(frame)) obs[[nm]] <- frame[[nm]]
    read_chunk <- function(range) {
        lapply(mats, function(m) {
            part <- m[, range[1]:range[2], drop = FALSE]
            if (is_delayed_matrix(part)) methods::as(part, "dgCMatrix") else part
        })
    }
    mg_inform(c("i" = "Streaming {length(cells)} cells from disk-backed assays."), verbose)
    train_streamed(read_chunk, obs, chunk_size, likelihoods, names(covariates$batch), names(covariates$continuous),
        integrate_on, latent_dim, max_epochs, batch_size, lr, resolve_device(device), draw_seed(seed), verbose, options)
}
