# Checkpoints of a training run (RunMultigrade(checkpoint_dir =)): the trainer's whole state
# between epochs (weights, AdamW moments, kept best and last finite weights, early-stopping
# counters, both random generators) and the history so far, in one file that is written
# atomically (a temporary file beside it, then renamed), so a run killed at any moment leaves
# the previous checkpoint intact. Resumed on the CPU with the same threads, a run continues
# bit for bit as if it had never stopped.

# In data-parallel training each rank keeps its own (its random state is its own).
checkpoint_file <- function(dir, rank = NULL) {
    file.path(dir, if (is.null(rank)) "multigrade-checkpoint.rds" else sprintf("multigrade-checkpoint-rank%d.rds", rank))
}

# What the R side keeps about checkpoints during one fit_model() call; NULL: none.
# `fingerprint`: identifies the run (configuration, data, seed): a checkpoint of another run
# is refused instead of resumed.
checkpoint_plan <- function(dir, resume, every, fingerprint, rank = NULL, call = rlang::caller_env()) {
    if (is.null(dir)) {
        if (isTRUE(resume)) mg_abort("{.arg resume} = TRUE needs {.arg checkpoint_dir}.", call = call)
        return(NULL)
    }
    check_string(dir, arg = "checkpoint_dir", call = call)
    if (!is.logical(resume) || length(resume) != 1 || is.na(resume)) {
        mg_abort("{.arg resume} must be TRUE or FALSE.", call = call)
    }
    if (!dir.exists(dir) && !dir.create(dir, recursive = TRUE, showWarnings = FALSE)) {
        mg_abort("Cannot create the checkpoint folder {.file {dir}}.", class = "file", call = call)
    }
    file <- checkpoint_file(dir, rank)
    if (file.exists(file) && !resume) {
        mg_abort(c("{.file {dir}} already holds a checkpoint.",
            "i" = "Continue it with {.code resume = TRUE}, or choose another {.arg checkpoint_dir}."), class = "file",
            call = call)
    }
    list(file = file, every = every, resume = resume, fingerprint = fingerprint, rank = rank)
}

# The run's identity: configurations (seed included), cells, features and covariates; in
# data-parallel training the rank and number of ranks, not where they meet (a relaunched job
# may meet at another port).
run_fingerprint <- function(data, model_config, train_config) {
    features <- lapply(data$modalities, `[[`, "features")
    ranks <- train_config$distributed[c("rank", "world_size")]
    mg_checksum(serialize(list(model_config, forget_cluster(train_config), ranks, data$cells, features, data$levels,
        data$categorical, data$continuous), NULL, version = 3))
}

# The saved checkpoint to resume from, or NULL when there is none yet (a first run with
# resume = TRUE starts from scratch, so one command serves both).
read_checkpoint <- function(plan, call = rlang::caller_env()) {
    if (is.null(plan) || !plan$resume || !file.exists(plan$file)) return(NULL)
    saved <- tryCatch(readRDS(plan$file), error = function(e) {
        mg_abort(c("The checkpoint {.file {plan$file}} is damaged and cannot be read.", "x" = conditionMessage(e)),
            class = "file", call = call)
    })
    if (!identical(saved$format, "multigrade_checkpoint")) {
        mg_abort("{.file {plan$file}} is not a multigrade checkpoint.", class = "file", call = call)
    }
    if (!identical(saved$checksums, state_checksums(saved$trainer, saved$history))) {
        mg_abort("The checkpoint {.file {plan$file}} fails its checksums: it is damaged.", class = "file", call = call)
    }
    if (!identical(saved$fingerprint, plan$fingerprint)) {
        mg_abort(c("The checkpoint in {.file {dirname(plan$file)}} belongs to another run.",
            "i" = "Resume with the same data, settings and seed, or choose another {.arg checkpoint_dir}."),
            class = "file", call = call)
    }
    saved
}

# Uncompressed (gzip would cost more than the epochs between checkpoints on small data),
# with a checksum of every part of the state instead of gzip's CRC. A data-parallel rank keeps
# its previous checkpoint too: a rank can die after the epoch's last collective and before its
# checkpoint, one checkpoint behind the others, and the ranks then resume from the epoch they
# all hold (rank_checkpoint()).
write_checkpoint <- function(plan, session, history, interrupted = FALSE) {
    trainer <- mg_trainer_checkpoint(session, interrupted)
    state <- list(format = "multigrade_checkpoint", version = 1L, fingerprint = plan$fingerprint,
        trainer = trainer, history = history, checksums = state_checksums(trainer, history),
        written = format(Sys.time(), "%Y-%m-%d %H:%M:%S %Z"))
    write_atomically(plan$file, function(path) saveRDS(state, path, compress = FALSE),
        previous = if (!is.null(plan$rank)) previous_checkpoint_file(plan$file))
}

state_checksums <- function(trainer, history) {
    c(vapply(trainer, mg_checksum, ""), history = mg_checksum(serialize(history, NULL, version = 3)))
}

# The callbacks run_epochs() calls: every `every` epochs, at the end (so that resuming a
# finished run returns at once) and when interrupted (the interrupted epoch's steps are kept;
# the resumed run begins a new epoch, so it is no longer the uninterrupted run bit for bit). A
# data-parallel rank keeps no checkpoint of an interrupted epoch, whose steps the other ranks
# did not all take.
checkpoint_hooks <- function(plan, session) {
    if (is.null(plan)) return(NULL)
    list(after_epoch = function(history) {
        if (length(history) %% plan$every == 0) write_checkpoint(plan, session, history)
    }, final = function(history) write_checkpoint(plan, session, history),
    interrupted = function(history) if (is.null(plan$rank)) write_checkpoint(plan, session, history, interrupted = TRUE))
}

previous_checkpoint_file <- function(file) sub("\\.rds$", "-previous.rds", file)

# A data-parallel rank's checkpoint to resume from: of its latest and previous ones, the one of
# the latest epoch that every rank holds (NULL: all start from scratch).
rank_checkpoint <- function(plan, session, call = rlang::caller_env()) {
    candidates <- lapply(c(plan$file, previous_checkpoint_file(plan$file)), function(file) {
        read_checkpoint(utils::modifyList(plan, list(file = file)), call = call)
    })
    candidates <- Filter(Negate(is.null), candidates)
    epochs <- vapply(candidates, function(saved) length(saved$history), integer(1))
    agreed <- mg_trainer_common_epoch(session, c(0L, epochs))
    if (agreed <= 0L) return(NULL)
    candidates[[which(epochs == agreed)[1]]]
}
