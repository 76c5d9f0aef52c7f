# Checkpoints (R/checkpoints.R; Trainer::checkpoint()/resume() in the core): written whole,
# refused when they belong to another run, and resumed bit for bit.

# The run of helper-checkpoints.R, in this process; `...` adds checkpoint arguments.
checkpoint_run <- function(..., seed = 11, verbose = FALSE, max_epochs = checkpoint_epochs) {
    RunMultigrade(checkpoint_input(cite_data()), max_epochs = max_epochs, seed = seed, verbose = verbose,
        options = checkpoint_options(), ...)
}

# Linux: a killed child that nobody reaps stays a zombie (state Z), which is not running.
process_running <- function(pid) {
    stat <- sprintf("/proc/%d/stat", pid)
    file.exists(stat) && !grepl("^[0-9]+ \\(.*\\) Z", readLines(stat, warn = FALSE)[1])
}

loss_columns <- c("epoch", "train_loss", "train_reconstruction", "train_kl", "train_integration",
    "validation_loss", "validation_reconstruction", "improved")

test_that("a run killed with SIGKILL mid-run resumes from its checkpoint to the uninterrupted result", {
    dir <- tempfile("checkpoints")
    file <- file.path(dir, "multigrade-checkpoint.rds")
    command <- sprintf("R_LIBS=%s %s %s %s %s > /dev/null 2>&1 & echo $!",
        shQuote(paste(.libPaths(), collapse = .Platform$path.sep)), shQuote(file.path(R.home("bin"), "Rscript")),
        shQuote(test_path("scripts", "checkpoint-run.R")), shQuote(dir), shQuote(test_path("helper-checkpoints.R")))
    pid <- as.integer(system(command, intern = TRUE))
    epochs_saved <- function() {
        if (!file.exists(file)) return(0L)
        length(tryCatch(readRDS(file)$history, error = function(e) list()))
    }
    deadline <- Sys.time() + 120
    while (epochs_saved() < 6 && Sys.time() < deadline) Sys.sleep(0.05)
    tools::pskill(pid, tools::SIGKILL)
    Sys.sleep(0.5)
    expect_false(process_running(pid))
    saved <- readRDS(file)
    expect_gte(length(saved$history), 6)
    expect_lt(length(saved$history), checkpoint_epochs)  # it was killed before the end
    expect_false(saved$trainer$done)

    suppressMessages(expect_message(resumed <- checkpoint_run(checkpoint_dir = dir, resume = TRUE, verbose = TRUE),
        "Resuming from the checkpoint of epoch"))
    whole <- checkpoint_run()
    expect_identical(resumed$weights, whole$weights)
    expect_identical(resumed$embedding, whole$embedding)
    expect_identical(resumed$history[loss_columns], whole$history[loss_columns])
    expect_equal(nrow(resumed$history), checkpoint_epochs)

    # The finished run's checkpoint: resuming it again trains nothing and gives the same model.
    again <- checkpoint_run(checkpoint_dir = dir, resume = TRUE)
    expect_identical(again$embedding, whole$embedding)
})

test_that("checkpoints of another run, existing ones and damaged ones are refused by name", {
    dir <- tempfile("checkpoints")
    first <- checkpoint_run(checkpoint_dir = dir, max_epochs = 6)
    expect_true(file.exists(file.path(dir, "multigrade-checkpoint.rds")))
    expect_length(list.files(dir, all.files = TRUE, no.. = TRUE), 1)  # no partial file left
    expect_error(checkpoint_run(checkpoint_dir = dir, max_epochs = 6), "already holds a checkpoint", class = "mg_error_file")
    expect_error(checkpoint_run(checkpoint_dir = dir, resume = TRUE, seed = 12, max_epochs = 6), "another run", class = "mg_error_file")
    expect_error(checkpoint_run(resume = TRUE, max_epochs = 6), "needs `checkpoint_dir`", class = "mg_error_input")
    file <- file.path(dir, "multigrade-checkpoint.rds")
    bytes <- readBin(file, "raw", file.size(file))
    flipped <- bytes
    flipped[length(bytes) %/% 2] <- xor(flipped[length(bytes) %/% 2], as.raw(0x10))  # inside the weights
    writeBin(flipped, file)
    expect_error(checkpoint_run(checkpoint_dir = dir, resume = TRUE, max_epochs = 6), "fails its checksums", class = "mg_error_file")
    writeBin(bytes[seq_len(length(bytes) %/% 2)], file)
    expect_error(checkpoint_run(checkpoint_dir = dir, resume = TRUE, max_epochs = 6), "damaged", class = "mg_error_file")
    # resume = TRUE with an empty folder starts from scratch: one command starts and resumes.
    fresh <- checkpoint_run(checkpoint_dir = tempfile("checkpoints"), resume = TRUE, max_epochs = 6)
    expect_identical(fresh$embedding, first$embedding)
})

test_that("a rank's checkpoint is replaced only once the new one is written, the old one kept as previous", {
    dir <- tempfile("atomic")
    dir.create(dir)
    file <- file.path(dir, "state.rds")
    previous <- file.path(dir, "state-previous.rds")
    write_atomically <- multigrade:::write_atomically
    write_atomically(file, function(path) saveRDS("first", path), previous = previous)
    expect_identical(readRDS(file), "first")
    expect_false(file.exists(previous))
    write_atomically(file, function(path) saveRDS("second", path), previous = previous)
    expect_identical(c(readRDS(file), readRDS(previous)), c("second", "first"))
    # A write that fails (or a process killed while writing) leaves both as they were.
    expect_error(write_atomically(file, function(path) stop("disk full"), previous = previous), "disk full")
    expect_identical(c(readRDS(file), readRDS(previous)), c("second", "first"))
    expect_identical(sort(list.files(dir, all.files = TRUE, no.. = TRUE)), c("state-previous.rds", "state.rds"))
})
