# Defaults that follow the data size (R/train-schedule.R): minibatch size, epochs, threads.

test_that("minibatches are powers of two from 32 to 256 that grow with the data, and epochs stay in [10, 200]", {
    sizes <- c(1, 50, 540, 2000, 9000, 1e5, 1e7)
    schedules <- lapply(sizes, function(n) multigrade:::training_schedule(n, train_size = 1))
    batch <- vapply(schedules, `[[`, 1L, "batch_size")
    epochs <- vapply(schedules, `[[`, 1L, "max_epochs")
    expect_true(all(log2(batch) == round(log2(batch)) & batch >= 32 & batch <= 256))
    expect_false(is.unsorted(batch))
    expect_true(all(epochs >= 10 & epochs <= 200))
    # Larger data get at least as many optimiser steps in all (until the epoch cap binds).
    steps <- ceiling(sizes / batch) * epochs
    expect_false(is.unsorted(steps[sizes >= 540]))
    # The bundled CITE data (600 cells, 540 for training): 52 epochs of 32 cells, as the
    # benchmark's timing reports.
    expect_equal(multigrade:::training_schedule(600, 0.9), list(batch_size = 32L, max_epochs = 52L))
    # The caller's values win.
    expect_equal(multigrade:::training_schedule(600, 0.9, batch_size = 64, max_epochs = 7),
        list(batch_size = 64L, max_epochs = 7L))
})

test_that("threads: the caller's, else the option, else one for small minibatches, else the cores up to 8", {
    old <- options(multigrade.n_threads = NULL)
    on.exit(options(old))
    expect_identical(multigrade:::resolve_threads(3, batch_size = 32), 3L)
    expect_identical(multigrade:::resolve_threads(NULL, batch_size = 32), 1L)
    cores <- multigrade:::resolve_threads(NULL, batch_size = 256)
    expect_true(cores >= 1L && cores <= 8L)
    expect_identical(multigrade:::resolve_threads(), cores)
    options(multigrade.n_threads = 5L)
    expect_identical(multigrade:::resolve_threads(NULL, batch_size = 32), 5L)
    expect_identical(multigrade:::resolve_threads(2, batch_size = 32), 2L)
})
