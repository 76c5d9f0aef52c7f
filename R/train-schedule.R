# Training defaults that follow the size of the data: minibatch size, epochs and CPU threads.
# Chosen on every real dataset of the benchmark (bench/quality/RESULTS.md): on a few hundred
# cells the reference's 256-cell batches give one or two optimiser steps per epoch and 200
# epochs end far from convergence; what a model needs is a number of steps, which grows
# slowly with the number of cells.

# Minibatch size: about 16 minibatches per epoch, as a power of two in [32, 256].
auto_batch_size <- function(n_train) {
    as.integer(2^min(max(round(log2(max(n_train, 1) / 16)), 5), 8))
}

# Epochs that give about 850 * sqrt(n_train / 500) optimiser steps (850 for a few hundred
# cells, 3,600 for 10,000, 11,000 for 100,000), in [10, 200]. Early stopping may end sooner.
# On the benchmark data the metrics stop improving after about 850 steps (1000 gave the same
# within the seeds' spread and 0.6x less) at the default learning rate.
auto_max_epochs <- function(n_train, batch_size) {
    steps_per_epoch <- ceiling(max(n_train, 1) / batch_size)
    target_steps <- 850 * sqrt(max(n_train, 500) / 500)
    as.integer(min(max(ceiling(target_steps / steps_per_epoch), 10), 200))
}

# The minibatch size and epochs of a run: the caller's where given, else the defaults above.
training_schedule <- function(n_cells, train_size, batch_size = NULL, max_epochs = NULL) {
    n_train <- max(1, ceiling(n_cells * train_size))
    batch_size <- batch_size %||% auto_batch_size(n_train)
    list(batch_size = as.integer(batch_size),
        max_epochs = as.integer(max_epochs %||% auto_max_epochs(n_train, batch_size)))
}

# CPU threads, the one place that decides them for training and inference: the caller's
# (the function's or the model's options' n_threads), else the option `multigrade.n_threads`,
# else, when training on minibatches of up to 64 cells, one (their matrix products are too
# small to gain from more: measured faster on one thread on the benchmark machine), else the
# cores, at most 8.
resolve_threads <- function(n_threads = NULL, batch_size = NULL) {
    n_threads <- n_threads %||% getOption("multigrade.n_threads")
    if (!is.null(n_threads)) return(as.integer(n_threads))
    if (!is.null(batch_size) && batch_size <= 64) return(1L)
    default_threads()
}

default_threads <- function() {
    cores <- parallel::detectCores()
    if (is.na(cores)) 1L else as.integer(min(cores, 8L))
}
