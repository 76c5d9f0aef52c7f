#' Integrate multimodal single-cell data with Multigrate
#'
#' Trains Multigrate's product-of-experts VAE on one or more modalities
#' measured in the same cells (or in partly overlapping sets of cells) and
#' returns a batch-corrected joint latent space. Each modality has its own
#' encoder, decoder and likelihood; the modality posteriors are combined by a
#' product of experts with an explicit per-cell presence mask, so cells that
#' lack a modality ("mosaic" data) are embedded from what they have.
#'
#' @param object A named list of feature x cell matrices (dense or `dgCMatrix`, cells
#'   in columns, same cells in the same order), a `Seurat` object or a
#'   `SingleCellExperiment`.
#' @param likelihoods Per-modality likelihood, named by modality: `"nb"`,
#'   `"zinb"` (raw counts), `"nbmixture"` (raw protein counts: totalVI's
#'   background/foreground NB mixture, see [ImputeModality()] for denoised
#'   values), `"mse"` (normalised values) or `"bernoulli"`
#'   (binary values). Modalities it leaves out (all by default) are guessed
#'   from the modality name (RNA: `nb`, ADT: `mse`, ATAC/peaks: `bernoulli`)
#'   or from the values.
#' @param batch Categorical covariates (e.g. donor, site), one value per cell:
#'   a vector or a data frame. Each gets a learned embedding that conditions
#'   the encoders and decoders. For Seurat/SCE objects: metadata column names.
#' @param integrate_on The batch covariate whose groups are aligned by MMD and
#'   get their own NB dispersions. Defaults to the first `batch` covariate;
#'   `FALSE` for none.
#' @param continuous Continuous covariates (vector or data frame; for objects,
#'   column names), e.g. percent mitochondrial reads.
#' @param present Optional logical cells x modalities matrix (or named list)
#'   marking which modalities were measured in each cell. A column that is
#'   entirely `NA` also marks a missing modality.
#' @param latent_dim Dimensions of the latent space. `RunMultigrade()`'s
#'   default, 30, measured better than Multigrate's 16 on every benchmark
#'   dataset.
#' @param max_epochs Maximum training epochs (early stopping may end sooner).
#'   By default enough for about `850 * sqrt(cells / 500)` optimiser steps,
#'   between 10 and 200 epochs (52 for 600 cells, 101 for 10,000). A classed
#'   warning (`mg_warning_not_converged`) says when the validation loss was
#'   still falling at the end.
#' @param batch_size Cells per minibatch; by default about a sixteenth of the
#'   training cells as a power of two between 32 and 256.
#' @param lr Learning rate (AdamW).
#' @param device `"auto"` (CUDA when available, else CPU), `"cpu"` or `"cuda"`.
#' @param seed Integer seed. `NULL` draws one from R's RNG, so `set.seed()`
#'   makes runs reproducible. On the CPU, the same seed and number of threads
#'   (`n_threads` in [multigrade_options()]) give bit-identical results, in
#'   this process or another. Other thread counts split LibTorch's float
#'   reductions differently: results agree to float rounding after a few
#'   epochs (about 1e-6) and then drift apart as training amplifies the
#'   differences, to embeddings of the same quality but not the same numbers.
#' @param verbose Show progress (epoch and losses) and messages.
#' @param options Advanced settings from [multigrade_options()].
#' @param checkpoint_dir A folder for checkpoints: the whole training state is
#'   written there (atomically: a crash never leaves a half-written file)
#'   every `checkpoint_every` epochs (see [multigrade_options()]), at the end
#'   and when training is interrupted. `NULL` (default): none.
#' @param resume Continue from the checkpoint in `checkpoint_dir` (if there is
#'   none yet, start from scratch, so the same command starts and resumes a
#'   job). The data, settings and seed must be those of the run that wrote it.
#'   Resumed from a periodic checkpoint on the CPU with the same threads, the
#'   result is bit for bit that of an uninterrupted run; after an interruption
#'   the interrupted epoch's steps are kept and training continues from there.
#'   Not for streamed data.
#' @param ... Passed to methods; unknown arguments are an error.
#' @return For a list, a `multigrade_model` (see [predict.multigrade_model()]);
#'   its `$embedding` is the cells x `latent_dim` posterior mean, and
#'   `$subset_embeddings` the same cells embedded from each subset of their
#'   modalities (what [MapToReference()] anchors queries with). For Seurat and
#'   SingleCellExperiment objects, the object with the embedding added (see the
#'   methods' pages).
#' @seealso [RunMultigrade.Seurat()], [RunMultigrade.SingleCellExperiment()],
#'   [SaveMultigrade()], [multigrade_example()].
#' @examples
#' cite <- multigrade_example("cite")
#' model <- RunMultigrade(list(rna = cite$rna, adt = cite$adt),
#'     likelihoods = c(rna = "nb", adt = "mse"), batch = cite$obs$batch,
#'     max_epochs = 5, seed = 1, verbose = FALSE)
#' model
#' dim(model$embedding)
#' @export
RunMultigrade <- function(object, ...) {
    UseMethod("RunMultigrade")
}

#' @export
RunMultigrade.default <- function(object, ...) {
    mg_abort(c("{.fn RunMultigrade} needs a named list of matrices, a Seurat object or a SingleCellExperiment.",
        "x" = "{.arg object} is a {.cls {class(object)}}."))
}

#' @rdname RunMultigrade
#' @export
RunMultigrade.list <- function(object, likelihoods = NULL, batch = NULL, integrate_on = NULL,
                               continuous = NULL, present = NULL, latent_dim = 30L,
                               max_epochs = NULL, batch_size = NULL, lr = 3e-3,
                               device = "auto", seed = NULL, verbose = TRUE,
                               options = multigrade_options(), checkpoint_dir = NULL, resume = FALSE, ...) {
    check_dots_empty(list(...))
    check_training_arguments(options, latent_dim, max_epochs, lr, batch_size)
    device <- resolve_device(device)
    seed <- draw_seed(seed)
    data <- prepare_data(object, likelihoods = likelihoods, batch = batch, continuous = continuous,
        integrate_on = integrate_on, present = present, verbose = verbose)
    note_single_level(data$integrate_on, data$levels, verbose)
    check_enough_cells(length(data$cells))
    schedule <- training_schedule(length(data$cells), options$train_size, batch_size, max_epochs)
    model_config <- core_model_config(data, latent_dim, options)
    train_config <- core_train_config(data, schedule$max_epochs, schedule$batch_size, lr, seed, options)
    subsets <- modality_subsets(names(data$modalities))
    checkpoint <- checkpoint_plan(checkpoint_dir, resume, options$checkpoint_every,
        run_fingerprint(data, model_config, train_config), rank = options$distributed$rank)
    fit <- fit_model(data, model_config, train_config, device, options$n_threads, verbose,
        encode = c(list(names(data$modalities)), subsets), checkpoint = checkpoint)
    if (!fit$interrupted) warn_if_not_converged(fit$history, train_config$max_epochs)
    model <- new_multigrade_model(data, model_config, train_config, fit, options, device, seed)
    model$embedding <- fit$embeddings[[1]]
    model$subset_embeddings <- subset_embeddings(data, subsets, fit$embeddings[-1])
    model
}

# The epoch loop lives in R so that progress and interrupts are R-native; each epoch
# is one call into C++ that runs every step of that epoch (one per part of a streamed source).
# `data`: prepared data, or a data_source() (R/data-source.R) streamed in parts.
# With `reference` (weights of a trained model), only the rows that new covariate levels
# added learn (query mapping). With `mil` (end-to-end MultiMIL, see mil-end-to-end.R), a MIL
# head trains with the VAE. `encode`: sets of modalities to embed the training cells from
# with the final weights, by the session that already holds the data and weights
# (`embeddings`: one cells x latent matrix of posterior means per set; data held whole only).
fit_model <- function(data, model_config, train_config, device, n_threads, verbose, reference = NULL,
                      mil = NULL, restore_best = TRUE, encode = list(), checkpoint = NULL) {
    call <- rlang::caller_env()
    with_distributed_advice(with_memory_advice(fit_session(data, model_config, train_config, device, n_threads,
        verbose, reference, mil, restore_best, encode, checkpoint), device, call = call), call = call)
}

fit_session <- function(data, model_config, train_config, device, n_threads, verbose, reference,
                        mil, restore_best, encode, checkpoint) {
    source <- as_data_source(data)
    data <- source$data
    stopifnot(is.null(checkpoint) || (source$n_parts == 1L && is.null(mil)))
    cluster <- train_config$distributed
    if (!is.null(cluster) && !is.null(mil)) mg_abort("End-to-end MIL trains in one process, not data-parallel.")
    inference_threads <- resolve_threads(n_threads)
    n_threads <- resolve_threads(n_threads, train_config$batch_size)
    batch_size <- train_config$batch_size
    n_epochs <- train_config$max_epochs
    parts <- if (source$n_parts > 1L) " in {source$n_parts} parts" else ""
    ranks <- if (is.null(cluster)) "" else " as rank {cluster$rank} of {cluster$world_size} (each on its share)"
    mg_inform(c("i" = paste0("Training on {source$n_cells} cells", parts, ranks, ", modalities {.val {names(data$modalities)}}:"),
        " " = "up to {n_epochs} epoch{?s} of {batch_size}-cell minibatches, device {.val {device}}, {n_threads} thread{?s}."),
        verbose)
    session <- mg_trainer_new(model_config, train_config, core_data(shard_data(data, cluster)), device, n_threads,
        reference, mil)
    on.exit(mg_trainer_close(session), add = TRUE)
    resumed <- resume_session(session, checkpoint, n_epochs, verbose)
    progress <- training_progress(n_epochs - length(resumed$history), verbose)
    started <- proc.time()[["elapsed"]]
    run <- run_epochs(epoch_runner(source, session, train_config$seed, cluster), n_epochs, progress, resumed$history,
        checkpoint_hooks(checkpoint, session), finished = resumed$finished)
    result <- mg_trainer_result(session, restore_best = restore_best)
    stopifnot(source$n_parts == 1L || length(encode) == 0)  # a streamed session holds only its last part
    embeddings <- lapply(encode, function(modalities) {
        session_embedding(session, data, modalities, inference_threads, gather = !is.null(cluster))
    })
    history <- history_frame(run$history)
    seconds <- proc.time()[["elapsed"]] - started
    report_training(history, seconds, verbose)
    list(weights = result$weights, validation_cells = result$validation_cells,
        n_trainable = result$n_trainable, mil_weights = result$mil_weights, history = history, seconds = seconds,
        interrupted = run$interrupted, embeddings = embeddings)
}

# Posterior means of the session's cells from `modalities` only, named like predict()'s, on
# `n_threads` threads: inference's count (as predict() resolves it), not the minibatches'. In
# data-parallel training each rank encodes its share and all get every cell's (in data order).
session_embedding <- function(session, data, modalities, n_threads, gather = FALSE) {
    out <- mg_trainer_encode(session, names(data$modalities) %in% modalities, n_threads)
    latent_names(if (gather) mg_trainer_gather(session, out$mean) else out$mean, data$cells)
}

# A model needs at least two cells to train on (minibatch statistics, the MMD between groups).
check_enough_cells <- function(n_cells, call = rlang::caller_env()) {
    if (n_cells < 2) {
        mg_abort(c("Training needs at least 2 cells; the data have {n_cells}.",
            "i" = "Map single cells onto a trained model with {.fn MapToReference} or {.fn predict} instead."), call = call)
    }
}

# The arguments every VAE training entry point validates alike.
check_training_arguments <- function(options, latent_dim, max_epochs, lr, batch_size = NULL, min_epochs = 1,
                                     call = rlang::caller_env()) {
    if (!inherits(options, "multigrade_options")) {
        mg_abort("{.arg options} must come from {.fn multigrade_options}.", call = call)
    }
    check_count(latent_dim, call = call)
    if (!is.null(max_epochs)) check_count(max_epochs, min = min_epochs, call = call)
    if (!is.null(batch_size)) check_count(batch_size, min = 2, call = call)
    check_number(lr, min = 0, call = call)
}

# The session continued from the plan's checkpoint, if it has one: the epochs already run
# (their statistics) and whether training had finished.
resume_session <- function(session, checkpoint, n_epochs, verbose) {
    saved <- if (!is.null(checkpoint) && !is.null(checkpoint$rank) && checkpoint$resume) {
        rank_checkpoint(checkpoint, session)
    } else {
        read_checkpoint(checkpoint)
    }
    if (is.null(saved)) return(list(history = list(), finished = FALSE))
    mg_trainer_resume(session, saved$trainer)
    done <- length(saved$history)
    mg_inform(c("i" = "Resuming from the checkpoint of epoch {done} of {n_epochs} ({saved$written})."), verbose)
    list(history = saved$history, finished = isTRUE(saved$trainer$done))
}

# Calls `next_epoch()` (one epoch in C++) until it reports `finished`, the epochs run out
# or the user interrupts; returns the epochs' statistics. `resumed`: the statistics of the
# epochs a checkpoint already ran (`finished`: training had ended there); `hooks`: called
# after each epoch and the last one (`after_epoch(history)`) and on interruption
# (`interrupted(history)`), for checkpoints.
run_epochs <- function(next_epoch, max_epochs, progress, resumed = list(), hooks = NULL, finished = FALSE) {
    history <- c(resumed, vector("list", max_epochs - length(resumed)))
    epochs <- length(resumed)
    interrupted <- FALSE
    while (epochs < max_epochs && !finished) {
        stats <- tryCatch(next_epoch(), interrupt = function(e) NULL)
        if (is.null(stats) || isTRUE(stats$interrupted)) {
            interrupted <- TRUE
            break
        }
        epochs <- epochs + 1L
        history[[epochs]] <- stats
        progress$update(stats)
        if (isTRUE(stats$non_finite)) warn_non_finite(stats)
        finished <- isTRUE(stats$finished) || epochs == max_epochs
        if (!is.null(hooks) && !finished) hooks$after_epoch(history[seq_len(epochs)])
    }
    progress$done()
    if (!is.null(hooks)) {
        if (interrupted) hooks$interrupted(history[seq_len(epochs)]) else hooks$final(history[seq_len(epochs)])
    }
    if (interrupted) {
        mg_warn("Training was interrupted after {epochs} epoch{?s}; the best weights so far are kept.",
            class = "warning_interrupted")
    }
    list(history = history[seq_len(epochs)], interrupted = interrupted)
}

# Which loss terms of an epoch were not finite, and their likely causes.
warn_non_finite <- function(stats) {
    terms <- c(reconstruction = "train_reconstruction", KL = "train_kl", alignment = "train_integration",
        validation = "validation_reconstruction", MIL = "train_mil")
    if (!isTRUE(stats$has_validation)) terms <- terms[names(terms) != "validation"]
    not_finite <- function(v) length(v) == 1 && !is.finite(v)
    bad <- names(terms)[vapply(terms, function(t) not_finite(stats[[t]]), logical(1))]
    cause <- if ("reconstruction" %in% bad || "validation" %in% bad) {
        "Likely causes: extreme values in an {.val mse} modality (normalise or scale it), or too high a learning rate ({.arg lr})."
    } else {
        "Likely cause: too high a learning rate ({.arg lr}) or alignment weight ({.arg integ_coef})."
    }
    what <- if (length(bad)) paste0(" in the ", paste(bad, collapse = ", "), " term", if (length(bad) > 1) "s") else ""
    ended <- if (isTRUE(stats$finished)) " Training has ended with those weights." else ""
    mg_warn(c(paste0("Epoch {stats$epoch} produced NaN/Inf losses", what, "; rolled back to the last finite weights and halved the learning rate.", ended),
        "i" = cause), class = "warning_non_finite")
}

vae_history_columns <- c("epoch", "kl_weight", "train_loss", "train_reconstruction", "train_kl",
    "train_integration", "train_consistency", "train_mil", "validation_loss", "validation_reconstruction", "improved",
    "non_finite", "cells_seen", "seconds")

history_frame <- function(epochs, columns = vae_history_columns) {
    if (length(epochs) == 0) {
        return(as.data.frame(stats::setNames(replicate(length(columns), numeric(0), simplify = FALSE), columns)))
    }
    as.data.frame(lapply(stats::setNames(columns, columns), function(col) {
        vapply(epochs, function(e) as.numeric(e[[col]]), numeric(1))
    }))
}

# A run that used all its epochs while the monitored loss (validation reconstruction, else
# training reconstruction) was still falling: the last tenth of the epochs gained more than
# 2% of everything the run gained. (At the defaults on the benchmark data the last tenth
# gains 0.1-0.8%, and the quality metrics no longer move.)
warn_if_not_converged <- function(history, max_epochs, share = 0.02) {
    n <- nrow(history)
    if (n < max_epochs || n < 6) return(invisible(FALSE))
    loss <- if (all(is.finite(history$validation_reconstruction))) history$validation_reconstruction else
        history$train_reconstruction
    w <- max(3L, round(0.1 * n))
    last <- mean(loss[(n - w + 1):n])
    tail_gain <- mean(loss[(n - 2 * w + 1):(n - w)]) - last
    total_gain <- loss[1] - last
    if (!is.finite(tail_gain) || total_gain <= 0 || tail_gain <= share * total_gain) return(invisible(FALSE))
    percent <- format(round(100 * tail_gain / total_gain, 1))
    mg_warn(c("Training may not have converged: the loss was still falling in the last {w} of {n} epochs ({percent}% of the run's improvement).",
        "i" = "Train longer, e.g. {.code max_epochs = {2 * n}}."), class = "warning_not_converged")
    invisible(TRUE)
}

report_training <- function(history, seconds, verbose) {
    if (!isTRUE(verbose) || nrow(history) == 0) return(invisible())
    rate <- sum(history$cells_seen) / max(sum(history$seconds), 1e-9)
    best <- if (all(is.na(history$validation_reconstruction))) NA else
        history$epoch[which.min(history$validation_reconstruction)]
    best_text <- if (is.na(best)) "" else paste0("; best validation epoch ", best)
    mg_inform(c("v" = "Trained {nrow(history)} epoch{?s} in {format(round(seconds, 1))} s ({format(round(rate))} cells/s){best_text}."))
}

training_progress <- function(total, verbose, validation = "validation_reconstruction",
                              validation_label = "val recon") {
    if (!isTRUE(verbose)) return(list(update = function(stats) NULL, done = function() NULL))
    env <- parent.frame()  # the bar lives as long as the training loop
    bar <- cli::cli_progress_bar(total = total, clear = TRUE, .envir = env,
        format = paste0("Training {cli::pb_bar} {cli::pb_current}/{cli::pb_total} | loss {cli::pb_extra$loss} | ",
            validation_label, " {cli::pb_extra$val} | {cli::pb_eta}"),
        extra = list(loss = "-", val = "-"))
    list(update = function(stats) {
        cli::cli_progress_update(id = bar, .envir = env, extra = list(
            loss = format(signif(stats$train_loss, 5)),
            val = if (is.na(stats[[validation]])) "-" else format(signif(stats[[validation]], 5))))
    }, done = function() cli::cli_progress_done(id = bar, .envir = env))
}
